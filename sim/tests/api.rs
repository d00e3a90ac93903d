//! The `/v1` endpoints of the simulator over real HTTP: shapes, auth, validation, paging.

mod common;

use common::*;
use serde_json::{json, Value};
use shoppingfeed_sim::{Order, SimConfig};

#[tokio::test]
async fn ping_needs_no_auth_and_returns_a_timestamp() {
    let s = sim().await;
    let v: Value = s
        .http
        .get(s.url("/v1/ping"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ts = v["timestamp"].as_i64().unwrap();
    assert!((ts - chrono::Utc::now().timestamp()).abs() < 60);
}

#[tokio::test]
async fn auth_password_flow() {
    let s = sim_with(SimConfig::new(TOKEN, STORE).with_user("merchant", "secret", TOKEN)).await;
    let post = |body: Value| s.http.post(s.url("/v1/auth")).json(&body).send();
    let r = post(json!({"grant_type": "password", "username": " merchant ", "password": "secret"}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["access_token"], TOKEN);
    assert_eq!(v["token_type"], "Bearer");

    let r = post(json!({"grant_type": "password", "username": "merchant", "password": "wrong"}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["detail"], "Invalid username or password");

    let r = post(json!({"grant_type": "client_credentials"}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["detail"], "Invalid grant type");
}

#[tokio::test]
async fn me_lists_the_stores_of_the_token() {
    let s = sim_with(
        SimConfig::new(TOKEN, STORE)
            .with_account(TOKEN, 99)
            .with_account("other", 5),
    )
    .await;
    let (status, v) = s.get_json("/v1/me").await;
    assert_eq!(status, 200);
    assert_eq!(v["token"], TOKEN);
    let ids: Vec<i64> = v["_embedded"]["store"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| st["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![STORE, 99]);
    let store = &v["_embedded"]["store"][0];
    assert_eq!(store["status"], "active");
    assert_eq!(store["_links"]["order"]["templated"], true);
    assert_eq!(
        store["_links"]["ticket"]["href"],
        format!("/v1/store/{STORE}/ticket")
    );
    assert!(v["_embedded"]["account"][0]["id"].is_i64());
}

#[tokio::test]
async fn bad_or_missing_token_is_403_problem() {
    let s = sim().await;
    for req in [
        s.http.get(s.url("/v1/me")),
        s.http.get(s.url("/v1/me")).bearer_auth("nope"),
        s.http.get(s.url("/v1/me")).header("Authorization", TOKEN),
        s.http
            .get(s.url(&format!("/v1/store/{STORE}/ticket")))
            .bearer_auth("nope"),
        s.http
            .post(s.url(&format!("/v1/store/{STORE}/order/ship")))
            .bearer_auth("nope")
            .json(&json!({"order": [{"id": 111}]})),
    ] {
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 403);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["detail"], "Service not authorized");
        assert_eq!(v["title"], "Forbidden");
        assert_eq!(v["status"], 403);
        assert_eq!(
            v["type"],
            "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
        );
    }
    // Nothing was processed.
    assert_eq!(s.stats().await["batches"], 0);
}

#[tokio::test]
async fn store_the_token_cannot_reach_is_403_or_404_by_setting() {
    let s = sim_with(SimConfig::new(TOKEN, STORE).with_account("other", 5)).await;
    let path = "/v1/store/5/ticket?batchId=x";
    assert_eq!(s.get(path).await.status().as_u16(), 403);
    s.control("/_sim/settings", json!({"unreachable_store_status": 404}))
        .await;
    assert_eq!(s.get(path).await.status().as_u16(), 404);
    s.control_refused("/_sim/settings", json!({"unreachable_store_status": 500}))
        .await;
}

#[tokio::test]
async fn every_operation_answers_202_and_makes_a_typed_ticket() {
    let s = sim().await;
    let cases = [
        (
            "acknowledge",
            json!({"id": 111, "status": "success", "storeReference": "PS-1", "acknowledgedAt": "2025-03-12T10:15:00+01:00", "message": ""}),
            "order.acknowledge",
        ),
        ("unacknowledge", json!({"id": 111}), "order.unacknowledge"),
        (
            "accept",
            json!({"id": 111, "reason": ""}),
            "order.notify.acceptance",
        ),
        ("refuse", json!({"id": 111}), "order.notify.refusal"),
        (
            "ship",
            json!({"id": 111, "carrier": "ups", "trackingNumber": "1Z", "trackingLink": "https://t/1Z", "items": [{"id": 1, "quantity": 1}], "warehouseId": null, "returnInfo": {"carrier": "dhl", "trackingNumber": null}}),
            "order.notify.shipment",
        ),
        (
            "cancel",
            json!({"id": 111, "reason": ""}),
            "order.notify.cancellation",
        ),
        (
            "refund",
            json!({"id": 111, "refund": {"shipping": true, "products": [{"reference": "SKU", "quantity": 1}]}}),
            "order.notify.refund",
        ),
        ("deliver", json!({"id": 111}), "order.notify.delivery"),
    ];
    for (op, item, ticket_type) in cases {
        let v = s.op(op, json!({"order": [item.clone()]})).await;
        let batch = v["id"].as_str().unwrap();
        assert_eq!(batch.len(), 24, "{op}");
        assert!(batch.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            v["_links"]["ticket"]["href"],
            format!("/v1/store/{STORE}/ticket?batchId={batch}")
        );
        assert!(v.get("report").is_none(), "{op}: {v}");
        let c = s.poll(batch).await;
        let t = &tickets(&c)[0];
        assert_eq!(t["type"], ticket_type, "{op}");
        assert_eq!(t["batchId"], batch);
        assert_eq!(t["payload"]["id"], 111);
        assert_eq!(t["payload"]["reference"], "REF-111");
        assert_eq!(t["payload"]["channelName"], "amazon");
        // Submitted fields are echoed.
        for (k, val) in item.as_object().unwrap() {
            assert_eq!(&t["payload"][k], val, "{op}.{k}");
        }
        assert_eq!(
            t["_links"]["self"]["href"],
            format!("/v1/store/{STORE}/ticket/{}", t["id"].as_str().unwrap())
        );
    }
    assert_eq!(s.stats().await["batches"], 8);
}

#[tokio::test]
async fn legacy_reference_and_channel_identifier_resolves_the_order() {
    let s = sim().await;
    let v = s
        .op(
            "cancel",
            json!({"order": [{"reference": "REF-222", "channelName": "amazon", "reason": ""}]}),
        )
        .await;
    let c = s.poll(v["id"].as_str().unwrap()).await;
    assert_eq!(tickets(&c)[0]["payload"]["id"], 222);
    // Wrong channel: unknown order.
    let v = s
        .op(
            "cancel",
            json!({"order": [{"reference": "REF-222", "channelName": "ebay"}]}),
        )
        .await;
    assert_eq!(v["report"][0]["reference"], "REF-222");
    assert_eq!(v["report"][0]["channelName"], "ebay");
    assert_eq!(v["report"][0]["id"], Value::Null);
    assert_eq!(v["report"][0]["state"], "ignored");
}

#[tokio::test]
async fn unknown_orders_are_reported_ignored_unless_auto_create_is_on() {
    let s = sim().await;
    let v = s
        .op(
            "cancel",
            json!({"order": [{"id": 111, "reason": ""}, {"id": 999999, "reason": ""}]}),
        )
        .await;
    let report = v["report"].as_array().unwrap();
    assert_eq!(report.len(), 1);
    assert_eq!(
        report[0],
        json!({"id": 999999, "channelName": null, "reference": null, "state": "ignored", "message": "Order not found"})
    );
    let c = s.poll(v["id"].as_str().unwrap()).await;
    assert_eq!(c["total"], 1);

    s.control("/_sim/settings", json!({"auto_create_orders": true}))
        .await;
    let v = s
        .op("cancel", json!({"order": [{"id": 999999, "reason": ""}]}))
        .await;
    assert!(v.get("report").is_none());
    assert_eq!(s.order(999999).await["id"], 999999);
}

#[tokio::test]
async fn order_of_another_store_is_unknown() {
    let s = sim_with(SimConfig::new(TOKEN, STORE).with_account(TOKEN, 2)).await;
    let mut o = Order::new(5000, "R5000", "amazon");
    o.store_id = Some(2);
    s.handle.seed_orders([o]);
    let v = s.op("ship", json!({"order": [{"id": 5000}]})).await;
    assert_eq!(v["report"][0]["id"], 5000);
    let (st, _) = s.get_json("/v1/store/1276/order/5000").await;
    assert_eq!(st, 404);
    let (st, v) = s.get_json("/v1/store/2/order/5000").await;
    assert_eq!(st, 200);
    assert_eq!(v["reference"], "R5000");
}

async fn expect_400(s: &Sim, op: &str, body: Value, path: &str, code: &str) {
    let r = s.op_raw(op, body.clone()).await;
    assert_eq!(r.status().as_u16(), 400, "{body}");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["detail"], "Validation failed", "{v}");
    let msgs = v["validationMessages"].as_array().unwrap();
    assert!(
        msgs.iter()
            .any(|m| m.get(path).is_some_and(|e| e.get(code).is_some())),
        "expected {path}/{code} in {v}"
    );
}

#[tokio::test]
async fn operation_bodies_are_validated() {
    let s = sim().await;
    expect_400(
        &s,
        "ship",
        json!({"order": [{"id": 111, "tracking_number": "x"}]}),
        "order[0].tracking_number",
        "snakeCase",
    )
    .await;
    expect_400(
        &s,
        "ship",
        json!({"order": [{"reference": "R", "channel_name": "amazon"}]}),
        "order[0].channel_name",
        "snakeCase",
    )
    .await;
    expect_400(
        &s,
        "ship",
        json!({"order": [{"carrier": "ups"}]}),
        "order[0]",
        "noIdentifier",
    )
    .await;
    expect_400(
        &s,
        "ship",
        json!({"order": [{"reference": "REF-111"}]}),
        "order[0]",
        "noIdentifier",
    )
    .await;
    expect_400(
        &s,
        "ship",
        json!({"order": [{"id": "111"}]}),
        "order[0].id",
        "notInt",
    )
    .await;
    expect_400(
        &s,
        "ship",
        json!({"order": [{"id": 111, "items": [{"id": "1", "quantity": 1}]}]}),
        "order[0].items[0].id",
        "invalidType",
    )
    .await;
    expect_400(
        &s,
        "ship",
        json!({"order": [{"id": 111, "items": [{"id": 1, "quantity": 1.5}]}]}),
        "order[0].items[0].quantity",
        "invalidType",
    )
    .await;
    expect_400(
        &s,
        "refund",
        json!({"order": [{"id": 111, "refund": {"shipping": "yes", "products": []}}]}),
        "order[0].refund.shipping",
        "invalidType",
    )
    .await;
    expect_400(&s, "refund", json!({"order": [{"id": 111, "refund": {"shipping": true, "products": [{"reference": 5, "quantity": 1}]}}]}), "order[0].refund.products[0].reference", "invalidType").await;
    expect_400(
        &s,
        "acknowledge",
        json!({"order": [{"id": 111, "status": "ok"}]}),
        "order[0].status",
        "notInArray",
    )
    .await;
    expect_400(
        &s,
        "acknowledge",
        json!({"order": [{"id": 111, "acknowledgedAt": "yesterday"}]}),
        "order[0].acknowledgedAt",
        "invalidDate",
    )
    .await;
    expect_400(&s, "cancel", json!({"order": []}), "order", "isEmpty").await;
    expect_400(
        &s,
        "cancel",
        json!({"orders": [{"id": 1}]}),
        "orders",
        "unknownKey",
    )
    .await;
    expect_400(
        &s,
        "cancel",
        json!({"order": {"id": 111}}),
        "order",
        "notArray",
    )
    .await;
    expect_400(&s, "cancel", json!([{"id": 111}]), "", "notObject").await;
    let many: Vec<Value> = (0..101).map(|i| json!({"id": i})).collect();
    expect_400(&s, "cancel", json!({"order": many}), "order", "tooMany").await;
    let hundred: Vec<Value> = (0..100).map(|i| json!({"id": i})).collect();
    assert_eq!(
        s.op_raw("cancel", json!({"order": hundred}))
            .await
            .status()
            .as_u16(),
        202
    );

    // Not JSON, or not labelled JSON.
    let url = s.url(&format!("/v1/store/{STORE}/order/ship"));
    let r = s
        .http
        .post(&url)
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{\"order\":")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = s
        .http
        .post(&url)
        .bearer_auth(TOKEN)
        .header("content-type", "text/plain")
        .body("{\"order\":[{\"id\":111}]}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // Unknown operation.
    let r = s.op_raw("explode", json!({"order": [{"id": 111}]})).await;
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["detail"],
        "Resource does not exist"
    );
    // Nothing but the 100-order request was processed.
    assert_eq!(s.stats().await["batches"], 1);
}

#[tokio::test]
async fn single_ticket_get_and_404() {
    let s = sim().await;
    let b = s.ship(&[111]).await;
    let c = s.control_get(&format!("/_sim/tickets?batchId={b}")).await;
    let id = c["tickets"][0]["id"].as_str().unwrap().to_string();
    let (st, t) = s.get_json(&format!("/v1/store/{STORE}/ticket/{id}")).await;
    assert_eq!(st, 200);
    assert_eq!(t["id"], id.as_str());
    assert_eq!(t["state"], "running");
    let (st, t) = s.get_json(&format!("/v1/store/{STORE}/ticket/{id}")).await;
    assert_eq!((st, t["state"].as_str()), (200, Some("succeed")));
    assert!(t["finishedAt"].is_string());
    let r = s
        .get(&format!("/v1/store/{STORE}/ticket/doesnotexist"))
        .await;
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v,
        json!({"type": "http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html", "title": "Not Found", "detail": "Resource does not exist", "status": 404})
    );
}

#[tokio::test]
async fn ticket_list_pages_with_next_links_and_caps_limit() {
    let s = sim_with(SimConfig::new(TOKEN, STORE).with_auto_create_orders(true)).await;
    let ids: Vec<i64> = (1..=100).collect();
    let batch = s.ship(&ids).await;
    // limit above 200 is capped.
    let (_, v) = s
        .get_json(&format!(
            "/v1/store/{STORE}/ticket?batchId={batch}&limit=500"
        ))
        .await;
    assert_eq!(v["limit"], 200);
    assert_eq!(v["count"], 100);
    assert!(v["_links"].get("next").is_none());
    // Walk pages of 30 through next links.
    let mut href = format!("/v1/store/{STORE}/ticket?batchId={batch}&page=1&limit=30");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (st, v) = s.get_json(&href).await;
        assert_eq!(st, 200);
        pages += 1;
        assert_eq!(v["total"], 100);
        assert_eq!(v["pages"], 4);
        assert_eq!(v["page"], pages);
        assert!(v["_links"]["self"]["href"]
            .as_str()
            .unwrap()
            .contains(&format!("batchId={batch}")));
        for t in tickets(&v) {
            seen.push(t["payload"]["id"].as_i64().unwrap());
        }
        if pages > 1 {
            assert!(v["_links"].get("prev").is_some());
        }
        match v["_links"].get("next") {
            Some(n) => href = n["href"].as_str().unwrap().to_string(),
            None => break,
        }
    }
    assert_eq!(pages, 4);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, ids, "every ticket once");
    assert_eq!(seen.len(), 100);
    // Bad paging values.
    for q in ["limit=0", "limit=abc", "page=0"] {
        let (st, _) = s
            .get_json(&format!("/v1/store/{STORE}/ticket?batchId={batch}&{q}"))
            .await;
        assert_eq!(st, 400, "{q}");
    }
    // Default limit.
    let (_, v) = s
        .get_json(&format!("/v1/store/{STORE}/ticket?batchId={batch}"))
        .await;
    assert_eq!(v["limit"], 20);
}

#[tokio::test]
async fn ticket_list_filters_and_processing_meta() {
    let s = sim().await;
    s.control(
        "/_sim/outcomes",
        json!({"order_id": 222, "outcome": "failed", "message": "nope"}),
    )
    .await;
    let ship = s.ship(&[111, 222]).await;
    let cancel = s
        .op("cancel", json!({"order": [{"id": 333, "reason": ""}]}))
        .await;
    let cancel = cancel["id"].as_str().unwrap();
    let v = s.poll(&ship).await;
    assert_eq!(v["meta"]["processing"], true);
    let v = s.poll(&ship).await;
    assert_eq!(v["meta"]["processing"], false);
    assert_eq!(s.poll_states(cancel).await, vec!["running"]);

    let s = &s;
    let list = |q: String| async move {
        let (st, v) = s.get_json(&format!("/v1/store/{STORE}/ticket?{q}")).await;
        assert_eq!(st, 200);
        v
    };
    let v = list(format!("batchId={ship}&state=failed")).await;
    assert_eq!(v["total"], 1);
    assert_eq!(tickets(&v)[0]["payload"]["id"], 222);
    assert_eq!(tickets(&v)[0]["result"]["message"], "nope");
    let v = list(format!("batchId={ship}&state=succeed,failed")).await;
    assert_eq!(v["total"], 2);
    let v = list("state=processed&page=2".to_string()).await; // page 2: not a poll
    assert_eq!(v["total"], 2);
    let v = list("state=processing&page=2".to_string()).await;
    assert_eq!(v["total"], 1);
    assert_eq!(v["meta"]["processing"], true);
    let v = list("type=order.notify.cancellation&page=2".to_string()).await;
    assert_eq!(v["total"], 1);
    let v = list("type=order.notify.shipment&payloadId=111".to_string()).await;
    assert_eq!(v["total"], 1);
    assert_eq!(tickets(&v)[0]["payload"]["id"], 111);
    assert!(v["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .contains("payloadId=111"));
    let v = list("batchId=ffffffffffffffffffffffff".to_string()).await;
    assert_eq!(v["total"], 0);
    let (st, _) = s
        .get_json(&format!("/v1/store/{STORE}/ticket?state=done"))
        .await;
    assert_eq!(st, 400);
}

#[tokio::test]
async fn order_resource_reflects_ticket_effects() {
    let s = sim().await;
    let mut o = Order::new(444, "REF-444", "cdiscount");
    o.items = vec![shoppingfeed_sim::OrderItem {
        id: 1,
        reference: "SKU-1".into(),
        quantity: 2,
    }];
    s.handle.seed_orders([o]);
    let b = s
        .op(
            "ship",
            json!({"order": [{"id": 444, "items": [{"id": 1, "quantity": 1}]}]}),
        )
        .await;
    let b = b["id"].as_str().unwrap().to_string();
    s.poll(&b).await;
    s.poll(&b).await;
    let (st, v) = s.get_json(&format!("/v1/store/{STORE}/order/444")).await;
    assert_eq!(st, 200);
    assert_eq!(v["status"], "partially_shipped");
    assert_eq!(v["_embedded"]["channel"]["name"], "cdiscount");

    let b = s.op("acknowledge", json!({"order": [{"id": 111, "status": "success", "storeReference": "PS-9", "acknowledgedAt": "2025-03-12T10:15:00+01:00", "message": ""}]})).await;
    let b = b["id"].as_str().unwrap().to_string();
    s.poll(&b).await;
    s.poll(&b).await;
    let o = s.order(111).await;
    assert_eq!(o["storeReference"], "PS-9");
    assert_eq!(o["acknowledgedAt"], "2025-03-12T10:15:00+01:00");

    let b = s.op("acknowledge", json!({"order": [{"id": 222, "status": "error", "storeReference": "", "acknowledgedAt": "2025-03-12T10:15:00+01:00", "message": "cannot import"}]})).await;
    let b = b["id"].as_str().unwrap().to_string();
    s.poll(&b).await;
    assert_eq!(s.poll_states(&b).await, vec!["succeed"]);
    let o = s.order(222).await;
    assert_eq!(o["acknowledgedAt"], Value::Null);
    assert_eq!(o["errors"][0]["type"], "acknowledge");
    assert_eq!(o["errors"][0]["message"], "cannot import");

    for (op, item, status) in [
        (
            "refund",
            json!({"id": 333, "refund": {"shipping": true, "products": []}}),
            "refunded",
        ),
        ("cancel", json!({"id": 333, "reason": ""}), "cancelled"),
        ("refuse", json!({"id": 333}), "refused"),
        (
            "accept",
            json!({"id": 333, "reason": ""}),
            "waiting_shipment",
        ),
    ] {
        let b = s.op(op, json!({"order": [item]})).await;
        let b = b["id"].as_str().unwrap().to_string();
        s.poll(&b).await;
        s.poll(&b).await;
        assert_eq!(s.order(333).await["status"], status, "{op}");
    }
    let (st, _) = s.get_json(&format!("/v1/store/{STORE}/order/424242")).await;
    assert_eq!(st, 404);
}

fn multipart(files: &[usize], body: &str) -> (String, Vec<u8>) {
    let boundary = "simboundary1234";
    let mut out = Vec::new();
    for (i, size) in files.iter().enumerate() {
        out.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"files[]\"; filename=\"f{i}.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes());
        out.extend_from_slice(&b"%PDF-"[..(*size).min(5)]);
        out.extend(std::iter::repeat_n(b'%', size.saturating_sub(5)));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n{body}\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), out)
}

#[tokio::test]
async fn upload_documents_multipart_and_413() {
    let s = sim().await;
    let url = s.url(&format!("/v1/store/{STORE}/order/upload-documents"));
    let body = r#"{"order":[{"id":111,"reference":null,"channelName":null,"documents":[{"type":"invoice"}]}]}"#;
    let (ct, data) = multipart(&[1000], body);
    let r = s
        .http
        .post(&url)
        .bearer_auth(TOKEN)
        .header("content-type", ct)
        .body(data)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let v: Value = r.json().await.unwrap();
    let c = s.poll(v["id"].as_str().unwrap()).await;
    assert_eq!(tickets(&c)[0]["type"], "order.notify.upload-documents");
    assert_eq!(tickets(&c)[0]["payload"]["documents"][0]["type"], "invoice");

    // One file per document, PDF only.
    for (ct, data) in [multipart(&[10, 10], body), {
        let (ct, data) = multipart(&[10], body);
        let data = String::from_utf8(data)
            .unwrap()
            .replace("%PDF-", "GIF89")
            .into_bytes();
        (ct, data)
    }] {
        let r = s
            .http
            .post(&url)
            .bearer_auth(TOKEN)
            .header("content-type", ct)
            .body(data)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
    }

    let (ct, data) = multipart(&[2 * 1024 * 1024 + 1], body);
    let r = s
        .http
        .post(&url)
        .bearer_auth(TOKEN)
        .header("content-type", ct)
        .body(data)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);

    let (ct, data) = multipart(&[10; 21], body);
    let r = s
        .http
        .post(&url)
        .bearer_auth(TOKEN)
        .header("content-type", ct)
        .body(data)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    let bad = r#"{"order":[{"id":111,"documents":[{"type":"receipt"}]}]}"#;
    let (ct, data) = multipart(&[10], bad);
    let r = s
        .http
        .post(&url)
        .bearer_auth(TOKEN)
        .header("content-type", ct)
        .body(data)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    let r = s
        .http
        .post(&url)
        .bearer_auth(TOKEN)
        .json(&json!({"order": [{"id": 111}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

#[tokio::test]
async fn unknown_path_is_404_problem() {
    let s = sim().await;
    let r = s.get("/v2/whatever").await;
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}
