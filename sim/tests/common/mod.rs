//! Shared helpers of the simulator's tests (`mod common;`; holds no test itself).
#![allow(dead_code)]

use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use shoppingfeed_sim::harness::TestSim;
use shoppingfeed_sim::{Order, SimConfig};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const TOKEN: &str = "t0k3n-abcdefghijklmnopqrstuvwxyz";
pub const STORE: i64 = 1276;

/// A [`TestSim`] with the test token and store, plus the `/v1` calls the tests repeat.
pub struct Sim(TestSim);

impl std::ops::Deref for Sim {
    type Target = TestSim;
    fn deref(&self) -> &TestSim {
        &self.0
    }
}

/// A simulator with one token/store and orders 111, 222, 333 (REF-<id>, amazon).
pub async fn sim() -> Sim {
    sim_with(SimConfig::new(TOKEN, STORE)).await
}

pub async fn sim_with(config: SimConfig) -> Sim {
    let config = config
        .with_orders((1..=3).map(|i| Order::new(i * 111, format!("REF-{}", i * 111), "amazon")));
    Sim(TestSim::start(config).await)
}

/// A client that opens a new connection for every request.
pub fn fresh_client(timeout_ms: u64) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(timeout_ms))
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

impl Sim {
    pub async fn shutdown(self) {
        self.0.shutdown().await;
    }

    /// POST an operation with the test token.
    pub async fn op_raw(&self, op: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/v1/store/{STORE}/order/{op}")))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .expect("operation request")
    }

    /// POST an operation, expect 202, return the body.
    pub async fn op(&self, op: &str, body: Value) -> Value {
        let r = self.op_raw(op, body).await;
        assert_eq!(r.status().as_u16(), 202);
        r.json().await.expect("202 json")
    }

    /// Ship the given order ids; returns the batch id.
    pub async fn ship(&self, ids: &[i64]) -> String {
        let orders: Vec<Value> = ids
            .iter()
            .map(|id| json!({"id": id, "carrier": "ups", "trackingNumber": format!("TN{id}"), "trackingLink": "", "items": [], "warehouseId": null}))
            .collect();
        let v = self.op("ship", json!({ "order": orders })).await;
        v["id"].as_str().expect("batch id").to_string()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("GET")
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let r = self.get(path).await;
        let s = r.status().as_u16();
        let text = r.text().await.expect("body");
        (
            s,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// One page-1 poll of a batch.
    pub async fn poll(&self, batch: &str) -> Value {
        let (s, v) = self
            .get_json(&format!(
                "/v1/store/{STORE}/ticket?batchId={batch}&page=1&limit=200"
            ))
            .await;
        assert_eq!(s, 200, "{v}");
        v
    }

    /// States of a batch's tickets after one poll, in order.
    pub async fn poll_states(&self, batch: &str) -> Vec<String> {
        let v = self.poll(batch).await;
        tickets(&v)
            .iter()
            .map(|t| t["state"].as_str().unwrap_or("?").to_string())
            .collect()
    }
}

pub fn tickets(collection: &Value) -> Vec<Value> {
    collection["_embedded"]["ticket"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The `shoppingfeed-sim` binary Cargo built for these tests.
pub const BINARY: &str = env!("CARGO_BIN_EXE_shoppingfeed-sim");

/// Runs the binary; returns it and the address its first stdout line gives.
pub async fn start_binary(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(BINARY)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn binary");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    tokio::time::timeout(
        Duration::from_secs(20),
        BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .expect("first line in time")
    .expect("read line");
    (child, line.trim().to_string())
}
