//! `Shoppingfeed\Sync\OrderSync`: the one-call facade the PrestaShop module's hooks and CRON use.

use crate::hook::{self, SaveOrderOutcome};
use crate::php::convert::id_arg;
use crate::php::exceptions::{throwable, Kind};
use crate::php::{pending_logs, settings};
use crate::runtime;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::flags::ClassFlags;
use ext_php_rs::prelude::*;
use ext_php_rs::types::ZendHashTable;

fn flush_error(e: pending_logs::FlushError) -> ext_php_rs::exception::PhpException {
    match e {
        pending_logs::FlushError::Db(e) => e.into(),
        pending_logs::FlushError::Runtime(e) => e.into(),
    }
}

/// Invoices listed per `pendingInvoices()` call: rendering a PDF takes PrestaShop ~0.1-0.5 s,
/// and a CRON request must answer before web timeouts; the rest are listed at the next run (those
/// whose PDF is already written are not listed, so they never count against it).
const PENDING_INVOICES_LIMIT: u32 = 100;

#[php_class]
#[php(name = "Shoppingfeed\\Sync\\OrderSync")]
#[php(flags = ClassFlags::Final)]
pub struct OrderSync;

#[php_impl]
impl OrderSync {
    /// Static methods only: `new` throws our exception (not ext-php-rs's plain `\Exception`).
    pub fn __construct() -> PhpResult<Self> {
        Err(throwable(
            Kind::Base,
            "Shoppingfeed\\Sync\\OrderSync has static methods only: call OrderSync::configure(), ::runCron()...",
        ))
    }

    /// Sets options (database_url, table_prefix, api_base_url, http_timeout_ms, mailer) for this
    /// process; an unknown key or a bad value throws ConfigException and changes nothing.
    pub fn configure(options: &ZendHashTable) -> PhpResult<()> {
        settings::configure(options)?;
        Ok(())
    }

    /// The `actionValidateOrder` hook: links an `sfpayment` order to Shopping Feed.
    pub fn on_validate_order(id_order: i64) -> PhpResult<bool> {
        let id_order = id_arg("idOrder", id_order)?;
        let db = runtime::db(&settings::current()?)?;
        let outcome = runtime::block_on(hook::save_order(&db, id_order))??;
        Ok(outcome == SaveOrderOutcome::Saved)
    }

    /// The `actionOrderStatusPostUpdate` hook: true when a task was queued or re-armed.
    pub fn on_order_status_update(id_order: i64, new_state_id: i64) -> PhpResult<bool> {
        let id_order = id_arg("idOrder", id_order)?;
        let state = id_arg("newStateId", new_state_id)?;
        let db = runtime::db(&settings::current()?)?;
        let mut log = pending_logs::call_logger_with_pending(&db);
        let outcome = runtime::block_on(hook::queue_status_change(
            &db,
            id_order,
            Some(state),
            &mut log,
        ));
        // The rows are written with the request's others, or at once when the call failed; the
        // request's earlier rows are in `log` too, so they go back to the buffer whatever happened.
        pending_logs::add(&db, log).map_err(flush_error)?;
        let outcome = outcome?;
        if outcome.is_err() {
            let _ = pending_logs::flush();
        }
        Ok(outcome?.queued())
    }

    /// Writes the hook log rows still buffered for this request (they are written anyway at the
    /// end of the request); returns how many rows were written.
    pub fn flush_logs() -> PhpResult<i64> {
        Ok(pending_logs::flush().map_err(flush_error)? as i64)
    }

    /// The whole CRON for every active shop: check tickets, send due statuses, e-mail failures
    /// (through the configured mailer). Returns the report (see README).
    pub fn run_cron(options: Option<&ZendHashTable>) -> PhpResult<ZBox<ZendHashTable>> {
        crate::php::cron::run(options)
    }

    /// The invoices to render before `runCron()`: the due UPLOAD_INVOICE tasks of active shops
    /// (`idShop` 0: all) whose PDF is not written yet (a non-empty file at `path`), at most 100,
    /// oldest first, each as `['id_order' => int, 'id_shop' => int, 'path' => string]`: the module
    /// writes the order's invoice PDF at `path` (`{invoice_dir}/{id_order}.pdf`), which the CRON
    /// uploads and deletes once the upload is final (done, refused or given up).
    pub fn pending_invoices(id_shop: Option<i64>) -> PhpResult<ZBox<ZendHashTable>> {
        let id_shop = match id_shop.unwrap_or(0) {
            0 => 0,
            n => id_arg("idShop", n)?,
        };
        let settings = settings::current()?;
        let db = runtime::db(&settings)?;
        let pending = runtime::block_on(crate::invoice::pending(
            &db,
            &settings.invoice_dir,
            id_shop,
            PENDING_INVOICES_LIMIT,
        ))??;
        let mut list = ZendHashTable::new();
        for p in pending {
            let mut item = ZendHashTable::new();
            item.insert("id_order", i64::from(p.id_order))?;
            item.insert("id_shop", i64::from(p.id_shop))?;
            item.insert("path", p.path.to_string_lossy().into_owned())?;
            list.push(item)?;
        }
        Ok(list)
    }

    /// The health of the synchronization in the shops `shops` (the back office's panel and
    /// notification): the last run, the queue's figures and warnings (see README, "Control room").
    pub fn health(shops: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        crate::php::tasks::health(shops)
    }

    /// The extension version and the git revision it was built from.
    pub fn version() -> String {
        crate::version().to_string()
    }

    /// A tracking number was saved for the order (`actionAdminOrdersTrackingNumberUpdate`, an
    /// `OrderCarrier` update): true when its ship operation goes out at the next CRON run because
    /// of it (a waiting shipped task made due now, or a ship sent without it queued again).
    pub fn on_tracking_number_update(id_order: i64) -> PhpResult<bool> {
        let id_order = id_arg("idOrder", id_order)?;
        let db = runtime::db(&settings::current()?)?;
        let outcome =
            runtime::block_on(crate::tracking::on_tracking_number_update(&db, id_order))??;
        Ok(outcome.queued())
    }

    /// A credit slip was created for the order (`actionOrderSlipAdd`): true when it was queued as
    /// a partial refund (`SHOPPINGFEED_ALLOW_PARTIAL_REFUND` on, a Shopping Feed order, the gate
    /// open). `idOrderSlip` null or 0 takes the order's newest slip.
    pub fn on_order_slip_add(id_order: i64, id_order_slip: Option<i64>) -> PhpResult<bool> {
        let id_order = id_arg("idOrder", id_order)?;
        let slip = match id_order_slip.unwrap_or(0) {
            0 => None,
            n => Some(id_arg("idOrderSlip", n)?),
        };
        let db = runtime::db(&settings::current()?)?;
        let outcome = runtime::block_on(crate::refund::on_order_slip_add(&db, id_order, slip))??;
        Ok(outcome.queued())
    }
}
