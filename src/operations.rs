//! The record of what was sent per order and operation (`shoppingfeed_sync_operation`): the
//! last ship, cancel, refund, deliver, partial refund and invoice upload an accepted request
//! carried, and what became of it (its ticket's result, or the merchant's cancel). The order page
//! shows it; the tracking-number trigger compares the tracking number a ship carried; the
//! reconciliation sweep skips an order whose operation was recorded after its last status change.
//! Best effort: a missing row costs at most one needless send, never a lost one.

use crate::db::sql::in_list;
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use crate::model::{Operation, TaskKind};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};

/// The record's name of what a task of `kind` sent with `operation`.
pub fn record_name(kind: TaskKind, operation: Operation) -> &'static str {
    match kind {
        TaskKind::Status => operation.as_str(),
        TaskKind::PartialRefund => "partial_refund",
        TaskKind::Invoice => "upload_invoice",
    }
}

/// What became of a recorded operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationResult {
    Sent,
    Succeeded,
    Failed,
    /// The ticket was canceled (refused by the marketplace or Shopping Feed).
    Refused,
    GaveUp,
    /// The merchant canceled the task.
    Canceled,
}

impl OperationResult {
    pub const fn as_str(self) -> &'static str {
        match self {
            OperationResult::Sent => "sent",
            OperationResult::Succeeded => "succeeded",
            OperationResult::Failed => "failed",
            OperationResult::Refused => "refused",
            OperationResult::GaveUp => "gave_up",
            OperationResult::Canceled => "canceled",
        }
    }
}

/// One operation an accepted request carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentOperation<'a> {
    pub id_order: u32,
    pub name: &'static str,
    pub carrier: Option<&'a str>,
    pub tracking_number: Option<&'a str>,
}

/// Records the operations of an accepted request (batch `batch_id`).
pub async fn record_sent(
    db: &Db,
    conn: &mut Conn,
    batch_id: &str,
    ops: &[SentOperation<'_>],
) -> Result<(), DbError> {
    if ops.is_empty() {
        return Ok(());
    }
    let sql = &db.sql().operation;
    let mut p: Vec<Value> = Vec::with_capacity(ops.len() * 5);
    for op in ops {
        let trim = |v: Option<&str>| {
            v.map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| v.chars().take(64).collect::<String>())
        };
        p.push(op.id_order.into());
        p.push(op.name.into());
        p.push(trim(op.carrier).into());
        p.push(trim(op.tracking_number).into());
        p.push(batch_id.into());
    }
    let values = vec![sql.sent_values; ops.len()].join(",");
    conn.exec_drop(format!("{}{values}", sql.sent_head), p)
        .await
        .ctx("recording the operations sent")
}

/// Records the ticket results of a batch's orders: `(order, result, ticket number)`, in one
/// statement per result.
pub async fn record_results(
    db: &Db,
    conn: &mut Conn,
    batch_id: &str,
    results: &[(u32, OperationResult, Option<&str>)],
) -> Result<(), DbError> {
    let sql = &db.sql().operation;
    let mut kinds: Vec<OperationResult> = results.iter().map(|r| r.1).collect();
    kinds.sort_by_key(|k| k.as_str());
    kinds.dedup();
    for kind in kinds {
        let of: Vec<&(u32, OperationResult, Option<&str>)> =
            results.iter().filter(|r| r.1 == kind).collect();
        // The ticket of each order: COALESCE(ELT(FIELD(id_order, o1, o2...), t1, t2...), ticket_number).
        let n = of.len();
        let query = format!(
            "{}COALESCE(ELT(FIELD(id_order, {}), {}), ticket_number) WHERE batch_id = ? AND id_order IN {}",
            sql.result_head,
            vec!["?"; n].join(","),
            vec!["?"; n].join(","),
            in_list(n),
        );
        let mut p: Vec<Value> = vec![kind.as_str().into()];
        p.extend(of.iter().map(|r| Value::from(r.0)));
        p.extend(of.iter().map(|r| Value::from(r.2)));
        p.push(batch_id.into());
        p.extend(of.iter().map(|r| Value::from(r.0)));
        conn.exec_drop(query, p)
            .await
            .ctx("recording ticket results")?;
    }
    Ok(())
}

/// Records that the merchant canceled the order's task for an operation.
pub async fn record_canceled(
    db: &Db,
    conn: &mut Conn,
    id_order: u32,
    name: &str,
) -> Result<(), DbError> {
    conn.exec_drop(db.sql().operation.canceled.as_str(), (id_order, name))
        .await
        .ctx(format!("recording the cancel of order {id_order}"))
}

/// One recorded operation of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationRecord {
    pub operation: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub ticket_number: Option<String>,
    pub batch_id: Option<String>,
    pub result: String,
    pub date_upd: String,
}

type RecordRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
);

/// The recorded operations of an order, newest first.
pub async fn of_order(
    db: &Db,
    conn: &mut Conn,
    id_order: u32,
) -> Result<Vec<OperationRecord>, DbError> {
    let rows: Vec<RecordRow> = conn
        .exec(db.sql().operation.of_order.as_str(), (id_order,))
        .await
        .ctx(format!("reading the operations of order {id_order}"))?;
    Ok(rows
        .into_iter()
        .map(
            |(operation, carrier, tracking_number, ticket_number, batch_id, result, date_upd)| {
                OperationRecord {
                    operation,
                    carrier,
                    tracking_number,
                    ticket_number,
                    batch_id,
                    result,
                    date_upd,
                }
            },
        )
        .collect())
}

/// Whether the order's operation `name` was recorded (sent, or canceled by the merchant) at or
/// after `since` (`Y-m-d H:i:s`).
pub async fn recorded_since(
    db: &Db,
    conn: &mut Conn,
    id_order: u32,
    name: &str,
    since: &str,
) -> Result<bool, DbError> {
    let found: Option<bool> = conn
        .exec_first(
            db.sql().operation.recorded_since.as_str(),
            (id_order, name, since),
        )
        .await
        .ctx(format!("reading the operations of order {id_order}"))?;
    Ok(found.unwrap_or(false))
}
