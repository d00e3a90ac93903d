//! Partial refunds: each due PARTIAL_REFUND task sends its credit slip's products (named as the
//! feed names them) and whether the slip refunded shipping, as a `refund` operation. The claim,
//! lease, batch-id save and ticket check are the status tasks' (see `send`, `tickets`).

use super::report::{Failure, ShopReport};
use super::send::{claim, delete_tasks, lease_owner, release, send_groups, OrderLink, Prepared};
use super::{notices, ShopRun};
use crate::api::{OperationData, RefundProduct};
use crate::db::logger::ProcessLogger;
use crate::db::sql::in_list;
use crate::error::{DbError, DbResultExt};
use crate::model::{LogLevel, Operation, TaskKind};
use mysql_async::prelude::{FromRow, Queryable};
use mysql_async::{Conn, FromRowError, Row, Value};
use std::collections::{BTreeMap, HashMap, HashSet};

/// A claimed PARTIAL_REFUND task with its order's link and its slip (`RefundSql::claimed`).
struct RefundTask {
    id_task: u32,
    id_order: u32,
    attempts: u32,
    version: u32,
    id_slip: Option<u32>,
    slip_exists: bool,
    shipping_refunded: bool,
    sf_id: Option<String>,
    reference: Option<String>,
    marketplace: Option<String>,
}

impl FromRow for RefundTask {
    fn from_row_opt(row: Row) -> Result<Self, FromRowError> {
        type Columns = (
            u32,
            u32,
            u32,
            u32,
            Option<u32>,
            bool,
            Option<u32>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let (
            id_task,
            id_order,
            attempts,
            version,
            id_slip,
            slip_exists,
            shipping,
            sf_id,
            reference,
            marketplace,
        ): Columns = mysql_async::from_row_opt(row)?;
        Ok(RefundTask {
            id_task,
            id_order,
            attempts,
            version,
            id_slip,
            slip_exists,
            shipping_refunded: shipping.unwrap_or(0) > 0,
            sf_id,
            reference,
            marketplace,
        })
    }
}

/// One refunded line of a slip (`RefundSql::products_head`): the slip, then what names the
/// product, then the quantity.
struct SlipProduct {
    id_slip: u32,
    names: ProductNames,
    quantity: u32,
}

/// What `order_detail` kept of a product when the order was placed.
struct ProductNames {
    id_product: u32,
    id_attribute: Option<u32>,
    reference: Option<String>,
    supplier_reference: Option<String>,
    ean13: Option<String>,
    upc: Option<String>,
    isbn: Option<String>,
    mpn: Option<String>,
}

impl FromRow for SlipProduct {
    fn from_row_opt(row: Row) -> Result<Self, FromRowError> {
        type Columns = (
            u32,
            u32,
            Option<u32>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            u32,
        );
        let (
            id_slip,
            id_product,
            id_attribute,
            reference,
            supplier_reference,
            ean13,
            upc,
            isbn,
            mpn,
            quantity,
        ): Columns = mysql_async::from_row_opt(row)?;
        Ok(SlipProduct {
            id_slip,
            names: ProductNames {
                id_product,
                id_attribute,
                reference,
                supplier_reference,
                ean13,
                upc,
                isbn,
                mpn,
            },
            quantity,
        })
    }
}

impl ProductNames {
    /// The product's reference in the feed, as the reference module's `getShoppingfeedReference`
    /// builds it: `{id_product}` or `{id_product}_{id_product_attribute}` by default, else the
    /// column `format` names, taken from the order line (what the product was called when the
    /// marketplace order was imported). An empty column falls back to the id form.
    fn feed_reference(&self, format: &str) -> String {
        let column = match format.trim() {
            "reference" => &self.reference,
            "supplier_reference" => &self.supplier_reference,
            "ean13" => &self.ean13,
            "upc" => &self.upc,
            "isbn" => &self.isbn,
            "mpn" => &self.mpn,
            _ => &None,
        };
        match column.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => v.to_string(),
            None => match self.id_attribute.filter(|a| *a > 0) {
                Some(a) => format!("{}_{a}", self.id_product),
                None => self.id_product.to_string(),
            },
        }
    }
}

/// Sends the shop's due partial refunds, a page of `run.chunk` at a time, within the budget.
pub(crate) async fn send_refunds(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<(), DbError> {
    let owner = lease_owner();
    // Tasks that cannot be sent now stay leased until the end (see `send_due`).
    let mut held: Vec<u32> = Vec::new();
    let sent = send_pages(run, conn, &owner, &mut held, report, log).await;
    release(run.db, conn, &owner, &held).await?;
    sent
}

async fn send_pages(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    owner: &str,
    held: &mut Vec<u32>,
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<(), DbError> {
    let sql = &run.db.sql().refund;
    let mut deferred: Vec<u32> = Vec::new();
    loop {
        // Second slips of an order wait for the next page (released now, claimed again).
        release(run.db, conn, owner, &deferred).await?;
        deferred.clear();
        if !run.budget_left() {
            report.budget_exhausted = true;
            return Ok(());
        }
        let ids = claim(run, conn, TaskKind::PartialRefund, owner, run.chunk).await?;
        if ids.is_empty() {
            return Ok(());
        }
        let tasks: Vec<RefundTask> = conn
            .exec(sql.claimed.as_str(), (owner,))
            .await
            .ctx("reading the partial refunds")?;
        let mut products = slip_products(run, conn, &tasks).await?;
        let mut ready: Vec<Prepared> = Vec::new();
        let mut removed: Vec<u32> = Vec::new();
        let mut orders: HashSet<u32> = HashSet::new();
        for task in tasks {
            // A request names each order once: its tickets are told apart by order, so a second
            // slip of the same order waits for the next request.
            if !orders.insert(task.id_order) {
                deferred.push(task.id_task);
                continue;
            }
            let lines = task
                .id_slip
                .and_then(|s| products.remove(&s))
                .unwrap_or_default();
            match prepare(run, task, lines, log) {
                Ok(p) => ready.push(p),
                Err(Unsent::NoReference(id_task, id_order)) => {
                    report
                        .errors
                        .push(format!("[Order: {id_order}] {}", super::send::NO_REFERENCE));
                    held.push(id_task);
                }
                Err(Unsent::Dropped(id, failure)) => {
                    // Saved for the e-mail before the task goes.
                    if let Some(f) = failure {
                        notices::save(run.db, conn, run.id_shop, &f).await?;
                        report.failures.push(f);
                    }
                    removed.push(id);
                }
            }
        }
        report.tasks_removed += delete_tasks(run.db, conn, &removed).await?;
        if ready.is_empty() {
            continue;
        }
        let groups = BTreeMap::from([(Operation::Refund, ready)]);
        let kind = TaskKind::PartialRefund;
        if send_groups(run, conn, owner, kind, groups, report, log).await? {
            release(run.db, conn, owner, &deferred).await?;
            return Ok(());
        }
    }
}

enum Unsent {
    /// No Shopping Feed id nor reference: the task stays queued (task id, order id).
    NoReference(u32, u32),
    /// Nothing to send: the task is removed (task id, the notice for the merchant if any).
    Dropped(u32, Option<Failure>),
}

fn prepare(
    run: &ShopRun<'_>,
    task: RefundTask,
    lines: Vec<SlipProduct>,
    log: &mut ProcessLogger,
) -> Result<Prepared, Unsent> {
    let slip = task.id_slip.unwrap_or(0);
    if !task.slip_exists {
        log.order(
            LogLevel::Info,
            task.id_order,
            &format!("Credit slip {slip} no longer exists. Deleting Task Order."),
        );
        return Err(Unsent::Dropped(task.id_task, None));
    }
    if lines.is_empty() {
        // An empty product list means a full refund to the API: never send it for a slip.
        let reason = format!(
            "credit slip {slip} refunds no product: a refund of shipping alone is not sent, refund it in the marketplace"
        );
        log.order(LogLevel::Error, task.id_order, &reason);
        let failure = Failure::new(task.id_order, Some(Operation::Refund), reason);
        return Err(Unsent::Dropped(task.id_task, Some(failure)));
    }
    let Some(link) = OrderLink::new(task.sf_id, task.reference, task.marketplace) else {
        log.order(LogLevel::Error, task.id_order, super::send::NO_REFERENCE);
        return Err(Unsent::NoReference(task.id_task, task.id_order));
    };
    let format = run.reference_format.as_str();
    let products = lines
        .iter()
        .map(|l| RefundProduct {
            reference: l.names.feed_reference(format),
            quantity: l.quantity,
        })
        .collect();
    let data = OperationData::Refund {
        shipping: task.shipping_refunded,
        products,
    };
    Ok(link.prepare(
        (task.id_task, task.id_order, task.attempts, task.version),
        data,
    ))
}

/// The refunded lines of the tasks' slips, by slip.
async fn slip_products(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    tasks: &[RefundTask],
) -> Result<HashMap<u32, Vec<SlipProduct>>, DbError> {
    let slips: Vec<u32> = tasks.iter().filter_map(|t| t.id_slip).collect();
    let mut by_slip: HashMap<u32, Vec<SlipProduct>> = HashMap::new();
    if slips.is_empty() {
        return Ok(by_slip);
    }
    let query = format!(
        "{}{} ORDER BY sd.id_order_slip, sd.id_order_detail",
        run.db.sql().refund.products_head,
        in_list(slips.len())
    );
    let params: Vec<Value> = slips.iter().map(|s| Value::from(*s)).collect();
    let lines: Vec<SlipProduct> = conn
        .exec(query, params)
        .await
        .ctx("reading the credit slips' products")?;
    for line in lines {
        by_slip.entry(line.id_slip).or_default().push(line);
    }
    Ok(by_slip)
}

#[cfg(test)]
mod tests {
    use super::ProductNames;

    fn names() -> ProductNames {
        ProductNames {
            id_product: 12,
            id_attribute: Some(4),
            reference: Some("SKU-12-RED".into()),
            supplier_reference: None,
            ean13: Some(" ".into()),
            upc: None,
            isbn: None,
            mpn: None,
        }
    }

    #[test]
    fn feed_reference_follows_the_reference_format() {
        let n = names();
        assert_eq!(n.feed_reference(""), "12_4");
        assert_eq!(n.feed_reference("reference"), "SKU-12-RED");
        // Empty column, unknown format: the id form.
        assert_eq!(n.feed_reference("ean13"), "12_4");
        assert_eq!(n.feed_reference("weight"), "12_4");
        let simple = ProductNames {
            id_attribute: Some(0),
            ..names()
        };
        assert_eq!(simple.feed_reference(""), "12");
    }
}
