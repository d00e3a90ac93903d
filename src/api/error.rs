//! Typed errors of the API client. Messages are meant for a merchant's log; none carries the token
//! (bodies are redacted before they are stored, see [`super::secret::Secret::redact`]).

use serde::Deserialize;

/// The most bytes of a response body kept in an error: enough for a problem+json or the start of
/// an HTML gateway page, not a whole collection.
pub const MAX_ERROR_BODY: usize = 4096;

#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No HTTP response at all: DNS, connection refused or reset, broken body.
    #[error(
        "cannot reach the Shopping Feed API ({method} {path}, {attempts} attempt(s)): {message}"
    )]
    Transport {
        method: &'static str,
        path: String,
        message: String,
        /// True when the connection could not even be opened, so the request was never sent.
        connect: bool,
        attempts: u32,
    },

    #[error("the Shopping Feed API did not answer {method} {path} within {timeout_ms} ms ({attempts} attempt(s))")]
    Timeout {
        method: &'static str,
        path: String,
        timeout_ms: u64,
        attempts: u32,
    },

    /// Any HTTP status without a dedicated variant (400, 405, 409, 5xx once retries are exhausted...).
    #[error("the Shopping Feed API answered HTTP {status} to {method} {path}{}", fmt_detail(.detail))]
    Http {
        status: u16,
        method: &'static str,
        path: String,
        /// The problem+json `detail` (else `title`), followed by `validationMessages` as compact
        /// JSON when the body has them.
        detail: Option<String>,
        body: String,
        attempts: u32,
    },

    /// 401 or 403: the token is missing, unknown or cannot reach this store.
    #[error("the Shopping Feed API refused the token (HTTP {status} to {method} {path}{}); check the API token and store id in the module settings", fmt_detail(.detail))]
    Forbidden {
        status: u16,
        method: &'static str,
        path: String,
        detail: Option<String>,
        body: String,
    },

    #[error("not found on the Shopping Feed API: {path}{}", fmt_detail(.detail))]
    NotFound {
        path: String,
        detail: Option<String>,
        body: String,
    },

    /// Still answered 429 after the configured number of attempts.
    #[error("the Shopping Feed API is rate limiting {method} {path}: still HTTP 429 after {attempts} attempt(s)")]
    RateLimited {
        method: &'static str,
        path: String,
        attempts: u32,
        body: String,
    },

    /// A body that is not JSON, or JSON of the wrong shape.
    #[error("unexpected response from the Shopping Feed API ({path}, HTTP {status}): {error}")]
    Decode {
        path: String,
        status: u16,
        error: String,
        body: String,
    },

    /// A 202 to an operation without the batch `id`: nothing can be polled.
    #[error("the Shopping Feed API response does not contain a batch id ({path})")]
    MissingBatchId { path: String, body: String },

    #[error("{n} orders in one operation request; the API accepts at most {max}")]
    TooManyOrders { n: usize, max: usize },

    /// A request the client refuses to send (no orders, data not matching the operation...).
    #[error("invalid Shopping Feed request: {message}")]
    InvalidRequest { message: String },

    #[error("store {store_id} is not reachable with this API token (reachable stores: {})", fmt_ids(.available))]
    StoreNotReachable { store_id: i64, available: Vec<i64> },

    #[error("this API token gives access to no Shopping Feed store")]
    NoStore,

    #[error("invalid Shopping Feed API base URL {url:?}: {message}")]
    InvalidBaseUrl { url: String, message: String },
}

fn fmt_detail(detail: &Option<String>) -> String {
    match detail {
        Some(d) if !d.is_empty() => format!(": {d}"),
        _ => String::new(),
    }
}

fn fmt_ids(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "none".to_string();
    }
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl ApiError {
    /// True when the same request may succeed later: network trouble, timeouts, 429 and the
    /// gateway/server statuses 500, 502, 503, 504. Auth, validation and decode errors are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Transport { .. }
            | ApiError::Timeout { .. }
            | ApiError::RateLimited { .. } => true,
            ApiError::Http { status, .. } => is_retryable_status(*status),
            _ => false,
        }
    }

    /// True for 401/403: every further call with this token fails the same way.
    pub fn is_auth(&self) -> bool {
        matches!(self, ApiError::Forbidden { .. })
    }

    /// The HTTP status, when a response was received.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Http { status, .. }
            | ApiError::Forbidden { status, .. }
            | ApiError::Decode { status, .. } => Some(*status),
            ApiError::NotFound { .. } => Some(404),
            ApiError::RateLimited { .. } => Some(429),
            ApiError::MissingBatchId { .. } => Some(202),
            _ => None,
        }
    }

    /// The (redacted, truncated) response body, when there was one.
    pub fn body(&self) -> Option<&str> {
        match self {
            ApiError::Http { body, .. }
            | ApiError::Forbidden { body, .. }
            | ApiError::NotFound { body, .. }
            | ApiError::RateLimited { body, .. }
            | ApiError::Decode { body, .. }
            | ApiError::MissingBatchId { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The problem+json `detail`, when the error body had one.
    pub fn detail(&self) -> Option<&str> {
        match self {
            ApiError::Http { detail, .. }
            | ApiError::Forbidden { detail, .. }
            | ApiError::NotFound { detail, .. } => detail.as_deref(),
            _ => None,
        }
    }

    /// How many HTTP attempts were made, when the error comes from a request.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            ApiError::Transport { attempts, .. }
            | ApiError::Timeout { attempts, .. }
            | ApiError::Http { attempts, .. }
            | ApiError::RateLimited { attempts, .. } => Some(*attempts),
            _ => None,
        }
    }
}

/// The statuses the official SDK retries.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 500 | 502 | 503 | 504)
}

/// RFC 7807 problem details as the API sends them. Every field is optional:
/// 5xx and 429 bodies may be anything.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: Option<String>,
    pub title: Option<String>,
    pub detail: Option<String>,
    pub status: Option<u16>,
    #[serde(rename = "validationMessages")]
    pub validation_messages: Option<serde_json::Value>,
}

impl Problem {
    /// `detail` (else `title`), plus `validationMessages` when present: what a merchant needs
    /// to fix a rejected request.
    pub fn summary(&self) -> Option<String> {
        let text = self.detail.clone().or_else(|| self.title.clone());
        match (&text, &self.validation_messages) {
            (_, None) | (_, Some(serde_json::Value::Null)) => text,
            (Some(t), Some(v)) => Some(format!("{t} {v}")),
            (None, Some(v)) => Some(v.to_string()),
        }
    }

    /// Parses a problem+json body; anything else (HTML, empty, wrong shape) gives an empty problem.
    pub fn parse(body: &[u8]) -> Problem {
        serde_json::from_slice::<Problem>(body).unwrap_or_default()
    }
}

/// The body kept in an error: lossy UTF-8, the token removed, cut at [`MAX_ERROR_BODY`] bytes on a
/// character boundary.
pub(crate) fn error_body(raw: &[u8], secret: &super::Secret) -> String {
    let text = String::from_utf8_lossy(raw);
    // Redact before cutting (a whole token is found), and after (the cut may split a token).
    let mut text = secret.redact(&text);
    if text.len() > MAX_ERROR_BODY {
        let mut cut = MAX_ERROR_BODY;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text = secret.redact(&text);
        text.push_str("…[truncated]");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Secret;

    #[test]
    fn problem_json_detail_is_parsed() {
        let body = br#"{"type":"http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html","title":"Forbidden","detail":"Service not authorized","status":403}"#;
        let p = Problem::parse(body);
        assert_eq!(p.detail.as_deref(), Some("Service not authorized"));
        assert_eq!(p.title.as_deref(), Some("Forbidden"));
        assert_eq!(p.status, Some(403));
    }

    #[test]
    fn validation_messages_are_kept() {
        let body = br#"{"type":"x","title":"Bad Request","detail":"Validation failed","status":400,"validationMessages":[{"reference":{"isEmpty":"Value is required and can't be empty"}}]}"#;
        let p = Problem::parse(body);
        assert!(p.validation_messages.is_some());
        let s = p.summary().unwrap();
        assert!(s.starts_with("Validation failed [{"), "{s}");
        assert!(s.contains("isEmpty"), "{s}");
        let p = Problem::parse(br#"{"title":"Conflict"}"#);
        assert_eq!(p.summary().as_deref(), Some("Conflict"));
    }

    #[test]
    fn non_json_problem_is_empty_not_a_panic() {
        for body in [
            &b"<html>502 Bad Gateway</html>"[..],
            b"",
            b"[]",
            b"\xff\xfe",
            b"{\"detail\":5}",
        ] {
            let p = Problem::parse(body);
            assert!(p.detail.is_none());
        }
    }

    #[test]
    fn error_body_is_truncated_on_a_char_boundary_and_redacted() {
        let secret = Secret::new("supersecrettoken");
        let mut raw = "é".repeat(MAX_ERROR_BODY).into_bytes();
        raw.extend_from_slice(b"supersecrettoken");
        let body = error_body(&raw, &secret);
        assert!(body.len() <= MAX_ERROR_BODY + "…[truncated]".len());
        assert!(body.ends_with("…[truncated]"));
        let short = error_body(br#"{"token":"supersecrettoken"}"#, &secret);
        assert_eq!(short, r#"{"token":"***"}"#);
        assert_eq!(error_body(b"\xffab", &secret), "\u{fffd}ab");
    }

    #[test]
    fn retryable_classification() {
        let http = |status| ApiError::Http {
            status,
            method: "GET",
            path: "/v1/me".into(),
            detail: None,
            body: String::new(),
            attempts: 1,
        };
        for s in [500, 502, 503, 504] {
            assert!(http(s).is_retryable(), "{s}");
        }
        for s in [400, 405, 409, 413, 501] {
            assert!(!http(s).is_retryable(), "{s}");
        }
        assert!(!ApiError::NoStore.is_retryable());
        assert!(!ApiError::TooManyOrders { n: 101, max: 100 }.is_retryable());
    }

    #[test]
    fn display_shows_the_detail() {
        let e = ApiError::Forbidden {
            status: 403,
            method: "GET",
            path: "/v1/me".into(),
            detail: Some("Service not authorized".into()),
            body: String::new(),
        };
        let s = e.to_string();
        assert!(s.contains("HTTP 403"), "{s}");
        assert!(s.contains("Service not authorized"), "{s}");
        let e = ApiError::StoreNotReachable {
            store_id: 9,
            available: vec![1, 2],
        };
        assert!(e.to_string().contains("1, 2"));
    }
}

#[cfg(test)]
mod size {
    /// Callers return `Result<_, ApiError>` everywhere; clippy's `result_large_err` fires above
    /// 128 bytes, in their code, not only ours.
    #[test]
    fn api_error_stays_small() {
        assert!(std::mem::size_of::<super::ApiError>() <= 128);
    }
}
