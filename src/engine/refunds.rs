//! Partial refunds, the prepare step of the page loop (`send`): each PARTIAL_REFUND task sends
//! its credit slip's products (named as the feed names them) and whether the slip refunded
//! shipping, as a `refund` operation; its ticket is checked like a status's (`tickets`).

use super::prepared::{OrderLink, PageCtx, Prepared, NO_REFERENCE};
use super::report::{Failure, ShopReport};
use super::shop_run::ShopRun;
use crate::api::{OperationData, RefundProduct};
use crate::db::logger::ProcessLogger;
use crate::db::sql::in_list;
use crate::error::{DbError, DbResultExt};
use crate::model::{LogLevel, Operation};
use crate::queue::{self, Seen};
use mysql_async::prelude::{FromRow, Queryable};
use mysql_async::{Conn, FromRowError, Row, Value};
use std::collections::HashMap;

/// A claimed PARTIAL_REFUND task with its order's link and its slip (`QueueSql::refund_rows_head`).
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
#[derive(Clone)]
struct SlipProduct {
    id_slip: u32,
    names: ProductNames,
    quantity: u32,
}

/// What `order_detail` kept of a product when the order was placed.
#[derive(Clone)]
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

/// Prepares claimed partial refunds: each slip's products as the feed names them. A task the
/// reference module queued carries no slip id: it refunds the order's slips that have no task of
/// their own, as the reference sent them. Tasks whose slip is gone or refunds no product are
/// dropped (fenced by the version read; the merchant is told when something was not sent).
pub(crate) async fn prepare(
    ctx: &PageCtx<'_, '_>,
    conn: &mut Conn,
    ids: &[u32],
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<Vec<(Operation, Prepared)>, DbError> {
    let run = ctx.run;
    let sql = run.db.sql();
    let tasks: Vec<RefundTask> = queue::rows_by_ids(
        conn,
        &sql.queue.refund_rows_head,
        Vec::new(),
        ids,
        "reading the partial refunds",
    )
    .await?;
    let legacy: Vec<u32> = tasks
        .iter()
        .filter(|t| t.id_slip.is_none())
        .map(|t| t.id_order)
        .collect();
    let untracked: Vec<(u32, u32, Option<u32>)> = queue::rows_by_ids(
        conn,
        &sql.queue.untracked_slips_head,
        Vec::new(),
        &legacy,
        "reading the credit slips of partial refunds without a slip",
    )
    .await?;
    let mut slips: Vec<u32> = tasks.iter().filter_map(|t| t.id_slip).collect();
    slips.extend(untracked.iter().map(|(_, slip, _)| *slip));
    let products = slip_products(run, conn, &slips).await?;
    let mut ready = Vec::new();
    for task in tasks {
        let (lines, shipping, exists) = match task.id_slip {
            Some(slip) => (
                products.get(&slip).cloned().unwrap_or_default(),
                task.shipping_refunded,
                task.slip_exists,
            ),
            None => {
                let of_order: Vec<&(u32, u32, Option<u32>)> = untracked
                    .iter()
                    .filter(|(order, _, _)| *order == task.id_order)
                    .collect();
                let lines = of_order
                    .iter()
                    .flat_map(|(_, slip, _)| products.get(slip).cloned().unwrap_or_default())
                    .collect();
                let shipping = of_order.iter().any(|(_, _, s)| s.unwrap_or(0) > 0);
                (lines, shipping, !of_order.is_empty())
            }
        };
        let seen = Seen {
            id_task: task.id_task,
            version: task.version,
        };
        match prepare_one(run, task, lines, shipping, exists, log) {
            Ok(p) => ready.push((Operation::Refund, p)),
            Err(Unsent::NoReference(id_order)) => {
                report
                    .errors
                    .push(format!("[Order: {id_order}] {NO_REFERENCE}"));
            }
            Err(Unsent::Dropped(failure)) => {
                let notice = failure.as_ref().map(|f| (run.id_shop, f));
                if run.dry_run {
                    super::prepared::log_dry_drop(log, failure.as_ref());
                } else if queue::drop_pending(run.db, conn, seen, Some(ctx.owner), notice).await? {
                    report.tasks_removed += 1;
                    report.failures.extend(failure);
                }
            }
        }
    }
    Ok(ready)
}

enum Unsent {
    /// No Shopping Feed id nor reference: the task stays queued (order id).
    NoReference(u32),
    /// Nothing to send: the task is removed (the notice for the merchant if any).
    Dropped(Option<Failure>),
}

/// `lines`, `shipping`, `exists`: the slip's (or, for a task without a slip id, the order's
/// untracked slips').
fn prepare_one(
    run: &ShopRun<'_>,
    task: RefundTask,
    lines: Vec<SlipProduct>,
    shipping: bool,
    exists: bool,
    log: &mut ProcessLogger,
) -> Result<Prepared, Unsent> {
    let slip = match task.id_slip {
        Some(s) => format!("Credit slip {s}"),
        None => "The partial refund queued by the previous module".to_string(),
    };
    if !exists {
        return Err(match task.id_slip {
            Some(_) => {
                log.order(
                    LogLevel::Info,
                    task.id_order,
                    &format!("{slip} no longer exists. Deleting Task Order."),
                );
                Unsent::Dropped(None)
            }
            None => {
                let reason = format!(
                    "{slip} names no credit slip and the order has none left to refund: it is not sent, refund it in the marketplace if needed"
                );
                log.order(LogLevel::Error, task.id_order, &reason);
                Unsent::Dropped(Some(Failure::new(
                    task.id_order,
                    Some(Operation::Refund),
                    reason,
                )))
            }
        });
    }
    if lines.is_empty() {
        // An empty product list means a full refund to the API: never send it for a slip.
        let reason = format!(
            "{slip} refunds no product: a refund of shipping alone is not sent, refund it in the marketplace"
        );
        log.order(LogLevel::Error, task.id_order, &reason);
        let failure = Failure::new(task.id_order, Some(Operation::Refund), reason);
        return Err(Unsent::Dropped(Some(failure)));
    }
    let Some(link) = OrderLink::new(task.sf_id, task.reference, task.marketplace) else {
        log.order(LogLevel::Error, task.id_order, NO_REFERENCE);
        return Err(Unsent::NoReference(task.id_order));
    };
    let format = run.reference_format.as_str();
    let products = lines
        .iter()
        .map(|l| RefundProduct {
            reference: l.names.feed_reference(format),
            quantity: l.quantity,
        })
        .collect();
    let data = OperationData::Refund { shipping, products };
    Ok(link.prepare(
        (task.id_task, task.id_order, task.attempts, task.version),
        data,
    ))
}

/// The refunded lines of given slips, by slip.
async fn slip_products(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    slips: &[u32],
) -> Result<HashMap<u32, Vec<SlipProduct>>, DbError> {
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
