//! The CRON lock is per database *and* table prefix: two PrestaShop installs sharing one database
//! (prefixes `ps_` and `b_`) each run their CRON, while two runs of one install still exclude each
//! other (issue 22 item 7).

mod common;

use common::TestDb;
use mysql_async::prelude::Queryable;
use shoppingfeed_sync::config::TablePrefix;
use shoppingfeed_sync::db::Db;
use shoppingfeed_sync::engine::run_cron;

/// Takes `db`'s CRON lock on a connection of its own, as a run of another process holds it.
async fn hold_lock(t: &TestDb, db: &Db) -> mysql_async::Conn {
    let mut conn = t.conn().await;
    let got: Option<i64> = conn
        .query_first(db.sql().cron.try_lock.as_str())
        .await
        .expect("GET_LOCK")
        .flatten();
    assert_eq!(got, Some(1), "the lock was free");
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_installs_sharing_a_database_do_not_block_each_other() {
    let (t, sim) = common::cron_shop("lock-token", "0").await;
    let opts = common::cron_opts(&sim);
    let http = reqwest::Client::new();
    // The second install's tables in the same database.
    let mut conn = t.conn().await;
    common::load_fixtures(&mut conn, "b_").await;
    drop(conn);
    let other = Db::new(&t.url, &TablePrefix::new("b_").expect("prefix"));

    // The other install's run holds its lock: this install's run is not blocked.
    let mut held = hold_lock(&t, &other).await;
    let report = run_cron(&t.db, &http, &opts).await.expect("run");
    assert!(!report.locked, "blocked by the lock of the other prefix");

    // A run of the same install (same database, same prefix) is still excluded.
    let _: Option<Option<i64>> = held
        .query_first(other.sql().cron.release_lock.as_str())
        .await
        .expect("RELEASE_LOCK");
    let mut same = hold_lock(&t, &t.new_db()).await;
    let report = run_cron(&t.db, &http, &opts).await.expect("run");
    assert!(
        report.locked,
        "two runs of one install must exclude each other"
    );
    let _: Option<Option<i64>> = same
        .query_first(t.db.sql().cron.release_lock.as_str())
        .await
        .expect("RELEASE_LOCK");
    let report = run_cron(&t.db, &http, &opts).await.expect("run");
    assert!(!report.locked, "released");
    // The harness's pool waits for its connections before it disconnects.
    drop((held, same));
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_name_fits_mysql_57s_64_characters_for_the_longest_names() {
    let t = TestDb::create().await;
    let prefix = TablePrefix::new(&"p".repeat(32)).expect("prefix");
    let db = Db::new(&t.url, &prefix);
    // The statement's name expression, evaluated alone.
    let sql = db.sql().cron.try_lock.as_str();
    let start = sql.find("CONCAT(").expect("named by an expression");
    let end = sql.rfind(", 0)").expect("timeout 0");
    let name: Option<String> = t
        .conn()
        .await
        .query_first(format!("SELECT {}", &sql[start..end]))
        .await
        .expect("name");
    let name = name.expect("a name");
    assert!(name.len() <= 64, "{name}");
    assert!(name.starts_with("shoppingfeed:syncOrder:"), "{name}");
    t.drop_db().await;
}
