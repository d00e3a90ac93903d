//! Fault rules of sf-api.md §7.4 over real HTTP, with their selectors (route, nth, first, order).

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

fn ship_body(id: i64) -> Value {
    json!({"order": [{"id": id, "carrier": "ups", "trackingNumber": "1Z", "trackingLink": "", "items": [], "warehouseId": null}]})
}

#[tokio::test]
async fn f1_server_errors_with_three_body_variants() {
    let s = sim().await;
    s.fault(json!({"route": "order_op", "nth": 1, "fault": {"kind": "status", "status": 503}}))
        .await;
    s.fault(json!({"route": "order_op", "nth": 2, "fault": {"kind": "status", "status": 502, "body": "html"}})).await;
    s.fault(json!({"route": "order_op", "nth": 3, "fault": {"kind": "status", "status": 500, "body": "empty"}})).await;
    s.fault(json!({"route": "order_op", "nth": 4, "fault": {"kind": "status", "status": 504, "detail": "upstream timeout"}})).await;

    let r = s.op_raw("ship", ship_body(111)).await;
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_eq!(r.json::<Value>().await.unwrap()["status"], 503);

    let r = s.op_raw("ship", ship_body(111)).await;
    assert_eq!(r.status().as_u16(), 502);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("<html>"));

    let r = s.op_raw("ship", ship_body(111)).await;
    assert_eq!(r.status().as_u16(), 500);
    assert_eq!(r.text().await.unwrap(), "");

    let r = s.op_raw("ship", ship_body(111)).await;
    assert_eq!(r.status().as_u16(), 504);
    assert_eq!(
        r.json::<Value>().await.unwrap()["detail"],
        "upstream timeout"
    );

    // The 5th call is clean; the faulted ones were not processed.
    assert_eq!(
        s.op_raw("ship", ship_body(111)).await.status().as_u16(),
        202
    );
    assert_eq!(s.stats().await["batches"], 1);
    let faults = s.control_get("/_sim/faults").await;
    for f in faults["faults"].as_array().unwrap() {
        assert_eq!(f["calls"], 5);
        assert_eq!(f["fired"], 1);
    }
}

#[tokio::test]
async fn f2_rate_limit_header_variants_and_k_consecutive() {
    let s = sim().await;
    s.fault(
        json!({"route": "ticket_list", "first": 3, "fault": {"kind": "rate_limit", "wait": 0.44}}),
    )
    .await;
    let path = format!("/v1/store/{STORE}/ticket?batchId=x");
    for _ in 0..3 {
        let r = s.get(&path).await;
        assert_eq!(r.status().as_u16(), 429);
        assert_eq!(r.headers()["x-ratelimit-wait"], "0.44");
        assert_eq!(r.json::<Value>().await.unwrap()["status"], 429);
    }
    assert_eq!(s.get(&path).await.status().as_u16(), 200);

    s.control(
        "/_sim/faults",
        json!({"route": "me", "nth": 1, "fault": {"kind": "rate_limit"}}),
    )
    .await;
    s.control(
        "/_sim/faults",
        json!({"route": "me", "nth": 2, "fault": {"kind": "rate_limit", "wait": "soon"}}),
    )
    .await;
    let r = s.get("/v1/me").await;
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.headers().get("x-ratelimit-wait").is_none());
    let r = s.get("/v1/me").await;
    assert_eq!(r.headers()["x-ratelimit-wait"], "soon");
    assert_eq!(s.get("/v1/me").await.status().as_u16(), 200);
}

#[tokio::test]
async fn f3_hang_for_seconds_then_answer() {
    let s = sim().await;
    s.fault(json!({"route": "me", "first": 1, "fault": {"kind": "hang", "seconds": 0.5}}))
        .await;
    let start = Instant::now();
    let r = s.get("/v1/me").await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(start.elapsed() >= Duration::from_millis(480));
    // A client with a shorter timeout gives up.
    s.fault(json!({"route": "me", "first": 1, "fault": {"kind": "hang", "seconds": 5}}))
        .await;
    let c = fresh_client(300);
    let err = c
        .get(s.url("/v1/me"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn f3_hang_forever_ends_at_shutdown() {
    let s = sim().await;
    s.fault(json!({"route": "ticket_get", "fault": {"kind": "hang"}}))
        .await;
    let c = fresh_client(400);
    let err = c
        .get(s.url(&format!("/v1/store/{STORE}/ticket/abc")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    // A hung request in flight does not block shutdown.
    let url = s.url(&format!("/v1/store/{STORE}/ticket/abc"));
    let pending = tokio::spawn(async move {
        fresh_client(20_000)
            .get(url)
            .bearer_auth(TOKEN)
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = Instant::now();
    s.shutdown().await;
    assert!(start.elapsed() < Duration::from_secs(4));
    let _ = pending.await;
}

#[tokio::test]
async fn f3_process_the_post_but_drop_the_response() {
    let s = sim().await;
    s.fault(json!({"route": "order_op", "first": 1, "fault": {"kind": "drop_response"}}))
        .await;
    let c = fresh_client(5000);
    let err = c
        .post(s.url(&format!("/v1/store/{STORE}/order/ship")))
        .bearer_auth(TOKEN)
        .json(&ship_body(111))
        .send()
        .await
        .unwrap_err();
    assert!(
        !err.is_timeout(),
        "connection must close, not hang: {err:?}"
    );
    // The batch exists anyway: a retry creates a duplicate.
    assert_eq!(s.stats().await["batches"], 1);
    let tickets = s.control_get("/_sim/tickets").await;
    assert_eq!(tickets["count"], 1);
    assert_eq!(
        s.op_raw("ship", ship_body(111)).await.status().as_u16(),
        202
    );
    assert_eq!(s.stats().await["batches"], 2);
    let log = s.control_get("/_sim/requests?route=order_op").await;
    assert_eq!(log["requests"][0]["fault"], "drop_response");
    assert_eq!(log["requests"][0]["status"], Value::Null);
    assert_eq!(log["requests"][1]["status"], 202);
}

#[tokio::test]
async fn f4_reset_before_processing() {
    let s = sim().await;
    s.fault(json!({"route": "order_op", "first": 1, "fault": {"kind": "reset"}}))
        .await;
    let c = fresh_client(5000);
    let err = c
        .post(s.url(&format!("/v1/store/{STORE}/order/ship")))
        .bearer_auth(TOKEN)
        .json(&ship_body(111))
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_timeout(), "{err:?}");
    assert_eq!(s.stats().await["batches"], 0);
}

#[tokio::test]
async fn f4_close_mid_body() {
    let s = sim().await;
    let b = s.ship(&[111]).await;
    s.fault(
        json!({"route": "ticket_list", "first": 1, "fault": {"kind": "reset", "mid_body": true}}),
    )
    .await;
    let c = fresh_client(5000);
    let r = c
        .get(s.url(&format!("/v1/store/{STORE}/ticket?batchId={b}")))
        .bearer_auth(TOKEN)
        .send()
        .await;
    // Headers arrive (200), the body does not complete.
    match r {
        Ok(resp) => {
            assert_eq!(resp.status().as_u16(), 200);
            assert!(resp.bytes().await.is_err(), "body must be cut");
        }
        Err(e) => assert!(!e.is_timeout(), "{e:?}"),
    }
    assert_eq!(s.poll(&b).await["total"], 1);
}

#[tokio::test]
async fn f4_refused_connections() {
    let s = sim().await;
    s.control("/_sim/connections/refuse", json!({"count": 2}))
        .await;
    let c = fresh_client(3000);
    for _ in 0..2 {
        let err = c.get(s.url("/v1/ping")).send().await.unwrap_err();
        assert!(!err.is_timeout(), "{err:?}");
    }
    assert_eq!(
        c.get(s.url("/v1/ping"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
}

#[tokio::test]
async fn f5_malformed_bodies() {
    let s = sim().await;
    let b = s.ship(&[111]).await;
    let path = format!("/v1/store/{STORE}/ticket?batchId={b}&page=2");
    for (variant, check) in [
        ("truncated", 0),
        ("html", 1),
        ("invalid_utf8", 2),
        ("wrong_type", 3),
    ] {
        s.fault(json!({"route": "ticket_list", "first": 1, "fault": {"kind": "malformed", "variant": variant}})).await;
        let r = s.get(&path).await;
        assert_eq!(r.status().as_u16(), 200, "{variant}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        let bytes = r.bytes().await.unwrap();
        match check {
            0 => {
                assert_eq!(ct, "application/json");
                assert!(bytes.starts_with(b"{"));
                assert!(serde_json::from_slice::<Value>(&bytes).is_err());
            }
            1 => assert!(ct.starts_with("text/html")),
            2 => assert!(std::str::from_utf8(&bytes).is_err()),
            _ => assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), json!([])),
        }
    }
    let (_, v) = s.get_json(&path).await;
    assert_eq!(v["total"], 1);
}

#[tokio::test]
async fn f6_202_without_id_or_ticket_link() {
    let s = sim().await;
    s.fault(
        json!({"route": "order_op", "nth": 1, "fault": {"kind": "strip_fields", "fields": ["id"]}}),
    )
    .await;
    s.fault(json!({"route": "order_op", "nth": 2, "fault": {"kind": "strip_fields", "fields": ["_links.ticket"]}})).await;
    let v = s.op("ship", ship_body(111)).await;
    assert!(v.get("id").is_none());
    assert!(v["_links"]["ticket"]["href"].is_string());
    let v = s.op("ship", ship_body(111)).await;
    assert!(v["id"].is_string());
    assert!(v["_links"].get("ticket").is_none());
    assert_eq!(s.stats().await["batches"], 2);
}

#[tokio::test]
async fn f7_forced_ignore_per_order_or_all() {
    let s = sim().await;
    s.fault(json!({"route": "order_op", "order_id": 222, "fault": {"kind": "ignore", "message": "Operation not allowed"}})).await;
    let v = s
        .op("ship", json!({"order": [{"id": 111}, {"id": 222}]}))
        .await;
    let report = v["report"].as_array().unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0]["id"], 222);
    assert_eq!(report[0]["message"], "Operation not allowed");
    assert_eq!(s.poll(v["id"].as_str().unwrap()).await["total"], 1);
    s.control(
        "/_sim/faults",
        json!({"route": "order_op", "operation": "cancel", "fault": {"kind": "ignore"}}),
    )
    .await;
    let v = s
        .op("cancel", json!({"order": [{"id": 111}, {"id": 333}]}))
        .await;
    assert_eq!(v["report"].as_array().unwrap().len(), 2);
    assert_eq!(v["report"][0]["message"], "Order ignored");
    // The ship rule does not apply to requests without order 222.
    let v = s.op("ship", json!({"order": [{"id": 111}]})).await;
    assert!(v.get("report").is_none());
}

#[tokio::test]
async fn f13_forced_auth_failures_and_f14_validation_and_f16_413() {
    let s =
        sim_with(shoppingfeed_sim::SimConfig::new(TOKEN, STORE).with_user("m", "p", TOKEN)).await;
    s.fault(json!({"route": "auth", "fault": {"kind": "status", "status": 401}}))
        .await;
    let r = s
        .http
        .post(s.url("/v1/auth"))
        .json(&json!({"grant_type": "password", "username": "m", "password": "p"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    s.fault(json!({"route": "me", "first": 1, "fault": {"kind": "status", "status": 403, "detail": "Service not authorized"}})).await;
    let r = s.get("/v1/me").await;
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(
        r.json::<Value>().await.unwrap()["detail"],
        "Service not authorized"
    );
    s.fault(json!({"route": "order_op", "operation": "refund", "fault": {"kind": "status", "status": 400, "body": "validation"}})).await;
    let r = s
        .op_raw(
            "refund",
            json!({"order": [{"id": 111, "refund": {"shipping": true, "products": []}}]}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["detail"], "Validation failed");
    assert!(v["validationMessages"].is_array());
    s.fault(json!({"route": "order_op", "operation": "upload-documents", "fault": {"kind": "status", "status": 413}})).await;
    let r = s.op_raw("upload-documents", json!({})).await;
    assert_eq!(r.status().as_u16(), 413);
    assert_eq!(s.stats().await["batches"], 0);
}

#[tokio::test]
async fn selectors_nth_first_order_and_any() {
    let s = sim().await;
    let b = s.ship(&[111]).await;
    let b2 = s.ship(&[222]).await;
    // order_id on ticket_list matches through the batch.
    s.fault(json!({"route": "ticket_list", "order_id": 222, "fault": {"kind": "status", "status": 500}})).await;
    assert_eq!(
        s.get(&format!("/v1/store/{STORE}/ticket?batchId={b}"))
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        s.get(&format!("/v1/store/{STORE}/ticket?batchId={b2}"))
            .await
            .status()
            .as_u16(),
        500
    );
    assert_eq!(
        s.get(&format!(
            "/v1/store/{STORE}/ticket?payloadId=222&type=order.notify.shipment"
        ))
        .await
        .status()
        .as_u16(),
        500
    );
    // reference on ticket_get.
    let id = s.control_get(&format!("/_sim/tickets?batchId={b}")).await["tickets"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.fault(json!({"route": "ticket_get", "reference": "REF-111", "fault": {"kind": "status", "status": 503}})).await;
    assert_eq!(
        s.get(&format!("/v1/store/{STORE}/ticket/{id}"))
            .await
            .status()
            .as_u16(),
        503
    );
    s.http.delete(s.url("/_sim/faults")).send().await.unwrap();
    // any + nth.
    let rid = s
        .fault(json!({"route": "any", "nth": 2, "fault": {"kind": "status", "status": 502}}))
        .await;
    assert_eq!(s.get("/v1/me").await.status().as_u16(), 200);
    assert_eq!(
        s.get(&format!("/v1/store/{STORE}/ticket?batchId={b}"))
            .await
            .status()
            .as_u16(),
        502
    );
    assert_eq!(s.get("/v1/me").await.status().as_u16(), 200);
    // Delete by id; bad rules are refused.
    let r = s
        .http
        .delete(s.url(&format!("/_sim/faults/{rid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["deleted"], 1);
    for bad in [
        json!({"route": "nowhere", "fault": {"kind": "status", "status": 500}}),
        json!({"route": "me", "nth": 0, "fault": {"kind": "status", "status": 500}}),
        json!({"route": "me", "fault": {"kind": "explode"}}),
    ] {
        s.control_refused("/_sim/faults", bad).await;
    }
    assert_eq!(s.stats().await["faults_fired"], 4);
}

#[tokio::test]
async fn latency_fixed_range_and_per_route() {
    let s = sim().await;
    s.control("/_sim/settings", json!({"latency": {"fixed": {"ms": 150}}}))
        .await;
    let t = Instant::now();
    assert_eq!(s.get("/v1/me").await.status().as_u16(), 200);
    assert!(t.elapsed() >= Duration::from_millis(140));
    s.control("/_sim/settings", json!({"latency": {"range": {"min_ms": 50, "max_ms": 80}}, "route_latency": {"ping": "none"}})).await;
    let t = Instant::now();
    s.get("/v1/me").await;
    let e = t.elapsed();
    assert!(
        e >= Duration::from_millis(48) && e < Duration::from_millis(1000),
        "{e:?}"
    );
    let t = Instant::now();
    s.get("/v1/ping").await;
    assert!(t.elapsed() < Duration::from_millis(45));
    let log = s.control_get("/_sim/requests?route=me").await;
    let ms: Vec<u64> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["latency_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(ms[0], 150);
    assert!((50..=80).contains(&ms[1]));
}
