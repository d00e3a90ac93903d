//! The CRON's claim of due tasks, the same on every supported server (MySQL 5.7 and 8.0, MariaDB
//! 10.4 and later): no `SKIP LOCKED`, which only MySQL 8.0.1+ and MariaDB 10.6+ have. A plain read
//! picks the candidates; one UPDATE by primary key leases those still claimable, re-checked under
//! each row's lock. Two statements in autocommit, no transaction to open or commit. The UPDATE
//! goes by primary key, so even under the default REPEATABLE READ it locks only the rows it names
//! (no gap lock on the `due` index to deadlock the requests in flight): no READ COMMITTED, which
//! a server logging in STATEMENT format would refuse for writes.

use super::sql::in_list;
use super::Db;
use crate::error::{DbError, DbResultExt};
use crate::model::TaskKind;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};

/// The tasks a run may send with one Shopping Feed account: those of a shop's orders imported
/// with that account (`shoppingfeed_order.id_shoppingfeed_token`), and, for the shop's first
/// account only, those of orders imported without one (0 or no link row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskScope {
    pub id_shop: u32,
    /// The account's token row id (0: the configuration's `SHOPPINGFEED_AUTH_TOKEN`).
    pub account: u32,
    /// Whether the orders without an account are this account's.
    pub first: bool,
}

impl TaskScope {
    /// The first (or only) account of a shop.
    pub fn first(id_shop: u32, account: u32) -> Self {
        TaskScope {
            id_shop,
            account,
            first: true,
        }
    }

    /// The two token ids the SQL's `IN (?, ?)` accepts.
    pub fn tokens(&self) -> (u32, u32) {
        (self.account, if self.first { 0 } else { self.account })
    }
}

/// Rounds of a claim whose every candidate went to a concurrent claim before it gives up (each
/// such round means the other claim took them, so the queue did move).
const LOST_ROUNDS: u32 = 10;

/// Leases up to `limit` due pending tasks of a kind and a scope that no live lease holds to
/// `owner` for `lease_seconds`, oldest due first; returns their ids. A concurrent claim never gets
/// the same task while the lease is valid. A lost deadlock or lock wait is returned as is
/// ([`DbError::is_lock_conflict`]): nothing was leased and the caller may simply retry.
pub async fn claim_due(
    db: &Db,
    conn: &mut Conn,
    kind: TaskKind,
    scope: TaskScope,
    owner: &str,
    lease_seconds: u32,
    limit: usize,
) -> Result<Vec<u32>, DbError> {
    let sql = &db.sql().cron;
    let action = kind.pending().as_str();
    let (a, b) = scope.tokens();
    for _ in 0..LOST_ROUNDS {
        let candidates: Vec<u32> = conn
            .exec(
                sql.select_claimable.as_str(),
                (action, scope.id_shop, a, b, limit),
            )
            .await
            .ctx("selecting due tasks")?;
        if candidates.is_empty() {
            return Ok(candidates);
        }
        let list = in_list(candidates.len());
        let mut params: Vec<Value> = vec![owner.into(), lease_seconds.into(), action.into()];
        params.extend(candidates.iter().map(|id| Value::from(*id)));
        conn.exec_drop(format!("{}{list}", sql.claim_head), params)
            .await
            .ctx("leasing due tasks")?;
        let leased = conn.affected_rows();
        if leased == candidates.len() as u64 {
            return Ok(candidates);
        }
        if leased > 0 {
            // A concurrent claim (or a re-arm) took some: ours are those we hold now. None was
            // ours before: a live lease is never a candidate.
            let mut params: Vec<Value> = vec![owner.into()];
            params.extend(candidates.iter().map(|id| Value::from(*id)));
            return conn
                .exec(format!("{}{list}", sql.claimed_of_head), params)
                .await
                .ctx("reading the leased tasks");
        }
    }
    Ok(Vec::new())
}
