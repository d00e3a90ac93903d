//! The CRON's claim of due tasks (`queue::claim_due`) on the real test server: which tasks it
//! takes, and that concurrent claims never lease one task twice. The claim must work on servers
//! without `SKIP LOCKED` (MySQL 5.7, MariaDB < 10.6): `./dev test` runs this file on such a
//! server too, with `SFSYNC_TEST_NO_SKIP_LOCKED=1`, which the first test checks.

mod common;

use common::{state, OrderSpec, TestDb};
use mysql_async::prelude::Queryable;
use shoppingfeed_sync::db::Db;
use shoppingfeed_sync::model::TaskKind;
use shoppingfeed_sync::queue::{claim_due, TaskScope};
use std::collections::{BTreeSet, HashMap};

const LEASE: u32 = 600;

/// A due SYNC_STATUS task for a new order of `id_shop`, due `ago` seconds ago.
async fn due_task(t: &TestDb, id_shop: u32, ago: i64) -> (u32, u32) {
    let id_order = t
        .order_with(OrderSpec {
            id_shop,
            ..OrderSpec::new(state::SHIPPED)
        })
        .await;
    let id_task = t
        .exec_params(
            "INSERT INTO PREFIX_shoppingfeed_task_order (action, id_order, update_at, date_add, date_upd) \
             VALUES ('SYNC_STATUS', ?, NOW() - INTERVAL ? SECOND, NOW(), NOW())",
            (id_order, ago),
        )
        .await;
    (u32::try_from(id_task).expect("task id"), id_order)
}

/// Claims with retries on a lost deadlock or lock wait, as the CRON does.
async fn claim(db: &Db, id_shop: u32, owner: &str, limit: usize) -> Vec<u32> {
    let mut conn = db.conn().await.expect("connection");
    for _ in 0..20 {
        match claim_due(
            db,
            &mut conn,
            TaskKind::Status,
            TaskScope::first(id_shop, 0),
            owner,
            LEASE,
            limit,
        )
        .await
        {
            Ok(ids) => return ids,
            Err(e) if e.is_lock_conflict() => continue,
            Err(e) => panic!("claim failed: {e}"),
        }
    }
    panic!("claim kept losing lock conflicts");
}

fn sorted(ids: &[u32]) -> Vec<u32> {
    let mut v = ids.to_vec();
    v.sort_unstable();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_claim_works_on_this_server_with_or_without_skip_locked() {
    let t = TestDb::create().await;
    t.reset_shop_available().await;
    let mut conn = t.conn().await;
    let version: String = conn
        .query_first("SELECT VERSION()")
        .await
        .expect("version")
        .expect("a version");
    let skip_locked = conn
        .query_drop("SELECT 1 FROM DUAL FOR UPDATE SKIP LOCKED")
        .await
        .is_ok();
    // A connection out of the pool would keep `drop_db` waiting.
    drop(conn);
    println!("server {version}: SKIP LOCKED available: {skip_locked}");
    // The server run without SKIP LOCKED must really lack it, or this file proves nothing there.
    if std::env::var("SFSYNC_TEST_NO_SKIP_LOCKED").as_deref() == Ok("1") {
        assert!(
            !skip_locked,
            "server {version} has SKIP LOCKED, yet SFSYNC_TEST_NO_SKIP_LOCKED=1"
        );
    }
    let (a, _) = due_task(&t, 1, 30).await;
    let (b, _) = due_task(&t, 1, 20).await;
    let ids = claim(&t.db, 1, "run-a", 10).await;
    assert_eq!(sorted(&ids), sorted(&[a, b]));
    for task in t.all_tasks().await {
        assert_eq!(task.lease_owner.as_deref(), Some("run-a"));
        let lease_in = task.lease_in.expect("a lease");
        assert!(
            (LEASE as i64 - 5..=LEASE as i64).contains(&lease_in),
            "{lease_in}"
        );
    }
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_claim_takes_the_oldest_due_unleased_tasks_of_the_shop_up_to_the_limit() {
    let t = TestDb::create().await;
    t.reset_shop_available().await;
    let (oldest, _) = due_task(&t, 1, 300).await;
    let (older, _) = due_task(&t, 1, 200).await;
    let (old, _) = due_task(&t, 1, 100).await;
    let (newest, _) = due_task(&t, 1, 10).await;
    let (other_shop, _) = due_task(&t, 2, 400).await;
    let (foreign, _) = due_task(&t, 1, 500).await;
    let (expired, _) = due_task(&t, 1, 50).await;
    let (future, _) = due_task(&t, 1, -3600).await;
    let (sent, _) = due_task(&t, 1, 600).await;
    t.exec_params(
        "UPDATE PREFIX_shoppingfeed_task_order SET lease_owner = 'other-run', lease_until = NOW() + INTERVAL 1 HOUR \
         WHERE id_shoppingfeed_task_order = ?",
        (foreign,),
    )
    .await;
    t.exec_params(
        "UPDATE PREFIX_shoppingfeed_task_order SET lease_owner = 'dead-run', lease_until = NOW() - INTERVAL 1 SECOND \
         WHERE id_shoppingfeed_task_order = ?",
        (expired,),
    )
    .await;
    t.exec_params(
        "UPDATE PREFIX_shoppingfeed_task_order SET action = 'CHECK_TICKET_SYNC_STATUS', batch_id = 'b1' \
         WHERE id_shoppingfeed_task_order = ?",
        (sent,),
    )
    .await;

    // Oldest first: the expired lease is taken over in its due order.
    let first = claim(&t.db, 1, "run-a", 3).await;
    assert_eq!(sorted(&first), sorted(&[oldest, older, old]));
    // The same owner's next page: only tasks not yet leased, though the first page still is.
    let second = claim(&t.db, 1, "run-a", 3).await;
    assert_eq!(sorted(&second), sorted(&[expired, newest]));
    assert!(claim(&t.db, 1, "run-a", 3).await.is_empty());

    let owners: HashMap<u32, Option<String>> = t
        .all_tasks()
        .await
        .into_iter()
        .map(|task| (task.id, task.lease_owner))
        .collect();
    for id in [oldest, older, old, expired, newest] {
        assert_eq!(owners[&id].as_deref(), Some("run-a"), "task {id}");
    }
    assert_eq!(owners[&foreign].as_deref(), Some("other-run"));
    for id in [other_shop, future, sent] {
        assert_eq!(owners[&id], None, "task {id}");
    }
    // The other shop's task is its own shop's to claim.
    assert_eq!(claim(&t.db, 2, "run-b", 10).await, vec![other_shop]);
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_claims_never_lease_a_task_twice() {
    const TASKS: usize = 400;
    const CLAIMERS: usize = 4;
    let t = TestDb::create().await;
    t.reset_shop_available().await;
    // Many tasks in one INSERT ... SELECT would be faster; one per order keeps the fixture plain.
    let mut all = BTreeSet::new();
    for i in 0..TASKS {
        let (id, _) = due_task(&t, 1, 1000 - i as i64).await;
        all.insert(id);
    }
    // Each claimer is another process's pool, claiming small pages until nothing is left.
    let mut runs = Vec::new();
    for c in 0..CLAIMERS {
        let db = t.new_db();
        runs.push(tokio::spawn(async move {
            let owner = format!("run-{c}");
            let mut got = Vec::new();
            loop {
                let ids = claim(&db, 1, &owner, 7).await;
                if ids.is_empty() {
                    break;
                }
                got.extend(ids);
            }
            db.disconnect().await;
            (owner, got)
        }));
    }
    let mut claimed_by: HashMap<u32, String> = HashMap::new();
    for run in runs {
        let (owner, got) = run.await.expect("claimer");
        for id in got {
            if let Some(first) = claimed_by.insert(id, owner.clone()) {
                panic!("task {id} leased by {first} and again by {owner}");
            }
        }
    }
    let claimed: BTreeSet<u32> = claimed_by.keys().copied().collect();
    assert_eq!(claimed, all, "every due task claimed exactly once");
    for task in t.all_tasks().await {
        assert_eq!(
            task.lease_owner.as_ref(),
            claimed_by.get(&task.id),
            "task {} is leased to the claimer that got it",
            task.id
        );
    }
    // While the leases are valid nobody gets anything more.
    assert!(claim(&t.db, 1, "late-run", 100).await.is_empty());
    t.drop_db().await;
}
