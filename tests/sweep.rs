//! The reconciliation sweep against a real MariaDB and the simulator: status changes the hook
//! never saw are queued (and sent by the same run); what the hook saw, what was sent since the
//! change, what the merchant canceled, and what happened before the sweep existed are not.

mod common;

use common::{state, TestDb};
use shoppingfeed_sync::engine::run_cron;

const TOKEN: &str = "sweep-test-token";

/// A status change written the way a module that skips hooks writes it: the order's state and
/// its history row, `minutes_ago`.
async fn silent_change(t: &TestDb, id_order: u32, to: u32, minutes_ago: u32) {
    t.set_state(id_order, to).await;
    t.exec_params(
        "INSERT INTO PREFIX_order_history (id_employee, id_order, id_order_state, date_add) \
         VALUES (0, ?, ?, NOW() - INTERVAL ? MINUTE)",
        (id_order, to, minutes_ago),
    )
    .await;
}

async fn swept_log(t: &TestDb, id_order: u32) -> bool {
    t.logs(Some("info"))
        .await
        .iter()
        .any(|l| l.3 == Some(id_order) && l.0.contains("Status change not seen by the hook"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_changes_the_hook_never_saw_are_queued_and_sent() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    let http = reqwest::Client::new();
    let opts = common::cron_opts(&sim);
    // Before the sweep existed: left alone.
    let before = t.order(state::PAYMENT_ACCEPTED, true).await;
    silent_change(&t, before, state::SHIPPED, 10).await;
    let first = run_cron(&t.db, &http, &opts).await.expect("run");
    assert_eq!((first.swept, first.sweep_error.clone()), (0, None));
    assert!(t.tasks(before).await.is_empty());

    let missed = t.order(state::PAYMENT_ACCEPTED, true).await;
    silent_change(&t, missed, state::SHIPPED, 5).await;
    let not_sf = t.order(state::PAYMENT_ACCEPTED, false).await;
    silent_change(&t, not_sf, state::SHIPPED, 5).await;
    let unmapped = t.order(state::PAYMENT_ACCEPTED, true).await;
    silent_change(&t, unmapped, state::PREPARATION, 5).await;
    // Shipped, then canceled: only its current state counts.
    let twice = t.order(state::PAYMENT_ACCEPTED, true).await;
    silent_change(&t, twice, state::SHIPPED, 6).await;
    silent_change(&t, twice, state::CANCELED, 5).await;
    // Sent (or canceled by the merchant) after the change: nothing to do.
    let recorded = t.order(state::PAYMENT_ACCEPTED, true).await;
    silent_change(&t, recorded, state::SHIPPED, 5).await;
    t.exec_params(
        "INSERT INTO PREFIX_shoppingfeed_sync_operation (id_order, operation, result, date_add, date_upd) \
         VALUES (?, 'ship', 'canceled', NOW(), NOW())",
        (recorded,),
    )
    .await;
    // Recorded before its change (an earlier ship): sent again.
    let again = t.order(state::PAYMENT_ACCEPTED, true).await;
    silent_change(&t, again, state::SHIPPED, 5).await;
    t.exec_params(
        "INSERT INTO PREFIX_shoppingfeed_sync_operation (id_order, operation, result, date_add, date_upd) \
         VALUES (?, 'ship', 'succeeded', NOW() - INTERVAL 1 DAY, NOW() - INTERVAL 1 DAY)",
        (again,),
    )
    .await;
    // Seen by the hook: its task exists.
    let hooked = t.queued_order(state::DELIVERED).await;
    t.exec_params(
        "INSERT INTO PREFIX_order_history (id_employee, id_order, id_order_state, date_add) \
         VALUES (0, ?, ?, NOW() - INTERVAL 5 MINUTE)",
        (hooked, state::SHIPPED),
    )
    .await;
    t.set_state(hooked, state::SHIPPED).await;
    // Too recent: the hook of that request may not have run yet.
    let recent = t.order(state::PAYMENT_ACCEPTED, true).await;
    silent_change(&t, recent, state::SHIPPED, 0).await;

    let report = run_cron(&t.db, &http, &opts).await.expect("run");
    assert_eq!(report.sweep_error, None);
    assert_eq!(report.swept, 3, "{report:?}");
    for id in [missed, twice, again] {
        assert!(swept_log(&t, id).await, "order {id}");
        let tasks = t.tasks(id).await;
        assert_eq!(tasks.len(), 1, "order {id}: {tasks:?}");
        assert!(
            tasks[0].action.starts_with("CHECK"),
            "sent by the same run: {tasks:?}"
        );
    }
    for id in [before, not_sf, unmapped, recorded, recent] {
        assert!(t.tasks(id).await.is_empty(), "order {id}");
        assert!(!swept_log(&t, id).await, "order {id}");
    }
    assert_eq!(t.tasks(hooked).await.len(), 1);
    assert!(!swept_log(&t, hooked).await);

    // The recent change, once past the grace, is read by the next run (the cursor waited).
    t.exec_params(
        "UPDATE PREFIX_order_history SET date_add = NOW() - INTERVAL 3 MINUTE WHERE id_order = ?",
        (recent,),
    )
    .await;
    let report = run_cron(&t.db, &http, &opts).await.expect("run");
    assert_eq!(report.swept, 1);
    assert!(swept_log(&t, recent).await);
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_looks_back_its_days_only_and_zero_turns_it_off() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    let http = reqwest::Client::new();
    let opts = common::cron_opts(&sim);
    run_cron(&t.db, &http, &opts).await.expect("first run");
    let old = t.order(state::PAYMENT_ACCEPTED, true).await;
    silent_change(&t, old, state::CANCELED, 8 * 24 * 60).await;
    let off = t.order(state::PAYMENT_ACCEPTED, true).await;
    silent_change(&t, off, state::CANCELED, 5).await;
    t.config("SHOPPINGFEED_ORDER_SYNC_SWEEP_DAYS", "0", None, None)
        .await;
    assert_eq!(run_cron(&t.db, &http, &opts).await.expect("run").swept, 0);
    t.config("SHOPPINGFEED_ORDER_SYNC_SWEEP_DAYS", "7", None, None)
        .await;
    let report = run_cron(&t.db, &http, &opts).await.expect("run");
    assert_eq!(report.swept, 1, "{report:?}");
    assert!(t.tasks(old).await.is_empty(), "8 days ago");
    assert!(swept_log(&t, off).await);
    sim.shutdown().await;
    t.drop_db().await;
}
