//! The record of what was sent per order and operation (`shoppingfeed_sync_operation`): the
//! last ship, cancel, refund, deliver, partial refund and invoice upload an accepted request
//! carried, and what became of it: a failure, a refusal, giving up, the merchant's cancel; a
//! success is not written (a `sent` record whose batch no task waits for succeeded: see
//! `control::order_view`), so a check of 10,000 tickets costs no extra writes. The order page
//! shows it; the tracking-number trigger compares the tracking number a ship carried; the
//! reconciliation sweep skips an order whose operation was recorded after its last status change.
//! Best effort: a missing row costs at most one needless send, never a lost one.

use crate::db::sql::in_list;
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use crate::model::{Operation, TaskKind};
use crate::shop::{operation_for, StateLists};
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

/// The record's name of what a task of `kind` would send now, its order being in `state`
/// (`None`: a status whose state maps to nothing).
pub fn name_now(kind: TaskKind, lists: &StateLists, state: u32) -> Option<&'static str> {
    match kind {
        TaskKind::Status => operation_for(lists, state).map(|op| record_name(kind, op)),
        TaskKind::PartialRefund => Some(record_name(kind, Operation::Refund)),
        TaskKind::Invoice => Some(record_name(kind, Operation::UploadDocuments)),
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
pub struct SentRow {
    pub id_order: u32,
    pub name: &'static str,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub batch_id: String,
}

/// What became of a recorded operation: its batch's ticket for the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRow {
    pub batch_id: String,
    pub id_order: u32,
    pub result: OperationResult,
    pub ticket: Option<String>,
}

/// Rows written per statement at most.
const ROWS_PER_STATEMENT: usize = 500;
/// A caller flushes its buffer once it holds this many rows (and at its end).
pub const FLUSH_ROWS: usize = ROWS_PER_STATEMENT;

fn trimmed(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.chars().take(64).collect())
}

/// Records the operations accepted requests carried, a few statements for many requests.
pub async fn record_sent(db: &Db, conn: &mut Conn, rows: &[SentRow]) -> Result<(), DbError> {
    let sql = &db.sql().operation;
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut p: Vec<Value> = Vec::with_capacity(chunk.len() * 5);
        for r in chunk {
            p.push(r.id_order.into());
            p.push(r.name.into());
            p.push(trimmed(r.carrier.as_deref()).into());
            p.push(trimmed(r.tracking_number.as_deref()).into());
            p.push(r.batch_id.as_str().into());
        }
        let values = vec![sql.sent_values; chunk.len()].join(",");
        conn.exec_drop(format!("{}{values}", sql.sent_head), p)
            .await
            .ctx("recording the operations sent")?;
    }
    Ok(())
}

/// Records ticket results, one statement per row (by primary key): only failures, refusals and
/// give-ups are written (successes are not), and each of those already cost its task a
/// transaction.
pub async fn record_results(db: &Db, conn: &mut Conn, rows: &[ResultRow]) -> Result<(), DbError> {
    let sql = db.sql().operation.result.as_str();
    for r in rows {
        let p = (
            r.result.as_str(),
            r.ticket.as_deref(),
            r.id_order,
            r.batch_id.as_str(),
        );
        conn.exec_drop(sql, p)
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

/// The recorded operations of given orders: (order, operation, when, as `Y-m-d H:i:s`).
pub async fn recorded_of(
    db: &Db,
    conn: &mut Conn,
    orders: &[u32],
) -> Result<Vec<(u32, String, String)>, DbError> {
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    let query = format!(
        "{}{}",
        db.sql().operation.of_orders_head,
        in_list(orders.len())
    );
    let p: Vec<Value> = orders.iter().map(|o| Value::from(*o)).collect();
    conn.exec(query, p)
        .await
        .ctx("reading the operations of orders")
}
