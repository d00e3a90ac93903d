//! Ticket checking: one paged GET per batch (never one per ticket), then the reaction table of
//! docs/queue.md applied per task, each reaction a queue transition fenced by the batch checked:
//! two checks of one batch at once react once.

use super::report::{Failure, ShopReport};
use super::shop_run::ShopRun;
use crate::api::{ApiError, Ticket};
use crate::db::logger::ProcessLogger;
use crate::error::{DbError, DbResultExt};
use crate::model::{LogLevel, TaskKind, TicketState};
use crate::operations::{self, OperationResult, ResultRow};
use crate::queue::{self, Checked, Failed};
use mysql_async::prelude::{FromRow, Queryable};
use mysql_async::{Conn, FromRowError, Row};
use std::collections::VecDeque;
use tokio::task::JoinSet;

/// Batch ids listed per query while checking.
const BATCHES_PER_ROUND: usize = 32;

/// A failed send of a task (`id_task` with `attempts` so far) waiting for `batch`: requeued or
/// given up through the queue (with the merchant's notice when `mail` is set or it gives up),
/// counted in the report.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn requeue(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
    (kind, batch): (TaskKind, &str),
    (id_task, attempts): (u32, u32),
    ticket: Option<&str>,
    mut failure: Failure,
    mail: bool,
) -> Result<Failed, DbError> {
    let checked = Checked {
        kind,
        id_task,
        batch_id: batch,
    };
    let reason = failure.reason.clone();
    let retry = queue::Retry {
        attempts,
        max_attempts: run.opts.max_attempts,
        ticket,
        reason: &reason,
        delay_minutes: run.opts.requeue_delay_minutes,
    };
    let done = queue::fail(
        run.db,
        conn,
        &checked,
        &retry,
        (run.id_shop, &mut failure),
        mail,
    )
    .await?;
    count_failed(run, (kind, done, mail), failure, report, log);
    Ok(done)
}

struct BatchTask {
    id_task: u32,
    id_order: u32,
    attempts: u32,
    ticket_number: Option<String>,
    age_minutes: i64,
    sf_id: Option<i64>,
    reference: Option<String>,
}

/// The columns of `CronSql::batch_tasks`, in order.
impl FromRow for BatchTask {
    fn from_row_opt(row: Row) -> Result<Self, FromRowError> {
        type Columns = (
            u32,
            u32,
            u32,
            Option<String>,
            Option<i64>,
            Option<String>,
            Option<String>,
        );
        let (id_task, id_order, attempts, ticket_number, age, sf_id, reference): Columns =
            mysql_async::from_row_opt(row)?;
        Ok(BatchTask {
            id_task,
            id_order,
            attempts,
            ticket_number,
            age_minutes: age.unwrap_or(0),
            sf_id: sf_id.and_then(|s| s.trim().parse::<i64>().ok()),
            reference: reference.filter(|r| !r.trim().is_empty()),
        })
    }
}

fn find_ticket<'t>(task: &BatchTask, tickets: &'t [Ticket], alone: bool) -> Option<&'t Ticket> {
    tickets
        .iter()
        .find(|t| {
            (task.sf_id.is_some() && t.payload.id == task.sf_id)
                || (task.ticket_number.is_some()
                    && task.ticket_number.as_deref() == Some(t.id.as_str()))
                || (task.reference.is_some() && t.payload.reference == task.reference)
        })
        .or_else(|| {
            if alone && tickets.len() == 1 {
                tickets.first()
            } else {
                None
            }
        })
}

/// Checks every batch waiting in the shop, of every kind of task; stops at the first API failure.
pub(crate) async fn check(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<(), DbError> {
    for kind in TaskKind::ALL {
        if check_kind(run, conn, kind, report, log).await? {
            break;
        }
    }
    Ok(())
}

/// Checks the batches of one kind (each kind has its own check action, so the batch list stays a
/// loose scan of the `batch` index); true when the API failed.
async fn check_kind(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    kind: TaskKind,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<bool, DbError> {
    let sql = &run.db.sql().queue;
    let action = kind.checking().as_str();
    let mut after = String::new();
    let mut listed_all = false;
    let mut queue: VecDeque<String> = VecDeque::new();
    let mut set: InFlight = JoinSet::new();
    let window = 2 * run.opts.concurrency.max(1);
    let mut stop = false;
    let mut rows = Vec::new();
    loop {
        // Keep a window of GETs on the wire; batch ids are listed a page at a time (keyset).
        while !stop && set.len() < window {
            if queue.is_empty() && !listed_all {
                let batches: Vec<(String, bool)> = conn
                    .exec(
                        sql.batches_page.as_str(),
                        (
                            action,
                            run.id_shop,
                            run.scope.tokens().0,
                            run.scope.tokens().1,
                            action,
                            after.as_str(),
                            BATCHES_PER_ROUND,
                        ),
                    )
                    .await
                    .ctx("listing the batches to check")?;
                match batches.last() {
                    Some((last, _)) => after = last.clone(),
                    None => listed_all = true,
                }
                queue.extend(
                    batches
                        .into_iter()
                        .filter(|(_, in_shop)| *in_shop)
                        .map(|(b, _)| b),
                );
                continue;
            }
            let Some(batch) = queue.pop_front() else {
                break;
            };
            spawn_get(run, &mut set, batch);
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        stop |= apply_result(run, conn, kind, joined, report, log, &mut rows).await?;
        if log.len() >= super::send::LOG_FLUSH_ROWS {
            log.flush(run.db, conn).await?;
        }
    }
    record_results(run, conn, &mut rows).await;
    Ok(stop)
}

/// Writes the buffered ticket results (best effort: a missing result only shows "sent" on the
/// order page).
async fn record_results(run: &ShopRun<'_>, conn: &mut Conn, rows: &mut Vec<ResultRow>) {
    let _ = operations::record_results(run.db, conn, rows).await;
    rows.clear();
}

type InFlight = JoinSet<(String, Result<Vec<Ticket>, ApiError>)>;

fn spawn_get(run: &ShopRun<'_>, set: &mut InFlight, batch: String) {
    let api = run.api.clone();
    let store = run.store_id;
    set.spawn(async move {
        let res = api.tickets_by_batch(store, &batch).await;
        (batch, res)
    });
}

/// Applies one batch's tickets; true when the API failed and checking should stop for this run.
async fn apply_result(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    kind: TaskKind,
    joined: Result<(String, Result<Vec<Ticket>, ApiError>), tokio::task::JoinError>,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
    rows: &mut Vec<ResultRow>,
) -> Result<bool, DbError> {
    let Ok((batch, res)) = joined else {
        return Ok(true);
    };
    match res {
        Ok(tickets) => {
            apply_batch(run, conn, kind, &batch, &tickets, report, log, rows).await?;
            // Best effort, like the record of the send: the order page and the sweep read it.
            if rows.len() >= operations::FLUSH_ROWS {
                record_results(run, conn, rows).await;
            }
        }
        Err(ApiError::NotFound { .. }) => {
            requeue_batch(
                run,
                conn,
                kind,
                &batch,
                "batch not found on the Shopping Feed API",
                report,
                log,
            )
            .await?
        }
        Err(e) => {
            // Tasks stay as they are; the next run checks them again.
            let msg = format!(
                "[Shop {}] Could not check batch {batch}: {}",
                run.id_shop, e
            );
            log.error(msg.clone(), None);
            report.errors.push(msg);
            return Ok(true);
        }
    }
    Ok(false)
}

/// Fetches the tickets of these status batches (concurrently, one paged GET each) and applies the
/// reactions; true when the API failed.
pub(crate) async fn check_batches(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    batches: Vec<String>,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<bool, DbError> {
    let mut set: InFlight = JoinSet::new();
    for batch in batches {
        spawn_get(run, &mut set, batch);
    }
    let mut stop = false;
    let mut rows = Vec::new();
    while let Some(joined) = set.join_next().await {
        stop |= apply_result(run, conn, TaskKind::Status, joined, report, log, &mut rows).await?;
    }
    record_results(run, conn, &mut rows).await;
    Ok(stop)
}

async fn batch_tasks(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    kind: TaskKind,
    batch: &str,
) -> Result<Vec<BatchTask>, DbError> {
    conn.exec(
        run.db.sql().queue.batch_tasks.as_str(),
        (kind.checking().as_str(), batch),
    )
    .await
    .ctx("reading the tasks of a batch")
}

async fn requeue_batch(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    kind: TaskKind,
    batch: &str,
    reason: &str,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<(), DbError> {
    for task in batch_tasks(run, conn, kind, batch).await? {
        let said = format!("Ticket check: {reason}.");
        resend_unchecked(
            run,
            conn,
            (kind, batch),
            &task,
            (reason, &said),
            report,
            log,
        )
        .await?;
    }
    Ok(())
}

/// A task whose ticket cannot be read (batch unknown, or stuck past the deadline) is sent again
/// (no notice unless it gives up), its log row saying what became of it.
async fn resend_unchecked(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    at: (TaskKind, &str),
    task: &BatchTask,
    (reason, said): (&str, &str),
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<Failed, DbError> {
    let failure = Failure::new(task.id_order, None, reason);
    let ids = (task.id_task, task.attempts);
    let done = requeue(run, conn, report, log, at, ids, None, failure, false).await?;
    if let Some(what) = what_became(done) {
        log.order(LogLevel::Error, task.id_order, &format!("{said} {what}"));
    }
    Ok(done)
}

/// The log's words for what a failed send did to its task (nothing when another check reacted).
fn what_became(done: Failed) -> Option<&'static str> {
    match done {
        Failed::Requeued => Some("Requeued."),
        Failed::GaveUp => Some("Gave up: kept in the task list until retried or canceled."),
        Failed::Superseded => Some("A newer status of the order is queued."),
        Failed::Changed => None,
    }
}

/// A ticket not final (or not visible) yet: it waits, unless the deadline is past, in which case
/// it is reported stuck and its status is sent again.
async fn pending_or_stuck(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    (kind, batch): (TaskKind, &str),
    task: &BatchTask,
    reason: String,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<Option<Failed>, DbError> {
    if task.age_minutes < i64::from(run.opts.ticket_deadline_minutes) {
        report.tickets_pending += 1;
        return Ok(None);
    }
    report.tickets_stuck += 1;
    let said = format!("Ticket status : stuck ({reason}).");
    let done = resend_unchecked(
        run,
        conn,
        (kind, batch),
        task,
        (&reason, &said),
        report,
        log,
    );
    Ok(Some(done.await?))
}

/// What a failed send's outcome records of its operation.
fn failed_result(done: Option<Failed>) -> Option<OperationResult> {
    match done? {
        // Superseded: failed, and a newer status of the order is queued.
        Failed::Requeued | Failed::Superseded => Some(OperationResult::Failed),
        Failed::GaveUp => Some(OperationResult::GaveUp),
        Failed::Changed => None,
    }
}

#[allow(clippy::too_many_arguments)]
async fn apply_batch(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    kind: TaskKind,
    batch: &str,
    tickets: &[Ticket],
    report: &mut ShopReport,
    log: &mut ProcessLogger,
    rows: &mut Vec<ResultRow>,
) -> Result<(), DbError> {
    let tasks = batch_tasks(run, conn, kind, batch).await?;
    let alone = tasks.len() == 1;
    let mut succeeded: Vec<(u32, u32)> = Vec::new();
    let mut results: Vec<(u32, OperationResult, Option<&str>)> = Vec::new();
    for task in &tasks {
        let checked = Checked {
            kind,
            id_task: task.id_task,
            batch_id: batch,
        };
        let Some(t) = find_ticket(task, tickets, alone) else {
            // Not listed yet (tickets appear some time after the 202).
            let reason = format!(
                "no ticket visible {} minutes after the send",
                task.age_minutes
            );
            let done =
                pending_or_stuck(run, conn, (kind, batch), task, reason, report, log).await?;
            if let Some(result) = failed_result(done) {
                results.push((task.id_order, result, None));
            }
            continue;
        };
        match t.state {
            TicketState::Succeed => {
                log.order(
                    LogLevel::Success,
                    task.id_order,
                    &format!("Ticket status : succeed. Ticket {}", t.id),
                );
                report.tickets_succeeded += 1;
                report.succeeded.push(task.id_order);
                // Not recorded: a 'sent' record whose batch has no task left succeeded (or was
                // refused, which is recorded); writing each success cost a third of the check.
                succeeded.push((task.id_task, task.id_order));
            }
            TicketState::Failed => {
                let reason = t
                    .result
                    .as_ref()
                    .and_then(|r| r.message.clone())
                    .filter(|m| !m.trim().is_empty())
                    .unwrap_or_else(|| "the ticket failed without a reason".to_string());
                log.order(
                    LogLevel::Error,
                    task.id_order,
                    &format!("Ticket status : failed. Ticket {}: {reason}", t.id),
                );
                report.tickets_failed += 1;
                let failure = Failure::new(task.id_order, None, reason);
                let at = (kind, batch);
                let id_order = task.id_order;
                let task = (task.id_task, task.attempts);
                let done =
                    requeue(run, conn, report, log, at, task, Some(&t.id), failure, true).await?;
                if let Some(result) = failed_result(Some(done)) {
                    results.push((id_order, result, Some(&t.id)));
                }
            }
            TicketState::Canceled => {
                let message = t
                    .result
                    .as_ref()
                    .and_then(|r| r.message.clone())
                    .unwrap_or_default();
                let reason = format!(
                    "refused (ticket canceled){}",
                    if message.is_empty() {
                        String::new()
                    } else {
                        format!(": {message}")
                    }
                );
                let failure = Failure::new(task.id_order, None, reason.clone());
                // The notice is written with the removal, in one transaction.
                let notice = Some((run.id_shop, &failure));
                if queue::finish(run.db, conn, &checked, notice).await? {
                    log.order(
                        LogLevel::Error,
                        task.id_order,
                        &format!("Ticket status : canceled. Ticket {}: {reason}", t.id),
                    );
                    report.tickets_canceled += 1;
                    results.push((task.id_order, OperationResult::Refused, Some(&t.id)));
                    report.tasks_removed += 1;
                    report.failures.push(failure);
                    if kind == TaskKind::Invoice {
                        super::invoices::remove_pdf(run, task.id_order, log);
                    }
                }
            }
            TicketState::Scheduled | TicketState::Running => {
                if task.ticket_number.is_none() {
                    queue::set_ticket_number(run.db, conn, &checked, &t.id).await?;
                }
                let reason = format!(
                    "ticket still {} {} minutes after the send",
                    t.state, task.age_minutes
                );
                let done =
                    pending_or_stuck(run, conn, (kind, batch), task, reason, report, log).await?;
                if let Some(result) = failed_result(done) {
                    results.push((task.id_order, result, Some(&t.id)));
                }
            }
        }
    }
    rows.extend(
        results
            .into_iter()
            .map(|(id_order, result, ticket)| ResultRow {
                batch_id: batch.to_string(),
                id_order,
                result,
                ticket: ticket.map(str::to_string),
            }),
    );
    // Done in one statement per batch: a check of 10,000 tasks stays 100 deletes.
    let ids: Vec<u32> = succeeded.iter().map(|(id, _)| *id).collect();
    let removed = queue::finish_succeeded(run.db, conn, kind, batch, &ids).await?;
    report.tasks_removed += removed as u32;
    if kind == TaskKind::Invoice {
        for (_, id_order) in &succeeded {
            super::invoices::remove_pdf(run, *id_order, log);
        }
    }
    Ok(())
}

/// Counts what [`queue::fail`] did (called with `mail`) in the report; the failure is the
/// e-mail's when its notice was written. An invoice upload that left the queue takes its rendered
/// PDF with it.
fn count_failed(
    run: &ShopRun<'_>,
    (kind, done, mail): (TaskKind, Failed, bool),
    failure: Failure,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) {
    match done {
        Failed::Requeued => report.requeued += 1,
        Failed::Superseded => report.tasks_removed += 1,
        // Kept for the merchant (task grid): no longer due, not removed.
        Failed::GaveUp => report.gave_up += 1,
        // Another check already reacted, or the task was re-armed: its newer state goes out.
        Failed::Changed => return,
    }
    // A Retry of an upload that gave up renders its PDF again (it is due and has no file).
    if kind == TaskKind::Invoice && (done.removed() || done == Failed::GaveUp) {
        super::invoices::remove_pdf(run, failure.id_order, log);
    }
    if mail || done == Failed::GaveUp {
        report.failures.push(failure);
    }
}
