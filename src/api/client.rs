//! The HTTP client: one retry loop shared by every endpoint, and the endpoints the sync uses.

use std::collections::HashSet;
use std::error::Error as _;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, USER_AGENT};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use tokio::sync::{OnceCell, Semaphore};
use tokio::time::Instant;

use super::error::{error_body, is_retryable_status, ApiError, Problem};
use super::retry::{backoff_delay, rate_limit_wait};
use super::secret::Secret;
use super::types::{
    decode_object, max_orders_per_request, BatchAccepted, BatchWire, Me, OperationData,
    OperationRequest, OrderOperation, StoreRef, Ticket, TicketPageWire, TICKET_PAGE_LIMIT,
};
use crate::model::Operation;

/// What the API may answer with.
const ACCEPT_VALUE: &str = "application/json, application/hal+json, application/problem+json";

/// A ticket collection with more pages than this is treated as a server bug, not followed forever.
const MAX_TICKET_PAGES: usize = 1000;

/// A request body with its content type; the bytes are shared, so a retry does not copy them.
#[derive(Clone)]
struct Body {
    content_type: String,
    bytes: bytes::Bytes,
}

impl Body {
    fn json(bytes: Vec<u8>) -> Self {
        Body {
            content_type: "application/json".into(),
            bytes: bytes::Bytes::from(bytes),
        }
    }
}

/// The multipart body of upload-documents: the `body` part with the JSON order
/// list, then one `files[]` part per document, in the order of the list.
fn upload_body(json: &[u8], orders: &[OrderOperation]) -> Body {
    // Random enough that no PDF contains it by chance; never derived from the content.
    let boundary = format!(
        "sfsync-{:016x}{:016x}",
        std::process::id() as u64 ^ 0x9e37_79b9_7f4a_7c15,
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default()
    );
    let size = json.len()
        + orders
            .iter()
            .map(|o| match &o.data {
                OperationData::Invoice { pdf } => pdf.len() + 200,
                _ => 0,
            })
            .sum::<usize>()
        + 256;
    let mut out: Vec<u8> = Vec::with_capacity(size);
    out.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"body\"\r\nContent-Type: application/json\r\n\r\n").as_bytes(),
    );
    out.extend_from_slice(json);
    for (i, o) in orders.iter().enumerate() {
        if let OperationData::Invoice { pdf } = &o.data {
            out.extend_from_slice(
                format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files[]\"; filename=\"invoice-{i}.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes(),
            );
            out.extend_from_slice(pdf);
        }
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Body {
        content_type: format!("multipart/form-data; boundary={boundary}"),
        bytes: bytes::Bytes::from(out),
    }
}

/// Client settings. `Debug` is safe to log: the token prints as `***`.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// e.g. `https://api.shopping-feed.com` (a path prefix is kept).
    pub base_url: String,
    pub token: Secret,
    /// Per HTTP attempt, from connecting until the body is read.
    pub timeout: Duration,
    /// HTTP attempts per request for 5xx, timeouts and connection errors, including the first.
    pub max_attempts: u32,
    /// The first retry waits about `backoff_base`, then it doubles, capped at `max_backoff`.
    pub backoff_base: Duration,
    pub max_backoff: Duration,
    /// Requests in flight at once, across all clones of the client.
    pub concurrency: usize,
    /// Cap on one `X-RateLimit-Wait` sleep.
    pub rate_limit_max_wait: Duration,
    /// Responses 429 accepted per request, including the first, before [`ApiError::RateLimited`]
    /// (the SDK: 4).
    pub rate_limit_max_attempts: u32,
    /// Retry operation POSTs after a timeout, a reset or a 5xx. The API may have processed the
    /// first one; a duplicate batch is harmless and counted in
    /// [`ApiStats::post_retries`].
    pub retry_posts: bool,
    pub user_agent: String,
}

impl ApiConfig {
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        ApiConfig {
            base_url: base_url.into(),
            token: Secret::new(token),
            timeout: Duration::from_secs(30),
            max_attempts: 4,
            backoff_base: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            concurrency: 8,
            rate_limit_max_wait: Duration::from_secs(30),
            rate_limit_max_attempts: 4,
            retry_posts: true,
            user_agent: format!("shoppingfeed_sync/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Request counters, shared by every clone of a client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiStats {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Requests that were a retry (after a 429, a 5xx, a timeout or a connection error).
    pub retries: u64,
    /// Responses 429 received.
    pub rate_limited: u64,
    /// Operation POSTs re-sent after a failure that the API may have processed anyway
    /// (timeout, reset, 5xx): each one may have produced a duplicate batch.
    pub post_retries: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    post_retries: AtomicU64,
}

struct Inner {
    http: reqwest::Client,
    config: ApiConfig,
    /// The parsed base URL, or why it is invalid (reported by every call, since `new` cannot fail).
    base: Result<Url, String>,
    semaphore: Semaphore,
    /// No request starts before this instant: one 429 pauses every clone, not only the caller.
    throttled_until: Mutex<Option<Instant>>,
    /// The stores of `/v1/me`, fetched once.
    stores: OnceCell<Vec<StoreRef>>,
    store_id: Mutex<Option<i64>>,
    counters: Counters,
}

/// The Shopping Feed API client. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct ApiClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish()
    }
}

/// A 2xx response, fully read.
struct Reply {
    status: u16,
    body: Vec<u8>,
    attempts: u32,
}

/// Why one HTTP attempt failed in a way worth retrying.
enum Transient {
    Timeout,
    Transport { message: String, connect: bool },
    Status { status: u16, body: Vec<u8> },
}

impl ApiClient {
    pub fn new(http: reqwest::Client, config: ApiConfig) -> Self {
        let base = parse_base(&config.base_url);
        ApiClient {
            inner: Arc::new(Inner {
                http,
                semaphore: Semaphore::new(config.concurrency.max(1)),
                config,
                base,
                throttled_until: Mutex::new(None),
                stores: OnceCell::new(),
                store_id: Mutex::new(None),
                counters: Counters::default(),
            }),
        }
    }

    pub fn config(&self) -> &ApiConfig {
        &self.inner.config
    }

    pub fn stats(&self) -> ApiStats {
        let c = &self.inner.counters;
        ApiStats {
            requests: c.requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
            post_retries: c.post_retries.load(Ordering::Relaxed),
        }
    }

    /// The store id of the last successful [`ApiClient::resolve_store`].
    pub fn cached_store_id(&self) -> Option<i64> {
        *lock(&self.inner.store_id)
    }

    /// `GET /v1/me`: validates the token and lists the reachable stores (always a request; the
    /// store list is cached for [`ApiClient::resolve_store`] as a side effect).
    pub async fn me(&self) -> Result<Me, ApiError> {
        let me = self.fetch_me().await?;
        // Already set means a concurrent resolution got there first; both lists are fresh.
        let _ = self.inner.stores.set(me.stores.clone());
        Ok(me)
    }

    async fn fetch_me(&self) -> Result<Me, ApiError> {
        let url = self.url("/v1/me")?;
        let reply = self.send(Method::GET, url.clone(), None).await?;
        self.decode(&url, &reply)
    }

    /// The store to work on: `configured`, checked once against `/v1/me`; without one, the first
    /// store of `/v1/me` (what the PrestaShop module does; the SDK deprecates it because a token may
    /// gain stores, hence configuration should name one).
    pub async fn resolve_store(&self, configured: Option<i64>) -> Result<i64, ApiError> {
        let stores = self
            .inner
            .stores
            .get_or_try_init(|| async { self.fetch_me().await.map(|me| me.stores) })
            .await?;
        let id = match configured {
            Some(id) if stores.iter().any(|s| s.id == id) => id,
            Some(id) => {
                return Err(ApiError::StoreNotReachable {
                    store_id: id,
                    available: stores.iter().map(|s| s.id).collect(),
                })
            }
            None => stores.first().map(|s| s.id).ok_or(ApiError::NoStore)?,
        };
        *lock(&self.inner.store_id) = Some(id);
        Ok(id)
    }

    /// `POST /v1/store/{store_id}/order/{op}` with at most [`max_orders_per_request`] orders
    /// (upload-documents is sent as multipart), whose data must belong to `op`. The caller chunks.
    pub async fn send_operation(
        &self,
        store_id: i64,
        op: Operation,
        orders: &[OrderOperation],
    ) -> Result<BatchAccepted, ApiError> {
        if orders.is_empty() {
            return Err(ApiError::InvalidRequest {
                message: format!("no orders to {op}"),
            });
        }
        let max = max_orders_per_request(op);
        if orders.len() > max {
            return Err(ApiError::TooManyOrders {
                n: orders.len(),
                max,
            });
        }
        if let Some(o) = orders.iter().find(|o| o.data.operation() != op) {
            return Err(ApiError::InvalidRequest {
                message: format!(
                    "{} data given to the {op} operation ({:?})",
                    o.data.operation(),
                    o.identifier
                ),
            });
        }
        let body = operation_body(op, orders)?;
        let body = if op == Operation::UploadDocuments {
            upload_body(&body, orders)
        } else {
            Body::json(body)
        };
        let url = self.url(&Self::operation_path(store_id, op))?;
        let reply = self.send(Method::POST, url.clone(), Some(body)).await?;
        let wire: BatchWire = self.decode(&url, &reply)?;
        wire.into_accepted(reply.attempts)
            .ok_or_else(|| ApiError::MissingBatchId {
                path: display_path(&url),
                body: error_body(&reply.body, &self.inner.config.token),
            })
    }

    /// The path of an operation's POST (what a dry run logs).
    pub fn operation_path(store_id: i64, op: Operation) -> String {
        format!("/v1/store/{store_id}/order/{}", op.as_str())
    }

    /// Every ticket of a batch, following `_links.next` from page 1 (200 per page). An empty result
    /// means "not visible yet", not "done".
    pub async fn tickets_by_batch(
        &self,
        store_id: i64,
        batch_id: &str,
    ) -> Result<Vec<Ticket>, ApiError> {
        let mut url = self.url(&format!("/v1/store/{store_id}/ticket"))?;
        url.query_pairs_mut()
            .append_pair("batchId", batch_id)
            .append_pair("page", "1")
            .append_pair("limit", &TICKET_PAGE_LIMIT.to_string());
        let mut visited = HashSet::new();
        let mut ids = HashSet::new();
        let mut tickets = Vec::new();
        loop {
            visited.insert(url.to_string());
            let reply = self.send(Method::GET, url.clone(), None).await?;
            let page: TicketPageWire = self.decode(&url, &reply)?;
            let next = page.next_href();
            let page_tickets = page
                .into_tickets()
                .map_err(|error| self.decode_error(&url, &reply, error))?;
            // Pages can shift while tickets are created; never report one twice.
            tickets.extend(
                page_tickets
                    .into_iter()
                    .filter(|t| ids.insert(t.id.clone())),
            );
            let Some(href) = next else { break };
            let next_url = self
                .follow(&href)
                .map_err(|error| self.decode_error(&url, &reply, error))?;
            if !visited.insert(next_url.to_string()) || visited.len() > MAX_TICKET_PAGES {
                // A `next` that loops back would never end; what we have is complete enough.
                break;
            }
            url = next_url;
        }
        Ok(tickets)
    }

    /// `GET /v1/store/{store_id}/ticket/{ticket_id}`; a ticket that does not (or no longer)
    /// exist gives [`ApiError::NotFound`].
    pub async fn ticket(&self, store_id: i64, ticket_id: &str) -> Result<Ticket, ApiError> {
        let mut url = self.url(&format!("/v1/store/{store_id}/ticket"))?;
        url.path_segments_mut()
            .map_err(|()| ApiError::InvalidBaseUrl {
                url: self.inner.config.base_url.clone(),
                message: "cannot be a base".into(),
            })?
            .push(ticket_id);
        let reply = self.send(Method::GET, url.clone(), None).await?;
        let value: serde_json::Map<String, serde_json::Value> = self.decode(&url, &reply)?;
        Ticket::from_value(serde_json::Value::Object(value))
            .map_err(|e| self.decode_error(&url, &reply, e.to_string()))
    }

    // -----------------------------------------------------------------------------------------
    // Plumbing
    // -----------------------------------------------------------------------------------------

    fn base(&self) -> Result<&Url, ApiError> {
        self.inner
            .base
            .as_ref()
            .map_err(|message| ApiError::InvalidBaseUrl {
                url: self.inner.config.base_url.clone(),
                message: message.clone(),
            })
    }

    /// `path` below the base URL (which may carry a path prefix).
    fn url(&self, path: &str) -> Result<Url, ApiError> {
        let base = self.base()?;
        let joined = format!("{}{}", base.as_str().trim_end_matches('/'), path);
        Url::parse(&joined).map_err(|e| ApiError::InvalidBaseUrl {
            url: self.inner.config.base_url.clone(),
            message: e.to_string(),
        })
    }

    /// A link href, relative or absolute. An absolute href to another origin is refused: the
    /// bearer token must only ever go to the configured API.
    fn follow(&self, href: &str) -> Result<Url, String> {
        let base = self.base().map_err(|e| e.to_string())?;
        let url = base
            .join(href)
            .map_err(|e| format!("invalid link {href:?}: {e}"))?;
        if url.origin() != base.origin() {
            return Err(format!("link {href:?} leaves the API host"));
        }
        Ok(url)
    }

    fn decode<T: DeserializeOwned>(&self, url: &Url, reply: &Reply) -> Result<T, ApiError> {
        decode_object(&reply.body).map_err(|e| self.decode_error(url, reply, e))
    }

    fn decode_error(&self, url: &Url, reply: &Reply, error: String) -> ApiError {
        ApiError::Decode {
            path: display_path(url),
            status: reply.status,
            error,
            body: error_body(&reply.body, &self.inner.config.token),
        }
    }

    /// Sends one request with the retry policy: 429 waits `X-RateLimit-Wait`; 500/502/503/504,
    /// timeouts and connection errors back off exponentially; everything else is final.
    async fn send(&self, method: Method, url: Url, body: Option<Body>) -> Result<Reply, ApiError> {
        let cfg = &self.inner.config;
        let counters = &self.inner.counters;
        let method_name = method_str(&method);
        let is_post = method == Method::POST;
        let max_attempts = cfg.max_attempts.max(1);
        let max_429 = cfg.rate_limit_max_attempts.max(1);
        let mut attempts = 0u32;
        let mut failures = 0u32;
        let mut throttles = 0u32;
        loop {
            self.wait_for_throttle().await;
            attempts += 1;
            if attempts > 1 {
                counters.retries.fetch_add(1, Ordering::Relaxed);
            }
            let outcome = {
                // Closed never happens (the semaphore is never closed); treat it as no limit.
                let _permit = self.inner.semaphore.acquire().await.ok();
                counters.requests.fetch_add(1, Ordering::Relaxed);
                self.attempt(method.clone(), &url, body.clone()).await
            };
            let transient = match outcome {
                Ok((status, headers, bytes)) => {
                    if (200..300).contains(&status) {
                        return Ok(Reply {
                            status,
                            body: bytes,
                            attempts,
                        });
                    }
                    if status == StatusCode::TOO_MANY_REQUESTS.as_u16() {
                        counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                        throttles += 1;
                        if throttles >= max_429 {
                            return Err(ApiError::RateLimited {
                                method: method_name,
                                path: display_path(&url),
                                attempts,
                                body: error_body(&bytes, &cfg.token),
                            });
                        }
                        let header = headers
                            .get("x-ratelimit-wait")
                            .and_then(|v| v.to_str().ok());
                        self.throttle(rate_limit_wait(header, cfg.rate_limit_max_wait));
                        continue;
                    }
                    if !is_retryable_status(status) {
                        return Err(self.status_error(method_name, &url, status, &bytes, attempts));
                    }
                    Transient::Status {
                        status,
                        body: bytes,
                    }
                }
                Err(t) => t,
            };
            failures += 1;
            let may_have_been_processed =
                !matches!(transient, Transient::Transport { connect: true, .. });
            if failures >= max_attempts || (is_post && !cfg.retry_posts && may_have_been_processed)
            {
                return Err(self.transient_error(method_name, &url, transient, attempts));
            }
            if is_post && may_have_been_processed {
                counters.post_retries.fetch_add(1, Ordering::Relaxed);
            }
            tokio::time::sleep(backoff_delay(failures, cfg.backoff_base, cfg.max_backoff)).await;
        }
    }

    /// One HTTP exchange, body included, within the configured timeout.
    async fn attempt(
        &self,
        method: Method,
        url: &Url,
        body: Option<Body>,
    ) -> Result<(u16, HeaderMap, Vec<u8>), Transient> {
        let cfg = &self.inner.config;
        let mut req = self
            .inner
            .http
            .request(method, url.clone())
            .timeout(cfg.timeout)
            .header(ACCEPT, ACCEPT_VALUE)
            .header(USER_AGENT, cfg.user_agent.as_str())
            .bearer_auth(cfg.token.expose());
        if let Some(body) = body {
            req = req.header(CONTENT_TYPE, body.content_type).body(body.bytes);
        }
        let resp = req.send().await.map_err(transient_of)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(transient_of)?;
        Ok((status, headers, bytes.to_vec()))
    }

    fn status_error(
        &self,
        method: &'static str,
        url: &Url,
        status: u16,
        raw: &[u8],
        attempts: u32,
    ) -> ApiError {
        let token = &self.inner.config.token;
        let problem = Problem::parse(raw);
        let body = error_body(raw, token);
        let path = display_path(url);
        let detail = problem.summary().map(|d| token.redact(&d));
        match status {
            401 | 403 => ApiError::Forbidden {
                status,
                method,
                path,
                detail,
                body,
            },
            404 => ApiError::NotFound { path, detail, body },
            _ => ApiError::Http {
                status,
                method,
                path,
                detail,
                body,
                attempts,
            },
        }
    }

    fn transient_error(
        &self,
        method: &'static str,
        url: &Url,
        t: Transient,
        attempts: u32,
    ) -> ApiError {
        match t {
            Transient::Timeout => ApiError::Timeout {
                method,
                path: display_path(url),
                timeout_ms: u64::try_from(self.inner.config.timeout.as_millis())
                    .unwrap_or(u64::MAX),
                attempts,
            },
            Transient::Transport { message, connect } => ApiError::Transport {
                method,
                path: display_path(url),
                message: self.inner.config.token.redact(&message),
                connect,
                attempts,
            },
            Transient::Status { status, body } => {
                self.status_error(method, url, status, &body, attempts)
            }
        }
    }

    fn throttle(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut slot = lock(&self.inner.throttled_until);
        if slot.is_none_or(|t| t < until) {
            *slot = Some(until);
        }
    }

    async fn wait_for_throttle(&self) {
        let until = *lock(&self.inner.throttled_until);
        if let Some(until) = until {
            if until > Instant::now() {
                tokio::time::sleep_until(until).await;
            }
        }
    }
}

fn parse_base(base: &str) -> Result<Url, String> {
    let url = Url::parse(base.trim()).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("unsupported scheme {:?}", url.scheme()));
    }
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err("no host".into());
    }
    Ok(url)
}

fn transient_of(e: reqwest::Error) -> Transient {
    if e.is_timeout() {
        return Transient::Timeout;
    }
    let connect = e.is_connect();
    Transient::Transport {
        message: error_chain(&e.without_url()),
        connect,
    }
}

/// The error and its sources, without repeating what a source already said.
fn error_chain(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = s.source();
    }
    msg
}

/// Path and query, for messages (no host: shorter, and the same in tests and production).
fn display_path(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

fn method_str(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        _ => "HTTP",
    }
}

/// A poisoned lock only means another thread panicked mid-update of a plain value; keep going.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The JSON body of an operation's POST (`{"order": [...]}`; an upload sends it as the `body`
/// part of its multipart form).
pub fn operation_body(op: Operation, orders: &[OrderOperation]) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(&OperationRequest { order: orders }).map_err(|e| ApiError::InvalidRequest {
        message: format!("cannot encode the {op} request: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> ApiClient {
        ApiClient::new(
            reqwest::Client::new(),
            ApiConfig::new(base, "secret-token-123"),
        )
    }

    #[test]
    fn urls_keep_a_base_path_prefix() {
        let c = client("http://127.0.0.1:9/prefix/");
        assert_eq!(
            c.url("/v1/me").unwrap().as_str(),
            "http://127.0.0.1:9/prefix/v1/me"
        );
        let c = client("http://127.0.0.1:9");
        assert_eq!(
            c.url("/v1/me").unwrap().as_str(),
            "http://127.0.0.1:9/v1/me"
        );
    }

    #[test]
    fn links_resolve_relative_and_absolute_but_stay_on_the_host() {
        let c = client("http://127.0.0.1:9");
        assert_eq!(
            c.follow("/v1/store/1/ticket?page=2").unwrap().as_str(),
            "http://127.0.0.1:9/v1/store/1/ticket?page=2"
        );
        assert_eq!(
            c.follow("http://127.0.0.1:9/v1/store/1/ticket?page=3")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/v1/store/1/ticket?page=3"
        );
        assert!(c.follow("https://evil.example/steal").is_err());
    }

    #[test]
    fn bad_base_url_is_an_error_not_a_panic() {
        for base in ["", "not a url", "ftp://x", "mailto:a@b"] {
            let c = client(base);
            assert!(
                matches!(c.url("/v1/me"), Err(ApiError::InvalidBaseUrl { .. })),
                "{base}"
            );
        }
    }

    #[test]
    fn debug_of_client_and_config_hides_the_token() {
        let c = client("http://127.0.0.1:9");
        let s = format!("{c:?} {:?}", c.config());
        assert!(!s.contains("secret-token-123"), "{s}");
        assert!(s.contains("***"));
    }

    #[tokio::test]
    async fn order_count_and_data_are_checked_before_sending() {
        use crate::api::{OperationData, OrderIdentifier};
        // Port 9 (discard) is not listening: a request would fail with Transport, not these.
        let c = client("http://127.0.0.1:9");
        let order = |i| OrderOperation {
            identifier: OrderIdentifier::Id(i),
            data: OperationData::Cancel {
                reason: String::new(),
            },
        };
        let orders: Vec<_> = (0..101).map(order).collect();
        let e = c
            .send_operation(1, Operation::Cancel, &orders)
            .await
            .unwrap_err();
        assert!(
            matches!(e, ApiError::TooManyOrders { n: 101, max: 100 }),
            "{e:?}"
        );
        let e = c
            .send_operation(1, Operation::Cancel, &[])
            .await
            .unwrap_err();
        assert!(matches!(e, ApiError::InvalidRequest { .. }), "{e:?}");
        let e = c
            .send_operation(1, Operation::Ship, &orders[..1])
            .await
            .unwrap_err();
        assert!(matches!(e, ApiError::InvalidRequest { .. }), "{e:?}");
        assert_eq!(c.stats().requests, 0);
    }
}
