//! The CRON half of the sync: per shop and account, check tickets, send the due statuses, partial
//! refunds and invoices, build the failure e-mail (docs/queue.md). Locked by a MySQL session lock (dies with its connection, so a crashed run
//! never blocks the next one) and the ProcessMonitor row kept for the back office; tasks are
//! claimed with a lease so two overlapping runs never send the same task while a lease is valid.

pub mod conveyor;
mod invoices;
mod prepared;
mod refunds;
pub mod report;
mod send;
mod shop_run;
mod statuses;
mod tickets;

pub use shop_run::CronOptions;
use shop_run::ShopRun;

use crate::api::{ApiClient, ApiConfig};
use crate::db::logger::{ProcessLogger, SYNC_ORDER_PROCESS};
use crate::db::retry::LockRetry;
use crate::db::sql::{in_list, keys};
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use crate::model::{LogLevel, TaskKind};
use crate::notices;
use crate::queue::TaskScope;
use crate::shop::accounts::{shop_accounts, Account};
use crate::shop::{gate, shop_config, ShopConfig, StateLists};
use mysql_async::prelude::{FromRow, Queryable};
use mysql_async::{Conn, FromRowError, Row, Value};
use report::{mail_lists, CronReport, Failure, Mail, MailOutcome, ShopReport};
use send::Source;
use std::time::{Duration, Instant};

/// Runs the whole CRON for every active shop (or `opts.shop`), without a mailer: the e-mails
/// are in the report and their notices stay for the next run that has one.
pub async fn run_cron(
    db: &Db,
    http: &reqwest::Client,
    opts: &CronOptions,
) -> Result<CronReport, DbError> {
    let run = start_cron(db, http, opts).await?;
    let outcomes = vec![MailOutcome::NoMailer; run.report.shops.len()];
    Ok(run.finish(db, &outcomes).await)
}

/// A CRON run that did its work and still holds the lock while its e-mails are handed to the
/// mailer (PHP code, called outside the runtime); [`CronRun::finish`] records what became of them
/// and releases the lock.
pub struct CronRun {
    pub report: CronReport,
    /// The connection holding the session lock (`None` when the run found the lock taken).
    lock: Option<Conn>,
    started: Instant,
}

/// Takes the lock and runs every shop: check tickets, send the due statuses, prepare the e-mails.
pub async fn start_cron(
    db: &Db,
    http: &reqwest::Client,
    opts: &CronOptions,
) -> Result<CronRun, DbError> {
    let started = Instant::now();
    let mut report = CronReport::default();
    let mut lock_conn = db.conn().await?;
    let got: Option<Option<i64>> = lock_conn
        .query_first(db.sql().cron.try_lock.as_str())
        .await
        .ctx("taking the CRON lock")?;
    if got.flatten() != Some(1) {
        report.locked = true;
        return Ok(CronRun {
            report,
            lock: None,
            started,
        });
    }
    let mut run = CronRun {
        report,
        lock: Some(lock_conn),
        started,
    };
    let monitored = match run.lock.as_mut() {
        Some(conn) => write_monitor(db, conn).await,
        None => Ok(()),
    };
    let result = match monitored {
        Ok(()) => run_shops(db, http, opts, started, &mut run.report).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(run),
        Err(e) => {
            run.unlock(db).await;
            Err(e)
        }
    }
}

/// The ProcessMonitor row of a starting run. On a Galera cluster the CRON lock is each node's
/// own, so runs on two nodes may write this row at once: the loser's certification failure is
/// retried rather than ending its run.
async fn write_monitor(db: &Db, conn: &mut Conn) -> Result<(), DbError> {
    let mut retry = LockRetry::default();
    let pid = std::process::id();
    loop {
        match conn
            .exec_drop(db.sql().cron.monitor_lock.as_str(), (pid, pid))
            .await
            .ctx("writing the ProcessMonitor row")
        {
            Err(e) if retry.wants(&e) => retry.pause().await,
            done => return done,
        }
    }
}

impl CronRun {
    /// Records what became of each shop's e-mail (`outcomes[i]` for `report.shops[i]`): the notices of
    /// an accepted e-mail are forgotten, the others stay for the next run and the shop's errors say
    /// why; writes those log rows and releases the lock. Never fails: a database error here is
    /// reported in the shop's errors (the notices then stay, and are mailed again).
    pub async fn finish(mut self, db: &Db, outcomes: &[MailOutcome]) -> CronReport {
        if self.lock.is_some() {
            let mut log = ProcessLogger::new(SYNC_ORDER_PROCESS);
            for (shop, outcome) in self.report.shops.iter_mut().zip(outcomes) {
                record_mail(db, shop, outcome, &mut log).await;
            }
            if !log.is_empty() {
                if let Ok(mut c) = db.conn().await {
                    let _ = log.flush(db, &mut c).await;
                }
            }
        }
        self.unlock(db).await;
        self.report.duration_ms = self.started.elapsed().as_millis() as u64;
        self.report
    }

    /// Updates the ProcessMonitor row and releases the session lock; a failure is harmless (the
    /// session lock goes with the connection, which is closed rather than pooled then).
    async fn unlock(&mut self, db: &Db) {
        let Some(mut conn) = self.lock.take() else {
            return;
        };
        let duration = self.started.elapsed().as_secs_f64();
        let _ = conn
            .exec_drop(
                db.sql().cron.monitor_unlock.as_str(),
                (format!("{duration:.6}"),),
            )
            .await;
        if conn
            .query_drop(db.sql().cron.release_lock.as_str())
            .await
            .is_err()
        {
            let _ = conn.disconnect().await;
        }
    }
}

/// One shop's e-mail outcome: notices forgotten when accepted, else kept and reported.
pub(crate) async fn record_mail(
    db: &Db,
    shop: &mut ShopReport,
    outcome: &MailOutcome,
    log: &mut ProcessLogger,
) {
    let Some(mail) = &shop.mail else {
        return;
    };
    let prefix = format!("[Shop {}]", shop.id_shop);
    let orders = mail.notices.len();
    let kept = |why: String| {
        format!("{prefix} The failure e-mail was not sent ({why}); its {orders} orders will be mailed at the next run")
    };
    let problem = match outcome {
        MailOutcome::NoMailer => return,
        MailOutcome::Accepted => {
            let forgotten = match db.conn().await {
                Ok(mut c) => notices::forget(db, &mut c, &mail.notices).await,
                Err(e) => Err(e),
            };
            match forgotten {
                Ok(()) => {
                    log.log(
                        LogLevel::Success,
                        format!("{prefix} Failure e-mail sent to {} ({orders} orders)", mail.to),
                        None,
                    );
                    return;
                }
                // Sent, but the notices could not be removed: they will be mailed once more.
                Err(e) => format!("{prefix} The failure e-mail was sent, but its notices could not be removed: {e}"),
            }
        }
        MailOutcome::Refused => kept("the mailer returned false".to_string()),
        MailOutcome::Failed(why) => kept(format!("the mailer threw {why}")),
    };
    log.error(problem.clone(), None);
    shop.errors.push(problem);
}

async fn run_shops(
    db: &Db,
    http: &reqwest::Client,
    opts: &CronOptions,
    started: Instant,
    report: &mut CronReport,
) -> Result<(), DbError> {
    let mut conn = db.conn().await?;
    if let Some(who) = &opts.requested_by {
        let mut log = ProcessLogger::new(SYNC_ORDER_PROCESS);
        log.log(LogLevel::Info, format!("Run now by {who}"), None);
        log.flush(db, &mut conn).await?;
    }
    // Status changes the hook never saw are queued first, so this run sends them; a failure
    // costs only the sweep (the next run reads the same rows again).
    if opts.shop.is_none() {
        match crate::sweep::sweep(db, &mut conn).await {
            Ok(n) => report.swept = n,
            Err(e) => report.sweep_error = Some(e.to_string()),
        }
    }
    let mut shops: Vec<ShopRow> = active_shops(db, &mut conn)
        .await?
        .into_iter()
        .filter(|shop| opts.shop.is_none_or(|s| s == shop.id_shop))
        .collect();
    // The shop whose oldest due task waited longest goes first, the shops with nothing due last:
    // a shop the budget left out of a run is first in the next one, whatever its id.
    let due: Vec<(u32, String)> = conn
        .query(db.sql().queue.oldest_due_by_shop.as_str())
        .await
        .ctx("ordering the shops by their oldest due task")?;
    let rank = |id_shop: u32| {
        due.iter()
            .position(|(s, _)| *s == id_shop)
            .unwrap_or(due.len())
    };
    shops.sort_by_key(|shop| (rank(shop.id_shop), shop.id_shop));
    let count = shops.len();
    for (i, shop) in shops.into_iter().enumerate() {
        let ctx = RunContext {
            db,
            http,
            opts,
            deadline: shop_deadline(opts.run_budget, started.elapsed(), count - i),
            // The shop that waited longest makes progress even when its own fixed costs (the
            // ticket check) eat its share: each of its accounts claims one page past it, if the
            // run had any budget (none: nothing is claimed).
            first: i == 0 && started.elapsed() < opts.run_budget,
        };
        let mut turn = ShopTurn::new(shop);
        if let Err(e) = run_shop(&ctx, &mut conn, &mut turn).await {
            let msg = format!("[Shop {}] Error : {e}", turn.shop.id_shop);
            turn.log.error(msg.clone(), None);
            turn.report.errors.push(msg);
        }
        // A database that failed mid-run may refuse the logs too: they are in the report anyway.
        if let Ok(mut c) = db.conn().await {
            let _ = turn.log.flush(db, &mut c).await;
        }
        report.http_requests += u64::from(turn.report.requests);
        report.shops.push(turn.report);
    }
    // The log table would only grow (two rows or more per status change): a run of every shop
    // trims it, a bounded amount at a time; a failure here costs nothing but the trim.
    if opts.shop.is_none() {
        report.logs_purged = crate::db::logger::purge_old_rows(db, &mut conn)
            .await
            .unwrap_or(0);
        report.gave_up_expired = crate::control::expire_gave_up(db, &mut conn)
            .await
            .unwrap_or(0);
    }
    Ok(())
}

/// When a shop of a run stops claiming new work: an equal share of what is left of the run's
/// budget among the shops still to serve (`left`, this one included). A shop that needs less
/// leaves the rest to the next ones; one whose API is slow, or whose queue is long, cannot take
/// the whole budget from the shops after it (they came last in every run, and got nothing).
fn shop_deadline(budget: Duration, elapsed: Duration, left: usize) -> Instant {
    let share = budget.saturating_sub(elapsed) / u32::try_from(left.max(1)).unwrap_or(u32::MAX);
    Instant::now() + share
}

/// A row of the shop table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ShopRow {
    pub id_shop: u32,
    pub id_group: u32,
    pub name: String,
}

impl FromRow for ShopRow {
    fn from_row_opt(row: Row) -> Result<Self, FromRowError> {
        let (id_shop, id_group, name) = mysql_async::from_row_opt(row)?;
        Ok(ShopRow {
            id_shop,
            id_group,
            name,
        })
    }
}

/// The active shops, in id order.
async fn active_shops(db: &Db, conn: &mut Conn) -> Result<Vec<ShopRow>, DbError> {
    conn.query(db.sql().cron.active_shops.as_str())
        .await
        .ctx("listing the shops")
}

/// An active shop by id (`None` when there is no such active shop).
pub(crate) async fn find_shop(
    db: &Db,
    conn: &mut Conn,
    id_shop: u32,
) -> Result<Option<ShopRow>, DbError> {
    Ok(active_shops(db, conn)
        .await?
        .into_iter()
        .find(|s| s.id_shop == id_shop))
}

/// What a run hands to every shop it opens.
pub(crate) struct RunContext<'a> {
    pub db: &'a Db,
    pub http: &'a reqwest::Client,
    pub opts: &'a CronOptions,
    /// When this shop stops claiming new work (its share of the run's budget).
    pub deadline: Instant,
    /// The first shop of the run: one page per account even past its deadline.
    pub first: bool,
}

/// One shop's turn in a run: the shop, what the run did there and the log rows it wrote.
pub(crate) struct ShopTurn {
    pub shop: ShopRow,
    pub report: ShopReport,
    pub log: ProcessLogger,
}

impl ShopTurn {
    pub fn new(shop: ShopRow) -> Self {
        ShopTurn {
            report: ShopReport {
                id_shop: shop.id_shop,
                ..ShopReport::default()
            },
            shop,
            log: ProcessLogger::new(SYNC_ORDER_PROCESS),
        }
    }
}

/// A shop ready for API calls, one run per account (the first one first), or why it is skipped
/// (gate closed, no token, API unreachable).
pub(crate) enum OpenShop<'a> {
    Ready(Vec<ShopRun<'a>>, ShopConfig),
    Skipped(String),
}

/// Due tasks no account of the run can send (their order's account is inactive or another
/// shop's): reported, never sent with another account's token.
async fn report_unserved(
    db: &Db,
    conn: &mut Conn,
    id_shop: u32,
    accounts: &[Account],
    turn_report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<(), DbError> {
    let due: Vec<(i64, u64)> = conn
        .exec(db.sql().queue.due_by_account.as_str(), (id_shop,))
        .await
        .ctx("counting the due tasks per account")?;
    for (account, count) in due {
        let served = accounts.iter().any(|a| i64::from(a.id) == account);
        if !served {
            let msg = format!(
                "[Shop {id_shop}] {count} task(s) wait for Shopping Feed account {account} (shoppingfeed_token), which is not active for this shop: they are not sent"
            );
            log.error(msg.clone(), None);
            turn_report.errors.push(msg);
        }
    }
    Ok(())
}

/// Reads the shop's configuration, applies the gate and resolves each account's store.
pub(crate) async fn open_shop<'a>(
    ctx: &RunContext<'a>,
    conn: &mut Conn,
    turn: &mut ShopTurn,
) -> Result<OpenShop<'a>, DbError> {
    let RunContext {
        db,
        http,
        opts,
        deadline,
        first,
    } = *ctx;
    let ShopTurn { shop, report, log } = turn;
    let id_shop = shop.id_shop;
    let prefix = format!("[Shop {id_shop}]");
    let config = shop_config(db, conn, shop.id_shop, shop.id_group).await?;
    if let Err(msg) = gate(db, conn, &config, id_shop, log).await? {
        return Ok(OpenShop::Skipped(msg));
    }
    let accounts = shop_accounts(db, conn, id_shop, &config).await?;
    if accounts.is_empty() {
        return Ok(OpenShop::Skipped(format!(
            "{prefix} no API token ({} or an active shoppingfeed_token row)",
            keys::AUTH_TOKEN
        )));
    }
    report_unserved(db, conn, id_shop, &accounts, report, log).await?;
    let lists = StateLists::read(&config, |e| log.error(format!("{prefix} {e}"), None));
    let mut runs = Vec::with_capacity(accounts.len());
    let mut last_error = String::new();
    for (i, account) in accounts.iter().enumerate() {
        let mut api_config = ApiConfig::new(opts.api_base_url.clone(), account.token.clone());
        api_config.timeout = opts.http_timeout;
        api_config.concurrency = opts.concurrency.max(1);
        let api = ApiClient::new(http.clone(), api_config);
        // A configured store is used as is (its first request proves it); otherwise the first
        // store of GET /v1/me, as the reference's "main store".
        let resolved = match account.store_id {
            Some(id) => Ok(id),
            None => api.resolve_store(None).await,
        };
        let store_id = match resolved {
            Ok(id) => id,
            Err(e) => {
                // This account's tasks wait; the shop's other accounts go on.
                let msg = format!(
                    "{prefix} Could not retrieve Shopping Feed API{}: {e}",
                    account.label()
                );
                log.error(msg.clone(), None);
                report.errors.push(msg.clone());
                report.requests += api.stats().requests as u32;
                last_error = msg;
                continue;
            }
        };
        runs.push(ShopRun {
            db,
            api,
            store_id,
            id_shop,
            scope: TaskScope {
                id_shop,
                account: account.id,
                first: i == 0,
            },
            lists: lists.clone(),
            reference_format: config
                .get(keys::PRODUCT_REFERENCE_FORMAT)
                .unwrap_or_default()
                .to_string(),
            chunk: config.int(keys::MAX_ORDERS, 100).clamp(1, 100) as usize,
            dry_run: config.flag(keys::DRY_RUN),
            opts,
            deadline,
            one_page: std::sync::atomic::AtomicBool::new(first),
        });
    }
    if runs.is_empty() {
        return Ok(OpenShop::Skipped(last_error));
    }
    Ok(OpenShop::Ready(runs, config))
}

async fn run_shop(
    ctx: &RunContext<'_>,
    conn: &mut Conn,
    turn: &mut ShopTurn,
) -> Result<(), DbError> {
    let (runs, config) = match open_shop(ctx, conn, turn).await? {
        OpenShop::Ready(runs, config) => (runs, config),
        OpenShop::Skipped(why) => {
            turn.report.skipped = Some(why);
            return Ok(());
        }
    };
    let ShopTurn { report, log, .. } = turn;
    // Each account checks and sends its own orders' tasks with its own token and store.
    for run in &runs {
        let done = account_turn(run, conn, report, log).await;
        report.requests += run.api.stats().requests as u32;
        done?;
    }
    finish_shop(ctx.db, conn, &config, turn).await
}

async fn account_turn(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<(), DbError> {
    // A dry run reacts to no ticket: a reaction consumes or requeues tasks.
    if run.dry_run {
        report.dry_run = true;
    } else {
        tickets::check(run, conn, report, log).await?;
    }
    // An API that just failed one kind would fail the next ones too: they wait for the next run.
    for kind in TaskKind::ALL {
        if send::send_kind(run, conn, kind, Source::Due, report, log).await? {
            break;
        }
    }
    Ok(())
}

/// The failure e-mail and the summary line of a shop.
async fn finish_shop(
    db: &Db,
    conn: &mut Conn,
    config: &ShopConfig,
    turn: &mut ShopTurn,
) -> Result<(), DbError> {
    let ShopTurn { shop, report, log } = turn;
    let shop_name = shop.name.as_str();
    let prefix = format!("[Shop {}]", report.id_shop);
    let id_lang = mail_lang(config);
    fill_failure_names(db, conn, id_lang, &mut report.failures).await?;
    // The e-mail lists every notice still waiting, this run's and those of runs whose e-mail failed.
    let pending = notices::pending(db, conn, report.id_shop).await?;
    if !pending.is_empty() {
        let (ids, mut failures): (Vec<u32>, Vec<Failure>) =
            pending.into_iter().map(|n| (n.id, n.failure)).unzip();
        let mut mail =
            failure_mail(db, conn, config, report.id_shop, shop_name, &mut failures).await?;
        mail.notices = ids;
        report.mail = Some(mail);
    }
    if let Some(summary) = summary(report) {
        log.log(LogLevel::Success, format!("{prefix} {summary}"), None);
    }
    Ok(())
}

/// The run's summary line of a shop, when it did anything (every kind, every reaction) or had errors.
fn summary(r: &ShopReport) -> Option<String> {
    let busy = r.tickets_succeeded
        + r.tickets_failed
        + r.tickets_canceled
        + r.tickets_stuck
        + r.statuses_sent
        + r.refunds_sent
        + r.invoices_sent
        + r.tasks_removed
        + r.requeued;
    (busy > 0 || !r.errors.is_empty()).then(|| {
        format!(
            "{} tickets with success; {} tickets with failure; {} tickets canceled; {} pending; {} stuck; {} statuses sent; {} partial refunds sent; {} invoices sent; {} API requests; {} tasks removed; {} requeued; {} gave up; {} errors",
            r.tickets_succeeded,
            r.tickets_failed,
            r.tickets_canceled,
            r.tickets_pending,
            r.tickets_stuck,
            r.statuses_sent,
            r.refunds_sent,
            r.invoices_sent,
            r.requests,
            r.tasks_removed,
            r.requeued,
            r.gave_up,
            r.errors.len()
        )
    })
}

/// The e-mail listing the failed orders of a shop (references and state names filled in).
pub(crate) async fn failure_mail(
    db: &Db,
    conn: &mut Conn,
    config: &ShopConfig,
    id_shop: u32,
    shop_name: &str,
    failures: &mut [Failure],
) -> Result<Mail, DbError> {
    let id_lang = mail_lang(config);
    fill_failure_names(db, conn, id_lang, failures).await?;
    let (html_list, text_list) = mail_lists(failures);
    Ok(Mail {
        id_shop,
        id_lang,
        to: config.get(keys::SHOP_EMAIL).unwrap_or_default().to_string(),
        shop_name: config.get("PS_SHOP_NAME").unwrap_or(shop_name).to_string(),
        subject: "Shopping Feed synchronization errors".to_string(),
        html_list,
        text_list,
        notices: Vec::new(),
    })
}

/// The shop's default language, the e-mail's.
fn mail_lang(config: &ShopConfig) -> u32 {
    config
        .int(keys::LANG_DEFAULT, 1)
        .clamp(1, i64::from(u32::MAX)) as u32
}

/// PrestaShop reference and current state name of each failed order, in one query.
async fn fill_failure_names(
    db: &Db,
    conn: &mut Conn,
    id_lang: u32,
    failures: &mut [Failure],
) -> Result<(), DbError> {
    for chunk in failures.chunks_mut(500) {
        let mut params: Vec<Value> = vec![id_lang.into()];
        params.extend(chunk.iter().map(|f| Value::from(f.id_order)));
        let query = format!("{}{}", db.sql().cron.state_names_head, in_list(chunk.len()));
        let rows: Vec<(u32, Option<String>, Option<String>)> = conn
            .exec(query, params)
            .await
            .ctx("reading the order references for the e-mail")?;
        for f in chunk.iter_mut() {
            if let Some((_, reference, status)) = rows.iter().find(|r| r.0 == f.id_order) {
                f.reference = reference.clone().unwrap_or_else(|| f.id_order.to_string());
                f.status = status.clone().unwrap_or_default();
            }
        }
    }
    Ok(())
}
