//! The task lifecycle under races and failures (docs/queue.md): every transition is fenced by
//! what its caller saw, so no status is lost, stranded or sent twice without need. One test per
//! way a status was lost, stranded or doubled before the queue had a single home.

mod common;

use common::{state, OrderSpec, TestDb};
use serde_json::{json, Value};
use shoppingfeed_sim::SimHandle;
use shoppingfeed_sync::engine::conveyor::{check_tickets, prepare_statuses};
use shoppingfeed_sync::engine::{run_cron, CronOptions};
use shoppingfeed_sync::hook::on_order_status_update;
use shoppingfeed_sync::refund::on_order_slip_add;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const TOKEN: &str = "lifecycle-test-token";

async fn control(sim: &SimHandle, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url()))
        .json(&body)
        .send()
        .await
        .expect("control request");
    resp.json().await.unwrap_or(Value::Null)
}

async fn requests(sim: &SimHandle, route: &str) -> Vec<Value> {
    let log: Value = reqwest::get(format!("{}/_sim/requests?route={route}", sim.base_url()))
        .await
        .expect("requests")
        .json()
        .await
        .expect("json");
    log["requests"].as_array().cloned().unwrap_or_default()
}

/// How many times each marketplace reference was sent, over every order operation POST.
async fn sends_per_reference(sim: &SimHandle) -> HashMap<String, u32> {
    let mut sends = HashMap::new();
    for r in requests(sim, "order_op").await {
        for o in r["json"]["order"].as_array().cloned().unwrap_or_default() {
            if let Some(reference) = o["reference"].as_str() {
                *sends.entry(reference.to_string()).or_default() += 1;
            }
        }
    }
    sends
}

fn opts(sim: &SimHandle) -> CronOptions {
    CronOptions {
        requeue_delay_minutes: 0,
        ..common::cron_opts(sim)
    }
}

async fn notices(t: &TestDb) -> u64 {
    t.scalar("SELECT COUNT(*) FROM PREFIX_shoppingfeed_sync_notice", ())
        .await
}

/// A credit slip of `id_order` refunding one unit of a new order line.
async fn slip(t: &TestDb, id_order: u32) -> u32 {
    let detail = t
        .exec_params(
            "INSERT INTO PREFIX_order_detail (id_order, id_shop, product_id, product_attribute_id, \
               product_name, product_quantity, product_reference, product_weight, tax_name) \
             VALUES (?, 1, 12, 0, 'A product', 3, 'SKU-12', 0, '')",
            (id_order,),
        )
        .await;
    let id = t
        .exec_params(
            "INSERT INTO PREFIX_order_slip (id_customer, id_order, shipping_cost, partial, date_add, date_upd) \
             VALUES (1, ?, 0, 1, NOW(), NOW())",
            (id_order,),
        )
        .await;
    t.exec_params(
        "INSERT INTO PREFIX_order_slip_detail (id_order_slip, id_order_detail, product_quantity) VALUES (?, ?, 1)",
        (id, detail),
    )
    .await;
    u32::try_from(id).expect("slip id")
}

/// Case 1: two credit slips of an order whose link has no identifier yet made the refund page
/// loop claim the slip it held back on every page, for the whole run budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_of_an_order_without_identifier_wait_without_spinning_the_run() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    t.config("SHOPPINGFEED_ALLOW_PARTIAL_REFUND", "1", None, None)
        .await;
    let mut spec = OrderSpec::new(state::SHIPPED);
    spec.no_reference = true;
    let id = t.order_with(spec).await;
    for _ in 0..2 {
        let s = slip(&t, id).await;
        assert!(on_order_slip_add(&t.db, id, Some(s))
            .await
            .expect("hook")
            .queued());
    }
    let started = Instant::now();
    let o = CronOptions {
        run_budget: Duration::from_secs(4),
        ..opts(&sim)
    };
    let report = run_cron(&t.db, &reqwest::Client::new(), &o)
        .await
        .expect("run");
    let shop = &report.shops[0];
    assert!(!shop.budget_exhausted, "the run spun: {shop:?}");
    assert!(started.elapsed() < Duration::from_secs(4));
    let errors = t
        .log_rows(Some("error"))
        .await
        .into_iter()
        .filter(|l| l.object_id == Some(id))
        .count();
    assert!(errors <= 2, "one error row per waiting slip, got {errors}");
    // Both wait in the queue, unleased, for the order's identifier.
    let tasks = t.tasks(id).await;
    assert_eq!(tasks.len(), 2);
    assert!(tasks
        .iter()
        .all(|x| x.action == "PARTIAL_REFUND" && x.lease_owner.is_none()));
    sim.shutdown().await;
    t.drop_db().await;
}

/// Case 2: the API ignored an order whose status changed while its POST was on the wire; the
/// requeue of the older send deleted the re-armed task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ignored_order_re_armed_in_flight_keeps_its_newer_status() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    let id = t.queued_order(state::CANCELED).await;
    let reference = format!("MP-{id}");
    control(
        &sim,
        "/_sim/faults",
        json!({"route": "order_op", "first": 1, "fault": {"kind": "hang", "seconds": 1}}),
    )
    .await;
    control(
        &sim,
        "/_sim/faults",
        json!({"route": "order_op", "reference": reference, "first": 1,
               "fault": {"kind": "ignore", "message": "Operation not allowed"}}),
    )
    .await;
    let db = t.db.clone();
    let o = opts(&sim);
    let run = tokio::spawn(async move { run_cron(&db, &reqwest::Client::new(), &o).await });
    // Wait until the POST is on the wire, then the merchant changes the status.
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.tasks(id).await[0].lease_owner.is_none() {
        assert!(Instant::now() < deadline, "the run never claimed the task");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t.set_state(id, state::REFUNDED).await;
    assert!(on_order_status_update(&t.db, id, Some(state::REFUNDED))
        .await
        .expect("hook")
        .queued());
    run.await.expect("join").expect("run");
    let tasks = t.tasks(id).await;
    assert_eq!(tasks.len(), 1, "the newer status must stay queued");
    assert_eq!(tasks[0].action, "SYNC_STATUS");
    assert_eq!(tasks[0].lease_owner, None);
    // It goes out at the next run.
    run_cron(&t.db, &reqwest::Client::new(), &opts(&sim))
        .await
        .expect("run 2");
    let paths: Vec<String> = requests(&sim, "order_op")
        .await
        .iter()
        .filter_map(|r| r["path"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        paths.last().map(String::as_str),
        Some("/v1/store/1276/order/refund")
    );
    sim.shutdown().await;
    t.drop_db().await;
}

/// Case 3: checks of one failed ticket running at once (the conveyor's steps take no lock):
/// the first requeued the task, the others deleted it, and the merchant got several notices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checks_of_a_failed_ticket_requeue_it_once() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    let mut ids = Vec::new();
    for _ in 0..60 {
        ids.push(t.queued_order(state::SHIPPED).await);
    }
    control(
        &sim,
        "/_sim/outcomes/default",
        json!({"outcome": "failed", "message": "Carrier not accepted"}),
    )
    .await;
    control(
        &sim,
        "/_sim/settings",
        json!({"lifecycle": {"mode": "polls", "polls_per_step": 0},
               "route_latency": {"ticket_list": {"fixed": {"ms": 200}}}}),
    )
    .await;
    let o = opts(&sim);
    let report = run_cron(&t.db, &reqwest::Client::new(), &o)
        .await
        .expect("send");
    assert_eq!(report.shops[0].statuses_sent, 60);
    let batch = t.tasks(ids[0]).await[0].batch_id.clone().expect("batch");
    // Four checks of the same batch at once, each with its own pool (as four processes).
    let dbs: Vec<_> = (0..4).map(|_| t.new_db()).collect();
    let http = reqwest::Client::new();
    let check = |i: usize| check_tickets(&dbs[i], &http, &o, 1, vec![batch.clone()]);
    let (a, b, c, d) = tokio::join!(check(0), check(1), check(2), check(3));
    let requeued: u32 = [a, b, c, d]
        .into_iter()
        .map(|r| r.expect("check").requeued)
        .sum();
    for id in &ids {
        let tasks = t.tasks(*id).await;
        assert_eq!(tasks.len(), 1, "order {id} lost its task");
        assert_eq!(tasks[0].action, "SYNC_STATUS");
        assert_eq!(tasks[0].attempts, 1, "requeued once");
    }
    assert_eq!(requeued, 60, "each failure is counted once");
    assert_eq!(notices(&t).await, 60, "one notice per failure");
    sim.shutdown().await;
    t.drop_db().await;
}

/// Case 4: removing a task whose order's state maps to nothing must not remove it when the
/// order was changed (and the task re-armed) between the read and the removal. The test holds
/// the task's row lock while it re-arms the task as the hook does, so the removal runs after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_re_armed_while_it_is_removed_as_unmapped_stays() {
    use mysql_async::prelude::Queryable;
    let t = TestDb::available().await;
    let id = t.queued_order(state::SHIPPED).await;
    let task = t.tasks(id).await[0].id;
    // The merchant moves the order to a state in no list (the hook queues nothing for it).
    t.set_state(id, state::PREPARATION).await;
    let mut conn = t.conn().await;
    let mut tx = conn
        .start_transaction(mysql_async::TxOpts::default())
        .await
        .expect("tx");
    tx.exec_drop(
        format!(
            "SELECT id_shoppingfeed_task_order FROM {} WHERE id_shoppingfeed_task_order = ? FOR UPDATE",
            t.t("shoppingfeed_task_order")
        ),
        (task,),
    )
    .await
    .expect("lock");
    let db = t.new_db();
    let prepare = tokio::spawn(async move { prepare_statuses(&db, 1, &[task]).await });
    // The removal waits for the row: the state it read is the old one.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: u64 = t
            .scalar(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'DELETE%shoppingfeed_task_order%'",
                (),
            )
            .await;
        if waiting > 0 {
            break;
        }
        assert!(
            !prepare.is_finished(),
            "prepare ended without waiting for the row"
        );
        assert!(Instant::now() < deadline, "no removal waited for the row");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Meanwhile the merchant ships it: the hook's re-arm of the pending row.
    tx.exec_drop(
        format!(
            "UPDATE {} SET current_state = ? WHERE id_order = ?",
            t.t("orders")
        ),
        (state::SHIPPED, id),
    )
    .await
    .expect("state");
    tx.exec_drop(
        format!(
            "UPDATE {} SET update_at = NOW(), date_upd = NOW(), version = version + 1 WHERE pending_order = ?",
            t.t("shoppingfeed_task_order")
        ),
        (id,),
    )
    .await
    .expect("re-arm");
    tx.commit().await.expect("commit");
    let prepared = prepare.await.expect("join").expect("prepare");
    assert!(prepared.is_empty(), "{prepared:?}");
    let tasks = t.tasks(id).await;
    assert_eq!(tasks.len(), 1, "the shipped status must stay queued");
    assert_eq!(tasks[0].action, "SYNC_STATUS");
    drop(conn);
    t.drop_db().await;
}

/// Case 5: a database error in the middle of a send returned without giving back the leases of
/// the tasks the run held, so the next run skipped them for `lease_seconds`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_error_mid_send_gives_back_every_lease() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    // One task without identifier (held), one to send, one whose state maps to nothing (removed:
    // the removal fails).
    let mut spec = OrderSpec::new(state::SHIPPED);
    spec.no_reference = true;
    let held = t.order_with(spec).await;
    // (The hook refuses an order without reference; its task was queued when it had one.)
    t.exec_params(
        "INSERT INTO PREFIX_shoppingfeed_task_order (action, id_order, update_at, date_add, date_upd) \
         VALUES ('SYNC_STATUS', ?, NOW(), NOW(), NOW())",
        (held,),
    )
    .await;
    let sendable = t.queued_order(state::CANCELED).await;
    let unmapped = t.queued_order(state::SHIPPED).await;
    t.set_state(unmapped, state::PREPARATION).await;
    t.exec(
        "CREATE TRIGGER PREFIX_no_delete BEFORE DELETE ON PREFIX_shoppingfeed_task_order \
         FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'",
    )
    .await;
    let o = opts(&sim);
    let report = run_cron(&t.db, &reqwest::Client::new(), &o).await;
    let shop_errors = match &report {
        Ok(r) => r.shops[0].errors.join(" | "),
        Err(e) => e.to_string(),
    };
    assert!(shop_errors.contains("injected failure"), "{shop_errors}");
    let leased: Vec<u32> = t
        .all_tasks()
        .await
        .into_iter()
        .filter(|x| x.lease_owner.is_some())
        .map(|x| x.id_order)
        .collect();
    assert!(leased.is_empty(), "leases left behind: {leased:?}");
    t.exec("DROP TRIGGER PREFIX_no_delete").await;
    let report = run_cron(&t.db, &reqwest::Client::new(), &o)
        .await
        .expect("run 2");
    assert_eq!(report.shops[0].statuses_sent, 1, "{:?}", report.shops[0]);
    assert!(t.tasks(unmapped).await.is_empty());
    assert_eq!(
        t.tasks(sendable).await[0].action,
        "CHECK_TICKET_SYNC_STATUS"
    );
    assert_eq!(t.tasks(held).await[0].action, "SYNC_STATUS");
    sim.shutdown().await;
    t.drop_db().await;
}

/// Case 6: the reference module's PARTIAL_REFUND rows carry no credit slip id; they were removed
/// as "Credit slip 0 no longer exists", with no notice. They are sent with the order's slips
/// that have no task of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_refund_queued_by_the_reference_module_is_sent() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    t.config("SHOPPINGFEED_ALLOW_PARTIAL_REFUND", "1", None, None)
        .await;
    let id = t.order(state::SHIPPED, true).await;
    slip(&t, id).await;
    t.exec_params(
        "INSERT INTO PREFIX_shoppingfeed_task_order (action, id_order, update_at, date_add, date_upd) \
         VALUES ('PARTIAL_REFUND', ?, NOW(), NOW(), NOW())",
        (id,),
    )
    .await;
    // An order whose slips are all gone: the merchant is told.
    let gone = t.order(state::SHIPPED, true).await;
    t.exec_params(
        "INSERT INTO PREFIX_shoppingfeed_task_order (action, id_order, update_at, date_add, date_upd) \
         VALUES ('PARTIAL_REFUND', ?, NOW(), NOW(), NOW())",
        (gone,),
    )
    .await;
    let report = run_cron(&t.db, &reqwest::Client::new(), &opts(&sim))
        .await
        .expect("run");
    let shop = &report.shops[0];
    assert_eq!(shop.refunds_sent, 1, "{shop:?}");
    let posts: Vec<Value> = requests(&sim, "order_op")
        .await
        .into_iter()
        .filter(|r| r["path"] == "/v1/store/1276/order/refund")
        .collect();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0]["json"]["order"][0]["refund"]["products"],
        json!([{"reference": "12", "quantity": 1}])
    );
    assert_eq!(
        t.tasks(id).await[0].action,
        "ACTION_CHECK_TICKET_PARTIAL_REFUND"
    );
    assert!(t.tasks(gone).await.is_empty());
    assert!(shop.failures.iter().any(|f| f.id_order == gone), "{shop:?}");
    assert_eq!(notices(&t).await, 1);
    sim.shutdown().await;
    t.drop_db().await;
}

/// Case 7: a run that outlives its leases (a short `lease_seconds`, slow requests) claimed again
/// and re-sent tasks whose POST was still waiting for its turn. Leases are renewed while the run
/// holds them: each order is sent once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_longer_than_its_lease_sends_each_order_once() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    let mut ids = Vec::new();
    for _ in 0..500 {
        ids.push(t.order(state::CANCELED, true).await);
    }
    t.exec_params(
        "INSERT INTO PREFIX_shoppingfeed_task_order (action, id_order, update_at, date_add, date_upd) \
         SELECT 'SYNC_STATUS', id_order, NOW(), NOW(), NOW() FROM PREFIX_orders WHERE id_order BETWEEN ? AND ?",
        (ids[0], ids[499]),
    )
    .await;
    control(
        &sim,
        "/_sim/settings",
        json!({"route_latency": {"order_op": {"fixed": {"ms": 700}}}}),
    )
    .await;
    let o = CronOptions {
        lease_seconds: 1,
        concurrency: 1,
        ..opts(&sim)
    };
    let report = run_cron(&t.db, &reqwest::Client::new(), &o)
        .await
        .expect("run");
    assert_eq!(report.shops[0].statuses_sent, 500, "{:?}", report.shops[0]);
    let sends = sends_per_reference(&sim).await;
    let twice: Vec<_> = sends.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {}", twice.len());
    assert_eq!(sends.len(), 500);
    sim.shutdown().await;
    t.drop_db().await;
}
