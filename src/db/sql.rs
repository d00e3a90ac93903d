//! Every SQL statement of the project, built once for a table prefix. Values always go through
//! placeholders; only the validated prefix is pasted in.

use crate::config::TablePrefix;
use crate::db::logger::ORDER_OBJECT;
use crate::model::{LogLevel, TaskKind};

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

    /// The keys the hook needs, read in one query.
    pub const HOOK: [&str; 9] = [
        ORDER_SYNC_ENABLED,
        SHIPPED_ORDERS,
        CANCELLED_ORDERS,
        REFUNDED_ORDERS,
        DELIVERED_ORDERS,
        TIME_SHIFT,
        LEGACY_STATUS_SHIPPED,
        LEGACY_STATUS_CANCELED,
        INVOICE_MARKETPLACES,
    ];
}

/// The keys the CRON reads per shop.
pub const CRON_KEYS: [&str; 16] = [
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
    "PS_SHOP_NAME",
    keys::ALLOW_PARTIAL_REFUND,
    keys::PRODUCT_REFERENCE_FORMAT,
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
/// left out for a NULL value). `db::hook_call::Fingerprint` builds the same bytes in Rust.
const CONFIG_ROW_BYTES: &str = "CONCAT_WS(0x1f, c.name, IFNULL(c.id_shop, '-'), IFNULL(c.id_shop_group, '-'), LENGTH(c.value), c.value)";

pub struct Sql {
    /// One order with its Shopping Feed link, the legacy module's state for the order's shop and
    /// the hook's configuration rows, then the marketplace and whether the new state makes an
    /// invoice (params: the new state or 0, `keys::HOOK`, the order id).
    pub order_context: String,
    /// Upsert of the one pending SYNC_STATUS task of an order (re-arms `update_at`).
    pub upsert_sync_task: String,
    pub insert_sf_order: String,
    pub order_messages: String,
    pub set_marketplace_reference: String,
    /// ProcessLogger insert prefix; `log_values` repeated per row.
    pub insert_log_head: String,
    pub log_values: &'static str,
    pub prefix: TablePrefix,
    pub cron: CronSql,
    pub notice: NoticeSql,
    pub tracking: TrackingSql,
    pub refund: RefundSql,
    pub invoice: InvoiceSql,
    pub hook_call: HookCallSql,
}

/// The hook's one-round-trip procedure (`db::hook_call`): created by the extension on first use,
/// named after a hash of its text so that a changed body gets a new name.
pub struct HookCallSql {
    pub name: String,
    pub create: String,
    /// Params: order, expected shop, the shop configuration's fingerprint (rows, crc, reversed
    /// crc), delay in minutes, process name, the two log messages. Returns one row: the order's
    /// shop (NULL: no such order), its link id (NULL: not a Shopping Feed order), whether the
    /// expectation held, and what was written (0 nothing, 1 inserted, 2 re-armed).
    pub call: String,
}
pub struct CronSql {
    pub active_shops: String,
    /// The active Shopping Feed accounts of a shop (`shoppingfeed_token`), oldest first.
    pub accounts: String,
    /// Due pending tasks of a shop per account of their order, for the orders imported with an
    /// account (`id_shoppingfeed_token` > 0): which wait for an account that is not active. Read
    /// from the `account` index, so a shop whose orders have no account pays nothing (counting
    /// every due task cost 0.14 s per run at 20,000 tasks).
    pub due_by_account: String,
    pub cron_config: String,
    pub legacy_module: String,
    pub try_lock: &'static str,
    pub release_lock: &'static str,
    pub monitor_lock: String,
    pub monitor_unlock: String,
    /// Due tasks of a pending action, a shop and an account that no live lease holds, oldest
    /// first: the claim's candidates (params: action, id_shop, the account's two token ids (see
    /// `TaskScope`), limit). A plain read: `FOR UPDATE SKIP LOCKED` exists only on MySQL 8.0.1+ and MariaDB
    /// 10.6+, and `claim_head` re-checks each row under its lock anyway.
    pub select_claimable: String,
    /// `claim_head` + `(?,?,...)`: leases the candidates that are still due and unleased (params:
    /// owner, lease seconds, action, ids). A candidate a concurrent claim holds is waited for, then seen
    /// leased and left: no task is leased twice.
    pub claim_head: String,
    /// `claimed_of_head` + `(?,?,...)`: which of given ids `?` holds (params: owner, ids).
    pub claimed_of_head: String,
    /// Claimed tasks with everything a payload needs.
    pub claimed_tasks: String,
    /// The same for given task ids of a shop (id_shop, then `in_list` appended).
    pub tasks_by_ids_head: String,
    /// Leases given SYNC_STATUS task ids of a shop's and an account's orders that no live lease
    /// holds (owner, lease seconds, id_shop, the two token ids, then `in_list` appended). This and
    /// the other id-targeted updates force the primary key: they lock only the rows they name, in
    /// key order, so the concurrent requests of a run do not deadlock through the secondary indexes.
    pub claim_ids_head: String,
    pub release_head: String,
    /// `pairs_list` appended: (id, version) of the tasks sent, each moved to its kind's ticket
    /// check; a task re-armed meanwhile stays pending.
    pub mark_sent_head: String,
    pub delete_head: String,
    /// Distinct batches of a check action waiting after a given batch id (keyset paging), each
    /// with whether it belongs to the shop and the account (params: action, id_shop, the two token
    /// ids, action, after, limit).
    pub batches_page: String,
    /// The tasks of a batch (params: action, batch id).
    pub batch_tasks: String,
    pub set_ticket_number: String,
    pub requeue: String,
    pub delete_task: String,
    pub state_names_head: String,
    pub task_orders_due: String,
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
                        (SELECT os.invoice FROM {order_state} os WHERE os.id_order_state = ?) \
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
            ),
            upsert_sync_task: format!(
                "INSERT INTO {} (action, id_order, update_at, date_add, date_upd) \
                 VALUES ('SYNC_STATUS', ?, NOW() + INTERVAL ? MINUTE, NOW(), NOW()) \
                 ON DUPLICATE KEY UPDATE update_at = VALUES(update_at), date_upd = VALUES(date_upd), \
                   version = version + 1",
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
            cron: CronSql::new(prefix),
            notice: NoticeSql::new(prefix),
            tracking: TrackingSql::new(prefix),
            refund: RefundSql::new(prefix),
            invoice: InvoiceSql::new(prefix),
            hook_call: HookCallSql::new(prefix),
        }
    }
}

impl HookCallSql {
    fn new(prefix: &TablePrefix) -> Self {
        let t = |name: &str| prefix.table(name);
        let hook_keys = keys::HOOK
            .iter()
            .map(|k| format!("'{k}'"))
            .collect::<Vec<_>>()
            .join(",");
        let task = t("shoppingfeed_task_order");
        // First the order, its link and the legacy module's state for its shop (primary and
        // unique keys: all a non-Shopping Feed order costs); then, for a Shopping Feed order with
        // an identifier in the expected shop with the legacy module on, the fingerprint of the
        // shop's configuration rows. The write happens only if all of
        // them are as the caller expects: the task upsert (an UPDATE by the unique
        // `pending_order` first, cheaper than an INSERT that hits the duplicate key), then the
        // hook's two log rows. The statements of a procedure are prepared once per connection.
        let body = format!(
            "(IN p_order INT UNSIGNED, IN p_shop INT UNSIGNED, IN p_rows INT UNSIGNED, \
               IN p_crc BIGINT UNSIGNED, IN p_crc_rev BIGINT UNSIGNED, IN p_delay INT UNSIGNED, \
               IN p_process VARCHAR(100) CHARACTER SET utf8mb4, IN p_started TEXT CHARACTER SET utf8mb4, \
               IN p_queued TEXT CHARACTER SET utf8mb4) \
             MODIFIES SQL DATA SQL SECURITY INVOKER \
             BEGIN \
               DECLARE v_shop, v_group, v_link INT UNSIGNED DEFAULT NULL; \
               DECLARE v_ok, v_legacy, v_written TINYINT DEFAULT 0; \
               DECLARE v_rows, v_crc, v_crc_rev BIGINT UNSIGNED DEFAULT NULL; \
               SELECT o.id_shop, o.id_shop_group, so.id_shoppingfeed_order, \
                      (TRIM(so.id_order_marketplace) <> '' OR TRIM(so.id_internal_shoppingfeed) <> '') IS TRUE, \
                      (m.active = 1 AND ms.id_module IS NOT NULL) IS TRUE \
                 INTO v_shop, v_group, v_link, v_ok, v_legacy \
                 FROM {orders} o LEFT JOIN {sf} so ON so.id_order = o.id_order \
                 LEFT JOIN {module} m ON m.name = '{LEGACY_MODULE}' \
                 LEFT JOIN {module_shop} ms ON ms.id_module = m.id_module AND ms.id_shop = o.id_shop \
                 WHERE o.id_order = p_order; \
               IF v_ok AND v_legacy AND v_shop = p_shop THEN \
                 SELECT COUNT(*), BIT_XOR(CRC32({CONFIG_ROW_BYTES})), BIT_XOR(CRC32(REVERSE({CONFIG_ROW_BYTES}))) \
                   INTO v_rows, v_crc, v_crc_rev FROM {configuration} c \
                   WHERE c.name IN ({hook_keys}) AND {shop_rows}; \
                 SET v_ok = (v_rows = p_rows AND v_crc = p_crc AND v_crc_rev = p_crc_rev) IS TRUE; \
               ELSE \
                 SET v_ok = 0; \
               END IF; \
               IF v_ok THEN \
                 UPDATE {task} SET update_at = NOW() + INTERVAL p_delay MINUTE, date_upd = NOW(), \
                   version = version + 1 WHERE pending_order = p_order; \
                 IF ROW_COUNT() > 0 THEN SET v_written = 2; \
                 ELSE \
                   INSERT INTO {task} (action, id_order, update_at, date_add, date_upd) \
                   VALUES ('SYNC_STATUS', p_order, NOW() + INTERVAL p_delay MINUTE, NOW(), NOW()) \
                   ON DUPLICATE KEY UPDATE update_at = VALUES(update_at), date_upd = VALUES(date_upd), \
                     version = version + 1; \
                   SET v_written = IF(ROW_COUNT() = 1, 1, 2); \
                 END IF; \
                 INSERT INTO {log} (name, msg, level, object_name, object_id, date_add) \
                 VALUES (p_process, p_started, '{info}', '{object}', p_order, NOW()), \
                        (p_process, p_queued, '{success}', '{object}', p_order, NOW()); \
               END IF; \
               SELECT v_shop, v_link, v_ok, v_written; \
             END",
            shop_rows = shop_config_rows("v_shop", "v_group"),
            orders = t("orders"),
            sf = t("shoppingfeed_order"),
            module = t("module"),
            module_shop = t("module_shop"),
            configuration = t("configuration"),
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
            call: format!("CALL `{name}`(?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            name,
        }
    }
}

impl CronSql {
    fn new(prefix: &TablePrefix) -> Self {
        let t = |name: &str| prefix.table(name);
        let task = t("shoppingfeed_task_order");
        let orders = t("orders");
        let sf = t("shoppingfeed_order");
        let config_placeholders = vec!["?"; CRON_KEYS.len()].join(",");
        // An order belongs to the account it was imported with; 0 (or no link row) to the shop's
        // first account, which is the only one given 0 as its second id.
        let account = "COALESCE(so.id_shoppingfeed_token, 0) IN (?, ?)";
        // Everything a payload needs: the order's current state, its link, its first carrier line.
        let payload_select = format!(
            "SELECT t.id_shoppingfeed_task_order, t.id_order, t.attempts, o.current_state, o.reference, \
                    so.id_internal_shoppingfeed, so.id_order_marketplace, so.name_marketplace, \
                    c.name, c.url, oc.tracking_number, t.version \
             FROM {task} t JOIN {orders} o ON o.id_order = t.id_order \
             LEFT JOIN {sf} so ON so.id_order = t.id_order \
             LEFT JOIN {oc} oc ON oc.id_order_carrier = \
                 (SELECT MIN(x.id_order_carrier) FROM {oc} x WHERE x.id_order = t.id_order) \
             LEFT JOIN {carrier} c ON c.id_carrier = COALESCE(oc.id_carrier, o.id_carrier)",
            oc = t("order_carrier"),
            carrier = t("carrier"),
        );
        let payload_order = "ORDER BY t.update_at, t.id_shoppingfeed_task_order";
        // Each kind's pending action moves to its check action on a send, and back on a requeue.
        let case = |from: fn(TaskKind) -> &'static str, to: fn(TaskKind) -> &'static str| {
            let arms: String = TaskKind::ALL
                .iter()
                .map(|k| format!(" WHEN '{}' THEN '{}'", from(*k), to(*k)))
                .collect();
            format!("CASE action{arms} END")
        };
        let pending = |k: TaskKind| k.pending().as_str();
        let checking = |k: TaskKind| k.checking().as_str();
        let list = |f: fn(TaskKind) -> &'static str| {
            TaskKind::ALL
                .iter()
                .map(|k| format!("'{}'", f(*k)))
                .collect::<Vec<_>>()
                .join(",")
        };
        let to_check = case(pending, checking);
        let to_pending = case(checking, pending);
        let pending_actions = list(pending);
        let check_actions = list(checking);
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
            due_by_account: format!(
                "SELECT so.id_shoppingfeed_token, COUNT(*) FROM {sf} so \
                 JOIN {task} t ON t.id_order = so.id_order JOIN {orders} o ON o.id_order = so.id_order \
                 WHERE so.id_shoppingfeed_token > 0 AND t.action IN ({pending_actions}) \
                   AND t.update_at <= NOW() AND o.id_shop = ? \
                 GROUP BY so.id_shoppingfeed_token"
            ),
            cron_config: format!(
                "SELECT c.name, c.value, c.id_shop, c.id_shop_group FROM {} c \
                 WHERE c.name IN ({config_placeholders}) AND {}",
                t("configuration"),
                shop_config_rows("?", "?"),
            ),
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
            monitor_lock: format!(
                "INSERT INTO {} (name, pid, data, duration, active, last_update) \
                 VALUES ('shoppingfeed:syncOrder', ?, '[]', 0, 1, NOW()) \
                 ON DUPLICATE KEY UPDATE pid = VALUES(pid), last_update = NOW()",
                t("shoppingfeed_processmonitor")
            ),
            monitor_unlock: format!(
                "UPDATE {} SET pid = NULL, last_update = NOW(), duration = ? WHERE name = 'shoppingfeed:syncOrder'",
                t("shoppingfeed_processmonitor")
            ),
            select_claimable: format!(
                "SELECT t.id_shoppingfeed_task_order FROM {task} t \
                 JOIN {orders} o ON o.id_order = t.id_order LEFT JOIN {sf} so ON so.id_order = t.id_order \
                 WHERE t.action = ? AND t.update_at IS NOT NULL AND t.update_at <= NOW() \
                   AND o.id_shop = ? AND {account} AND (t.lease_until IS NULL OR t.lease_until < NOW()) \
                 ORDER BY t.update_at, t.id_shoppingfeed_task_order LIMIT ?"
            ),
            claim_head: format!(
                "UPDATE {task} FORCE INDEX (PRIMARY) SET lease_owner = ?, lease_until = NOW() + INTERVAL ? SECOND \
                 WHERE action = ? AND update_at <= NOW() AND (lease_until IS NULL OR lease_until < NOW()) \
                   AND id_shoppingfeed_task_order IN "
            ),
            claimed_of_head: format!(
                "SELECT id_shoppingfeed_task_order FROM {task} WHERE lease_owner = ? AND id_shoppingfeed_task_order IN "
            ),
            claimed_tasks: format!("{payload_select} WHERE t.lease_owner = ? {payload_order}"),
            tasks_by_ids_head: format!("{payload_select} WHERE t.action = 'SYNC_STATUS' AND o.id_shop = ? AND t.id_shoppingfeed_task_order IN "),
            claim_ids_head: format!(
                "UPDATE {task} FORCE INDEX (PRIMARY) SET lease_owner = ?, lease_until = NOW() + INTERVAL ? SECOND \
                 WHERE action = 'SYNC_STATUS' AND (lease_until IS NULL OR lease_until < NOW()) \
                   AND id_order IN (SELECT o.id_order FROM {orders} o LEFT JOIN {sf} so ON so.id_order = o.id_order \
                     WHERE o.id_shop = ? AND {account}) \
                   AND id_shoppingfeed_task_order IN "
            ),
            release_head: format!(
                "UPDATE {task} FORCE INDEX (PRIMARY) SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ? AND id_shoppingfeed_task_order IN "
            ),
            mark_sent_head: format!(
                "UPDATE {task} FORCE INDEX (PRIMARY) SET action = {to_check}, batch_id = ?, ticket_number = NULL, \
                   sent_at = NOW(), lease_owner = NULL, lease_until = NULL, date_upd = NOW() \
                 WHERE lease_owner = ? AND action IN ({pending_actions}) AND (id_shoppingfeed_task_order, version) IN "
            ),
            delete_head: format!("DELETE FROM {task} WHERE id_shoppingfeed_task_order IN "),
            // The distinct batches come from the (action, batch_id) index alone (a loose index
            // scan); the shop is checked per listed batch. Joining orders first made MariaDB sort
            // every waiting task on each page (0.2 s per page at 100k tasks).
            batches_page: format!(
                "SELECT b.batch_id, EXISTS(SELECT 1 FROM {task} t JOIN {orders} o ON o.id_order = t.id_order \
                   LEFT JOIN {sf} so ON so.id_order = t.id_order \
                   WHERE t.action = ? AND t.batch_id = b.batch_id AND o.id_shop = ? AND {account}) \
                 FROM (SELECT DISTINCT batch_id FROM {task} \
                       WHERE action = ? AND batch_id > ? \
                       ORDER BY batch_id LIMIT ?) b \
                 ORDER BY b.batch_id"
            ),
            batch_tasks: format!(
                "SELECT t.id_shoppingfeed_task_order, t.id_order, t.attempts, t.ticket_number, \
                        TIMESTAMPDIFF(MINUTE, COALESCE(t.sent_at, t.date_upd), NOW()), \
                        so.id_internal_shoppingfeed, so.id_order_marketplace \
                 FROM {task} t LEFT JOIN {sf} so ON so.id_order = t.id_order \
                 WHERE t.action = ? AND t.batch_id = ?"
            ),
            set_ticket_number: format!(
                "UPDATE IGNORE {task} SET ticket_number = ? WHERE id_shoppingfeed_task_order = ? AND ticket_number IS NULL"
            ),
            // Back to its pending action in place (date_add kept), with the failed ticket's number
            // (if any) until the next send replaces it; IGNORE: if the order already has a pending
            // status task, the unique key refuses and the caller deletes this row instead.
            requeue: format!(
                "UPDATE IGNORE {task} SET action = {to_pending}, ticket_number = ?, batch_id = NULL, \
                   attempts = attempts + 1, last_error = ?, update_at = NOW() + INTERVAL ? MINUTE, \
                   sent_at = NULL, lease_owner = NULL, lease_until = NULL, date_upd = NOW() \
                 WHERE id_shoppingfeed_task_order = ? AND action IN ({check_actions})"
            ),
            delete_task: format!("DELETE FROM {task} WHERE id_shoppingfeed_task_order = ?"),
            state_names_head: format!(
                "SELECT o.id_order, o.reference, COALESCE(l.name, (SELECT MIN(l2.name) FROM {osl} l2 WHERE l2.id_order_state = o.current_state)) \
                 FROM {orders} o LEFT JOIN {osl} l ON l.id_order_state = o.current_state AND l.id_lang = ? \
                 WHERE o.id_order IN ",
                osl = t("order_state_lang"),
            ),
            task_orders_due: format!(
                "SELECT t.id_shoppingfeed_task_order, t.action, t.id_order, t.ticket_number, t.batch_id, \
                        CAST(t.update_at AS CHAR), CAST(t.date_add AS CHAR), CAST(t.date_upd AS CHAR), t.attempts \
                 FROM {task} t JOIN {orders} o ON o.id_order = t.id_order LEFT JOIN {sf} so ON so.id_order = t.id_order \
                 WHERE t.action = ? AND t.update_at IS NOT NULL AND t.update_at <= NOW() AND o.id_shop = ? AND {account} \
                 ORDER BY t.date_upd ASC, t.id_shoppingfeed_task_order ASC LIMIT ?"
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

/// The tracking-number trigger and the record of the tracking numbers sent
/// (`shoppingfeed_sync_shipment`).
pub struct TrackingSql {
    /// One order: shop, group, current state, whether it is a Shopping Feed order, its tracking
    /// number (the first carrier line, as the ship payload takes it), the one last sent, and its
    /// pending task (NULL: none; 1: waiting for its delay; 0: due).
    pub context: String,
    /// Makes the order's waiting pending task due now; the version bump keeps a send already in
    /// flight (its payload read before the tracking number) from marking it sent.
    pub expedite: String,
    /// `shipment_values` repeated, then `record_tail`.
    pub record_head: String,
    pub shipment_values: &'static str,
    pub record_tail: &'static str,
}

impl TrackingSql {
    fn new(prefix: &TablePrefix) -> Self {
        let t = |name: &str| prefix.table(name);
        let task = t("shoppingfeed_task_order");
        let oc = t("order_carrier");
        let shipment = t("shoppingfeed_sync_shipment");
        TrackingSql {
            context: format!(
                "SELECT o.id_shop, o.id_shop_group, o.current_state, so.id_shoppingfeed_order IS NOT NULL, \
                        (SELECT x.tracking_number FROM {oc} x WHERE x.id_order = o.id_order \
                          ORDER BY x.id_order_carrier LIMIT 1), \
                        sh.tracking_number, \
                        (SELECT t.update_at > NOW() FROM {task} t WHERE t.pending_order = o.id_order) \
                 FROM {orders} o LEFT JOIN {sf} so ON so.id_order = o.id_order \
                 LEFT JOIN {shipment} sh ON sh.id_order = o.id_order \
                 WHERE o.id_order = ?",
                orders = t("orders"),
                sf = t("shoppingfeed_order"),
            ),
            expedite: format!(
                "UPDATE {task} SET update_at = NOW(), date_upd = NOW(), version = version + 1 \
                 WHERE pending_order = ? AND update_at > NOW()"
            ),
            record_head: format!("INSERT INTO {shipment} (id_order, tracking_number, date_upd) VALUES "),
            shipment_values: "(?, ?, NOW())",
            record_tail: " ON DUPLICATE KEY UPDATE tracking_number = VALUES(tracking_number), date_upd = VALUES(date_upd)",
        }
    }
}

/// The partial refunds: a task per credit slip (`order_slip`, `order_slip_detail`).
pub struct RefundSql {
    /// One order: shop, group, whether it is a Shopping Feed order, and its newest credit slip
    /// (or the given one, if it is the order's) (params: slip, slip, id_order; slip 0: newest).
    pub context: String,
    /// The slip's task; ignored when the slip already has one (unique `id_order_slip`).
    pub insert_task: String,
    /// The PARTIAL_REFUND tasks a lease owner holds, with the order's link and the slip.
    pub claimed: String,
    /// `in_list` appended: the products of given slips, with what names them in the feed.
    pub products_head: String,
}

impl RefundSql {
    fn new(prefix: &TablePrefix) -> Self {
        let t = |name: &str| prefix.table(name);
        let task = t("shoppingfeed_task_order");
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
            insert_task: format!(
                "INSERT IGNORE INTO {task} (action, id_order, id_order_slip, update_at, date_add, date_upd) \
                 VALUES ('PARTIAL_REFUND', ?, ?, NOW(), NOW(), NOW())"
            ),
            claimed: format!(
                "SELECT t.id_shoppingfeed_task_order, t.id_order, t.attempts, t.version, t.id_order_slip, \
                        s.id_order_slip IS NOT NULL, s.shipping_cost, \
                        so.id_internal_shoppingfeed, so.id_order_marketplace, so.name_marketplace \
                 FROM {task} t LEFT JOIN {sf} so ON so.id_order = t.id_order \
                 LEFT JOIN {slip} s ON s.id_order_slip = t.id_order_slip \
                 WHERE t.lease_owner = ? AND t.action = 'PARTIAL_REFUND' \
                 ORDER BY t.update_at, t.id_shoppingfeed_task_order",
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

/// The invoice uploads: one UPLOAD_INVOICE task per order (unique `pending_invoice`), its PDF
/// rendered by the module into the invoice directory before the CRON sends it.
pub struct InvoiceSql {
    /// The order's task; ignored while it already has one pending or being checked.
    pub insert_task: String,
    /// The UPLOAD_INVOICE tasks a lease owner holds, with their age and the order's Shopping Feed id.
    pub claimed: String,
    /// Due, unleased UPLOAD_INVOICE tasks of active shops, oldest first, after a cursor (keyset
    /// paging on the `due` index): the PDFs the module renders before a run, each as (task id,
    /// `update_at` as text, order, shop) (params: id_shop, id_shop, the cursor's `update_at`
    /// twice, its task id, limit; id_shop 0: every shop).
    pub pending: String,
}

impl InvoiceSql {
    fn new(prefix: &TablePrefix) -> Self {
        let t = |name: &str| prefix.table(name);
        let task = t("shoppingfeed_task_order");
        InvoiceSql {
            insert_task: format!(
                "INSERT IGNORE INTO {task} (action, id_order, update_at, date_add, date_upd) \
                 VALUES ('UPLOAD_INVOICE', ?, NOW(), NOW(), NOW())"
            ),
            claimed: format!(
                "SELECT t.id_shoppingfeed_task_order, t.id_order, t.attempts, t.version, \
                        TIMESTAMPDIFF(MINUTE, t.date_add, NOW()), so.id_internal_shoppingfeed \
                 FROM {task} t LEFT JOIN {sf} so ON so.id_order = t.id_order \
                 WHERE t.lease_owner = ? AND t.action = 'UPLOAD_INVOICE' \
                 ORDER BY t.update_at, t.id_shoppingfeed_task_order",
                sf = t("shoppingfeed_order"),
            ),
            pending: format!(
                "SELECT t.id_shoppingfeed_task_order, CAST(t.update_at AS CHAR), t.id_order, o.id_shop \
                 FROM {task} t \
                 JOIN {orders} o ON o.id_order = t.id_order \
                 JOIN {shop} s ON s.id_shop = o.id_shop AND s.active = 1 AND s.deleted = 0 \
                 WHERE t.action = 'UPLOAD_INVOICE' AND t.update_at <= NOW() \
                   AND (t.lease_until IS NULL OR t.lease_until < NOW()) AND (? = 0 OR o.id_shop = ?) \
                   AND (t.update_at > ? OR (t.update_at = ? AND t.id_shoppingfeed_task_order > ?)) \
                 ORDER BY t.update_at, t.id_shoppingfeed_task_order LIMIT ?",
                orders = t("orders"),
                shop = t("shop"),
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
/// `shoppingfeed:syncOrder:` + MD5 of `database.prefix`. Kept once per prefix and statement for the
/// process (the engine takes them as `&'static str`); the prefix is validated (letters, digits,
/// underscores), so it can be written into the SQL text.
fn cron_lock_sql(prefix: &TablePrefix, template: &str) -> &'static str {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static KNOWN: Mutex<Option<HashMap<String, &'static str>>> = Mutex::new(None);
    let name = format!(
        "CONCAT('shoppingfeed:syncOrder:', MD5(CONCAT(DATABASE(), '.', '{}')))",
        prefix.as_str()
    );
    let sql = template.replace("{name}", &name);
    let mut known = KNOWN.lock().unwrap_or_else(|p| p.into_inner());
    let known = known.get_or_insert_with(HashMap::new);
    if let Some(s) = known.get(&sql) {
        return s;
    }
    let leaked: &'static str = Box::leak(sql.clone().into_boxed_str());
    known.insert(sql, leaked);
    leaked
}
