//! The product's wire names against the simulator's, which come from the API contract and share no
//! code with the product: an operation the client misspells is a path the simulator refuses, a
//! ticket state it misspells is one the client cannot decode. The matches below are exhaustive, so
//! a new operation or state on either side needs its counterpart here.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use shoppingfeed_sim::harness::TestSim;
use shoppingfeed_sim::{Lifecycle, OutcomeKind, SimConfig};
use shoppingfeed_sync::api::{
    ApiClient, ApiConfig, OperationData, OrderIdentifier, OrderOperation,
};
use shoppingfeed_sync::model::{Operation, TicketState};

const TOKEN: &str = "t0k3n-wire-names-0123456789abcdef";
const STORE: i64 = 1276;

/// The simulator's operation for each of the product's.
fn sim_operation(op: Operation) -> shoppingfeed_sim::Operation {
    use shoppingfeed_sim::Operation as S;
    match op {
        Operation::Ship => S::Ship,
        Operation::Cancel => S::Cancel,
        Operation::Refund => S::Refund,
        Operation::Acknowledge => S::Acknowledge,
        Operation::Unacknowledge => S::Unacknowledge,
        Operation::Accept => S::Accept,
        Operation::Refuse => S::Refuse,
        Operation::Deliver => S::Deliver,
        Operation::UploadDocuments => S::UploadDocuments,
    }
}

/// The product's ticket state for each of the simulator's.
fn product_state(state: shoppingfeed_sim::TicketState) -> TicketState {
    use shoppingfeed_sim::TicketState as S;
    match state {
        S::Scheduled => TicketState::Scheduled,
        S::Running => TicketState::Running,
        S::Succeed => TicketState::Succeed,
        S::Failed => TicketState::Failed,
        S::Canceled => TicketState::Canceled,
    }
}

/// The outcome that leaves a ticket in `state` (stuck for the two that are not terminal).
fn outcome_for(state: shoppingfeed_sim::TicketState) -> OutcomeKind {
    use shoppingfeed_sim::TicketState as S;
    match state {
        S::Scheduled => OutcomeKind::Scheduled,
        S::Running => OutcomeKind::Running,
        S::Succeed => OutcomeKind::Succeed,
        S::Failed => OutcomeKind::Failed,
        S::Canceled => OutcomeKind::Canceled,
    }
}

/// What the client can send for an operation; `None`: the client has no data for it.
fn client_data(op: Operation) -> Option<OperationData> {
    match op {
        Operation::Ship => Some(OperationData::Ship {
            carrier: "colissimo".into(),
            tracking_number: "6A0001".into(),
            tracking_link: String::new(),
        }),
        Operation::Cancel => Some(OperationData::Cancel {
            reason: String::new(),
        }),
        Operation::Refund => Some(OperationData::Refund {
            shipping: true,
            products: Vec::new(),
        }),
        Operation::Acknowledge
        | Operation::Unacknowledge
        | Operation::Accept
        | Operation::Refuse
        | Operation::Deliver
        | Operation::UploadDocuments => None,
    }
}

async fn start(config: SimConfig) -> (TestSim, ApiClient) {
    let sim = TestSim::start(config).await;
    sim.control(
        "/_sim/orders",
        json!({"range": {"from": 1, "to": 20, "channelName": "amazon"}}),
    )
    .await;
    let api = ApiClient::new(
        reqwest::Client::new(),
        ApiConfig::new(sim.base_url(), TOKEN),
    );
    (sim, api)
}

/// `POST /v1/store/{STORE}/order/{op}` for order 1 with no operation fields, as the contract
/// shapes it: JSON, or multipart for upload-documents.
async fn post_path(sim: &TestSim, op: Operation) -> reqwest::Response {
    let url = sim.url(&format!("/v1/store/{STORE}/order/{op}"));
    let body = json!({"order": [{"id": 1}]}).to_string();
    let request = sim.http.post(url).bearer_auth(TOKEN);
    let request = if op == Operation::UploadDocuments {
        let b = "wirenames";
        request
            .header("content-type", format!("multipart/form-data; boundary={b}"))
            .body(format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n{body}\r\n--{b}--\r\n"
            ))
    } else {
        request
            .header("content-type", "application/json")
            .body(body)
    };
    request.send().await.unwrap()
}

#[tokio::test]
async fn every_operation_path_of_the_client_is_one_the_api_knows() {
    let (sim, api) = start(SimConfig::new(TOKEN, STORE)).await;
    for op in Operation::ALL {
        match client_data(op) {
            Some(data) => {
                let order = OrderOperation {
                    identifier: OrderIdentifier::Id(1),
                    data,
                };
                let accepted = api.send_operation(STORE, op, &[order]).await;
                assert!(accepted.is_ok(), "{op}: {accepted:?}");
            }
            None => {
                let r = post_path(&sim, op).await;
                let status = r.status().as_u16();
                assert_eq!(status, 202, "{op}: {}", r.text().await.unwrap());
            }
        }
        // The simulator read the path as the same operation.
        let log = sim.requests("order_op").await;
        let last = log.last().unwrap();
        assert_eq!(
            last["operation"],
            sim_operation(op).as_str(),
            "{op}: {last}"
        );
        assert_eq!(last["status"], 202, "{op}");
    }
    let stats = sim.stats().await;
    assert_eq!(stats["batches"], Operation::ALL.len());
}

#[tokio::test]
async fn a_misspelt_operation_is_refused_with_the_api_error() {
    let (sim, _api) = start(SimConfig::new(TOKEN, STORE)).await;
    for wrong in [
        "ships",
        "Ship",
        "upload_documents",
        "acknowledged",
        "cancelled",
    ] {
        let r = sim
            .http
            .post(sim.url(&format!("/v1/store/{STORE}/order/{wrong}")))
            .bearer_auth(TOKEN)
            .json(&json!({"order": [{"id": 1}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404, "{wrong}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["detail"], "Resource does not exist", "{wrong}");
        assert_eq!(problem["status"], 404);
    }
    assert_eq!(sim.stats().await["batches"], 0);
}

#[tokio::test]
async fn every_ticket_state_of_the_api_decodes_to_the_matching_product_state() {
    // Terminal at the first poll, except the outcomes that stay scheduled or running.
    let config =
        SimConfig::new(TOKEN, STORE).with_lifecycle(Lifecycle::Polls { polls_per_step: 0 });
    let (sim, api) = start(config).await;
    let states = shoppingfeed_sim::TicketState::ALL;
    let mut wanted = BTreeMap::new();
    for (i, state) in states.into_iter().enumerate() {
        let order_id = i as i64 + 1;
        sim.control(
            "/_sim/outcomes",
            json!({"order_id": order_id, "outcome": outcome_for(state)}),
        )
        .await;
        wanted.insert(order_id, state);
    }
    let orders: Vec<OrderOperation> = wanted
        .keys()
        .map(|&id| OrderOperation {
            identifier: OrderIdentifier::Id(id),
            data: OperationData::Cancel {
                reason: String::new(),
            },
        })
        .collect();
    let batch = api
        .send_operation(STORE, Operation::Cancel, &orders)
        .await
        .unwrap();
    let tickets = api.tickets_by_batch(STORE, &batch.batch_id).await.unwrap();
    assert_eq!(tickets.len(), states.len());

    // What the simulator sent, in its own names, to be sure every state was on the wire.
    let stored = sim
        .control_get(&format!("/_sim/tickets?batchId={}", batch.batch_id))
        .await;
    let sent: BTreeMap<String, &str> = stored["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["state"].as_str().unwrap(),
            )
        })
        .collect();
    for t in &tickets {
        let order_id = t.payload.id.unwrap();
        let state = wanted[&order_id];
        assert_eq!(sent[&t.id], state.as_str(), "order {order_id}");
        assert_eq!(t.state, product_state(state), "order {order_id}");
        // One ticket at a time decodes the same way.
        let one = api.ticket(STORE, &t.id).await.unwrap();
        assert_eq!(one.state, product_state(state), "order {order_id}");
    }
    let seen: Vec<&str> = sent.values().copied().collect();
    for state in states {
        assert!(seen.contains(&state.as_str()), "{state} never sent");
    }
}
