//! The hook in one round trip (`hook::call`): what it costs in statements once a shop's
//! configuration is known, and that the cached configuration is never used once the database
//! says otherwise, whoever changed it.

mod common;

use common::{state, OrderSpec, TestDb};
use mysql_async::prelude::Queryable;
use shoppingfeed_sync::db::logger::{ProcessLogger, DEFAULT_PROCESS};
use shoppingfeed_sync::db::Db;
use shoppingfeed_sync::hook::{self, HookOutcome};
use shoppingfeed_sync::shop::Unavailable;

/// The hook as the PHP glue runs it: the call, then the log rows it left (none when the
/// procedure wrote them) in a write of their own. Each connection is given time to go back to
/// the pool, so that a sequential caller keeps using one connection (see `questions`).
async fn hook(db: &Db, id_order: u32, new_state: u32) -> HookOutcome {
    let mut log = ProcessLogger::new(DEFAULT_PROCESS);
    let outcome = hook::queue_status_change(db, id_order, Some(new_state), &mut log).await;
    settle(db).await;
    log.flush_pooled(db).await.unwrap();
    settle(db).await;
    outcome.unwrap()
}

/// A dropped connection goes back to the pool asynchronously: waits until it is there, so that
/// the next caller takes it again instead of opening another.
async fn settle(db: &Db) {
    use std::sync::atomic::Ordering::Relaxed;
    let metrics = db.pool_metrics();
    for _ in 0..1000 {
        // `connections_in_use` drops at once; the connection is in the pool again only once the
        // pool's recycler has taken it back.
        let open = metrics.connection_count.load(Relaxed);
        if open > 0 && metrics.connections_in_pool.load(Relaxed) == open {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    panic!("a connection of the pool was not given back within 2 s");
}

/// `(connection id, Questions)` of the pool's connection: the pool keeps the one connection a
/// sequential caller uses, so two readings around a call count the statements it sent.
async fn questions(db: &Db) -> (u64, u64) {
    let mut conn = db.conn().await.unwrap();
    let id: Option<u64> = conn.query_first("SELECT CONNECTION_ID()").await.unwrap();
    let row: Option<(String, u64)> = conn
        .query_first("SHOW SESSION STATUS LIKE 'Questions'")
        .await
        .unwrap();
    drop(conn);
    settle(db).await;
    (id.unwrap(), row.unwrap().1)
}

/// Statements `f` sent to the database: the Questions counter (which leaves out the statements
/// run inside a procedure), minus what reading it costs.
async fn statements_of<F, T>(db: &Db, f: F) -> (u64, T)
where
    F: std::future::Future<Output = T>,
{
    let (id0, q0) = questions(db).await;
    let (id1, q1) = questions(db).await;
    let out = f.await;
    let (id2, q2) = questions(db).await;
    assert!(
        id0 == id1 && id1 == id2,
        "the pool changed connections ({id0}, {id1}, {id2}): the count would be wrong"
    );
    let reading = q1 - q0;
    (q2 - q1 - reading, out)
}

async fn procedure_exists(t: &TestDb, name: &str) -> bool {
    t.scalar::<u64>(
        "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_NAME = ?",
        (name,),
    )
    .await
        > 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_the_shop_is_known_a_status_change_is_one_statement() {
    let t = TestDb::available().await;
    let db = t.new_db();
    let name = db.sql().hook_call.name.clone();
    // The first change reads everything (full path) and learns the shop's configuration; the
    // second creates the procedure.
    let first = t.order(state::SHIPPED, true).await;
    assert_eq!(
        hook(&db, first, state::SHIPPED).await,
        HookOutcome::Queued { delay_minutes: 5 }
    );
    let second = t.order(state::SHIPPED, true).await;
    assert_eq!(
        hook(&db, second, state::SHIPPED).await,
        HookOutcome::Queued { delay_minutes: 5 }
    );
    assert!(procedure_exists(&t, &name).await, "{name} was not created");

    let third = t.order(state::CANCELED, true).await;
    let (n, outcome) = statements_of(&db, hook(&db, third, state::CANCELED)).await;
    assert_eq!(outcome, HookOutcome::Queued { delay_minutes: 0 });
    assert_eq!(n, 1, "a queued status");
    let (n, outcome) = statements_of(&db, hook(&db, third, state::SHIPPED)).await;
    assert_eq!(outcome, HookOutcome::Rearmed { delay_minutes: 5 });
    assert_eq!(n, 1, "a re-armed status");
    let tasks = t.tasks(third).await;
    assert_eq!(tasks.len(), 1, "one pending task");
    assert!(
        tasks[0].due_in.is_some_and(|s| (295..=305).contains(&s)),
        "re-armed with the shipped delay: {:?}",
        tasks[0].due_in
    );

    let other = t.order(state::SHIPPED, false).await;
    let (n, outcome) = statements_of(&db, hook(&db, other, state::SHIPPED)).await;
    assert_eq!(outcome, HookOutcome::NotShoppingFeedOrder);
    assert_eq!(n, 1, "an order that is not a Shopping Feed order");
    let (n, outcome) = statements_of(&db, hook(&db, third, state::PAYMENT_ERROR)).await;
    assert_eq!(outcome, HookOutcome::UnmappedState(state::PAYMENT_ERROR));
    assert_eq!(n, 1, "an unmapped state (read, nothing to write)");
    // An order that does not exist: the procedure finds none (a warning, not an error), then the
    // full path logs it.
    let missing = third + 100_000;
    assert_eq!(
        hook(&db, missing, state::SHIPPED).await,
        HookOutcome::UnknownOrder
    );
    let errors = t.logs(Some("error")).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].3, Some(missing));

    // The rows written inside the procedure are the full path's, word for word.
    let rows = |id: u32| {
        let t = &t;
        async move {
            t.query::<(String, String, String, String, Option<u32>)>(
                "SELECT name, msg, level, object_name, object_id FROM PREFIX_shoppingfeed_processlogger \
                 WHERE object_id = ? ORDER BY id_shoppingfeed_processlogger",
                (id,),
            )
            .await
            .into_iter()
            .map(|(n, m, l, o, i)| (n, m.replace(&id.to_string(), "N"), l, o, i.is_some()))
            .collect::<Vec<_>>()
        }
    };
    let (full, fast) = (rows(first).await, rows(third).await);
    assert_eq!(full.len(), 2, "{full:?}");
    assert_eq!(fast[..2], full[..], "first change of order {third}");
    assert_eq!(fast[2..], full[..], "re-arm of order {third}");
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_buffered_by_earlier_calls_are_written_first_and_the_log_keeps_their_order() {
    let t = TestDb::available().await;
    let db = t.new_db();
    for _ in 0..2 {
        let o = t.order(state::SHIPPED, true).await;
        hook(&db, o, state::SHIPPED).await;
    }
    // An earlier call of the request left a row (here: an unknown order's error) in the buffer
    // the caller passes to the next call, which the procedure queues.
    let mut log = ProcessLogger::new(DEFAULT_PROCESS);
    let unknown = hook::queue_status_change(&db, 999_999, Some(state::SHIPPED), &mut log)
        .await
        .unwrap();
    assert_eq!(unknown, HookOutcome::UnknownOrder);
    assert_eq!(log.len(), 1, "buffered");
    let o = t.order(state::CANCELED, true).await;
    let queued = hook::queue_status_change(&db, o, Some(state::CANCELED), &mut log)
        .await
        .unwrap();
    assert_eq!(queued, HookOutcome::Queued { delay_minutes: 0 });
    assert!(log.is_empty(), "written before the procedure's rows");
    let ids: Vec<(u32, Option<u32>)> = t
        .query(
            "SELECT id_shoppingfeed_processlogger, object_id FROM PREFIX_shoppingfeed_processlogger \
             WHERE object_id IN (?, ?) ORDER BY id_shoppingfeed_processlogger",
            (999_999u32, o),
        )
        .await;
    let objects: Vec<Option<u32>> = ids.into_iter().map(|(_, id)| id).collect();
    assert_eq!(objects, vec![Some(999_999), Some(o), Some(o)]);
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_by_anyone_is_seen_by_the_next_call() {
    let t = TestDb::available().await;
    let db = t.new_db();
    // Warm: the shop's configuration is cached and the procedure exists.
    for _ in 0..2 {
        let o = t.order(state::SHIPPED, true).await;
        assert_eq!(
            hook(&db, o, state::SHIPPED).await,
            HookOutcome::Queued { delay_minutes: 5 }
        );
    }
    let shipped = |expected: HookOutcome, why: &'static str| {
        let (t, db) = (&t, &db);
        async move {
            let o = t.order(state::SHIPPED, true).await;
            assert_eq!(hook(db, o, state::SHIPPED).await, expected, "{why}");
            o
        }
    };
    // Direct writes, as another module or a script would make them (same second as the cache).
    t.exec("UPDATE PREFIX_configuration SET value = '12' WHERE name = 'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT'")
        .await;
    shipped(HookOutcome::Queued { delay_minutes: 12 }, "a new delay").await;
    t.exec("UPDATE PREFIX_configuration SET value = '[\"5\"]' WHERE name = 'SHOPPINGFEED_SHIPPED_ORDERS'")
        .await;
    let o = shipped(
        HookOutcome::UnmappedState(state::SHIPPED),
        "no longer mapped",
    )
    .await;
    assert!(t.tasks(o).await.is_empty());
    t.exec("UPDATE PREFIX_configuration SET value = '[\"4\",\"5\"]' WHERE name = 'SHOPPINGFEED_SHIPPED_ORDERS'")
        .await;
    shipped(HookOutcome::Queued { delay_minutes: 12 }, "mapped again").await;
    // A shop-level row counts only with multistore on (a second shop and the switch)...
    t.config("SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT", "2", Some(1), None)
        .await;
    shipped(HookOutcome::Queued { delay_minutes: 12 }, "multistore off").await;
    t.exec(
        "INSERT INTO PREFIX_shop (id_shop, id_shop_group, name, color, id_category, theme_name, active, deleted) \
         VALUES (2, 1, 'Second', '', 2, 'classic', 1, 0)",
    )
    .await;
    shipped(
        HookOutcome::Queued { delay_minutes: 12 },
        "two shops, switch off",
    )
    .await;
    t.config("PS_MULTISHOP_FEATURE_ACTIVE", "1", None, None)
        .await;
    // ... and then hides the global one.
    shipped(HookOutcome::Queued { delay_minutes: 2 }, "a shop-level row").await;
    // Duplicated rows changed together (the table has no unique key) are seen too.
    t.exec(
        "INSERT INTO PREFIX_configuration (id_shop_group, id_shop, name, value, date_add, date_upd) \
         SELECT id_shop_group, id_shop, name, value, date_add, date_upd FROM PREFIX_configuration \
         WHERE name = 'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' AND id_shop = 1",
    )
    .await;
    shipped(HookOutcome::Queued { delay_minutes: 2 }, "a duplicate row").await;
    t.exec("UPDATE PREFIX_configuration SET value = '4' WHERE name = 'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' AND id_shop = 1")
        .await;
    shipped(
        HookOutcome::Queued { delay_minutes: 4 },
        "both duplicates changed",
    )
    .await;
    t.exec("UPDATE PREFIX_configuration SET value = '2' WHERE name = 'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' AND id_shop = 1")
        .await;
    shipped(
        HookOutcome::Queued { delay_minutes: 2 },
        "both changed back",
    )
    .await;
    // The gate, every way it closes; each time nothing is queued.
    t.exec("UPDATE PREFIX_module SET active = 0 WHERE name = 'shoppingfluxexport'")
        .await;
    let o = shipped(
        HookOutcome::Unavailable(Unavailable::LegacyInactive),
        "legacy module disabled",
    )
    .await;
    assert!(t.tasks(o).await.is_empty());
    t.exec("UPDATE PREFIX_module SET active = 1 WHERE name = 'shoppingfluxexport'")
        .await;
    shipped(
        HookOutcome::Queued { delay_minutes: 2 },
        "legacy module enabled",
    )
    .await;
    t.exec("DELETE FROM PREFIX_module_shop").await;
    shipped(
        HookOutcome::Unavailable(Unavailable::LegacyInactive),
        "legacy module off for the shop",
    )
    .await;
    t.install_legacy_module(true, 1).await;
    shipped(
        HookOutcome::Queued { delay_minutes: 2 },
        "legacy module back",
    )
    .await;
    t.exec("UPDATE PREFIX_configuration SET value = 'checked' WHERE name = 'SHOPPING_FLUX_STATUS_SHIPPED'")
        .await;
    shipped(
        HookOutcome::Unavailable(Unavailable::LegacySyncsOrders),
        "legacy shipment option on",
    )
    .await;
    t.exec(
        "UPDATE PREFIX_configuration SET value = '' WHERE name = 'SHOPPING_FLUX_STATUS_SHIPPED'",
    )
    .await;
    shipped(
        HookOutcome::Queued { delay_minutes: 2 },
        "legacy option off",
    )
    .await;
    t.exec("DELETE FROM PREFIX_configuration WHERE name = 'SHOPPINGFEED_ORDER_SYNC_ENABLED'")
        .await;
    shipped(
        HookOutcome::Unavailable(Unavailable::Disabled),
        "sync setting removed",
    )
    .await;
    assert_eq!(
        t.logs(Some("error")).await.len(),
        4,
        "one error per closed gate"
    );
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_of_two_shops_are_each_decided_with_their_own_configuration() {
    let t = TestDb::available().await;
    t.multistore().await;
    t.config("SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT", "3", Some(1), None)
        .await;
    t.exec_params(
        "INSERT INTO PREFIX_module_shop (id_module, id_shop) \
         SELECT id_module, ? FROM PREFIX_module WHERE name = 'shoppingfluxexport'",
        (2u32,),
    )
    .await;
    let db = t.new_db();
    let in_shop = |id_shop: u32| {
        let t = &t;
        async move {
            t.order_with(OrderSpec {
                id_shop,
                ..OrderSpec::new(state::SHIPPED)
            })
            .await
        }
    };
    for (shop, delay) in [(1, 3), (1, 3), (2, 5), (2, 5), (1, 3), (2, 5), (1, 3)] {
        let o = in_shop(shop).await;
        assert_eq!(
            hook(&db, o, state::SHIPPED).await,
            HookOutcome::Queued {
                delay_minutes: delay
            },
            "an order of shop {shop}"
        );
    }
    // Both shops known: an order of the other shop than the last costs a second call, the next
    // one of that shop one call again.
    for (shop, delay, statements) in [(2, 5, 2), (2, 5, 1), (1, 3, 2), (1, 3, 1)] {
        let o = in_shop(shop).await;
        let (n, outcome) = statements_of(&db, hook(&db, o, state::SHIPPED)).await;
        assert_eq!(
            outcome,
            HookOutcome::Queued {
                delay_minutes: delay
            },
            "an order of shop {shop}"
        );
        assert_eq!(n, statements, "an order of shop {shop}");
    }
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_usable_procedure_every_change_takes_the_full_path() {
    let t = TestDb::available().await;
    let db = t.new_db();
    let name = db.sql().hook_call.name.clone();
    // A restored dump whose procedure belongs to a user this server does not have: calling it
    // fails (1449), as it would for a user refused CREATE ROUTINE or EXECUTE.
    t.exec(&format!(
        "CREATE DEFINER = 'sfsync_gone'@'nowhere' PROCEDURE `{name}`(IN a INT, IN b INT, IN c INT, \
         IN d BIGINT, IN e BIGINT, IN s INT, IN f INT, IN g TEXT, IN h TEXT, IN i TEXT) SQL SECURITY DEFINER SELECT 1"
    ))
    .await;
    for s in [state::SHIPPED, state::SHIPPED, state::CANCELED] {
        let o = t.order(s, true).await;
        let expected = if s == state::SHIPPED { 5 } else { 0 };
        assert_eq!(
            hook(&db, o, s).await,
            HookOutcome::Queued {
                delay_minutes: expected
            }
        );
        assert_eq!(t.tasks(o).await.len(), 1);
    }
    // Refused once, not asked again: the full path's two statements (read, upsert) and the log.
    let o = t.order(state::SHIPPED, true).await;
    let (n, outcome) = statements_of(&db, hook(&db, o, state::SHIPPED)).await;
    assert_eq!(outcome, HookOutcome::Queued { delay_minutes: 5 });
    assert_eq!(n, 3, "read, upsert, log rows");
    assert!(t.logs(Some("error")).await.is_empty());

    // A dropped procedure is created again by the next process that needs it.
    t.exec(&format!("DROP PROCEDURE `{name}`")).await;
    let db2 = t.new_db();
    for _ in 0..2 {
        let o = t.order(state::SHIPPED, true).await;
        assert_eq!(
            hook(&db2, o, state::SHIPPED).await,
            HookOutcome::Queued { delay_minutes: 5 }
        );
    }
    assert!(procedure_exists(&t, &name).await);
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processes_creating_the_procedure_at_once_all_queue() {
    let t = TestDb::available().await;
    let dbs: Vec<Db> = (0..4).map(|_| t.new_db()).collect();
    // Each process learns the shop on its own first change...
    for db in &dbs {
        let o = t.order(state::SHIPPED, true).await;
        hook(db, o, state::SHIPPED).await;
    }
    // ...then all need the procedure at the same moment.
    let mut orders = Vec::new();
    for _ in &dbs {
        orders.push(t.order(state::SHIPPED, true).await);
    }
    let calls = dbs.iter().zip(&orders).map(|(db, &o)| {
        let db = db.clone();
        tokio::spawn(
            async move { hook::on_order_status_update(&db, o, Some(state::SHIPPED)).await },
        )
    });
    for (r, o) in join_all(calls).await.into_iter().zip(&orders) {
        assert_eq!(
            r.unwrap().unwrap(),
            HookOutcome::Queued { delay_minutes: 5 },
            "order {o}"
        );
        assert_eq!(t.tasks(*o).await.len(), 1);
    }
    t.drop_db().await;
}

async fn join_all<T>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await);
    }
    out
}

/// The procedure's two writes (the task, then its log rows) are one transaction: when the log
/// insert fails, the task is not re-armed either, the error reaches the caller, and the
/// connection goes back to the pool outside any transaction (the next call works).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_procedures_task_and_log_rows_are_written_together_or_not_at_all() {
    let t = TestDb::available().await;
    let db = t.new_db();
    // Learn the shop, create the procedure.
    for _ in 0..2 {
        let id = t.order(state::SHIPPED, true).await;
        hook(&db, id, state::SHIPPED).await;
    }
    let id = t.order(state::CANCELED, true).await;
    let (n, outcome) = statements_of(&db, hook(&db, id, state::CANCELED)).await;
    assert_eq!((n, outcome), (1, HookOutcome::Queued { delay_minutes: 0 }));
    let version: u32 = t
        .scalar(
            "SELECT version FROM PREFIX_shoppingfeed_task_order WHERE id_order = ?",
            (id,),
        )
        .await;
    let logs = t.logs(None).await.len();
    t.exec(
        "CREATE TRIGGER PREFIX_no_logs BEFORE INSERT ON PREFIX_shoppingfeed_processlogger \
         FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'log table refused'",
    )
    .await;
    let mut log = ProcessLogger::new(DEFAULT_PROCESS);
    let failed = hook::queue_status_change(&db, id, Some(state::SHIPPED), &mut log).await;
    assert!(failed.is_err(), "{failed:?}");
    settle(&db).await;
    let after: u32 = t
        .scalar(
            "SELECT version FROM PREFIX_shoppingfeed_task_order WHERE id_order = ?",
            (id,),
        )
        .await;
    assert_eq!(after, version, "the task was re-armed without its log rows");
    t.exec("DROP TRIGGER PREFIX_no_logs").await;
    // The same pooled connection: autocommit again, the next change is written and committed.
    assert_eq!(
        hook(&db, id, state::SHIPPED).await,
        HookOutcome::Rearmed { delay_minutes: 5 }
    );
    let in_tx: Option<i64> = {
        let mut conn = db.conn().await.unwrap();
        // (`@@in_transaction` is MariaDB's and MySQL 5.7's; this works on 5.6 too.)
        conn.query_first(
            "SELECT COUNT(*) FROM information_schema.innodb_trx \
             WHERE trx_mysql_thread_id = CONNECTION_ID()",
        )
        .await
        .unwrap()
    };
    assert_eq!(in_tx, Some(0));
    assert_eq!(t.logs(None).await.len(), logs + 2);
    let seen_elsewhere: u32 = t
        .scalar(
            "SELECT version FROM PREFIX_shoppingfeed_task_order WHERE id_order = ?",
            (id,),
        )
        .await;
    assert_eq!(
        seen_elsewhere,
        version + 1,
        "committed: another connection sees it"
    );
    drop(db);
    t.drop_db().await;
}
