//! `Shoppingfeed\Sync\OrderSync`: the one-call facade the PrestaShop module's hooks and CRON use.

use crate::hook::{self, SaveOrderOutcome};
use crate::php::convert::id_arg;
use crate::php::settings;
use crate::runtime;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::flags::ClassFlags;
use ext_php_rs::prelude::*;
use ext_php_rs::types::ZendHashTable;

#[php_class]
#[php(name = "Shoppingfeed\\Sync\\OrderSync")]
#[php(flags = ClassFlags::Final)]
pub struct OrderSync;

#[php_impl]
impl OrderSync {
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
        let outcome = runtime::block_on(hook::on_order_status_update(&db, id_order, Some(state)))??;
        Ok(outcome.queued())
    }

    /// The whole CRON for every active shop: check tickets, send due statuses, e-mail failures
    /// (through the configured mailer). Returns the report (see README).
    pub fn run_cron(options: Option<&ZendHashTable>) -> PhpResult<ZBox<ZendHashTable>> {
        crate::php::cron::run(options)
    }

    /// The extension version and the git revision it was built from.
    pub fn version() -> String {
        crate::version().to_string()
    }
}
