//! The reference module's CRON actions, one step at a time, for `ShoppingfeedOrderSyncActions`
//! conveyors (overrides and code written against the reference). `run_cron` chains the same steps.

use super::report::{Failure, Mail, MailOutcome, ShopReport};
use super::send::{send_kind, Source};
use super::tickets::check_batches;
use super::{
    failure_mail, find_shop, notices, open_shop, record_mail, CronOptions, OpenShop, RunContext,
    ShopTurn,
};
use crate::db::logger::{ProcessLogger, SYNC_ORDER_PROCESS};
use crate::db::sql::keys;
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use crate::model::{Operation, TaskAction, TaskKind};
use crate::shop::accounts::first_scope;
use crate::shop::{gate, shop_config, ShopConfig, StateLists};
use mysql_async::prelude::{FromRow, Queryable};
use mysql_async::{Conn, FromRowError, Row};
use std::time::Instant;

/// A row of the task table (read through `queue`), as the conveyor's `taskOrders` carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskOrder {
    pub id_task: u32,
    pub action: String,
    pub id_order: u32,
    pub ticket_number: Option<String>,
    pub batch_id: Option<String>,
    pub update_at: Option<String>,
    pub date_add: Option<String>,
    pub date_upd: Option<String>,
    pub attempts: u32,
}

/// The columns of `QueueSql::task_orders_due`, in order.
impl FromRow for TaskOrder {
    fn from_row_opt(row: Row) -> Result<Self, FromRowError> {
        type Columns = (
            u32,
            String,
            u32,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            u32,
        );
        let (
            id_task,
            action,
            id_order,
            ticket_number,
            batch_id,
            update_at,
            date_add,
            date_upd,
            attempts,
        ): Columns = mysql_async::from_row_opt(row)?;
        Ok(TaskOrder {
            id_task,
            action,
            id_order,
            ticket_number,
            batch_id,
            update_at,
            date_add,
            date_upd,
            attempts,
        })
    }
}

/// A prepared status of `preparedTaskOrders`: the task as the CRON prepares it, with its operation.
pub use super::prepared::Prepared;

/// The configuration of an active shop (`None` when there is no such shop).
async fn config_of(db: &Db, conn: &mut Conn, id_shop: u32) -> Result<Option<ShopConfig>, DbError> {
    match find_shop(db, conn, id_shop).await? {
        Some(shop) => Ok(Some(
            shop_config(db, conn, shop.id_shop, shop.id_group).await?,
        )),
        None => Ok(None),
    }
}

/// `getTaskOrders`: due tasks of an action in a shop, oldest change first, at most
/// `SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS` (100 by default).
pub async fn task_orders(
    db: &Db,
    id_shop: u32,
    action: TaskAction,
) -> Result<Vec<TaskOrder>, DbError> {
    let mut conn = db.conn().await?;
    let Some(config) = config_of(db, &mut conn, id_shop).await? else {
        return Ok(Vec::new());
    };
    let limit = config.int(keys::MAX_ORDERS, 100).clamp(1, 100);
    let (a, b) = first_scope(db, &mut conn, id_shop, &config).await?.tokens();
    conn.exec(
        db.sql().queue.task_orders_due.as_str(),
        (action.as_str(), id_shop, a, b, limit),
    )
    .await
    .ctx("reading the due tasks")
}

/// `prepareTaskOrdersSyncStatus`: the operation of each task of the shop from its order's CURRENT
/// state; tasks whose state is in no list are removed (logged), as in the reference, unless they
/// changed since they were read. Nothing is done while the shop's gate is closed.
pub async fn prepare_statuses(
    db: &Db,
    id_shop: u32,
    ids: &[u32],
) -> Result<Vec<(Operation, Prepared)>, DbError> {
    let mut conn = db.conn().await?;
    let mut log = ProcessLogger::new(SYNC_ORDER_PROCESS);
    let Some(config) = config_of(db, &mut conn, id_shop).await? else {
        return Ok(Vec::new());
    };
    // Closed gate: nothing is prepared, so nothing is removed (the error is logged).
    if gate(db, &mut conn, &config, id_shop, &mut log)
        .await?
        .is_err()
    {
        log.flush(db, &mut conn).await?;
        return Ok(Vec::new());
    }
    let lists = StateLists::read(&config, |e| {
        log.error(format!("[Shop {id_shop}] {e}"), None)
    });
    // Only the shop's own tasks: an id of another shop's task is ignored, never removed.
    let mut report = ShopReport::default();
    let prepared = super::statuses::prepare_with(
        db,
        (&lists, false),
        id_shop,
        &mut conn,
        None,
        ids,
        &mut report,
        &mut log,
    )
    .await;
    log.flush(db, &mut conn).await?;
    prepared
}

/// Opens the shop and runs `step` with it; a closed gate or an unreachable API is reported as
/// `skipped` / `errors`, like `run_cron` does.
async fn with_shop<F>(
    db: &Db,
    http: &reqwest::Client,
    opts: &CronOptions,
    id_shop: u32,
    step: F,
) -> Result<ShopReport, DbError>
where
    F: for<'r> FnOnce(
        &'r super::ShopRun<'r>,
        &'r mut Conn,
        &'r mut ShopReport,
        &'r mut ProcessLogger,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), DbError>> + 'r>,
    >,
{
    let mut conn = db.conn().await?;
    let Some(shop) = find_shop(db, &mut conn, id_shop).await? else {
        return Ok(ShopReport {
            id_shop,
            skipped: Some(format!("[Shop {id_shop}] no such active shop")),
            ..ShopReport::default()
        });
    };
    let ctx = RunContext {
        db,
        http,
        opts,
        deadline: Instant::now() + opts.run_budget,
        first: true,
    };
    let mut turn = ShopTurn::new(shop);
    let result = match open_shop(&ctx, &mut conn, &mut turn).await? {
        // The reference's conveyor steps act for one account: the shop's first, as
        // `getTaskOrders` does (`first_scope`).
        OpenShop::Ready(runs, _) => match runs.first() {
            Some(run) => {
                let r = step(run, &mut conn, &mut turn.report, &mut turn.log).await;
                turn.report.requests += run.api.stats().requests as u32;
                r
            }
            None => Ok(()),
        },
        OpenShop::Skipped(why) => {
            turn.report.skipped = Some(why);
            Ok(())
        }
    };
    let _ = turn.log.flush(db, &mut conn).await;
    result.map(|()| turn.report)
}

/// `sendTaskOrdersSyncStatus`: leases the given tasks and sends them (tasks another run holds are
/// left to it).
pub async fn send_statuses(
    db: &Db,
    http: &reqwest::Client,
    opts: &CronOptions,
    id_shop: u32,
    ids: &[u32],
) -> Result<ShopReport, DbError> {
    let ids = ids.to_vec();
    with_shop(db, http, opts, id_shop, move |run, conn, report, log| {
        Box::pin(async move {
            send_kind(run, conn, TaskKind::Status, Source::Ids(&ids), report, log).await?;
            Ok(())
        })
    })
    .await
}

/// `sendTaskOrdersCheckTicketsSyncStatus`: checks the given batches (one paged GET each).
pub async fn check_tickets(
    db: &Db,
    http: &reqwest::Client,
    opts: &CronOptions,
    id_shop: u32,
    batches: Vec<String>,
) -> Result<ShopReport, DbError> {
    with_shop(db, http, opts, id_shop, move |run, conn, report, log| {
        Box::pin(async move {
            check_batches(run, conn, batches, report, log).await?;
            Ok(())
        })
    })
    .await
}

/// `sendFailedTaskOrdersMail`: the e-mail of a shop for these failures (`None`: unknown shop). It
/// carries the waiting notices of these orders, forgotten by [`mail_sent`] once it was accepted.
pub async fn failed_mail(
    db: &Db,
    id_shop: u32,
    mut failures: Vec<Failure>,
) -> Result<Option<Mail>, DbError> {
    let mut conn = db.conn().await?;
    let Some(shop) = find_shop(db, &mut conn, id_shop).await? else {
        return Ok(None);
    };
    let config = shop_config(db, &mut conn, shop.id_shop, shop.id_group).await?;
    let mut mail = failure_mail(db, &mut conn, &config, id_shop, &shop.name, &mut failures).await?;
    mail.notices = notices::pending(db, &mut conn, id_shop)
        .await?
        .into_iter()
        .filter(|n| failures.iter().any(|f| f.id_order == n.failure.id_order))
        .map(|n| n.id)
        .collect();
    Ok(Some(mail))
}

/// What became of a `sendFailedTaskOrdersMail` e-mail, recorded as `runCron` records its own:
/// returns the shop's errors (empty when the e-mail was accepted and its notices forgotten).
pub async fn mail_sent(db: &Db, mail: Mail, outcome: &MailOutcome) -> Vec<String> {
    let mut log = ProcessLogger::new(SYNC_ORDER_PROCESS);
    let mut report = ShopReport {
        id_shop: mail.id_shop,
        mail: Some(mail),
        ..ShopReport::default()
    };
    record_mail(db, &mut report, outcome, &mut log).await;
    if let Ok(mut c) = db.conn().await {
        let _ = log.flush(db, &mut c).await;
    }
    report.errors
}
