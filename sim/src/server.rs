//! Server assembly: shared state, the per-request pipeline (log, latency, faults), spawn.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::conn::{ConnCtl, SimListener};
use crate::faults::{strip_path, FaultKind, Malformation, RequestOrders};
use crate::model::{classify, RouteKind};
use crate::problem::{error_body, problem, raw};
use crate::state::{redact_authorization, rfc3339, ForcedIgnore, Latency, LogEntry, SimState};
use crate::wire::Operation;
use crate::{control, routes, SimConfig};

/// Largest request body read (upload-documents carries up to 20 files of 2 MB, plus slack).
const MAX_BODY: usize = 64 * 1024 * 1024;
/// Bodies longer than this are cut in the request log.
const LOG_BODY_MAX: usize = 64 * 1024;

pub struct Shared {
    state: Mutex<SimState>,
    pub refuse: Arc<AtomicU32>,
    pub shutdown: watch::Receiver<bool>,
    pub config: SimConfig,
}

impl Shared {
    /// Locks the state; a panic elsewhere must not wedge the simulator, so poison is ignored.
    pub fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Resolves once shutdown is requested (or the handle is gone).
    pub async fn until_shutdown(&self) {
        let mut rx = self.shutdown.clone();
        let _ = rx.wait_for(|v| *v).await;
    }
}

/// Builds the initial state from the configuration (also used by reset).
pub fn initial_state(config: &SimConfig) -> SimState {
    let mut st = SimState::new(Default::default());
    st.settings.latency = config.latency;
    st.settings.auto_create_orders = config.auto_create_orders;
    st.settings.lifecycle = config.lifecycle;
    for (token, store) in &config.accounts {
        st.add_account(token, *store);
    }
    st.users = config.users.clone();
    for o in &config.orders {
        st.seed_order(o.clone());
    }
    st
}

/// Per-request data the pipeline hands to handlers.
#[derive(Debug, Clone, Default)]
pub struct RequestCtx {
    pub forced_ignore: ForcedIgnore,
}

fn latency_ms(st: &mut SimState, route: RouteKind) -> u64 {
    let l = st
        .settings
        .route_latency
        .get(&route)
        .copied()
        .unwrap_or(st.settings.latency);
    match l {
        Latency::None => 0,
        Latency::Fixed { ms } => ms,
        Latency::Range { min_ms, max_ms } => {
            let (lo, hi) = (min_ms.min(max_ms), min_ms.max(max_ms));
            lo + st.rng.next_u64() % (hi - lo + 1)
        }
    }
}

/// The orders a request concerns, for fault rules with an order matcher.
fn request_orders(
    st: &SimState,
    route: RouteKind,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> RequestOrders {
    let mut out = RequestOrders::default();
    let last = path.rsplit('/').next().unwrap_or("");
    let add_ticket = |out: &mut RequestOrders, idx: usize| {
        if let Some(t) = st.tickets.get(idx) {
            out.ids.push(t.order_id);
            if let Some(r) = t.payload.get("reference").and_then(Value::as_str) {
                out.references.push(r.to_string());
            }
        }
    };
    match route {
        RouteKind::OrderOp => {
            if let Ok(v) = serde_json::from_slice::<Value>(body) {
                for o in v
                    .get("order")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(id) = o.get("id").and_then(Value::as_i64) {
                        out.ids.push(id);
                        if let Some(order) = st.orders.get(&id) {
                            out.references.push(order.reference.clone());
                        }
                    }
                    if let Some(r) = o.get("reference").and_then(Value::as_str) {
                        out.references.push(r.to_string());
                    }
                }
            }
        }
        RouteKind::TicketGet => {
            if let Some(&idx) = st.ticket_index.get(last) {
                add_ticket(&mut out, idx);
            }
        }
        RouteKind::TicketList => {
            for pair in query.unwrap_or("").split('&') {
                match pair.split_once('=') {
                    Some(("payloadId", v)) => out.ids.extend(v.parse::<i64>().ok()),
                    Some(("batchId", v)) => {
                        if let Some(b) = st.batches.get(v) {
                            for &idx in &b.tickets {
                                add_ticket(&mut out, idx);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        RouteKind::OrderGet => {
            if let Ok(id) = last.parse::<i64>() {
                out.ids.push(id);
                if let Some(o) = st.orders.get(&id) {
                    out.references.push(o.reference.clone());
                }
            }
        }
        _ => {}
    }
    out
}

struct Decision {
    seq: u64,
    fault: Option<FaultKind>,
    ctx: RequestCtx,
    latency: u64,
}

fn decide(
    st: &mut SimState,
    parts: &axum::http::request::Parts,
    route: RouteKind,
    op: Option<Operation>,
    body: &Bytes,
) -> Decision {
    let path = parts.uri.path();
    let query = parts.uri.query();
    let seq = st.next_seq;
    st.next_seq += 1;
    st.stats.requests_total += 1;
    *st.stats.per_route.entry(route).or_default() += 1;
    if let Some(op) = op {
        *st.stats
            .per_operation
            .entry(op.as_str().to_string())
            .or_default() += 1;
    }
    let orders = if st.faults.iter().any(|f| f.needs_orders()) {
        request_orders(st, route, path, query, body)
    } else {
        RequestOrders::default()
    };
    let mut fault = None;
    let mut ignore = ForcedIgnore::Nothing;
    let mut fired = 0;
    for rule in st.faults.iter_mut() {
        if !rule.selects(route, op, &orders) || !rule.count_and_fire() {
            continue;
        }
        fired += 1;
        match &rule.fault {
            FaultKind::Ignore { message } => {
                let msg = message.clone().unwrap_or_else(|| "Order ignored".into());
                if rule.needs_orders() {
                    let mut list = match std::mem::take(&mut ignore) {
                        ForcedIgnore::Orders(l) => l,
                        _ => Vec::new(),
                    };
                    list.push((rule.order_id, rule.reference.clone(), msg));
                    ignore = ForcedIgnore::Orders(list);
                } else {
                    ignore = ForcedIgnore::All(msg);
                }
            }
            other => {
                if fault.is_none() {
                    fault = Some(other.clone());
                }
            }
        }
    }
    st.stats.faults_fired += fired;
    let latency = latency_ms(st, route);
    let body_text = if body.len() > LOG_BODY_MAX {
        format!(
            "{}…(truncated, {} bytes)",
            String::from_utf8_lossy(&body[..LOG_BODY_MAX]),
            body.len()
        )
    } else {
        String::from_utf8_lossy(body).into_owned()
    };
    let header_str = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let entry = LogEntry {
        seq,
        at: rfc3339(chrono::Utc::now()),
        method: parts.method.as_str().to_string(),
        path: path.to_string(),
        query: query.map(str::to_string),
        route,
        operation: op,
        authorization: header_str(header::AUTHORIZATION).map(|h| redact_authorization(&h)),
        content_type: header_str(header::CONTENT_TYPE),
        body: body_text,
        status: None,
        fault: fault.as_ref().map(|f| f.name().to_string()),
        latency_ms: latency,
    };
    st.push_log(entry);
    Decision {
        seq,
        fault,
        ctx: RequestCtx {
            forced_ignore: ignore,
        },
        latency,
    }
}

async fn body_bytes(resp: Response) -> (axum::http::response::Parts, Bytes) {
    let (parts, body) = resp.into_parts();
    let bytes = to_bytes(body, MAX_BODY).await.unwrap_or_default();
    (parts, bytes)
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// Logs, delays and breaks `/v1` requests as the settings and fault rules say.
async fn pipeline(
    State(sh): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnCtl>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let (route, _store, op) = classify(parts.method.as_str(), parts.uri.path());
    if route == RouteKind::Control {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let Ok(bytes) = to_bytes(body, MAX_BODY).await else {
        return problem(413, "Request body too large");
    };
    let d = {
        let mut st = sh.lock();
        decide(&mut st, &parts, route, op, &bytes)
    };
    if d.latency > 0 {
        tokio::time::sleep(Duration::from_millis(d.latency)).await;
    }
    // The log shows no status for a response the client never receives.
    let lost = matches!(
        d.fault,
        Some(FaultKind::DropResponse { .. } | FaultKind::Reset { mid_body: false })
    );
    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.extensions_mut().insert(d.ctx);
    let resp = match d.fault {
        None => next.run(req).await,
        Some(FaultKind::Status {
            status,
            body,
            detail,
        }) => error_body(status, body, detail.as_deref()),
        Some(FaultKind::RateLimit { wait }) => {
            let mut r = problem(429, "Too many requests");
            let value = match wait {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s),
                Some(other) => Some(other.to_string()),
            };
            if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                r.headers_mut().insert("X-RateLimit-Wait", v);
            }
            r
        }
        Some(FaultKind::Hang { seconds }) => {
            match seconds {
                Some(s) => {
                    tokio::select! {
                        _ = tokio::time::sleep(secs(s)) => {}
                        _ = sh.until_shutdown() => {}
                    }
                }
                None => sh.until_shutdown().await,
            }
            next.run(req).await
        }
        Some(FaultKind::DropResponse { after_seconds }) => {
            let r = next.run(req).await;
            if let Some(s) = after_seconds {
                tokio::select! {
                    _ = tokio::time::sleep(secs(s)) => {}
                    _ = sh.until_shutdown() => {}
                }
            }
            conn.drop_response();
            r
        }
        Some(FaultKind::Reset { mid_body: false }) => {
            conn.drop_response();
            Response::new(Body::empty())
        }
        Some(FaultKind::Reset { mid_body: true }) => {
            let (p, b) = body_bytes(next.run(req).await).await;
            conn.cut_after_body_bytes(b.len() / 2);
            Response::from_parts(p, Body::from(b))
        }
        Some(FaultKind::Malformed { variant }) => {
            let (p, b) = body_bytes(next.run(req).await).await;
            let status = p.status.as_u16();
            match variant {
                Malformation::Truncated => {
                    raw(status, "application/json", b[..b.len() / 2].to_vec())
                }
                Malformation::Html => raw(
                    status,
                    "text/html; charset=UTF-8",
                    b"<html><body><h1>Maintenance</h1></body></html>".to_vec(),
                ),
                Malformation::InvalidUtf8 => raw(
                    status,
                    "application/json",
                    vec![b'{', b'"', 0xff, 0xfe, 0xc3, b'"', b':', b'1', b'}'],
                ),
                Malformation::WrongType => raw(status, "application/json", b"[]".to_vec()),
            }
        }
        Some(FaultKind::StripFields { fields }) => {
            let (mut p, b) = body_bytes(next.run(req).await).await;
            match serde_json::from_slice::<Value>(&b) {
                Ok(mut v) => {
                    for f in &fields {
                        strip_path(&mut v, f);
                    }
                    p.headers.remove(header::CONTENT_LENGTH);
                    Response::from_parts(p, Body::from(v.to_string()))
                }
                Err(_) => Response::from_parts(p, Body::from(b)),
            }
        }
        Some(FaultKind::Ignore { .. }) => next.run(req).await,
    };
    if !lost {
        let status = resp.status().as_u16();
        let mut st = sh.lock();
        *st.stats.per_status.entry(status).or_default() += 1;
        if let Some(e) = st.log_entry_mut(d.seq) {
            e.status = Some(status);
        }
    }
    resp
}

/// The whole application router.
pub fn router(shared: Arc<Shared>) -> Router {
    let v1 = Router::new()
        .route("/v1/ping", get(routes::ping))
        .route("/v1/auth", post(routes::auth))
        .route("/v1/me", get(routes::me))
        .route(
            "/v1/store/{store}/order/{op}",
            post(routes::order_op).get(routes::order_get),
        )
        .route("/v1/store/{store}/ticket", get(routes::ticket_list))
        .route("/v1/store/{store}/ticket/{id}", get(routes::ticket_get));
    v1.merge(control::router())
        .fallback(routes::fallback)
        .layer(middleware::from_fn_with_state(shared.clone(), pipeline))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

/// A running simulator.
pub struct SimHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl SimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Seeds orders directly (same effect as `POST /_sim/orders`).
    pub fn seed_orders(&self, orders: impl IntoIterator<Item = crate::Order>) {
        let mut st = self.shared.lock();
        for o in orders {
            st.seed_order(o);
        }
    }

    /// Number of requests received per route class (control routes excluded).
    pub fn request_count(&self, route: RouteKind) -> u64 {
        let st = self.shared.lock();
        match route {
            RouteKind::Any => st.stats.requests_total,
            r => st.stats.per_route.get(&r).copied().unwrap_or(0),
        }
    }

    /// Stops accepting, ends hung requests, and waits (at most 5 s) for the server task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(5), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }

    /// Waits until the server task ends (after `shutdown` was requested elsewhere).
    pub async fn wait(self) -> std::io::Result<()> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }

    /// A sender that stops the server when `true` is sent (used by the binary's signal task).
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

/// Binds `config.listen` (default `127.0.0.1:0`) and serves in a tokio task.
pub async fn spawn(config: SimConfig) -> std::io::Result<SimHandle> {
    let listen = config
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let tcp = TcpListener::bind(listen).await?;
    let addr = tcp.local_addr()?;
    let (stop, rx) = watch::channel(false);
    let refuse = Arc::new(AtomicU32::new(0));
    let shared = Arc::new(Shared {
        state: Mutex::new(initial_state(&config)),
        refuse: refuse.clone(),
        shutdown: rx.clone(),
        config,
    });
    let app = router(shared.clone());
    let listener = SimListener { inner: tcp, refuse };
    let mut rx2 = rx;
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<ConnCtl>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx2.wait_for(|v| *v).await;
        })
        .await
    });
    Ok(SimHandle {
        addr,
        shared,
        stop,
        task,
    })
}
