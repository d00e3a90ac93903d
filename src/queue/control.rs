//! The merchant's transitions (the back office's task grid and order panel): Send now, Retry,
//! Cancel, one task at a time and each fenced in its statement, so a run that claimed the task
//! meanwhile, or a re-arm, wins (docs/queue.md, "The merchant's actions"). And the removal of
//! tasks that gave up once their retention ended.

use super::{params, write};
use crate::db::retry::LockRetry;
use crate::db::sql::in_list;
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use crate::model::TaskAction;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, TxOpts, Value};

/// What the merchant's actions check of a task before they try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskNow {
    pub id_task: u32,
    pub id_order: u32,
    pub id_shop: u32,
    pub id_shop_group: u32,
    pub current_state: u32,
    pub action: Option<TaskAction>,
    pub gave_up: bool,
    /// Due later (its delay, or its retry).
    pub waits: bool,
    /// A run holds a live lease: it is being sent.
    pub leased: bool,
}

impl TaskNow {
    /// Sent, waiting for its ticket.
    pub fn checking(&self) -> bool {
        self.action.is_some_and(|a| {
            crate::model::TaskKind::ALL
                .iter()
                .any(|k| k.checking() == a)
        })
    }
}

type TaskNowRow = (u32, u32, u32, u32, u32, String, bool, Option<bool>, bool);

/// The tasks of given ids as they are now (those that exist).
pub async fn tasks_now(db: &Db, conn: &mut Conn, ids: &[u32]) -> Result<Vec<TaskNow>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let query = format!(
        "{}{}",
        db.sql().queue.merchant_rows_head,
        in_list(ids.len())
    );
    let rows: Vec<TaskNowRow> = conn
        .exec(query, params(Vec::new(), ids))
        .await
        .ctx("reading tasks")?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id_task,
                id_order,
                id_shop,
                id_shop_group,
                current_state,
                action,
                gave_up,
                waits,
                leased,
            )| TaskNow {
                id_task,
                id_order,
                id_shop,
                id_shop_group,
                current_state,
                action: TaskAction::parse(&action),
                gave_up,
                waits: waits.unwrap_or(false),
                leased,
            },
        )
        .collect())
}

async fn one(conn: &mut Conn, sql: &str, id_task: u32, what: &str) -> Result<bool, DbError> {
    let p: Vec<Value> = vec![id_task.into()];
    let what = format!("{what} task {id_task}");
    Ok(write(conn, LockRetry::deadlocks_only(), sql, p, &what).await? > 0)
}

/// "Send now": a pending task waiting for its delay or its retry becomes due now (version + 1).
/// False when it is not waiting (due already, being sent, sent, gave up) or gone.
pub async fn send_now(db: &Db, conn: &mut Conn, id_task: u32) -> Result<bool, DbError> {
    one(conn, &db.sql().queue.send_now, id_task, "expediting").await
}

/// "Retry": a task that gave up is due now, its attempts starting again. False when it did not
/// give up (any more).
pub async fn retry(db: &Db, conn: &mut Conn, id_task: u32) -> Result<bool, DbError> {
    one(conn, &db.sql().queue.retry_gave_up, id_task, "retrying").await
}

/// "Cancel": removes a pending task (or one that gave up) that no run is sending. False when it
/// was sent meanwhile, is being sent, or is gone.
pub async fn cancel(db: &Db, conn: &mut Conn, id_task: u32) -> Result<bool, DbError> {
    one(conn, &db.sql().queue.cancel, id_task, "canceling").await
}

/// Removes up to `limit` tasks that gave up more than `days` days ago (oldest first); returns
/// their (task, order) ids.
pub async fn remove_expired(
    db: &Db,
    conn: &mut Conn,
    days: u32,
    limit: u32,
) -> Result<Vec<(u32, u32)>, DbError> {
    let sql = &db.sql().queue;
    // Read and removed under the rows' locks: a task the merchant retries meanwhile stays.
    let mut tx = conn
        .start_transaction(TxOpts::default())
        .await
        .ctx("removing the tasks that gave up")?;
    let expired: Vec<(u32, u32)> = tx
        .exec(sql.expired_gave_up.as_str(), (days, limit))
        .await
        .ctx("reading the tasks that gave up")?;
    if !expired.is_empty() {
        let ids: Vec<u32> = expired.iter().map(|(id, _)| *id).collect();
        let query = format!("{}{}", sql.remove_expired_head, in_list(ids.len()));
        tx.exec_drop(query, params(vec![days.into()], &ids))
            .await
            .ctx("removing the tasks that gave up")?;
    }
    tx.commit().await.ctx("removing the tasks that gave up")?;
    Ok(expired)
}
