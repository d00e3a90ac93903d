//! The tracking-number trigger. The shipped delay exists only so that the merchant can enter the
//! tracking number before the ship operation goes out; this is the moment it is entered (PrestaShop's
//! `actionAdminOrdersTrackingNumberUpdate`, or any `OrderCarrier` update):
//! - a shipped task still waiting for its delay becomes due at once;
//! - a ship already sent without this tracking number (none, or another one) is queued again, due
//!   at once, so the marketplace gets it; the same number is never sent twice
//!   (`shoppingfeed_sync_operation` records what each ship carried).

use crate::db::logger::{ProcessLogger, DEFAULT_PROCESS};
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use crate::model::LogLevel;
use crate::queue;
use crate::shop::{gate, shop_config, StateLists};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// What a tracking-number update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackingOutcome {
    /// The shipped task waiting for its delay is due now.
    Expedited,
    /// The ship was sent without this tracking number: queued again, due now.
    Resent,
    /// A ship with this tracking number was already sent, or is due anyway.
    Unchanged,
    NoTrackingNumber,
    /// The order's current state is in no shipped list.
    NotShipped(u32),
    NotShoppingFeedOrder,
    UnknownOrder,
    /// The shop's gate is closed; logged.
    Unavailable,
}

impl TrackingOutcome {
    /// True when the order's ship operation goes out at the next CRON run because of this update.
    pub fn queued(&self) -> bool {
        matches!(self, TrackingOutcome::Expedited | TrackingOutcome::Resent)
    }
}

/// Reacts to a tracking number saved for an order; the log rows are written before returning.
pub async fn on_tracking_number_update(db: &Db, id_order: u32) -> Result<TrackingOutcome, DbError> {
    let mut log = ProcessLogger::new(DEFAULT_PROCESS);
    let mut conn = db.conn().await?;
    let outcome = react(db, &mut conn, &mut log, id_order).await;
    let flushed = log.flush(db, &mut conn).await;
    let outcome = outcome?;
    flushed?;
    Ok(outcome)
}

type Context = (u32, u32, u32, bool, Option<String>, Option<String>);

async fn react(
    db: &Db,
    conn: &mut Conn,
    log: &mut ProcessLogger,
    id_order: u32,
) -> Result<TrackingOutcome, DbError> {
    let sql = &db.sql().tracking;
    let row: Option<Context> = conn
        .exec_first(sql.context.as_str(), (id_order,))
        .await
        .ctx(format!("loading the shipment of order {id_order}"))?;
    let Some((id_shop, id_group, state, is_sf, tracking, sent)) = row else {
        return Ok(TrackingOutcome::UnknownOrder);
    };
    if !is_sf {
        return Ok(TrackingOutcome::NotShoppingFeedOrder);
    }
    let config = shop_config(db, conn, id_shop, id_group).await?;
    let lists = StateLists::read(&config, |e| log.order(LogLevel::Error, id_order, &e));
    if !lists.shipped.contains(&state) {
        return Ok(TrackingOutcome::NotShipped(state));
    }
    let tracking = tracking.unwrap_or_default().trim().to_string();
    if tracking.is_empty() {
        return Ok(TrackingOutcome::NoTrackingNumber);
    }
    if gate(db, conn, &config, id_shop, log).await?.is_err() {
        return Ok(TrackingOutcome::Unavailable);
    }
    // A pending task reads the tracking number when it is sent: due now if it was waiting (the
    // usual case, one statement).
    if queue::expedite(db, conn, id_order).await? {
        log.order(
            LogLevel::Info,
            id_order,
            &format!(
                "Tracking number {tracking} saved: the shipped status is sent at the next run"
            ),
        );
        return Ok(TrackingOutcome::Expedited);
    }
    // Due anyway, or already sent with this number: nothing to do.
    if queue::has_pending_status(db, conn, id_order).await?
        || sent.as_deref().map(str::trim) == Some(tracking.as_str())
    {
        return Ok(TrackingOutcome::Unchanged);
    }
    queue::enqueue_status(db, conn, id_order, 0).await?;
    log.order(
        LogLevel::Success,
        id_order,
        &format!(
            "Tracking number {tracking} saved after the shipped status was sent {}: sent again at the next run",
            if sent.is_some() { "with another one" } else { "without it" }
        ),
    );
    Ok(TrackingOutcome::Resent)
}
