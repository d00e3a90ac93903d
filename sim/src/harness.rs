//! Test support (feature `harness`): a simulator started in-process, with a client of its `/_sim/`
//! control API over real HTTP. Used by the simulator's own tests and by the product's.
//!
//! These are test helpers: a failure panics with the simulator's answer, as an assertion would.

use std::time::Duration;

use serde_json::Value;

use crate::{spawn, SimConfig, SimHandle};

/// A running simulator and an HTTP client for its control API.
pub struct TestSim {
    pub handle: SimHandle,
    /// A plain client (10 s timeout), also usable for raw `/v1` requests.
    pub http: reqwest::Client,
    base: String,
}

impl TestSim {
    /// Starts a simulator on `127.0.0.1:0` (unless `config.listen` says otherwise).
    pub async fn start(config: SimConfig) -> TestSim {
        let handle = spawn(config)
            .await
            .unwrap_or_else(|e| panic!("the simulator does not start: {e}"));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|e| panic!("no HTTP client: {e}"));
        TestSim {
            base: handle.base_url(),
            handle,
            http,
        }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `POST` a control route; asserts 200 and returns the JSON answer.
    pub async fn control(&self, path: &str, body: Value) -> Value {
        let request = self.http.post(self.url(path)).json(&body);
        answer("POST", path, request, 200).await
    }

    /// `POST` a control route that must refuse `body`; asserts 400 and returns the problem.
    pub async fn control_refused(&self, path: &str, body: Value) -> Value {
        let request = self.http.post(self.url(path)).json(&body);
        answer("POST", path, request, 400).await
    }

    /// `GET` a control route; asserts 200 and returns the JSON answer.
    pub async fn control_get(&self, path: &str) -> Value {
        answer("GET", path, self.http.get(self.url(path)), 200).await
    }

    /// Adds a fault rule (docs/simulator.md §3); returns its id.
    pub async fn fault(&self, rule: Value) -> u64 {
        let v = self.control("/_sim/faults", rule).await;
        v["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("a fault rule without an id: {v}"))
    }

    /// The logged requests of one route class (`me`, `order_op`, `ticket_list`, ...), oldest first.
    pub async fn requests(&self, route: &str) -> Vec<Value> {
        let v = self
            .control_get(&format!("/_sim/requests?route={route}"))
            .await;
        v["requests"].as_array().cloned().unwrap_or_default()
    }

    /// The simulator's view of an order (status, `errors`, ...).
    pub async fn order(&self, id: i64) -> Value {
        self.control_get(&format!("/_sim/orders/{id}")).await
    }

    pub async fn stats(&self) -> Value {
        self.control_get("/_sim/stats").await
    }

    pub async fn shutdown(self) {
        self.handle.shutdown().await;
    }
}

async fn answer(
    method: &str,
    path: &str,
    request: reqwest::RequestBuilder,
    expected: u16,
) -> Value {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = response.status().as_u16();
    let text = response
        .text()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: no body: {e}"));
    assert_eq!(status, expected, "{method} {path}: {text}");
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"))
}
