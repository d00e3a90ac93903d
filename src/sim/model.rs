//! Typed vocabulary of the simulator: operations, ticket states, order statuses, routes.

use serde::{Deserialize, Serialize};

/// The nine order operations of `POST /v1/store/{storeId}/order/{operation}` (sf-api.md 2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operation {
    #[serde(rename = "acknowledge")]
    Acknowledge,
    #[serde(rename = "unacknowledge")]
    Unacknowledge,
    #[serde(rename = "accept")]
    Accept,
    #[serde(rename = "refuse")]
    Refuse,
    #[serde(rename = "ship")]
    Ship,
    #[serde(rename = "cancel")]
    Cancel,
    #[serde(rename = "refund")]
    Refund,
    #[serde(rename = "deliver")]
    Deliver,
    #[serde(rename = "upload-documents")]
    UploadDocuments,
}

impl Operation {
    pub const ALL: [Operation; 9] = [
        Operation::Acknowledge,
        Operation::Unacknowledge,
        Operation::Accept,
        Operation::Refuse,
        Operation::Ship,
        Operation::Cancel,
        Operation::Refund,
        Operation::Deliver,
        Operation::UploadDocuments,
    ];

    /// The path segment used by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Acknowledge => "acknowledge",
            Operation::Unacknowledge => "unacknowledge",
            Operation::Accept => "accept",
            Operation::Refuse => "refuse",
            Operation::Ship => "ship",
            Operation::Cancel => "cancel",
            Operation::Refund => "refund",
            Operation::Deliver => "deliver",
            Operation::UploadDocuments => "upload-documents",
        }
    }

    pub fn parse(s: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.as_str() == s)
    }

    /// Ticket type per sf-api.md 7.2 (`order.notify.delivery` is made up, the real one is unknown).
    pub fn ticket_type(self) -> &'static str {
        match self {
            Operation::Ship => "order.notify.shipment",
            Operation::Cancel => "order.notify.cancellation",
            Operation::Refund => "order.notify.refund",
            Operation::Acknowledge => "order.acknowledge",
            Operation::Unacknowledge => "order.unacknowledge",
            Operation::Accept => "order.notify.acceptance",
            Operation::Refuse => "order.notify.refusal",
            Operation::Deliver => "order.notify.delivery",
            Operation::UploadDocuments => "order.notify.upload-documents",
        }
    }

    /// The `errors[].type` a failed ticket of this operation appends to its order (sf-api.md 3.7).
    pub fn error_type(self) -> &'static str {
        match self {
            Operation::Ship => "ship",
            Operation::Acknowledge => "acknowledge",
            _ => "operation",
        }
    }
}

/// Ticket states, spelled as the API spells them (`succeed`, `canceled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketState {
    Scheduled,
    Running,
    Succeed,
    Failed,
    Canceled,
}

impl TicketState {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketState::Scheduled => "scheduled",
            TicketState::Running => "running",
            TicketState::Succeed => "succeed",
            TicketState::Failed => "failed",
            TicketState::Canceled => "canceled",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TicketState::Succeed | TicketState::Failed | TicketState::Canceled
        )
    }

    /// Parses one `state` filter value, including the macro states `processing` and `processed`.
    pub fn parse_filter(s: &str) -> Option<Vec<TicketState>> {
        Some(match s {
            "scheduled" => vec![TicketState::Scheduled],
            "running" => vec![TicketState::Running],
            "succeed" => vec![TicketState::Succeed],
            "failed" => vec![TicketState::Failed],
            "canceled" => vec![TicketState::Canceled],
            "processing" => vec![TicketState::Scheduled, TicketState::Running],
            "processed" => vec![
                TicketState::Succeed,
                TicketState::Failed,
                TicketState::Canceled,
            ],
            _ => return None,
        })
    }
}

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

/// Order statuses of the Shopping Feed order resource (note `cancelled` with two l's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Created,
    WaitingStoreAcceptance,
    Refused,
    #[default]
    WaitingShipment,
    Shipped,
    PartiallyShipped,
    Cancelled,
    Refunded,
    PartiallyRefunded,
    Closed,
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
