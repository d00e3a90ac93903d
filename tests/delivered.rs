//! `SHOPPINGFEED_DELIVERED_ORDERS`: a delivered state is queued without delay and sent as
//! `deliver`; a state in several lists follows shipped > canceled > refunded > delivered.

mod common;

use common::state;
use serde_json::Value;
use shoppingfeed_sync::engine::run_cron;
use shoppingfeed_sync::hook::{on_order_status_update, HookOutcome};

const TOKEN: &str = "delivered-test-token";
const STORE: i64 = common::CRON_STORE;
/// A state of the fixtures that no list of `reset_shop_available` maps.
const DELIVERED_ONLY: u32 = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_state_is_sent_as_deliver_and_the_shipped_list_wins_a_shared_state() {
    let (t, sim) = common::cron_shop(TOKEN, "30").await;
    // State DELIVERED is in the shipped list of the fixture shop too: shipped wins.
    t.config(
        "SHOPPINGFEED_DELIVERED_ORDERS",
        &format!("[\"{DELIVERED_ONLY}\", {}]", state::DELIVERED),
        None,
        None,
    )
    .await;

    let delivered = t.order(DELIVERED_ONLY, true).await;
    let outcome = on_order_status_update(&t.db, delivered, Some(DELIVERED_ONLY))
        .await
        .expect("hook");
    assert_eq!(outcome, HookOutcome::Queued { delay_minutes: 0 });
    let shared = t.order(state::DELIVERED, true).await;
    let outcome = on_order_status_update(&t.db, shared, Some(state::DELIVERED))
        .await
        .expect("hook");
    assert_eq!(
        outcome,
        HookOutcome::Queued { delay_minutes: 30 },
        "the shipped delay"
    );
    t.exec("UPDATE PREFIX_shoppingfeed_task_order SET update_at = NOW() - INTERVAL 1 SECOND")
        .await;

    let http = reqwest::Client::new();
    let opts = common::cron_opts(&sim);
    let report = run_cron(&t.db, &http, &opts).await.expect("run");
    assert_eq!(report.shops[0].statuses_sent, 2, "{:?}", report.shops[0]);
    let url = format!("{}/_sim/requests?route=order_op", sim.base_url());
    let log: Value = reqwest::get(url)
        .await
        .expect("log")
        .json()
        .await
        .expect("json");
    let mut paths: Vec<String> = log["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r["path"].as_str().map(str::to_string))
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            format!("/v1/store/{STORE}/order/deliver"),
            format!("/v1/store/{STORE}/order/ship")
        ]
    );
    for id in [delivered, shared] {
        assert_eq!(t.tasks(id).await[0].action, "CHECK_TICKET_SYNC_STATUS");
    }
    sim.shutdown().await;
    t.drop_db().await;
}
