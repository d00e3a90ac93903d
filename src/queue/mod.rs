//! The task queue (`shoppingfeed_task_order`): the only code that writes it. Each transition of
//! the state machine in docs/queue.md is one function here, fenced in its SQL by what the caller
//! saw (the id and the expected action, the version where a re-arm can race, the lease owner
//! where a lease is held, the batch where a ticket is checked). A transition that finds the row
//! changed does nothing and says so: the newer state goes out with the next run.

pub mod control;
pub mod sql;
pub mod view;

use crate::db::retry::{retrying, LockRetry};
use crate::db::sql::{in_list, pairs_list};
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use crate::model::TaskKind;
use crate::notices::{self, Failure};
use mysql_async::prelude::{FromRow, Queryable};
use mysql_async::{Conn, TxOpts, Value};

pub use sql::QueueSql;

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

/// What an enqueue of a status did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Inserted,
    /// The order already had a pending task: its `update_at` was re-armed (version + 1).
    Rearmed,
}

fn params(head: Vec<Value>, ids: &[u32]) -> Vec<Value> {
    let mut p = head;
    p.extend(ids.iter().map(|id| Value::from(*id)));
    p
}

/// Runs one statement, again when InnoDB rolled it back as a deadlock victim (or, outside the
/// merchant's request, after a lock wait timeout); returns the rows it changed.
async fn write(
    conn: &mut Conn,
    retry: LockRetry,
    query: &str,
    p: Vec<Value>,
    what: &str,
) -> Result<u64, DbError> {
    retrying!(retry, async {
        conn.exec_drop(query, p.clone()).await.ctx(what)?;
        Ok(conn.affected_rows())
    })
}

// ---- Enqueue (the triggers) ----

/// Creates the order's pending SYNC_STATUS task, or re-arms it (due in `delay_minutes`, version +
/// 1), in one atomic statement. The hook's stored procedure runs the same transition
/// (`QueueSql::procedure_enqueue`).
pub async fn enqueue_status(
    db: &Db,
    conn: &mut Conn,
    id_order: u32,
    delay_minutes: u32,
) -> Result<Upsert, DbError> {
    // Concurrent hooks and CRON writes on one order can deadlock on the unique key: the statement
    // was rolled back and is simply run again rather than thrown to the shop's PHP.
    write(
        conn,
        LockRetry::deadlocks_only(),
        &db.sql().queue.enqueue_status,
        vec![id_order.into(), delay_minutes.into(), delay_minutes.into()],
        &format!("queueing order {id_order}"),
    )
    .await?;
    // MySQL reports 1 for an insert, 2 for an update, 0 for an update that changed nothing.
    Ok(if conn.affected_rows() == 1 {
        Upsert::Inserted
    } else {
        Upsert::Rearmed
    })
}

/// A trigger's write in the merchant's request (deadlocks retried, lock waits not): true when it
/// changed a row.
async fn trigger_write(
    conn: &mut Conn,
    sql: &str,
    p: Vec<Value>,
    what: String,
) -> Result<bool, DbError> {
    Ok(write(conn, LockRetry::deadlocks_only(), sql, p, &what).await? > 0)
}

/// Queues a credit slip's partial refund; false when the slip already has its task.
pub async fn enqueue_slip(
    db: &Db,
    conn: &mut Conn,
    id_order: u32,
    id_slip: u32,
) -> Result<bool, DbError> {
    let what = format!("queueing credit slip {id_slip} of order {id_order}");
    let p = vec![id_order.into(), id_slip.into()];
    trigger_write(conn, &db.sql().queue.enqueue_slip, p, what).await
}

/// Queues the order's invoice upload; false when it already has one (pending or checking).
pub async fn enqueue_invoice(db: &Db, conn: &mut Conn, id_order: u32) -> Result<bool, DbError> {
    let what = format!("queueing the invoice of order {id_order}");
    trigger_write(
        conn,
        &db.sql().queue.enqueue_invoice,
        vec![id_order.into()],
        what,
    )
    .await
}

/// Makes the order's pending status task due now if it waits for its delay; false when none waits.
pub async fn expedite(db: &Db, conn: &mut Conn, id_order: u32) -> Result<bool, DbError> {
    let what = format!("expediting order {id_order}");
    trigger_write(conn, &db.sql().queue.expedite, vec![id_order.into()], what).await
}

/// Whether the order has a pending status task (which reads the order's current state, tracking
/// number included, when it is sent).
pub async fn has_pending_status(db: &Db, conn: &mut Conn, id_order: u32) -> Result<bool, DbError> {
    let id: Option<u32> = conn
        .exec_first(db.sql().queue.pending_status.as_str(), (id_order,))
        .await
        .ctx(format!("reading the pending task of order {id_order}"))?;
    Ok(id.is_some())
}

/// Which of given orders have a status task, whatever its state (pending, checked, given up).
pub async fn with_status_task(
    db: &Db,
    conn: &mut Conn,
    orders: &[u32],
) -> Result<Vec<u32>, DbError> {
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    let kind = TaskKind::Status;
    let query = format!(
        "{}{}",
        db.sql().queue.with_status_task_head,
        in_list(orders.len())
    );
    let head = vec![
        kind.pending().as_str().into(),
        kind.checking().as_str().into(),
    ];
    conn.exec(query, params(head, orders))
        .await
        .ctx("reading the status tasks of orders")
}

// ---- Leases (a CRON run) ----

/// Rounds of a claim whose every candidate went to a concurrent claim before it gives up (each
/// such round means the other claim took them, so the queue did move).
const LOST_ROUNDS: u32 = 10;

/// Leases up to `limit` due pending tasks of a kind and a scope that no live lease holds to
/// `owner` for `lease_seconds`, oldest due first; returns their ids. A concurrent claim never
/// gets the same task while the lease is valid. The claim is two statements in autocommit, the
/// same on every supported server: a plain read picks the candidates (no `SKIP LOCKED`, which
/// only MySQL 8.0.1+ and MariaDB 10.6+ have), one UPDATE by primary key leases those still
/// claimable, re-checked under each row's lock. Lost deadlocks and lock waits are retried.
pub async fn claim_due(
    db: &Db,
    conn: &mut Conn,
    kind: TaskKind,
    scope: TaskScope,
    owner: &str,
    lease_seconds: u32,
    limit: usize,
) -> Result<Vec<u32>, DbError> {
    retrying!(
        LockRetry::default(),
        claim_once(db, conn, kind, scope, owner, lease_seconds, limit)
    )
}

async fn claim_once(
    db: &Db,
    conn: &mut Conn,
    kind: TaskKind,
    scope: TaskScope,
    owner: &str,
    lease_seconds: u32,
    limit: usize,
) -> Result<Vec<u32>, DbError> {
    let sql = &db.sql().queue;
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
        let p = params(
            vec![owner.into(), lease_seconds.into(), action.into()],
            &candidates,
        );
        conn.exec_drop(format!("{}{list}", sql.claim_head), p)
            .await
            .ctx("leasing due tasks")?;
        let leased = conn.affected_rows();
        if leased == candidates.len() as u64 {
            return Ok(candidates);
        }
        if leased > 0 {
            // A concurrent claim (or a re-arm) took some: ours are those we hold now. None was
            // ours before: a live lease is never a candidate.
            return conn
                .exec(
                    format!("{}{list}", sql.claimed_of_head),
                    params(vec![owner.into()], &candidates),
                )
                .await
                .ctx("reading the leased tasks");
        }
    }
    Ok(Vec::new())
}

/// Leases given pending status tasks of the scope's orders that no live lease holds (another
/// shop's or account's ids are left alone); returns the ids `owner` holds now.
pub async fn claim_ids(
    db: &Db,
    conn: &mut Conn,
    scope: TaskScope,
    owner: &str,
    lease_seconds: u32,
    ids: &[u32],
) -> Result<Vec<u32>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = &db.sql().queue;
    let (a, b) = scope.tokens();
    let head = vec![
        owner.into(),
        lease_seconds.into(),
        scope.id_shop.into(),
        a.into(),
        b.into(),
    ];
    let query = format!("{}{}", sql.claim_ids_head, in_list(ids.len()));
    write(
        conn,
        LockRetry::default(),
        &query,
        params(head, ids),
        "leasing tasks",
    )
    .await?;
    conn.exec(
        format!("{}{}", sql.claimed_of_head, in_list(ids.len())),
        params(vec![owner.into()], ids),
    )
    .await
    .ctx("reading the leased tasks")
}

/// Extends every lease `owner` holds by `lease_seconds` from now: a run renews its leases while
/// it works, so that no lease expires under a task it still holds (which another run, or itself,
/// would claim and send again).
pub async fn renew(
    db: &Db,
    conn: &mut Conn,
    owner: &str,
    lease_seconds: u32,
) -> Result<(), DbError> {
    let p = vec![lease_seconds.into(), owner.into()];
    let sql = &db.sql().queue.renew;
    write(conn, LockRetry::default(), sql, p, "renewing leases").await?;
    Ok(())
}

/// Gives back the leases of given tasks `owner` holds.
pub async fn release(db: &Db, conn: &mut Conn, owner: &str, ids: &[u32]) -> Result<(), DbError> {
    if ids.is_empty() {
        return Ok(());
    }
    let query = format!("{}{}", db.sql().queue.release_head, in_list(ids.len()));
    let p = params(vec![owner.into()], ids);
    write(conn, LockRetry::default(), &query, p, "releasing leases").await?;
    Ok(())
}

/// Gives back every lease `owner` still holds (the end of a run's send, on every path).
pub async fn release_all(db: &Db, conn: &mut Conn, owner: &str) -> Result<(), DbError> {
    let sql = &db.sql().queue.release_all;
    let p = vec![owner.into()];
    write(conn, LockRetry::default(), sql, p, "releasing leases").await?;
    Ok(())
}

/// A pending task as the caller read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub id_task: u32,
    pub version: u32,
}

/// Moves the tasks of an accepted request to their kind's ticket check with its batch id, those
/// `owner` still holds at the version it read; a task re-armed meanwhile stays pending and its
/// lease is given back, so the next run sends its newer state. Returns how many were marked.
pub async fn mark_sent(
    db: &Db,
    conn: &mut Conn,
    owner: &str,
    batch_id: &str,
    tasks: &[Seen],
) -> Result<u64, DbError> {
    if tasks.is_empty() {
        return Ok(0);
    }
    let sql = &db.sql().queue;
    let query = format!(
        "{}{}{}{}",
        sql.mark_sent_head,
        in_list(tasks.len()),
        sql.mark_sent_versions,
        pairs_list(tasks.len())
    );
    let mut p: Vec<Value> = vec![batch_id.into(), owner.into()];
    p.extend(tasks.iter().map(|t| Value::from(t.id_task)));
    for t in tasks {
        p.push(t.id_task.into());
        p.push(t.version.into());
    }
    // The batch exists on the API now: losing it to a deadlock would mean a needless resend.
    let marked = write(conn, LockRetry::default(), &query, p, "saving a batch id").await?;
    if marked < tasks.len() as u64 {
        let ids: Vec<u32> = tasks.iter().map(|t| t.id_task).collect();
        release(db, conn, owner, &ids).await?;
    }
    Ok(marked)
}

/// Removes a pending task the caller decided not to send (its state maps to nothing, its slip is
/// gone, its file was refused...), with the merchant's notice if any, in one transaction: only
/// if it is still the version the caller read and no other run holds it (`owner`: the caller's
/// lease, `None` when it holds none). False when the task changed: nothing was done.
pub async fn drop_pending(
    db: &Db,
    conn: &mut Conn,
    seen: Seen,
    owner: Option<&str>,
    notice: Option<(u32, &Failure)>,
) -> Result<bool, DbError> {
    let p: Vec<Value> = vec![seen.id_task.into(), seen.version.into(), owner.into()];
    remove_with_notice(db, conn, &db.sql().queue.drop_pending, p, notice).await
}

/// One fenced DELETE and, if it removed the row, the merchant's notice, in one transaction.
async fn remove_with_notice(
    db: &Db,
    conn: &mut Conn,
    sql: &str,
    p: Vec<Value>,
    notice: Option<(u32, &Failure)>,
) -> Result<bool, DbError> {
    retrying!(LockRetry::default(), async {
        let mut tx = conn
            .start_transaction(TxOpts::default())
            .await
            .ctx("removing a task")?;
        tx.exec_drop(sql, p.clone()).await.ctx("removing a task")?;
        let removed = tx.affected_rows() > 0;
        if let (true, Some((id_shop, failure))) = (removed, notice) {
            notices::save(db, &mut tx, id_shop, failure).await?;
        }
        tx.commit().await.ctx("removing a task")?;
        Ok::<bool, DbError>(removed)
    })
}

// ---- Ticket checks (no lease: fenced by the batch the caller checked) ----

/// A task waiting for the ticket of a batch, as the caller read it.
#[derive(Debug, Clone, Copy)]
pub struct Checked<'a> {
    pub kind: TaskKind,
    pub id_task: u32,
    pub batch_id: &'a str,
}

/// Removes a task whose ticket is final (succeeded, or canceled with the merchant's notice) if
/// it still waits for that batch; false when it changed (another check already reacted).
pub async fn finish(
    db: &Db,
    conn: &mut Conn,
    t: &Checked<'_>,
    notice: Option<(u32, &Failure)>,
) -> Result<bool, DbError> {
    let p: Vec<Value> = vec![
        t.id_task.into(),
        t.kind.checking().as_str().into(),
        t.batch_id.into(),
    ];
    remove_with_notice(db, conn, &db.sql().queue.finish, p, notice).await
}

/// Removes the tasks of a batch whose tickets succeeded, those still waiting for that batch, in
/// one statement (no notice to write); returns how many were removed.
pub async fn finish_succeeded(
    db: &Db,
    conn: &mut Conn,
    kind: TaskKind,
    batch_id: &str,
    ids: &[u32],
) -> Result<u64, DbError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let query = format!("{}{}", db.sql().queue.finish_many_head, in_list(ids.len()));
    let head = vec![kind.checking().as_str().into(), batch_id.into()];
    let what = "removing the tasks of succeeded tickets";
    write(conn, LockRetry::default(), &query, params(head, ids), what).await
}

/// Records the ticket number of a task still waiting for that batch (once).
pub async fn set_ticket_number(
    db: &Db,
    conn: &mut Conn,
    task: &Checked<'_>,
    ticket: &str,
) -> Result<(), DbError> {
    let p: Vec<Value> = vec![
        ticket.into(),
        task.id_task.into(),
        task.kind.checking().as_str().into(),
        task.batch_id.into(),
    ];
    let sql = &db.sql().queue.set_ticket_number;
    write(conn, LockRetry::default(), sql, p, "saving a ticket number").await?;
    Ok(())
}

/// What a failed send asks of its task.
#[derive(Debug, Clone)]
pub struct Retry<'a> {
    /// Sends so far that failed (before this one).
    pub attempts: u32,
    pub max_attempts: u32,
    /// The failed ticket's number, kept until the next send replaces it.
    pub ticket: Option<&'a str>,
    pub reason: &'a str,
    pub delay_minutes: u32,
}

/// What [`fail`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    /// Back to its pending action, attempts + 1.
    Requeued,
    /// Attempts exhausted: kept, never due, until the merchant retries or cancels it, a new
    /// status change re-arms it, or its retention ends.
    GaveUp,
    /// The order already had a newer pending status task, which sends its current state: removed.
    Superseded,
    /// The task no longer waits for that batch (another check reacted, or it was re-armed):
    /// nothing was done, no notice written.
    Changed,
}

impl Failed {
    /// The task left the queue.
    pub fn removed(self) -> bool {
        self == Failed::Superseded
    }
}

/// A failed send of a checked task (failed or stuck ticket, unknown batch, an order the API
/// ignored): requeued with attempts + 1, or given up once attempts run out (kept, never due). The
/// merchant's notice (`failure` of shop `id_shop`, its `gave_up` set here) is written when `mail`
/// is set or the task gives up, in the same transaction as the transition, so that it exists if
/// and only if the transition happened. Fenced by the batch the caller checked.
pub async fn fail(
    db: &Db,
    conn: &mut Conn,
    task: &Checked<'_>,
    retry: &Retry<'_>,
    (id_shop, failure): (u32, &mut Failure),
    mail: bool,
) -> Result<Failed, DbError> {
    let gives_up = retry.attempts + 1 >= retry.max_attempts;
    let reason: String = retry.reason.chars().take(255).collect();
    let checking = task.kind.checking().as_str();
    let fence: Vec<Value> = vec![task.id_task.into(), checking.into(), task.batch_id.into()];
    let mut back: Vec<Value> = vec![retry.ticket.into(), reason.into()];
    if !gives_up {
        back.push(retry.delay_minutes.into());
    }
    back.extend(fence.iter().cloned());
    let sql = &db.sql().queue;
    let back_sql = if gives_up { &sql.give_up } else { &sql.requeue };
    let done = retrying!(LockRetry::default(), async {
        let mut tx = conn
            .start_transaction(TxOpts::default())
            .await
            .ctx("requeueing a task")?;
        tx.exec_drop(back_sql.as_str(), back.clone())
            .await
            .ctx("requeueing a task")?;
        let outcome = if tx.affected_rows() > 0 {
            if gives_up {
                Failed::GaveUp
            } else {
                Failed::Requeued
            }
        } else {
            // The unique key refused it (the order has a newer pending status task, which
            // sends its current state): the task goes, if it still waits for this batch.
            tx.exec_drop(sql.finish.as_str(), fence.clone())
                .await
                .ctx("removing a task that failed")?;
            if tx.affected_rows() > 0 {
                Failed::Superseded
            } else {
                Failed::Changed
            }
        };
        if outcome != Failed::Changed && (mail || gives_up) {
            let mut failure = failure.clone();
            failure.gave_up = outcome == Failed::GaveUp;
            notices::save(db, &mut tx, id_shop, &failure).await?;
        }
        tx.commit().await.ctx("requeueing a task")?;
        Ok::<Failed, DbError>(outcome)
    });
    if let Ok(outcome) = done {
        failure.gave_up = outcome == Failed::GaveUp;
    }
    done
}

// ---- Reads for the other modules ----

/// Rows of given task ids read with one of the `*_rows_head` statements (`head` values first).
pub async fn rows_by_ids<T: FromRow + Send + 'static>(
    conn: &mut Conn,
    query_head: &str,
    head: Vec<Value>,
    ids: &[u32],
    what: &str,
) -> Result<Vec<T>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    conn.exec(
        format!("{query_head}{}", in_list(ids.len())),
        params(head, ids),
    )
    .await
    .ctx(what)
}
