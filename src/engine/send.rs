//! Sending: claim due tasks page by page under a lease, read each order's CURRENT state, group by
//! operation in requests of at most 100 orders, send them concurrently, and switch each request's
//! tasks to CHECK_TICKET_SYNC_STATUS with its batch id in one statement.

use super::report::{Failure, ShopReport};
use super::tickets::{requeue, Retry};
use super::ShopRun;
use crate::api::{
    max_orders_per_request, ApiClient, BatchAccepted, OperationData, OrderIdentifier,
    OrderOperation,
};
use crate::db::claim::claim_due;
use crate::db::logger::ProcessLogger;
use crate::db::retry::LockRetry;
use crate::db::sql::{in_list, pairs_list};
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use crate::hook::StateLists;
use crate::model::{LogLevel, Operation, TaskKind};
use mysql_async::prelude::{FromRow, Queryable};
use mysql_async::{Conn, FromRowError, Row, Value};
use std::collections::BTreeMap;
use tokio::task::JoinSet;

/// A claimed task ready to send.
pub struct Prepared {
    pub id_task: u32,
    pub id_order: u32,
    pub attempts: u32,
    pub op: OrderOperation,
    pub sf_id: Option<i64>,
    pub reference: Option<String>,
    pub marketplace: Option<String>,
    /// The task's re-arm counter when it was read: the batch id is saved only if it is unchanged.
    pub version: u32,
}

/// A task row with what its payload needs (`CronSql::claimed_tasks`, `tasks_by_ids_head`).
pub(crate) struct TaskRow {
    id_task: u32,
    id_order: u32,
    attempts: u32,
    state: u32,
    sf_id: Option<String>,
    marketplace_reference: Option<String>,
    marketplace: Option<String>,
    carrier: Option<String>,
    carrier_url: Option<String>,
    tracking: Option<String>,
    version: u32,
}

/// The columns of the payload select, in order (`o.reference` is read but not needed here).
impl FromRow for TaskRow {
    fn from_row_opt(row: Row) -> Result<Self, FromRowError> {
        type Columns = (
            u32,
            u32,
            u32,
            u32,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            u32,
        );
        let (
            id_task,
            id_order,
            attempts,
            state,
            _reference,
            sf_id,
            marketplace_reference,
            marketplace,
            carrier,
            carrier_url,
            tracking,
            version,
        ): Columns = mysql_async::from_row_opt(row)?;
        Ok(TaskRow {
            id_task,
            id_order,
            attempts,
            state,
            sf_id,
            marketplace_reference,
            marketplace,
            carrier,
            carrier_url,
            tracking,
            version,
        })
    }
}

/// What to do with a task, from its order's current state.
pub(crate) enum Mapped {
    Send(Operation, Prepared),
    /// The current state is in no list: the task is removed.
    Unmapped {
        id_task: u32,
        id_order: u32,
        state: u32,
    },
    /// The link row has neither a Shopping Feed id nor a marketplace reference.
    NoReference {
        id_task: u32,
        id_order: u32,
    },
}

pub(crate) fn map_row(lists: &StateLists, row: TaskRow) -> Mapped {
    let TaskRow {
        id_task,
        id_order,
        attempts,
        state,
        sf_id,
        marketplace_reference: mp_ref,
        marketplace,
        carrier,
        carrier_url: url,
        tracking,
        version,
    } = row;
    let Some(operation) = operation_for(lists, state) else {
        return Mapped::Unmapped {
            id_task,
            id_order,
            state,
        };
    };
    let Some(link) = OrderLink::new(sf_id, mp_ref, marketplace) else {
        return Mapped::NoReference { id_task, id_order };
    };
    let data = match operation {
        Operation::Ship => {
            let tracking_number = tracking.unwrap_or_default();
            OperationData::Ship {
                carrier: carrier.unwrap_or_default(),
                tracking_link: tracking_link(url.as_deref(), &tracking_number),
                tracking_number,
            }
        }
        Operation::Cancel => OperationData::Cancel {
            reason: String::new(),
        },
        Operation::Deliver => OperationData::Deliver,
        _ => OperationData::Refund {
            shipping: true,
            products: Vec::new(),
        },
    };
    Mapped::Send(
        operation,
        link.prepare((id_task, id_order, attempts, version), data),
    )
}

/// How an order is named on the API, from its `shoppingfeed_order` row: the Shopping Feed id when
/// known, else the marketplace reference and channel.
pub(crate) struct OrderLink {
    identifier: OrderIdentifier,
    sf_id: Option<i64>,
    reference: Option<String>,
    marketplace: Option<String>,
}

impl OrderLink {
    /// `None` when the row has neither an id nor a reference with its marketplace.
    pub fn new(
        sf_id: Option<String>,
        reference: Option<String>,
        marketplace: Option<String>,
    ) -> Option<Self> {
        let sf_id = sf_id
            .and_then(|s| s.trim().parse::<i64>().ok())
            .filter(|id| *id > 0);
        let reference = reference.filter(|r| !r.trim().is_empty());
        let marketplace = marketplace.filter(|m| !m.trim().is_empty());
        let identifier = match (sf_id, &reference, &marketplace) {
            (Some(id), _, _) => OrderIdentifier::Id(id),
            (None, Some(r), Some(m)) => OrderIdentifier::Reference {
                reference: r.clone(),
                channel_name: m.to_lowercase(),
            },
            _ => return None,
        };
        Some(OrderLink {
            identifier,
            sf_id,
            reference,
            marketplace,
        })
    }

    /// A task ready to send: (id_task, id_order, attempts, version) and its operation's fields.
    pub fn prepare(self, task: (u32, u32, u32, u32), data: OperationData) -> Prepared {
        let (id_task, id_order, attempts, version) = task;
        Prepared {
            id_task,
            id_order,
            attempts,
            op: OrderOperation {
                identifier: self.identifier,
                data,
            },
            sf_id: self.sf_id,
            reference: self.reference,
            marketplace: self.marketplace,
            version,
        }
    }
}

/// Precedence when a state is in several lists: shipped > canceled > refunded > delivered (a shop
/// that had its "Delivered" state in the shipped list, as many did before `deliver` existed, keeps
/// sending its tracking number).
pub(crate) fn operation_for(lists: &StateLists, state: u32) -> Option<Operation> {
    if lists.shipped.contains(&state) {
        Some(Operation::Ship)
    } else if lists.cancelled.contains(&state) {
        Some(Operation::Cancel)
    } else if lists.refunded.contains(&state) {
        Some(Operation::Refund)
    } else if lists.delivered.contains(&state) {
        Some(Operation::Deliver)
    } else {
        None
    }
}

/// Claimed rows sorted out: what to send, grouped by operation, and what cannot be sent.
pub(crate) struct Sorted {
    pub groups: BTreeMap<Operation, Vec<Prepared>>,
    /// Tasks without an order identifier (kept, reported).
    pub unsendable: Vec<(u32, u32)>,
    pub removed: u32,
}

/// Maps rows to operations; removes (and logs) the tasks whose current state is in no list.
pub(crate) async fn sort_rows(
    db: &Db,
    conn: &mut Conn,
    lists: &StateLists,
    rows: Vec<TaskRow>,
    log: &mut ProcessLogger,
) -> Result<Sorted, DbError> {
    let mut sorted = Sorted {
        groups: BTreeMap::new(),
        unsendable: Vec::new(),
        removed: 0,
    };
    let mut removed = Vec::new();
    for row in rows {
        match map_row(lists, row) {
            Mapped::Send(operation, prepared) => {
                sorted.groups.entry(operation).or_default().push(prepared)
            }
            Mapped::Unmapped {
                id_task,
                id_order,
                state,
            } => {
                log.order(
                    LogLevel::Info,
                    id_order,
                    &format!("No matching operation for Order State {state}. Deleting Task Order."),
                );
                removed.push(id_task);
            }
            Mapped::NoReference { id_task, id_order } => {
                log.order(LogLevel::Error, id_order, NO_REFERENCE);
                sorted.unsendable.push((id_task, id_order));
            }
        }
    }
    sorted.removed = delete_tasks(db, conn, &removed).await?;
    Ok(sorted)
}

pub(crate) const NO_REFERENCE: &str = "No SF Order reference set.";

/// Deletes tasks by id; returns how many ids were given.
pub(crate) async fn delete_tasks(db: &Db, conn: &mut Conn, ids: &[u32]) -> Result<u32, DbError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let query = format!("{}{}", db.sql().cron.delete_head, in_list(ids.len()));
    conn.exec_drop(query, ids_params(Vec::new(), ids))
        .await
        .ctx("removing tasks")?;
    Ok(ids.len() as u32)
}

/// The payload rows of given SYNC_STATUS tasks of a shop's orders.
pub(crate) async fn rows_by_ids(
    db: &Db,
    conn: &mut Conn,
    id_shop: u32,
    ids: &[u32],
) -> Result<Vec<TaskRow>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let query = format!("{}{}", db.sql().cron.tasks_by_ids_head, in_list(ids.len()));
    conn.exec(query, ids_params(vec![id_shop.into()], ids))
        .await
        .ctx("reading tasks")
}

/// Leases given tasks of the run's shop (those no live lease holds; another shop's ids are
/// ignored, never sent with this shop's token); returns how many were leased.
pub(crate) async fn claim_ids(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    owner: &str,
    ids: &[u32],
) -> Result<u64, DbError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let query = format!("{}{}", run.db.sql().cron.claim_ids_head, in_list(ids.len()));
    conn.exec_drop(
        query,
        ids_params(
            vec![
                owner.into(),
                run.opts.lease_seconds.into(),
                run.id_shop.into(),
                run.scope.tokens().0.into(),
                run.scope.tokens().1.into(),
            ],
            ids,
        ),
    )
    .await
    .ctx("leasing tasks")?;
    Ok(conn.affected_rows())
}

pub(crate) fn lease_owner() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}-{:x}", std::process::id(), nanos)
}

fn ids_params(head: Vec<Value>, ids: &[u32]) -> Vec<Value> {
    let mut p = head;
    p.extend(ids.iter().map(|id| Value::from(*id)));
    p
}

/// Claims up to `limit` due tasks of the shop for `owner` (retried when it loses a deadlock);
/// returns their ids.
pub(crate) async fn claim(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    kind: TaskKind,
    owner: &str,
    limit: usize,
) -> Result<Vec<u32>, DbError> {
    let mut retry = LockRetry::default();
    loop {
        match claim_due(
            run.db,
            conn,
            kind,
            run.scope,
            owner,
            run.opts.lease_seconds,
            limit,
        )
        .await
        {
            Err(e) if retry.wants(&e) => retry.pause().await,
            claimed => return claimed,
        }
    }
}

pub(crate) async fn release(
    db: &Db,
    conn: &mut Conn,
    owner: &str,
    ids: &[u32],
) -> Result<(), DbError> {
    if ids.is_empty() {
        return Ok(());
    }
    let query = format!("{}{}", db.sql().cron.release_head, in_list(ids.len()));
    conn.exec_drop(query, ids_params(vec![owner.into()], ids))
        .await
        .ctx("releasing leased tasks")
}

fn tracking_link(url: Option<&str>, tracking: &str) -> String {
    match url.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => u
            .replace("http://http://", "http://")
            .replace('@', tracking),
        None => String::new(),
    }
}

/// Sends every due task of the shop, within the run's time budget. Tasks are claimed a page at a
/// time while the previous page's requests are on the wire; a partial request of an operation
/// waits for the next page, so that a run makes one request per 100 orders of each operation.
/// True when a request failed (sending stopped).
pub(crate) async fn send_due(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<bool, DbError> {
    let owner = lease_owner();
    let concurrency = run.opts.concurrency.max(1);
    let page = run.chunk * concurrency;
    let mut waiting: BTreeMap<Operation, Vec<Prepared>> = BTreeMap::new();
    let mut in_flight: InFlight = JoinSet::new();
    let mut failed = false;
    // Tasks that cannot be sent stay leased until the run ends: given back at once, the next
    // page would claim them again.
    let mut held: Vec<u32> = Vec::new();
    loop {
        // Book what finished; keep at most two pages on the way (bounded memory).
        while let Some(joined) = in_flight.try_join_next() {
            failed |= record_outcome(run, conn, joined, report, log).await?;
        }
        while in_flight.len() > 2 * concurrency {
            if let Some(joined) = in_flight.join_next().await {
                failed |= record_outcome(run, conn, joined, report, log).await?;
            }
        }
        let mut more = !failed && run.budget_left();
        if !failed && !more {
            report.budget_exhausted = true;
        }
        if more {
            let ids = claim(run, conn, TaskKind::Status, &owner, page).await?;
            if ids.is_empty() {
                more = false;
            } else {
                let rows = rows_by_ids(run.db, conn, run.id_shop, &ids).await?;
                let sorted = sort_rows_reported(run, conn, rows, &mut held, report, log).await?;
                for (operation, tasks) in sorted {
                    waiting.entry(operation).or_default().extend(tasks);
                }
            }
        }
        if failed {
            // The API (or the database) failed: give back what waits, leave it for the next run.
            let ids: Vec<u32> = waiting.values().flatten().map(|t| t.id_task).collect();
            release(run.db, conn, &owner, &ids).await?;
            break;
        }
        // Full requests now; the last partial ones when nothing more comes.
        let mut ready: BTreeMap<Operation, Vec<Prepared>> = BTreeMap::new();
        for (operation, tasks) in waiting.iter_mut() {
            let full = if more {
                tasks.len() - tasks.len() % run.chunk
            } else {
                tasks.len()
            };
            if full > 0 {
                ready.insert(*operation, tasks.drain(..full).collect());
            }
        }
        spawn_requests(run, &owner, TaskKind::Status, ready, &mut in_flight);
        // The log of a long run is written as it goes, not held until the end.
        if log.len() >= LOG_FLUSH_ROWS {
            log.flush(run.db, conn).await?;
        }
        if !more {
            break;
        }
    }
    while let Some(joined) = in_flight.join_next().await {
        failed |= record_outcome(run, conn, joined, report, log).await?;
    }
    release(run.db, conn, &owner, &held).await?;
    Ok(failed)
}

/// Log rows kept in memory at most before they are written during a run.
pub(crate) const LOG_FLUSH_ROWS: usize = 1000;

/// Sorts claimed rows: unmapped tasks removed, tasks without identifier reported and added to
/// `held` (the caller releases them when it is done claiming).
async fn sort_rows_reported(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    rows: Vec<TaskRow>,
    held: &mut Vec<u32>,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<BTreeMap<Operation, Vec<Prepared>>, DbError> {
    let sorted = sort_rows(run.db, conn, &run.lists, rows, log).await?;
    report.tasks_removed += sorted.removed;
    for (_, id_order) in &sorted.unsendable {
        report
            .errors
            .push(format!("[Order: {id_order}] {NO_REFERENCE}"));
    }
    held.extend(sorted.unsendable.iter().map(|(id, _)| *id));
    Ok(sorted.groups)
}

/// Sends every task `owner` holds; true when a request failed (the run should stop sending).
pub(crate) async fn send_claimed(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    owner: &str,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<bool, DbError> {
    let rows: Vec<TaskRow> = conn
        .exec(run.db.sql().cron.claimed_tasks.as_str(), (owner,))
        .await
        .ctx("reading the claimed tasks")?;
    let mut held = Vec::new();
    let groups = sort_rows_reported(run, conn, rows, &mut held, report, log).await?;
    release(run.db, conn, owner, &held).await?;
    send_groups(run, conn, owner, TaskKind::Status, groups, report, log).await
}

/// One request per operation and chunk, `concurrency` at a time; true when one failed.
pub(crate) async fn send_groups(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    owner: &str,
    kind: TaskKind,
    groups: BTreeMap<Operation, Vec<Prepared>>,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<bool, DbError> {
    let mut set = JoinSet::new();
    spawn_requests(run, owner, kind, groups, &mut set);
    let mut failed = false;
    while let Some(joined) = set.join_next().await {
        failed |= record_outcome(run, conn, joined, report, log).await?;
    }
    Ok(failed)
}

type InFlight = JoinSet<SendOutcome>;

/// Starts one request per operation and chunk of at most `run.chunk` orders; the client's
/// semaphore keeps `concurrency` of them on the wire.
fn spawn_requests(
    run: &ShopRun<'_>,
    owner: &str,
    kind: TaskKind,
    groups: BTreeMap<Operation, Vec<Prepared>>,
    set: &mut InFlight,
) {
    for (operation, tasks) in groups {
        let size = run.chunk.min(max_orders_per_request(operation));
        let mut tasks = tasks.into_iter().peekable();
        while tasks.peek().is_some() {
            let chunk: Vec<Prepared> = tasks.by_ref().take(size).collect();
            set.spawn(send_request(
                run.db.clone(),
                run.api.clone(),
                run.store_id,
                (kind, operation),
                chunk,
                owner.to_string(),
            ));
        }
    }
}

/// Books a finished request in the report and the log; true when it failed.
async fn record_outcome(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    joined: Result<SendOutcome, tokio::task::JoinError>,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<bool, DbError> {
    let Ok(outcome) = joined else {
        // A panicked request task: its tasks keep their lease and are resent after it expires.
        return Ok(true);
    };
    let batch = match outcome.result {
        Ok(batch) => batch,
        Err(msg) => {
            log.error(format!("[Shop {}] {msg}", run.id_shop), None);
            report.errors.push(msg);
            return Ok(true);
        }
    };
    let sent = outcome.tasks.len() as u32;
    match outcome.kind {
        TaskKind::Status => report.statuses_sent += sent,
        TaskKind::PartialRefund => report.refunds_sent += sent,
        TaskKind::Invoice => report.invoices_sent += sent,
    }
    report
        .succeeded
        .extend(outcome.tasks.iter().map(|t| t.id_order));
    for t in &outcome.tasks {
        log.order(
            LogLevel::Success,
            t.id_order,
            &format!(
                "Ticket created for Order {} Status {}",
                t.reference.clone().unwrap_or_default(),
                outcome.operation
            ),
        );
    }
    // Orders the API ignored get no ticket: requeue them now.
    for ignored in &batch.ignored {
        let Some(t) = outcome.tasks.iter().find(|t| {
            (ignored.id.is_some() && ignored.id == t.sf_id)
                || (ignored.reference.is_some() && ignored.reference == t.reference)
        }) else {
            continue;
        };
        let reason = format!("ignored by Shopping Feed: {}", ignored.message);
        log.order(LogLevel::Error, t.id_order, &reason);
        let failure = Failure::new(t.id_order, Some(outcome.operation), reason);
        let retry = Retry {
            kind: outcome.kind,
            id_task: t.id_task,
            attempts: t.attempts,
            ticket: None,
        };
        requeue(run, conn, report, log, retry, failure, true).await?;
    }
    Ok(false)
}

struct SendOutcome {
    kind: TaskKind,
    operation: Operation,
    tasks: Vec<Prepared>,
    result: Result<BatchAccepted, String>,
}

/// One POST, then the batch id saved for its tasks in one statement (fenced by the lease).
async fn send_request(
    db: Db,
    api: ApiClient,
    store_id: i64,
    (kind, operation): (TaskKind, Operation),
    tasks: Vec<Prepared>,
    owner: String,
) -> SendOutcome {
    let ops: Vec<OrderOperation> = tasks.iter().map(|t| t.op.clone()).collect();
    let ids: Vec<u32> = tasks.iter().map(|t| t.id_task).collect();
    let versions: Vec<(u32, u32)> = tasks.iter().map(|t| (t.id_task, t.version)).collect();
    let result = match api.send_operation(store_id, operation, &ops).await {
        Ok(batch) => match mark_sent(&db, &owner, &batch.batch_id, &versions).await {
            Ok(()) => {
                if operation == Operation::Ship {
                    // Best effort: a missing record only means a later tracking-number update
                    // sends the ship once more.
                    let _ = record_shipments(&db, &tasks).await;
                }
                Ok(batch)
            }
            Err(e) => Err(format!(
                "{operation} batch {} accepted but not saved: {e}; its tasks will be resent after their lease expires",
                batch.batch_id
            )),
        },
        Err(e) => {
            // Nothing was accepted: give the tasks back at once.
            if let Ok(mut conn) = db.conn().await {
                let _ = release(&db, &mut conn, &owner, &ids).await;
            }
            Err(format!("Could not send {} {operation} status(es): {}", ids.len(), e))
        }
    };
    SendOutcome {
        kind,
        operation,
        tasks,
        result,
    }
}

/// Remembers the tracking number each ship carried (the tracking-number trigger compares with it).
async fn record_shipments(db: &Db, tasks: &[Prepared]) -> Result<(), DbError> {
    let sql = &db.sql().tracking;
    let mut params: Vec<Value> = Vec::with_capacity(tasks.len() * 2);
    for t in tasks {
        if let OperationData::Ship {
            tracking_number, ..
        } = &t.op.data
        {
            if !tracking_number.trim().is_empty() {
                params.push(t.id_order.into());
                params.push(tracking_number.trim().into());
            }
        }
    }
    if params.is_empty() {
        return Ok(());
    }
    let values = vec![sql.shipment_values; params.len() / 2].join(",");
    let query = format!("{}{values}{}", sql.record_head, sql.record_tail);
    let mut conn = db.conn().await?;
    conn.exec_drop(query, params)
        .await
        .ctx("recording the tracking numbers sent")
}

async fn mark_sent(
    db: &Db,
    owner: &str,
    batch_id: &str,
    tasks: &[(u32, u32)],
) -> Result<(), DbError> {
    let mut conn = db.conn().await?;
    let query = format!(
        "{}{}",
        db.sql().cron.mark_sent_head,
        pairs_list(tasks.len())
    );
    let mut params: Vec<Value> = vec![batch_id.into(), owner.into()];
    for (id, version) in tasks {
        params.push((*id).into());
        params.push((*version).into());
    }
    // The batch exists on the API now: losing it to a deadlock would mean a needless resend.
    let mut retry = LockRetry::default();
    loop {
        let saved = conn
            .exec_drop(query.as_str(), params.clone())
            .await
            .ctx("saving a batch id");
        match saved {
            Err(e) if retry.wants(&e) => retry.pause().await,
            saved => break saved?,
        }
    }
    // Tasks re-armed while their request was in flight still hold our lease: give them back, so
    // the next run sends their newer state.
    let ids: Vec<u32> = tasks.iter().map(|(id, _)| *id).collect();
    release(db, &mut conn, owner, &ids).await
}

#[cfg(test)]
mod tests {
    use super::tracking_link;

    #[test]
    fn tracking_link_replaces_the_placeholder() {
        assert_eq!(
            tracking_link(Some("http://http://track.example/?n=@"), "6A1"),
            "http://track.example/?n=6A1"
        );
        assert_eq!(tracking_link(Some("  "), "6A1"), "");
        assert_eq!(tracking_link(None, "6A1"), "");
    }
}
