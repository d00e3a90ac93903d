//! The invoice-upload trigger: when an order of a Shopping Feed marketplace enabled in
//! `SHOPPINGFEED_ORDER_INVOICE_SYNC_MARKETPLACES` reaches a state that makes an invoice
//! (`order_state.invoice = 1`), the status hook also queues an UPLOAD_INVOICE task. The module
//! renders the PDF before the CRON (PrestaShop's `PDF` class), which uploads it
//! (`upload-documents`), checks its ticket and deletes the file once it succeeded.

use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A value of the marketplace setting that is neither a JSON list nor a JSON object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration SHOPPINGFEED_ORDER_INVOICE_SYNC_MARKETPLACES is not a JSON list of marketplace names nor a map name => enabled: {0:?}")]
pub struct MarketplacesError(pub String);

/// PHP-like truthiness of a JSON value (`true`, non-zero numbers, "1", "true", "yes", "on").
fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        ),
        _ => false,
    }
}

fn normalize(name: &str) -> String {
    name.trim().to_lowercase()
}

/// The enabled marketplace names (lower-cased, trimmed) of the setting. Accepted: a list of
/// names (`["Amazon","Cdiscount"]`), a map name ⇒ bool/0/1 (`{"Amazon":true,"Fnac":0}`), and the
/// reference module's map id ⇒ `{"name": ..., "isEnabled": ...}`. Empty or missing: none.
pub fn enabled_marketplaces(value: Option<&str>) -> Result<Vec<String>, MarketplacesError> {
    let raw = value.unwrap_or_default().trim();
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    let bad = || MarketplacesError(raw.chars().take(200).collect());
    let parsed: Value = serde_json::from_str(raw).map_err(|_| bad())?;
    let mut names: Vec<String> = match parsed {
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str())
            .map(normalize)
            .collect(),
        Value::Object(map) => map
            .iter()
            .filter_map(|(key, v)| match v {
                Value::Object(entry) => {
                    let on = entry.get("isEnabled").is_some_and(truthy);
                    let name = entry.get("name").and_then(Value::as_str).unwrap_or(key);
                    on.then(|| normalize(name))
                }
                other => truthy(other).then(|| normalize(key)),
            })
            .collect(),
        Value::Null => Vec::new(),
        _ => return Err(bad()),
    };
    names.retain(|n| !n.is_empty());
    Ok(names)
}

/// Whether `marketplace` (`shoppingfeed_order.name_marketplace`) is in the enabled names,
/// compared case-insensitively.
pub fn is_enabled(enabled: &[String], marketplace: Option<&str>) -> bool {
    let Some(m) = marketplace.map(normalize).filter(|m| !m.is_empty()) else {
        return false;
    };
    enabled.contains(&m)
}

/// Queues the order's UPLOAD_INVOICE task; false when it already has one (pending or checking).
pub async fn queue(db: &Db, conn: &mut Conn, id_order: u32) -> Result<bool, DbError> {
    conn.exec_drop(db.sql().invoice.insert_task.as_str(), (id_order,))
        .await
        .ctx(format!("queueing the invoice of order {id_order}"))?;
    Ok(conn.affected_rows() > 0)
}

/// Where the PDF of an order is expected: `{dir}/{id_order}.pdf`.
pub fn pdf_path(dir: &Path, id_order: u32) -> PathBuf {
    dir.join(format!("{id_order}.pdf"))
}

/// The default invoice directory: `{temp}/shoppingfeed_sync/invoices` (the module passes its
/// own, in PrestaShop's cache directory).
pub fn default_dir() -> PathBuf {
    std::env::temp_dir()
        .join("shoppingfeed_sync")
        .join("invoices")
}

/// One invoice the module must render before a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingInvoice {
    pub id_order: u32,
    pub id_shop: u32,
    pub path: PathBuf,
}

/// Due UPLOAD_INVOICE tasks of active shops (`id_shop` 0: all), at most `limit`, oldest first.
pub async fn pending(
    db: &Db,
    dir: &Path,
    id_shop: u32,
    limit: u32,
) -> Result<Vec<PendingInvoice>, DbError> {
    let mut conn = db.conn().await?;
    let rows: Vec<(u32, u32)> = conn
        .exec(db.sql().invoice.pending.as_str(), (id_shop, id_shop, limit))
        .await
        .ctx("listing the invoices to render")?;
    Ok(rows
        .into_iter()
        .map(|(id_order, id_shop)| PendingInvoice {
            id_order,
            id_shop,
            path: pdf_path(dir, id_order),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lists_maps_and_the_reference_form() {
        assert_eq!(enabled_marketplaces(None), Ok(vec![]));
        assert_eq!(enabled_marketplaces(Some(" ")), Ok(vec![]));
        assert_eq!(enabled_marketplaces(Some("[]")), Ok(vec![]));
        assert_eq!(
            enabled_marketplaces(Some(r#"["Amazon", " Fnac ", 3]"#)),
            Ok(vec!["amazon".to_string(), "fnac".to_string()])
        );
        let mut m =
            enabled_marketplaces(Some(r#"{"Amazon":true,"Fnac":0,"Bol":"1","X":false}"#)).unwrap();
        m.sort();
        assert_eq!(m, vec!["amazon".to_string(), "bol".to_string()]);
        assert_eq!(
            enabled_marketplaces(Some(
                r#"{"4a1c":{"name":"ManoMano","isEnabled":true},"77":{"name":"Cdiscount","isEnabled":false}}"#
            )),
            Ok(vec!["manomano".to_string()])
        );
        assert!(enabled_marketplaces(Some("Amazon")).is_err());
        assert!(enabled_marketplaces(Some("42")).is_err());
    }

    #[test]
    fn compares_names_case_insensitively() {
        let on = vec!["amazon".to_string()];
        assert!(is_enabled(&on, Some(" AMAZON")));
        assert!(!is_enabled(&on, Some("Fnac")));
        assert!(!is_enabled(&on, None));
        assert!(!is_enabled(&[], Some("Amazon")));
    }
}
