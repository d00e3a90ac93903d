//! The hook path and the queue store against the real MariaDB (`./dev db start`): what
//! `tests/php/HookTest.php` checks through the extension, checked here on the Rust API, plus the
//! concurrency and table-prefix guarantees.

mod common;

use common::{state, OrderSpec, TestDb};
use shoppingfeed_sync::config::TablePrefix;
use shoppingfeed_sync::db::Db;
use shoppingfeed_sync::hook::{self, HookOutcome, SaveOrderOutcome};
use shoppingfeed_sync::queue::{self, Upsert};
use shoppingfeed_sync::shop::Unavailable;

/// `(name, msg, level, object_name, object_id)` of a log row.
type LogView<'a> = (&'a str, &'a str, &'a str, &'a str, Option<u32>);

/// Seconds of slack between the statement's NOW() and the assertion's NOW().
const SLACK: i64 = 3;

async fn hook(t: &TestDb, id_order: u32, new_state: u32) -> HookOutcome {
    hook::on_order_status_update(&t.db, id_order, Some(new_state))
        .await
        .unwrap()
}

fn assert_due_in(actual: Option<i64>, expected: i64, what: &str) {
    let actual = actual.unwrap_or_else(|| panic!("{what}: update_at is NULL"));
    assert!(
        (actual - expected).abs() <= SLACK,
        "{what}: due in {actual}s, expected {expected}s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_state_is_queued_with_the_time_shift() {
    let t = TestDb::available().await;
    let id = t.order(state::SHIPPED, true).await;
    assert_eq!(
        hook(&t, id, state::SHIPPED).await,
        HookOutcome::Queued { delay_minutes: 5 }
    );
    let tasks = t.tasks(id).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let task = &tasks[0];
    assert_eq!(task.action, "SYNC_STATUS");
    assert_eq!(task.id_order, id);
    assert_due_in(task.due_in, 300, "shipped");
    assert_eq!(task.attempts, 0);
    assert_eq!(task.ticket_number, None);
    assert_eq!(task.batch_id, None);
    assert_eq!(task.lease_owner, None);
    assert_eq!(task.lease_in, None);
    assert!(!task.sent);
    assert_eq!(t.all_tasks().await.len(), 1, "only this order is queued");
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_queues_and_only_shipped_states_are_delayed() {
    let t = TestDb::available().await;
    for (st, minutes) in [
        (state::SHIPPED, 5),
        (state::DELIVERED, 5),
        (state::CANCELED, 0),
        (state::REFUNDED, 0),
    ] {
        let id = t.order(st, true).await;
        assert_eq!(
            hook(&t, id, st).await,
            HookOutcome::Queued {
                delay_minutes: minutes
            },
            "state {st}"
        );
        let tasks = t.tasks(id).await;
        assert_eq!(tasks.len(), 1, "state {st}");
        assert_due_in(
            tasks[0].due_in,
            i64::from(minutes) * 60,
            &format!("state {st}"),
        );
    }
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_change_rearms_the_one_pending_task() {
    let t = TestDb::available().await;
    let id = t.order(state::SHIPPED, true).await;
    assert_eq!(
        hook(&t, id, state::SHIPPED).await,
        HookOutcome::Queued { delay_minutes: 5 }
    );
    let first = t.tasks(id).await.remove(0);
    assert_due_in(first.due_in, 300, "first ship");

    // A CRON run holding the task keeps its lease, but the re-arm bumps the version, so that run
    // will not mark the newer state as sent.
    t.exec_params(
        "UPDATE PREFIX_shoppingfeed_task_order SET lease_owner = 'run-1', lease_until = NOW() + INTERVAL 1 HOUR \
         WHERE id_shoppingfeed_task_order = ?",
        (first.id,),
    )
    .await;
    t.set_state(id, state::CANCELED).await;
    assert_eq!(
        hook(&t, id, state::CANCELED).await,
        HookOutcome::Rearmed { delay_minutes: 0 }
    );
    let tasks = t.tasks(id).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0].id, first.id, "same row");
    assert_due_in(tasks[0].due_in, 0, "cancel pulls the task to now");
    assert_eq!(tasks[0].lease_owner.as_deref(), Some("run-1"));
    let version: u32 = t
        .scalar("SELECT version FROM PREFIX_shoppingfeed_task_order WHERE id_shoppingfeed_task_order = ?", (first.id,))
        .await;
    assert_eq!(version, 1);

    t.set_state(id, state::SHIPPED).await;
    assert_eq!(
        hook(&t, id, state::SHIPPED).await,
        HookOutcome::Rearmed { delay_minutes: 5 }
    );
    let tasks = t.tasks(id).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].id, first.id);
    assert_due_in(tasks[0].due_in, 300, "ship pushes it forward");
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_store_upsert_inserts_then_rearms() {
    let t = TestDb::available().await;
    let id = t.order(state::SHIPPED, true).await;
    let mut conn = t.db.conn().await.unwrap();
    assert_eq!(
        queue::enqueue_status(&t.db, &mut conn, id, 7)
            .await
            .unwrap(),
        Upsert::Inserted
    );
    let first = t.tasks(id).await.remove(0);
    assert_due_in(first.due_in, 7 * 60, "inserted");
    assert_eq!(
        queue::enqueue_status(&t.db, &mut conn, id, 0)
            .await
            .unwrap(),
        Upsert::Rearmed
    );
    // Same values again: MySQL reports 0 affected rows, still a re-arm.
    assert_eq!(
        queue::enqueue_status(&t.db, &mut conn, id, 0)
            .await
            .unwrap(),
        Upsert::Rearmed
    );
    let tasks = t.tasks(id).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].id, first.id);
    assert_due_in(tasks[0].due_in, 0, "re-armed");
    // The queue store does not check the order: any id gets its task (the hook checks).
    let other = id + 1000;
    assert_eq!(
        queue::enqueue_status(&t.db, &mut conn, other, 1)
            .await
            .unwrap(),
        Upsert::Inserted
    );
    assert_eq!(t.all_tasks().await.len(), 2);
    drop(conn);
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_waiting_for_its_ticket_gets_a_second_pending_task() {
    let t = TestDb::available().await;
    let id = t.order(state::SHIPPED, true).await;
    t.exec_params(
        "INSERT INTO PREFIX_shoppingfeed_task_order (action, id_order, ticket_number, batch_id, update_at, date_add, date_upd) \
         VALUES ('CHECK_TICKET_SYNC_STATUS', ?, 'T1', 'B1', NOW(), NOW(), NOW())",
        (id,),
    )
    .await;
    assert_eq!(
        hook(&t, id, state::REFUNDED).await,
        HookOutcome::Queued { delay_minutes: 0 }
    );
    let tasks = t.tasks(id).await;
    let actions: Vec<&str> = tasks.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["CHECK_TICKET_SYNC_STATUS", "SYNC_STATUS"]);
    assert_eq!(tasks[0].ticket_number.as_deref(), Some("T1"));
    assert_eq!(tasks[0].batch_id.as_deref(), Some("B1"));
    assert_eq!(tasks[1].ticket_number, None);
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_shift_zero_is_allowed_and_a_missing_one_defaults_to_five() {
    let t = TestDb::available().await;
    t.config("SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT", "0", None, None)
        .await;
    let a = t.order(state::SHIPPED, true).await;
    assert_eq!(
        hook(&t, a, state::SHIPPED).await,
        HookOutcome::Queued { delay_minutes: 0 }
    );
    assert_due_in(t.tasks(a).await[0].due_in, 0, "time shift 0");

    t.unset_config("SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT").await;
    let b = t.order(state::SHIPPED, true).await;
    assert_eq!(
        hook(&t, b, state::SHIPPED).await,
        HookOutcome::Queued { delay_minutes: 5 }
    );
    assert_due_in(t.tasks(b).await[0].due_in, 300, "default time shift");
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_falls_back_from_shop_to_group_to_global() {
    let t = TestDb::available().await;
    t.multistore().await;
    // Time shift: global 5; group 1 says 10; shop 1 says 3; shop 2 (group 1) has no row of its own.
    t.config("SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT", "10", None, Some(1))
        .await;
    t.config("SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT", "3", Some(1), None)
        .await;
    // The legacy module must be active on shop 2 too for its orders to pass the gate.
    t.exec_params(
        "INSERT INTO PREFIX_module_shop (id_module, id_shop) \
         SELECT id_module, ? FROM PREFIX_module WHERE name = 'shoppingfluxexport'",
        (2u32,),
    )
    .await;
    let shop1 = t.order(state::SHIPPED, true).await;
    assert_eq!(
        hook(&t, shop1, state::SHIPPED).await,
        HookOutcome::Queued { delay_minutes: 3 },
        "the shop row wins"
    );
    assert_due_in(t.tasks(shop1).await[0].due_in, 180, "shop level");
    let shop2 = t
        .order_with(OrderSpec {
            id_shop: 2,
            ..OrderSpec::new(state::SHIPPED)
        })
        .await;
    assert_eq!(
        hook(&t, shop2, state::SHIPPED).await,
        HookOutcome::Queued { delay_minutes: 10 },
        "the group row beats the global one"
    );
    assert_due_in(t.tasks(shop2).await[0].due_in, 600, "group level");
    // A group of its own for shop 3: only the global row applies.
    t.exec_params(
        "INSERT INTO PREFIX_module_shop (id_module, id_shop) \
         SELECT id_module, ? FROM PREFIX_module WHERE name = 'shoppingfluxexport'",
        (3u32,),
    )
    .await;
    let shop3 = t
        .order_with(OrderSpec {
            id_shop: 3,
            id_shop_group: 2,
            ..OrderSpec::new(state::SHIPPED)
        })
        .await;
    assert_eq!(
        hook(&t, shop3, state::SHIPPED).await,
        HookOutcome::Queued { delay_minutes: 5 },
        "global fallback"
    );

    // State lists: the shop's empty cancelled list hides the global one; a group refunded list
    // replaces the global ["7"].
    t.config("SHOPPINGFEED_CANCELLED_ORDERS", "[]", Some(1), None)
        .await;
    t.config("SHOPPINGFEED_REFUNDED_ORDERS", r#"["8"]"#, None, Some(1))
        .await;
    let a = t.order(state::CANCELED, true).await;
    assert_eq!(
        hook(&t, a, state::CANCELED).await,
        HookOutcome::UnmappedState(state::CANCELED)
    );
    let b = t.order(state::PAYMENT_ERROR, true).await;
    assert_eq!(
        hook(&t, b, state::PAYMENT_ERROR).await,
        HookOutcome::Queued { delay_minutes: 0 }
    );
    let c = t.order(state::REFUNDED, true).await;
    assert_eq!(
        hook(&t, c, state::REFUNDED).await,
        HookOutcome::UnmappedState(state::REFUNDED)
    );
    assert!(t.tasks(a).await.is_empty());
    assert_eq!(t.tasks(b).await.len(), 1);
    assert!(t.tasks(c).await.is_empty());
    // Shop 3 (group 2) still sees the global cancelled list.
    let d = t
        .order_with(OrderSpec {
            id_shop: 3,
            id_shop_group: 2,
            ..OrderSpec::new(state::CANCELED)
        })
        .await;
    assert_eq!(
        hook(&t, d, state::CANCELED).await,
        HookOutcome::Queued { delay_minutes: 0 }
    );
    assert!(t.logs(Some("error")).await.is_empty());
    t.drop_db().await;
}

#[derive(Debug, Clone, Copy)]
enum Gate {
    Disabled,
    LegacyMissing,
    LegacyInactive,
    LegacyOnAnotherShopOnly,
    LegacyShips,
    LegacyCancelsAtShopLevel,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_gate_queues_nothing_and_logs_one_error_naming_why() {
    for (gate, why, expected) in [
        (Gate::Disabled, "disabled", Unavailable::Disabled),
        (
            Gate::LegacyMissing,
            "not installed",
            Unavailable::LegacyNotInstalled,
        ),
        (
            Gate::LegacyInactive,
            "not active",
            Unavailable::LegacyInactive,
        ),
        (
            Gate::LegacyOnAnotherShopOnly,
            "not active",
            Unavailable::LegacyInactive,
        ),
        (
            Gate::LegacyShips,
            "Order shipment",
            Unavailable::LegacySyncsOrders,
        ),
        (
            Gate::LegacyCancelsAtShopLevel,
            "Order cancellation",
            Unavailable::LegacySyncsOrders,
        ),
    ] {
        let t = TestDb::available().await;
        match gate {
            Gate::Disabled => {
                t.multistore().await;
                t.config("SHOPPINGFEED_ORDER_SYNC_ENABLED", "0", Some(1), None)
                    .await
            }
            Gate::LegacyMissing => t.uninstall_legacy_module().await,
            Gate::LegacyInactive => t.install_legacy_module(false, 1).await,
            Gate::LegacyOnAnotherShopOnly => t.install_legacy_module(true, 2).await,
            Gate::LegacyShips => {
                t.config("SHOPPING_FLUX_STATUS_SHIPPED", "checked", None, None)
                    .await
            }
            Gate::LegacyCancelsAtShopLevel => {
                t.multistore().await;
                t.config("SHOPPING_FLUX_STATUS_CANCELED", "checked", Some(1), None)
                    .await
            }
        }
        let id = t.order(state::CANCELED, true).await;
        assert_eq!(
            hook(&t, id, state::CANCELED).await,
            HookOutcome::Unavailable(expected.clone()),
            "{gate:?}"
        );
        assert!(t.all_tasks().await.is_empty(), "{gate:?}");
        let logs = t.log_rows(None).await;
        assert_eq!(logs.len(), 1, "{gate:?}: {logs:?}");
        let log = &logs[0];
        assert_eq!(log.level, "error", "{gate:?}");
        assert!(log.msg.contains(why), "{gate:?}: {}", log.msg);
        assert_eq!(
            log.msg,
            format!(
                "[Order: {id}] Order not registered for synchronization; {}",
                expected.message(1)
            ),
            "{gate:?}"
        );
        assert!(log.msg.contains("shop 1"), "{gate:?}: {}", log.msg);
        assert_eq!(
            (log.object_name.as_str(), log.object_id),
            ("Order", Some(id))
        );
        assert_eq!(log.name, "default");
        t.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmapped_states_and_non_shopping_feed_orders_do_nothing_silently() {
    let t = TestDb::available().await;
    let id = t.order(state::PAYMENT_ACCEPTED, true).await;
    assert_eq!(
        hook(&t, id, state::PAYMENT_ACCEPTED).await,
        HookOutcome::UnmappedState(state::PAYMENT_ACCEPTED)
    );
    let plain = t
        .order_with(OrderSpec {
            sf_linked: false,
            module: "ps_checkpayment".into(),
            ..OrderSpec::new(state::SHIPPED)
        })
        .await;
    assert_eq!(
        hook(&t, plain, state::SHIPPED).await,
        HookOutcome::NotShoppingFeedOrder
    );
    // An unlinked sfpayment order is not a Shopping Feed order for the hook either.
    let unlinked = t.order(state::SHIPPED, false).await;
    assert_eq!(
        hook(&t, unlinked, state::SHIPPED).await,
        HookOutcome::NotShoppingFeedOrder
    );
    // Gates closed: a non-SF order still logs nothing.
    t.config("SHOPPINGFEED_ORDER_SYNC_ENABLED", "0", None, None)
        .await;
    assert_eq!(
        hook(&t, plain, state::SHIPPED).await,
        HookOutcome::NotShoppingFeedOrder
    );
    assert!(t.all_tasks().await.is_empty());
    assert_eq!(t.logs(None).await, vec![]);
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_new_state_the_current_state_is_used() {
    let t = TestDb::available().await;
    let cancelled = t.order(state::CANCELED, true).await;
    assert_eq!(
        hook::on_order_status_update(&t.db, cancelled, None)
            .await
            .unwrap(),
        HookOutcome::Queued { delay_minutes: 0 }
    );
    let paid = t.order(state::PAYMENT_ACCEPTED, true).await;
    assert_eq!(
        hook::on_order_status_update(&t.db, paid, None)
            .await
            .unwrap(),
        HookOutcome::UnmappedState(state::PAYMENT_ACCEPTED)
    );
    // The hook's new state wins over the stored one.
    assert_eq!(
        hook(&t, paid, state::SHIPPED).await,
        HookOutcome::Queued { delay_minutes: 5 }
    );
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_list_is_logged_and_the_other_lists_still_work() {
    let t = TestDb::available().await;
    t.config("SHOPPINGFEED_SHIPPED_ORDERS", r#"["4","#, None, None)
        .await;
    let a = t.order(state::SHIPPED, true).await;
    assert_eq!(
        hook(&t, a, state::SHIPPED).await,
        HookOutcome::UnmappedState(state::SHIPPED)
    );
    assert!(t.tasks(a).await.is_empty());
    let errors = t.logs(Some("error")).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].0.starts_with(&format!("[Order: {a}] ")),
        "{errors:?}"
    );
    assert!(
        errors[0].0.contains("SHOPPINGFEED_SHIPPED_ORDERS"),
        "{errors:?}"
    );
    assert_eq!((errors[0].2.as_str(), errors[0].3), ("Order", Some(a)));

    let b = t.order(state::CANCELED, true).await;
    assert_eq!(
        hook(&t, b, state::CANCELED).await,
        HookOutcome::Queued { delay_minutes: 0 }
    );
    let refunded = t.order(state::REFUNDED, true).await;
    assert_eq!(
        hook(&t, refunded, state::REFUNDED).await,
        HookOutcome::Queued { delay_minutes: 0 }
    );
    // Every hook that reads the broken list says so, for its own order.
    let errors = t.logs(Some("error")).await;
    let ids: Vec<Option<u32>> = errors.iter().map(|e| e.3).collect();
    assert_eq!(ids, vec![Some(a), Some(b), Some(refunded)]);
    assert!(errors
        .iter()
        .all(|e| e.0.contains("SHOPPINGFEED_SHIPPED_ORDERS")));
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_order_logs_an_error() {
    let t = TestDb::available().await;
    assert_eq!(
        hook(&t, 999_999, state::SHIPPED).await,
        HookOutcome::UnknownOrder
    );
    assert_eq!(
        t.logs(None).await,
        vec![(
            "[Order: 999999] Order not registered for synchronization; Order could not be loaded."
                .to_string(),
            "error".to_string(),
            "Order".to_string(),
            Some(999_999)
        )]
    );
    assert!(t.all_tasks().await.is_empty());
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_is_taken_from_the_legacy_message_when_missing() {
    let t = TestDb::available().await;
    let id = t
        .order_with(OrderSpec {
            no_reference: true,
            ..OrderSpec::new(state::CANCELED)
        })
        .await;
    assert_eq!(
        hook(&t, id, state::CANCELED).await,
        HookOutcome::NoReference
    );
    assert!(t.tasks(id).await.is_empty());
    assert_eq!(
        t.logs(Some("error")).await,
        vec![(
            format!("[Order: {id}] Could not retrieve SF Order reference."),
            "error".to_string(),
            "Order".to_string(),
            Some(id)
        )]
    );
    t.message(id, "Commande importée").await;
    t.message(id, "Numéro de commande Amazon :402-555").await;
    t.message(id, "Numéro de commande Amazon :402-999").await;
    assert_eq!(
        hook(&t, id, state::CANCELED).await,
        HookOutcome::Queued { delay_minutes: 0 }
    );
    assert_eq!(
        t.sf_order(id).await,
        Some(("Amazon".to_string(), Some("402-555".to_string()), None))
    );
    assert_eq!(t.tasks(id).await.len(), 1);

    // The Shopping Feed id alone identifies the order: no message needed, nothing rewritten.
    let internal = t
        .order_with(OrderSpec {
            no_reference: true,
            ..OrderSpec::new(state::CANCELED)
        })
        .await;
    t.exec_params(
        "UPDATE PREFIX_shoppingfeed_order SET id_internal_shoppingfeed = 'SF-77' WHERE id_order = ?",
        (internal,),
    )
    .await;
    assert_eq!(
        hook(&t, internal, state::CANCELED).await,
        HookOutcome::Queued { delay_minutes: 0 }
    );
    assert_eq!(
        t.sf_order(internal).await,
        Some(("Amazon".to_string(), None, Some("SF-77".to_string())))
    );
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_metacharacters_in_data_are_stored_verbatim() {
    let t = TestDb::available().await;
    let reference = "x'); DROP TABLE ps_orders; -- \"`\\";
    let id = t
        .order_with(OrderSpec {
            no_reference: true,
            payment: "Amazon'; --".into(),
            ..OrderSpec::new(state::CANCELED)
        })
        .await;
    t.message(id, &format!("Numéro de commande Amazon :{reference}"))
        .await;
    assert_eq!(
        hook(&t, id, state::CANCELED).await,
        HookOutcome::Queued { delay_minutes: 0 }
    );
    assert_eq!(
        t.sf_order(id).await,
        Some(("Amazon'; --".to_string(), Some(reference.to_string()), None))
    );
    assert_eq!(
        t.scalar::<i64>("SELECT COUNT(*) FROM PREFIX_orders", ())
            .await,
        1
    );
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_rows_are_written_as_the_reference_writes_them() {
    let t = TestDb::available().await;
    let id = t.order(state::CANCELED, true).await;
    hook(&t, id, state::CANCELED).await;
    let logs = t.log_rows(None).await;
    let got: Vec<LogView> = logs
        .iter()
        .map(|l| {
            (
                l.name.as_str(),
                l.msg.as_str(),
                l.level.as_str(),
                l.object_name.as_str(),
                l.object_id,
            )
        })
        .collect();
    let started = format!("[Order: {id}] Process started Order {id}");
    let registered =
        format!("[Order: {id}] Order registered for synchronization; action SYNC_STATUS");
    assert_eq!(
        got,
        vec![
            ("default", started.as_str(), "info", "Order", Some(id)),
            ("default", registered.as_str(), "success", "Order", Some(id)),
        ]
    );
    // date_add is set, and the session column is left empty.
    let undated: i64 = t
        .scalar(
            "SELECT COUNT(*) FROM PREFIX_shoppingfeed_processlogger \
             WHERE date_add IS NULL OR ABS(TIMESTAMPDIFF(SECOND, date_add, NOW())) > 60 OR id_session IS NOT NULL",
            (),
        )
        .await;
    assert_eq!(undated, 0);
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_order_links_sfpayment_orders_only() {
    let t = TestDb::available().await;
    let id = t
        .order_with(OrderSpec {
            sf_linked: false,
            payment: "Cdiscount".into(),
            ..OrderSpec::new(state::PAYMENT_ACCEPTED)
        })
        .await;
    t.message(id, "Numéro de commande Cdiscount :CD-9").await;
    assert_eq!(
        hook::save_order(&t.db, id).await.unwrap(),
        SaveOrderOutcome::Saved
    );
    assert_eq!(
        hook::save_order(&t.db, id).await.unwrap(),
        SaveOrderOutcome::AlreadySaved
    );
    assert_eq!(
        t.sf_order(id).await,
        Some(("Cdiscount".to_string(), Some("CD-9".to_string()), None))
    );
    assert_eq!(
        t.logs(None).await,
        vec![
            (
                format!("[Order: {id}] Start import Order {id}"),
                "info".to_string(),
                "Order".to_string(),
                Some(id)
            ),
            (
                format!("[Order: {id}] SF Order successfully saved"),
                "success".to_string(),
                "Order".to_string(),
                Some(id)
            ),
        ]
    );

    // Without the legacy message yet: linked without a reference (the hook fills it in later).
    let early = t
        .order_with(OrderSpec {
            sf_linked: false,
            ..OrderSpec::new(state::PAYMENT_ACCEPTED)
        })
        .await;
    assert_eq!(
        hook::save_order(&t.db, early).await.unwrap(),
        SaveOrderOutcome::Saved
    );
    assert_eq!(
        t.sf_order(early).await,
        Some(("Amazon".to_string(), None, None))
    );

    let plain = t
        .order_with(OrderSpec {
            sf_linked: false,
            module: "ps_wirepayment".into(),
            ..OrderSpec::new(state::PAYMENT_ACCEPTED)
        })
        .await;
    assert_eq!(
        hook::save_order(&t.db, plain).await.unwrap(),
        SaveOrderOutcome::NotShoppingFeedOrder
    );
    assert_eq!(t.sf_order(plain).await, None);

    let logs_before = t.logs(None).await.len();
    assert_eq!(
        hook::save_order(&t.db, 888_888).await.unwrap(),
        SaveOrderOutcome::UnknownOrder
    );
    let logs = t.logs(None).await;
    assert_eq!(logs.len(), logs_before + 1);
    assert_eq!(
        logs.last().cloned(),
        Some((
            "[Order: 888888] SF Order not imported; Order could not be loaded.".to_string(),
            "error".to_string(),
            "Order".to_string(),
            Some(888_888)
        ))
    );

    assert!(t.all_tasks().await.is_empty(), "save_order queues nothing");
    t.drop_db().await;
}

/// An order validated while the gate is closed is linked anyway, with an ERROR saying its statuses
/// are not synchronized; its mapped status changes while closed each log an ERROR (nothing
/// queued), unmapped ones nothing; once the gate opens, its next status change is queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_validated_while_the_gate_is_closed_is_synchronized_once_it_opens() {
    for gate in [Gate::Disabled, Gate::LegacyMissing, Gate::LegacyShips] {
        let t = TestDb::available().await;
        let expected = match gate {
            Gate::Disabled => {
                t.config("SHOPPINGFEED_ORDER_SYNC_ENABLED", "0", None, None)
                    .await;
                Unavailable::Disabled
            }
            Gate::LegacyMissing => {
                t.uninstall_legacy_module().await;
                Unavailable::LegacyNotInstalled
            }
            _ => {
                t.config("SHOPPING_FLUX_STATUS_SHIPPED", "checked", None, None)
                    .await;
                Unavailable::LegacySyncsOrders
            }
        };
        let id = t
            .order_with(OrderSpec {
                sf_linked: false,
                ..OrderSpec::new(state::PAYMENT_ACCEPTED)
            })
            .await;
        t.message(id, "Numéro de commande Amazon :AMZ-1").await;
        assert_eq!(
            hook::save_order(&t.db, id).await.unwrap(),
            SaveOrderOutcome::Saved,
            "{gate:?}"
        );
        assert_eq!(
            t.sf_order(id).await,
            Some(("Amazon".to_string(), Some("AMZ-1".to_string()), None)),
            "{gate:?}: linked while the gate is closed"
        );
        let errors = t.logs(Some("error")).await;
        assert_eq!(
            errors,
            vec![(
                format!(
                    "[Order: {id}] SF Order successfully saved, but its status changes are not synchronized; {}",
                    expected.message(1)
                ),
                "error".to_string(),
                "Order".to_string(),
                Some(id)
            )],
            "{gate:?}"
        );
        assert!(t.logs(Some("success")).await.is_empty(), "{gate:?}");

        // Unmapped state while closed: nothing to synchronize, nothing logged.
        assert_eq!(
            hook(&t, id, state::PAYMENT_ACCEPTED).await,
            HookOutcome::UnmappedState(state::PAYMENT_ACCEPTED),
            "{gate:?}"
        );
        assert_eq!(t.logs(Some("error")).await.len(), 1, "{gate:?}");
        // Mapped state while closed: not queued, and the merchant is told why.
        assert_eq!(
            hook(&t, id, state::SHIPPED).await,
            HookOutcome::Unavailable(expected.clone()),
            "{gate:?}"
        );
        assert!(t.all_tasks().await.is_empty(), "{gate:?}");
        let last = t.logs(Some("error")).await.pop().unwrap();
        assert_eq!(
            last.0,
            format!(
                "[Order: {id}] Order not registered for synchronization; {}",
                expected.message(1)
            ),
            "{gate:?}"
        );

        // The gate opens: the order's next change is queued.
        match gate {
            Gate::Disabled => {
                t.config("SHOPPINGFEED_ORDER_SYNC_ENABLED", "1", None, None)
                    .await
            }
            Gate::LegacyMissing => t.install_legacy_module(true, 1).await,
            _ => {
                t.config("SHOPPING_FLUX_STATUS_SHIPPED", "", None, None)
                    .await
            }
        }
        assert!(
            matches!(
                hook(&t, id, state::CANCELED).await,
                HookOutcome::Queued { .. }
            ),
            "{gate:?}"
        );
        assert_eq!(t.all_tasks().await.len(), 1, "{gate:?}");
        t.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pools_upserting_the_same_orders_keep_one_pending_task_each() {
    const WORKERS: usize = 8;
    const ORDERS: usize = 20;
    let t = TestDb::available().await;
    let mut ids = Vec::with_capacity(ORDERS);
    for _ in 0..ORDERS {
        ids.push(t.order(state::CANCELED, true).await);
    }
    let mut handles = Vec::new();
    for w in 0..WORKERS {
        // A pool of its own per worker: what eight PHP-FPM processes have.
        let db: Db = t.new_db();
        let ids = ids.clone();
        handles.push(tokio::spawn(async move {
            let mut outcomes = Vec::with_capacity(ids.len());
            for n in 0..ids.len() {
                // Each worker starts at a different order, so they collide on every order.
                let id = ids[(n + w) % ids.len()];
                let st = if (n + w) % 2 == 0 {
                    state::CANCELED
                } else {
                    state::REFUNDED
                };
                let outcome = hook::on_order_status_update(&db, id, Some(st)).await;
                outcomes.push((id, outcome.map_err(|e| e.to_string())));
            }
            db.disconnect().await;
            outcomes
        }));
    }
    let mut inserted = std::collections::HashMap::<u32, usize>::new();
    let mut failures = Vec::new();
    for h in handles {
        for (id, outcome) in h.await.unwrap() {
            match outcome {
                Ok(HookOutcome::Queued { delay_minutes: 0 }) => {
                    *inserted.entry(id).or_default() += 1
                }
                Ok(HookOutcome::Rearmed { delay_minutes: 0 }) => {}
                other => failures.push((id, other)),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "hooks that did not queue: {failures:?}"
    );
    assert_eq!(
        inserted.len(),
        ORDERS,
        "every order inserted once: {inserted:?}"
    );
    assert!(inserted.values().all(|n| *n == 1), "{inserted:?}");

    let pending: Vec<(u32, i64)> = t
        .query(
            "SELECT id_order, COUNT(*) FROM PREFIX_shoppingfeed_task_order \
             WHERE action = 'SYNC_STATUS' GROUP BY id_order ORDER BY id_order",
            (),
        )
        .await;
    let mut expected: Vec<(u32, i64)> = ids.iter().map(|id| (*id, 1)).collect();
    expected.sort();
    assert_eq!(pending, expected);
    assert_eq!(t.all_tasks().await.len(), ORDERS);
    // Two log rows per hook call, none of them an error.
    assert_eq!(t.logs(None).await.len(), WORKERS * ORDERS * 2);
    assert!(t.logs(Some("error")).await.is_empty());
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_table_prefix_is_used_everywhere() {
    let t = TestDb::create_with_prefix("shop2_").await;
    assert_eq!(t.prefix, TablePrefix::new("shop2_").unwrap());
    t.reset_shop_available().await;
    let tables: Vec<String> = t.query("SHOW TABLES", ()).await;
    assert!(
        !tables.is_empty() && tables.iter().all(|n| n.starts_with("shop2_")),
        "{tables:?}"
    );
    assert!(tables.contains(&"shop2_shoppingfeed_task_order".to_string()));

    let db = Db::new(&t.url, &TablePrefix::new("shop2_").unwrap());
    let id = t.order(state::SHIPPED, true).await;
    assert_eq!(
        hook::on_order_status_update(&db, id, Some(state::SHIPPED))
            .await
            .unwrap(),
        HookOutcome::Queued { delay_minutes: 5 }
    );
    let n: i64 = t
        .scalar(
            "SELECT COUNT(*) FROM shop2_shoppingfeed_task_order WHERE id_order = ? AND action = 'SYNC_STATUS'",
            (id,),
        )
        .await;
    assert_eq!(n, 1);
    let logged: i64 = t
        .scalar(
            "SELECT COUNT(*) FROM shop2_shoppingfeed_processlogger WHERE object_id = ?",
            (id,),
        )
        .await;
    assert_eq!(logged, 2);
    let unlinked = t
        .order_with(OrderSpec {
            sf_linked: false,
            ..OrderSpec::new(state::PAYMENT_ACCEPTED)
        })
        .await;
    assert_eq!(
        hook::save_order(&db, unlinked).await.unwrap(),
        SaveOrderOutcome::Saved
    );
    assert!(t.sf_order(unlinked).await.is_some());

    // The default prefix finds no table here: the prefix really is what the SQL uses.
    let wrong = Db::new(&t.url, &TablePrefix::default());
    let err = hook::on_order_status_update(&wrong, id, Some(state::SHIPPED))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("ps_orders"), "{err}");
    wrong.disconnect().await;
    db.disconnect().await;
    t.drop_db().await;
}
