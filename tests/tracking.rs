//! The tracking-number trigger against a real MariaDB and the real simulator: a shipped task waiting
//! for its delay becomes due at once; a ship sent without the tracking number is sent again with it,
//! once.

mod common;

use common::{state, TestDb};
use serde_json::Value;
use shoppingfeed_sim::SimHandle;
use shoppingfeed_sync::engine::{run_cron, CronOptions};
use shoppingfeed_sync::hook::on_order_status_update;
use shoppingfeed_sync::tracking::{on_tracking_number_update, TrackingOutcome};

const TOKEN: &str = "tracking-test-token";

async fn setup(delay_minutes: &str) -> (TestDb, SimHandle) {
    common::cron_shop(TOKEN, delay_minutes).await
}

fn opts(sim: &SimHandle) -> CronOptions {
    common::cron_opts(sim)
}

/// The tracking numbers of every ship the simulator received, in order.
async fn shipped_tracking(sim: &SimHandle) -> Vec<String> {
    let url = format!("{}/_sim/requests?route=order_op", sim.base_url());
    let log: Value = reqwest::get(url)
        .await
        .expect("request log")
        .json()
        .await
        .expect("json");
    log["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/ship")))
        .flat_map(|r| r["json"]["order"].as_array().cloned().unwrap_or_default())
        .map(|o| o["trackingNumber"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn shipped_order(t: &TestDb) -> u32 {
    let id = t.order(state::SHIPPED, true).await;
    assert!(on_order_status_update(&t.db, id, Some(state::SHIPPED))
        .await
        .expect("hook")
        .queued());
    id
}

async fn save_tracking(t: &TestDb, id: u32, number: &str) {
    t.exec_params("DELETE FROM PREFIX_order_carrier WHERE id_order = ?", (id,))
        .await;
    t.exec_params(
        "INSERT INTO PREFIX_order_carrier (id_order, id_carrier, tracking_number, date_add) VALUES (?, 1, ?, NOW())",
        (id, number),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracking_number_makes_the_waiting_shipped_task_due_at_once() {
    let (t, sim) = setup("30").await;
    let id = shipped_order(&t).await;
    assert!(t.tasks(id).await[0].due_in.is_some_and(|d| d > 1700));
    let http = reqwest::Client::new();
    run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
    assert!(
        shipped_tracking(&sim).await.is_empty(),
        "waits for its delay"
    );

    save_tracking(&t, id, "6A0001").await;
    let outcome = on_tracking_number_update(&t.db, id).await.expect("trigger");

    assert_eq!(outcome, TrackingOutcome::Expedited);
    assert!(t.tasks(id).await[0].due_in.is_some_and(|d| d <= 0));
    run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
    assert_eq!(shipped_tracking(&sim).await, ["6A0001"]);
    // Sent with it: saving it again changes nothing.
    assert_eq!(
        on_tracking_number_update(&t.db, id).await.expect("again"),
        TrackingOutcome::Unchanged
    );
    assert_eq!(t.tasks(id).await.len(), 1, "only the CHECK task");
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ship_sent_without_the_tracking_number_is_sent_again_with_it_once() {
    let (t, sim) = setup("0").await;
    let id = shipped_order(&t).await;
    let http = reqwest::Client::new();
    run_cron(&t.db, &http, &opts(&sim)).await.expect("send");
    assert_eq!(
        shipped_tracking(&sim).await,
        [""],
        "sent without a tracking number"
    );

    save_tracking(&t, id, "6A0002").await;
    assert_eq!(
        on_tracking_number_update(&t.db, id).await.expect("trigger"),
        TrackingOutcome::Resent
    );
    let pending: Vec<_> = t
        .tasks(id)
        .await
        .into_iter()
        .filter(|r| r.action == "SYNC_STATUS")
        .collect();
    assert_eq!(pending.len(), 1);
    assert!(pending[0].due_in.is_some_and(|d| d <= 0));
    // Saved twice before the run: still one pending task, one resend.
    on_tracking_number_update(&t.db, id).await.expect("twice");
    for _ in 0..3 {
        run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
    }
    assert_eq!(shipped_tracking(&sim).await, ["", "6A0002"]);
    assert_eq!(
        on_tracking_number_update(&t.db, id)
            .await
            .expect("same number"),
        TrackingOutcome::Unchanged
    );
    // Another number is another resend.
    save_tracking(&t, id, "6A0003").await;
    assert_eq!(
        on_tracking_number_update(&t.db, id)
            .await
            .expect("new number"),
        TrackingOutcome::Resent
    );
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_not_shipped_or_not_from_shopping_feed_are_left_alone() {
    let (t, sim) = setup("0").await;
    let canceled = t.order(state::CANCELED, true).await;
    save_tracking(&t, canceled, "X1").await;
    assert_eq!(
        on_tracking_number_update(&t.db, canceled)
            .await
            .expect("canceled"),
        TrackingOutcome::NotShipped(state::CANCELED)
    );
    let plain = t.order(state::SHIPPED, false).await;
    save_tracking(&t, plain, "X2").await;
    assert_eq!(
        on_tracking_number_update(&t.db, plain)
            .await
            .expect("plain"),
        TrackingOutcome::NotShoppingFeedOrder
    );
    let empty = t.order(state::SHIPPED, true).await;
    assert_eq!(
        on_tracking_number_update(&t.db, empty)
            .await
            .expect("empty"),
        TrackingOutcome::NoTrackingNumber
    );
    assert_eq!(
        on_tracking_number_update(&t.db, 999_999)
            .await
            .expect("unknown"),
        TrackingOutcome::UnknownOrder
    );
    assert!(t.all_tasks().await.is_empty());
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_that_holds_ships_for_the_tracking_number_sends_as_soon_as_it_is_saved() {
    // A fixed delay of 5 minutes would send the ship without its number; the shop holds it.
    let (t, sim) = setup("5").await;
    t.config(
        "SHOPPINGFEED_ORDER_SYNC_SHIP_WAITS_TRACKING",
        "1",
        None,
        None,
    )
    .await;
    t.config(
        "SHOPPINGFEED_ORDER_SYNC_SHIP_WAIT_MAX_HOURS",
        "2",
        None,
        None,
    )
    .await;
    let waiting = shipped_order(&t).await;
    let due_in = t.tasks(waiting).await[0].due_in;
    assert!(
        due_in.is_some_and(|d| (7000..=7200).contains(&d)),
        "held up to 2 hours: {due_in:?}"
    );
    // An order whose number is saved before its status goes at once.
    let known = t.order(state::SHIPPED, true).await;
    save_tracking(&t, known, "6A0100").await;
    assert!(on_order_status_update(&t.db, known, Some(state::SHIPPED))
        .await
        .expect("hook")
        .queued());
    assert!(t.tasks(known).await[0].due_in.is_some_and(|d| d <= 0));
    // Other statuses never wait.
    let canceled = t.order(state::CANCELED, true).await;
    on_order_status_update(&t.db, canceled, Some(state::CANCELED))
        .await
        .expect("hook");
    assert!(t.tasks(canceled).await[0].due_in.is_some_and(|d| d <= 0));

    save_tracking(&t, waiting, "6A0101").await;
    assert_eq!(
        on_tracking_number_update(&t.db, waiting)
            .await
            .expect("trigger"),
        TrackingOutcome::Expedited
    );
    let http = reqwest::Client::new();
    run_cron(&t.db, &http, &opts(&sim)).await.expect("run");
    let mut sent = shipped_tracking(&sim).await;
    sent.sort();
    assert_eq!(sent, ["6A0100", "6A0101"]);
    sim.shutdown().await;
    t.drop_db().await;
}
