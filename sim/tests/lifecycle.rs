//! Ticket life cycle and outcomes over HTTP: polls, clock, wall time (F18), invisible (F8),
//! stuck (F9), failed (F10), canceled (F11), vanishing (F12), mixed (F17).

mod common;

use common::*;
use serde_json::json;
use shoppingfeed_sim::{Lifecycle, SimConfig};

#[tokio::test]
async fn polls_mode_one_step_per_poll_by_default() {
    let s = sim().await;
    let b = s.ship(&[111]).await;
    let raw = s.control_get(&format!("/_sim/tickets?batchId={b}")).await;
    assert_eq!(raw["tickets"][0]["state"], "scheduled");
    assert_eq!(raw["tickets"][0]["startedAt"], serde_json::Value::Null);
    assert_eq!(s.poll_states(&b).await, vec!["running"]);
    assert_eq!(s.poll_states(&b).await, vec!["succeed"]);
    assert_eq!(s.poll_states(&b).await, vec!["succeed"]);
    assert_eq!(s.order(111).await["status"], "shipped");
}

#[tokio::test]
async fn polls_per_step_is_configurable() {
    let s = sim_with(
        SimConfig::new(TOKEN, STORE).with_lifecycle(Lifecycle::Polls { polls_per_step: 2 }),
    )
    .await;
    let b = s.ship(&[111]).await;
    let states: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.extend(s.poll_states(&b).await);
        }
        v
    };
    assert_eq!(states, vec!["scheduled", "running", "running", "succeed"]);
    s.control(
        "/_sim/settings",
        json!({"lifecycle": {"mode": "polls", "polls_per_step": 0}}),
    )
    .await;
    let b = s.ship(&[222]).await;
    assert_eq!(s.poll_states(&b).await, vec!["succeed"]);
}

#[tokio::test]
async fn later_pages_do_not_count_as_polls() {
    let s = sim_with(SimConfig::new(TOKEN, STORE).with_auto_create_orders(true)).await;
    let b = s.ship(&[1, 2, 3]).await;
    let page2 = format!("/v1/store/{STORE}/ticket?batchId={b}&page=2&limit=2");
    for _ in 0..3 {
        let (_, v) = s.get_json(&page2).await;
        assert_eq!(tickets(&v)[0]["state"], "scheduled");
    }
    assert_eq!(s.poll_states(&b).await, vec!["running"; 3]);
}

#[tokio::test]
async fn clock_mode_moves_only_with_advance() {
    let s = sim_with(
        SimConfig::new(TOKEN, STORE).with_lifecycle(Lifecycle::Clock {
            seconds_per_step: 10.0,
        }),
    )
    .await;
    let b = s.ship(&[111]).await;
    for _ in 0..3 {
        assert_eq!(s.poll_states(&b).await, vec!["scheduled"]);
    }
    s.control("/_sim/clock/advance", json!({"seconds": 9.5}))
        .await;
    assert_eq!(s.poll_states(&b).await, vec!["scheduled"]);
    s.control("/_sim/clock/advance", json!({"seconds": 0.5}))
        .await;
    assert_eq!(s.poll_states(&b).await, vec!["running"]);
    let v = s
        .control("/_sim/clock/advance", json!({"seconds": 10}))
        .await;
    assert!(v["elapsed_seconds"].as_f64().unwrap() >= 20.0);
    // The effect applies on advance, before any poll.
    assert_eq!(s.order(111).await["status"], "shipped");
    let c = s.poll(&b).await;
    let t = &tickets(&c)[0];
    assert_eq!(t["state"], "succeed");
    let started = chrono::DateTime::parse_from_rfc3339(t["startedAt"].as_str().unwrap()).unwrap();
    let finished = chrono::DateTime::parse_from_rfc3339(t["finishedAt"].as_str().unwrap()).unwrap();
    assert_eq!((finished - started).num_seconds(), 10);
    let clock = s.control_get("/_sim/clock").await;
    assert_eq!(clock["lifecycle"]["mode"], "clock");
    s.control_refused("/_sim/clock/advance", json!({"seconds": -1}))
        .await;
}

#[tokio::test]
async fn wall_mode_is_a_slow_ticket_clock_f18() {
    let s = sim_with(
        SimConfig::new(TOKEN, STORE).with_lifecycle(Lifecycle::Wall {
            seconds_per_step: 0.3,
        }),
    )
    .await;
    let b = s.ship(&[111]).await;
    assert_eq!(s.poll_states(&b).await, vec!["scheduled"]);
    assert_eq!(s.poll_states(&b).await, vec!["scheduled"]);
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    assert_eq!(s.poll_states(&b).await, vec!["running"]);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(s.poll_states(&b).await, vec!["succeed"]);
}

#[tokio::test]
async fn invisible_for_first_n_polls_f8() {
    let s = sim().await;
    s.control("/_sim/settings", json!({"invisible_polls": 2}))
        .await;
    let b = s.ship(&[111]).await;
    for _ in 0..2 {
        // Hidden from unfiltered lists while the batch is invisible.
        let (_, all) = s
            .get_json(&format!("/v1/store/{STORE}/ticket?page=2"))
            .await;
        assert_eq!(all["total"], 0);
        let v = s.poll(&b).await;
        assert_eq!(v["total"], 0);
        assert_eq!(tickets(&v).len(), 0);
        assert_eq!(v["meta"]["processing"], false);
    }
    let (_, all) = s
        .get_json(&format!("/v1/store/{STORE}/ticket?page=2&limit=1"))
        .await;
    assert_eq!(all["total"], 1);
    // Invisible polls were not counted as life-cycle polls.
    assert_eq!(s.poll_states(&b).await, vec!["running"]);
    assert_eq!(s.poll_states(&b).await, vec!["succeed"]);
}

#[tokio::test]
async fn failed_with_reason_and_data_f10() {
    let s = sim().await;
    s.control("/_sim/outcomes", json!({"order_id": 111, "operation": "ship", "outcome": "failed", "message": "Carrier 'colissimo' is not accepted by the channel", "data": {"code": 42}})).await;
    let b = s.ship(&[111]).await;
    s.poll(&b).await;
    let c = s.poll(&b).await;
    let t = &tickets(&c)[0];
    assert_eq!(t["state"], "failed");
    assert_eq!(
        t["result"]["message"],
        "Carrier 'colissimo' is not accepted by the channel"
    );
    assert_eq!(t["result"]["data"]["code"], 42);
    assert!(t["finishedAt"].is_string());
    let o = s.order(111).await;
    assert_eq!(o["status"], "waiting_shipment");
    assert_eq!(o["errors"][0]["type"], "ship");
    assert_eq!(
        o["errors"][0]["message"],
        "Carrier 'colissimo' is not accepted by the channel"
    );
    // The rule is per operation: a cancel of the same order succeeds.
    let v = s
        .op("cancel", json!({"order": [{"id": 111, "reason": ""}]}))
        .await;
    let b2 = v["id"].as_str().unwrap().to_string();
    s.poll(&b2).await;
    assert_eq!(s.poll_states(&b2).await, vec!["succeed"]);
}

#[tokio::test]
async fn canceled_f11_and_default_outcome() {
    let s = sim().await;
    s.control("/_sim/outcomes/default", json!({"outcome": "canceled"}))
        .await;
    let b = s.ship(&[111, 222]).await;
    s.poll(&b).await;
    let c = s.poll(&b).await;
    for t in tickets(&c) {
        assert_eq!(t["state"], "canceled");
        assert_eq!(t["result"]["message"], "The task has been refused");
    }
    assert_eq!(s.order(111).await["status"], "waiting_shipment");
    let v = s.control_get("/_sim/outcomes").await;
    assert_eq!(v["default"]["outcome"], "canceled");
    let r = s.http.delete(s.url("/_sim/outcomes")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let b = s.ship(&[333]).await;
    s.poll(&b).await;
    assert_eq!(s.poll_states(&b).await, vec!["succeed"]);
}

#[tokio::test]
async fn stuck_running_or_scheduled_forever_f9() {
    let s = sim().await;
    s.control(
        "/_sim/outcomes",
        json!({"order_id": 111, "outcome": "running"}),
    )
    .await;
    s.control(
        "/_sim/outcomes",
        json!({"reference": "REF-222", "channelName": "amazon", "outcome": "scheduled"}),
    )
    .await;
    let b = s.ship(&[111, 222]).await;
    for _ in 0..10 {
        let v = s.poll(&b).await;
        assert_eq!(v["meta"]["processing"], true);
    }
    assert_eq!(s.poll_states(&b).await, vec!["running", "scheduled"]);
}

#[tokio::test]
async fn ticket_vanishes_f12() {
    let s = sim().await;
    s.control(
        "/_sim/outcomes",
        json!({"order_id": 111, "outcome": "succeed", "vanish": true}),
    )
    .await;
    let b = s.ship(&[111]).await;
    let id = s.control_get(&format!("/_sim/tickets?batchId={b}")).await["tickets"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/store/{STORE}/ticket/{id}");
    let (st, t) = s.get_json(&path).await;
    assert_eq!((st, t["state"].as_str()), (200, Some("running")));
    let (st, _) = s.get_json(&path).await;
    assert_eq!(st, 404);
    assert_eq!(s.poll(&b).await["total"], 0);

    // By hand.
    let b = s.ship(&[222]).await;
    let id = s.control_get(&format!("/_sim/tickets?batchId={b}")).await["tickets"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/store/{STORE}/ticket/{id}");
    assert_eq!(s.get_json(&path).await.0, 200);
    let r = s
        .http
        .delete(s.url(&format!("/_sim/tickets/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(s.get_json(&path).await.0, 404);
}

#[tokio::test]
async fn mixed_outcomes_in_one_batch_f17() {
    let s = sim().await;
    s.control(
        "/_sim/outcomes",
        json!({"order_id": 222, "outcome": "failed", "message": "no"}),
    )
    .await;
    s.control(
        "/_sim/outcomes",
        json!({"order_id": 333, "outcome": "canceled"}),
    )
    .await;
    let b = s.ship(&[111, 222, 333]).await;
    s.poll(&b).await;
    let c = s.poll(&b).await;
    let by_id: std::collections::BTreeMap<i64, String> = tickets(&c)
        .iter()
        .map(|t| {
            (
                t["payload"]["id"].as_i64().unwrap(),
                t["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(by_id[&111], "succeed");
    assert_eq!(by_id[&222], "failed");
    assert_eq!(by_id[&333], "canceled");
    assert_eq!(c["meta"]["processing"], false);
}

#[tokio::test]
async fn outcome_times_then_back_to_default() {
    let s = sim().await;
    let rule = s
        .control(
            "/_sim/outcomes",
            json!({"order_id": 111, "outcome": "failed", "times": 1}),
        )
        .await;
    assert!(rule["id"].as_u64().is_some());
    let b1 = s.ship(&[111]).await;
    let b2 = s.ship(&[111]).await;
    s.poll(&b1).await;
    s.poll(&b2).await;
    assert_eq!(s.poll_states(&b1).await, vec!["failed"]);
    assert_eq!(s.poll_states(&b2).await, vec!["succeed"]);
    assert_eq!(
        s.control_get("/_sim/outcomes").await["rules"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // A rule can be deleted by id.
    let id = s
        .control(
            "/_sim/outcomes",
            json!({"order_id": 222, "outcome": "failed"}),
        )
        .await["id"]
        .as_u64()
        .unwrap();
    let r = s
        .http
        .delete(s.url(&format!("/_sim/outcomes/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["deleted"], 1);
    let b = s.ship(&[222]).await;
    s.poll(&b).await;
    assert_eq!(s.poll_states(&b).await, vec!["succeed"]);
    // A rule needs an order.
    s.control_refused("/_sim/outcomes", json!({"outcome": "failed"}))
        .await;
}
