//! The API client against the real simulator (in-process, over TCP). Faults are injected through
//! the simulator's `/_sim/` HTTP control API; request bodies are read back from its request log.

use std::time::{Duration, Instant};

use serde_json::json;
use shoppingfeed_sim::harness::TestSim;
use shoppingfeed_sim::SimConfig;
use shoppingfeed_sync::api::{
    ApiClient, ApiConfig, ApiError, OperationData, OrderIdentifier, OrderOperation,
};
use shoppingfeed_sync::model::{Operation, TicketState};

const TOKEN: &str = "t0k3n-integration-0123456789abcdef";
const STORE: i64 = 1276;
const OTHER_STORE: i64 = 1277;

/// The simulator (through the shared harness) and clients of the product pointed at it.
struct Env(TestSim);

impl std::ops::Deref for Env {
    type Target = TestSim;
    fn deref(&self) -> &TestSim {
        &self.0
    }
}

impl Env {
    /// A simulator where `TOKEN` reaches `STORE` then `OTHER_STORE`, with orders 1..=400 seeded.
    async fn start() -> Env {
        let config = SimConfig::new(TOKEN, STORE).with_account(TOKEN, OTHER_STORE);
        let env = Env(TestSim::start(config).await);
        env.control(
            "/_sim/orders",
            json!({"range": {"from": 1, "to": 400, "channelName": "alltricks", "referencePrefix": "REF-"}}),
        )
        .await;
        env
    }

    /// A client with fast retries, so that retry tests take milliseconds.
    fn client(&self) -> ApiClient {
        self.client_with(|_| {})
    }

    fn client_with(&self, tweak: impl FnOnce(&mut ApiConfig)) -> ApiClient {
        let mut cfg = ApiConfig::new(self.base_url(), TOKEN);
        cfg.timeout = Duration::from_secs(5);
        cfg.backoff_base = Duration::from_millis(5);
        cfg.max_backoff = Duration::from_millis(20);
        tweak(&mut cfg);
        ApiClient::new(reqwest::Client::new(), cfg)
    }
}

fn ship(id: i64) -> OrderOperation {
    OrderOperation {
        identifier: OrderIdentifier::Id(id),
        data: OperationData::Ship {
            carrier: "colissimo".into(),
            tracking_number: format!("6A{id}"),
            tracking_link: format!("https://www.laposte.fr/suivi?code=6A{id}"),
        },
    }
}

fn cancel(id: i64) -> OrderOperation {
    OrderOperation {
        identifier: OrderIdentifier::Id(id),
        data: OperationData::Cancel {
            reason: String::new(),
        },
    }
}

fn refund(id: i64) -> OrderOperation {
    OrderOperation {
        identifier: OrderIdentifier::Id(id),
        data: OperationData::Refund {
            shipping: true,
            products: Vec::new(),
        },
    }
}

/// Asserts the token shows up in neither the message nor the debug form of an error.
fn assert_no_token(e: &ApiError) {
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(TOKEN), "token leaked: {shown}");
    assert!(
        !shown.contains(&TOKEN[..12]),
        "token prefix leaked: {shown}"
    );
}

#[tokio::test]
async fn ship_cancel_refund_send_the_exact_bodies() {
    let env = Env::start().await;
    let api = env.client();

    let shipped = api
        .send_operation(STORE, Operation::Ship, &[ship(1), ship(2)])
        .await
        .expect("ship accepted");
    let cancelled = api
        .send_operation(STORE, Operation::Cancel, &[cancel(3)])
        .await
        .expect("cancel accepted");
    let legacy = OrderOperation {
        identifier: OrderIdentifier::Reference {
            reference: "REF-4".into(),
            channel_name: "alltricks".into(),
        },
        data: OperationData::Refund {
            shipping: true,
            products: Vec::new(),
        },
    };
    let refunded = api
        .send_operation(STORE, Operation::Refund, &[refund(5), legacy])
        .await
        .expect("refund accepted");
    for b in [&shipped, &cancelled, &refunded] {
        assert!(!b.batch_id.is_empty());
        assert_eq!(b.attempts, 1);
        assert!(b.ignored.is_empty(), "{:?}", b.ignored);
        assert!(b.ticket_href.is_some());
    }
    assert_ne!(shipped.batch_id, cancelled.batch_id);

    let log = env.requests("order_op").await;
    assert_eq!(log.len(), 3, "{log:?}");
    let bodies: Vec<(&str, &str)> = log
        .iter()
        .map(|r| (r["path"].as_str().unwrap(), r["body"].as_str().unwrap()))
        .collect();
    assert_eq!(
        bodies,
        vec![
            (
                "/v1/store/1276/order/ship",
                r#"{"order":[{"id":1,"carrier":"colissimo","trackingNumber":"6A1","trackingLink":"https://www.laposte.fr/suivi?code=6A1","items":[],"warehouseId":null},{"id":2,"carrier":"colissimo","trackingNumber":"6A2","trackingLink":"https://www.laposte.fr/suivi?code=6A2","items":[],"warehouseId":null}]}"#
            ),
            (
                "/v1/store/1276/order/cancel",
                r#"{"order":[{"id":3,"reason":""}]}"#
            ),
            (
                "/v1/store/1276/order/refund",
                r#"{"order":[{"id":5,"refund":{"shipping":true,"products":[]}},{"reference":"REF-4","channelName":"alltricks","refund":{"shipping":true,"products":[]}}]}"#
            ),
        ]
    );
    for r in &log {
        assert_eq!(r["method"], "POST");
        assert!(
            r["content_type"]
                .as_str()
                .unwrap_or("")
                .starts_with("application/json"),
            "{r}"
        );
        assert!(
            r["authorization"]
                .as_str()
                .unwrap_or("")
                .starts_with("Bearer t0k"),
            "{r}"
        );
        assert_eq!(r["status"], 202);
    }

    // The tickets of each batch come back with their type and order.
    let tickets = api
        .tickets_by_batch(STORE, &shipped.batch_id)
        .await
        .expect("tickets");
    let mut ids: Vec<i64> = tickets.iter().filter_map(|t| t.payload.id).collect();
    ids.sort();
    assert_eq!(ids, vec![1, 2]);
    for t in &tickets {
        assert_eq!(t.batch_id, shipped.batch_id);
        assert_eq!(t.ticket_type, "order.notify.shipment");
        assert_eq!(
            t.payload.reference.as_deref(),
            Some(&*format!("REF-{}", t.payload.id.unwrap()))
        );
    }
    let refund_tickets = api
        .tickets_by_batch(STORE, &refunded.batch_id)
        .await
        .unwrap();
    assert_eq!(refund_tickets.len(), 2);
    assert!(refund_tickets
        .iter()
        .all(|t| t.ticket_type == "order.notify.refund"));
    // Single-ticket view agrees with the list.
    let one = api.ticket(STORE, &tickets[0].id).await.expect("one ticket");
    assert_eq!(one.id, tickets[0].id);
    assert_eq!(one.payload.id, tickets[0].payload.id);

    let stats = api.stats();
    assert_eq!(stats.retries, 0);
    assert_eq!(stats.rate_limited, 0);
    assert_eq!(stats.requests, 3 + 2 + 1);
}

#[tokio::test]
async fn tickets_reach_a_terminal_state_through_polling() {
    let env = Env::start().await;
    let api = env.client();
    let b = api
        .send_operation(STORE, Operation::Cancel, &[cancel(10)])
        .await
        .unwrap();
    let mut last = None;
    for _ in 0..10 {
        let t = api.tickets_by_batch(STORE, &b.batch_id).await.unwrap();
        if let Some(t) = t.first() {
            if t.state.is_terminal() {
                last = Some(t.clone());
                break;
            }
        }
    }
    let t = last.expect("ticket becomes terminal");
    assert_eq!(t.state, TicketState::Succeed);
    assert!(t.finished_at.is_some());
}

#[tokio::test]
async fn store_resolution_configured_unconfigured_unreachable() {
    let env = Env::start().await;
    let api = env.client();
    let me = api.me().await.expect("me");
    let ids: Vec<i64> = me.stores.iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![STORE, OTHER_STORE]);
    assert_eq!(me.stores[0].name, format!("sim-store-{STORE}"));
    assert!(!format!("{me:?}").contains(TOKEN));

    // A fresh client: resolution calls /v1/me once, then answers from its cache (across clones).
    let api = env.client();
    let before = env.requests("me").await.len();
    assert_eq!(api.resolve_store(None).await.unwrap(), STORE);
    assert_eq!(api.cached_store_id(), Some(STORE));
    let clone = api.clone();
    assert_eq!(
        clone.resolve_store(Some(OTHER_STORE)).await.unwrap(),
        OTHER_STORE
    );
    let e = clone.resolve_store(Some(999)).await.unwrap_err();
    assert!(
        matches!(&e, ApiError::StoreNotReachable { store_id: 999, available } if available == &vec![STORE, OTHER_STORE]),
        "{e:?}"
    );
    assert!(e.to_string().contains("999"));
    assert!(!e.is_retryable());
    assert_eq!(
        env.requests("me").await.len(),
        before + 1,
        "/v1/me is cached"
    );

    // A token that reaches no store.
    env.control(
        "/_sim/accounts",
        json!({"token": "lonely-token-xyz", "stores": []}),
    )
    .await;
    let lonely = ApiClient::new(
        reqwest::Client::new(),
        ApiConfig::new(env.base_url(), "lonely-token-xyz"),
    );
    let e = lonely.resolve_store(None).await.unwrap_err();
    assert!(matches!(e, ApiError::NoStore), "{e:?}");
}

#[tokio::test]
async fn bad_token_is_forbidden_without_retry_and_without_leaking() {
    let env = Env::start().await;
    let secret = "wrong-token-abcdef0123456789";
    let api = ApiClient::new(
        reqwest::Client::new(),
        ApiConfig::new(env.base_url(), secret),
    );
    let e = api.me().await.unwrap_err();
    match &e {
        ApiError::Forbidden { status, detail, .. } => {
            assert_eq!(*status, 403);
            assert_eq!(detail.as_deref(), Some("Service not authorized"));
        }
        other => panic!("expected Forbidden, got {other:?}"),
    }
    assert!(e.is_auth());
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("Service not authorized"), "{e}");
    let shown = format!("{e} {e:?} {api:?}");
    assert!(!shown.contains(secret), "{shown}");
    assert_eq!(api.stats().requests, 1, "a 403 is not retried");

    // The operation route says the same.
    let e = api
        .send_operation(STORE, Operation::Ship, &[ship(1)])
        .await
        .unwrap_err();
    assert!(e.is_auth(), "{e:?}");
}

#[tokio::test]
async fn paging_follows_next_links_without_duplicates() {
    let env = Env::start().await;
    // Pages of 30 make 100 tickets span 4 pages (the client asks 200; the server caps).
    env.control("/_sim/settings", json!({"max_limit": 30}))
        .await;
    let api = env.client();
    let orders: Vec<_> = (101..=200).map(cancel).collect();
    let b = api
        .send_operation(STORE, Operation::Cancel, &orders)
        .await
        .unwrap();
    let before = env.requests("ticket_list").await.len();
    let tickets = api.tickets_by_batch(STORE, &b.batch_id).await.unwrap();
    assert_eq!(tickets.len(), 100);
    let mut ids: Vec<i64> = tickets.iter().filter_map(|t| t.payload.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids, (101..=200).collect::<Vec<_>>());
    let log = env.requests("ticket_list").await;
    let pages = &log[before..];
    assert_eq!(pages.len(), 4, "{pages:?}");
    let first = pages[0]["query"].as_str().unwrap();
    assert!(
        first.contains(&format!("batchId={}", b.batch_id)),
        "{first}"
    );
    assert!(first.contains("page=1"), "{first}");
    assert!(first.contains("limit=200"), "{first}");
    assert!(pages[3]["query"].as_str().unwrap().contains("page=4"));
}

#[tokio::test]
async fn more_than_200_tickets_across_batches_and_pages() {
    let env = Env::start().await;
    env.control("/_sim/settings", json!({"max_limit": 200}))
        .await;
    let api = env.client();
    let mut total = 0;
    for chunk in [(1..=100), (101..=200), (201..=300)] {
        let orders: Vec<_> = chunk.map(ship).collect();
        let b = api
            .send_operation(STORE, Operation::Ship, &orders)
            .await
            .unwrap();
        let t = api.tickets_by_batch(STORE, &b.batch_id).await.unwrap();
        assert_eq!(t.len(), 100);
        assert!(t.iter().all(|t| t.batch_id == b.batch_id));
        total += t.len();
    }
    assert_eq!(total, 300);
}

#[tokio::test]
async fn empty_batch_collection_is_not_yet_not_an_error() {
    let env = Env::start().await;
    env.control("/_sim/settings", json!({"invisible_polls": 2}))
        .await;
    let api = env.client();
    let b = api
        .send_operation(STORE, Operation::Ship, &[ship(7)])
        .await
        .unwrap();
    assert!(api
        .tickets_by_batch(STORE, &b.batch_id)
        .await
        .unwrap()
        .is_empty());
    assert!(api
        .tickets_by_batch(STORE, &b.batch_id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        api.tickets_by_batch(STORE, &b.batch_id)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn rate_limit_wait_is_honoured() {
    let env = Env::start().await;
    env.fault(json!({"route": "me", "first": 1, "fault": {"kind": "rate_limit", "wait": 0.6}}))
        .await;
    let api = env.client();
    let started = Instant::now();
    api.me().await.expect("succeeds after the wait");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    let s = api.stats();
    assert_eq!((s.requests, s.retries, s.rate_limited), (2, 1, 1));
}

#[tokio::test]
async fn rate_limit_without_a_usable_header_waits_one_second() {
    let env = Env::start().await;
    env.fault(json!({"route": "me", "first": 1, "fault": {"kind": "rate_limit", "wait": "soon"}}))
        .await;
    let api = env.client();
    let started = Instant::now();
    api.me().await.expect("succeeds after the default wait");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn rate_limit_cap_gives_a_typed_error() {
    let env = Env::start().await;
    env.fault(json!({"route": "ticket_get", "fault": {"kind": "rate_limit", "wait": 0.02}}))
        .await;
    let api = env.client_with(|c| c.rate_limit_max_attempts = 3);
    let e = api.ticket(STORE, "whatever").await.unwrap_err();
    match &e {
        ApiError::RateLimited { attempts, body, .. } => {
            assert_eq!(*attempts, 3);
            assert!(body.contains("Too"), "{body}");
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(e.is_retryable());
    assert_eq!(env.requests("ticket_get").await.len(), 3);
    assert_eq!(api.stats().rate_limited, 3);
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let env = Env::start().await;
    env.fault(json!({"route": "order_op", "first": 2, "fault": {"kind": "status", "status": 503}}))
        .await;
    let api = env.client();
    let b = api
        .send_operation(STORE, Operation::Ship, &[ship(20)])
        .await
        .expect("third attempt succeeds");
    assert_eq!(b.attempts, 3);
    let s = api.stats();
    assert_eq!((s.requests, s.retries, s.post_retries), (3, 2, 2));
    assert_eq!(env.requests("order_op").await.len(), 3);
}

#[tokio::test]
async fn server_errors_exhaust_the_attempts() {
    let env = Env::start().await;
    env.fault(
        json!({"route": "ticket_list", "fault": {"kind": "status", "status": 502, "body": "html"}}),
    )
    .await;
    let api = env.client_with(|c| c.max_attempts = 3);
    let e = api.tickets_by_batch(STORE, "b1").await.unwrap_err();
    match &e {
        ApiError::Http {
            status,
            attempts,
            body,
            ..
        } => {
            assert_eq!(*status, 502);
            assert_eq!(*attempts, 3);
            assert!(body.to_lowercase().contains("<html"), "{body}");
        }
        other => panic!("expected Http, got {other:?}"),
    }
    assert!(e.is_retryable());
    assert_eq!(env.requests("ticket_list").await.len(), 3);
}

#[tokio::test]
async fn a_validation_error_is_final_and_shows_its_details() {
    let env = Env::start().await;
    env.fault(json!({"route": "order_op", "fault": {"kind": "status", "status": 400, "body": "validation"}}))
        .await;
    let api = env.client();
    let e = api
        .send_operation(STORE, Operation::Ship, &[ship(21)])
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ApiError::Http {
                status: 400,
                attempts: 1,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    assert!(
        e.detail().unwrap_or("").contains("Validation failed"),
        "{e:?}"
    );
    assert_eq!(api.stats().requests, 1);
}

#[tokio::test]
async fn a_hung_server_times_out() {
    let env = Env::start().await;
    env.fault(json!({"route": "ticket_get", "fault": {"kind": "hang"}}))
        .await;
    let api = env.client_with(|c| {
        c.timeout = Duration::from_millis(300);
        c.max_attempts = 2;
    });
    let started = Instant::now();
    let e = api.ticket(STORE, "t1").await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(
            e,
            ApiError::Timeout {
                attempts: 2,
                timeout_ms: 300,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_retryable());
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    assert!(e.to_string().contains("300 ms"), "{e}");
}

#[tokio::test]
async fn a_dropped_response_to_a_post_is_retried_and_counted() {
    let env = Env::start().await;
    env.fault(json!({"route": "order_op", "first": 1, "fault": {"kind": "drop_response"}}))
        .await;
    let api = env.client();
    let b = api
        .send_operation(STORE, Operation::Cancel, &[cancel(30)])
        .await
        .expect("retry succeeds");
    assert_eq!(b.attempts, 2);
    assert_eq!(api.stats().post_retries, 1);
    // The first POST was processed too: two batches exist for the order, which the API tolerates.
    let stats = env.stats().await;
    assert_eq!(stats["batches"], 2, "{stats}");
}

#[tokio::test]
async fn posts_are_not_resent_when_disabled() {
    let env = Env::start().await;
    env.fault(json!({"route": "order_op", "first": 1, "fault": {"kind": "status", "status": 500}}))
        .await;
    let api = env.client_with(|c| c.retry_posts = false);
    let e = api
        .send_operation(STORE, Operation::Cancel, &[cancel(31)])
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ApiError::Http {
                status: 500,
                attempts: 1,
                ..
            }
        ),
        "{e:?}"
    );
    // GETs still retry.
    env.fault(json!({"route": "me", "first": 1, "fault": {"kind": "status", "status": 500}}))
        .await;
    api.me().await.expect("GET retried");
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    // A port that was just free: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cfg = ApiConfig::new(format!("http://127.0.0.1:{port}"), TOKEN);
    cfg.backoff_base = Duration::from_millis(5);
    cfg.max_attempts = 3;
    let api = ApiClient::new(reqwest::Client::new(), cfg);
    let e = api
        .send_operation(STORE, Operation::Ship, &[ship(1)])
        .await
        .unwrap_err();
    match &e {
        ApiError::Transport {
            connect,
            attempts,
            message,
            ..
        } => {
            assert!(*connect);
            assert_eq!(*attempts, 3);
            assert!(!message.is_empty());
        }
        other => panic!("expected Transport, got {other:?}"),
    }
    assert!(e.is_retryable());
    // The POST never reached a server: no duplicate is possible, none is counted.
    assert_eq!(api.stats().post_retries, 0);
    assert_no_token(&e);
}

#[tokio::test]
async fn refused_then_accepted_connections_recover() {
    let env = Env::start().await;
    env.control("/_sim/connections/refuse", json!({"count": 2}))
        .await;
    let api = env.client();
    api.me().await.expect("third connection is served");
    assert_eq!(api.stats().retries, 2);
}

#[tokio::test]
async fn malformed_bodies_are_decode_errors_with_the_raw_body() {
    let env = Env::start().await;
    let api = env.client_with(|c| c.max_attempts = 1);
    let b = api
        .send_operation(STORE, Operation::Ship, &[ship(40)])
        .await
        .unwrap();

    for (variant, check) in [
        ("truncated", "{" as &str),
        ("html", "<"),
        ("wrong_type", "[]"),
        ("invalid_utf8", "\u{fffd}"),
    ] {
        let rule = json!({"route": "ticket_list", "first": 1, "fault": {"kind": "malformed", "variant": variant}});
        env.fault(rule).await;
        let e = api.tickets_by_batch(STORE, &b.batch_id).await.unwrap_err();
        match &e {
            ApiError::Decode { body, status, .. } => {
                assert_eq!(*status, 200, "{variant}");
                assert!(body.contains(check), "{variant}: {body}");
            }
            other => panic!("{variant}: expected Decode, got {other:?}"),
        }
        assert!(!e.is_retryable());
    }
    // The next, unfaulted poll works.
    assert_eq!(
        api.tickets_by_batch(STORE, &b.batch_id)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_truncated_me_body_does_not_leak_the_token() {
    let env = Env::start().await;
    env.fault(json!({"route": "me", "fault": {"kind": "malformed", "variant": "truncated"}}))
        .await;
    let api = env.client();
    let e = api.me().await.unwrap_err();
    assert!(matches!(e, ApiError::Decode { .. }), "{e:?}");
    assert_no_token(&e);
}

#[tokio::test]
async fn accepted_without_batch_id() {
    let env = Env::start().await;
    env.fault(json!({"route": "order_op", "fault": {"kind": "strip_fields", "fields": ["id"]}}))
        .await;
    let api = env.client();
    let e = api
        .send_operation(STORE, Operation::Ship, &[ship(50)])
        .await
        .unwrap_err();
    match &e {
        ApiError::MissingBatchId { body, .. } => assert!(body.contains("_links"), "{body}"),
        other => panic!("expected MissingBatchId, got {other:?}"),
    }
    assert!(e.to_string().contains("batch id"), "{e}");
}

#[tokio::test]
async fn ignored_orders_are_reported() {
    let env = Env::start().await;
    env.fault(json!({"route": "order_op", "order_id": 61, "fault": {"kind": "ignore", "message": "Order not found"}}))
        .await;
    let api = env.client();
    // 61 is ignored by the fault; 999999 is unknown to the simulator.
    let b = api
        .send_operation(
            STORE,
            Operation::Cancel,
            &[cancel(60), cancel(61), cancel(999_999)],
        )
        .await
        .unwrap();
    let mut ignored: Vec<(Option<i64>, String)> = b
        .ignored
        .iter()
        .map(|i| (i.id, i.message.clone()))
        .collect();
    ignored.sort();
    assert_eq!(ignored.len(), 2, "{ignored:?}");
    assert_eq!(ignored[0], (Some(61), "Order not found".to_string()));
    assert_eq!(ignored[1].0, Some(999_999));
    assert!(!ignored[1].1.is_empty());
    let tickets = api.tickets_by_batch(STORE, &b.batch_id).await.unwrap();
    let ids: Vec<_> = tickets.iter().filter_map(|t| t.payload.id).collect();
    assert_eq!(ids, vec![60]);
}

#[tokio::test]
async fn unknown_ticket_is_not_found() {
    let env = Env::start().await;
    let api = env.client();
    let e = api.ticket(STORE, "doesnotexist").await.unwrap_err();
    match &e {
        ApiError::NotFound { path, detail, body } => {
            assert_eq!(path, "/v1/store/1276/ticket/doesnotexist");
            assert!(detail.is_some(), "{body}");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(!e.is_retryable());
    assert_eq!(api.stats().requests, 1);
    // An id with reserved characters stays one path segment.
    let e = api.ticket(STORE, "a/b?c").await.unwrap_err();
    assert!(matches!(e, ApiError::NotFound { .. }), "{e:?}");
    let log = env.requests("ticket_get").await;
    assert_eq!(
        log.last().unwrap()["path"],
        "/v1/store/1276/ticket/a%2Fb%3Fc"
    );
}

#[tokio::test]
async fn vanished_ticket_is_not_found() {
    let env = Env::start().await;
    let api = env.client();
    let b = api
        .send_operation(STORE, Operation::Ship, &[ship(70)])
        .await
        .unwrap();
    let t = api.tickets_by_batch(STORE, &b.batch_id).await.unwrap();
    let id = t[0].id.clone();
    api.ticket(STORE, &id).await.expect("exists");
    let resp = env
        .http
        .delete(env.url(&format!("/_sim/tickets/{id}")))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let e = api.ticket(STORE, &id).await.unwrap_err();
    assert!(matches!(e, ApiError::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn concurrency_is_bounded_across_clones() {
    let env = Env::start().await;
    env.control(
        "/_sim/settings",
        json!({"route_latency": {"me": {"fixed": {"ms": 200}}}}),
    )
    .await;
    let api = env.client_with(|c| c.concurrency = 2);
    let started = Instant::now();
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let c = api.clone();
            async move { c.me().await }
        })
        .collect();
    let mut set = tokio::task::JoinSet::new();
    for call in calls {
        set.spawn(call);
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    // 6 requests, 2 at a time, 200 ms each: at least 3 rounds.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    assert_eq!(api.stats().requests, 6);
}

#[tokio::test]
async fn the_token_never_appears_in_errors() {
    let env = Env::start().await;
    let api = env.client_with(|c| c.max_attempts = 1);
    let mut errors = Vec::new();
    env.fault(json!({"route": "ticket_list", "first": 1, "fault": {"kind": "status", "status": 500, "body": "empty"}}))
        .await;
    errors.push(api.tickets_by_batch(STORE, "x").await.unwrap_err());
    errors.push(api.ticket(STORE, "nope").await.unwrap_err());
    errors.push(api.resolve_store(Some(5)).await.unwrap_err());
    errors.push(
        api.send_operation(STORE, Operation::Ship, &[cancel(1)])
            .await
            .unwrap_err(),
    );
    for e in &errors {
        assert_no_token(e);
    }
    let shown = format!("{api:?} {:?}", api.config());
    assert!(!shown.contains(TOKEN), "{shown}");
}

#[tokio::test]
async fn a_connection_reset_is_retried() {
    let env = Env::start().await;
    let api = env.client();
    let b = api
        .send_operation(STORE, Operation::Ship, &[ship(80)])
        .await
        .unwrap();
    // GET: reset after half the body.
    env.fault(
        json!({"route": "ticket_list", "first": 1, "fault": {"kind": "reset", "mid_body": true}}),
    )
    .await;
    assert_eq!(
        api.tickets_by_batch(STORE, &b.batch_id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(api.stats().retries, 1);
    // POST: reset before any answer; the request may have been read, so the resend is counted.
    env.fault(json!({"route": "order_op", "first": 1, "fault": {"kind": "reset"}}))
        .await;
    let b2 = api
        .send_operation(STORE, Operation::Ship, &[ship(81)])
        .await
        .expect("resent");
    assert_eq!(b2.attempts, 2);
    assert_eq!(api.stats().post_retries, 1);
}

#[tokio::test]
async fn a_429_pauses_every_clone() {
    let env = Env::start().await;
    env.fault(json!({"route": "me", "first": 1, "fault": {"kind": "rate_limit", "wait": 0.8}}))
        .await;
    let api = env.client();
    let other = api.clone();
    let throttled = tokio::spawn(async move { api.me().await });
    // Until the first call has received its 429 (and paused the clones: the counter and the
    // pause are set with no await between them), however long a loaded machine takes.
    let deadline = Instant::now() + Duration::from_secs(10);
    while other.stats().rate_limited == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    other.ticket(STORE, "nope").await.unwrap_err();
    let waited = started.elapsed();
    throttled.await.unwrap().expect("me after the wait");
    assert!(waited >= Duration::from_millis(400), "{waited:?}");
    assert_eq!(other.stats().rate_limited, 1);
}
