//! The CRON's claim of due tasks, portable to every supported server: MySQL 5.7 and 8.0, MariaDB
//! 10.4 and later. No `SKIP LOCKED` (MySQL 8.0.1+, MariaDB 10.6+ only): one `UPDATE ... ORDER BY
//! ... LIMIT` leases the tasks to a token of this claim alone, which then reads them back and
//! hands them to the run's lease owner, all in one transaction.

use super::Db;
use crate::error::{DbError, DbResultExt};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, IsolationLevel, TxOpts};
use std::sync::atomic::{AtomicU32, Ordering};

/// Tells the claims of one process apart (the owner is already unique per run).
static CLAIM_SEQ: AtomicU32 = AtomicU32::new(0);

/// Leases up to `limit` due SYNC_STATUS tasks of shop `id_shop` that no live lease holds to
/// `owner` for `lease_seconds`, oldest due first; returns their ids. A concurrent claim never gets
/// the same task while the lease is valid. A lost deadlock or lock wait is returned as is
/// ([`DbError::is_lock_conflict`]): nothing was leased and the caller may simply retry.
pub async fn claim_due(
    db: &Db,
    conn: &mut Conn,
    id_shop: u32,
    owner: &str,
    lease_seconds: u32,
    limit: usize,
) -> Result<Vec<u32>, DbError> {
    let sql = &db.sql().cron;
    // The owner's earlier pages may still be leased to it (requests in flight): the token
    // (at most 24 + 9 characters, within the column's 40) picks out this claim's rows.
    let token = format!("{owner}:{:x}", CLAIM_SEQ.fetch_add(1, Ordering::Relaxed));
    // READ COMMITTED: no gap locks, so a claim and the batch-id updates of the requests in
    // flight do not deadlock on the `due` index; and a row another claim holds is waited for
    // only if its last committed version is claimable (semi-consistent read).
    let mut tx_opts = TxOpts::default();
    tx_opts.with_isolation_level(IsolationLevel::ReadCommitted);
    let mut tx = conn
        .start_transaction(tx_opts)
        .await
        .ctx("starting a claim")?;
    tx.exec_drop(
        sql.claim_due.as_str(),
        (token.as_str(), lease_seconds, id_shop, limit),
    )
    .await
    .ctx("leasing due tasks")?;
    let mut ids: Vec<u32> = Vec::new();
    if tx.affected_rows() > 0 {
        ids = tx
            .exec(sql.claimed_ids.as_str(), (token.as_str(),))
            .await
            .ctx("reading the leased tasks")?;
        tx.exec_drop(sql.claim_restamp.as_str(), (owner, token.as_str()))
            .await
            .ctx("leasing due tasks")?;
    }
    tx.commit().await.ctx("committing a claim")?;
    Ok(ids)
}
