//! The invoice-upload trigger: when an order of a Shopping Feed marketplace enabled in
//! `SHOPPINGFEED_ORDER_INVOICE_SYNC_MARKETPLACES` reaches a state that makes an invoice
//! (`order_state.invoice = 1`), the status hook also queues an UPLOAD_INVOICE task. The module
//! renders the PDF before the CRON (PrestaShop's `PDF` class), which uploads it
//! (`upload-documents`), checks its ticket and deletes the file once the task leaves the queue for
//! good (ticket succeeded or canceled, retries exhausted, deadline passed, file refused).

use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use mysql_async::prelude::Queryable;
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

/// Where the PDF of an order is expected: `{dir}/{id_order}.pdf`.
pub fn pdf_path(dir: &Path, id_order: u32) -> PathBuf {
    dir.join(format!("{id_order}.pdf"))
}

/// One invoice the module must render before a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingInvoice {
    pub id_order: u32,
    pub id_shop: u32,
    pub path: PathBuf,
}

/// Due tasks read per query while listing the invoices to render.
const PENDING_PAGE: u32 = 500;

/// Due tasks looked at per listing at most, rendered or not: the listing stays bounded however
/// many rendered PDFs wait for their upload (an order without a Shopping Feed id waits up to a day).
const PENDING_SCAN_MAX: u32 = 5_000;

/// Before every `update_at` (the keyset cursor's start).
const CURSOR_START: &str = "1000-01-01 00:00:00";

/// Whether the order's PDF is already in the directory (a non-empty file, as the module checks):
/// it waits for its upload and is not rendered again.
fn already_rendered(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() > 0)
}

/// The invoices the module must render: due UPLOAD_INVOICE tasks of active shops (`id_shop` 0:
/// all) whose PDF is not in `dir` yet, at most `limit`, oldest first. Tasks whose PDF is there
/// (waiting for their upload, e.g. an order without a Shopping Feed id yet) are left out before
/// the limit, so they never hold back newer invoices; at most `PENDING_SCAN_MAX` tasks are looked
/// at, a page at a time.
pub async fn pending(
    db: &Db,
    dir: &Path,
    id_shop: u32,
    limit: u32,
) -> Result<Vec<PendingInvoice>, DbError> {
    let mut conn = db.conn().await?;
    let mut list: Vec<PendingInvoice> = Vec::new();
    let mut after: (String, u32) = (CURSOR_START.to_string(), 0);
    let mut scanned: u32 = 0;
    while (list.len() as u32) < limit && scanned < PENDING_SCAN_MAX {
        let page = PENDING_PAGE.min(PENDING_SCAN_MAX - scanned);
        let rows: Vec<(u32, String, u32, u32)> = conn
            .exec(
                db.sql().queue.invoices_to_render.as_str(),
                (
                    id_shop,
                    id_shop,
                    after.0.as_str(),
                    after.0.as_str(),
                    after.1,
                    page,
                ),
            )
            .await
            .ctx("listing the invoices to render")?;
        let last_page = (rows.len() as u32) < page;
        scanned += rows.len() as u32;
        for (id_task, update_at, id_order, id_shop) in rows {
            after = (update_at, id_task);
            let path = pdf_path(dir, id_order);
            if already_rendered(&path) {
                continue;
            }
            list.push(PendingInvoice {
                id_order,
                id_shop,
                path,
            });
            if list.len() as u32 >= limit {
                break;
            }
        }
        if last_page {
            break;
        }
    }
    Ok(list)
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
    fn a_pdf_is_already_rendered_when_a_non_empty_file_is_there() {
        let dir = std::env::temp_dir().join(format!("sfsync-rendered-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("3.pdf")).unwrap();
        std::fs::write(dir.join("1.pdf"), b"%PDF-1.4").unwrap();
        std::fs::write(dir.join("2.pdf"), b"").unwrap();
        assert!(already_rendered(&pdf_path(&dir, 1)));
        assert!(
            !already_rendered(&pdf_path(&dir, 2)),
            "empty: rendered again"
        );
        assert!(!already_rendered(&pdf_path(&dir, 3)), "not a file");
        assert!(!already_rendered(&pdf_path(&dir, 4)), "missing");
        std::fs::remove_dir_all(&dir).unwrap();
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
