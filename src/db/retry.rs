//! One retry rule for statements that lose a lock conflict: InnoDB rolls back a deadlock victim
//! (1213) or a lock wait timeout (1205) whole, so the statement can simply be run again. On a
//! Galera cluster the same holds for a certification failure (1213, at the statement or at
//! COMMIT: a write committed first on another node won) and for a node that refuses work while it
//! rejoins (1047) or fails a commit (1180): every transaction retried here is re-run whole.

use crate::error::DbError;
use std::time::Duration;

/// Attempts after the first before a lock conflict is reported.
pub const LOCK_RETRIES: u32 = 5;

/// The retries of one statement or transaction, run by [`retrying!`] (or a loop of the same
/// shape where more errors are handled). A macro rather than a closure-taking helper: the futures
/// that run these are spawned, and an async closure over `&mut Conn` is not `Send` for every
/// lifetime.
#[derive(Debug, Default)]
pub struct LockRetry {
    attempt: u32,
    /// Deadlocks (and Galera refusals, which come at once) only: a lock wait timeout already
    /// waited (50 s by default), and the shop's request (the hook) must not wait that long twice.
    deadlocks_only: bool,
}

impl LockRetry {
    /// For statements that run inside the merchant's request.
    pub fn deadlocks_only() -> Self {
        LockRetry {
            attempt: 0,
            deadlocks_only: true,
        }
    }

    /// True when `e` is a conflict this retry takes and attempts are left (counting this one).
    pub fn wants(&mut self, e: &DbError) -> bool {
        let taken = if self.deadlocks_only {
            e.is_deadlock() || e.is_cluster_refusal()
        } else {
            e.is_lock_conflict()
        };
        if taken && self.attempt < LOCK_RETRIES {
            self.attempt += 1;
            true
        } else {
            false
        }
    }

    /// A short pause growing with the attempts (2 ms to 64 ms): the other transaction is usually
    /// done by then.
    pub async fn pause(&self) {
        tokio::time::sleep(Duration::from_millis(1 << self.attempt.min(6))).await;
    }
}

/// Runs `$attempt` (an expression giving a future of `Result<_, DbError>`, made again for each
/// attempt) until it succeeds, or fails with an error the [`LockRetry`] `$retry` does not take,
/// or `$retry` runs out: `retrying!(LockRetry::default(), async { ... })`.
macro_rules! retrying {
    ($retry:expr, $attempt:expr) => {{
        let mut retry: $crate::db::retry::LockRetry = $retry;
        loop {
            match $attempt.await {
                Err(e) if retry.wants(&e) => retry.pause().await,
                done => break done,
            }
        }
    }};
}
pub(crate) use retrying;
