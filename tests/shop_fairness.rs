//! One CRON run over several shops shares its budget (`run_budget`): a shop whose queue is long or
//! whose API is slow stops claiming after its share, so that the shops after it are served in
//! the same run (they came last in every run, and got nothing while the first shop had work).

mod common;

use common::{state, OrderSpec};
use serde_json::json;
use shoppingfeed_sync::engine::{run_cron, CronOptions};
use std::time::Duration;

const TOKEN: &str = "shop-fairness-token-0001";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_with_more_work_than_the_budget_does_not_starve_the_shops_after_it() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    t.multistore().await;
    t.exec(
        "INSERT INTO PREFIX_shop (id_shop, id_shop_group, name, color, id_category, theme_name, active, deleted) \
         VALUES (3, 1, 'Third', '', 2, 'classic', 1, 0); \
         INSERT INTO PREFIX_module_shop (id_module, id_shop) \
           SELECT id_module, s.id_shop FROM PREFIX_module, (SELECT 2 id_shop UNION SELECT 3) s \
           WHERE name = 'shoppingfluxexport'",
    )
    .await;
    // One order per request and a slow API: each shop's 120 tasks take about 4 s alone.
    t.config("SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS", "1", None, None)
        .await;
    for id_shop in 1..=3 {
        for _ in 0..120 {
            t.order_with(OrderSpec {
                id_shop,
                sf_linked: true,
                ..OrderSpec::new(state::CANCELED)
            })
            .await;
        }
    }
    t.exec(
        "INSERT INTO PREFIX_shoppingfeed_task_order (action, id_order, update_at, date_add, date_upd) \
         SELECT 'SYNC_STATUS', id_order, NOW() - INTERVAL 1 MINUTE, NOW(), NOW() FROM PREFIX_orders",
    )
    .await;
    reqwest::Client::new()
        .post(format!("{}/_sim/settings", sim.base_url()))
        .json(&json!({"route_latency": {"order_op": {"fixed": {"ms": 100}}}}))
        .send()
        .await
        .expect("simulator settings");
    let opts = CronOptions {
        concurrency: 2,
        run_budget: Duration::from_millis(2500),
        ..common::cron_opts(&sim)
    };
    let report = run_cron(&t.db, &reqwest::Client::new(), &opts)
        .await
        .expect("run");
    let sent: Vec<(u32, u32)> = report
        .shops
        .iter()
        .map(|s| (s.id_shop, s.statuses_sent))
        .collect();
    println!("sent per shop in one run of 2.5 s: {sent:?}");
    assert_eq!(sent.len(), 3, "{report:?}");
    for (id_shop, n) in &sent {
        assert!(*n > 0, "shop {id_shop} got nothing in the run: {sent:?}");
        assert!(
            *n < 120,
            "shop {id_shop} was not cut by the budget: {sent:?}"
        );
    }
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shop_whose_oldest_due_task_waited_longest_is_served_first() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    t.multistore().await;
    t.exec(
        "INSERT INTO PREFIX_shop (id_shop, id_shop_group, name, color, id_category, theme_name, active, deleted) \
         VALUES (3, 1, 'Third', '', 2, 'classic', 1, 0), (4, 1, 'Nothing due', '', 2, 'classic', 1, 0); \
         INSERT INTO PREFIX_module_shop (id_module, id_shop) \
           SELECT id_module, s.id_shop FROM PREFIX_module, (SELECT 2 id_shop UNION SELECT 3 UNION SELECT 4) s \
           WHERE name = 'shoppingfluxexport'",
    )
    .await;
    // Shop 3's task waited 30 minutes (a run's budget left it out), shop 2's 20, shop 1's 10.
    for (id_shop, minutes) in [(1, 10), (2, 20), (3, 30)] {
        let id_order = t
            .order_with(OrderSpec {
                id_shop,
                sf_linked: true,
                ..OrderSpec::new(state::CANCELED)
            })
            .await;
        t.exec_params(
            "INSERT INTO PREFIX_shoppingfeed_task_order (action, id_order, update_at, date_add, date_upd) \
             VALUES ('SYNC_STATUS', ?, NOW() - INTERVAL ? MINUTE, NOW(), NOW())",
            (id_order, minutes),
        )
        .await;
    }
    let report = run_cron(&t.db, &reqwest::Client::new(), &common::cron_opts(&sim))
        .await
        .expect("run");
    let order: Vec<u32> = report.shops.iter().map(|s| s.id_shop).collect();
    assert_eq!(order, vec![3, 2, 1, 4], "{report:?}");
    let sent: Vec<u32> = report.shops.iter().map(|s| s.statuses_sent).collect();
    assert_eq!(sent, vec![1, 1, 1, 0]);
    sim.shutdown().await;
    t.drop_db().await;
}
