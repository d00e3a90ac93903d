//! Invoice uploads: each due UPLOAD_INVOICE task sends the PDF the module rendered into the
//! invoice directory (`{invoice_dir}/{id_order}.pdf`) as an `upload-documents` request (multipart,
//! at most 20 files). The claim, lease, batch-id save and ticket check are the status tasks' (see
//! `send`, `tickets`); the file is deleted once the task leaves the queue for good: its ticket
//! succeeded or was canceled (`tickets::apply_batch`), its retries ran out (`tickets::requeue`:
//! failed or stuck tickets, an order the API ignored), or it is dropped here (deadline, refused
//! file).
//!
//! A task whose PDF is not there yet (the module renders before each run; an order without an
//! invoice has none) or whose order has no Shopping Feed id waits, and is removed with a notice
//! for the merchant once it is older than the ticket deadline (`ticket_deadline_minutes`, one day
//! by default): the module had many runs to render it. A file that is not a PDF, or over the
//! API's 2 MB, is refused at once (the API would refuse it too).

use super::report::{Failure, ShopReport};
use super::send::{claim, delete_tasks, lease_owner, release, send_groups, OrderLink, Prepared};
use super::{notices, ShopRun};
use crate::api::{OperationData, MAX_DOCUMENT_BYTES};
use crate::db::logger::ProcessLogger;
use crate::error::{DbError, DbResultExt};
use crate::invoice::pdf_path;
use crate::model::{LogLevel, Operation, TaskKind};
use mysql_async::prelude::{FromRow, Queryable};
use mysql_async::{Conn, FromRowError, Row};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A claimed UPLOAD_INVOICE task with its age and its order's link (`InvoiceSql::claimed`).
struct InvoiceTask {
    id_task: u32,
    id_order: u32,
    attempts: u32,
    version: u32,
    age_minutes: i64,
    sf_id: Option<String>,
}

impl FromRow for InvoiceTask {
    fn from_row_opt(row: Row) -> Result<Self, FromRowError> {
        type Columns = (u32, u32, u32, u32, Option<i64>, Option<String>);
        let (id_task, id_order, attempts, version, age, sf_id): Columns =
            mysql_async::from_row_opt(row)?;
        Ok(InvoiceTask {
            id_task,
            id_order,
            attempts,
            version,
            age_minutes: age.unwrap_or(0),
            sf_id,
        })
    }
}

/// What became of a claimed task before sending.
enum Unsent {
    /// Not sendable yet (no PDF, no Shopping Feed id): stays queued.
    Waits,
    /// Removed with a notice for the merchant (and its file, if any).
    Dropped(Failure),
}

/// Sends the shop's due invoices, a page at a time, within the budget. Tasks that wait keep
/// their lease until the end, so that a page of them is not claimed again in the same run.
pub(crate) async fn send_invoices(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<(), DbError> {
    let owner = lease_owner();
    let mut waiting: Vec<u32> = Vec::new();
    let sent = send_pages(run, conn, &owner, &mut waiting, report, log).await;
    // Given back whatever happened: they are retried at the next run, not after the lease.
    let released = release(run.db, conn, &owner, &waiting).await;
    sent?;
    released
}

async fn send_pages(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    owner: &str,
    waiting: &mut Vec<u32>,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<(), DbError> {
    let sql = &run.db.sql().invoice;
    loop {
        if !run.budget_left() {
            report.budget_exhausted = true;
            return Ok(());
        }
        let ids = claim(run, conn, TaskKind::Invoice, owner, run.chunk).await?;
        if ids.is_empty() {
            return Ok(());
        }
        let tasks: Vec<InvoiceTask> = conn
            .exec(sql.claimed.as_str(), (owner,))
            .await
            .ctx("reading the invoice uploads")?;
        let mut ready: Vec<Prepared> = Vec::new();
        let mut removed: Vec<u32> = Vec::new();
        for task in tasks {
            if waiting.contains(&task.id_task) {
                continue;
            }
            let id_task = task.id_task;
            match prepare(run, task, log) {
                Ok(p) => ready.push(p),
                Err(Unsent::Waits) => waiting.push(id_task),
                Err(Unsent::Dropped(failure)) => {
                    // Saved for the e-mail before the task goes.
                    notices::save(run.db, conn, run.id_shop, &failure).await?;
                    remove_pdf(run, failure.id_order, log);
                    report.failures.push(failure);
                    removed.push(id_task);
                }
            }
        }
        report.tasks_removed += delete_tasks(run.db, conn, &removed).await?;
        if ready.is_empty() {
            continue;
        }
        let groups = BTreeMap::from([(Operation::UploadDocuments, ready)]);
        if send_groups(run, conn, owner, TaskKind::Invoice, groups, report, log).await? {
            return Ok(());
        }
    }
}

fn prepare(
    run: &ShopRun<'_>,
    task: InvoiceTask,
    log: &mut ProcessLogger,
) -> Result<Prepared, Unsent> {
    let deadline = i64::from(run.opts.ticket_deadline_minutes);
    let expired = task.age_minutes >= deadline;
    let give_up = |why: &str, log: &mut ProcessLogger| {
        let reason = format!(
            "invoice not uploaded: {why} {} minutes after the invoice state",
            task.age_minutes
        );
        log.order(LogLevel::Error, task.id_order, &reason);
        Unsent::Dropped(Failure::new(
            task.id_order,
            Some(Operation::UploadDocuments),
            reason,
        ))
    };
    // upload-documents names orders by their Shopping Feed id (the reference module requires it).
    let Some(link) = OrderLink::new(task.sf_id, None, None) else {
        if expired {
            return Err(give_up("the order still has no Shopping Feed id", log));
        }
        log.order(LogLevel::Error, task.id_order, "No SF Order id set.");
        return Err(Unsent::Waits);
    };
    let path = pdf_path(&run.opts.invoice_dir, task.id_order);
    let pdf = match read_pdf(&path) {
        Ok(pdf) => pdf,
        Err(PdfProblem::Missing) => {
            if expired {
                return Err(give_up(
                    "its PDF was never rendered (does the order have an invoice?)",
                    log,
                ));
            }
            log.order(
                LogLevel::Info,
                task.id_order,
                "invoice PDF not rendered yet; the upload waits for the next run",
            );
            return Err(Unsent::Waits);
        }
        Err(PdfProblem::Refused(why)) => {
            let reason = format!("invoice not uploaded: {why}");
            log.order(LogLevel::Error, task.id_order, &reason);
            return Err(Unsent::Dropped(Failure::new(
                task.id_order,
                Some(Operation::UploadDocuments),
                reason,
            )));
        }
    };
    Ok(link.prepare(
        (task.id_task, task.id_order, task.attempts, task.version),
        OperationData::Invoice { pdf: Arc::new(pdf) },
    ))
}

enum PdfProblem {
    Missing,
    /// Never sendable: the reason.
    Refused(String),
}

/// The rendered invoice, checked as the API would: a PDF of at most 2 MB. The size is checked
/// before reading, so an oversized file is never loaded whole.
fn read_pdf(path: &std::path::Path) -> Result<Vec<u8>, PdfProblem> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(PdfProblem::Missing),
        Err(e) => {
            return Err(PdfProblem::Refused(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    if meta.len() > MAX_DOCUMENT_BYTES as u64 {
        return Err(PdfProblem::Refused(format!(
            "its PDF is {} bytes, over the 2 MB Shopping Feed accepts",
            meta.len()
        )));
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        // Removed meanwhile (a concurrent run's success): nothing to send now.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(PdfProblem::Missing),
        Err(e) => {
            return Err(PdfProblem::Refused(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    if !bytes.starts_with(b"%PDF") {
        return Err(PdfProblem::Refused(format!(
            "{} is not a PDF",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Deletes an order's rendered invoice (its ticket is final, or it will never be sent); a file
/// already gone is fine.
pub(crate) fn remove_pdf(run: &ShopRun<'_>, id_order: u32, log: &mut ProcessLogger) {
    let path = pdf_path(&run.opts.invoice_dir, id_order);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => log.order(
            LogLevel::Error,
            id_order,
            &format!("could not delete the invoice file {}: {e}", path.display()),
        ),
    }
}
