//! The partial-refund trigger (`actionOrderSlipAdd`): when the merchant creates a credit slip for a
//! Shopping Feed order and `SHOPPINGFEED_ALLOW_PARTIAL_REFUND` is on, the slip gets a
//! PARTIAL_REFUND task; the CRON sends its products (and whether shipping was refunded) as a
//! `refund` operation and checks its ticket like a status's. One task per slip, whatever happens
//! to the order's status: a full refund state still sends `refund` without products.

use crate::db::logger::{ProcessLogger, DEFAULT_PROCESS};
use crate::db::sql::keys;
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use crate::model::LogLevel;
use crate::queue;
use crate::shop::{gate, shop_config};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// What a credit slip did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlipOutcome {
    /// The slip's PARTIAL_REFUND task was created (slip id).
    Queued(u32),
    /// The slip already has its task.
    AlreadyQueued(u32),
    /// `SHOPPINGFEED_ALLOW_PARTIAL_REFUND` is off for the order's shop.
    Disabled,
    /// The order has no such credit slip.
    NoSlip,
    NotShoppingFeedOrder,
    UnknownOrder,
    /// The shop's gate is closed; logged.
    Unavailable,
}

impl SlipOutcome {
    pub fn queued(&self) -> bool {
        matches!(self, SlipOutcome::Queued(_))
    }
}

/// Queues the partial refund of a credit slip of `id_order`: `id_order_slip`, or the order's
/// newest slip when `None` (PrestaShop's `actionOrderSlipAdd` passes the order, not the slip, and
/// runs right after the slip is saved). The log rows are written before returning.
pub async fn on_order_slip_add(
    db: &Db,
    id_order: u32,
    id_order_slip: Option<u32>,
) -> Result<SlipOutcome, DbError> {
    let mut log = ProcessLogger::new(DEFAULT_PROCESS);
    let mut conn = db.conn().await?;
    let outcome = queue_slip(db, &mut conn, &mut log, id_order, id_order_slip).await;
    let flushed = log.flush(db, &mut conn).await;
    let outcome = outcome?;
    flushed?;
    Ok(outcome)
}

async fn queue_slip(
    db: &Db,
    conn: &mut Conn,
    log: &mut ProcessLogger,
    id_order: u32,
    id_order_slip: Option<u32>,
) -> Result<SlipOutcome, DbError> {
    let sql = &db.sql().refund;
    let wanted = id_order_slip.unwrap_or(0);
    let row: Option<(u32, u32, bool, Option<u32>)> = conn
        .exec_first(sql.context.as_str(), (wanted, wanted, id_order))
        .await
        .ctx(format!("loading the credit slips of order {id_order}"))?;
    let Some((id_shop, id_group, is_sf, slip)) = row else {
        return Ok(SlipOutcome::UnknownOrder);
    };
    if !is_sf {
        return Ok(SlipOutcome::NotShoppingFeedOrder);
    }
    let config = shop_config(db, conn, id_shop, id_group).await?;
    if !config.flag(keys::ALLOW_PARTIAL_REFUND) {
        return Ok(SlipOutcome::Disabled);
    }
    let Some(slip) = slip else {
        return Ok(SlipOutcome::NoSlip);
    };
    if gate(db, conn, &config, id_shop, log).await?.is_err() {
        return Ok(SlipOutcome::Unavailable);
    }
    if !queue::enqueue_slip(db, conn, id_order, slip).await? {
        return Ok(SlipOutcome::AlreadyQueued(slip));
    }
    log.order(
        LogLevel::Success,
        id_order,
        &format!("Credit slip {slip} registered for synchronization; action PARTIAL_REFUND"),
    );
    Ok(SlipOutcome::Queued(slip))
}
