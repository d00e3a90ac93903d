//! Invoice uploads: each due UPLOAD_INVOICE task sends the PDF the module rendered into the
//! invoice directory (`{invoice_dir}/{id_order}.pdf`) as an `upload-documents` request (multipart,
//! at most 20 files); this is its prepare step of the page loop (`send`). The file is deleted once
//! the task leaves the queue for good: its ticket succeeded or was canceled (`tickets`), its
//! retries ran out (failed or stuck tickets, an order the API ignored), or it is dropped here
//! (deadline, refused file).
//!
//! A task whose PDF is not there yet (the module renders before each run; an order without an
//! invoice has none) or whose order has no Shopping Feed id waits, and is removed with a notice
//! for the merchant once it is older than the ticket deadline (`ticket_deadline_minutes`, one day
//! by default): the module had many runs to render it. A file that cannot be read (permissions,
//! a full disk) waits the same way. A file that is not a PDF, or over the API's 2 MB, is refused
//! at once (the API would refuse it too).

use super::prepared::{OrderLink, PageCtx, Prepared};
use super::report::{Failure, ShopReport};
use super::shop_run::ShopRun;
use crate::api::{OperationData, MAX_DOCUMENT_BYTES};
use crate::db::logger::ProcessLogger;
use crate::error::DbError;
use crate::invoice::pdf_path;
use crate::model::{LogLevel, Operation};
use crate::queue::{self, Seen};
use mysql_async::prelude::FromRow;
use mysql_async::{Conn, FromRowError, Row};
use std::sync::Arc;

/// A claimed UPLOAD_INVOICE task with its age and its order's link (`QueueSql::invoice_rows_head`).
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

/// Prepares claimed invoice uploads; those that wait (no PDF or no Shopping Feed id yet) stay
/// leased until the loop ends, those dropped take their notice and their file with them.
pub(crate) async fn prepare(
    ctx: &PageCtx<'_, '_>,
    conn: &mut Conn,
    ids: &[u32],
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<Vec<(Operation, Prepared)>, DbError> {
    let run = ctx.run;
    let sql = run.db.sql().queue.invoice_rows_head.as_str();
    let tasks: Vec<InvoiceTask> =
        queue::rows_by_ids(conn, sql, Vec::new(), ids, "reading the invoice uploads").await?;
    let mut ready = Vec::new();
    for task in tasks {
        let seen = Seen {
            id_task: task.id_task,
            version: task.version,
        };
        match prepare_one(run, task, log) {
            Ok(p) => ready.push((Operation::UploadDocuments, p)),
            Err(Unsent::Waits) => {}
            Err(Unsent::Dropped(failure)) => {
                let notice = Some((run.id_shop, &failure));
                if run.dry_run {
                    super::prepared::log_dry_drop(log, Some(&failure));
                } else if queue::drop_pending(run.db, conn, seen, Some(ctx.owner), notice).await? {
                    remove_pdf(run, failure.id_order, log);
                    report.tasks_removed += 1;
                    report.failures.push(failure);
                }
            }
        }
    }
    Ok(ready)
}

fn prepare_one(
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
        // Usual for an order imported by shoppingfluxexport: not a failure until the deadline.
        log.order(
            LogLevel::Info,
            task.id_order,
            "No SF Order id set: the invoice upload waits for it",
        );
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
        Err(PdfProblem::Unreadable(why)) => {
            // Permissions, a full disk, a file being written: may be mended, so it waits.
            if expired {
                return Err(give_up(&format!("its PDF could not be read ({why})"), log));
            }
            log.order(
                LogLevel::Error,
                task.id_order,
                &format!(
                    "invoice PDF could not be read ({why}); the upload waits for the next run"
                ),
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
    /// An I/O error other than "not found": the reason.
    Unreadable(String),
    /// Never sendable: the reason.
    Refused(String),
}

/// The rendered invoice, checked as the API would: a PDF of at most 2 MB. The size is checked
/// before reading, so an oversized file is never loaded whole.
fn read_pdf(path: &std::path::Path) -> Result<Vec<u8>, PdfProblem> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(PdfProblem::Missing),
        Err(e) => return Err(PdfProblem::Unreadable(format!("{}: {e}", path.display()))),
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
        Err(e) => return Err(PdfProblem::Unreadable(format!("{}: {e}", path.display()))),
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
