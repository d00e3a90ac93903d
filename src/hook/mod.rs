//! The hook half of the sync: an order status change becomes a queued task, and a new Shopping
//! Feed order gets its link row (`saveOrder`).

pub mod call;
pub mod orders;

use crate::db::logger::{order_msg, ProcessLogger, DEFAULT_PROCESS};
use crate::db::sql::keys;
use crate::db::Db;
use crate::error::DbError;
use crate::invoice;
use crate::model::LogLevel;
use crate::queue::{self, Upsert};
use crate::shop::lists::{delay_for, ship_delay};
use crate::shop::{availability, ShopConfig, StateLists, Unavailable};
use call::{CallOutcome, Expected};
use mysql_async::Conn;
use orders::SfOrderLink;

/// The payment module of orders created by the legacy module's import.
pub const SF_PAYMENT_MODULE: &str = "sfpayment";
/// The two log rows of a queued status (the reference's words).
const STARTED_MSG: &str = "Process started Order";
const QUEUED_MSG: &str = "Order registered for synchronization; action SYNC_STATUS";

/// What `onOrderStatusUpdate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookOutcome {
    Queued {
        delay_minutes: u32,
    },
    Rearmed {
        delay_minutes: u32,
    },
    UnknownOrder,
    NotShoppingFeedOrder,
    Unavailable(Unavailable),
    UnmappedState(u32),
    NoReference,
    /// The state maps to no operation, but makes an invoice: only the UPLOAD_INVOICE task was
    /// queued (an order whose status is also sent gets `Queued`/`Rearmed` and its invoice task).
    InvoiceQueued,
}

impl HookOutcome {
    pub fn queued(&self) -> bool {
        matches!(
            self,
            HookOutcome::Queued { .. } | HookOutcome::Rearmed { .. } | HookOutcome::InvoiceQueued
        )
    }
}

/// Queues (or re-arms) the order's SYNC_STATUS task. `new_state` is the hook's new state; `None`
/// reads the order's current state (the `saveTaskOrder` action of a conveyor).
pub async fn on_order_status_update(
    db: &Db,
    id_order: u32,
    new_state: Option<u32>,
) -> Result<HookOutcome, DbError> {
    let mut log = ProcessLogger::new(DEFAULT_PROCESS);
    let outcome = queue_status_change(db, id_order, new_state, &mut log).await;
    // Logs are written even when queueing failed half-way, so the back office shows why.
    let flushed = log.flush_pooled(db).await;
    let outcome = outcome?;
    flushed?;
    Ok(outcome)
}

/// The same, leaving the log rows in `log` for the caller to write (the PHP glue batches them
/// per request, as Classlib's ProcessLogger buffers them). Rows already in `log` (earlier calls)
/// are written before a call that writes its own rows at once, and are no longer in `log` after.
pub async fn queue_status_change(
    db: &Db,
    id_order: u32,
    new_state: Option<u32>,
    log: &mut ProcessLogger,
) -> Result<HookOutcome, DbError> {
    let mut conn = db.conn().await?;
    queue_order(db, &mut conn, log, id_order, new_state).await
}

/// What the hook writes for `state` when the configuration is `config` and the order is a
/// Shopping Feed order with an identifier whose shop has the legacy module active: the delay of
/// its SYNC_STATUS task, or `None` when it writes anything else (nothing, an error row, an
/// invoice task, a malformed list's error), which only the full path does.
fn planned_delay(config: &ShopConfig, state: u32) -> Option<u32> {
    availability(config, true, true).ok()?;
    let mut malformed = false;
    let lists = StateLists::read(config, |_| malformed = true);
    let no_invoices = invoice::enabled_marketplaces(config.get(keys::INVOICE_MARKETPLACES))
        .is_ok_and(|names| names.is_empty());
    if malformed || !no_invoices || !lists.contains(state) {
        return None;
    }
    // A ship held for its tracking number depends on the order: the full path reads it.
    delay_for(&lists, config, state)
}

/// The hook in one round trip when the cached configuration of the last shop seen says the
/// state is queued (`hook::call`); two when the order is of another shop whose configuration
/// is cached; `None` when the full path must run.
async fn queue_in_one_call(
    db: &Db,
    conn: &mut Conn,
    log: &mut ProcessLogger,
    id_order: u32,
    state: u32,
) -> Result<Option<HookOutcome>, DbError> {
    let Some((mut id_shop, mut cached)) = call::cache(db.hook_cache_lock()).guess() else {
        return Ok(None);
    };
    for _ in 0..2 {
        let Some(delay_minutes) = planned_delay(&cached.config, state) else {
            return Ok(None);
        };
        // Rows the caller still holds (earlier calls of the request) go first: the procedure
        // writes this call's rows at once, and the log must keep the order of the calls.
        log.flush(db, conn).await?;
        let expected = Expected {
            id_order,
            id_shop,
            fingerprint: cached.fingerprint,
            delay_minutes,
            process: log.name(),
            started_msg: order_msg(id_order, &format!("{STARTED_MSG} {id_order}")),
            queued_msg: order_msg(id_order, QUEUED_MSG),
        };
        let written = match call::call(db, conn, &expected).await? {
            CallOutcome::Written(written) => written,
            CallOutcome::NotShoppingFeedOrder => {
                return Ok(Some(HookOutcome::NotShoppingFeedOrder))
            }
            CallOutcome::OtherShop(shop) => match call::cache(db.hook_cache_lock()).shop(shop) {
                Some(other) => {
                    (id_shop, cached) = (shop, other);
                    continue;
                }
                None => return Ok(None),
            },
            // The full path logs an unknown order.
            CallOutcome::UnknownOrder | CallOutcome::FullPath => return Ok(None),
        };
        call::cache(db.hook_cache_lock()).seen(id_shop);
        return Ok(Some(match written {
            Upsert::Inserted => HookOutcome::Queued { delay_minutes },
            Upsert::Rearmed => HookOutcome::Rearmed { delay_minutes },
        }));
    }
    Ok(None)
}

async fn queue_order(
    db: &Db,
    conn: &mut Conn,
    log: &mut ProcessLogger,
    id_order: u32,
    new_state: Option<u32>,
) -> Result<HookOutcome, DbError> {
    if let Some(state) = new_state {
        if let Some(outcome) = queue_in_one_call(db, conn, log, id_order, state).await? {
            return Ok(outcome);
        }
    }
    let Some((order, config)) = orders::load_context(db, conn, id_order, new_state).await? else {
        log.order(
            LogLevel::Error,
            id_order,
            "Order not registered for synchronization; Order could not be loaded.",
        );
        return Ok(HookOutcome::UnknownOrder);
    };
    call::cache(db.hook_cache_lock()).remember(
        order.id_shop,
        order.config_fingerprint,
        config.clone(),
    );
    // Most orders of a shop are not marketplace orders: skip them silently, as the reference does.
    let Some(link) = order.link.clone() else {
        return Ok(HookOutcome::NotShoppingFeedOrder);
    };
    let lists = StateLists::read(&config, |e| {
        log.order(LogLevel::Error, id_order, &e);
    });
    let state = new_state.unwrap_or(order.current_state);
    let mapped = lists.contains(state);
    // Only the hook's new state uploads an invoice (`saveTaskOrder` queues the status alone, as
    // the reference's); the setting is read only for states that make one.
    let invoice = new_state.is_some()
        && order.state_makes_invoice
        && invoice_enabled(&config, &link, id_order, log);
    // A state no list maps is never synchronized, gate open or not: nothing to report.
    if !mapped && !invoice {
        return Ok(HookOutcome::UnmappedState(state));
    }
    // The gate closed: this status is lost for Shopping Feed, which the merchant must see.
    if let Err(why) = availability(&config, order.legacy_installed, order.legacy_active) {
        log.order(
            LogLevel::Error,
            id_order,
            &format!(
                "Order not registered for synchronization; {}",
                why.message(order.id_shop)
            ),
        );
        return Ok(HookOutcome::Unavailable(why));
    }
    if invoice {
        if queue::enqueue_invoice(db, conn, id_order).await? {
            log.order(
                LogLevel::Success,
                id_order,
                "Order registered for synchronization; action UPLOAD_INVOICE",
            );
        } else {
            log.order(
                LogLevel::Info,
                id_order,
                "Invoice already queued for synchronization; action UPLOAD_INVOICE",
            );
        }
        if !mapped {
            return Ok(HookOutcome::InvoiceQueued);
        }
    }
    if !link.has_identifier() {
        match orders::reference_from_messages(db, conn, id_order).await? {
            Some(reference) => {
                orders::set_marketplace_reference(db, conn, id_order, &reference).await?
            }
            None => {
                log.order(
                    LogLevel::Error,
                    id_order,
                    "Could not retrieve SF Order reference.",
                );
                return Ok(HookOutcome::NoReference);
            }
        }
    }
    let delay_minutes = match delay_for(&lists, &config, state) {
        Some(delay) => delay,
        None => {
            let tracking = orders::tracking_number(db, conn, id_order).await?;
            ship_delay(&config, tracking.is_some())
        }
    };
    log.order(
        LogLevel::Info,
        id_order,
        &format!("{STARTED_MSG} {id_order}"),
    );
    let upsert = queue::enqueue_status(db, conn, id_order, delay_minutes).await?;
    log.order(LogLevel::Success, id_order, QUEUED_MSG);
    Ok(match upsert {
        Upsert::Inserted => HookOutcome::Queued { delay_minutes },
        Upsert::Rearmed => HookOutcome::Rearmed { delay_minutes },
    })
}

/// Whether the order's marketplace has the invoice upload on; a malformed setting is logged and
/// read as "none".
fn invoice_enabled(
    config: &ShopConfig,
    link: &SfOrderLink,
    id_order: u32,
    log: &mut ProcessLogger,
) -> bool {
    match invoice::enabled_marketplaces(config.get(keys::INVOICE_MARKETPLACES)) {
        Ok(names) => invoice::is_enabled(&names, link.name_marketplace.as_deref()),
        Err(e) => {
            log.order(LogLevel::Error, id_order, &e.to_string());
            false
        }
    }
}

/// What `saveOrder` / `onValidateOrder` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveOrderOutcome {
    Saved,
    AlreadySaved,
    NotShoppingFeedOrder,
    UnknownOrder,
}

/// Creates the `shoppingfeed_order` row of an order imported by the legacy module (`sfpayment`).
/// The row is saved even while synchronization is unavailable (it records where the order comes
/// from, it synchronizes nothing), so that the order's status changes are synchronized once the
/// gate opens; an ERROR row tells the merchant that, until then, they are not.
pub async fn save_order(db: &Db, id_order: u32) -> Result<SaveOrderOutcome, DbError> {
    let mut log = ProcessLogger::new(DEFAULT_PROCESS);
    let mut conn = db.conn().await?;
    let outcome = save_order_inner(db, &mut conn, &mut log, id_order).await;
    let flushed = log.flush(db, &mut conn).await;
    let outcome = outcome?;
    flushed?;
    Ok(outcome)
}

async fn save_order_inner(
    db: &Db,
    conn: &mut Conn,
    log: &mut ProcessLogger,
    id_order: u32,
) -> Result<SaveOrderOutcome, DbError> {
    let Some((order, config)) = orders::load_context(db, conn, id_order, None).await? else {
        log.order(
            LogLevel::Error,
            id_order,
            "SF Order not imported; Order could not be loaded.",
        );
        return Ok(SaveOrderOutcome::UnknownOrder);
    };
    if order.module.as_deref() != Some(SF_PAYMENT_MODULE) {
        return Ok(SaveOrderOutcome::NotShoppingFeedOrder);
    }
    if order.link.is_some() {
        return Ok(SaveOrderOutcome::AlreadySaved);
    }
    log.order(
        LogLevel::Info,
        id_order,
        &format!("Start import Order {id_order}"),
    );
    // The legacy module writes its reference message after validateOrder: it may not exist yet,
    // in which case the hook path fills it in later.
    let reference = orders::reference_from_messages(db, conn, id_order).await?;
    if orders::insert_link(db, conn, id_order, &order.payment, reference.as_deref()).await? {
        match availability(&config, order.legacy_installed, order.legacy_active) {
            Ok(()) => log.order(LogLevel::Success, id_order, "SF Order successfully saved"),
            Err(why) => log.order(
                LogLevel::Error,
                id_order,
                &format!(
                    "SF Order successfully saved, but its status changes are not synchronized; {}",
                    why.message(order.id_shop)
                ),
            ),
        }
        Ok(SaveOrderOutcome::Saved)
    } else {
        Ok(SaveOrderOutcome::AlreadySaved)
    }
}
