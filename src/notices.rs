//! Failure notices: what the merchant must hear about (a failed, refused or abandoned order) is
//! written to `shoppingfeed_sync_notice` before the task it describes is requeued or deleted, and
//! removed only once a mailer accepted an e-mail listing it. A mailer that throws or returns false
//! therefore loses nothing: the next run mails the notice again.

use crate::db::sql::in_list;
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use crate::model::Operation;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};

/// One order the merchant must hear about.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub id_order: u32,
    /// PrestaShop order reference (filled when the e-mail is prepared).
    pub reference: String,
    /// Name of the order's current state in the shop's default language.
    pub status: String,
    pub operation: Option<Operation>,
    pub reason: String,
    /// True when the retries are exhausted and the task was removed.
    pub gave_up: bool,
}

impl Failure {
    /// A failure of an order; reference and status name are filled in when the e-mail is built.
    pub fn new(id_order: u32, operation: Option<Operation>, reason: impl Into<String>) -> Self {
        Failure {
            id_order,
            reference: String::new(),
            status: String::new(),
            operation,
            reason: reason.into(),
            gave_up: false,
        }
    }
}

/// Orders listed in one e-mail at most (the oldest first; the rest go in the next run's e-mail).
pub const MAIL_MAX_ORDERS: u32 = 500;

/// A notice waiting for an accepted e-mail.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub id: u32,
    pub failure: Failure,
}

/// Keeps a failure until it was mailed (on a connection, or inside the queue's transaction that
/// makes the task change it reports).
pub(crate) async fn save<Q: Queryable>(
    db: &Db,
    conn: &mut Q,
    id_shop: u32,
    failure: &Failure,
) -> Result<(), DbError> {
    let reason: String = failure.reason.chars().take(1000).collect();
    conn.exec_drop(
        db.sql().notice.insert.as_str(),
        (
            id_shop,
            failure.id_order,
            failure.operation.map(Operation::as_str),
            reason,
            failure.gave_up,
        ),
    )
    .await
    .ctx("saving a failure notice for the e-mail")
}

/// The oldest notices of a shop still waiting for an e-mail.
pub(crate) async fn pending(
    db: &Db,
    conn: &mut Conn,
    id_shop: u32,
) -> Result<Vec<Notice>, DbError> {
    let rows: Vec<(u32, u32, Option<String>, String, bool)> = conn
        .exec(db.sql().notice.pending.as_str(), (id_shop, MAIL_MAX_ORDERS))
        .await
        .ctx("reading the failure notices")?;
    Ok(rows
        .into_iter()
        .map(|(id, id_order, operation, reason, gave_up)| {
            let mut failure = Failure::new(
                id_order,
                operation.as_deref().and_then(Operation::parse),
                reason,
            );
            failure.gave_up = gave_up;
            Notice { id, failure }
        })
        .collect())
}

/// Forgets notices that were mailed.
pub(crate) async fn forget(db: &Db, conn: &mut Conn, ids: &[u32]) -> Result<(), DbError> {
    for chunk in ids.chunks(500) {
        let query = format!("{}{}", db.sql().notice.delete_head, in_list(chunk.len()));
        let params: Vec<Value> = chunk.iter().map(|id| Value::from(*id)).collect();
        conn.exec_drop(query, params)
            .await
            .ctx("removing the mailed failure notices")?;
    }
    Ok(())
}
