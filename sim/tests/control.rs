//! The `/_sim/` control API: reset, settings, accounts, seeding, request log, stats.

mod common;

use common::*;
use serde_json::{json, Value};
use shoppingfeed_sim::RouteKind;

#[tokio::test]
async fn index_lists_the_routes() {
    let s = sim().await;
    let v = s.control_get("/_sim").await;
    assert!(v["routes"].as_array().unwrap().len() >= 10);
}

#[tokio::test]
async fn request_log_records_everything_with_redacted_token() {
    let s = sim().await;
    let b = s.ship(&[111]).await;
    s.get(&format!(
        "/v1/store/{STORE}/ticket?batchId={b}&page=1&limit=200"
    ))
    .await;
    s.http
        .get(s.url("/v1/me"))
        .bearer_auth("short")
        .send()
        .await
        .unwrap();
    s.control_get("/_sim/stats").await; // control calls are not logged
    let v = s.control_get("/_sim/requests").await;
    let reqs = v["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 3);
    let post = &reqs[0];
    assert_eq!(post["method"], "POST");
    assert_eq!(post["path"], format!("/v1/store/{STORE}/order/ship"));
    assert_eq!(post["route"], "order_op");
    assert_eq!(post["operation"], "ship");
    assert_eq!(post["status"], 202);
    assert_eq!(post["json"]["order"][0]["id"], 111);
    assert!(post["body"]
        .as_str()
        .unwrap()
        .contains("\"trackingNumber\""));
    let auth = post["authorization"].as_str().unwrap();
    assert!(auth.starts_with("Bearer t0k"), "{auth}");
    assert!(!auth.contains(TOKEN));
    assert!(auth.contains(&format!("({} chars)", TOKEN.len())));
    let get = &reqs[1];
    assert_eq!(get["query"], format!("batchId={b}&page=1&limit=200"));
    assert_eq!(get["route"], "ticket_list");
    assert_eq!(reqs[2]["authorization"], "Bearer …(5 chars)");
    assert_eq!(reqs[2]["status"], 403);
    // Filters.
    let seq = reqs[0]["seq"].as_u64().unwrap();
    let v = s
        .control_get(&format!("/_sim/requests?since={seq}&limit=1"))
        .await;
    assert_eq!(v["count"], 1);
    assert_eq!(v["requests"][0]["route"], "ticket_list");
    let v = s.control_get("/_sim/requests?route=me").await;
    assert_eq!(v["count"], 1);
    // Clear.
    s.http.delete(s.url("/_sim/requests")).send().await.unwrap();
    assert_eq!(s.control_get("/_sim/requests").await["count"], 0);
}

#[tokio::test]
async fn stats_count_per_route_operation_and_status() {
    let s = sim().await;
    let b = s.ship(&[111, 222]).await;
    s.op("cancel", json!({"order": [{"id": 333, "reason": ""}]}))
        .await;
    s.poll(&b).await;
    s.poll(&b).await;
    s.get("/v1/me").await;
    let v = s.stats().await;
    assert_eq!(v["requests_total"], 5);
    assert_eq!(v["per_route"]["order_op"], 2);
    assert_eq!(v["per_route"]["ticket_list"], 2);
    assert_eq!(v["per_route"]["me"], 1);
    assert_eq!(v["per_operation"]["ship"], 1);
    assert_eq!(v["per_operation"]["cancel"], 1);
    assert_eq!(v["per_status"]["202"], 2);
    assert_eq!(v["per_status"]["200"], 3);
    assert_eq!(v["batches"], 2);
    assert_eq!(v["tickets"], 3);
    assert_eq!(v["tickets_open"], 1);
    assert_eq!(s.handle.request_count(RouteKind::TicketList), 2);
    assert_eq!(s.handle.request_count(RouteKind::Any), 5);
}

#[tokio::test]
async fn seeding_orders_three_ways_and_listing() {
    let s = sim().await;
    let v = s.control("/_sim/orders", json!({"orders": [{"id": 500, "reference": "R500", "channelName": "ebay", "status": "waiting_store_acceptance", "items": [{"id": 1, "reference": "SKU", "quantity": 3}]}]})).await;
    assert_eq!(v["seeded"], 1);
    s.control("/_sim/orders", json!([{"id": 501}])).await;
    let v = s.control("/_sim/orders", json!({"range": {"from": 1000, "to": 1999, "channelName": "amazon", "referencePrefix": "X-", "storeId": STORE}})).await;
    assert_eq!(v["seeded"], 1000);
    assert_eq!(v["orders"], 1000 + 2 + 3);
    let o = s.order(500).await;
    assert_eq!(o["status"], "waiting_store_acceptance");
    assert_eq!(o["items"][0]["quantity"], 3);
    assert_eq!(s.order(1500).await["reference"], "X-1500");
    // Seeded by range, usable by reference.
    let v = s
        .op(
            "accept",
            json!({"order": [{"reference": "X-1999", "channelName": "amazon"}]}),
        )
        .await;
    assert!(v.get("report").is_none());
    let all = s.control_get("/_sim/orders").await;
    let ids: Vec<i64> = all["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let r = s.http.get(s.url("/_sim/orders/77")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    s.control_refused("/_sim/orders", json!({"range": {"from": 5, "to": 1}}))
        .await;
    let r = s
        .http
        .post(s.url("/_sim/orders"))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    s.http.delete(s.url("/_sim/orders")).send().await.unwrap();
    assert_eq!(
        s.control_get("/_sim/orders").await["orders"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn accounts_can_be_added_at_run_time() {
    let s = sim().await;
    assert_eq!(
        s.http
            .get(s.url("/v1/me"))
            .bearer_auth("t2")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    s.control(
        "/_sim/accounts",
        json!({"token": "t2", "stores": [5, 6], "login": "bob", "password": "pw"}),
    )
    .await;
    let v: Value = s
        .http
        .get(s.url("/v1/me"))
        .bearer_auth("t2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["_embedded"]["store"].as_array().unwrap().len(), 2);
    assert_eq!(v["login"], "bob");
    let r = s
        .http
        .post(s.url("/v1/auth"))
        .json(&json!({"grant_type": "password", "username": "bob", "password": "pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["access_token"], "t2");
    let v = s.control_get("/_sim/accounts").await;
    assert_eq!(v["accounts"]["t2"], json!([5, 6]));
}

#[tokio::test]
async fn settings_patch_and_reset() {
    let s = sim().await;
    let v = s
        .control(
            "/_sim/settings",
            json!({"default_limit": 7, "max_orders_per_request": 2}),
        )
        .await;
    assert_eq!(v["default_limit"], 7);
    assert_eq!(v["max_limit"], 200);
    let r = s
        .op_raw(
            "cancel",
            json!({"order": [{"id": 111}, {"id": 222}, {"id": 333}]}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 400);
    for bad in [
        json!({"nope": 1}),
        json!({"default_limit": "x"}),
        json!([1]),
    ] {
        s.control_refused("/_sim/settings", bad).await;
    }
    // Build some state, then reset.
    s.ship(&[111]).await;
    s.fault(json!({"route": "me", "fault": {"kind": "status", "status": 500}}))
        .await;
    s.control(
        "/_sim/outcomes",
        json!({"order_id": 111, "outcome": "failed"}),
    )
    .await;
    s.control("/_sim/orders", json!([{"id": 9}])).await;
    s.control("/_sim/clock/advance", json!({"seconds": 100}))
        .await;
    s.control("/_sim/connections/refuse", json!({"count": 0}))
        .await;
    s.control("/_sim/reset", json!({})).await;
    assert_eq!(s.control_get("/_sim/settings").await["default_limit"], 20);
    assert_eq!(
        s.control_get("/_sim/faults").await["faults"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        s.control_get("/_sim/outcomes").await["rules"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(s.control_get("/_sim/requests").await["count"], 0);
    assert_eq!(s.control_get("/_sim/tickets").await["count"], 0);
    assert_eq!(s.stats().await["requests_total"], 0);
    assert_eq!(s.control_get("/_sim/clock").await["offset_seconds"], 0.0);
    // Config orders come back, control-seeded ones are gone.
    let ids: Vec<i64> = s.control_get("/_sim/orders").await["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![111, 222, 333]);
    assert_eq!(s.get("/v1/me").await.status().as_u16(), 200);
}
