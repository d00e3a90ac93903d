//! Every SQL statement of the project, built once for a table prefix. Values always go through
//! placeholders; only the validated prefix is pasted in.

use crate::config::TablePrefix;

/// Configuration keys read by the extension (table `configuration`).
pub mod keys {
    pub const ORDER_SYNC_ENABLED: &str = "SHOPPINGFEED_ORDER_SYNC_ENABLED";
    pub const SHIPPED_ORDERS: &str = "SHOPPINGFEED_SHIPPED_ORDERS";
    pub const CANCELLED_ORDERS: &str = "SHOPPINGFEED_CANCELLED_ORDERS";
    pub const REFUNDED_ORDERS: &str = "SHOPPINGFEED_REFUNDED_ORDERS";
    pub const TIME_SHIFT: &str = "SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT";
    pub const MAX_ORDERS: &str = "SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS";
    pub const AUTH_TOKEN: &str = "SHOPPINGFEED_AUTH_TOKEN";
    pub const STORE_ID: &str = "SHOPPINGFEED_STORE_ID";
    pub const LEGACY_STATUS_SHIPPED: &str = "SHOPPING_FLUX_STATUS_SHIPPED";
    pub const LEGACY_STATUS_CANCELED: &str = "SHOPPING_FLUX_STATUS_CANCELED";
    pub const SHOP_EMAIL: &str = "PS_SHOP_EMAIL";
    pub const LANG_DEFAULT: &str = "PS_LANG_DEFAULT";

    /// The keys the hook needs, read in one query.
    pub const HOOK: [&str; 7] = [
        ORDER_SYNC_ENABLED,
        SHIPPED_ORDERS,
        CANCELLED_ORDERS,
        REFUNDED_ORDERS,
        TIME_SHIFT,
        LEGACY_STATUS_SHIPPED,
        LEGACY_STATUS_CANCELED,
    ];
}

/// The legacy module whose order sync must be off for ours to run.
pub const LEGACY_MODULE: &str = "shoppingfluxexport";

pub struct Sql {
    /// One order with its Shopping Feed link and the legacy module's state for the order's shop.
    pub order_context: String,
    /// Configuration rows of the hook's keys for (id_shop, id_shop_group), all levels.
    pub hook_config: String,
    /// Upsert of the one pending SYNC_STATUS task of an order (re-arms `update_at`).
    pub upsert_sync_task: String,
    pub insert_sf_order: String,
    pub order_messages: String,
    pub set_marketplace_reference: String,
    /// ProcessLogger insert prefix; `log_values` repeated per row.
    pub insert_log_head: String,
    pub log_values: &'static str,
    pub prefix: TablePrefix,
}

impl Sql {
    pub fn new(prefix: &TablePrefix) -> Self {
        let t = |name: &str| prefix.table(name);
        let config_placeholders = vec!["?"; keys::HOOK.len()].join(",");
        Sql {
            order_context: format!(
                "SELECT o.id_order, o.id_shop, o.id_shop_group, o.current_state, o.module, o.payment, \
                        so.id_shoppingfeed_order, so.id_order_marketplace, so.id_internal_shoppingfeed, \
                        (SELECT m.active FROM {module} m JOIN {module_shop} ms \
                           ON ms.id_module = m.id_module AND ms.id_shop = o.id_shop \
                         WHERE m.name = '{legacy}') AS legacy_active, \
                        (SELECT COUNT(*) FROM {module} m WHERE m.name = '{legacy}') AS legacy_installed \
                 FROM {orders} o LEFT JOIN {sf_order} so ON so.id_order = o.id_order \
                 WHERE o.id_order = ?",
                module = t("module"),
                module_shop = t("module_shop"),
                legacy = LEGACY_MODULE,
                orders = t("orders"),
                sf_order = t("shoppingfeed_order"),
            ),
            hook_config: format!(
                "SELECT name, value, id_shop, id_shop_group FROM {} \
                 WHERE name IN ({config_placeholders}) \
                   AND (id_shop = ? OR (id_shop IS NULL AND (id_shop_group = ? OR id_shop_group IS NULL)))",
                t("configuration")
            ),
            upsert_sync_task: format!(
                "INSERT INTO {} (action, id_order, update_at, date_add, date_upd) \
                 VALUES ('SYNC_STATUS', ?, NOW() + INTERVAL ? MINUTE, NOW(), NOW()) \
                 ON DUPLICATE KEY UPDATE update_at = VALUES(update_at), date_upd = VALUES(date_upd), \
                   lease_owner = NULL, lease_until = NULL",
                t("shoppingfeed_task_order")
            ),
            insert_sf_order: format!(
                "INSERT IGNORE INTO {} (id_order_marketplace, name_marketplace, id_order, date_add, date_upd) \
                 VALUES (?, ?, ?, NOW(), NOW())",
                t("shoppingfeed_order")
            ),
            order_messages: format!(
                "SELECT message FROM {} WHERE id_order = ? ORDER BY date_add ASC, id_message ASC",
                t("message")
            ),
            set_marketplace_reference: format!(
                "UPDATE {} SET id_order_marketplace = ?, date_upd = NOW() WHERE id_order = ?",
                t("shoppingfeed_order")
            ),
            insert_log_head: format!(
                "INSERT INTO {} (name, msg, level, object_name, object_id, date_add) VALUES ",
                t("shoppingfeed_processlogger")
            ),
            log_values: "(?, ?, ?, ?, ?, NOW())",
            prefix: prefix.clone(),
        }
    }
}
