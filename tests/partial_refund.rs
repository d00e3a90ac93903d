//! Partial refunds (`SHOPPINGFEED_ALLOW_PARTIAL_REFUND`): a credit slip of a Shopping Feed order
//! becomes a PARTIAL_REFUND task, sent as a `refund` with the slip's products and its shipping
//! flag, and checked like a status; a full refund state still sends `refund` without products.

mod common;

use common::{state, TestDb};
use serde_json::{json, Value};
use shoppingfeed_sim::SimHandle;
use shoppingfeed_sync::engine::run_cron;
use shoppingfeed_sync::refund::{on_order_slip_add, SlipOutcome};

const TOKEN: &str = "partial-refund-test-token";
const STORE: i64 = common::CRON_STORE;

/// An order line: (product id, attribute id, product reference); returns its id_order_detail.
async fn line(t: &TestDb, id_order: u32, product: (u32, u32, &str)) -> u32 {
    let (id_product, id_attribute, reference) = product;
    let id = t
        .exec_params(
            "INSERT INTO PREFIX_order_detail (id_order, id_shop, product_id, product_attribute_id, \
               product_name, product_quantity, product_reference, product_weight, tax_name) \
             VALUES (?, 1, ?, ?, 'A product', 3, ?, 0, '')",
            (id_order, id_product, id_attribute, reference),
        )
        .await;
    u32::try_from(id).expect("id_order_detail")
}

/// A credit slip refunding `lines` (id_order_detail, quantity), with or without shipping.
async fn slip(t: &TestDb, id_order: u32, shipping: bool, lines: &[(u32, u32)]) -> u32 {
    let id = t
        .exec_params(
            "INSERT INTO PREFIX_order_slip (id_customer, id_order, shipping_cost, partial, date_add, date_upd) \
             VALUES (1, ?, ?, 1, NOW(), NOW())",
            (id_order, u8::from(shipping)),
        )
        .await;
    let id = u32::try_from(id).expect("id_order_slip");
    for (detail, quantity) in lines {
        t.exec_params(
            "INSERT INTO PREFIX_order_slip_detail (id_order_slip, id_order_detail, product_quantity) VALUES (?, ?, ?)",
            (id, detail, quantity),
        )
        .await;
    }
    id
}

async fn control(sim: &SimHandle, path: &str) -> Value {
    reqwest::get(format!("{}{path}", sim.base_url()))
        .await
        .expect("control")
        .json()
        .await
        .expect("json")
}

/// The refund POSTs the simulator received, as their JSON bodies.
async fn refund_posts(sim: &SimHandle) -> Vec<Value> {
    let log = control(sim, "/_sim/requests?route=order_op").await;
    log["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r["path"] == format!("/v1/store/{STORE}/order/refund"))
        .map(|r| r["json"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credit_slip_is_queued_once_only_when_allowed_and_for_shopping_feed_orders() {
    let t = TestDb::create().await;
    t.reset_shop_available().await;
    let id = t.order(state::SHIPPED, true).await;
    let detail = line(&t, id, (12, 0, "SKU-12")).await;
    let first = slip(&t, id, false, &[(detail, 1)]).await;

    // Off by default (no configuration row): nothing queued.
    let off = on_order_slip_add(&t.db, id, None).await.expect("hook");
    assert_eq!(off, SlipOutcome::Disabled);
    assert!(t.tasks(id).await.is_empty());

    t.config("SHOPPINGFEED_ALLOW_PARTIAL_REFUND", "1", None, None)
        .await;
    let queued = on_order_slip_add(&t.db, id, None).await.expect("hook");
    assert_eq!(queued, SlipOutcome::Queued(first));
    assert_eq!(
        on_order_slip_add(&t.db, id, Some(first))
            .await
            .expect("hook"),
        SlipOutcome::AlreadyQueued(first)
    );
    // The newest slip when none is named; each slip gets its own task.
    let second = slip(&t, id, true, &[(detail, 1)]).await;
    assert_eq!(
        on_order_slip_add(&t.db, id, None).await.expect("hook"),
        SlipOutcome::Queued(second)
    );
    let tasks = t.tasks(id).await;
    assert_eq!(tasks.len(), 2);
    assert!(tasks.iter().all(|task| task.action == "PARTIAL_REFUND"));
    let slips: Vec<Option<u32>> = t
        .query(
            "SELECT id_order_slip FROM PREFIX_shoppingfeed_task_order WHERE id_order = ? ORDER BY id_order_slip",
            (id,),
        )
        .await;
    assert_eq!(slips, [Some(first), Some(second)]);

    // Another order's slip, an order without slips, a non Shopping Feed order, an unknown order.
    let other = t.order(state::SHIPPED, true).await;
    assert_eq!(
        on_order_slip_add(&t.db, other, Some(first))
            .await
            .expect("hook"),
        SlipOutcome::NoSlip
    );
    assert_eq!(
        on_order_slip_add(&t.db, other, None).await.expect("hook"),
        SlipOutcome::NoSlip
    );
    let plain = t.order(state::SHIPPED, false).await;
    slip(&t, plain, false, &[]).await;
    assert_eq!(
        on_order_slip_add(&t.db, plain, None).await.expect("hook"),
        SlipOutcome::NotShoppingFeedOrder
    );
    assert_eq!(
        on_order_slip_add(&t.db, 999_999, None).await.expect("hook"),
        SlipOutcome::UnknownOrder
    );

    // The gate of SPEC §1: the legacy module syncing orders itself.
    t.config("SHOPPING_FLUX_STATUS_SHIPPED", "1", None, None)
        .await;
    let third = slip(&t, id, false, &[(detail, 1)]).await;
    assert_eq!(
        on_order_slip_add(&t.db, id, Some(third))
            .await
            .expect("hook"),
        SlipOutcome::Unavailable
    );
    assert_eq!(t.tasks(id).await.len(), 2);
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cron_sends_each_slip_as_a_partial_refund_and_checks_its_ticket() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    t.config("SHOPPINGFEED_ALLOW_PARTIAL_REFUND", "1", None, None)
        .await;
    let id = t.order(state::SHIPPED, true).await;
    let plain = line(&t, id, (12, 0, "SKU-12")).await;
    let variant = line(&t, id, (15, 4, "SKU-15-RED")).await;
    let first = slip(&t, id, true, &[(plain, 1), (variant, 2)]).await;
    assert!(on_order_slip_add(&t.db, id, Some(first))
        .await
        .expect("hook")
        .queued());
    let second = slip(&t, id, false, &[(variant, 1)]).await;
    assert!(on_order_slip_add(&t.db, id, Some(second))
        .await
        .expect("hook")
        .queued());

    let http = reqwest::Client::new();
    let opts = common::cron_opts(&sim);
    let report = run_cron(&t.db, &http, &opts).await.expect("run 1");
    let shop = &report.shops[0];
    assert_eq!(shop.refunds_sent, 2, "{shop:?}");
    assert_eq!(shop.statuses_sent, 0, "{shop:?}");
    assert!(shop.errors.is_empty(), "{shop:?}");
    // A run that sent only refunds still writes its summary line.
    let summary = t.log_rows(Some("success")).await;
    assert!(
        summary
            .iter()
            .any(|l| l.msg.starts_with("[Shop 1]") && l.msg.contains("2 partial refunds sent")),
        "{summary:?}"
    );
    // One request per slip of the same order (their tickets are told apart by order), each with
    // only its own slip's products, named as the feed names them by default.
    let mut posts = refund_posts(&sim).await;
    assert_eq!(posts.len(), 2, "{posts:?}");
    // The two requests may be on the wire at once: the first slip's refunds shipping.
    posts.sort_by_key(|p| p["order"][0]["refund"]["shipping"] != json!(true));
    let reference = format!("MP-{id}");
    assert_eq!(
        posts[0]["order"][0],
        json!({"reference": reference, "channelName": "amazon", "refund": {
            "shipping": true,
            "products": [{"reference": "12", "quantity": 1}, {"reference": "15_4", "quantity": 2}]
        }})
    );
    assert_eq!(
        posts[1]["order"][0]["refund"],
        json!({"shipping": false, "products": [{"reference": "15_4", "quantity": 1}]})
    );
    let tasks = t.tasks(id).await;
    assert_eq!(tasks.len(), 2);
    assert!(
        tasks
            .iter()
            .all(|task| task.action == "ACTION_CHECK_TICKET_PARTIAL_REFUND"
                && task.batch_id.is_some()),
        "{tasks:?}"
    );
    assert_ne!(tasks[0].batch_id, tasks[1].batch_id);

    // Running at the first check, succeeded at the second: the tasks go.
    let second_run = run_cron(&t.db, &http, &opts).await.expect("run 2");
    assert_eq!(
        second_run.shops[0].tickets_pending, 2,
        "{:?}",
        second_run.shops[0]
    );
    let third = run_cron(&t.db, &http, &opts).await.expect("run 3");
    assert_eq!(third.shops[0].tickets_succeeded, 2, "{:?}", third.shops[0]);
    assert!(t.tasks(id).await.is_empty());
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_format_names_products_by_column_and_a_slip_without_products_is_not_a_full_refund(
) {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    t.config("SHOPPINGFEED_ALLOW_PARTIAL_REFUND", "1", None, None)
        .await;
    t.config(
        "SHOPPINGFEED_PRODUCT_FEED_REFERENCE_FORMAT",
        "reference",
        None,
        None,
    )
    .await;
    let id = t.order(state::SHIPPED, true).await;
    let variant = line(&t, id, (15, 4, "SKU-15-RED")).await;
    let no_sku = line(&t, id, (16, 0, "")).await;
    let with_products = slip(&t, id, false, &[(variant, 1), (no_sku, 1)]).await;
    on_order_slip_add(&t.db, id, Some(with_products))
        .await
        .expect("hook");
    // Shipping only: an empty product list would refund the whole order on the marketplace.
    let other = t.order(state::SHIPPED, true).await;
    let shipping_only = slip(&t, other, true, &[]).await;
    on_order_slip_add(&t.db, other, Some(shipping_only))
        .await
        .expect("hook");

    let http = reqwest::Client::new();
    let report = run_cron(&t.db, &http, &common::cron_opts(&sim))
        .await
        .expect("run");
    let shop = &report.shops[0];
    assert_eq!(shop.refunds_sent, 1, "{shop:?}");
    let posts = refund_posts(&sim).await;
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(
        posts[0]["order"][0]["refund"]["products"],
        json!([{"reference": "SKU-15-RED", "quantity": 1}, {"reference": "16", "quantity": 1}])
    );
    // The shipping-only slip: removed, reported to the merchant, nothing sent.
    assert!(t.tasks(other).await.is_empty());
    let failure = shop
        .failures
        .iter()
        .find(|f| f.id_order == other)
        .expect("a failure for the shipping-only slip");
    assert!(failure.reason.contains("refunds no product"), "{failure:?}");
    let notices: i64 = t
        .scalar(
            "SELECT COUNT(*) FROM PREFIX_shoppingfeed_sync_notice WHERE id_order = ?",
            (other,),
        )
        .await;
    assert_eq!(notices, 1);
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_refund_state_still_sends_refund_without_products() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    let id = t.order(state::REFUNDED, true).await;
    let outcome = shoppingfeed_sync::hook::on_order_status_update(&t.db, id, Some(state::REFUNDED))
        .await
        .expect("hook");
    assert!(outcome.queued(), "{outcome:?}");
    let http = reqwest::Client::new();
    let report = run_cron(&t.db, &http, &common::cron_opts(&sim))
        .await
        .expect("run");
    assert_eq!(report.shops[0].statuses_sent, 1, "{:?}", report.shops[0]);
    let posts = refund_posts(&sim).await;
    assert_eq!(
        posts[0]["order"][0]["refund"],
        json!({"shipping": true, "products": []})
    );
    assert_eq!(t.tasks(id).await[0].action, "CHECK_TICKET_SYNC_STATUS");
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_that_cannot_be_sent_are_reported_once_and_kept_not_claimed_again_and_again() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    t.config("SHOPPINGFEED_ALLOW_PARTIAL_REFUND", "1", None, None)
        .await;
    let status = t.order(state::CANCELED, true).await;
    assert!(
        shoppingfeed_sync::hook::on_order_status_update(&t.db, status, Some(state::CANCELED))
            .await
            .expect("hook")
            .queued()
    );
    let refund = t.order(state::SHIPPED, true).await;
    let detail = line(&t, refund, (12, 0, "")).await;
    let s = slip(&t, refund, false, &[(detail, 1)]).await;
    on_order_slip_add(&t.db, refund, Some(s))
        .await
        .expect("hook");
    // The link loses its reference after the tasks were queued.
    t.exec("UPDATE PREFIX_shoppingfeed_order SET id_order_marketplace = NULL")
        .await;

    let http = reqwest::Client::new();
    let started = std::time::Instant::now();
    let report = run_cron(&t.db, &http, &common::cron_opts(&sim))
        .await
        .expect("run");
    let shop = &report.shops[0];
    assert!(!shop.budget_exhausted, "{shop:?}");
    assert!(started.elapsed().as_secs() < 30);
    assert_eq!(shop.errors.len(), 2, "one error per task: {shop:?}");
    for id in [status, refund] {
        let tasks = t.tasks(id).await;
        assert_eq!(tasks.len(), 1);
        assert_eq!(
            tasks[0].lease_owner, None,
            "given back at the end of the run"
        );
    }
    assert!(refund_posts(&sim).await.is_empty());
    sim.shutdown().await;
    t.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_that_failed_the_statuses_is_not_sent_the_refunds_in_the_same_run() {
    let (t, sim) = common::cron_shop(TOKEN, "0").await;
    t.config("SHOPPINGFEED_ALLOW_PARTIAL_REFUND", "1", None, None)
        .await;
    let status = t.order(state::CANCELED, true).await;
    assert!(
        shoppingfeed_sync::hook::on_order_status_update(&t.db, status, Some(state::CANCELED))
            .await
            .expect("hook")
            .queued()
    );
    let refund = t.order(state::SHIPPED, true).await;
    let detail = line(&t, refund, (12, 0, "")).await;
    let s = slip(&t, refund, false, &[(detail, 1)]).await;
    on_order_slip_add(&t.db, refund, Some(s))
        .await
        .expect("hook");
    reqwest::Client::new()
        .post(format!("{}/_sim/faults", sim.base_url()))
        .json(&json!({"route": "order_op", "fault": {"kind": "status", "status": 503}}))
        .send()
        .await
        .expect("fault");

    let http = reqwest::Client::new();
    let report = run_cron(&t.db, &http, &common::cron_opts(&sim))
        .await
        .expect("run");
    let shop = &report.shops[0];
    assert_eq!(shop.statuses_sent, 0, "{shop:?}");
    assert!(
        refund_posts(&sim).await.is_empty(),
        "no refund POST after the failure"
    );
    assert_eq!(t.tasks(refund).await[0].action, "PARTIAL_REFUND");
    assert_eq!(t.tasks(refund).await[0].lease_owner, None);
    sim.shutdown().await;
    t.drop_db().await;
}
