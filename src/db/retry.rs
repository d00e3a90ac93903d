//! One retry rule for statements that lose a lock conflict: InnoDB rolls back a deadlock victim
//! (1213) or a lock wait timeout (1205) whole, so the statement can simply be run again.

use crate::error::DbError;
use std::time::Duration;

/// Attempts after the first before a lock conflict is reported.
pub const LOCK_RETRIES: u32 = 5;

/// The retries of one statement:
/// `loop { match run().await { Err(e) if retry.wants(&e) => retry.pause().await, r => break r } }`.
/// (A loop at the call site rather than a closure-taking helper: the futures that run these are
/// spawned, and an async closure over `&mut Conn` is not `Send` for every lifetime.)
#[derive(Debug, Default)]
pub struct LockRetry {
    attempt: u32,
}

impl LockRetry {
    /// True when `e` is a lock conflict and attempts are left (counting this one).
    pub fn wants(&mut self, e: &DbError) -> bool {
        if e.is_lock_conflict() && self.attempt < LOCK_RETRIES {
            self.attempt += 1;
            true
        } else {
            false
        }
    }

    /// A short pause growing with the attempts (10 ms to 320 ms).
    pub async fn pause(&self) {
        tokio::time::sleep(Duration::from_millis(5 << self.attempt.min(6))).await;
    }
}
