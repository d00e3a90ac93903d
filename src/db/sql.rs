//! Every SQL statement of the project, built once for a table prefix. Values always go through
//! placeholders; only the validated prefix is pasted in.

use crate::config::TablePrefix;
use crate::db::logger::ORDER_OBJECT;
use crate::model::LogLevel;

/// Configuration keys read by the extension (table `configuration`).
pub mod keys {
    pub const ORDER_SYNC_ENABLED: &str = "SHOPPINGFEED_ORDER_SYNC_ENABLED";
    pub const SHIPPED_ORDERS: &str = "SHOPPINGFEED_SHIPPED_ORDERS";
    pub const CANCELLED_ORDERS: &str = "SHOPPINGFEED_CANCELLED_ORDERS";
    pub const REFUNDED_ORDERS: &str = "SHOPPINGFEED_REFUNDED_ORDERS";
    pub const DELIVERED_ORDERS: &str = "SHOPPINGFEED_DELIVERED_ORDERS";
    /// 1: a credit slip of a Shopping Feed order is sent as a partial refund.
    pub const ALLOW_PARTIAL_REFUND: &str = "SHOPPINGFEED_ALLOW_PARTIAL_REFUND";
    /// How the feed names a product (the reference module's setting): empty for
    /// `{id_product}_{id_product_attribute}`, else a product column (`reference`, `ean13`, ...).
    pub const PRODUCT_REFERENCE_FORMAT: &str = "SHOPPINGFEED_PRODUCT_FEED_REFERENCE_FORMAT";
    /// The marketplaces whose orders get their invoice uploaded (`upload-documents`): a JSON
    /// list of names, or a map name ⇒ enabled (the reference module's form, keyed by the MD5 of the
    /// lower-cased name, with `{"name", "isEnabled"}` values, is read too). Default `[]`: none.
    pub const INVOICE_MARKETPLACES: &str = "SHOPPINGFEED_ORDER_INVOICE_SYNC_MARKETPLACES";
    pub const TIME_SHIFT: &str = "SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT";
    pub const MAX_ORDERS: &str = "SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS";
    pub const AUTH_TOKEN: &str = "SHOPPINGFEED_AUTH_TOKEN";
    pub const STORE_ID: &str = "SHOPPINGFEED_STORE_ID";
    pub const LEGACY_STATUS_SHIPPED: &str = "SHOPPING_FLUX_STATUS_SHIPPED";
    pub const LEGACY_STATUS_CANCELED: &str = "SHOPPING_FLUX_STATUS_CANCELED";
    pub const SHOP_EMAIL: &str = "PS_SHOP_EMAIL";
    pub const LANG_DEFAULT: &str = "PS_LANG_DEFAULT";
    /// Days the ProcessLogger rows are kept (global; default 30, 0: forever).
    pub const LOG_RETENTION_DAYS: &str = "SHOPPINGFEED_LOG_RETENTION_DAYS";
    /// Days a task that gave up stays for the merchant (global; default 30, 0: until acted on).
    pub const GAVE_UP_RETENTION_DAYS: &str = "SHOPPINGFEED_ORDER_SYNC_GAVE_UP_RETENTION_DAYS";
    /// Health: the CRON's expected interval (global, minutes; default 15): late after three.
    pub const CRON_INTERVAL_MINUTES: &str = "SHOPPINGFEED_ORDER_SYNC_CRON_INTERVAL_MINUTES";
    /// Health: a due task older than this is reported (global, minutes; default 60).
    pub const DUE_ALERT_MINUTES: &str = "SHOPPINGFEED_ORDER_SYNC_DUE_ALERT_MINUTES";
    /// Dry run (global): the CRON logs what it would send, sends nothing and consumes no task.
    pub const DRY_RUN: &str = "SHOPPINGFEED_ORDER_SYNC_DRY_RUN";
    /// A shipped status waits for its tracking number (per shop), at most
    /// `SHIP_WAIT_MAX_HOURS` (default 24), instead of the fixed delay.
    pub const SHIP_WAITS_TRACKING: &str = "SHOPPINGFEED_ORDER_SYNC_SHIP_WAITS_TRACKING";
    pub const SHIP_WAIT_MAX_HOURS: &str = "SHOPPINGFEED_ORDER_SYNC_SHIP_WAIT_MAX_HOURS";
    /// The reconciliation sweep looks this many days back (global; default 7, 0: off).
    pub const SWEEP_DAYS: &str = "SHOPPINGFEED_ORDER_SYNC_SWEEP_DAYS";
    /// Multistore on: with it off (or a single shop), `Configuration::get` reads global values only.
    pub const MULTISHOP: &str = "PS_MULTISHOP_FEATURE_ACTIVE";

    /// The keys the hook needs, read in one query.
    pub const HOOK: [&str; 12] = [
        ORDER_SYNC_ENABLED,
        SHIPPED_ORDERS,
        CANCELLED_ORDERS,
        REFUNDED_ORDERS,
        DELIVERED_ORDERS,
        TIME_SHIFT,
        SHIP_WAITS_TRACKING,
        SHIP_WAIT_MAX_HOURS,
        LEGACY_STATUS_SHIPPED,
        LEGACY_STATUS_CANCELED,
        INVOICE_MARKETPLACES,
        MULTISHOP,
    ];
}

/// The keys the CRON reads per shop.
pub const CRON_KEYS: [&str; 20] = [
    keys::ORDER_SYNC_ENABLED,
    keys::SHIPPED_ORDERS,
    keys::CANCELLED_ORDERS,
    keys::REFUNDED_ORDERS,
    keys::DELIVERED_ORDERS,
    keys::MAX_ORDERS,
    keys::AUTH_TOKEN,
    keys::STORE_ID,
    keys::LEGACY_STATUS_SHIPPED,
    keys::LEGACY_STATUS_CANCELED,
    keys::SHOP_EMAIL,
    keys::LANG_DEFAULT,
    keys::TIME_SHIFT,
    keys::SHIP_WAITS_TRACKING,
    keys::SHIP_WAIT_MAX_HOURS,
    keys::DRY_RUN,
    "PS_SHOP_NAME",
    keys::ALLOW_PARTIAL_REFUND,
    keys::PRODUCT_REFERENCE_FORMAT,
    keys::MULTISHOP,
];

/// The legacy module whose order sync must be off for ours to run.
pub const LEGACY_MODULE: &str = "shoppingfluxexport";

/// The configuration rows `c` of a shop, as `Configuration::get` looks them up: the shop's, its
/// group's and the global ones (`shop`, `group`: SQL expressions, e.g. `o.id_shop` or `?`).
fn shop_config_rows(shop: &str, group: &str) -> String {
    format!("(c.id_shop = {shop} OR (c.id_shop IS NULL AND (c.id_shop_group = {group} OR c.id_shop_group IS NULL)))")
}

/// One configuration row `c` as the bytes its fingerprint hashes: `CONCAT_WS` with 0x1f of the
/// name, the shop and group ids (`-` for NULL), then the value's byte length and the value (both
/// left out for a NULL value). `hook::call::Fingerprint` builds the same bytes in Rust.
const CONFIG_ROW_BYTES: &str = "CONCAT_WS(0x1f, c.name, IFNULL(c.id_shop, '-'), IFNULL(c.id_shop_group, '-'), LENGTH(c.value), c.value)";

/// Whether the server replicates with Galera: a row (`wsrep_on`, `ON`) on a Galera node, `OFF` on
/// a plain MariaDB, no row on MySQL (no such variable); asked once per pool.
pub const WSREP_ON: &str = "SHOW VARIABLES LIKE 'wsrep\\_on'";

/// Each session on a Galera node: a read (`SELECT`, `BEGIN`) first waits until this node applied
/// every transaction the cluster committed before it, so that it sees another node's writes as a
/// single server would (a lease, a re-arm, the order's state PrestaShop wrote elsewhere).
pub const GALERA_SESSION: &str = "SET SESSION wsrep_sync_wait = 1";

pub struct Sql {
    /// One order with its Shopping Feed link, the legacy module's state for the order's shop and
    /// the hook's configuration rows, then the marketplace and whether the new state makes an
    /// invoice (params: the new state or 0, `keys::HOOK`, the order id).
    pub order_context: String,
    pub insert_sf_order: String,
    pub order_messages: String,
    pub set_marketplace_reference: String,
    /// ProcessLogger insert prefix; `log_values` repeated per row.
    pub insert_log_head: String,
    pub log_values: &'static str,
    /// The oldest ProcessLogger rows older than `?` days, at most `?` of them (the `date_log` index).
    pub purge_logs: String,
    /// The global `PS_TIMEZONE` (the zone every process of the shop writes its dates in).
    pub time_zone: String,
    /// A global configuration value (params: name).
    pub global_value: String,
    /// The newest ProcessLogger rows of an order (params: order, limit).
    pub order_logs: String,
    /// The CRON's monitor row: when the last run ended (or started, while running), running,
    /// seconds since.
    pub monitor_state: String,
    /// The shop of an order.
    pub order_shop: String,
    /// An order's tracking number (its first carrier line, as the ship payload takes it).
    pub order_tracking: String,
    pub prefix: TablePrefix,
    /// The task table's statements (only `crate::queue` runs them).
    pub queue: crate::queue::QueueSql,
    pub cron: CronSql,
    pub notice: NoticeSql,
    pub tracking: TrackingSql,
    pub operation: OperationSql,
    pub refund: RefundSql,
    pub sweep: SweepSql,
    pub hook_call: HookCallSql,
}

/// The hook's one-round-trip procedure (`hook::call`): created by the extension on first use,
/// named after a hash of its text so that a changed body gets a new name.
pub struct HookCallSql {
    pub name: String,
    pub create: String,
    /// Params: order, expected shop, the shop configuration's fingerprint (rows, crc, salted crc,
    /// shops), delay in minutes, process name, the two log messages. Returns one row: the order's
    /// shop (NULL: no such order), its link id (NULL: not a Shopping Feed order), whether the
    /// expectation held, and what was written (0 nothing, 1 inserted, 2 re-armed).
    pub call: String,
}

pub struct CronSql {
    pub active_shops: String,
    /// The active Shopping Feed accounts of a shop (`shoppingfeed_token`), oldest first.
    pub accounts: String,
    pub cron_config: String,
    /// How many shops exist (multistore counts only with more than one).
    pub shop_count: String,
    pub legacy_module: String,
    pub try_lock: String,
    pub release_lock: String,
    pub monitor_lock: String,
    pub monitor_unlock: String,
    pub state_names_head: String,
}

impl Sql {
    pub fn new(prefix: &TablePrefix) -> Self {
        let t = |name: &str| prefix.table(name);
        let config_placeholders = vec!["?"; keys::HOOK.len()].join(",");
        Sql {
            // One round trip: the order, its link, the legacy module and the hook's configuration
            // rows (one result row per configuration row; NULLs when there is none). The subquery
            // refers to the order in its WHERE: MySQL refuses outer columns in a join's ON.
            order_context: format!(
                "SELECT o.id_order, o.id_shop, o.id_shop_group, o.current_state, o.module, o.payment, \
                        so.id_shoppingfeed_order, so.id_order_marketplace, so.id_internal_shoppingfeed, \
                        (SELECT m.active FROM {module} m JOIN {module_shop} ms ON ms.id_module = m.id_module \
                         WHERE m.name = '{legacy}' AND ms.id_shop = o.id_shop) AS legacy_active, \
                        (SELECT COUNT(*) FROM {module} m WHERE m.name = '{legacy}') AS legacy_installed, \
                        c.name, c.value, c.id_shop, c.id_shop_group, \
                        so.name_marketplace, \
                        (SELECT os.invoice FROM {order_state} os WHERE os.id_order_state = ?), \
                        (SELECT COUNT(*) FROM {shop}) \
                 FROM {orders} o LEFT JOIN {sf_order} so ON so.id_order = o.id_order \
                 LEFT JOIN {configuration} c ON c.name IN ({config_placeholders}) AND {order_shop} \
                 WHERE o.id_order = ?",
                order_shop = shop_config_rows("o.id_shop", "o.id_shop_group"),
                module = t("module"),
                module_shop = t("module_shop"),
                legacy = LEGACY_MODULE,
                orders = t("orders"),
                sf_order = t("shoppingfeed_order"),
                configuration = t("configuration"),
                order_state = t("order_state"),
                shop = t("shop"),
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
            purge_logs: format!(
                "DELETE FROM {} WHERE date_add < NOW() - INTERVAL ? DAY ORDER BY date_add LIMIT ?",
                t("shoppingfeed_processlogger")
            ),
            time_zone: format!(
                "SELECT value FROM {} WHERE name = 'PS_TIMEZONE' \
                 AND id_shop IS NULL AND id_shop_group IS NULL ORDER BY id_configuration LIMIT 1",
                t("configuration")
            ),
            insert_log_head: format!(
                "INSERT INTO {} (name, msg, level, object_name, object_id, date_add) VALUES ",
                t("shoppingfeed_processlogger")
            ),
            log_values: "(?, ?, ?, ?, ?, NOW())",
            global_value: format!(
                "SELECT value FROM {} WHERE name = ? AND id_shop IS NULL AND id_shop_group IS NULL",
                t("configuration")
            ),
            order_logs: format!(
                "SELECT level, msg, CAST(date_add AS CHAR) FROM {} \
                 WHERE object_name = 'Order' AND object_id = ? \
                 ORDER BY id_shoppingfeed_processlogger DESC LIMIT ?",
                t("shoppingfeed_processlogger")
            ),
            monitor_state: format!(
                "SELECT CAST(last_update AS CHAR), pid IS NOT NULL, TIMESTAMPDIFF(SECOND, last_update, NOW()) \
                 FROM {} WHERE name = 'shoppingfeed:syncOrder'",
                t("shoppingfeed_processmonitor")
            ),
            order_shop: format!("SELECT id_shop FROM {} WHERE id_order = ?", t("orders")),
            order_tracking: format!(
                "SELECT tracking_number FROM {} WHERE id_order = ? ORDER BY id_order_carrier LIMIT 1",
                t("order_carrier")
            ),
            prefix: prefix.clone(),
            queue: crate::queue::QueueSql::new(prefix),
            cron: CronSql::new(prefix),
            notice: NoticeSql::new(prefix),
            tracking: TrackingSql::new(prefix),
            sweep: SweepSql::new(prefix),
            operation: OperationSql::new(prefix),
            refund: RefundSql::new(prefix),
            hook_call: HookCallSql::new(prefix, &crate::queue::QueueSql::new(prefix).procedure_enqueue),
        }
    }
}

impl HookCallSql {
    /// `enqueue`: the queue's upsert transition, run inside the procedure.
    fn new(prefix: &TablePrefix, enqueue: &str) -> Self {
        let t = |name: &str| prefix.table(name);
        let hook_keys = keys::HOOK
            .iter()
            .map(|k| format!("'{k}'"))
            .collect::<Vec<_>>()
            .join(",");
        // First the order, its link and the legacy module's state for its shop (primary and
        // unique keys: all a non-Shopping Feed order costs); then, for a Shopping Feed order with
        // an identifier in the expected shop with the legacy module on, the fingerprint of the
        // shop's configuration rows. The write happens only if all of
        // them are as the caller expects: the task upsert (an UPDATE by the unique
        // `pending_order` first, cheaper than an INSERT that hits the duplicate key), then the
        // hook's two log rows, in one transaction: one commit (one log flush; on Galera, one
        // certification) instead of two. An error rolls it back before it reaches the caller, so
        // no connection goes back to the pool inside a transaction. The statements of a procedure
        // are prepared once per connection.
        let body = format!(
            "(IN p_order INT UNSIGNED, IN p_shop INT UNSIGNED, IN p_rows INT UNSIGNED, \
               IN p_crc BIGINT UNSIGNED, IN p_crc_salted BIGINT UNSIGNED, IN p_shops INT UNSIGNED, \
               IN p_delay INT UNSIGNED, \
               IN p_process VARCHAR(100) CHARACTER SET utf8mb4, IN p_started TEXT CHARACTER SET utf8mb4, \
               IN p_queued TEXT CHARACTER SET utf8mb4) \
             MODIFIES SQL DATA SQL SECURITY INVOKER \
             BEGIN \
               DECLARE v_shop, v_group, v_link INT UNSIGNED DEFAULT NULL; \
               DECLARE v_ok, v_legacy, v_written TINYINT DEFAULT 0; \
               DECLARE v_rows, v_crc, v_crc_salted, v_shops BIGINT UNSIGNED DEFAULT NULL; \
               DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END; \
               SELECT o.id_shop, o.id_shop_group, so.id_shoppingfeed_order, \
                      (TRIM(so.id_order_marketplace) <> '' OR TRIM(so.id_internal_shoppingfeed) <> '') IS TRUE, \
                      (m.active = 1 AND ms.id_module IS NOT NULL) IS TRUE \
                 INTO v_shop, v_group, v_link, v_ok, v_legacy \
                 FROM {orders} o LEFT JOIN {sf} so ON so.id_order = o.id_order \
                 LEFT JOIN {module} m ON m.name = '{LEGACY_MODULE}' \
                 LEFT JOIN {module_shop} ms ON ms.id_module = m.id_module AND ms.id_shop = o.id_shop \
                 WHERE o.id_order = p_order; \
               IF v_ok AND v_legacy AND v_shop = p_shop THEN \
                 SELECT COUNT(*), COALESCE(SUM(CRC32({CONFIG_ROW_BYTES})), 0), \
                        COALESCE(SUM(CRC32(CONCAT({CONFIG_ROW_BYTES}, 0x1e))), 0), \
                        (SELECT COUNT(*) FROM {shop}) \
                   INTO v_rows, v_crc, v_crc_salted, v_shops FROM {configuration} c \
                   WHERE c.name IN ({hook_keys}) AND {shop_rows}; \
                 SET v_ok = (v_rows = p_rows AND v_crc = p_crc AND v_crc_salted = p_crc_salted \
                   AND v_shops = p_shops) IS TRUE; \
               ELSE \
                 SET v_ok = 0; \
               END IF; \
               IF v_ok THEN \
                 START TRANSACTION; \
                 {enqueue} \
                 INSERT INTO {log} (name, msg, level, object_name, object_id, date_add) \
                 VALUES (p_process, p_started, '{info}', '{object}', p_order, NOW()), \
                        (p_process, p_queued, '{success}', '{object}', p_order, NOW()); \
                 COMMIT; \
               END IF; \
               SELECT v_shop, v_link, v_ok, v_written; \
             END",
            shop_rows = shop_config_rows("v_shop", "v_group"),
            orders = t("orders"),
            sf = t("shoppingfeed_order"),
            module = t("module"),
            module_shop = t("module_shop"),
            configuration = t("configuration"),
            shop = t("shop"),
            log = t("shoppingfeed_processlogger"),
            info = LogLevel::Info.as_str(),
            success = LogLevel::Success.as_str(),
            object = ORDER_OBJECT,
        );
        // FNV-1a of the text: stable across builds (std's hasher is not), 8 hex digits.
        let hash = body.bytes().fold(0x811c_9dc5u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        let name = format!("{}sfsync_hook_{hash:08x}", prefix.as_str());
        HookCallSql {
            create: format!("CREATE PROCEDURE `{name}`{body}"),
            call: format!("CALL `{name}`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            name,
        }
    }
}

impl CronSql {
    fn new(prefix: &TablePrefix) -> Self {
        let t = |name: &str| prefix.table(name);
        let config_placeholders = vec!["?"; CRON_KEYS.len()].join(",");
        CronSql {
            active_shops: format!(
                "SELECT id_shop, id_shop_group, name FROM {} WHERE active = 1 AND deleted = 0 ORDER BY id_shop",
                t("shop")
            ),
            accounts: format!(
                "SELECT id_shoppingfeed_token, content, shoppingfeed_store_id FROM {} \
                 WHERE active = 1 AND id_shop = ? ORDER BY id_shoppingfeed_token",
                t("shoppingfeed_token")
            ),
            cron_config: format!(
                "SELECT c.name, c.value, c.id_shop, c.id_shop_group FROM {} c \
                 WHERE c.name IN ({config_placeholders}) AND {}",
                t("configuration"),
                shop_config_rows("?", "?"),
            ),
            shop_count: format!("SELECT COUNT(*) FROM {}", t("shop")),
            legacy_module: format!(
                "SELECT (SELECT COUNT(*) FROM {module} WHERE name = '{LEGACY_MODULE}'), \
                        (SELECT m.active FROM {module} m JOIN {module_shop} ms \
                           ON ms.id_module = m.id_module AND ms.id_shop = ? WHERE m.name = '{LEGACY_MODULE}')",
                module = t("module"),
                module_shop = t("module_shop"),
            ),
            // A session lock dies with its connection: a crashed run never blocks the next one.
            // One per database and table prefix (two shops may share a database), named by a
            // hash: MySQL 5.7+ refuses names over 64 characters.
            try_lock: cron_lock_sql(prefix, "SELECT GET_LOCK({name}, 0)"),
            release_lock: cron_lock_sql(prefix, "SELECT RELEASE_LOCK({name})"),
            // No VALUES() in the update part: MySQL 8.0.20+ deprecates it.
            monitor_lock: format!(
                "INSERT INTO {} (name, pid, data, duration, active, last_update) \
                 VALUES ('shoppingfeed:syncOrder', ?, '[]', 0, 1, NOW()) \
                 ON DUPLICATE KEY UPDATE pid = ?, last_update = NOW()",
                t("shoppingfeed_processmonitor")
            ),
            monitor_unlock: format!(
                "UPDATE {} SET pid = NULL, last_update = NOW(), duration = ? WHERE name = 'shoppingfeed:syncOrder'",
                t("shoppingfeed_processmonitor")
            ),
            state_names_head: format!(
                "SELECT o.id_order, o.reference, COALESCE(l.name, (SELECT MIN(l2.name) FROM {osl} l2 WHERE l2.id_order_state = o.current_state)) \
                 FROM {orders} o LEFT JOIN {osl} l ON l.id_order_state = o.current_state AND l.id_lang = ? \
                 WHERE o.id_order IN ",
                osl = t("order_state_lang"),
                orders = t("orders"),
            ),
        }
    }
}

/// The failure notices waiting for the merchant's e-mail (`shoppingfeed_sync_notice`).
pub struct NoticeSql {
    pub insert: String,
    /// The oldest notices of a shop (id_shop, limit).
    pub pending: String,
    /// `in_list` appended: notice ids.
    pub delete_head: String,
}

impl NoticeSql {
    fn new(prefix: &TablePrefix) -> Self {
        let notice = prefix.table("shoppingfeed_sync_notice");
        NoticeSql {
            insert: format!(
                "INSERT INTO {notice} (id_shop, id_order, operation, reason, gave_up, date_add) \
                 VALUES (?, ?, ?, ?, ?, NOW())"
            ),
            pending: format!(
                "SELECT id_shoppingfeed_sync_notice, id_order, operation, reason, gave_up FROM {notice} \
                 WHERE id_shop = ? ORDER BY id_shoppingfeed_sync_notice LIMIT ?"
            ),
            delete_head: format!("DELETE FROM {notice} WHERE id_shoppingfeed_sync_notice IN "),
        }
    }
}

/// The tracking-number trigger.
pub struct TrackingSql {
    /// One order: shop, group, current state, whether it is a Shopping Feed order, its tracking
    /// number (the first carrier line, as the ship payload takes it), the one its last ship
    /// carried (`shoppingfeed_sync_operation`).
    pub context: String,
}

/// The reconciliation sweep (`crate::sweep`): its cursor over `order_history` (a ProcessMonitor
/// row of its own) and the pages of status changes it reads.
pub struct SweepSql {
    /// The cursor's JSON (`{"after": id_order_history}`), if the sweep ever ran.
    pub cursor: String,
    /// Saves the cursor (params: data, data).
    pub save_cursor: String,
    /// The newest `order_history` id (where a first sweep starts: nothing before it is swept).
    pub history_end: String,
    /// Status changes after the cursor, older than the hook's grace (a change is seen by the
    /// hook in the same request), by primary key: (history id, order, state, date, shop, group,
    /// the order's current state, whether it is a Shopping Feed order, whether its change is
    /// within the sweep's days) (params: after, days, limit).
    pub page: String,
}

/// ProcessMonitor row name of the sweep's cursor.
pub const SWEEP_MONITOR: &str = "shoppingfeed:sweep";

impl SweepSql {
    fn new(prefix: &TablePrefix) -> Self {
        let t = |name: &str| prefix.table(name);
        let monitor = t("shoppingfeed_processmonitor");
        SweepSql {
            cursor: format!("SELECT data FROM {monitor} WHERE name = '{SWEEP_MONITOR}'"),
            save_cursor: format!(
                "INSERT INTO {monitor} (name, pid, data, duration, active, last_update) \
                 VALUES ('{SWEEP_MONITOR}', NULL, ?, 0, 0, NOW()) \
                 ON DUPLICATE KEY UPDATE data = ?, last_update = NOW()"
            ),
            history_end: format!(
                "SELECT COALESCE(MAX(id_order_history), 0) FROM {}",
                t("order_history")
            ),
            page: format!(
                "SELECT h.id_order_history, h.id_order, h.id_order_state, CAST(h.date_add AS CHAR), \
                        o.id_shop, o.id_shop_group, o.current_state, so.id_order IS NOT NULL, \
                        h.date_add >= NOW() - INTERVAL ? DAY \
                 FROM {history} h JOIN {orders} o ON o.id_order = h.id_order \
                 LEFT JOIN {sf} so ON so.id_order = h.id_order \
                 WHERE h.id_order_history > ? AND h.date_add <= NOW() - INTERVAL 2 MINUTE \
                 ORDER BY h.id_order_history LIMIT ?",
                history = t("order_history"),
                orders = t("orders"),
                sf = t("shoppingfeed_order"),
            ),
        }
    }
}

/// The record of the operations sent per order (`shoppingfeed_sync_operation`, written only by
/// `crate::operations`).
pub struct OperationSql {
    /// `sent_values` repeated: operations an accepted request carried, replacing the order's
    /// previous one of the same name (REPLACE: no VALUES() in an update part).
    pub sent_head: String,
    pub sent_values: &'static str,
    /// What became of a recorded operation: its batch's ticket for the order (params: result,
    /// ticket or NULL, order, batch).
    pub result: String,
    /// The merchant canceled the order's task for this operation (params: order, operation).
    pub canceled: String,
    /// The operations of an order, newest first.
    pub of_order: String,
    /// `in_list` of orders appended: their records (order, operation, date as text).
    pub of_orders_head: String,
}

impl OperationSql {
    fn new(prefix: &TablePrefix) -> Self {
        let op = prefix.table("shoppingfeed_sync_operation");
        OperationSql {
            sent_head: format!(
                "REPLACE INTO {op} (id_order, operation, carrier, tracking_number, batch_id, ticket_number, \
                   result, date_add, date_upd) VALUES "
            ),
            sent_values: "(?, ?, ?, ?, ?, NULL, 'sent', NOW(), NOW())",
            result: format!(
                "UPDATE {op} SET result = ?, ticket_number = COALESCE(?, ticket_number), date_upd = NOW() \
                 WHERE id_order = ? AND batch_id = ?"
            ),
            canceled: format!(
                "INSERT INTO {op} (id_order, operation, result, date_add, date_upd) \
                 VALUES (?, ?, 'canceled', NOW(), NOW()) \
                 ON DUPLICATE KEY UPDATE result = 'canceled', batch_id = NULL, ticket_number = NULL, \
                   date_upd = NOW()"
            ),
            of_orders_head: format!(
                "SELECT id_order, operation, CAST(date_upd AS CHAR) FROM {op} WHERE id_order IN "
            ),
            of_order: format!(
                "SELECT operation, carrier, tracking_number, ticket_number, batch_id, result, \
                        CAST(date_upd AS CHAR) \
                 FROM {op} WHERE id_order = ? ORDER BY date_upd DESC, operation"
            ),
        }
    }
}

impl TrackingSql {
    fn new(prefix: &TablePrefix) -> Self {
        let t = |name: &str| prefix.table(name);
        let oc = t("order_carrier");
        let operation = t("shoppingfeed_sync_operation");
        TrackingSql {
            context: format!(
                "SELECT o.id_shop, o.id_shop_group, o.current_state, so.id_shoppingfeed_order IS NOT NULL, \
                        (SELECT x.tracking_number FROM {oc} x WHERE x.id_order = o.id_order \
                          ORDER BY x.id_order_carrier LIMIT 1), \
                        NULLIF(sh.tracking_number, '') \
                 FROM {orders} o LEFT JOIN {sf} so ON so.id_order = o.id_order \
                 LEFT JOIN {operation} sh ON sh.id_order = o.id_order AND sh.operation = 'ship' \
                 WHERE o.id_order = ?",
                orders = t("orders"),
                sf = t("shoppingfeed_order"),
            ),
        }
    }
}

/// The partial refunds: a task per credit slip (`order_slip`, `order_slip_detail`).
pub struct RefundSql {
    /// One order: shop, group, whether it is a Shopping Feed order, and its newest credit slip
    /// (or the given one, if it is the order's) (params: slip, slip, id_order; slip 0: newest).
    pub context: String,
    /// `in_list` appended: the products of given slips, with what names them in the feed.
    pub products_head: String,
}

impl RefundSql {
    fn new(prefix: &TablePrefix) -> Self {
        let t = |name: &str| prefix.table(name);
        let slip = t("order_slip");
        RefundSql {
            context: format!(
                "SELECT o.id_shop, o.id_shop_group, so.id_shoppingfeed_order IS NOT NULL, \
                        (SELECT MAX(s.id_order_slip) FROM {slip} s WHERE s.id_order = o.id_order \
                           AND (? = 0 OR s.id_order_slip = ?)) \
                 FROM {orders} o LEFT JOIN {sf} so ON so.id_order = o.id_order WHERE o.id_order = ?",
                orders = t("orders"),
                sf = t("shoppingfeed_order"),
            ),
            products_head: format!(
                "SELECT sd.id_order_slip, d.product_id, d.product_attribute_id, d.product_reference, \
                        d.product_supplier_reference, d.product_ean13, d.product_upc, d.product_isbn, \
                        d.product_mpn, sd.product_quantity \
                 FROM {detail} sd JOIN {od} d ON d.id_order_detail = sd.id_order_detail \
                 WHERE sd.product_quantity > 0 AND sd.id_order_slip IN ",
                detail = t("order_slip_detail"),
                od = t("order_detail"),
            ),
        }
    }
}

/// `((?,?),(?,?),...)` for an IN list of `n` pairs (n ≥ 1).
pub fn pairs_list(n: usize) -> String {
    let mut s = String::with_capacity(2 + n * 6);
    s.push('(');
    for i in 0..n.max(1) {
        if i > 0 {
            s.push(',');
        }
        s.push_str("(?,?)");
    }
    s.push(')');
    s
}

/// `(?,?,...)` for an IN list of `n` values (n ≥ 1).
pub fn in_list(n: usize) -> String {
    let mut s = String::with_capacity(2 + n * 2);
    s.push('(');
    for i in 0..n.max(1) {
        if i > 0 {
            s.push(',');
        }
        s.push('?');
    }
    s.push(')');
    s
}

/// The CRON lock statement for `prefix`, `{name}` being the lock's name:
/// `shoppingfeed:syncOrder:` + MD5 of `database.prefix`; the prefix is validated (letters, digits,
/// underscores), so it can be written into the SQL text.
fn cron_lock_sql(prefix: &TablePrefix, template: &str) -> String {
    let name = format!(
        "CONCAT('shoppingfeed:syncOrder:', MD5(CONCAT(DATABASE(), '.', '{}')))",
        prefix.as_str()
    );
    template.replace("{name}", &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `VALUES(col)` in `ON DUPLICATE KEY UPDATE` is deprecated since MySQL 8.0.20 (a warning on
    /// every upsert of a managed MySQL): no upsert of the extension uses it.
    #[test]
    fn no_upsert_uses_the_deprecated_values_function() {
        let prefix = TablePrefix::new("ps_").unwrap_or_else(|e| panic!("{e}"));
        let sql = Sql::new(&prefix);
        for (what, text) in [
            ("enqueue_status", sql.queue.enqueue_status.as_str()),
            ("procedure", sql.hook_call.create.as_str()),
            ("monitor_lock", sql.cron.monitor_lock.as_str()),
            ("operations sent", sql.operation.sent_head.as_str()),
            ("operation canceled", sql.operation.canceled.as_str()),
        ] {
            let upper = text.to_uppercase();
            assert!(!upper.contains("VALUES("), "{what}: {text}");
            assert!(!upper.contains("VALUE("), "{what}: {text}");
        }
    }
}
