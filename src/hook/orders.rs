//! PrestaShop orders and their Shopping Feed link rows (`shoppingfeed_order`).

use crate::db::sql::keys;
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use crate::hook::call::Fingerprint;
use crate::shop::config::{ConfigRow, ShopConfig};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

/// What the hook needs to know about one order, read in one query.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderContext {
    pub id_order: u32,
    pub id_shop: u32,
    pub id_shop_group: u32,
    pub current_state: u32,
    pub module: Option<String>,
    pub payment: String,
    /// The `shoppingfeed_order` row, when the order is a Shopping Feed order.
    pub link: Option<SfOrderLink>,
    /// The legacy module `shoppingfluxexport`: installed, and active for the order's shop.
    pub legacy_installed: bool,
    pub legacy_active: bool,
    /// `order_state.invoice` of the state given to [`load_context`] (false when none was given).
    pub state_makes_invoice: bool,
    /// The fingerprint of the configuration rows read with the order (see `hook_call`).
    pub config_fingerprint: Fingerprint,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SfOrderLink {
    pub id_shoppingfeed_order: u32,
    pub id_order_marketplace: Option<String>,
    pub id_internal_shoppingfeed: Option<String>,
    pub name_marketplace: Option<String>,
}

impl SfOrderLink {
    /// True when the API can identify the order (SF id, or marketplace reference). Blank means
    /// empty once spaces are trimmed, as SQL's `TRIM()` in the hook procedure sees it.
    pub fn has_identifier(&self) -> bool {
        let filled = |v: &Option<String>| {
            v.as_deref()
                .is_some_and(|s| !s.trim_matches(' ').is_empty())
        };
        filled(&self.id_order_marketplace) || filled(&self.id_internal_shoppingfeed)
    }
}

fn col<T: mysql_async::prelude::FromValue>(
    row: &mut Row,
    idx: usize,
    context: &str,
) -> Result<T, DbError> {
    row.take_opt::<T, usize>(idx)
        .ok_or_else(|| DbError::Data {
            context: context.to_string(),
            detail: format!("column {idx} missing"),
        })?
        .map_err(|e| DbError::Data {
            context: context.to_string(),
            detail: e.to_string(),
        })
}

/// Loads the order, its link row, the legacy module state and the hook's configuration for the
/// order's shop, and whether `state` makes an invoice, in one query; `None` when the order does
/// not exist.
pub async fn load_context(
    db: &Db,
    conn: &mut Conn,
    id_order: u32,
    state: Option<u32>,
) -> Result<Option<(OrderContext, ShopConfig)>, DbError> {
    let ctx = "loading the order";
    let mut params: Vec<Value> = Vec::with_capacity(keys::HOOK.len() + 2);
    params.push(state.unwrap_or(0).into());
    params.extend(keys::HOOK.iter().map(|k| Value::from(*k)));
    params.push(id_order.into());
    let rows: Vec<Row> = conn
        .exec(db.sql().order_context.as_str(), params)
        .await
        .ctx(format!("loading order {id_order}"))?;
    let mut config_rows: Vec<ConfigRow> = Vec::with_capacity(rows.len());
    let mut context = None;
    for mut row in rows {
        let name: Option<String> = col(&mut row, 11, ctx)?;
        if let Some(name) = name {
            config_rows.push((
                name,
                col(&mut row, 12, ctx)?,
                col(&mut row, 13, ctx)?,
                col(&mut row, 14, ctx)?,
            ));
        }
        if context.is_none() {
            context = Some(context_from(&mut row, ctx)?);
        }
    }
    Ok(context.map(|(mut c, shops)| {
        c.config_fingerprint = Fingerprint::of(&config_rows, shops);
        (c, ShopConfig::as_prestashop(config_rows, shops))
    }))
}

/// The order's columns, and the number of shops.
fn context_from(row: &mut Row, ctx: &str) -> Result<(OrderContext, u32), DbError> {
    let link_id: Option<u32> = col(row, 6, ctx)?;
    let link = match link_id {
        Some(id) => Some(SfOrderLink {
            id_shoppingfeed_order: id,
            id_order_marketplace: col(row, 7, ctx)?,
            id_internal_shoppingfeed: col(row, 8, ctx)?,
            name_marketplace: col(row, 15, ctx)?,
        }),
        None => None,
    };
    let legacy_active: Option<i64> = col(row, 9, ctx)?;
    let legacy_installed: i64 = col(row, 10, ctx)?;
    let invoice: Option<i64> = col(row, 16, ctx)?;
    let shops: u32 = col(row, 17, ctx)?;
    let order = OrderContext {
        id_order: col(row, 0, ctx)?,
        id_shop: col(row, 1, ctx)?,
        id_shop_group: col(row, 2, ctx)?,
        current_state: col(row, 3, ctx)?,
        module: col(row, 4, ctx)?,
        payment: col(row, 5, ctx)?,
        link,
        legacy_installed: legacy_installed > 0,
        legacy_active: legacy_active == Some(1),
        state_makes_invoice: invoice == Some(1),
        config_fingerprint: Fingerprint::of(&[], shops),
    };
    Ok((order, shops))
}

/// The marketplace order reference from the legacy module's order message
/// ("Numéro de commande <marketplace> :<reference>"): like the reference's `setReferenceFromOrder`,
/// the oldest message with a non-empty text after its first colon wins, and only that part is kept.
pub async fn reference_from_messages(
    db: &Db,
    conn: &mut Conn,
    id_order: u32,
) -> Result<Option<String>, DbError> {
    let messages: Vec<String> = conn
        .exec(db.sql().order_messages.as_str(), (id_order,))
        .await
        .ctx(format!("reading the messages of order {id_order}"))?;
    Ok(parse_reference(&messages))
}

pub fn parse_reference(messages: &[String]) -> Option<String> {
    messages.iter().find_map(|m| {
        let part = m.split(':').nth(1)?.trim();
        (!part.is_empty()).then(|| part.to_string())
    })
}

pub async fn set_marketplace_reference(
    db: &Db,
    conn: &mut Conn,
    id_order: u32,
    reference: &str,
) -> Result<(), DbError> {
    conn.exec_drop(
        db.sql().set_marketplace_reference.as_str(),
        (reference, id_order),
    )
    .await
    .ctx(format!(
        "saving the marketplace reference of order {id_order}"
    ))
}

/// Inserts the link row; returns false when it already existed.
pub async fn insert_link(
    db: &Db,
    conn: &mut Conn,
    id_order: u32,
    marketplace: &str,
    reference: Option<&str>,
) -> Result<bool, DbError> {
    conn.exec_drop(
        db.sql().insert_sf_order.as_str(),
        (reference, marketplace, id_order),
    )
    .await
    .ctx(format!("saving the Shopping Feed link of order {id_order}"))?;
    Ok(conn.affected_rows() > 0)
}

/// The order's tracking number, if one is saved (its first carrier line, as the ship payload
/// takes it).
pub(crate) async fn tracking_number(
    db: &Db,
    conn: &mut Conn,
    id_order: u32,
) -> Result<Option<String>, DbError> {
    let number: Option<Option<String>> = conn
        .exec_first(db.sql().order_tracking.as_str(), (id_order,))
        .await
        .ctx(format!("reading the tracking number of order {id_order}"))?;
    Ok(number.flatten().filter(|n| !n.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::parse_reference;

    #[test]
    fn takes_the_oldest_message_with_text_after_a_colon() {
        let m = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_reference(&m(&[
                "no colon",
                "Numéro de commande Amazon :402-1234",
                "Statut : x"
            ])),
            Some("402-1234".to_string())
        );
        assert_eq!(
            parse_reference(&m(&["a:  ", "b:c:d"])),
            Some("c".to_string())
        );
        assert_eq!(parse_reference(&m(&["nothing"])), None);
        assert_eq!(parse_reference(&[]), None);
    }
}
