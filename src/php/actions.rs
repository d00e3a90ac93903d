//! `ShoppingfeedOrderSyncActions`: the reference module's actions class, native, declared as the
//! reference declares it (Classlib's `DefaultActions`: `protected $conveyor = []`,
//! `protected $modelObject`, methods without parameter or return types) so that an override
//! `ShoppingfeedOrderSyncActionsOverride extends ShoppingfeedOrderSyncActions` written for the
//! reference, or a PHPUnit mock of it, loads and runs. The handler calls every method through
//! PHP, so overrides win.

use crate::api::OperationData;
use crate::engine::conveyor::{self, Prepared, TaskOrder};
use crate::engine::report::{Failure, MailOutcome, ShopReport};
use crate::hook::{self, HookOutcome, SaveOrderOutcome};
use crate::model::{Operation, TaskAction};
use crate::php::convert::truthy;
use crate::php::convert::{id_from_zval, string_from_zval};
use crate::php::cron::{failure_array, mail_array, send_mail};
use crate::php::exceptions::{throwable, Kind};
use crate::php::plain_class::{
    self, bool_zval, call_method, method, protected_property, set_property, with_property, Call,
    Method, Param,
};
use crate::php::settings;
use crate::runtime;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::builders::ClassBuilder;
use ext_php_rs::exception::{PhpException, PhpResult};
use ext_php_rs::flags::DataType;
use ext_php_rs::types::ZendObject;
use ext_php_rs::types::{ZendCallable, ZendHashTable, Zval};

/// The PHP class name.
pub const CLASS_NAME: &str = "ShoppingfeedOrderSyncActions";

/// An action's working copy of `$this->conveyor`, written back when the action changed it.
struct OrderSyncActions {
    conveyor: ZBox<ZendHashTable>,
    changed: bool,
}

impl OrderSyncActions {
    fn load(this: &ZendObject) -> Self {
        let conveyor = with_property(this, "conveyor", |v| {
            v.and_then(Zval::array).map(|a| a.to_owned())
        });
        OrderSyncActions {
            conveyor: conveyor.unwrap_or_else(ZendHashTable::new),
            changed: false,
        }
    }

    fn store(self, this: &mut ZendObject) -> PhpResult<()> {
        let mut zv = Zval::new();
        zv.set_hashtable(self.conveyor);
        set_property(this, "conveyor", zv)
    }

    fn set(&mut self, key: &str, value: ZBox<ZendHashTable>) -> PhpResult<()> {
        self.conveyor.insert(key, value)?;
        self.changed = true;
        Ok(())
    }

    fn shop(&self) -> Option<u32> {
        id_from_zval(self.get("id_shop"))
    }

    /// A list of arrays from the conveyor (`taskOrders`, `preparedTaskOrders`...), flattened one
    /// level when grouped by operation.
    fn rows(&self, key: &str) -> Vec<&ZendHashTable> {
        let Some(list) = self.get(key).and_then(Zval::array) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for v in list.values() {
            if let Some(a) = v.array() {
                if a.get("id_order").is_some() || a.get("id_shoppingfeed_task_order").is_some() {
                    out.push(a);
                } else {
                    out.extend(a.values().filter_map(Zval::array));
                }
            }
        }
        out
    }

    fn task_ids(&self, key: &str) -> Vec<u32> {
        self.rows(key)
            .iter()
            .filter_map(|r| id_from_zval(r.get("id_shoppingfeed_task_order")))
            .collect()
    }

    /// `successfulTaskOrders` / `failedTaskOrders` from a step's report.
    fn set_outcome(&mut self, report: &ShopReport) -> PhpResult<()> {
        let mut ok = ZendHashTable::new();
        for id in &report.succeeded {
            let mut row = ZendHashTable::new();
            row.insert("id_order", i64::from(*id))?;
            ok.push(row)?;
        }
        let mut failed = ZendHashTable::new();
        for f in &report.failures {
            failed.push(failure_array(f)?)?;
        }
        self.set("successfulTaskOrders", ok)?;
        self.set("failedTaskOrders", failed)
    }

    fn get(&self, key: &str) -> Option<&Zval> {
        self.conveyor.get(key)
    }

    /// Creates the `shoppingfeed_order` row of conveyor `id_order` (an `sfpayment` order).
    fn save_order(&mut self) -> PhpResult<bool> {
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
    fn save_task_order(&mut self) -> PhpResult<bool> {
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

    /// Conveyor `id_shop` + `order_action` → `taskOrders`: the due tasks (at most the shop's
    /// "Max. order update per request").
    fn get_task_orders(&mut self) -> PhpResult<bool> {
        let (Some(id_shop), Some(action)) = (
            self.shop(),
            TaskAction::parse(&string_from_zval(self.get("order_action"))),
        ) else {
            return Ok(false);
        };
        let db = runtime::db(&settings::current()?)?;
        let tasks = runtime::block_on(conveyor::task_orders(&db, id_shop, action))??;
        let mut list = ZendHashTable::new();
        for t in &tasks {
            list.push(task_order_array(t)?)?;
        }
        self.set("taskOrders", list)?;
        Ok(true)
    }

    /// `taskOrders` → `preparedTaskOrders`, grouped by operation; unmapped tasks are removed.
    fn prepare_task_orders_sync_status(&mut self) -> PhpResult<bool> {
        let Some(id_shop) = self.shop() else {
            return Ok(false);
        };
        let ids = self.task_ids("taskOrders");
        if ids.is_empty() {
            return Ok(false);
        }
        let db = runtime::db(&settings::current()?)?;
        let prepared = runtime::block_on(conveyor::prepare_statuses(&db, id_shop, &ids))??;
        let mut groups = ZendHashTable::new();
        for (operation, p) in &prepared {
            let key = operation.as_str();
            if groups.get(key).is_none() {
                groups.insert(key, ZendHashTable::new())?;
            }
            if let Some(list) = groups.get_mut(key).and_then(Zval::array_mut) {
                list.push(prepared_array(*operation, p)?)?;
            }
        }
        let any = !prepared.is_empty();
        self.set("preparedTaskOrders", groups)?;
        Ok(any)
    }

    /// Sends `preparedTaskOrders`; fills `successfulTaskOrders` and `failedTaskOrders`.
    fn send_task_orders_sync_status(&mut self) -> PhpResult<bool> {
        let Some(id_shop) = self.shop() else {
            return Ok(false);
        };
        let ids = self.task_ids("preparedTaskOrders");
        if ids.is_empty() {
            return Ok(false);
        }
        let db = runtime::db(&settings::current()?)?;
        let opts = crate::php::cron::options(None)?;
        let http = runtime::http()?;
        let report = runtime::block_on(conveyor::send_statuses(&db, &http, &opts, id_shop, &ids))??;
        self.set_outcome(&report)?;
        Ok(report.skipped.is_none() && !report.succeeded.is_empty())
    }

    /// `taskOrders` (CHECK_TICKET_SYNC_STATUS) → `preparedTaskOrders`; no API call.
    fn prepare_task_orders_check_tickets_sync_status(&mut self) -> PhpResult<bool> {
        if self.shop().is_none() {
            return Ok(false);
        }
        let mut prepared = ZendHashTable::new();
        for row in self.rows("taskOrders") {
            if row
                .get("batch_id")
                .is_some_and(|b| !string_from_zval(Some(b)).is_empty())
            {
                prepared.push(row.to_owned())?;
            }
        }
        let any = !prepared.is_empty();
        self.set("preparedTaskOrders", prepared)?;
        Ok(any)
    }

    /// Checks the batches of `preparedTaskOrders` (one paged GET per batch) and applies the
    /// reactions; fills `successfulTaskOrders` and `failedTaskOrders`.
    fn send_task_orders_check_tickets_sync_status(&mut self) -> PhpResult<bool> {
        let Some(id_shop) = self.shop() else {
            return Ok(false);
        };
        let mut batches: Vec<String> = self
            .rows("preparedTaskOrders")
            .iter()
            .map(|r| string_from_zval(r.get("batch_id")))
            .filter(|b| !b.is_empty())
            .collect();
        batches.sort();
        batches.dedup();
        if batches.is_empty() {
            return Ok(false);
        }
        let db = runtime::db(&settings::current()?)?;
        let opts = crate::php::cron::options(None)?;
        let http = runtime::http()?;
        let report =
            runtime::block_on(conveyor::check_tickets(&db, &http, &opts, id_shop, batches))??;
        self.set_outcome(&report)?;
        Ok(report.skipped.is_none())
    }

    /// One e-mail for conveyor `failedTaskOrders` of `id_shop`, through the configured mailer.
    fn send_failed_task_orders_mail(&mut self) -> PhpResult<bool> {
        let Some(id_shop) = self.shop() else {
            return Ok(false);
        };
        let failures: Vec<Failure> = self
            .rows("failedTaskOrders")
            .iter()
            .filter_map(|r| {
                Some(Failure {
                    id_order: id_from_zval(r.get("id_order"))?,
                    reference: String::new(),
                    status: String::new(),
                    operation: None,
                    reason: string_from_zval(r.get("reason")),
                    gave_up: r.get("gave_up").and_then(Zval::bool).unwrap_or(false),
                })
            })
            .collect();
        if failures.is_empty() {
            return Ok(false);
        }
        let db = runtime::db(&settings::current()?)?;
        let Some(mail) = runtime::block_on(conveyor::failed_mail(&db, id_shop, failures))?? else {
            return Ok(false);
        };
        // The mailer runs outside the runtime (it may call the extension); its outcome is logged
        // and the notices of a refused e-mail stay for the next run.
        // After exit() in the mailer the script ends when this returns; the notices stay.
        let outcome = send_mail(mail_array(&mail)?).outcome();
        runtime::block_on(conveyor::mail_sent(&db, mail, &outcome))?;
        Ok(outcome == MailOutcome::Accepted)
    }
}

/// Runs action `f` on `$this`'s conveyor; its result is the PHP return value.
fn action(call: &mut Call, f: fn(&mut OrderSyncActions) -> PhpResult<bool>) -> PhpResult<Zval> {
    let mut actions = OrderSyncActions::load(call.this);
    let result = f(&mut actions);
    if actions.changed {
        actions.store(call.this)?;
    }
    result.map(bool_zval)
}

fn set_conveyor(call: &mut Call) -> PhpResult<Zval> {
    call.array_arg(0, "conveyorData")?;
    let value = call.arg(0, 1)?.shallow_clone();
    set_property(call.this, "conveyor", value)?;
    Ok(Zval::new())
}

fn get_conveyor(call: &mut Call) -> PhpResult<Zval> {
    Ok(with_property(call.this, "conveyor", |v| {
        v.map(Zval::shallow_clone).unwrap_or_default()
    }))
}

/// Kept for compatibility with Classlib's DefaultActions; no native action uses it.
fn set_model_object(call: &mut Call) -> PhpResult<Zval> {
    let value = call.arg(0, 1)?.shallow_clone();
    set_property(call.this, "modelObject", value)?;
    Ok(Zval::new())
}

/// Classlib's `DefaultActions::forward($action)`: `(bool) $this->$action()`. Classlib echoes
/// "not defined" and exits for a non-callable name, which would end the merchant's request: this
/// throws instead.
fn forward(call: &mut Call) -> PhpResult<Zval> {
    let name = call.string_arg(0, "action")?;
    match call_method(call.this, &name, vec![]) {
        None => Err(throwable(Kind::Base, format!("{name} not defined"))),
        // The action threw: its exception propagates.
        Some(Err(())) => Ok(Zval::new()),
        Some(Ok(ret)) => Ok(bool_zval(truthy(&ret))),
    }
}

/// Classlib's `DefaultActions::l($string, $source)`: PrestaShop's translation in the reference
/// module's domain (`shoppingfeed`, where an override's strings were translated), or the string
/// itself outside PrestaShop.
fn translate(call: &mut Call) -> PhpResult<Zval> {
    let text = call.arg(0, 2)?;
    let source = call.arg(1, 2)?;
    if let Ok(t) = ZendCallable::try_from_name("Translate::getModuleTranslation") {
        return t
            .try_call(vec![&REFERENCE_MODULE, text, source])
            .map_err(|e| PhpException::from(format!("Translate::getModuleTranslation: {e}")));
    }
    Ok(text.shallow_clone())
}

/// The reference module's name, its translation domain.
const REFERENCE_MODULE: &str = "shoppingfeed";

fn methods() -> Vec<Method> {
    vec![
        // A no-op, so that subclasses may call parent::__construct() or not.
        method!("ShoppingfeedOrderSyncActions", "__construct", [], |_| Ok(
            Zval::new()
        )),
        method!(
            "ShoppingfeedOrderSyncActions",
            "setModelObject",
            [Param {
                name: "modelObject",
                ty: DataType::Mixed
            }],
            set_model_object
        ),
        method!(
            "ShoppingfeedOrderSyncActions",
            "setConveyor",
            [Param {
                name: "conveyorData",
                ty: DataType::Array
            }],
            set_conveyor
        ),
        method!(
            "ShoppingfeedOrderSyncActions",
            "getConveyor",
            [],
            get_conveyor
        ),
        method!(protected "ShoppingfeedOrderSyncActions", "forward", [Param { name: "action", ty: DataType::Mixed }], forward),
        method!(
            protected "ShoppingfeedOrderSyncActions",
            "l",
            [Param { name: "string", ty: DataType::Mixed }, Param { name: "source", ty: DataType::Mixed }],
            translate
        ),
        method!("ShoppingfeedOrderSyncActions", "saveOrder", [], |c| {
            action(c, OrderSyncActions::save_order)
        }),
        method!("ShoppingfeedOrderSyncActions", "saveTaskOrder", [], |c| {
            action(c, OrderSyncActions::save_task_order)
        }),
        method!("ShoppingfeedOrderSyncActions", "getTaskOrders", [], |c| {
            action(c, OrderSyncActions::get_task_orders)
        }),
        method!(
            "ShoppingfeedOrderSyncActions",
            "prepareTaskOrdersSyncStatus",
            [],
            |c| action(c, OrderSyncActions::prepare_task_orders_sync_status)
        ),
        method!(
            "ShoppingfeedOrderSyncActions",
            "sendTaskOrdersSyncStatus",
            [],
            |c| action(c, OrderSyncActions::send_task_orders_sync_status)
        ),
        method!(
            "ShoppingfeedOrderSyncActions",
            "prepareTaskOrdersCheckTicketsSyncStatus",
            [],
            |c| action(
                c,
                OrderSyncActions::prepare_task_orders_check_tickets_sync_status
            )
        ),
        method!(
            "ShoppingfeedOrderSyncActions",
            "sendTaskOrdersCheckTicketsSyncStatus",
            [],
            |c| action(
                c,
                OrderSyncActions::send_task_orders_check_tickets_sync_status
            )
        ),
        method!(
            "ShoppingfeedOrderSyncActions",
            "sendFailedTaskOrdersMail",
            [],
            |c| action(c, OrderSyncActions::send_failed_task_orders_mail)
        ),
    ]
}

/// Registers the class; called from the module startup function.
pub fn register() -> ext_php_rs::error::Result<()> {
    plain_class::with_members(
        ClassBuilder::new(CLASS_NAME),
        &methods(),
        vec![
            protected_property("modelObject", false),
            protected_property("conveyor", true),
        ],
    )
    .registration(plain_class::keep_tables)
    .register()
}

fn task_order_array(t: &TaskOrder) -> PhpResult<ZBox<ZendHashTable>> {
    let mut a = ZendHashTable::new();
    a.insert("id_shoppingfeed_task_order", i64::from(t.id_task))?;
    a.insert("action", t.action.as_str())?;
    a.insert("id_order", i64::from(t.id_order))?;
    a.insert("ticket_number", t.ticket_number.clone())?;
    a.insert("batch_id", t.batch_id.clone())?;
    a.insert("update_at", t.update_at.clone())?;
    a.insert("date_add", t.date_add.clone())?;
    a.insert("date_upd", t.date_upd.clone())?;
    a.insert("attempts", i64::from(t.attempts))?;
    Ok(a)
}

fn prepared_array(operation: Operation, p: &Prepared) -> PhpResult<ZBox<ZendHashTable>> {
    let mut a = ZendHashTable::new();
    a.insert("id_shoppingfeed_task_order", i64::from(p.id_task))?;
    a.insert("id_order", i64::from(p.id_order))?;
    a.insert("reference_marketplace", p.reference.clone())?;
    a.insert("marketplace", p.marketplace.clone())?;
    a.insert("id_internal_shoppingfeed", p.sf_id)?;
    a.insert("operation", operation.as_str())?;
    let mut payload = ZendHashTable::new();
    match &p.op.data {
        OperationData::Ship {
            carrier,
            tracking_number,
            tracking_link,
        } => {
            payload.insert("carrier_name", carrier.as_str())?;
            payload.insert("tracking_number", tracking_number.as_str())?;
            payload.insert("tracking_url", tracking_link.as_str())?;
        }
        OperationData::Cancel { reason } => payload.insert("reason", reason.as_str())?,
        OperationData::Refund { shipping, products } => {
            payload.insert("shipping", *shipping)?;
            let mut list = ZendHashTable::new();
            for p in products {
                let mut item = ZendHashTable::new();
                item.insert("reference", p.reference.as_str())?;
                item.insert("quantity", i64::from(p.quantity))?;
                list.push(item)?;
            }
            payload.insert("products", list)?;
        }
        OperationData::Deliver => {}
        // Conveyors carry status tasks only; an invoice's payload is its file.
        OperationData::Invoice { .. } => {}
    }
    a.insert("payload", payload)?;
    Ok(a)
}
