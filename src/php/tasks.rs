//! `Shoppingfeed\Sync\Tasks`: the back office's task grid, order panel and actions (the
//! control room, `crate::control`). Converts PHP arrays, maps errors to exceptions.

use crate::control::{self, ActionReport, MerchantAction};
use crate::model::TaskKind;
use crate::php::convert::id_from_zval;
use crate::php::exceptions::{throwable, Kind};
use crate::php::settings;
use crate::queue::view::{SortBy, TaskQuery, TaskRow, TaskState, MAX_PER_PAGE};
use crate::runtime;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::exception::PhpException;
use ext_php_rs::flags::ClassFlags;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};

fn invalid(msg: String) -> PhpException {
    throwable(Kind::InvalidArgument, msg)
}

/// A list of ids (ints or numeric strings), at most `control::MAX_IDS`.
fn ids(name: &str, list: &ZendHashTable) -> Result<Vec<u32>, PhpException> {
    if list.len() > control::MAX_IDS {
        return Err(invalid(format!(
            "{name}: at most {} ids at once, {} given",
            control::MAX_IDS,
            list.len()
        )));
    }
    list.values()
        .map(|v| {
            id_from_zval(Some(v)).ok_or_else(|| {
                invalid(format!(
                    "{name} must list ids between 1 and 4294967295, {} given",
                    describe(v)
                ))
            })
        })
        .collect()
}

fn describe(v: &Zval) -> String {
    if let Some(s) = v.string() {
        format!("\"{}\"", s.chars().take(40).collect::<String>())
    } else if let Some(n) = v.long() {
        n.to_string()
    } else {
        format!("a value of type {:?}", v.get_type())
    }
}

fn optional_string(query: &ZendHashTable, key: &str) -> Result<Option<String>, PhpException> {
    match query.get(key) {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(v) => v
            .string()
            .map(|s| Some(s.to_string()))
            .ok_or_else(|| invalid(format!("{key} must be a string or null"))),
    }
}

fn optional_int(query: &ZendHashTable, key: &str) -> Result<Option<i64>, PhpException> {
    match query.get(key) {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(v) => v
            .long()
            .or_else(|| v.string().and_then(|s| s.trim().parse().ok()))
            .map(Some)
            .ok_or_else(|| invalid(format!("{key} must be an integer or null"))),
    }
}

fn task_query(query: &ZendHashTable) -> Result<TaskQuery, PhpException> {
    let shops = match query.get("shops").and_then(Zval::array) {
        Some(list) => ids("shops", list)?,
        None => return Err(invalid("query['shops'] (the shop ids) is required".into())),
    };
    let id_order = match optional_int(query, "id_order")? {
        None | Some(0) => None,
        Some(n) => Some(u32::try_from(n).map_err(|_| {
            invalid(format!(
                "id_order must be between 1 and 4294967295, {n} given"
            ))
        })?),
    };
    let kind = match optional_string(query, "kind")?.as_deref() {
        None | Some("") => None,
        Some("status") => Some(TaskKind::Status),
        Some("partial_refund") => Some(TaskKind::PartialRefund),
        Some("invoice") => Some(TaskKind::Invoice),
        Some(other) => {
            return Err(invalid(format!(
                "kind must be status, partial_refund or invoice, \"{other}\" given"
            )))
        }
    };
    let state = match optional_string(query, "state")?.as_deref() {
        None | Some("") => None,
        Some(s) => Some(TaskState::parse(s).ok_or_else(|| {
            invalid(format!(
                "state must be one of waiting, due, sending, checking, retrying, gave_up; \"{s}\" given"
            ))
        })?),
    };
    let sort = match optional_string(query, "order_by")?.as_deref() {
        None | Some("") => SortBy::IdTask,
        Some(s) => {
            SortBy::parse(s).ok_or_else(|| invalid(format!("order_by: unknown column \"{s}\"")))?
        }
    };
    let descending = match optional_string(query, "way")?.as_deref() {
        None | Some("") => true,
        Some(w) if w.eq_ignore_ascii_case("desc") => true,
        Some(w) if w.eq_ignore_ascii_case("asc") => false,
        Some(w) => return Err(invalid(format!("way must be asc or desc, \"{w}\" given"))),
    };
    let page = optional_int(query, "page")?.unwrap_or(1);
    let per_page = optional_int(query, "per_page")?.unwrap_or(50);
    if page < 1 || page > i64::from(u32::MAX) {
        return Err(invalid(format!("page must be 1 or more, {page} given")));
    }
    if per_page < 1 || per_page > i64::from(MAX_PER_PAGE) {
        return Err(invalid(format!(
            "per_page must be between 1 and {MAX_PER_PAGE}, {per_page} given"
        )));
    }
    Ok(TaskQuery {
        shops,
        id_order,
        marketplace: optional_string(query, "marketplace")?,
        kind,
        state,
        sort,
        descending,
        page: page as u32,
        per_page: per_page as u32,
    })
}

fn kind_name(row: &TaskRow) -> &'static str {
    match row.action.map(crate::queue::view::kind_of) {
        Some(TaskKind::PartialRefund) => "partial_refund",
        Some(TaskKind::Invoice) => "invoice",
        _ => "status",
    }
}

fn row_array(row: &TaskRow, operation: Option<&str>) -> Result<ZBox<ZendHashTable>, PhpException> {
    let mut a = ZendHashTable::new();
    a.insert("id_task", i64::from(row.id_task))?;
    a.insert("id_order", i64::from(row.id_order))?;
    a.insert("id_shop", i64::from(row.id_shop))?;
    a.insert("reference", row.reference.clone())?;
    a.insert("marketplace", row.marketplace.clone().unwrap_or_default())?;
    a.insert("kind", kind_name(row))?;
    a.insert("operation", operation.map(str::to_string))?;
    a.insert("state", row.state.map(|s| s.as_str()).unwrap_or("waiting"))?;
    a.insert("due_at", row.due_at.clone())?;
    a.insert("attempts", i64::from(row.attempts))?;
    a.insert("ticket_number", row.ticket_number.clone())?;
    a.insert("batch_id", row.batch_id.clone())?;
    a.insert("last_error", row.last_error.clone())?;
    a.insert("id_order_slip", row.id_order_slip.map(i64::from))?;
    a.insert("sent_at", row.sent_at.clone())?;
    a.insert("gave_up_at", row.gave_up_at.clone())?;
    a.insert("date_add", row.date_add.clone())?;
    a.insert("date_upd", row.date_upd.clone())?;
    Ok(a)
}

fn rows_array(db: &crate::db::Db, rows: &[TaskRow]) -> Result<ZBox<ZendHashTable>, PhpException> {
    let ops = runtime::block_on(control::operations_of(db, rows))??;
    let mut list = ZendHashTable::new();
    for (row, op) in rows.iter().zip(ops) {
        list.push(row_array(row, op)?)?;
    }
    Ok(list)
}

fn report_array(report: ActionReport) -> Result<ZBox<ZendHashTable>, PhpException> {
    let mut changed = ZendHashTable::new();
    for id in report.changed {
        changed.push(i64::from(id))?;
    }
    let mut skipped = ZendHashTable::new();
    for (id, why) in report.skipped {
        skipped.insert_at_index(i64::from(id), why)?;
    }
    let mut out = ZendHashTable::new();
    out.insert("changed", changed)?;
    out.insert("skipped", skipped)?;
    Ok(out)
}

fn act(
    action: MerchantAction,
    task_ids: &ZendHashTable,
    shops: &ZendHashTable,
    actor: &str,
) -> PhpResult<ZBox<ZendHashTable>> {
    let task_ids = ids("taskIds", task_ids)?;
    let shops = ids("shops", shops)?;
    let db = runtime::db(&settings::current()?)?;
    let report = runtime::block_on(control::act(&db, action, &task_ids, &shops, actor))??;
    report_array(report)
}

#[php_class]
#[php(name = "Shoppingfeed\\Sync\\Tasks")]
#[php(flags = ClassFlags::Final)]
pub struct Tasks;

#[php_impl]
impl Tasks {
    /// Static methods only.
    pub fn __construct() -> PhpResult<Self> {
        Err(throwable(
            Kind::Base,
            "Shoppingfeed\\Sync\\Tasks has static methods only: call Tasks::list(), ::sendNow()...",
        ))
    }

    /// A page of the task grid: `['rows' => [...], 'total' => int]` (see README, "Control room").
    pub fn list(query: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
        let q = task_query(query)?;
        let db = runtime::db(&settings::current()?)?;
        let (rows, total) = runtime::block_on(async {
            let mut conn = db.conn().await?;
            crate::queue::view::list(&db, &mut conn, &q).await
        })??;
        let mut out = ZendHashTable::new();
        out.insert("rows", rows_array(&db, &rows)?)?;
        out.insert("total", total as i64)?;
        Ok(out)
    }

    /// The order page's panel: `['tasks' => rows, 'accepted' => operations, 'logs' => rows]`.
    pub fn order(id_order: i64) -> PhpResult<ZBox<ZendHashTable>> {
        let id_order = crate::php::convert::id_arg("idOrder", id_order)?;
        let db = runtime::db(&settings::current()?)?;
        let view = runtime::block_on(control::order_view(&db, id_order))??;
        let mut out = ZendHashTable::new();
        out.insert("tasks", rows_array(&db, &view.tasks)?)?;
        let mut accepted = ZendHashTable::new();
        for op in view.operations {
            let mut a = ZendHashTable::new();
            a.insert("operation", op.operation)?;
            a.insert("carrier", op.carrier)?;
            a.insert("tracking_number", op.tracking_number)?;
            a.insert("ticket_number", op.ticket_number)?;
            a.insert("batch_id", op.batch_id)?;
            a.insert("result", op.result)?;
            a.insert("date_upd", op.date_upd)?;
            accepted.push(a)?;
        }
        out.insert("accepted", accepted)?;
        let mut logs = ZendHashTable::new();
        for (level, msg, date_add) in view.logs {
            let mut a = ZendHashTable::new();
            a.insert("level", level)?;
            a.insert("msg", msg)?;
            a.insert("date_add", date_add)?;
            logs.push(a)?;
        }
        out.insert("logs", logs)?;
        Ok(out)
    }

    /// "Send now": `['changed' => [task ids], 'skipped' => [task id => reason]]`.
    pub fn send_now(
        task_ids: &ZendHashTable,
        shops: &ZendHashTable,
        actor: String,
    ) -> PhpResult<ZBox<ZendHashTable>> {
        act(MerchantAction::SendNow, task_ids, shops, &actor)
    }

    /// "Retry" tasks that gave up.
    pub fn retry(
        task_ids: &ZendHashTable,
        shops: &ZendHashTable,
        actor: String,
    ) -> PhpResult<ZBox<ZendHashTable>> {
        act(MerchantAction::Retry, task_ids, shops, &actor)
    }

    /// "Cancel": removes pending (or given-up) tasks no run is sending.
    pub fn cancel(
        task_ids: &ZendHashTable,
        shops: &ZendHashTable,
        actor: String,
    ) -> PhpResult<ZBox<ZendHashTable>> {
        act(MerchantAction::Cancel, task_ids, shops, &actor)
    }

    /// "Send the current status again" for orders: `changed` and `skipped` are order ids.
    pub fn resend_status(
        order_ids: &ZendHashTable,
        shops: &ZendHashTable,
        actor: String,
    ) -> PhpResult<ZBox<ZendHashTable>> {
        let orders = ids("orderIds", order_ids)?;
        let shops = ids("shops", shops)?;
        let db = runtime::db(&settings::current()?)?;
        let report = runtime::block_on(control::resend_status(&db, &orders, &shops, &actor))??;
        report_array(report)
    }
}

/// `OrderSync::health()`'s array.
pub(crate) fn health(shops: &ZendHashTable) -> PhpResult<ZBox<ZendHashTable>> {
    let shops = ids("shops", shops)?;
    let db = runtime::db(&settings::current()?)?;
    let h = runtime::block_on(control::health(&db, &shops))??;
    let mut out = ZendHashTable::new();
    out.insert("last_run", h.last_run)?;
    out.insert("last_run_age_seconds", h.last_run_age_seconds)?;
    out.insert("running", h.running)?;
    out.insert("due", h.queue.due as i64)?;
    out.insert("checking", h.queue.checking as i64)?;
    out.insert("gave_up", h.queue.gave_up as i64)?;
    out.insert("oldest_due_seconds", h.queue.oldest_due_seconds)?;
    out.insert("oldest_unchecked_seconds", h.queue.oldest_unchecked_seconds)?;
    out.insert("cron_interval_minutes", i64::from(h.cron_interval_minutes))?;
    out.insert("due_alert_minutes", i64::from(h.due_alert_minutes))?;
    let mut warnings = ZendHashTable::new();
    for (w, message) in h.warnings {
        let mut a = ZendHashTable::new();
        a.insert("code", w.code())?;
        a.insert("message", message)?;
        warnings.push(a)?;
    }
    out.insert("warnings", warnings)?;
    Ok(out)
}
