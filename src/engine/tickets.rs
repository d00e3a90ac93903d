//! Ticket checking: one paged GET per batch (never one per ticket), then the reaction table of
//! SPEC §6 applied per task.

use super::report::{Failure, ShopReport};
use super::{notices, ShopRun};
use crate::api::{ApiError, Ticket};
use crate::db::logger::ProcessLogger;
use crate::error::{DbError, DbResultExt};
use crate::model::{LogLevel, TaskKind, TicketState};
use mysql_async::prelude::{FromRow, Queryable};
use mysql_async::{Conn, FromRowError, Row};
use std::collections::VecDeque;
use tokio::task::JoinSet;

/// Batch ids listed per query while checking.
const BATCHES_PER_ROUND: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Requeue {
    Done,
    /// Attempts exhausted: the task was removed.
    GaveUp,
    /// The order already had a newer pending task, which will send its current state.
    Superseded,
}

/// A task sent back for another try: its kind, id and attempts so far, and the failed ticket's
/// number (if any).
pub(crate) struct Retry<'a> {
    pub kind: TaskKind,
    pub id_task: u32,
    pub attempts: u32,
    pub ticket: Option<&'a str>,
}

/// A failed send of one task: sends it back to its pending action with attempts + 1 (keeping the
/// failed ticket's number and the reason), or removes it when attempts run out. The failure is
/// saved for the e-mail first, when `mail` is set or the retries ran out, so no change of the task
/// can lose it; then it is counted in the report. An invoice upload that leaves the queue here
/// takes its rendered PDF with it; one requeued keeps it for the resend.
pub(crate) async fn requeue(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
    task: Retry<'_>,
    mut failure: Failure,
    mail: bool,
) -> Result<Requeue, DbError> {
    let Retry {
        kind,
        id_task,
        attempts,
        ticket,
    } = task;
    let sql = &run.db.sql().cron;
    failure.gave_up = attempts + 1 >= run.opts.max_attempts;
    let mailed = mail || failure.gave_up;
    if mailed {
        notices::save(run.db, conn, run.id_shop, &failure).await?;
    }
    let outcome = if failure.gave_up {
        conn.exec_drop(sql.delete_task.as_str(), (id_task,))
            .await
            .ctx("removing a task that failed too often")?;
        Requeue::GaveUp
    } else {
        let reason: String = failure.reason.chars().take(255).collect();
        conn.exec_drop(
            sql.requeue.as_str(),
            (ticket, reason, run.opts.requeue_delay_minutes, id_task),
        )
        .await
        .ctx("requeueing a task")?;
        if conn.affected_rows() == 0 {
            conn.exec_drop(sql.delete_task.as_str(), (id_task,))
                .await
                .ctx("removing a superseded task")?;
            Requeue::Superseded
        } else {
            Requeue::Done
        }
    };
    match outcome {
        Requeue::Done => report.requeued += 1,
        Requeue::Superseded => report.tasks_removed += 1,
        Requeue::GaveUp => {
            report.gave_up += 1;
            report.tasks_removed += 1;
        }
    }
    if kind == TaskKind::Invoice && outcome != Requeue::Done {
        // Removed for good: its PDF will never be sent (an upload of the order queued later gets
        // its PDF rendered again).
        super::invoices::remove_pdf(run, failure.id_order, log);
    }
    if mailed {
        report.failures.push(failure);
    }
    Ok(outcome)
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

impl BatchTask {
    /// The task to requeue, with the failed ticket's number if any.
    fn retry<'a>(&self, kind: TaskKind, ticket: Option<&'a str>) -> Retry<'a> {
        Retry {
            kind,
            id_task: self.id_task,
            attempts: self.attempts,
            ticket,
        }
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
    let sql = &run.db.sql().cron;
    let action = kind.checking().as_str();
    let mut after = String::new();
    let mut listed_all = false;
    let mut queue: VecDeque<String> = VecDeque::new();
    let mut set: InFlight = JoinSet::new();
    let window = 2 * run.opts.concurrency.max(1);
    let mut stop = false;
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
        stop |= apply_result(run, conn, kind, joined, report, log).await?;
        if log.len() >= super::send::LOG_FLUSH_ROWS {
            log.flush(run.db, conn).await?;
        }
    }
    Ok(stop)
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
) -> Result<bool, DbError> {
    let Ok((batch, res)) = joined else {
        return Ok(true);
    };
    match res {
        Ok(tickets) => apply_batch(run, conn, kind, &batch, &tickets, report, log).await?,
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
    while let Some(joined) = set.join_next().await {
        stop |= apply_result(run, conn, TaskKind::Status, joined, report, log).await?;
    }
    Ok(stop)
}

async fn batch_tasks(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    kind: TaskKind,
    batch: &str,
) -> Result<Vec<BatchTask>, DbError> {
    conn.exec(
        run.db.sql().cron.batch_tasks.as_str(),
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
        log.order(
            LogLevel::Error,
            task.id_order,
            &format!("Ticket check: {reason}. Requeued."),
        );
        let failure = Failure::new(task.id_order, None, reason);
        let retry = task.retry(kind, None);
        requeue(run, conn, report, log, retry, failure, false).await?;
    }
    Ok(())
}

/// A ticket not final (or not visible) yet: it waits, unless the deadline is past, in which case
/// it is reported stuck and its status is sent again.
async fn pending_or_stuck(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    kind: TaskKind,
    task: &BatchTask,
    reason: String,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<(), DbError> {
    if task.age_minutes < i64::from(run.opts.ticket_deadline_minutes) {
        report.tickets_pending += 1;
        return Ok(());
    }
    report.tickets_stuck += 1;
    log.order(
        LogLevel::Error,
        task.id_order,
        &format!("Ticket status : stuck ({reason}). Requeued."),
    );
    let failure = Failure::new(task.id_order, None, reason);
    let retry = task.retry(kind, None);
    requeue(run, conn, report, log, retry, failure, false).await?;
    Ok(())
}

async fn apply_batch(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    kind: TaskKind,
    batch: &str,
    tickets: &[Ticket],
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<(), DbError> {
    let tasks = batch_tasks(run, conn, kind, batch).await?;
    let alone = tasks.len() == 1;
    let mut done: Vec<u32> = Vec::new();
    let mut done_orders: Vec<u32> = Vec::new();
    for task in &tasks {
        match find_ticket(task, tickets, alone) {
            None => {
                // Not listed yet (tickets appear some time after the 202).
                let reason = format!(
                    "no ticket visible {} minutes after the send",
                    task.age_minutes
                );
                pending_or_stuck(run, conn, kind, task, reason, report, log).await?;
            }
            Some(t) => match t.state {
                TicketState::Succeed => {
                    log.order(
                        LogLevel::Success,
                        task.id_order,
                        &format!("Ticket status : succeed. Ticket {}", t.id),
                    );
                    report.tickets_succeeded += 1;
                    report.succeeded.push(task.id_order);
                    done.push(task.id_task);
                    done_orders.push(task.id_order);
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
                    let retry = task.retry(kind, Some(&t.id));
                    requeue(run, conn, report, log, retry, failure, true).await?;
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
                    log.order(
                        LogLevel::Error,
                        task.id_order,
                        &format!("Ticket status : canceled. Ticket {}: {reason}", t.id),
                    );
                    report.tickets_canceled += 1;
                    // Saved before the task goes (deleted with the batch's others below).
                    let failure = Failure::new(task.id_order, None, reason);
                    notices::save(run.db, conn, run.id_shop, &failure).await?;
                    report.failures.push(failure);
                    done.push(task.id_task);
                    done_orders.push(task.id_order);
                }
                TicketState::Scheduled | TicketState::Running => {
                    if task.ticket_number.is_none() {
                        conn.exec_drop(
                            run.db.sql().cron.set_ticket_number.as_str(),
                            (t.id.as_str(), task.id_task),
                        )
                        .await
                        .ctx("saving a ticket number")?;
                    }
                    let reason = format!(
                        "ticket still {} {} minutes after the send",
                        t.state, task.age_minutes
                    );
                    pending_or_stuck(run, conn, kind, task, reason, report, log).await?;
                }
            },
        }
    }
    report.tasks_removed += super::send::delete_tasks(run.db, conn, &done).await?;
    if kind == TaskKind::Invoice {
        // The upload is final (done or refused): its rendered PDF is no longer needed.
        for id_order in done_orders {
            super::invoices::remove_pdf(run, id_order, log);
        }
    }
    Ok(())
}
