//! The task queue (`shoppingfeed_task_order`).

use crate::db::retry::LockRetry;
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Inserted,
    /// The order already had a pending task: its `update_at` was re-armed.
    Rearmed,
}

/// Creates the order's pending SYNC_STATUS task, or re-arms it, in one atomic statement: the unique
/// key on `pending_order` makes concurrent hooks update the same row instead of adding one.
pub async fn upsert_sync_task(
    db: &Db,
    conn: &mut Conn,
    id_order: u32,
    delay_minutes: u32,
) -> Result<Upsert, DbError> {
    // Concurrent hooks and CRON writes on one order can deadlock on the unique key (InnoDB's
    // insert-intention and next-key locks of INSERT ... ON DUPLICATE KEY UPDATE): InnoDB rolled
    // this one statement back, so it is simply run again rather than thrown to the shop's PHP.
    let mut retry = LockRetry::deadlocks_only();
    loop {
        let upserted = conn
            .exec_drop(
                db.sql().upsert_sync_task.as_str(),
                (id_order, delay_minutes),
            )
            .await
            .ctx(format!("queueing order {id_order}"));
        match upserted {
            Err(e) if retry.wants(&e) => retry.pause().await,
            upserted => break upserted?,
        }
    }
    // MySQL reports 1 for an insert, 2 for an update, 0 for an update that changed nothing.
    Ok(if conn.affected_rows() == 1 {
        Upsert::Inserted
    } else {
        Upsert::Rearmed
    })
}
