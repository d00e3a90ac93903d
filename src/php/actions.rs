//! `ShoppingfeedOrderSyncActions`: the reference module's actions class, native. A PHP class may
//! extend it (`ShoppingfeedOrderSyncActionsOverride`, PHPUnit mocks): the handler calls every
//! method through PHP, so overrides win.

use crate::hook::{self, HookOutcome, SaveOrderOutcome};
use crate::php::convert::{id_from_zval, string_from_zval};
use crate::php::settings;
use crate::runtime;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};

#[php_class]
#[php(name = "ShoppingfeedOrderSyncActions")]
// No `Default`: ext-php-rs would then build every instance, subclasses included, as the base
// class. PHP subclasses get their object from the constructor (`parent::__construct()`).
pub struct OrderSyncActions {
    conveyor: Option<ZBox<ZendHashTable>>,
    model_object: Option<Zval>,
}

impl OrderSyncActions {
    fn empty() -> Self {
        OrderSyncActions {
            conveyor: None,
            model_object: None,
        }
    }

    fn get(&self, key: &str) -> Option<&Zval> {
        self.conveyor.as_ref().and_then(|c| c.get(key))
    }
}

#[php_impl]
impl OrderSyncActions {
    pub fn __construct() -> Self {
        Self::empty()
    }

    /// Replaces the conveyor (the data passed from action to action).
    pub fn set_conveyor(&mut self, conveyor: &ZendHashTable) {
        self.conveyor = Some(conveyor.to_owned());
    }

    pub fn get_conveyor(&self) -> ZBox<ZendHashTable> {
        match &self.conveyor {
            Some(c) => c.clone(),
            None => ZendHashTable::new(),
        }
    }

    /// Kept for compatibility with Classlib's DefaultActions; no native action uses it.
    pub fn set_model_object(&mut self, model_object: &Zval) {
        self.model_object = Some(model_object.shallow_clone());
    }

    /// Creates the `shoppingfeed_order` row of conveyor `id_order` (an `sfpayment` order).
    pub fn save_order(&mut self) -> PhpResult<bool> {
        let Some(id_order) = id_from_zval(self.get("id_order")) else {
            return Ok(false);
        };
        let db = runtime::db(&settings::current()?)?;
        let outcome = runtime::block_on(hook::save_order(&db, id_order))??;
        Ok(matches!(
            outcome,
            SaveOrderOutcome::Saved | SaveOrderOutcome::AlreadySaved
        ))
    }

    /// Queues conveyor `id_order` for action `order_action` (`SYNC_STATUS`), from its current state.
    pub fn save_task_order(&mut self) -> PhpResult<bool> {
        let Some(id_order) = id_from_zval(self.get("id_order")) else {
            return Ok(false);
        };
        if string_from_zval(self.get("order_action"))
            != crate::model::TaskAction::SyncStatus.as_str()
        {
            return Ok(false);
        }
        let db = runtime::db(&settings::current()?)?;
        let outcome: HookOutcome =
            runtime::block_on(hook::on_order_status_update(&db, id_order, None))??;
        Ok(outcome.queued())
    }
}
