//! The merchant's control room against a real MariaDB and the simulator: tasks that gave up stay
//! for the merchant, the grid's reads, the merchant's fenced actions, health, the operations
//! record, and the retention of tasks that gave up.

mod common;

use common::{state, TestDb};
use serde_json::{json, Value};
use shoppingfeed_sim::SimHandle;
use shoppingfeed_sync::control::{self, HealthWarning, MerchantAction};
use shoppingfeed_sync::engine::{run_cron, CronOptions};
use shoppingfeed_sync::hook::on_order_status_update;
use shoppingfeed_sync::queue::view::{self, SortBy, TaskQuery, TaskState};

const TOKEN: &str = "control-room-token";
const ACTOR: &str = "employee 1 (Test E.)";

async fn sim_post(sim: &SimHandle, path: &str, body: Value) {
    reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url()))
        .json(&body)
        .send()
        .await
        .expect("control request");
}

async fn order_posts(sim: &SimHandle) -> usize {
    let log: Value = reqwest::get(format!("{}/_sim/requests?route=order_op", sim.base_url()))
        .await
        .expect("requests")
        .json()
        .await
        .expect("json");
    log["requests"].as_array().map(Vec::len).unwrap_or(0)
}

fn opts(sim: &SimHandle) -> CronOptions {
    CronOptions {
        requeue_delay_minutes: 0,
        max_attempts: 1,
        ..common::cron_opts(sim)
    }
}

async fn gave_up_at(t: &TestDb, id_order: u32) -> Option<String> {
    t.scalar(
        "SELECT CAST(gave_up_at AS CHAR) FROM PREFIX_shoppingfeed_task_order WHERE id_order = ?",
        (id_order,),
    )
    .await
}

/// Sends the order's shipped status and lets its ticket fail once: with one attempt, it gives up.
async fn give_up(t: &TestDb, sim: &SimHandle, id: u32) {
    sim_post(
        sim,
        "/_sim/outcomes/default",
        json!({"outcome": "failed", "message": "Carrier not accepted"}),
    )
    .await;
    let http = reqwest::Client::new();
    for _ in 0..3 {
        run_cron(&t.db, &http, &opts(sim)).await.expect("run");
        if gave_up_at(t, id).await.is_some() {
            return;
        }
    }
    panic!("order {id} did not give up: {:?}", t.tasks(id).await);
}

fn query(shops: Vec<u32>) -> TaskQuery {
    TaskQuery {
        shops,
        ..TaskQuery::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_gives_up_stays_never_due_until_the_merchant_retries_it() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    let id = t.queued_order(state::SHIPPED).await;
    give_up(&t, &sim, id).await;
    let tasks = t.tasks(id).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0].action, "SYNC_STATUS");
    assert_eq!(tasks[0].due_in, None, "never due");
    assert_eq!(tasks[0].last_error.as_deref(), Some("Carrier not accepted"));

    // Its record says so, with the failed ticket.
    let view = control::order_view(&t.db, id).await.expect("view");
    assert_eq!(view.operations.len(), 1, "{view:?}");
    assert_eq!(view.operations[0].result, "gave_up");
    assert!(view.operations[0].ticket_number.is_some(), "{view:?}");

    // Later runs leave it alone.
    let sent = order_posts(&sim).await;
    let http = reqwest::Client::new();
    run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
    assert_eq!(order_posts(&sim).await, sent);

    // The grid and the health panel show it.
    let mut conn = t.db.conn().await.expect("conn");
    let (rows, total) = view::list(&t.db, &mut conn, &query(vec![1]))
        .await
        .expect("list");
    assert_eq!(total, 1);
    assert_eq!(rows[0].state, Some(TaskState::GaveUp));
    assert!(rows[0].gave_up_at.is_some());
    drop(conn);
    let health = control::health(&t.db, &[1]).await.expect("health");
    assert_eq!(health.queue.gave_up, 1);
    assert!(
        health.warnings.iter().any(|w| w.0 == HealthWarning::GaveUp),
        "{health:?}"
    );

    // Send now is refused (Retry is the action), Retry makes it due with its attempts reset.
    let r = control::act(&t.db, MerchantAction::SendNow, &[tasks[0].id], &[1], ACTOR)
        .await
        .expect("send now");
    assert!(r.changed.is_empty(), "{r:?}");
    sim_post(
        &sim,
        "/_sim/outcomes/default",
        json!({"outcome": "succeed"}),
    )
    .await;
    let r = control::act(&t.db, MerchantAction::Retry, &[tasks[0].id], &[1], ACTOR)
        .await
        .expect("retry");
    assert_eq!(r.changed, vec![tasks[0].id], "{r:?}");
    let after = t.tasks(id).await;
    assert_eq!(after[0].attempts, 0);
    assert!(after[0].due_in.is_some_and(|d| d <= 0), "{after:?}");
    assert_eq!(gave_up_at(&t, id).await, None);
    assert!(t
        .logs(Some("info"))
        .await
        .iter()
        .any(|l| l.0.contains("retried by employee 1 (Test E.)") && l.3 == Some(id)));

    run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
    assert_eq!(order_posts(&sim).await, sent + 1, "sent again once");
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_status_change_re_arms_a_task_that_gave_up_as_a_new_one() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    let id = t.queued_order(state::SHIPPED).await;
    give_up(&t, &sim, id).await;
    t.set_state(id, state::CANCELED).await;
    let outcome = on_order_status_update(&t.db, id, Some(state::CANCELED))
        .await
        .expect("hook");
    assert!(outcome.queued(), "{outcome:?}");
    let tasks = t.tasks(id).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0].attempts, 0);
    assert!(tasks[0].due_in.is_some());
    assert_eq!(gave_up_at(&t, id).await, None);
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_now_and_cancel_are_fenced_scoped_and_logged() {
    let (t, sim) = common::cron_shop(TOKEN, "60").await;
    let id = t.queued_order(state::SHIPPED).await;
    // The hook queues it for the shipped delay.
    on_order_status_update(&t.db, id, Some(state::SHIPPED))
        .await
        .expect("hook");
    let task = t.tasks(id).await[0].id;
    assert!(t.tasks(id).await[0].due_in.is_some_and(|d| d > 3000));

    // Another shop's context does not reach it.
    let r = control::act(&t.db, MerchantAction::SendNow, &[task], &[2], ACTOR)
        .await
        .expect("send now");
    assert!(r.changed.is_empty() && r.skipped.len() == 1, "{r:?}");
    assert!(t.tasks(id).await[0].due_in.is_some_and(|d| d > 3000));

    let r = control::act(
        &t.db,
        MerchantAction::SendNow,
        &[task, 999_999],
        &[1],
        ACTOR,
    )
    .await
    .expect("send now");
    assert_eq!(r.changed, vec![task]);
    assert_eq!(r.skipped.len(), 1, "the unknown id: {r:?}");
    assert!(t.tasks(id).await[0].due_in.is_some_and(|d| d <= 0));
    let r = control::act(&t.db, MerchantAction::SendNow, &[task], &[1], ACTOR)
        .await
        .expect("send now");
    assert!(r.changed.is_empty(), "already due: {r:?}");

    // A run holding it: Cancel waits for it.
    t.exec(
        "UPDATE PREFIX_shoppingfeed_task_order SET lease_owner = 'other-run', \
         lease_until = NOW() + INTERVAL 60 SECOND",
    )
    .await;
    let r = control::act(&t.db, MerchantAction::Cancel, &[task], &[1], ACTOR)
        .await
        .expect("cancel");
    assert!(r.changed.is_empty(), "{r:?}");
    assert_eq!(t.tasks(id).await.len(), 1);
    t.exec("UPDATE PREFIX_shoppingfeed_task_order SET lease_owner = NULL, lease_until = NULL")
        .await;
    let r = control::act(&t.db, MerchantAction::Cancel, &[task], &[1], ACTOR)
        .await
        .expect("cancel");
    assert_eq!(r.changed, vec![task]);
    assert!(t.tasks(id).await.is_empty());
    // Recorded, so the sweep does not queue it again, and logged with the employee.
    let result: Option<String> = t
        .scalar(
            "SELECT result FROM PREFIX_shoppingfeed_sync_operation WHERE id_order = ? AND operation = 'ship'",
            (id,),
        )
        .await;
    assert_eq!(result.as_deref(), Some("canceled"));
    assert!(t.logs(Some("info")).await.iter().any(|l| l
        .0
        .contains(&format!("Task {task} (SYNC_STATUS) canceled by {ACTOR}"))));
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grid_filters_sorts_and_pages() {
    let (t, sim) = common::cron_shop(TOKEN, "60").await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(t.queued_order(state::SHIPPED).await);
    }
    let canceled = t.queued_order(state::CANCELED).await;
    // The canceled one is due; the shipped ones wait for their delay.
    t.exec("UPDATE PREFIX_shoppingfeed_task_order SET update_at = NOW() + INTERVAL 1 HOUR")
        .await;
    t.exec_params(
        "UPDATE PREFIX_shoppingfeed_task_order SET update_at = NOW() - INTERVAL 1 MINUTE WHERE id_order = ?",
        (canceled,),
    )
    .await;
    let mut conn = t.db.conn().await.expect("conn");
    let q = |f: fn(&mut TaskQuery)| {
        let mut q = query(vec![1]);
        f(&mut q);
        q
    };
    let (rows, total) = view::list(&t.db, &mut conn, &q(|q| q.state = Some(TaskState::Due)))
        .await
        .expect("list");
    assert_eq!((rows.len(), total), (1, 1));
    assert_eq!(rows[0].id_order, canceled);
    let (rows, total) = view::list(
        &t.db,
        &mut conn,
        &q(|q| {
            q.state = Some(TaskState::Waiting);
            q.sort = SortBy::IdOrder;
            q.descending = false;
            q.per_page = 2;
            q.page = 2;
        }),
    )
    .await
    .expect("list");
    assert_eq!(total, 5);
    assert_eq!(
        rows.iter().map(|r| r.id_order).collect::<Vec<_>>(),
        ids[2..4].to_vec()
    );
    let (_, total) = view::list(
        &t.db,
        &mut conn,
        &q(|q| q.kind = Some(shoppingfeed_sync::model::TaskKind::Invoice)),
    )
    .await
    .expect("list");
    assert_eq!(total, 0);
    let one = TaskQuery {
        id_order: Some(ids[1]),
        ..query(vec![1])
    };
    let (rows, _) = view::list(&t.db, &mut conn, &one).await.expect("list");
    assert_eq!(rows.len(), 1);
    // A marketplace filter is a LIKE with its wildcards escaped.
    let (_, total) = view::list(&t.db, &mut conn, &q(|q| q.marketplace = Some("%".into())))
        .await
        .expect("list");
    assert_eq!(total, 0);
    // The operation each row would send, from the shop's lists.
    let ops = control::operations_of(&t.db, &rows).await.expect("ops");
    assert_eq!(ops, vec![Some("ship")]);
    // An empty shop context shows nothing.
    let (rows, total) = view::list(&t.db, &mut conn, &query(Vec::new()))
        .await
        .expect("list");
    assert_eq!((rows.len(), total), (0, 0));
    drop(conn);
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_operation_is_recorded_with_its_ticket_result() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    let id = t.queued_order(state::SHIPPED).await;
    let http = reqwest::Client::new();
    for _ in 0..3 {
        run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
    }
    assert!(t.tasks(id).await.is_empty(), "succeeded");
    let view = control::order_view(&t.db, id).await.expect("view");
    assert_eq!(view.operations.len(), 1, "{view:?}");
    let op = &view.operations[0];
    assert_eq!(op.operation, "ship");
    assert_eq!(op.result, "succeeded");
    assert!(op.batch_id.is_some(), "{op:?}");
    // Stored as sent: a success is read from its batch having no task left.
    let stored: Option<String> = t
        .scalar(
            "SELECT result FROM PREFIX_shoppingfeed_sync_operation WHERE id_order = ?",
            (id,),
        )
        .await;
    assert_eq!(stored.as_deref(), Some("sent"));
    assert!(
        view.logs
            .iter()
            .any(|l| l.1.contains("Ticket status : succeed")),
        "{:?}",
        view.logs
    );
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_that_gave_up_go_after_their_retention_and_health_sees_a_late_cron() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    let old = t.queued_order(state::SHIPPED).await;
    let recent = t.queued_order(state::CANCELED).await;
    t.exec("UPDATE PREFIX_shoppingfeed_task_order SET update_at = NULL, attempts = 3")
        .await;
    t.exec_params(
        "UPDATE PREFIX_shoppingfeed_task_order SET gave_up_at = NOW() - INTERVAL 31 DAY WHERE id_order = ?",
        (old,),
    )
    .await;
    t.exec_params(
        "UPDATE PREFIX_shoppingfeed_task_order SET gave_up_at = NOW() - INTERVAL 29 DAY WHERE id_order = ?",
        (recent,),
    )
    .await;
    let http = reqwest::Client::new();
    let report = run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
    assert_eq!(report.gave_up_expired, 1);
    assert!(t.tasks(old).await.is_empty());
    assert_eq!(t.tasks(recent).await.len(), 1);

    // 0 keeps them.
    t.config(
        "SHOPPINGFEED_ORDER_SYNC_GAVE_UP_RETENTION_DAYS",
        "0",
        None,
        None,
    )
    .await;
    t.exec("UPDATE PREFIX_shoppingfeed_task_order SET gave_up_at = NOW() - INTERVAL 400 DAY")
        .await;
    let report = run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
    assert_eq!(report.gave_up_expired, 0);
    assert_eq!(t.tasks(recent).await.len(), 1);

    // The run just ended: no warning about the CRON; an hour-old end with a 15-minute interval is.
    let health = control::health(&t.db, &[1]).await.expect("health");
    assert!(health.last_run.is_some());
    assert!(!health
        .warnings
        .iter()
        .any(|w| w.0 == HealthWarning::CronLate));
    let due = t.queued_order(state::SHIPPED).await;
    t.exec_params(
        "UPDATE PREFIX_shoppingfeed_task_order SET update_at = NOW() - INTERVAL 2 HOUR WHERE id_order = ?",
        (due,),
    )
    .await;
    t.exec("UPDATE PREFIX_shoppingfeed_processmonitor SET last_update = NOW() - INTERVAL 1 HOUR")
        .await;
    let health = control::health(&t.db, &[1]).await.expect("health");
    let codes: Vec<HealthWarning> = health.warnings.iter().map(|w| w.0).collect();
    assert!(codes.contains(&HealthWarning::CronLate), "{health:?}");
    assert!(codes.contains(&HealthWarning::DueOld), "{health:?}");
    assert!(health.queue.oldest_due_seconds.is_some_and(|s| s >= 7200));
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_logs_the_payload_sends_nothing_and_consumes_no_task() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    let shipped = t.queued_order(state::SHIPPED).await;
    // Its state changed to one no list maps (without the hook): a real run removes its task.
    let unmapped = t.queued_order(state::SHIPPED).await;
    t.set_state(unmapped, state::PREPARATION).await;
    let http = reqwest::Client::new();
    // One sent for real first, waiting for its ticket.
    let checking = t.queued_order(state::CANCELED).await;
    t.exec_params(
        "UPDATE PREFIX_shoppingfeed_task_order SET update_at = NOW() + INTERVAL 1 HOUR WHERE id_order <> ?",
        (checking,),
    )
    .await;
    run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
    assert_eq!(
        t.tasks(checking).await[0].action,
        "CHECK_TICKET_SYNC_STATUS"
    );
    t.exec("UPDATE PREFIX_shoppingfeed_task_order SET update_at = NOW() - INTERVAL 1 SECOND WHERE update_at IS NOT NULL")
        .await;
    let before = t.all_tasks().await;
    let posts = order_posts(&sim).await;

    t.config("SHOPPINGFEED_ORDER_SYNC_DRY_RUN", "1", None, None)
        .await;
    let report = run_cron(&t.db, &http, &opts(&sim)).await.expect("dry run");
    let shop = &report.shops[0];
    assert!(shop.dry_run, "{shop:?}");
    assert_eq!(shop.dry_run_orders, 1, "{shop:?}");
    assert_eq!((shop.statuses_sent, shop.tickets_succeeded), (0, 0));
    assert_eq!(order_posts(&sim).await, posts, "nothing sent");
    let after = t.all_tasks().await;
    assert_eq!(
        after
            .iter()
            .map(|r| (r.id, r.action.clone(), r.lease_owner.clone()))
            .collect::<Vec<_>>(),
        before
            .iter()
            .map(|r| (r.id, r.action.clone(), None))
            .collect::<Vec<_>>(),
        "every task as it was, no lease left"
    );
    let logs = t.logs(Some("info")).await;
    assert!(
        logs.iter().any(|l| l.0.contains("Dry run: POST /v1/store/")
            && l.0.contains("/order/ship not sent: {\"order\":[")),
        "{logs:?}"
    );
    assert!(logs
        .iter()
        .any(|l| l.3 == Some(unmapped) && l.0.contains("Dry run: no operation")));

    // Off again: the same tasks go out.
    t.config("SHOPPINGFEED_ORDER_SYNC_DRY_RUN", "0", None, None)
        .await;
    let report = run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
    assert_eq!(report.shops[0].statuses_sent, 1);
    assert!(t.tasks(unmapped).await.is_empty());
    assert!(t.tasks(shipped).await[0].action.starts_with("CHECK"));
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_died_holding_the_monitor_row_is_reported_late() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    let http = reqwest::Client::new();
    run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
    // A run killed mid-way leaves its pid: it started two hours ago.
    t.exec(
        "UPDATE PREFIX_shoppingfeed_processmonitor SET pid = 4242, last_update = NOW() - INTERVAL 2 HOUR \
         WHERE name = 'shoppingfeed:syncOrder'",
    )
    .await;
    let health = control::health(&t.db, &[1]).await.expect("health");
    assert!(health.running);
    assert!(
        health
            .warnings
            .iter()
            .any(|w| w.0 == HealthWarning::CronLate),
        "{health:?}"
    );
    sim.shutdown().await;
    t.drop_db().await;
}

/// The merchant's Cancel and Send now racing a run that sends (30 requests of 10, 40 ms each):
/// a canceled task is never sent, every other one is sent exactly once, no lease is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchant_actions_racing_a_run_never_send_a_canceled_task_nor_lose_another() {
    let t = TestDb::create().await;
    t.reset_shop_available().await;
    t.config("SHOPPINGFEED_AUTH_TOKEN", TOKEN, None, None).await;
    t.config(
        "SHOPPINGFEED_STORE_ID",
        &common::CRON_STORE.to_string(),
        None,
        None,
    )
    .await;
    t.config("SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT", "0", None, None)
        .await;
    t.config("SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS", "10", None, None)
        .await;
    let sim = shoppingfeed_sim::spawn(
        shoppingfeed_sim::SimConfig::new(TOKEN, common::CRON_STORE)
            .with_auto_create_orders(true)
            .with_latency(shoppingfeed_sim::Latency::Fixed { ms: 40 }),
    )
    .await
    .expect("simulator");
    let mut orders = Vec::new();
    for _ in 0..300 {
        orders.push(t.queued_order(state::CANCELED).await);
    }
    let tasks: Vec<(u32, u32)> = t
        .all_tasks()
        .await
        .iter()
        .map(|r| (r.id, r.id_order))
        .collect();
    // Half of them wait an hour: Send now has something to do.
    t.exec("UPDATE PREFIX_shoppingfeed_task_order SET update_at = NOW() + INTERVAL 1 HOUR WHERE id_order % 2 = 0")
        .await;
    let o = CronOptions {
        concurrency: 2,
        ..opts(&sim)
    };
    let db = t.db.clone();
    let run = tokio::spawn(async move { run_cron(&db, &reqwest::Client::new(), &o).await });
    let mut canceled = Vec::new();
    let mut raced = 0;
    // The merchant works through the list while the run sends: every third task canceled, the
    // others waiting sent now, in small bulk actions.
    for chunk in tasks.chunks(6) {
        let cancel: Vec<u32> = chunk.iter().step_by(3).map(|(id, _)| *id).collect();
        let r = control::act(&t.db, MerchantAction::Cancel, &cancel, &[1], ACTOR)
            .await
            .expect("cancel");
        canceled.extend(r.changed.iter().copied());
        raced += r
            .skipped
            .iter()
            .filter(|(_, why)| why.contains("sending") || why.contains("already sent"))
            .count();
        let rest: Vec<u32> = chunk
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| !cancel.contains(id))
            .collect();
        control::act(&t.db, MerchantAction::SendNow, &rest, &[1], ACTOR)
            .await
            .expect("send now");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    run.await.expect("join").expect("run");
    // Whatever the first run left due goes in a second.
    run_cron(&t.db, &reqwest::Client::new(), &opts(&sim))
        .await
        .expect("run 2");
    assert!(!canceled.is_empty(), "the merchant canceled nothing");
    assert!(
        raced > 0,
        "no Cancel met a task the run held or had sent: no race"
    );
    let canceled_orders: Vec<u32> = tasks
        .iter()
        .filter(|(id, _)| canceled.contains(id))
        .map(|(_, o)| *o)
        .collect();
    let log: Value = reqwest::get(format!("{}/_sim/requests?route=order_op", sim.base_url()))
        .await
        .expect("requests")
        .json()
        .await
        .expect("json");
    let mut sends: std::collections::HashMap<String, u32> = Default::default();
    for r in log["requests"].as_array().cloned().unwrap_or_default() {
        for o in r["json"]["order"].as_array().cloned().unwrap_or_default() {
            if let Some(reference) = o["reference"].as_str() {
                *sends.entry(reference.to_string()).or_default() += 1;
            }
        }
    }
    for id in &orders {
        let n = sends.get(&format!("MP-{id}")).copied().unwrap_or(0);
        if canceled_orders.contains(id) {
            assert_eq!(n, 0, "order {id} was canceled, then sent");
            assert!(t.tasks(*id).await.is_empty());
        } else {
            assert_eq!(n, 1, "order {id}");
        }
    }
    assert!(t.all_tasks().await.iter().all(|r| r.lease_owner.is_none()));
    sim.shutdown().await;
    t.drop_db().await;
}
