//! Fault rules (sf-api.md 7.4): which calls they hit and what they do to them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::RouteKind;
use crate::wire::Operation;

/// Body of an injected error status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ErrorBody {
    /// `application/problem+json`.
    #[default]
    Problem,
    /// A `text/html` gateway page.
    Html,
    /// No body at all.
    Empty,
    /// problem+json with `detail: "Validation failed"` and `validationMessages` (F14).
    Validation,
}

/// How a response body is broken (F5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Malformation {
    /// The first half of the real JSON, still labelled `application/json`.
    Truncated,
    /// A `text/html` page instead of JSON.
    Html,
    /// Bytes that are not UTF-8, labelled `application/json`.
    InvalidUtf8,
    /// Valid JSON of the wrong type: `[]` where an object is expected.
    WrongType,
}

/// What a firing rule does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer `status` without processing (F1 5xx, F13 401/403, F14 400, F16 413, any other).
    Status {
        status: u16,
        #[serde(default)]
        body: ErrorBody,
        #[serde(default)]
        detail: Option<String>,
    },
    /// 429 without processing (F2). `wait` is the `X-RateLimit-Wait` value sent verbatim
    /// (a number or any string, e.g. "abc"); absent or null: no header.
    RateLimit {
        #[serde(default)]
        wait: Option<Value>,
    },
    /// Wait `seconds` (absent: forever, until the client gives up), then answer normally (F3).
    Hang {
        #[serde(default)]
        seconds: Option<f64>,
    },
    /// Process the request (a POST creates its batch), then close the connection without
    /// sending any response byte (F3 "process but drop the response").
    DropResponse {
        #[serde(default)]
        after_seconds: Option<f64>,
    },
    /// F4. `mid_body: false`: reset the connection before processing, no response.
    /// `mid_body: true`: process, send the headers and half the body, then close.
    Reset {
        #[serde(default)]
        mid_body: bool,
    },
    /// Process, then break the response body (F5).
    Malformed { variant: Malformation },
    /// Process, then remove fields (dotted paths such as `id`, `_links.ticket`) from the JSON
    /// response (F6).
    StripFields { fields: Vec<String> },
    /// Report orders as `ignored` in the 202 `report` (F7): the rule's `order_id`/`reference`
    /// if set, else every order of the request.
    Ignore {
        #[serde(default)]
        message: Option<String>,
    },
}

impl FaultKind {
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Status { .. } => "status",
            FaultKind::RateLimit { .. } => "rate_limit",
            FaultKind::Hang { .. } => "hang",
            FaultKind::DropResponse { .. } => "drop_response",
            FaultKind::Reset { .. } => "reset",
            FaultKind::Malformed { .. } => "malformed",
            FaultKind::StripFields { .. } => "strip_fields",
            FaultKind::Ignore { .. } => "ignore",
        }
    }
}

/// A fault rule: a selector (route, operation, order, which calls) and a fault.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaultRule {
    #[serde(default)]
    pub id: u64,
    #[serde(default = "any_route")]
    pub route: RouteKind,
    #[serde(default)]
    pub operation: Option<Operation>,
    /// Only requests concerning this order id (in the body of an operation, the ticket's
    /// payload, the `payloadId` filter, or a batch containing it).
    #[serde(default)]
    pub order_id: Option<i64>,
    /// Same as `order_id`, by marketplace reference.
    #[serde(default)]
    pub reference: Option<String>,
    /// Fire only on the Nth matching call (1-based).
    #[serde(default)]
    pub nth: Option<u64>,
    /// Fire on the first N matching calls.
    #[serde(default)]
    pub first: Option<u64>,
    pub fault: FaultKind,
    /// Matching calls seen so far.
    #[serde(default)]
    pub calls: u64,
    /// Times this rule fired.
    #[serde(default)]
    pub fired: u64,
}

fn any_route() -> RouteKind {
    RouteKind::Any
}

/// The orders a request concerns, for rules with an order matcher.
#[derive(Debug, Default, Clone)]
pub struct RequestOrders {
    pub ids: Vec<i64>,
    pub references: Vec<String>,
}

impl FaultRule {
    pub fn needs_orders(&self) -> bool {
        self.order_id.is_some() || self.reference.is_some()
    }

    /// Whether the request is a matching call (counted), ignoring `nth`/`first`.
    pub fn selects(&self, route: RouteKind, op: Option<Operation>, orders: &RequestOrders) -> bool {
        if !self.route.covers(route) {
            return false;
        }
        if self.operation.is_some() && self.operation != op {
            return false;
        }
        if let Some(id) = self.order_id {
            if !orders.ids.contains(&id) {
                return false;
            }
        }
        if let Some(r) = &self.reference {
            if !orders.references.contains(r) {
                return false;
            }
        }
        true
    }

    /// Counts one matching call and tells whether the rule fires on it.
    pub fn count_and_fire(&mut self) -> bool {
        self.calls += 1;
        let fire = match (self.nth, self.first) {
            (Some(n), _) => self.calls == n,
            (None, Some(n)) => self.calls <= n,
            (None, None) => true,
        };
        if fire {
            self.fired += 1;
        }
        fire
    }
}

/// Standard reason phrase for problem bodies.
pub fn title_for(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

/// Removes a dotted path (`_links.ticket`) from a JSON value.
pub fn strip_path(v: &mut Value, path: &str) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else {
        return;
    };
    let mut cur = v;
    for p in parts {
        match cur.get_mut(p) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if let Some(obj) = cur.as_object_mut() {
        obj.remove(last);
    }
}
