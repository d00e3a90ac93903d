//! Domain types shared by the queue, the API client and the engine: typed states instead of strings.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The task table's `action` column (see `queue`), with the reference module's enum values (note the odd
/// `ACTION_CHECK_TICKET_PARTIAL_REFUND`, which the reference HEAD writes as is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskAction {
    SyncStatus,
    CheckTicketSyncStatus,
    UploadInvoice,
    CheckTicketUploadInvoice,
    PartialRefund,
    CheckTicketPartialRefund,
}

impl TaskAction {
    pub const ALL: [TaskAction; 6] = [
        TaskAction::SyncStatus,
        TaskAction::CheckTicketSyncStatus,
        TaskAction::UploadInvoice,
        TaskAction::CheckTicketUploadInvoice,
        TaskAction::PartialRefund,
        TaskAction::CheckTicketPartialRefund,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            TaskAction::SyncStatus => "SYNC_STATUS",
            TaskAction::CheckTicketSyncStatus => "CHECK_TICKET_SYNC_STATUS",
            TaskAction::UploadInvoice => "UPLOAD_INVOICE",
            TaskAction::CheckTicketUploadInvoice => "CHECK_TICKET_UPLOAD_INVOICE",
            TaskAction::PartialRefund => "PARTIAL_REFUND",
            TaskAction::CheckTicketPartialRefund => "ACTION_CHECK_TICKET_PARTIAL_REFUND",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        TaskAction::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl fmt::Display for TaskAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a task sends: its pending action, and the action it waits in for its ticket. Every kind
/// goes through the same claim, lease, batch-id save, per-batch ticket check and requeue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskKind {
    /// The order's current status (ship, cancel, refund, deliver).
    Status,
    /// One credit slip's products (and shipping), as a partial `refund`.
    PartialRefund,
    /// The order's invoice PDF (`upload-documents`).
    Invoice,
}

impl TaskKind {
    pub const ALL: [TaskKind; 3] = [TaskKind::Status, TaskKind::PartialRefund, TaskKind::Invoice];

    pub const fn pending(self) -> TaskAction {
        match self {
            TaskKind::Status => TaskAction::SyncStatus,
            TaskKind::PartialRefund => TaskAction::PartialRefund,
            TaskKind::Invoice => TaskAction::UploadInvoice,
        }
    }

    pub const fn checking(self) -> TaskAction {
        match self {
            TaskKind::Status => TaskAction::CheckTicketSyncStatus,
            TaskKind::PartialRefund => TaskAction::CheckTicketPartialRefund,
            TaskKind::Invoice => TaskAction::CheckTicketUploadInvoice,
        }
    }
}

/// A Shopping Feed order operation (`POST /v1/store/{id}/order/{operation}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
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

    /// The path segment of the operation.
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

    pub fn parse(s: &str) -> Option<Self> {
        Operation::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ticket's `state` (note the API's spelling: `succeed`, `canceled`).
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
}

impl fmt::Display for TicketState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// ProcessLogger levels as the reference module writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Info,
    Success,
    Error,
}

impl LogLevel {
    pub const fn as_str(self) -> &'static str {
        match self {
            LogLevel::Info => "info",
            LogLevel::Success => "success",
            LogLevel::Error => "error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_round_trips_through_its_path_segment() {
        for op in Operation::ALL {
            assert_eq!(Operation::parse(op.as_str()), Some(op));
            let json = serde_json::to_string(&op).unwrap();
            assert_eq!(json, format!("\"{}\"", op.as_str()));
        }
        assert_eq!(Operation::parse("ships"), None);
    }

    #[test]
    fn ticket_state_uses_the_api_spelling() {
        let parse = |s: &str| serde_json::from_value::<TicketState>(s.into()).ok();
        assert_eq!(parse("succeed"), Some(TicketState::Succeed));
        assert_eq!(parse("succeeded"), None);
        assert_eq!(parse("canceled"), Some(TicketState::Canceled));
        assert!(!TicketState::Running.is_terminal());
        assert!(TicketState::Failed.is_terminal());
    }

    #[test]
    fn task_action_matches_the_enum_values_of_the_table() {
        assert_eq!(TaskAction::SyncStatus.as_str(), "SYNC_STATUS");
        assert_eq!(
            TaskAction::parse("CHECK_TICKET_SYNC_STATUS"),
            Some(TaskAction::CheckTicketSyncStatus)
        );
        assert_eq!(TaskAction::parse("sync_status"), None);
        for action in TaskAction::ALL {
            assert_eq!(TaskAction::parse(action.as_str()), Some(action));
        }
    }

    #[test]
    fn every_action_belongs_to_one_kind() {
        for action in TaskAction::ALL {
            let kinds = TaskKind::ALL
                .iter()
                .filter(|k| k.pending() == action || k.checking() == action)
                .count();
            assert_eq!(kinds, 1, "{action}");
        }
        assert_eq!(
            TaskKind::PartialRefund.checking().as_str(),
            "ACTION_CHECK_TICKET_PARTIAL_REFUND"
        );
    }
}
