//! The process pool's connections run in the shop's `PS_TIMEZONE` (issue 21 item 4): the offset
//! of the instant, the pool made again when it changes (DST), the same pool while it does not,
//! the zone read again after an hour.

mod common;

use chrono::TimeZone;
use common::TestDb;
use mysql_async::prelude::Queryable;
use shoppingfeed_sync::config::Settings;
use shoppingfeed_sync::db::Db;
use shoppingfeed_sync::runtime;

/// The session `time_zone` of a connection of `db`, through the process runtime.
fn session_zone(db: &Db) -> String {
    runtime::block_on(async {
        let mut conn = db.conn().await.expect("connection");
        let zone: Option<String> = conn
            .query_first("SELECT @@session.time_zone")
            .await
            .expect("time_zone");
        zone.expect("a value")
    })
    .expect("runtime")
}

#[test]
fn the_pool_follows_the_shops_zone_and_its_dst() {
    let setup = tokio::runtime::Runtime::new().expect("setup runtime");
    let t = setup.block_on(TestDb::create());
    setup.block_on(t.config("PS_TIMEZONE", "Europe/Paris", None, None));
    let settings = Settings {
        database_url: t.url.clone(),
        table_prefix: t.prefix.clone(),
        ..Settings::default()
    };
    let winter = chrono::Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap();
    let summer = chrono::Utc.with_ymd_and_hms(2026, 7, 15, 12, 0, 0).unwrap();

    let first = runtime::db_at(&settings, winter).expect("pool");
    assert_eq!(session_zone(&first), "+01:00");
    let same = runtime::db_at(&settings, winter).expect("pool");
    assert!(same.same_target(&first));
    assert!(
        std::sync::Arc::ptr_eq(&same.pool_metrics(), &first.pool_metrics()),
        "the same pool while the offset is unchanged"
    );
    let after_dst = runtime::db_at(&settings, summer).expect("pool");
    assert!(!std::sync::Arc::ptr_eq(
        &after_dst.pool_metrics(),
        &first.pool_metrics()
    ));
    assert_eq!(session_zone(&after_dst), "+02:00");
    // NOW() is then the shop's time: two hours ahead of UTC in summer.
    let ahead: Option<i64> = runtime::block_on(async {
        let mut conn = after_dst.conn().await.expect("connection");
        conn.query_first("SELECT TIMESTAMPDIFF(MINUTE, UTC_TIMESTAMP(), NOW())")
            .await
            .expect("now")
    })
    .expect("runtime");
    assert_eq!(ahead, Some(120));

    // The merchant changes the shop's zone: a running process follows within the hour (one
    // read per hour), not at once.
    setup.block_on(t.config("PS_TIMEZONE", "Asia/Tokyo", None, None));
    let later = summer + chrono::Duration::minutes(30);
    let cached = runtime::db_at(&settings, later).expect("pool");
    assert!(std::sync::Arc::ptr_eq(
        &cached.pool_metrics(),
        &after_dst.pool_metrics()
    ));
    assert_eq!(
        session_zone(&cached),
        "+02:00",
        "read less than an hour ago"
    );
    let next_hour = summer + chrono::Duration::minutes(61);
    let tokyo = runtime::db_at(&settings, next_hour).expect("pool");
    assert_eq!(session_zone(&tokyo), "+09:00", "read again after an hour");
    drop((first, same, after_dst, cached, tokyo));
    setup.block_on(t.drop_db());
}
