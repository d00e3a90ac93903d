//! The API's own names on the wire, written down from the contract (sf-api.md §2.1, §3.5, §3.6,
//! §3.7, §7.2) and nowhere else: the simulator shares no type with the client it tests, so a name
//! the client misspells is a name the simulator refuses.

use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Serializes through `as_str` and parses through `parse`: one spelling per value, kept in one
/// table, for the `/v1` bodies and the `/_sim/` control API alike.
macro_rules! wire_enum {
    ($ty:ident, $what:literal) => {
        impl $ty {
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|v| v.as_str() == s)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                Self::parse(&s).ok_or_else(|| {
                    let known: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    D::Error::custom(format!(
                        "unknown {} '{s}' (one of {})",
                        $what,
                        known.join(", ")
                    ))
                })
            }
        }
    };
}

/// An order operation: the `{operation}` of `POST /v1/store/{storeId}/order/{operation}`
/// (sf-api.md §2.1: "acknowledge | unacknowledge | accept | refuse | ship | cancel | refund |
/// deliver | upload-documents").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    Ship,
    Cancel,
    Refund,
    Acknowledge,
    Unacknowledge,
    Accept,
    Refuse,
    Deliver,
    UploadDocuments,
}

impl Operation {
    pub const ALL: [Operation; 9] = [
        Operation::Ship,
        Operation::Cancel,
        Operation::Refund,
        Operation::Acknowledge,
        Operation::Unacknowledge,
        Operation::Accept,
        Operation::Refuse,
        Operation::Deliver,
        Operation::UploadDocuments,
    ];

    /// The path segment.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::Ship => "ship",
            Operation::Cancel => "cancel",
            Operation::Refund => "refund",
            Operation::Acknowledge => "acknowledge",
            Operation::Unacknowledge => "unacknowledge",
            Operation::Accept => "accept",
            Operation::Refuse => "refuse",
            Operation::Deliver => "deliver",
            Operation::UploadDocuments => "upload-documents",
        }
    }

    /// The ticket `type` of this operation's tickets (sf-api.md §7.2; `deliver`'s is made up).
    pub const fn ticket_type(self) -> &'static str {
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
    pub const fn error_type(self) -> &'static str {
        match self {
            Operation::Ship => "ship",
            Operation::Acknowledge => "acknowledge",
            _ => "operation",
        }
    }
}

wire_enum!(Operation, "operation");

/// A ticket's `state` (sf-api.md §3.5: `succeed`, not `succeeded`; `canceled` with one l).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketState {
    Scheduled,
    Running,
    Succeed,
    Failed,
    Canceled,
}

impl TicketState {
    pub const ALL: [TicketState; 5] = [
        TicketState::Scheduled,
        TicketState::Running,
        TicketState::Succeed,
        TicketState::Failed,
        TicketState::Canceled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            TicketState::Scheduled => "scheduled",
            TicketState::Running => "running",
            TicketState::Succeed => "succeed",
            TicketState::Failed => "failed",
            TicketState::Canceled => "canceled",
        }
    }

    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            TicketState::Succeed | TicketState::Failed | TicketState::Canceled
        )
    }

    /// One `state` filter value, including the macro states `processing` and `processed`.
    pub fn parse_filter(s: &str) -> Option<Vec<TicketState>> {
        let of = |terminal: bool| {
            TicketState::ALL
                .into_iter()
                .filter(|t| t.is_terminal() == terminal)
                .collect()
        };
        match s {
            "processing" => Some(of(false)),
            "processed" => Some(of(true)),
            single => TicketState::parse(single).map(|t| vec![t]),
        }
    }
}

wire_enum!(TicketState, "ticket state");

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_json() {
        for op in Operation::ALL {
            let json = serde_json::to_string(&op).unwrap();
            assert_eq!(json, format!("\"{op}\""));
            assert_eq!(serde_json::from_str::<Operation>(&json).unwrap(), op);
        }
        for state in TicketState::ALL {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(serde_json::from_str::<TicketState>(&json).unwrap(), state);
        }
    }

    #[test]
    fn the_contract_spellings_and_no_others() {
        assert_eq!(
            Operation::ALL.map(Operation::as_str).join(" "),
            "ship cancel refund acknowledge unacknowledge accept refuse deliver upload-documents"
        );
        assert_eq!(
            TicketState::ALL.map(TicketState::as_str).join(" "),
            "scheduled running succeed failed canceled"
        );
        for near_miss in ["ships", "Ship", "upload_documents", "uploadDocuments", ""] {
            assert_eq!(Operation::parse(near_miss), None, "{near_miss}");
        }
        for near_miss in ["succeeded", "success", "cancelled", "Failed", "processing"] {
            assert_eq!(TicketState::parse(near_miss), None, "{near_miss}");
        }
        let err = serde_json::from_str::<TicketState>("\"succeeded\"").unwrap_err();
        assert!(
            err.to_string().contains("unknown ticket state 'succeeded'"),
            "{err}"
        );
    }

    #[test]
    fn macro_state_filters() {
        use TicketState as T;
        assert_eq!(
            T::parse_filter("processing"),
            Some(vec![T::Scheduled, T::Running])
        );
        assert_eq!(
            T::parse_filter("processed"),
            Some(vec![T::Succeed, T::Failed, T::Canceled])
        );
        assert_eq!(T::parse_filter("failed"), Some(vec![T::Failed]));
        assert_eq!(T::parse_filter("done"), None);
    }
}
