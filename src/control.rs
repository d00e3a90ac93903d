//! The merchant's control room (the back office's task grid, order panel and health): what it
//! reads of the queue and the records, and its actions, each checked against the shops of the
//! employee's context and the shop's gate, done through the queue's fenced transitions and
//! logged with the employee's name.

use crate::db::logger::{ProcessLogger, DEFAULT_PROCESS};
use crate::db::sql::keys;
use crate::db::{global_u32, Db};
use crate::error::{DbError, DbResultExt};
use crate::hook::{self, HookOutcome};
use crate::model::{LogLevel, TaskKind};
use crate::operations::{self, name_now, OperationRecord, OperationResult};
use crate::queue::{self, control::TaskNow, view};
use crate::shop::ShopRulesCache;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// The most tasks (or orders) one action takes.
pub const MAX_IDS: usize = 1000;

/// A merchant's action on tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MerchantAction {
    /// Due now (a task waiting for its delay or its retry).
    SendNow,
    /// A task that gave up goes back to pending, due now.
    Retry,
    /// Removed.
    Cancel,
}

impl MerchantAction {
    fn verb(self) -> &'static str {
        match self {
            MerchantAction::SendNow => "set to be sent at the next run",
            MerchantAction::Retry => "retried",
            MerchantAction::Cancel => "canceled",
        }
    }
}

/// What an action did: the ids it changed, and why it left the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionReport {
    pub changed: Vec<u32>,
    pub skipped: Vec<(u32, String)>,
}

/// Why an action leaves a task as it is now, if it does.
fn refusal(action: MerchantAction, t: &TaskNow) -> Option<&'static str> {
    if t.checking() {
        return Some("already sent: it waits for its ticket");
    }
    match action {
        MerchantAction::Retry if !t.gave_up => Some("it did not give up"),
        _ if t.leased => Some("a CRON run is sending it"),
        MerchantAction::SendNow if t.gave_up => Some("it gave up: use Retry"),
        MerchantAction::SendNow if !t.waits => Some("it is already due"),
        _ => None,
    }
}

/// Applies a merchant's action to tasks of the shops `shops`, logging each change with `actor`.
pub async fn act(
    db: &Db,
    action: MerchantAction,
    ids: &[u32],
    shops: &[u32],
    actor: &str,
) -> Result<ActionReport, DbError> {
    let mut conn = db.conn().await?;
    let mut log = ProcessLogger::new(DEFAULT_PROCESS);
    let done = act_on(db, &mut conn, &mut log, action, ids, shops, actor).await;
    let flushed = log.flush(db, &mut conn).await;
    let done = done?;
    flushed?;
    Ok(done)
}

async fn act_on(
    db: &Db,
    conn: &mut Conn,
    log: &mut ProcessLogger,
    action: MerchantAction,
    ids: &[u32],
    shops: &[u32],
    actor: &str,
) -> Result<ActionReport, DbError> {
    let mut report = ActionReport::default();
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let now = queue::control::tasks_now(db, conn, &ids).await?;
    let mut shops_seen = ShopRulesCache::default();
    for id in ids {
        let Some(task) = now.iter().find(|t| t.id_task == id) else {
            report
                .skipped
                .push((id, "no such task (sent, or removed)".into()));
            continue;
        };
        if !shops.contains(&task.id_shop) {
            report
                .skipped
                .push((id, "not a task of this shop context".into()));
            continue;
        }
        if let Some(why) = refusal(action, task) {
            report.skipped.push((id, why.into()));
            continue;
        }
        let rules = shops_seen
            .get(db, conn, task.id_shop, task.id_shop_group)
            .await?;
        if action != MerchantAction::Cancel {
            if let Err(why) = &rules.open {
                let why = format!(
                    "the synchronization is not available in shop {}: {why}",
                    task.id_shop
                );
                report.skipped.push((id, why));
                continue;
            }
        }
        let kind = task.action.map(view::kind_of).unwrap_or(TaskKind::Status);
        let canceled_name = name_now(kind, &rules.lists, task.current_state);
        let changed = match action {
            MerchantAction::SendNow => queue::control::send_now(db, conn, id).await?,
            MerchantAction::Retry => queue::control::retry(db, conn, id).await?,
            MerchantAction::Cancel => queue::control::cancel(db, conn, id).await?,
        };
        if !changed {
            report
                .skipped
                .push((id, "it changed meanwhile: reload the page".into()));
            continue;
        }
        if action == MerchantAction::Cancel {
            // The sweep must not queue again what the merchant canceled.
            if let Some(name) = canceled_name {
                let _ = operations::record_canceled(db, conn, task.id_order, name).await;
            }
        }
        let what = task.action.map(|a| a.as_str()).unwrap_or("?");
        log.order(
            LogLevel::Info,
            task.id_order,
            &format!("Task {id} ({what}) {} by {actor}", action.verb()),
        );
        report.changed.push(id);
    }
    Ok(report)
}

/// "Send the current status again": queues each order's current status, due now, as the hook
/// would (a Shopping Feed order, the gate open, a mapped state), for orders of the shops `shops`.
pub async fn resend_status(
    db: &Db,
    orders: &[u32],
    shops: &[u32],
    actor: &str,
) -> Result<ActionReport, DbError> {
    let mut report = ActionReport::default();
    let mut orders = orders.to_vec();
    orders.sort_unstable();
    orders.dedup();
    let mut conn = db.conn().await?;
    for id_order in orders {
        let shop: Option<u32> = conn
            .exec_first(db.sql().order_shop.as_str(), (id_order,))
            .await
            .ctx(format!("reading the shop of order {id_order}"))?;
        match shop {
            None => {
                report.skipped.push((id_order, "no such order".into()));
                continue;
            }
            Some(id_shop) if !shops.contains(&id_shop) => {
                report
                    .skipped
                    .push((id_order, "not an order of this shop context".into()));
                continue;
            }
            Some(_) => {}
        }
        let mut log = ProcessLogger::new(DEFAULT_PROCESS);
        log.order(
            LogLevel::Info,
            id_order,
            &format!("Current status sent again by {actor}"),
        );
        let outcome = hook::queue_status_change(db, id_order, None, &mut log).await;
        // Due now, not after the shipped delay: the merchant asked for it.
        let expedited = match &outcome {
            Ok(o) if o.queued() => queue::expedite(db, &mut conn, id_order).await.map(|_| ()),
            _ => Ok(()),
        };
        log.flush(db, &mut conn).await?;
        expedited?;
        match outcome? {
            o if o.queued() => report.changed.push(id_order),
            o => report.skipped.push((id_order, not_queued(&o))),
        }
    }
    Ok(report)
}

fn not_queued(outcome: &HookOutcome) -> String {
    match outcome {
        HookOutcome::UnknownOrder => "no such order".into(),
        HookOutcome::NotShoppingFeedOrder => "not a Shopping Feed order".into(),
        HookOutcome::Unavailable(why) => format!("the synchronization is not available: {why:?}"),
        HookOutcome::UnmappedState(state) => {
            format!("its current state ({state}) is in no list of the configuration")
        }
        HookOutcome::NoReference => "the order has no marketplace reference".into(),
        _ => "not queued".into(),
    }
}

/// The order page's panel: the order's tasks, its recorded operations, its newest log rows.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderView {
    pub tasks: Vec<view::TaskRow>,
    pub operations: Vec<OperationRecord>,
    /// (level, message, date), newest first.
    pub logs: Vec<(String, String, String)>,
}

/// Log rows the order panel shows.
pub const ORDER_LOGS: u32 = 50;

pub async fn order_view(db: &Db, id_order: u32) -> Result<OrderView, DbError> {
    let mut conn = db.conn().await?;
    let shop: Option<u32> = conn
        .exec_first(db.sql().order_shop.as_str(), (id_order,))
        .await
        .ctx(format!("reading the shop of order {id_order}"))?;
    let tasks = match shop {
        Some(id_shop) => {
            let q = view::TaskQuery {
                shops: vec![id_shop],
                id_order: Some(id_order),
                per_page: view::MAX_PER_PAGE,
                ..view::TaskQuery::default()
            };
            view::list(db, &mut conn, &q).await?.0
        }
        None => Vec::new(),
    };
    let mut operations = operations::of_order(db, &mut conn, id_order).await?;
    // A send whose batch no task waits for any more ended well: successes are not written one
    // by one (the check stays as fast), failures and refusals are.
    for op in operations.iter_mut().filter(|op| op.result == "sent") {
        let waiting = tasks.iter().any(|t| {
            t.state == Some(view::TaskState::Checking)
                && t.batch_id.is_some()
                && t.batch_id == op.batch_id
        });
        if !waiting {
            op.result = OperationResult::Succeeded.as_str().to_string();
        }
    }
    let logs = conn
        .exec(db.sql().order_logs.as_str(), (id_order, ORDER_LOGS))
        .await
        .ctx(format!("reading the log of order {id_order}"))?;
    Ok(OrderView {
        tasks,
        operations,
        logs,
    })
}

/// The operation each grid row would send now: for a status, its order's current state mapped
/// with its shop's lists (None: the state maps to nothing, the run will drop it).
pub async fn operations_of(
    db: &Db,
    rows: &[view::TaskRow],
) -> Result<Vec<Option<&'static str>>, DbError> {
    let mut conn = db.conn().await?;
    let mut shops = ShopRulesCache::default();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let kind = row.action.map(view::kind_of).unwrap_or(TaskKind::Status);
        let rules = shops
            .get(db, &mut conn, row.id_shop, row.id_shop_group)
            .await?;
        out.push(name_now(kind, &rules.lists, row.current_state));
    }
    Ok(out)
}

/// A warning of the health panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthWarning {
    /// No run ended for more than three intervals (or none ever did while tasks wait).
    CronLate,
    /// A due task is older than the alert threshold.
    DueOld,
    /// Tasks gave up and wait for the merchant.
    GaveUp,
}

impl HealthWarning {
    pub const fn code(self) -> &'static str {
        match self {
            HealthWarning::CronLate => "cron_late",
            HealthWarning::DueOld => "due_old",
            HealthWarning::GaveUp => "gave_up",
        }
    }
}

/// The health panel's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// When the last CRON run ended.
    pub last_run: Option<String>,
    pub last_run_age_seconds: Option<i64>,
    pub running: bool,
    pub queue: view::QueueHealth,
    pub cron_interval_minutes: u32,
    pub due_alert_minutes: u32,
    pub warnings: Vec<(HealthWarning, String)>,
}

pub const DEFAULT_CRON_INTERVAL_MINUTES: u32 = 15;
pub const DEFAULT_DUE_ALERT_MINUTES: u32 = 60;

pub async fn health(db: &Db, shops: &[u32]) -> Result<Health, DbError> {
    let mut conn = db.conn().await?;
    let queue = view::health(db, &mut conn, shops).await?;
    let interval = global_u32(
        db,
        &mut conn,
        keys::CRON_INTERVAL_MINUTES,
        DEFAULT_CRON_INTERVAL_MINUTES,
    )
    .await?
    .max(1);
    let alert = global_u32(
        db,
        &mut conn,
        keys::DUE_ALERT_MINUTES,
        DEFAULT_DUE_ALERT_MINUTES,
    )
    .await?
    .max(1);
    type MonitorRow = (Option<String>, bool, Option<i64>);
    let monitor: Option<MonitorRow> = conn
        .exec_first(db.sql().monitor_state.as_str(), ())
        .await
        .ctx("reading the CRON's monitor")?;
    let (last_run, running, age) = monitor.unwrap_or((None, false, None));
    let mut warnings = Vec::new();
    let late = i64::from(interval) * 3 * 60;
    let waiting = queue.due + queue.checking > 0;
    match age {
        // A run holds its monitor row for its budget (a minute by default): one "running" for
        // longer than three intervals crashed or hangs, which is late too.
        Some(age) if age > late => warnings.push((
            HealthWarning::CronLate,
            format!(
                "The CRON has not run for {} minutes (more than three times its {interval}-minute interval): statuses are not sent.",
                age / 60
            ),
        )),
        None if waiting => warnings.push((
            HealthWarning::CronLate,
            "The CRON has never run: statuses wait in the queue. Set up the CRON URL.".into(),
        )),
        _ => {}
    }
    if let Some(oldest) = queue.oldest_due_seconds {
        if oldest > i64::from(alert) * 60 {
            warnings.push((
                HealthWarning::DueOld,
                format!(
                    "A status has been due for {} minutes (alert after {alert}).",
                    oldest / 60
                ),
            ));
        }
    }
    if queue.gave_up > 0 {
        warnings.push((
            HealthWarning::GaveUp,
            format!(
                "{} task(s) gave up after their retries: retry or cancel them in the task list.",
                queue.gave_up
            ),
        ));
    }
    Ok(Health {
        last_run,
        last_run_age_seconds: age,
        running,
        queue,
        cron_interval_minutes: interval,
        due_alert_minutes: alert,
        warnings,
    })
}

/// Days a task that gave up stays when the configuration says nothing.
pub const DEFAULT_GAVE_UP_RETENTION_DAYS: u32 = 30;
/// Tasks removed per run at most.
const EXPIRE_PER_RUN: u32 = 500;

/// Removes the tasks that gave up longer ago than their retention
/// (`SHOPPINGFEED_ORDER_SYNC_GAVE_UP_RETENTION_DAYS`, global; 0 keeps them until the merchant
/// acts), at most 500 per run, each logged on its order; returns how many went.
pub async fn expire_gave_up(db: &Db, conn: &mut Conn) -> Result<u64, DbError> {
    let days = global_u32(
        db,
        conn,
        keys::GAVE_UP_RETENTION_DAYS,
        DEFAULT_GAVE_UP_RETENTION_DAYS,
    )
    .await?;
    if days == 0 {
        return Ok(0);
    }
    let removed = queue::control::remove_expired(db, conn, days, EXPIRE_PER_RUN).await?;
    let mut log = ProcessLogger::new(crate::db::logger::SYNC_ORDER_PROCESS);
    for (id_task, id_order) in &removed {
        log.order(
            LogLevel::Info,
            *id_order,
            &format!(
                "Task {id_task}, which gave up more than {days} days ago, removed (retention)"
            ),
        );
    }
    log.flush(db, conn).await?;
    Ok(removed.len() as u64)
}
