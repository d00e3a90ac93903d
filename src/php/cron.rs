//! `OrderSync::runCron()`: options from PHP, the engine run, the report as a PHP array, and the
//! failure e-mails handed to the configured mailer (outside `block_on`: the mailer is PHP code).

use crate::engine::report::{CronReport, Failure, Mail, MailOutcome, ShopReport};
use crate::engine::{self, CronOptions};
use crate::error::ConfigError;
use crate::php::convert::truthy;
use crate::php::settings;
use crate::runtime;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::exception::PhpException;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendCallable, ZendHashTable, ZendObject, Zval};
use ext_php_rs::zend::{bailout, try_catch, CatchError, ExecutorGlobals};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn int_option(name: &str, value: &Zval, min: i64, max: i64) -> Result<i64, ConfigError> {
    let v = if value.is_long() {
        value.long().unwrap_or_default()
    } else {
        return Err(ConfigError::wrong_type(name, "int", "non-int"));
    };
    if !(min..=max).contains(&v) {
        return Err(ConfigError::invalid(
            name,
            &format!("must be between {min} and {max}"),
        ));
    }
    Ok(v)
}

pub fn options(given: Option<&ZendHashTable>) -> Result<CronOptions, ConfigError> {
    let settings = settings::current()?;
    let mut opts = CronOptions {
        api_base_url: settings.api_base_url.clone(),
        http_timeout: settings.http_timeout,
        invoice_dir: settings.invoice_dir.clone(),
        ..CronOptions::default()
    };
    let Some(given) = given else { return Ok(opts) };
    for (key, value) in given.iter() {
        let name = key.to_string();
        match name.as_str() {
            "run_budget_ms" => {
                opts.run_budget =
                    Duration::from_millis(int_option(&name, value, 0, 3_600_000)? as u64)
            }
            "lease_seconds" => opts.lease_seconds = int_option(&name, value, 1, 86_400)? as u32,
            "max_attempts" => opts.max_attempts = int_option(&name, value, 1, 100)? as u32,
            "ticket_deadline_minutes" => {
                opts.ticket_deadline_minutes = int_option(&name, value, 0, 525_600)? as u32
            }
            "requeue_delay_minutes" => {
                opts.requeue_delay_minutes = int_option(&name, value, 0, 10_080)? as u32
            }
            "concurrency" => opts.concurrency = int_option(&name, value, 1, 64)? as usize,
            "id_shop" => opts.shop = Some(int_option(&name, value, 1, i64::from(u32::MAX))? as u32),
            "requested_by" => {
                let who = value
                    .string()
                    .ok_or_else(|| ConfigError::wrong_type(&name, "string", "non-string"))?;
                opts.requested_by = Some(who.chars().take(200).collect());
            }
            _ => return Err(ConfigError::Unknown(name)),
        }
    }
    Ok(opts)
}

pub(crate) fn failure_array(f: &Failure) -> Result<ZBox<ZendHashTable>, PhpException> {
    let mut a = ZendHashTable::new();
    a.insert("id_order", i64::from(f.id_order))?;
    a.insert("reference", f.reference.as_str())?;
    a.insert("status", f.status.as_str())?;
    a.insert("operation", f.operation.map(|o| o.as_str()).unwrap_or(""))?;
    a.insert("reason", f.reason.as_str())?;
    a.insert("gave_up", f.gave_up)?;
    Ok(a)
}

pub(crate) fn mail_array(m: &Mail) -> Result<ZBox<ZendHashTable>, PhpException> {
    let mut a = ZendHashTable::new();
    a.insert("id_shop", i64::from(m.id_shop))?;
    a.insert("id_lang", i64::from(m.id_lang))?;
    a.insert("to", m.to.as_str())?;
    a.insert("shop_name", m.shop_name.as_str())?;
    a.insert("subject", m.subject.as_str())?;
    a.insert("template", "order-sync-errors")?;
    let mut vars = ZendHashTable::new();
    vars.insert("{list_order_sync_errors_html}", m.html_list.as_str())?;
    vars.insert("{list_order_sync_errors_txt}", m.text_list.as_str())?;
    vars.insert("{shop_name}", m.shop_name.as_str())?;
    a.insert("template_vars", vars)?;
    Ok(a)
}

fn shop_array(s: &ShopReport, mail_sent: bool) -> Result<ZBox<ZendHashTable>, PhpException> {
    let mut a = ZendHashTable::new();
    a.insert("id_shop", i64::from(s.id_shop))?;
    match &s.skipped {
        Some(why) => a.insert("skipped", why.as_str())?,
        None => a.insert("skipped", ())?,
    }
    for (k, v) in [
        ("tickets_succeeded", s.tickets_succeeded),
        ("tickets_failed", s.tickets_failed),
        ("tickets_canceled", s.tickets_canceled),
        ("tickets_pending", s.tickets_pending),
        ("tickets_stuck", s.tickets_stuck),
        ("statuses_sent", s.statuses_sent),
        ("refunds_sent", s.refunds_sent),
        ("invoices_sent", s.invoices_sent),
        ("requests", s.requests),
        ("tasks_removed", s.tasks_removed),
        ("requeued", s.requeued),
        ("gave_up", s.gave_up),
        ("dry_run_orders", s.dry_run_orders),
    ] {
        a.insert(k, i64::from(v))?;
    }
    a.insert("budget_exhausted", s.budget_exhausted)?;
    a.insert("dry_run", s.dry_run)?;
    let mut failures = ZendHashTable::new();
    for f in &s.failures {
        failures.push(failure_array(f)?)?;
    }
    a.insert("failures", failures)?;
    let mut errors = ZendHashTable::new();
    for e in &s.errors {
        errors.push(e.as_str())?;
    }
    a.insert("errors", errors)?;
    match &s.mail {
        Some(m) => a.insert("mail", mail_array(m)?)?,
        None => a.insert("mail", ())?,
    }
    a.insert("mail_sent", mail_sent)?;
    Ok(a)
}

/// What a call of the mailer came to.
#[derive(Debug, PartialEq)]
pub(crate) enum MailerCall {
    /// It returned (or threw): what became of the e-mail.
    Returned(MailOutcome),
    /// It called `exit()`, or hit a fatal error that PHP 8 turns into the same unwinding (seen
    /// with `memory_limit`): an internal marker, left pending so that the script ends once the
    /// extension returns. Whether the e-mail left is unknown: its notices stay for the next run.
    Exited {
        /// A fatal error (exit status 255), reported as the mailer's failure; `exit()` is not.
        fatal: bool,
    },
}

impl MailerCall {
    /// The outcome to record for the shop's e-mail.
    pub(crate) fn outcome(self) -> MailOutcome {
        match self {
            MailerCall::Returned(outcome) => outcome,
            MailerCall::Exited { fatal: true } => MailOutcome::Failed(FATAL.to_string()),
            MailerCall::Exited { fatal: false } => MailOutcome::NoMailer,
        }
    }
}

const FATAL: &str = "a PHP fatal error, which ended the request";

/// Hands one shop's e-mail to the configured mailer. A mailer that throws is an outcome like
/// another: its exception is caught here (the run goes on with the other shops) and reported.
pub(crate) fn send_mail(mail: ZBox<ZendHashTable>) -> MailerCall {
    // A new reference: the mailer may call configure() (even replace itself) while it runs.
    let Some(mailer) = settings::mailer() else {
        return MailerCall::Returned(MailOutcome::NoMailer);
    };
    let Ok(callable) = ZendCallable::new(&mailer) else {
        return MailerCall::Returned(MailOutcome::Failed(
            "nothing: option \"mailer\" is not callable".to_string(),
        ));
    };
    let mut arg = Zval::new();
    arg.set_hashtable(mail);
    let result = callable.try_call(vec![&arg]);
    if exiting() {
        return MailerCall::Exited {
            fatal: ExecutorGlobals::get().exit_status == 255,
        };
    }
    if let Some(exception) = ExecutorGlobals::take_exception() {
        return MailerCall::Returned(MailOutcome::Failed(describe(exception)));
    }
    MailerCall::Returned(match result {
        Ok(ret) if truthy(&ret) => MailOutcome::Accepted,
        Ok(_) => MailOutcome::Refused,
        Err(e) => MailOutcome::Failed(format!("nothing, but could not be called: {e}")),
    })
}

/// True when the pending "exception" is the engine's `exit()` marker (`UnwindExit`, or
/// `GracefulExit`): an object that is not a `Throwable`, which only the engine can make pending.
fn exiting() -> bool {
    let eg = ExecutorGlobals::get();
    eg.exception()
        .is_some_and(|e| !e.instance_of(ext_php_rs::zend::ce::throwable()))
}

/// `Class: message` of a caught exception.
fn describe(exception: ZBox<ZendObject>) -> String {
    let class = exception
        .get_class_name()
        .unwrap_or_else(|_| "an exception".to_string());
    let message = exception
        .try_call_method("getMessage", vec![])
        .ok()
        .and_then(|m| m.string())
        .unwrap_or_default();
    // getMessage() of a userland class may itself throw: nothing may stay pending.
    let _ = ExecutorGlobals::take_exception();
    format!("{class}: {message}")
}

/// True while this process runs a CRON: a runCron() from inside one of its callbacks (the mailer)
/// answers `locked` at once instead of nesting a run.
static RUNNING: AtomicBool = AtomicBool::new(false);

fn locked_report() -> Result<ZBox<ZendHashTable>, PhpException> {
    let report = CronReport {
        locked: true,
        ..CronReport::default()
    };
    report_array(&report, &[])
}

/// The report as PHP sees it; `outcomes[i]` is what became of `report.shops[i]`'s e-mail.
fn report_array(
    report: &CronReport,
    outcomes: &[MailOutcome],
) -> Result<ZBox<ZendHashTable>, PhpException> {
    let mut out = ZendHashTable::new();
    out.insert("locked", report.locked)?;
    out.insert("duration_ms", report.duration_ms as i64)?;
    out.insert("http_requests", report.http_requests as i64)?;
    out.insert("logs_purged", report.logs_purged as i64)?;
    out.insert("gave_up_expired", report.gave_up_expired as i64)?;
    out.insert("swept", i64::from(report.swept))?;
    out.insert("sweep_error", report.sweep_error.clone())?;
    out.insert("dry_run", report.shops.iter().any(|s| s.dry_run))?;
    let mut shops = ZendHashTable::new();
    for (i, s) in report.shops.iter().enumerate() {
        let sent = outcomes.get(i) == Some(&MailOutcome::Accepted);
        shops.insert_at_index(i64::from(s.id_shop), shop_array(s, sent)?)?;
    }
    out.insert("shops", shops)?;
    Ok(out)
}

pub fn run(given: Option<&ZendHashTable>) -> PhpResult<ZBox<ZendHashTable>> {
    // Every Rust value of the run is dropped at the end of this block, before a bailout is
    // passed on (a bailout skips the destructors of the frames it jumps over).
    let ended = {
        let opts = options(given)?;
        let settings = settings::current()?;
        let db = runtime::db(&settings)?;
        let http = runtime::http()?;
        if RUNNING.swap(true, Ordering::AcqRel) {
            return locked_report();
        }
        // Cleared however the run ends (an error, a panic turned into a PHP Error by
        // ext-php-rs, a fatal error in the mailer): a flag left set would answer `locked` to
        // every later run of the process.
        let _running = RunningGuard;
        run_locked(&db, &http, &opts)
    };
    match ended {
        RunEnd::Report(report) => report,
        // SAFETY: nothing of this call is left to drop; the engine goes on with its fatal error
        // as if the extension had not caught it.
        RunEnd::Bailout => unsafe { bailout() },
    }
}

struct RunningGuard;

impl Drop for RunningGuard {
    fn drop(&mut self) {
        RUNNING.store(false, Ordering::Release);
    }
}

enum RunEnd {
    Report(PhpResult<ZBox<ZendHashTable>>),
    /// A fatal error (E_ERROR, memory_limit, a failing hook) ended the request inside the mailer:
    /// the run was finished and its lock released; the bailout must go on.
    Bailout,
}

/// The run itself, the mailer called between the engine's two halves (outside the runtime, the
/// CRON lock still held), so that everything the mailer does is in the run's report and log.
fn run_locked(db: &crate::db::Db, http: &reqwest::Client, opts: &CronOptions) -> RunEnd {
    let run = match runtime::block_on(engine::start_cron(db, http, opts)) {
        Ok(Ok(run)) => run,
        Ok(Err(e)) => return RunEnd::Report(Err(e.into())),
        Err(e) => return RunEnd::Report(Err(e.into())),
    };
    let mut outcomes = Vec::with_capacity(run.report.shops.len());
    let mut exited = false;
    // The mailer is PHP code: a fatal error in it longjmps over this frame, which would keep the
    // lock's connection open (until the server's wait_timeout) and `RUNNING` set. Caught here,
    // the run is finished like any other before the bailout goes on.
    let mailed = try_catch(AssertUnwindSafe(|| {
        for s in &run.report.shops {
            let outcome = match &s.mail {
                _ if exited => MailOutcome::NoMailer,
                Some(m) => match mail_array(m) {
                    Ok(arr) => {
                        let call = send_mail(arr);
                        exited = matches!(call, MailerCall::Exited { .. });
                        call.outcome()
                    }
                    Err(e) => MailOutcome::Failed(format!(
                        "nothing: the e-mail could not be built: {e:?}"
                    )),
                },
                None => MailOutcome::NoMailer,
            };
            outcomes.push(outcome);
        }
    }));
    let bailed_out = match mailed {
        Ok(()) => false,
        Err(CatchError::Bailout) => {
            // The shop whose mailer was running is told why its e-mail is still waiting.
            outcomes.push(MailOutcome::Failed(FATAL.to_string()));
            true
        }
        // send_mail does not panic; were it to, the e-mails left wait for the next run.
        Err(_) => false,
    };
    outcomes.resize(run.report.shops.len(), MailOutcome::NoMailer);
    let finished = runtime::block_on(run.finish(db, &outcomes));
    if bailed_out {
        return RunEnd::Bailout;
    }
    RunEnd::Report(finished.map_err(PhpException::from).and_then(|report| {
        // After exit() the report is not read: the script ends when this call returns.
        report_array(&report, &outcomes)
    }))
}
