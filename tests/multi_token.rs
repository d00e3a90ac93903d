//! Several Shopping Feed accounts per shop (the reference HEAD's `shoppingfeed_token` table): the
//! CRON serves each active account of a shop with its own token and store, an order is sent and
//! checked with the account it was imported with (`shoppingfeed_order.id_shoppingfeed_token`; 0:
//! the shop's first account), and an order whose account is not active waits, reported.

mod common;

use common::{state, TestDb};
use serde_json::Value;
use shoppingfeed_sim::{SimConfig, SimHandle};
use shoppingfeed_sync::engine::run_cron;
use shoppingfeed_sync::hook::on_order_status_update;

const TOKEN_A: &str = "multi-token-account-a-0001";
const TOKEN_B: &str = "multi-token-account-b-0002";
const STORE_A: i64 = 1276;
const STORE_B: i64 = 2042;

/// An active (or not) account row of shop 1; returns its id.
async fn account(t: &TestDb, token: &str, store: i64, active: bool) -> u32 {
    let id = t
        .exec_params(
            "INSERT INTO PREFIX_shoppingfeed_token (id_shop, id_lang, id_currency, content, active, merchant, \
               shoppingfeed_store_id, feed_key, date_add, date_upd) \
             VALUES (1, 1, 1, ?, ?, 'merchant', ?, ?, NOW(), NOW())",
            (token, u8::from(active), store, format!("feed-{store}")),
        )
        .await;
    u32::try_from(id).expect("token id")
}

/// A shipped order imported with account `token` (0: none), queued by the hook.
async fn queued_order(t: &TestDb, token: u32) -> u32 {
    let id = t.order(state::CANCELED, true).await;
    t.exec_params(
        "UPDATE PREFIX_shoppingfeed_order SET id_shoppingfeed_token = ? WHERE id_order = ?",
        (token, id),
    )
    .await;
    let outcome = on_order_status_update(&t.db, id, Some(state::CANCELED))
        .await
        .expect("hook");
    assert!(outcome.queued(), "{outcome:?}");
    id
}

/// The operation POSTs: (path, HTTP status, references sent).
async fn posts(sim: &SimHandle) -> Vec<(String, String, Vec<String>)> {
    let log: Value = reqwest::get(format!("{}/_sim/requests?route=order_op", sim.base_url()))
        .await
        .expect("log")
        .json()
        .await
        .expect("json");
    log["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let refs = r["json"]["order"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|o| o["reference"].as_str().map(str::to_string))
                .collect();
            (
                r["path"].as_str().unwrap_or_default().to_string(),
                r["status"].to_string(),
                refs,
            )
        })
        .collect()
}

async fn setup() -> (TestDb, SimHandle) {
    let t = TestDb::create().await;
    t.reset_shop_available().await;
    // Ignored while the shop has account rows.
    t.config(
        "SHOPPINGFEED_AUTH_TOKEN",
        "configuration-token-unused",
        None,
        None,
    )
    .await;
    let sim = shoppingfeed_sim::spawn(
        SimConfig::new(TOKEN_A, STORE_A)
            .with_account(TOKEN_B, STORE_B)
            .with_auto_create_orders(true),
    )
    .await
    .expect("simulator");
    (t, sim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_order_is_sent_and_checked_with_the_account_it_was_imported_with() {
    let (t, sim) = setup().await;
    let a = account(&t, TOKEN_A, STORE_A, true).await;
    let b = account(&t, TOKEN_B, STORE_B, true).await;
    let inactive = account(&t, "multi-token-inactive-0003", 3000, false).await;
    let unassigned = queued_order(&t, 0).await;
    let of_a = queued_order(&t, a).await;
    let of_b = queued_order(&t, b).await;
    let of_inactive = queued_order(&t, inactive).await;

    let http = reqwest::Client::new();
    let opts = common::cron_opts(&sim);
    let report = run_cron(&t.db, &http, &opts).await.expect("run 1");
    let shop = &report.shops[0];
    assert_eq!(shop.statuses_sent, 3, "{shop:?}");
    let mut sent = posts(&sim).await;
    sent.sort();
    assert_eq!(sent.len(), 2, "one request per account: {sent:?}");
    // The simulator answers a store only to its own token (403 otherwise): both were accepted.
    let (path_a, _, mut refs_a) = sent[0].clone();
    let (path_b, _, refs_b) = sent[1].clone();
    assert_eq!(path_a, format!("/v1/store/{STORE_A}/order/cancel"));
    assert_eq!(path_b, format!("/v1/store/{STORE_B}/order/cancel"));
    assert!(
        shop.errors.len() == 1,
        "only the inactive account's: {shop:?}"
    );
    refs_a.sort();
    let mut expected_a = vec![format!("MP-{unassigned}"), format!("MP-{of_a}")];
    expected_a.sort();
    assert_eq!(
        refs_a, expected_a,
        "orders without an account go to the first one"
    );
    assert_eq!(refs_b, [format!("MP-{of_b}")]);
    // The order of an inactive account waits, and the run says so.
    assert_eq!(t.tasks(of_inactive).await[0].action, "SYNC_STATUS");
    assert!(
        shop.errors
            .iter()
            .any(|e| e.contains(&format!("Shopping Feed account {inactive}"))),
        "{shop:?}"
    );

    // The tickets are read with each batch's own account: a wrong token or store would not find
    // them (the batch would be requeued and sent again).
    let second = run_cron(&t.db, &http, &opts).await.expect("run 2");
    assert_eq!(second.shops[0].tickets_pending, 3, "{:?}", second.shops[0]);
    let third = run_cron(&t.db, &http, &opts).await.expect("run 3");
    assert_eq!(third.shops[0].tickets_succeeded, 3, "{:?}", third.shops[0]);
    assert_eq!(posts(&sim).await.len(), 2, "nothing sent twice");
    for id in [unassigned, of_a, of_b] {
        assert!(t.tasks(id).await.is_empty(), "order {id}");
    }

    // Once its account is active, the waiting order is sent with it.
    t.exec_params(
        "UPDATE PREFIX_shoppingfeed_token SET active = 1, content = ?, shoppingfeed_store_id = ? \
         WHERE id_shoppingfeed_token = ?",
        (TOKEN_B, STORE_B, inactive),
    )
    .await;
    let fourth = run_cron(&t.db, &http, &opts).await.expect("run 4");
    assert_eq!(fourth.shops[0].statuses_sent, 1, "{:?}", fourth.shops[0]);
    assert!(fourth.shops[0].errors.is_empty(), "{:?}", fourth.shops[0]);
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_the_api_refuses_does_not_stop_the_shops_other_accounts() {
    let (t, sim) = setup().await;
    // The first account's token is unknown to the API; its store must be looked up (0).
    let bad = account(&t, "multi-token-revoked-0004", 0, true).await;
    let b = account(&t, TOKEN_B, STORE_B, true).await;
    let of_bad = queued_order(&t, bad).await;
    let of_b = queued_order(&t, b).await;

    let http = reqwest::Client::new();
    let report = run_cron(&t.db, &http, &common::cron_opts(&sim))
        .await
        .expect("run");
    let shop = &report.shops[0];
    assert_eq!(shop.skipped, None, "{shop:?}");
    assert_eq!(shop.statuses_sent, 1, "{shop:?}");
    assert!(
        shop.errors
            .iter()
            .any(|e| e.contains(&format!("(account {bad})"))),
        "{shop:?}"
    );
    assert_eq!(t.tasks(of_bad).await[0].action, "SYNC_STATUS");
    assert_eq!(t.tasks(of_b).await[0].action, "CHECK_TICKET_SYNC_STATUS");
    sim.shutdown().await;
    t.drop_db().await;
}
