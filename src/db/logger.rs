//! The ProcessLogger table (`shoppingfeed_processlogger`), written the way the reference's Classlib
//! does: buffered rows flushed in multi-row inserts, so a hook costs one round trip for its logs.

use crate::db::sql::keys;
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use crate::model::LogLevel;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};

/// The reference's default process name when no ProcessMonitor is open (the hooks).
pub const DEFAULT_PROCESS: &str = "default";
/// The CRON process name, also the ProcessMonitor row name.
pub const SYNC_ORDER_PROCESS: &str = "shoppingfeed:syncOrder";
/// Rows per insert; Classlib flushes every 100 entries too.
const FLUSH_EVERY: usize = 100;
/// `object_name` of order rows.
pub const ORDER_OBJECT: &str = "Order";

#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub msg: String,
    pub level: LogLevel,
    pub object_name: String,
    pub object_id: Option<u32>,
}

/// A buffer of log rows for one process name.
#[derive(Debug)]
pub struct ProcessLogger {
    name: String,
    entries: Vec<LogEntry>,
}

/// Log retention when the configuration has none (days).
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
/// Rows deleted per statement and statements per run at most: a run never spends long on it,
/// and a table grown for years is trimmed over a few runs.
const PURGE_BATCH: u32 = 1000;
const PURGE_BATCHES: u32 = 10;

/// Deletes the ProcessLogger rows older than the retention (`SHOPPINGFEED_LOG_RETENTION_DAYS`,
/// global; default 30 days, 0 keeps them forever), oldest first, in bounded batches; returns how
/// many went.
pub async fn purge_old_rows(db: &Db, conn: &mut Conn) -> Result<u64, DbError> {
    let sql = db.sql();
    let days =
        super::global_u32(db, conn, keys::LOG_RETENTION_DAYS, DEFAULT_RETENTION_DAYS).await?;
    if days == 0 {
        return Ok(0);
    }
    let mut purged = 0;
    for _ in 0..PURGE_BATCHES {
        conn.exec_drop(sql.purge_logs.as_str(), (days, PURGE_BATCH))
            .await
            .ctx("deleting old process log rows")?;
        let n = conn.affected_rows();
        purged += n;
        if n < u64::from(PURGE_BATCH) {
            break;
        }
    }
    Ok(purged)
}

/// `[Order: 12]`, the reference's prefix of order messages.
pub fn order_prefix(id_order: u32) -> String {
    format!("[Order: {id_order}]")
}

/// The message of an order's log row: `[Order: N] msg`.
pub fn order_msg(id_order: u32, msg: &str) -> String {
    format!("{} {msg}", order_prefix(id_order))
}

impl ProcessLogger {
    pub fn new(name: &str) -> Self {
        ProcessLogger {
            name: name.to_string(),
            entries: Vec::new(),
        }
    }

    /// The process name its rows are written with.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Moves the rows of `other` (same process name expected) to the end of this buffer.
    pub fn append(&mut self, other: &mut ProcessLogger) {
        self.entries.append(&mut other.entries);
    }

    /// Drops the oldest rows beyond `max` (a buffer that cannot be written must stay bounded).
    pub fn truncate_oldest(&mut self, max: usize) {
        if self.entries.len() > max {
            let extra = self.entries.len() - max;
            self.entries.drain(..extra);
        }
    }

    /// [`flush`](Self::flush) on a pooled connection.
    pub async fn flush_pooled(&mut self, db: &Db) -> Result<(), DbError> {
        if self.entries.is_empty() {
            return Ok(());
        }
        let mut conn = db.conn().await?;
        self.flush(db, &mut conn).await
    }

    pub fn log(&mut self, level: LogLevel, msg: impl Into<String>, object: Option<(&str, u32)>) {
        let (object_name, object_id) = match object {
            Some((name, id)) => (name.to_string(), Some(id)),
            None => (String::new(), None),
        };
        self.entries.push(LogEntry {
            msg: msg.into(),
            level,
            object_name,
            object_id,
        });
    }

    pub fn error(&mut self, msg: impl Into<String>, object: Option<(&str, u32)>) {
        self.log(LogLevel::Error, msg, object)
    }

    /// An order row (`object_name` 'Order', `object_id` the order id).
    pub fn order(&mut self, level: LogLevel, id_order: u32, msg: &str) {
        self.log(
            level,
            order_msg(id_order, msg),
            Some((ORDER_OBJECT, id_order)),
        )
    }

    /// Writes the buffered rows; they stay buffered if the insert fails.
    pub async fn flush(&mut self, db: &Db, conn: &mut Conn) -> Result<(), DbError> {
        while !self.entries.is_empty() {
            let n = self.entries.len().min(FLUSH_EVERY);
            let sql = db.sql();
            let mut query = String::with_capacity(sql.insert_log_head.len() + n * 24);
            query.push_str(&sql.insert_log_head);
            let mut params: Vec<Value> = Vec::with_capacity(n * 5);
            for (i, e) in self.entries[..n].iter().enumerate() {
                if i > 0 {
                    query.push(',');
                }
                query.push_str(sql.log_values);
                params.push(self.name.clone().into());
                params.push(e.msg.clone().into());
                params.push(e.level.as_str().into());
                params.push(e.object_name.clone().into());
                params.push(e.object_id.into());
            }
            conn.exec_drop(query, params)
                .await
                .ctx("writing the process log")?;
            self.entries.drain(..n);
        }
        Ok(())
    }
}
