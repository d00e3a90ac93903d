//! The CRON engine against a real MariaDB and the real simulator (in-process HTTP server).

mod common;

use common::{state, TestDb};
use serde_json::{json, Value};
use shoppingfeed_sim::{spawn, SimConfig, SimHandle};
use shoppingfeed_sync::engine::{run_cron, CronOptions};
use shoppingfeed_sync::hook::on_order_status_update;
use std::time::Duration;

const TOKEN: &str = "engine-test-token";
const STORE: i64 = common::CRON_STORE;

async fn setup() -> (TestDb, SimHandle) {
    common::cron_shop(TOKEN, "0").await
}

fn opts(sim: &SimHandle) -> CronOptions {
    CronOptions {
        requeue_delay_minutes: 0,
        ..common::cron_opts(sim)
    }
}

async fn control(sim: &SimHandle, method: &str, path: &str, body: Value) -> Value {
    let client = reqwest::Client::new();
    let url = format!("{}{}", sim.base_url(), path);
    let req = match method {
        "GET" => client.get(url),
        "DELETE" => client.delete(url),
        _ => client.post(url).json(&body),
    };
    let resp = req.send().await.expect("control request");
    resp.json().await.unwrap_or(Value::Null)
}

/// Every ticket from now on ends `failed` with this reason.
async fn every_ticket_fails(sim: &SimHandle, reason: &str) {
    control(
        sim,
        "POST",
        "/_sim/outcomes/default",
        json!({"outcome": "failed", "message": reason}),
    )
    .await;
}

async fn posts(sim: &SimHandle) -> Vec<Value> {
    let log = control(sim, "GET", "/_sim/requests?route=order_op", Value::Null).await;
    log["requests"].as_array().cloned().unwrap_or_default()
}

/// The paths of the order operation POSTs the simulator received, in order.
async fn post_paths(sim: &SimHandle) -> Vec<String> {
    posts(sim)
        .await
        .iter()
        .filter_map(|r| r["path"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_current_statuses_then_deletes_tasks_once_tickets_succeed() {
    let (t, sim) = setup().await;
    let http = reqwest::Client::new();
    let shipped = t.queued_order(state::SHIPPED).await;
    let canceled = t.queued_order(state::CANCELED).await;
    // The current state decides: queued as refunded, then canceled without a hook.
    let changed = t.queued_order(state::REFUNDED).await;
    t.set_state(changed, state::CANCELED).await;

    let report = run_cron(&t.db, &http, &opts(&sim)).await.expect("run 1");
    assert!(!report.locked);
    let shop = &report.shops[0];
    assert_eq!(shop.statuses_sent, 3, "{shop:?}");
    let sent = posts(&sim).await;
    let paths = post_paths(&sim).await;
    assert_eq!(paths.len(), 2, "one request per operation: {paths:?}");
    assert!(paths.iter().any(|p| p == "/v1/store/1276/order/ship"));
    let cancel = sent
        .iter()
        .find(|r| r["path"] == "/v1/store/1276/order/cancel")
        .expect("cancel request");
    let refs: Vec<&str> = cancel["json"]["order"]
        .as_array()
        .expect("orders")
        .iter()
        .filter_map(|o| o["reference"].as_str())
        .collect();
    assert_eq!(refs.len(), 2);
    assert!(refs.contains(&format!("MP-{canceled}").as_str()));
    assert!(refs.contains(&format!("MP-{changed}").as_str()));
    for id in [shipped, canceled, changed] {
        let tasks = t.tasks(id).await;
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].action, "CHECK_TICKET_SYNC_STATUS");
        assert!(tasks[0].batch_id.is_some());
        assert_eq!(tasks[0].lease_owner, None);
    }

    // Polls: running at the first check, terminal at the second.
    let second = run_cron(&t.db, &http, &opts(&sim)).await.expect("run 2");
    assert_eq!(second.shops[0].tickets_pending, 3);
    let third = run_cron(&t.db, &http, &opts(&sim)).await.expect("run 3");
    assert_eq!(third.shops[0].tickets_succeeded, 3, "{:?}", third.shops[0]);
    assert!(t.all_tasks().await.is_empty());
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_hold_at_most_the_configured_orders_and_tickets_are_read_per_batch() {
    let (t, sim) = setup().await;
    t.config("SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS", "40", None, None)
        .await;
    for _ in 0..90 {
        t.queued_order(state::CANCELED).await;
    }
    let http = reqwest::Client::new();
    let report = run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
    assert_eq!(report.shops[0].statuses_sent, 90);
    let sizes: Vec<usize> = posts(&sim)
        .await
        .iter()
        .map(|r| r["json"]["order"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes.len(), 3, "{sizes:?}");
    assert!(sizes.iter().all(|n| *n <= 40), "{sizes:?}");
    control(&sim, "DELETE", "/_sim/requests", Value::Null).await;
    run_cron(&t.db, &http, &opts(&sim)).await.expect("check");
    let lists = control(&sim, "GET", "/_sim/requests?route=ticket_list", Value::Null).await;
    assert_eq!(
        lists["requests"].as_array().map_or(0, Vec::len),
        3,
        "one GET per batch, not per ticket"
    );
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_ticket_is_reported_and_requeued_until_attempts_run_out() {
    let (t, sim) = setup().await;
    let id = t.queued_order(state::SHIPPED).await;
    every_ticket_fails(&sim, "Carrier not accepted").await;
    let http = reqwest::Client::new();
    // Requeued tasks wait requeue_delay_minutes: a failed status is not resent in the same run.
    let o = CronOptions {
        max_attempts: 2,
        requeue_delay_minutes: 5,
        ..opts(&sim)
    };
    for _ in 0..3 {
        run_cron(&t.db, &http, &o).await.expect("run");
    }
    // Sent, running, failed: requeued with attempts 1, the reason, and a delay.
    let tasks = t.tasks(id).await;
    assert_eq!(tasks[0].action, "SYNC_STATUS");
    assert_eq!(tasks[0].attempts, 1);
    assert_eq!(tasks[0].last_error.as_deref(), Some("Carrier not accepted"));
    assert!(
        tasks[0].due_in.is_some_and(|d| d > 250),
        "{:?}",
        tasks[0].due_in
    );
    t.exec("UPDATE PREFIX_shoppingfeed_task_order SET update_at = NOW() - INTERVAL 1 SECOND")
        .await;
    let mut last = None;
    for _ in 0..3 {
        last = Some(run_cron(&t.db, &http, &o).await.expect("run"));
    }
    let shop = &last.expect("report").shops[0];
    assert_eq!(shop.gave_up, 1, "{shop:?}");
    assert!(shop.failures.iter().any(|f| f.gave_up && f.id_order == id));
    let mail = shop.mail.as_ref().expect("mail");
    assert!(mail.text_list.contains("Shipped"), "{}", mail.text_list);
    // Kept for the merchant, never due (docs/queue.md, "gave up").
    let tasks = t.tasks(id).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(
        (tasks[0].action.as_str(), tasks[0].due_in),
        ("SYNC_STATUS", None)
    );
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_failure_leaves_every_task_queued_without_a_lease() {
    let (t, sim) = setup().await;
    let ids = [
        t.queued_order(state::SHIPPED).await,
        t.queued_order(state::CANCELED).await,
    ];
    control(
        &sim,
        "POST",
        "/_sim/faults",
        json!({"route": "order_op", "fault": {"kind": "status", "status": 503}}),
    )
    .await;
    let http = reqwest::Client::new();
    let report = run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
    let shop = &report.shops[0];
    assert_eq!(shop.statuses_sent, 0);
    assert!(!shop.errors.is_empty());
    for id in ids {
        let tasks = t.tasks(id).await;
        assert_eq!(tasks[0].action, "SYNC_STATUS");
        assert_eq!(tasks[0].lease_owner, None, "released for the next run");
    }
    assert!(!t.logs(Some("error")).await.is_empty());
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_foreign_lease_is_respected_and_an_expired_one_is_taken_over() {
    let (t, sim) = setup().await;
    let id = t.queued_order(state::CANCELED).await;
    t.exec("UPDATE PREFIX_shoppingfeed_task_order SET lease_owner = 'other-run', lease_until = NOW() + INTERVAL 1 HOUR")
        .await;
    let http = reqwest::Client::new();
    let report = run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
    assert_eq!(report.shops[0].statuses_sent, 0);
    assert!(posts(&sim).await.is_empty());
    t.exec("UPDATE PREFIX_shoppingfeed_task_order SET lease_until = NOW() - INTERVAL 1 SECOND")
        .await;
    let report = run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
    assert_eq!(report.shops[0].statuses_sent, 1);
    assert_eq!(t.tasks(id).await[0].action, "CHECK_TICKET_SYNC_STATUS");
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_is_refused_while_the_lock_is_held() {
    let (t, sim) = setup().await;
    t.queued_order(state::CANCELED).await;
    let mut holder = t.conn().await;
    use mysql_async::prelude::Queryable;
    let got: Option<i64> = holder
        .query_first(t.db.sql().cron.try_lock.as_str())
        .await
        .expect("lock");
    assert_eq!(got, Some(1));
    let http = reqwest::Client::new();
    let report = run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
    assert!(report.locked);
    assert!(posts(&sim).await.is_empty());
    drop(holder); // the server releases the lock with the session, as for a crashed run
                  // The server notices the closed session a moment later: wait for that, not for a fixed time.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let report = loop {
        let report = run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
        if !report.locked || std::time::Instant::now() > deadline {
            break report;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!report.locked);
    assert_eq!(report.shops[0].statuses_sent, 1);
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_budget_stops_claiming_and_loses_nothing() {
    let (t, sim) = setup().await;
    let id = t.queued_order(state::CANCELED).await;
    let http = reqwest::Client::new();
    let o = CronOptions {
        run_budget: Duration::ZERO,
        ..opts(&sim)
    };
    let report = run_cron(&t.db, &http, &o).await.expect("run");
    assert!(report.shops[0].budget_exhausted);
    assert_eq!(report.shops[0].statuses_sent, 0);
    assert_eq!(t.tasks(id).await[0].action, "SYNC_STATUS");
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_gate_skips_the_shop_with_an_error_and_no_request() {
    let (t, sim) = setup().await;
    t.queued_order(state::CANCELED).await;
    t.config("SHOPPING_FLUX_STATUS_SHIPPED", "checked", None, None)
        .await;
    let http = reqwest::Client::new();
    let report = run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
    assert!(report.shops[0]
        .skipped
        .as_deref()
        .is_some_and(|s| s.contains("shoppingfluxexport")));
    assert_eq!(
        control(&sim, "GET", "/_sim/stats", Value::Null).await["requests_total"],
        0
    );
    assert!(t
        .log_rows(Some("error"))
        .await
        .iter()
        .any(|l| l.name == "shoppingfeed:syncOrder"
            && l.msg.contains("[Shop 1] Synchronization error")));
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_during_the_send_is_not_marked_sent_and_goes_out_next_run() {
    let (t, sim) = setup().await;
    let id = t.queued_order(state::CANCELED).await;
    // The POST is processed after 2 s: the merchant changes the status meanwhile.
    control(
        &sim,
        "POST",
        "/_sim/faults",
        json!({"route": "order_op", "first": 1, "fault": {"kind": "hang", "seconds": 2}}),
    )
    .await;
    let db = t.db.clone();
    let o = opts(&sim);
    let run = tokio::spawn(async move {
        let http = reqwest::Client::new();
        run_cron(&db, &http, &o).await
    });
    // Until the POST has reached the simulator, which holds it (not a fixed time: a loaded
    // machine may take longer to get there).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while control(&sim, "GET", "/_sim/stats", Value::Null).await["faults_fired"] == 0
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    t.set_state(id, state::REFUNDED).await;
    let outcome = on_order_status_update(&t.db, id, Some(state::REFUNDED))
        .await
        .expect("hook");
    assert!(outcome.queued());
    run.await.expect("join").expect("run");
    // The older state's batch is not recorded for the re-armed task, whose lease is given back.
    let task = t.tasks(id).await.remove(0);
    assert_eq!(
        task.action, "SYNC_STATUS",
        "the newer state is still to send"
    );
    assert_eq!(task.lease_owner, None);
    assert_eq!(task.batch_id, None);

    let http = reqwest::Client::new();
    let report = run_cron(&t.db, &http, &opts(&sim)).await.expect("run 2");
    assert_eq!(report.shops[0].statuses_sent, 1);
    let paths = post_paths(&sim).await;
    assert_eq!(
        paths,
        ["/v1/store/1276/order/cancel", "/v1/store/1276/order/refund"]
    );
    let task = t.tasks(id).await.remove(0);
    assert_eq!(task.action, "CHECK_TICKET_SYNC_STATUS");
    let tickets = control(
        &sim,
        "GET",
        &format!(
            "/_sim/tickets?batchId={}",
            task.batch_id.clone().unwrap_or_default()
        ),
        Value::Null,
    )
    .await;
    assert!(
        tickets.to_string().contains("order.notify.refund"),
        "{tickets}"
    );
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_makes_one_request_per_hundred_orders_of_each_operation() {
    let (t, sim) = setup().await;
    // 253 cancels and 127 refunds, interleaved: every claimed page mixes both operations.
    for i in 0..380 {
        t.queued_order(if i % 3 == 0 {
            state::REFUNDED
        } else {
            state::CANCELED
        })
        .await;
    }
    let refunds: u32 = t
        .scalar(
            "SELECT COUNT(*) FROM PREFIX_orders WHERE current_state = 7",
            (),
        )
        .await;
    let cancels = 380 - refunds;
    let http = reqwest::Client::new();
    let o = CronOptions {
        concurrency: 2,
        ..opts(&sim)
    };
    let report = run_cron(&t.db, &http, &o).await.expect("run");
    assert_eq!(report.shops[0].statuses_sent, 380);
    let expected = cancels.div_ceil(100) + refunds.div_ceil(100);
    assert_eq!(
        posts(&sim).await.len() as u32,
        expected,
        "{cancels} cancels, {refunds} refunds"
    );
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_shop_sends_and_checks_its_own_orders_with_its_own_token() {
    let t = TestDb::create().await;
    t.reset_shop_available().await;
    t.multistore().await;
    t.install_legacy_module(true, 1).await;
    t.exec("INSERT INTO PREFIX_module_shop (id_module, id_shop) SELECT id_module, 2 FROM PREFIX_module WHERE name = 'shoppingfluxexport'")
        .await;
    t.config("SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT", "0", None, None)
        .await;
    for (shop, token, store) in [(1, TOKEN, STORE), (2, "second-shop-token", 2000)] {
        t.config("SHOPPINGFEED_AUTH_TOKEN", token, Some(shop), None)
            .await;
        t.config(
            "SHOPPINGFEED_STORE_ID",
            &store.to_string(),
            Some(shop),
            None,
        )
        .await;
    }
    let sim = spawn(
        SimConfig::new(TOKEN, STORE)
            .with_account("second-shop-token", 2000)
            .with_auto_create_orders(true),
    )
    .await
    .expect("simulator");
    let mut ids = Vec::new();
    for shop in [1, 2, 2] {
        let id = t
            .order_with(common::OrderSpec {
                id_shop: shop,
                ..common::OrderSpec::new(state::CANCELED)
            })
            .await;
        assert!(on_order_status_update(&t.db, id, Some(state::CANCELED))
            .await
            .expect("hook")
            .queued());
        ids.push(id);
    }
    let http = reqwest::Client::new();
    let report = run_cron(&t.db, &http, &opts(&sim)).await.expect("send");
    let sent: Vec<(u32, u32)> = report
        .shops
        .iter()
        .map(|s| (s.id_shop, s.statuses_sent))
        .collect();
    assert_eq!(sent, [(1, 1), (2, 2)]);
    let paths = post_paths(&sim).await;
    assert_eq!(
        paths,
        ["/v1/store/1276/order/cancel", "/v1/store/2000/order/cancel"]
    );
    for _ in 0..2 {
        run_cron(&t.db, &http, &opts(&sim)).await.expect("check");
    }
    // Every batch was read with its own shop's store (a foreign store would answer 403).
    let lists = control(&sim, "GET", "/_sim/requests?route=ticket_list", Value::Null).await;
    let lists = lists["requests"].as_array().cloned().unwrap_or_default();
    assert_eq!(lists.len(), 4, "two checks of two batches");
    assert!(lists.iter().all(|r| r["status"] == 200), "{lists:?}");
    assert!(t.all_tasks().await.is_empty());
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_keeps_the_lock_until_its_mails_are_recorded_and_a_refused_mail_loses_nothing() {
    use shoppingfeed_sync::engine::report::MailOutcome;
    use shoppingfeed_sync::engine::start_cron;
    let (t, sim) = setup().await;
    let id = t.queued_order(state::SHIPPED).await;
    every_ticket_fails(&sim, "Carrier not accepted").await;
    let http = reqwest::Client::new();
    let o = CronOptions {
        requeue_delay_minutes: 5,
        ..opts(&sim)
    };
    run_cron(&t.db, &http, &o).await.expect("send");
    run_cron(&t.db, &http, &o).await.expect("running");

    let run = start_cron(&t.db, &http, &o).await.expect("check");
    let mail = run.report.shops[0].mail.clone().expect("a failure mail");
    assert!(
        mail.text_list.contains("Carrier not accepted"),
        "{}",
        mail.text_list
    );
    // While the mailer runs, the run still holds the lock.
    assert!(run_cron(&t.db, &http, &o).await.expect("overlap").locked);
    let report = run.finish(&t.db, &[MailOutcome::Refused]).await;
    let errors = &report.shops[0].errors;
    assert!(
        errors
            .iter()
            .any(|e| e.contains("the mailer returned false")),
        "{errors:?}"
    );

    // The next run mails the same order again (nothing new failed), and once accepted it is gone.
    let run = start_cron(&t.db, &http, &o).await.expect("next");
    assert!(!run.report.locked);
    assert!(run.report.shops[0].failures.is_empty());
    let again = run.report.shops[0].mail.clone().expect("mailed again");
    assert_eq!(again.text_list, mail.text_list);
    let report = run.finish(&t.db, &[MailOutcome::Accepted]).await;
    assert!(
        report.shops[0].errors.is_empty(),
        "{:?}",
        report.shops[0].errors
    );
    let last = run_cron(&t.db, &http, &o).await.expect("last");
    assert!(last.shops[0].mail.is_none(), "{:?}", last.shops[0].mail);
    assert_eq!(t.tasks(id).await[0].attempts, 1);
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_deletes_log_rows_older_than_the_retention_a_bounded_amount_at_a_time() {
    let (t, sim) = setup().await;
    // 12,000 rows 40 days old, 3 rows 2 days old.
    t.exec(
        "INSERT INTO PREFIX_shoppingfeed_processlogger (name, msg, level, object_name, date_add) \
         VALUES ('default', 'old', 'info', '', NOW() - INTERVAL 40 DAY)",
    )
    .await;
    // Doubled 13 times (8,192 rows), then 3,808 more: 12,000.
    for limit in [
        1u32, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 3808,
    ] {
        t.exec(&format!(
            "INSERT INTO PREFIX_shoppingfeed_processlogger (name, msg, level, object_name, date_add) \
             SELECT name, msg, level, object_name, date_add FROM PREFIX_shoppingfeed_processlogger \
             WHERE msg = 'old' LIMIT {limit}"
        ))
        .await;
    }
    assert_eq!(old_rows(&t).await, 12_000);
    t.exec(
        "INSERT INTO PREFIX_shoppingfeed_processlogger (name, msg, level, object_name, date_add) \
         VALUES ('default', 'recent', 'info', '', NOW() - INTERVAL 2 DAY), \
                ('default', 'recent', 'info', '', NOW() - INTERVAL 2 DAY), \
                ('default', 'recent', 'info', '', NOW() - INTERVAL 2 DAY)",
    )
    .await;
    let http = reqwest::Client::new();
    let report = run_cron(&t.db, &http, &opts(&sim)).await.expect("run 1");
    assert_eq!(report.logs_purged, 10_000, "bounded per run");
    assert_eq!(old_rows(&t).await, 2_000);
    let report = run_cron(&t.db, &http, &opts(&sim)).await.expect("run 2");
    assert_eq!(report.logs_purged, 2_000);
    assert_eq!(old_rows(&t).await, 0);
    let recent: u64 = t
        .scalar(
            "SELECT COUNT(*) FROM PREFIX_shoppingfeed_processlogger WHERE msg = 'recent'",
            (),
        )
        .await;
    assert_eq!(recent, 3, "rows within the retention stay");
    // 0 keeps everything; a shorter retention takes the recent rows too.
    t.config("SHOPPINGFEED_LOG_RETENTION_DAYS", "0", None, None)
        .await;
    let report = run_cron(&t.db, &http, &opts(&sim)).await.expect("run 3");
    assert_eq!(report.logs_purged, 0);
    t.config("SHOPPINGFEED_LOG_RETENTION_DAYS", "1", None, None)
        .await;
    run_cron(&t.db, &http, &opts(&sim)).await.expect("run 4");
    let recent: u64 = t
        .scalar(
            "SELECT COUNT(*) FROM PREFIX_shoppingfeed_processlogger WHERE msg = 'recent'",
            (),
        )
        .await;
    assert_eq!(recent, 0);
    sim.shutdown().await;
    t.drop_db().await;
}

async fn old_rows(t: &TestDb) -> u64 {
    t.scalar(
        "SELECT COUNT(*) FROM PREFIX_shoppingfeed_processlogger WHERE msg = 'old'",
        (),
    )
    .await
}
