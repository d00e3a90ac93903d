//! Hook log rows are buffered for the request and written in one insert: at the end of the
//! request, when 100 rows are waiting (Classlib's own threshold), or on `OrderSync::flushLogs()`.
//! This keeps one round trip out of every hook call.

use crate::db::logger::{ProcessLogger, DEFAULT_PROCESS};
use crate::db::Db;
use crate::error::DbError;
use crate::runtime::{self, RuntimeError};
use std::cell::RefCell;

const FLUSH_AT: usize = 100;
/// Rows kept when writing fails (the database is down): the newest ones.
const KEEP_AT_MOST: usize = 10_000;

thread_local! {
    static PENDING: RefCell<Option<(Db, ProcessLogger)>> = const { RefCell::new(None) };
}

#[derive(Debug, thiserror::Error)]
pub enum FlushError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

fn write(db: &Db, log: &mut ProcessLogger) -> Result<usize, FlushError> {
    let n = log.len();
    let res = runtime::block_on(log.flush_pooled(db))?;
    if res.is_err() {
        log.truncate_oldest(KEEP_AT_MOST);
    }
    res?;
    Ok(n)
}

/// Adds a call's rows; writes them when the buffer is full or belongs to another database.
pub fn add(db: &Db, mut rows: ProcessLogger) -> Result<(), FlushError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut to_write = None;
    PENDING.with(|cell| {
        let mut pending = cell.borrow_mut();
        match pending.as_mut() {
            Some((target, buffer)) if target.same_target(db) => buffer.append(&mut rows),
            _ => {
                // Another database (or none yet): write what was pending for the old one first.
                if let Some(old) = pending.take() {
                    to_write = Some(old);
                }
                *pending = Some((db.clone(), rows));
            }
        }
    });
    if let Some((old_db, mut old_rows)) = to_write {
        write(&old_db, &mut old_rows)?;
    }
    let full = PENDING.with(|cell| {
        cell.borrow()
            .as_ref()
            .is_some_and(|(_, b)| b.len() >= FLUSH_AT)
    });
    if full {
        flush()?;
    }
    Ok(())
}

/// Writes every pending row now; returns how many were written.
pub fn flush() -> Result<usize, FlushError> {
    let Some((db, mut rows)) = PENDING.with(|cell| cell.borrow_mut().take()) else {
        return Ok(0);
    };
    let res = write(&db, &mut rows);
    if res.is_err() {
        // Keep them for the next attempt (end of request, or the next call).
        PENDING.with(|cell| {
            let mut pending = cell.borrow_mut();
            if pending.is_none() {
                *pending = Some((db, rows));
            }
        });
    }
    res
}

/// A logger for one hook call.
pub fn call_logger() -> ProcessLogger {
    ProcessLogger::new(DEFAULT_PROCESS)
}

/// A logger for one hook call on `db` that carries the rows still waiting for that database: a
/// call that writes its own rows at once (the hook procedure) writes these first, so the log keeps
/// the order of the calls. Give it back with [`add`].
pub fn call_logger_with_pending(db: &Db) -> ProcessLogger {
    PENDING.with(|cell| {
        let mut pending = cell.borrow_mut();
        match pending.take() {
            Some((target, rows)) if target.same_target(db) => rows,
            other => {
                *pending = other;
                call_logger()
            }
        }
    })
}
