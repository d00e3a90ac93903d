//! The queue on a MariaDB Galera cluster (`./dev db start --galera`): the guarantees it relies on
//! there. `SFSYNC_TEST_DATABASE_URL` points at node 1 and `SFSYNC_TEST_GALERA=1` says the server
//! is a cluster whose nodes 2 and 3 listen on the next two ports (`./dev test` starts it and runs
//! this file so). Without `SFSYNC_TEST_GALERA`, the first test checks that the crate sees a plain
//! server as one, and the others say they did not run.

mod common;

use common::{state, OrderSpec, TestDb};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};
use shoppingfeed_sync::db::retry::LockRetry;
use shoppingfeed_sync::db::Db;
use shoppingfeed_sync::error::DbResultExt;
use shoppingfeed_sync::model::TaskKind;
use shoppingfeed_sync::queue::{self, claim_due, TaskScope};
use std::collections::BTreeSet;

fn galera() -> bool {
    std::env::var("SFSYNC_TEST_GALERA").is_ok_and(|v| v == "1")
}

/// The crate's pool on node `n` (1-3) of the test database.
fn node_db(t: &TestDb, n: u16) -> Db {
    let mut url = t.url.clone();
    url.port += n - 1;
    Db::new(&url, &t.prefix)
}

/// A plain connection to node `n`, without the crate's session settings.
async fn raw_conn(t: &TestDb, n: u16) -> Conn {
    let opts = OptsBuilder::default()
        .user(Some(t.url.user.clone()))
        .pass(t.url.password.clone())
        .db_name(Some(t.name.clone()))
        .ip_or_hostname(t.url.host.clone())
        .tcp_port(t.url.port + n - 1)
        .prefer_socket(false);
    Conn::new(Opts::from(opts)).await.expect("node connection")
}

async fn due_task(t: &TestDb) -> (u32, u32) {
    let id_order = t.order_with(OrderSpec::new(state::SHIPPED)).await;
    let id_task = t
        .exec_params(
            "INSERT INTO PREFIX_shoppingfeed_task_order (action, id_order, update_at, date_add, date_upd) \
             VALUES ('SYNC_STATUS', ?, NOW() - INTERVAL 1 MINUTE, NOW(), NOW())",
            (id_order,),
        )
        .await;
    (u32::try_from(id_task).expect("task id"), id_order)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_on_a_galera_node_wait_for_the_clusters_writes_and_only_there() {
    let t = TestDb::create().await;
    let mut conn = t.db.conn().await.expect("connection");
    let wait: i64 = conn
        .query_first("SELECT IFNULL(@@wsrep_sync_wait, 0)")
        .await
        .ok()
        .flatten()
        // MySQL has no such variable: nothing to wait for there.
        .unwrap_or(0);
    drop(conn);
    if galera() {
        assert_eq!(t.db.is_galera(), Some(true));
        assert_eq!(wait, 1, "a session on a Galera node reads causally");
    } else {
        assert_eq!(t.db.is_galera(), Some(false));
        assert_eq!(wait, 0, "a plain server's session is left as it is");
    }
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certification_failure_at_commit_is_a_lock_conflict_the_queue_retries() {
    if !galera() {
        println!("SFSYNC_TEST_GALERA is not 1: not run");
        return;
    }
    let t = TestDb::available().await;
    let (id_task, _) = due_task(&t).await;
    let mut a = raw_conn(&t, 1).await;
    let mut b = raw_conn(&t, 2).await;
    let update = format!(
        "UPDATE {} SET lease_owner = ? WHERE id_shoppingfeed_task_order = ?",
        t.t("shoppingfeed_task_order")
    );
    a.query_drop("BEGIN").await.expect("begin");
    a.exec_drop(update.as_str(), ("node1", id_task))
        .await
        .expect("the statement succeeds on node 1");
    // Node 2 commits a write of the same row first: node 1's transaction loses at COMMIT.
    b.exec_drop(update.as_str(), ("node2", id_task))
        .await
        .expect("node 2 commits");
    let commit = a.query_drop("COMMIT").await.ctx("committing");
    let e = commit.expect_err("node 1's commit fails certification");
    assert!(e.is_lock_conflict(), "{e}");
    assert!(LockRetry::default().wants(&e));
    assert!(LockRetry::deadlocks_only().wants(&e));
    let owner: Option<String> = t
        .query_one(
            "SELECT lease_owner FROM PREFIX_shoppingfeed_task_order WHERE id_shoppingfeed_task_order = ?",
            (id_task,),
        )
        .await;
    assert_eq!(owner.as_deref(), Some("node2"));
    drop((a, b));
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_on_three_nodes_never_lease_one_task_twice() {
    if !galera() {
        println!("SFSYNC_TEST_GALERA is not 1: not run");
        return;
    }
    let t = TestDb::available().await;
    let mut all = BTreeSet::new();
    for _ in 0..300 {
        all.insert(due_task(&t).await.0);
    }
    let mut claimers = Vec::new();
    for c in 0..6u16 {
        let db = node_db(&t, c % 3 + 1);
        claimers.push(tokio::spawn(async move {
            let owner = format!("claimer-{c}");
            let mut mine = Vec::new();
            let mut conn = db.conn().await.expect("connection");
            let mut conflicts = 0;
            loop {
                match claim_due(
                    &db,
                    &mut conn,
                    TaskKind::Status,
                    TaskScope::first(1, 0),
                    &owner,
                    600,
                    10,
                )
                .await
                {
                    Ok(ids) if ids.is_empty() => break,
                    Ok(ids) => mine.extend(ids),
                    // Retries ran out under heavy contention: the CRON's run would end here.
                    Err(e) if e.is_lock_conflict() && conflicts < 50 => conflicts += 1,
                    Err(e) => panic!("claim failed: {e}"),
                }
            }
            drop(conn);
            db.disconnect().await;
            (owner, mine)
        }));
    }
    let mut seen = BTreeSet::new();
    for c in claimers {
        let (owner, mine) = c.await.expect("claimer");
        for id in mine {
            assert!(seen.insert(id), "task {id} leased twice");
            let held: Option<String> = t
                .query_one(
                    "SELECT lease_owner FROM PREFIX_shoppingfeed_task_order WHERE id_shoppingfeed_task_order = ?",
                    (id,),
                )
                .await;
            assert_eq!(held.as_deref(), Some(owner.as_str()), "task {id}");
        }
    }
    assert_eq!(seen, all, "every due task leased once");
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_queued_on_one_node_is_seen_at_once_on_another() {
    if !galera() {
        println!("SFSYNC_TEST_GALERA is not 1: not run");
        return;
    }
    let t = TestDb::available().await;
    let (one, two) = (node_db(&t, 1), node_db(&t, 2));
    let mut c1 = one.conn().await.expect("node 1");
    let mut c2 = two.conn().await.expect("node 2");
    for _ in 0..200 {
        let id_order = t.order_with(OrderSpec::new(state::SHIPPED)).await;
        queue::enqueue_status(&one, &mut c1, id_order, 0)
            .await
            .expect("queued on node 1");
        assert!(
            queue::has_pending_status(&two, &mut c2, id_order)
                .await
                .expect("read on node 2"),
            "order {id_order} queued on node 1 and not seen on node 2"
        );
    }
    drop((c1, c2));
    one.disconnect().await;
    two.disconnect().await;
    t.drop_db().await;
}
