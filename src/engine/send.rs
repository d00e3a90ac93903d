//! The one page loop of every kind of task (statuses, partial refunds, invoices): claim a page
//! of due tasks under a lease, let the kind prepare them (what cannot be sent yet stays leased
//! until the loop ends, what must not be sent is dropped through the queue), send them in
//! requests of at most `chunk` orders while the next page is claimed, save each accepted
//! request's batch id, and at the end, on every path including errors, wait for the requests on
//! the wire and give back every lease still held. The leases are renewed while the loop runs, so
//! that none expires under a task it still holds (docs/queue.md, "Leases").

use super::prepared::{PageCtx, Prepared};
use super::report::{Failure, ShopReport};
use super::shop_run::ShopRun;
use super::tickets::requeue;
use super::{invoices, refunds, statuses};
use crate::api::{
    max_orders_per_request, operation_body, ApiClient, BatchAccepted, OperationData, OrderOperation,
};
use crate::db::logger::ProcessLogger;
use crate::db::Db;
use crate::error::DbError;
use crate::model::{LogLevel, Operation, TaskKind};
use crate::operations::{self, record_name, SentRow};
use crate::queue::{self, Seen};
use mysql_async::Conn;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};
use tokio::task::{Id, JoinSet};

/// Log rows kept in memory at most before they are written during a run.
pub(crate) const LOG_FLUSH_ROWS: usize = 1000;

pub(crate) fn lease_owner() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}-{:x}", std::process::id(), nanos)
}

/// Where the loop's pages come from.
pub(crate) enum Source<'a> {
    /// The due tasks of the kind in the run's scope, oldest first.
    Due,
    /// Given pending status tasks (the conveyor's `sendTaskOrdersSyncStatus`), a page at a time.
    Ids(&'a [u32]),
}

async fn prepare(
    kind: TaskKind,
    ctx: &PageCtx<'_, '_>,
    conn: &mut Conn,
    ids: &[u32],
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<Vec<(Operation, Prepared)>, DbError> {
    match kind {
        TaskKind::Status => {
            let owner = Some(ctx.owner);
            statuses::prepare(ctx.run, conn, owner, ids, report, log).await
        }
        TaskKind::PartialRefund => refunds::prepare(ctx, conn, ids, report, log).await,
        TaskKind::Invoice => invoices::prepare(ctx, conn, ids, report, log).await,
    }
}

/// Sends the due tasks of a kind (or the given ones), within the run's time budget. True when a
/// request failed (sending stopped: the API is likely down for the rest of the run).
pub(crate) async fn send_kind(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    kind: TaskKind,
    source: Source<'_>,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<bool, DbError> {
    let mut pages = Pages::new(run, kind);
    let pumped = pages.pump(conn, source, report, log).await;
    // Whatever happened: the requests on the wire are waited for, then every lease is given back.
    let ended = pages.end(conn, report, log).await;
    let failed = pumped?;
    ended?;
    Ok(failed || pages.failed)
}

type InFlight = JoinSet<SendOutcome>;

struct Pages<'r, 'a> {
    run: &'r ShopRun<'a>,
    kind: TaskKind,
    owner: String,
    in_flight: InFlight,
    /// The orders of each request on the wire, to name them if its task panics.
    orders_of: HashMap<Id, Vec<u32>>,
    waiting: BTreeMap<Operation, Vec<Prepared>>,
    failed: bool,
    renewed: Instant,
    /// Whether a claim ever leased anything: a kind with nothing due costs no renewal or release.
    leased: bool,
    /// What accepted requests carried, recorded a few hundred at a time (`crate::operations`),
    /// each write on a connection of its own beside the loop's work.
    sent: Vec<SentRow>,
    recording: JoinSet<()>,
}

impl<'r, 'a> Pages<'r, 'a> {
    fn new(run: &'r ShopRun<'a>, kind: TaskKind) -> Self {
        Pages {
            run,
            kind,
            owner: lease_owner(),
            in_flight: JoinSet::new(),
            orders_of: HashMap::new(),
            waiting: BTreeMap::new(),
            failed: false,
            renewed: Instant::now(),
            leased: false,
            sent: Vec::new(),
            recording: JoinSet::new(),
        }
    }

    /// A third of the lease: renewed well before it could expire.
    fn renew_every(&self) -> Duration {
        Duration::from_millis(u64::from(self.run.opts.lease_seconds.max(1)) * 1000 / 3)
    }

    async fn renew_if_due(&mut self, conn: &mut Conn) -> Result<(), DbError> {
        if self.leased && self.renewed.elapsed() >= self.renew_every() {
            queue::renew(self.run.db, conn, &self.owner, self.run.opts.lease_seconds).await?;
            self.renewed = Instant::now();
        }
        Ok(())
    }

    /// The next finished request, renewing the leases while it waits.
    async fn join_next(
        &mut self,
        conn: &mut Conn,
    ) -> Result<Option<Result<(Id, SendOutcome), tokio::task::JoinError>>, DbError> {
        loop {
            let renew_at = self.renewed + self.renew_every();
            tokio::select! {
                joined = self.in_flight.join_next_with_id() => return Ok(joined),
                _ = tokio::time::sleep_until(renew_at.into()) => self.renew_if_due(conn).await?,
            }
        }
    }

    async fn pump(
        &mut self,
        conn: &mut Conn,
        source: Source<'_>,
        report: &mut ShopReport,
        log: &mut ProcessLogger,
    ) -> Result<bool, DbError> {
        let run = self.run;
        let page = run.chunk * run.opts.concurrency.max(1);
        let mut given = match source {
            Source::Due => None,
            Source::Ids(ids) => Some(ids.chunks(page)),
        };
        loop {
            // Book what finished; keep at most two pages on the way (bounded memory).
            while let Some(joined) = self.in_flight.try_join_next_with_id() {
                self.book(conn, joined, report, log).await?;
            }
            while self.in_flight.len() > 2 * run.opts.concurrency.max(1) {
                if let Some(joined) = self.join_next(conn).await? {
                    self.book(conn, joined, report, log).await?;
                }
            }
            self.renew_if_due(conn).await?;
            let mut more = !self.failed && run.budget_left();
            if !self.failed && !more {
                report.budget_exhausted = true;
            }
            if more {
                // Counted as leased while a claim runs: one that fails half-way is released too.
                let leased_before = std::mem::replace(&mut self.leased, true);
                let ids = match given.as_mut() {
                    None => {
                        let (db, scope, lease) = (run.db, run.scope, run.opts.lease_seconds);
                        queue::claim_due(db, conn, self.kind, scope, &self.owner, lease, page)
                            .await?
                    }
                    Some(chunks) => match chunks.next() {
                        Some(chunk) => {
                            let (db, scope, lease) = (run.db, run.scope, run.opts.lease_seconds);
                            queue::claim_ids(db, conn, scope, &self.owner, lease, chunk).await?
                        }
                        None => Vec::new(),
                    },
                };
                self.leased = leased_before || !ids.is_empty();
                if ids.is_empty() && given.is_none() {
                    more = false;
                } else if !ids.is_empty() {
                    let ctx = PageCtx {
                        run,
                        owner: &self.owner,
                    };
                    for (operation, task) in
                        prepare(self.kind, &ctx, conn, &ids, report, log).await?
                    {
                        self.waiting.entry(operation).or_default().push(task);
                    }
                }
                if given.as_ref().is_some_and(|c| c.len() == 0) {
                    more = false;
                }
            }
            if self.failed {
                break;
            }
            self.spawn_ready(!more, report, log);
            // The log of a long run is written as it goes, not held until the end.
            if log.len() >= LOG_FLUSH_ROWS {
                log.flush(run.db, conn).await?;
            }
            if !more {
                break;
            }
        }
        Ok(self.failed)
    }

    /// Starts the requests that are ready: full ones, and with `all` the partial ones too. A
    /// request names each order once (its tickets are told apart by order): a second task of an
    /// order (another credit slip) goes in another request.
    fn spawn_ready(&mut self, all: bool, report: &mut ShopReport, log: &mut ProcessLogger) {
        let run = self.run;
        for (operation, tasks) in self.waiting.iter_mut() {
            let size = run.chunk.min(max_orders_per_request(*operation)).max(1);
            for request in take_requests(tasks, size, all) {
                if run.dry_run {
                    // Logged instead of sent; the tasks stay leased until the loop's end, which
                    // gives them back unchanged.
                    log_dry_request(run, *operation, &request, report, log);
                    continue;
                }
                let orders: Vec<u32> = request.iter().map(|t| t.id_order).collect();
                let handle = self.in_flight.spawn(send_request(
                    run.db.clone(),
                    run.api.clone(),
                    run.store_id,
                    (self.kind, *operation),
                    request,
                    self.owner.clone(),
                ));
                self.orders_of.insert(handle.id(), orders);
            }
        }
        self.waiting.retain(|_, tasks| !tasks.is_empty());
    }

    /// Waits for every request on the wire (booking each), then gives back every lease the loop
    /// still holds: tasks held back, waiting for a full request, or of a page being prepared when
    /// an error struck. The first database error is returned once all of this was attempted.
    async fn end(
        &mut self,
        conn: &mut Conn,
        report: &mut ShopReport,
        log: &mut ProcessLogger,
    ) -> Result<(), DbError> {
        let mut first_error = None;
        loop {
            let joined = match self.join_next(conn).await {
                Ok(Some(joined)) => joined,
                Ok(None) => break,
                // Renewing failed (the database is gone): wait without renewing.
                Err(e) => match self.in_flight.join_next_with_id().await {
                    Some(joined) => {
                        first_error.get_or_insert(e);
                        joined
                    }
                    None => {
                        first_error.get_or_insert(e);
                        break;
                    }
                },
            };
            if let Err(e) = self.book(conn, joined, report, log).await {
                first_error.get_or_insert(e);
            }
        }
        self.waiting.clear();
        self.record_sent();
        while self.recording.join_next().await.is_some() {}
        if !self.leased {
            return first_error.map_or(Ok(()), Err);
        }
        if let Err(e) = queue::release_all(self.run.db, conn, &self.owner).await {
            let msg = format!(
                "[Shop {}] Could not give back the leases of this run ({e}): its unsent tasks wait until their lease expires",
                self.run.id_shop
            );
            log.error(msg.clone(), None);
            report.errors.push(msg);
            first_error.get_or_insert(e);
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Books a finished request in the report and the log.
    async fn book(
        &mut self,
        conn: &mut Conn,
        joined: Result<(Id, SendOutcome), tokio::task::JoinError>,
        report: &mut ShopReport,
        log: &mut ProcessLogger,
    ) -> Result<(), DbError> {
        let outcome = match joined {
            Ok((id, outcome)) => {
                self.orders_of.remove(&id);
                outcome
            }
            Err(e) => {
                // Cannot happen without a bug; its tasks' leases are given back at the end, and
                // they are sent again (the POST may have been accepted: at least once).
                let orders = self.orders_of.remove(&e.id()).unwrap_or_default();
                let msg = format!(
                    "[Shop {}] A request of {} order(s) ended unexpectedly ({e}); they are sent again at the next run",
                    self.run.id_shop,
                    orders.len()
                );
                log.error(msg.clone(), None);
                report.errors.push(msg);
                self.failed = true;
                return Ok(());
            }
        };
        self.failed |= record_outcome(self.run, conn, outcome, report, log, &mut self.sent).await?;
        if self.sent.len() >= operations::FLUSH_ROWS {
            self.record_sent();
        }
        Ok(())
    }

    /// Writes the buffered records beside the loop (on the loop's connection it made a run of
    /// 10,000 a fifth slower). Best effort: a missing record only means a later tracking-number
    /// update (or the sweep) sends the operation once more.
    fn record_sent(&mut self) {
        if self.sent.is_empty() {
            return;
        }
        let rows = std::mem::take(&mut self.sent);
        let db = self.run.db.clone();
        self.recording.spawn(async move {
            if let Ok(mut conn) = db.conn().await {
                let _ = operations::record_sent(&db, &mut conn, &rows).await;
            }
        });
    }
}

/// Takes requests of at most `size` tasks of distinct orders out of `tasks`: only full ones,
/// unless `all`.
fn take_requests(tasks: &mut Vec<Prepared>, size: usize, all: bool) -> Vec<Vec<Prepared>> {
    let mut requests = Vec::new();
    while !tasks.is_empty() {
        let mut request = Vec::new();
        let mut orders = HashSet::new();
        let mut rest = Vec::new();
        for t in tasks.drain(..) {
            if request.len() < size && orders.insert(t.id_order) {
                request.push(t);
            } else {
                rest.push(t);
            }
        }
        if request.len() == size || all {
            requests.push(request);
            *tasks = rest;
        } else {
            request.append(&mut rest);
            *tasks = request;
            break;
        }
    }
    requests
}

/// A dry run's request: its payload in the log, each order told it was not sent.
fn log_dry_request(
    run: &ShopRun<'_>,
    operation: Operation,
    request: &[Prepared],
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) {
    let ops: Vec<OrderOperation> = request.iter().map(|t| t.op.clone()).collect();
    let body = match operation_body(operation, &ops) {
        Ok(body) => String::from_utf8_lossy(&body).into_owned(),
        Err(e) => e.to_string(),
    };
    log.log(
        LogLevel::Info,
        format!(
            "[Shop {}] Dry run: POST {} not sent: {body}",
            run.id_shop,
            ApiClient::operation_path(run.store_id, operation)
        ),
        None,
    );
    for t in request {
        log.order(
            LogLevel::Info,
            t.id_order,
            &format!("Dry run: {operation} not sent; the task stays"),
        );
    }
    report.dry_run_orders += request.len() as u32;
}

/// Books a finished request; true when it failed.
async fn record_outcome(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    outcome: SendOutcome,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
    records: &mut Vec<SentRow>,
) -> Result<bool, DbError> {
    let batch = match outcome.result {
        Ok(batch) => batch,
        Err(msg) => {
            log.error(format!("[Shop {}] {msg}", run.id_shop), None);
            report.errors.push(msg);
            return Ok(true);
        }
    };
    // Orders the API ignored get no ticket: requeued now.
    let ignored_task = |t: &Prepared| {
        batch.ignored.iter().find(|i| {
            (i.id.is_some() && i.id == t.sf_id)
                || (i.reference.is_some() && i.reference == t.reference)
        })
    };
    let mut sent = 0;
    for t in &outcome.tasks {
        let Some(ignored) = ignored_task(t) else {
            sent += 1;
            records.push(sent_row(
                outcome.kind,
                outcome.operation,
                &batch.batch_id,
                t,
            ));
            report.succeeded.push(t.id_order);
            log.order(
                LogLevel::Success,
                t.id_order,
                &format!(
                    "Ticket created for Order {} Status {}",
                    t.reference.clone().unwrap_or_default(),
                    outcome.operation
                ),
            );
            continue;
        };
        let reason = format!("ignored by Shopping Feed: {}", ignored.message);
        log.order(LogLevel::Error, t.id_order, &reason);
        let failure = Failure::new(t.id_order, Some(outcome.operation), reason);
        let at = (outcome.kind, batch.batch_id.as_str());
        let task = (t.id_task, t.attempts);
        requeue(run, conn, report, log, at, task, None, failure, true).await?;
    }
    match outcome.kind {
        TaskKind::Status => report.statuses_sent += sent,
        TaskKind::PartialRefund => report.refunds_sent += sent,
        TaskKind::Invoice => report.invoices_sent += sent,
    }
    Ok(false)
}

struct SendOutcome {
    kind: TaskKind,
    operation: Operation,
    tasks: Vec<Prepared>,
    result: Result<BatchAccepted, String>,
}

/// One POST, then the batch id saved for its tasks in one statement (fenced by the lease and
/// each task's version).
async fn send_request(
    db: Db,
    api: ApiClient,
    store_id: i64,
    (kind, operation): (TaskKind, Operation),
    tasks: Vec<Prepared>,
    owner: String,
) -> SendOutcome {
    let ops: Vec<OrderOperation> = tasks.iter().map(|t| t.op.clone()).collect();
    let seen: Vec<Seen> = tasks.iter().map(Prepared::seen).collect();
    let result = match api.send_operation(store_id, operation, &ops).await {
        Ok(batch) => {
            let saved = match db.conn().await {
                Ok(mut conn) => queue::mark_sent(&db, &mut conn, &owner, &batch.batch_id, &seen)
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            };
            match saved {
                Ok(()) => Ok(batch),
                Err(e) => Err(format!(
                    "{operation} batch {} accepted but not saved: {e}; its tasks will be resent at the next run",
                    batch.batch_id
                )),
            }
        }
        Err(e) => {
            // Nothing was accepted: give the tasks back at once.
            if let Ok(mut conn) = db.conn().await {
                let ids: Vec<u32> = seen.iter().map(|s| s.id_task).collect();
                let _ = queue::release(&db, &mut conn, &owner, &ids).await;
            }
            Err(format!(
                "Could not send {} {operation} status(es): {}",
                tasks.len(),
                e
            ))
        }
    };
    SendOutcome {
        kind,
        operation,
        tasks,
        result,
    }
}

/// The record of what a task of an accepted request carried.
fn sent_row(kind: TaskKind, operation: Operation, batch_id: &str, t: &Prepared) -> SentRow {
    let (carrier, tracking_number) = match &t.op.data {
        OperationData::Ship {
            carrier,
            tracking_number,
            ..
        } => (Some(carrier.clone()), Some(tracking_number.clone())),
        _ => (None, None),
    };
    SentRow {
        id_order: t.id_order,
        name: record_name(kind, operation),
        carrier,
        tracking_number,
        batch_id: batch_id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::prepared::OrderLink;

    fn task(id_task: u32, id_order: u32) -> Prepared {
        OrderLink::new(Some(id_order.to_string()), None, None)
            .map(|l| l.prepare((id_task, id_order, 0, 0), OperationData::Deliver))
            .unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn requests_are_full_and_name_each_order_once() {
        let mut tasks = vec![task(1, 10), task(2, 10), task(3, 11), task(4, 12)];
        let full = take_requests(&mut tasks, 3, false);
        assert_eq!(full.len(), 1);
        let ids: Vec<u32> = full[0].iter().map(|t| t.id_task).collect();
        assert_eq!(ids, [1, 3, 4]);
        // The partial one waits unless everything goes now.
        let left: Vec<u32> = tasks.iter().map(|t| t.id_task).collect();
        assert_eq!(left, [2]);
        assert_eq!(take_requests(&mut tasks, 3, true).len(), 1);
        assert!(tasks.is_empty());
        let mut same = vec![task(1, 10), task(2, 10), task(3, 10)];
        let all = take_requests(&mut same, 100, true);
        assert_eq!(all.len(), 3, "three slips of one order: three requests");
        assert!(same.is_empty());
    }
}
