//! PrestaShop configuration values for one shop, with PrestaShop's shop → group → global fallback
//! (`Configuration::get`).

use crate::db::sql::keys::MULTISHOP;
use crate::error::{DbError, DbResultExt};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};
use std::collections::HashMap;

/// One `configuration` row: name, value, id_shop, id_shop_group.
pub type ConfigRow = (String, Option<String>, Option<u32>, Option<u32>);

/// The values of some keys as PrestaShop's `Configuration::get($key, null, $idShopGroup, $idShop)` reads them.
#[derive(Debug, Clone, Default)]
pub struct ShopConfig {
    values: HashMap<String, String>,
}

/// A state list that is not a JSON array of ids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration {key} is not a JSON array of order state ids: {value:?}")]
pub struct StateListError {
    pub key: String,
    pub value: String,
}

impl ShopConfig {
    /// Reads `keys` for a shop (its shop, group and global rows, then the number of shops).
    pub async fn load(
        conn: &mut Conn,
        (query, shop_count): (&str, &str),
        keys: &[&str],
        id_shop: u32,
        id_shop_group: u32,
    ) -> Result<Self, DbError> {
        let mut params: Vec<Value> = keys.iter().map(|k| Value::from(*k)).collect();
        params.push(id_shop.into());
        params.push(id_shop_group.into());
        let what = || format!("reading the configuration of shop {id_shop}");
        let rows: Vec<ConfigRow> = conn.exec(query, params).await.ctx(what())?;
        let shops: Option<u32> = conn.query_first(shop_count).await.ctx(what())?;
        Ok(Self::as_prestashop(rows, shops.unwrap_or(1)))
    }

    /// As `Configuration::get` reads a shop's rows: shop → group → global while multistore is
    /// on (`PS_MULTISHOP_FEATURE_ACTIVE` and more than one shop), global values only otherwise
    /// (a shop row left from a time multistore was on is ignored, as PrestaShop ignores it).
    pub fn as_prestashop(rows: Vec<ConfigRow>, shops: u32) -> Self {
        let multistore = shops > 1
            && rows.iter().any(|(name, value, id_shop, id_group)| {
                name == MULTISHOP
                    && id_shop.is_none()
                    && id_group.is_none()
                    && value.as_deref().is_some_and(|v| !v.is_empty() && v != "0")
            });
        if multistore {
            Self::from_rows(rows)
        } else {
            Self::from_rows(
                rows.into_iter()
                    .filter(|(_, _, id_shop, id_group)| id_shop.is_none() && id_group.is_none())
                    .collect(),
            )
        }
    }

    /// Keeps, per key, the most specific row: shop, then group, then global.
    pub fn from_rows(rows: Vec<ConfigRow>) -> Self {
        let mut best: HashMap<String, (u8, String)> = HashMap::new();
        for (name, value, id_shop, id_group) in rows {
            let rank = match (id_shop, id_group) {
                (Some(_), _) => 3,
                (None, Some(_)) => 2,
                (None, None) => 1,
            };
            let value = value.unwrap_or_default();
            match best.get(&name) {
                Some((r, _)) if *r >= rank => {}
                _ => {
                    best.insert(name, (rank, value));
                }
            }
        }
        ShopConfig {
            values: best.into_iter().map(|(k, (_, v))| (k, v)).collect(),
        }
    }

    /// Global values only (unit tests).
    #[cfg(test)]
    pub(crate) fn global(rows: &[(&str, &str)]) -> Self {
        let rows = rows
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string()), None, None));
        Self::from_rows(rows.collect())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// PrestaShop truthiness of a stored value ('' and '0' are false).
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some(v) if !v.is_empty() && v != "0")
    }

    /// A non-empty value, as PHP's `!= ''` test.
    pub fn is_set(&self, key: &str) -> bool {
        matches!(self.get(key), Some(v) if !v.is_empty())
    }

    /// A JSON array of state ids, given as ints or numeric strings. Missing or empty → empty list.
    pub fn state_list(&self, key: &str) -> Result<Vec<u32>, StateListError> {
        let raw = match self.get(key) {
            None => return Ok(Vec::new()),
            Some(v) if v.trim().is_empty() => return Ok(Vec::new()),
            Some(v) => v,
        };
        let err = || StateListError {
            key: key.to_string(),
            value: raw.chars().take(200).collect(),
        };
        let parsed: serde_json::Value = serde_json::from_str(raw).map_err(|_| err())?;
        let items = match parsed {
            serde_json::Value::Array(items) => items,
            // PHP's json_encode of an array with holes gives an object: accept its values.
            serde_json::Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
            _ => return Err(err()),
        };
        items
            .iter()
            .map(|v| match v {
                serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
                serde_json::Value::String(s) => s.trim().parse::<u32>().ok(),
                _ => None,
            })
            .collect::<Option<Vec<u32>>>()
            .ok_or_else(err)
    }

    /// An integer value, or `default` when missing or not a number.
    pub fn int(&self, key: &str, default: i64) -> i64 {
        self.get(key)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(rows: &[(&str, &str, Option<u32>, Option<u32>)]) -> ShopConfig {
        ShopConfig::from_rows(
            rows.iter()
                .map(|(k, v, s, g)| (k.to_string(), Some(v.to_string()), *s, *g))
                .collect(),
        )
    }

    #[test]
    fn shop_beats_group_beats_global_in_any_row_order() {
        let c = cfg(&[
            ("K", "shop", Some(1), None),
            ("K", "global", None, None),
            ("K", "group", None, Some(1)),
            ("G", "global", None, None),
            ("G", "group", None, Some(1)),
        ]);
        assert_eq!(c.get("K"), Some("shop"));
        assert_eq!(c.get("G"), Some("group"));
        assert_eq!(c.get("missing"), None);
    }

    #[test]
    fn shop_and_group_rows_count_only_with_multistore_on_and_several_shops() {
        let rows = |multistore: &str| {
            vec![
                ("K".to_string(), Some("shop".to_string()), Some(1), None),
                ("K".to_string(), Some("global".to_string()), None, None),
                (
                    MULTISHOP.to_string(),
                    Some(multistore.to_string()),
                    None,
                    None,
                ),
            ]
        };
        assert_eq!(
            ShopConfig::as_prestashop(rows("1"), 2).get("K"),
            Some("shop")
        );
        assert_eq!(
            ShopConfig::as_prestashop(rows("0"), 2).get("K"),
            Some("global")
        );
        assert_eq!(
            ShopConfig::as_prestashop(rows("1"), 1).get("K"),
            Some("global")
        );
    }

    #[test]
    fn state_lists_accept_ints_and_numeric_strings() {
        let c = cfg(&[
            ("A", r#"["4","5"]"#, None, None),
            ("B", "[6, 7]", None, None),
            ("C", "", None, None),
            ("D", r#"{"0":"4","2":"9"}"#, None, None),
        ]);
        assert_eq!(c.state_list("A").unwrap(), vec![4, 5]);
        assert_eq!(c.state_list("B").unwrap(), vec![6, 7]);
        assert_eq!(c.state_list("C").unwrap(), Vec::<u32>::new());
        assert_eq!(c.state_list("missing").unwrap(), Vec::<u32>::new());
        let mut d = c.state_list("D").unwrap();
        d.sort();
        assert_eq!(d, vec![4, 9]);
    }

    #[test]
    fn malformed_state_lists_are_errors() {
        let c = cfg(&[
            ("A", "[4,", None, None),
            ("B", r#"["x"]"#, None, None),
            ("C", "4", None, None),
            ("D", "[-1]", None, None),
        ]);
        for k in ["A", "B", "C", "D"] {
            let e = c.state_list(k).unwrap_err();
            assert_eq!(e.key, k);
        }
    }

    #[test]
    fn flags_follow_php_truthiness() {
        let c = cfg(&[
            ("ON", "1", None, None),
            ("OFF", "0", None, None),
            ("E", "", None, None),
        ]);
        assert!(c.flag("ON"));
        assert!(!c.flag("OFF"));
        assert!(!c.flag("E"));
        assert!(!c.flag("missing"));
        assert!(c.is_set("OFF"));
        assert!(!c.is_set("E"));
    }
}
