//! The simulator's own vocabulary: ticket outcomes and route classes (the API's names are in
//! [`crate::wire`]).

use serde::{Deserialize, Serialize};

use crate::wire::Operation;

/// What a ticket ends as (or where it gets stuck), set per order or as the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeKind {
    #[default]
    Succeed,
    Failed,
    Canceled,
    /// Stays `running` forever (F9).
    Running,
    /// Stays `scheduled` forever (F9).
    Scheduled,
}

/// The route classes a fault rule, a latency override or a counter can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum RouteKind {
    Auth,
    Me,
    Ping,
    OrderOp,
    OrderGet,
    TicketList,
    TicketGet,
    Control,
    Unknown,
    /// Only valid in selectors: matches every `/v1` route.
    Any,
}

impl RouteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Auth => "auth",
            RouteKind::Me => "me",
            RouteKind::Ping => "ping",
            RouteKind::OrderOp => "order_op",
            RouteKind::OrderGet => "order_get",
            RouteKind::TicketList => "ticket_list",
            RouteKind::TicketGet => "ticket_get",
            RouteKind::Control => "control",
            RouteKind::Unknown => "unknown",
            RouteKind::Any => "any",
        }
    }

    /// Whether a selector naming `self` covers a request of kind `actual`.
    pub fn covers(self, actual: RouteKind) -> bool {
        match self {
            RouteKind::Any => actual != RouteKind::Control,
            _ => self == actual,
        }
    }
}

/// Classifies a request path; returns the route kind, the store id and the operation if any.
pub fn classify(method: &str, path: &str) -> (RouteKind, Option<i64>, Option<Operation>) {
    if path.starts_with("/_sim") {
        return (RouteKind::Control, None, None);
    }
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        ["v1", "auth"] => (RouteKind::Auth, None, None),
        ["v1", "me"] => (RouteKind::Me, None, None),
        ["v1", "ping"] => (RouteKind::Ping, None, None),
        ["v1", "store", store, "order", tail] => {
            let store = store.parse().ok();
            if method == "POST" {
                (RouteKind::OrderOp, store, Operation::parse(tail))
            } else {
                (RouteKind::OrderGet, store, None)
            }
        }
        ["v1", "store", store, "ticket"] => (RouteKind::TicketList, store.parse().ok(), None),
        ["v1", "store", store, "ticket", _] => (RouteKind::TicketGet, store.parse().ok(), None),
        _ => (RouteKind::Unknown, None, None),
    }
}
