//! The `shoppingfeed-sim` binary: address on the first stdout line, clean exit on signals.

mod common;

use std::time::Duration;

use common::{start_binary, BINARY};
use serde_json::Value;
use tokio::process::Child;

fn signal(child: &Child, sig: &str) {
    let pid = child.id().expect("pid").to_string();
    let status = std::process::Command::new("kill")
        .args([sig, &pid])
        .status()
        .expect("kill");
    assert!(status.success());
}

async fn exit_code(mut child: Child) -> Option<i32> {
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits in time")
        .expect("wait");
    status.code()
}

#[tokio::test]
async fn prints_address_serves_and_exits_cleanly_on_sigterm() {
    let (child, addr) = start_binary(&[
        "--listen",
        "127.0.0.1:0",
        "--token",
        "tA",
        "--store",
        "1",
        "--store",
        "2",
        "--token",
        "tB",
        "--store",
        "3",
    ])
    .await;
    let sock: std::net::SocketAddr = addr.parse().expect("first line is an address");
    assert_eq!(sock.ip().to_string(), "127.0.0.1");
    assert_ne!(sock.port(), 0);
    let http = reqwest::Client::new();
    let me: Value = http
        .get(format!("http://{addr}/v1/me"))
        .bearer_auth("tA")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stores: Vec<i64> = me["_embedded"]["store"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(stores, vec![1, 2]);
    let r = http
        .get(format!("http://{addr}/v1/store/1/ticket"))
        .bearer_auth("tB")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    signal(&child, "-TERM");
    assert_eq!(exit_code(child).await, Some(0));
}

#[tokio::test]
async fn exits_cleanly_on_sigint_with_a_hung_request() {
    let (child, addr) = start_binary(&[
        "--listen",
        "127.0.0.1:0",
        "--token",
        "t",
        "--store",
        "7",
        "--latency-ms",
        "1-2",
        "--polls-per-step",
        "0",
    ])
    .await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("http://{addr}/_sim/faults"))
        .json(&serde_json::json!({"route": "me", "fault": {"kind": "hang"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let url = format!("http://{addr}/v1/me");
    let hung = tokio::spawn(async move {
        reqwest::Client::new()
            .get(url)
            .bearer_auth("t")
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    signal(&child, "-INT");
    assert_eq!(exit_code(child).await, Some(0));
    let _ = hung.await;
}

#[tokio::test]
async fn seeds_orders_from_a_file_and_rejects_bad_arguments() {
    let dir = std::env::temp_dir().join(format!("sim-orders-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("orders.json");
    std::fs::write(
        &file,
        r#"{"orders":[{"id":42,"reference":"R42","channelName":"amazon"}]}"#,
    )
    .unwrap();
    let (child, addr) = start_binary(&[
        "--token",
        "t",
        "--store",
        "7",
        "--orders",
        file.to_str().unwrap(),
    ])
    .await;
    let o: Value = reqwest::get(format!("http://{addr}/_sim/orders/42"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(o["reference"], "R42");
    signal(&child, "-TERM");
    assert_eq!(exit_code(child).await, Some(0));

    for args in [
        vec!["--store", "1"],
        vec!["--token", "t"],
        vec!["--listen", "nope"],
        vec!["--bogus"],
        vec!["--token", "t", "--store", "x"],
    ] {
        let out = std::process::Command::new(BINARY)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(!out.stderr.is_empty());
    }
    let out = std::process::Command::new(BINARY)
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--listen"));
}
