//! Every statement that names the task table (`shoppingfeed_task_order`), built once for a table
//! prefix. Only [`crate::queue`] runs them: the writes are its transitions, each fenced by what
//! the caller saw (docs/queue.md); the reads give other modules the rows they prepare.

use crate::config::TablePrefix;
use crate::model::TaskKind;

pub struct QueueSql {
    /// The pending SYNC_STATUS task of an order, created or re-armed (params: order, delay,
    /// delay). The unique `pending_order` key makes concurrent hooks update the same row.
    pub enqueue_status: String,
    /// The hook procedure's upsert of `p_order` due in `p_delay` minutes, setting `v_written`
    /// (1 inserted, 2 re-armed): the same transition as `enqueue_status`, inside the procedure.
    pub procedure_enqueue: String,
    /// A credit slip's PARTIAL_REFUND task; ignored when the slip already has one.
    pub enqueue_slip: String,
    /// The order's UPLOAD_INVOICE task; ignored while it has one pending or being checked.
    pub enqueue_invoice: String,
    /// Makes the order's pending task that waits for its delay due now; the version bump keeps a
    /// send already in flight (its payload read before) from marking it sent.
    pub expedite: String,
    /// The order's pending status task, if any (one row or none).
    pub pending_status: String,
    /// `in_list` of orders appended: those with a status task in any state (params: the two
    /// status actions, the orders).
    pub with_status_task_head: String,

    /// Due tasks of a pending action, a shop and an account that no live lease holds, oldest
    /// first (params: action, id_shop, the account's two token ids, limit). A plain read: `FOR
    /// UPDATE SKIP LOCKED` exists only on MySQL 8.0.1+ and MariaDB 10.6+; `claim_head` re-checks
    /// each row under its lock anyway.
    pub select_claimable: String,
    /// `claim_head` + `(?,?,...)`: leases the candidates still due and unleased (params: owner,
    /// lease seconds, action, ids). A candidate a concurrent claim holds is waited for, then seen
    /// leased and left: no task is leased twice. Id-targeted updates force the primary key: they
    /// lock only the rows they name, so concurrent requests do not deadlock through the indexes.
    pub claim_head: String,
    /// `claimed_of_head` + `(?,?,...)`: which of given ids `?` holds (params: owner, ids).
    pub claimed_of_head: String,
    /// Leases given SYNC_STATUS tasks of a shop's and an account's orders that no live lease
    /// holds (params: owner, lease seconds, id_shop, the two token ids, then the ids).
    pub claim_ids_head: String,
    /// Extends every lease of an owner (params: lease seconds, owner).
    pub renew: String,
    /// `in_list` appended: gives back leases of an owner (params: owner, ids).
    pub release_head: String,
    /// Gives back every lease of an owner (params: owner).
    pub release_all: String,
    /// `in_list` of the ids, then `mark_sent_versions` and `pairs_list` appended: (id, version) of
    /// the tasks sent, each moved to its kind's ticket check; a task re-armed meanwhile (another
    /// version) stays pending (params: batch, owner, the ids, the pairs). The plain id list is
    /// what the server reads by primary key: a row-constructor list alone made it scan the table
    /// (17 ms a statement at 10,000 tasks).
    pub mark_sent_head: String,
    pub mark_sent_versions: &'static str,
    /// Removes a pending task the caller decided not to send, if it is still the version it read
    /// and no other run holds it (params: id, version, owner or NULL).
    pub drop_pending: String,

    /// Back to its pending action after a failed send (params: ticket number, reason, delay
    /// minutes, id, check action, batch); IGNORE: if the order already has a newer pending status
    /// task, the unique key refuses, and `finish` removes this one instead.
    pub requeue: String,
    /// Attempts exhausted: back to its pending action, never due (`update_at` NULL) and marked
    /// `gave_up_at`, until the merchant retries or cancels it or a new status change re-arms it
    /// (same params as `requeue` without the delay).
    pub give_up: String,

    /// `in_list` appended: what the merchant's actions check of given tasks: (id, order, shop,
    /// shop group, the order's current state, action, gave up, waits, leased).
    pub merchant_rows_head: String,
    /// The merchant's "Send now": a pending task waiting for its delay or its retry, due now
    /// (params: id).
    pub send_now: String,
    /// The merchant's "Retry": a task that gave up, due now with its attempts reset (params: id).
    pub retry_gave_up: String,
    /// The merchant's "Cancel": a pending (or given-up) task no run is sending (params: id).
    pub cancel: String,
    /// Tasks that gave up more than `?` days ago, oldest first (params: days, limit).
    pub expired_gave_up: String,
    /// `in_list` appended: removes them, if still given up that long (params: days, ids).
    pub remove_expired_head: String,
    /// Removes a task waiting for the ticket of a given batch (params: id, check action, batch).
    pub finish: String,
    /// `in_list` appended: removes given tasks still waiting for a given batch (params: check
    /// action, batch, ids): the succeeded tickets of a batch in one statement.
    pub finish_many_head: String,
    /// Records the ticket number of a task waiting for its batch (params: ticket, id, check
    /// action, batch).
    pub set_ticket_number: String,

    /// Everything a status payload needs, for given task ids of a shop (params: id_shop, then
    /// `in_list` appended).
    pub status_rows_head: String,
    /// PARTIAL_REFUND tasks by id with the order's link and the slip (`in_list` appended).
    pub refund_rows_head: String,
    /// The credit slips of given orders that no task names: what a PARTIAL_REFUND task queued by
    /// the reference module (no slip id) refunds (`in_list` of orders appended).
    pub untracked_slips_head: String,
    /// UPLOAD_INVOICE tasks by id with their age and the order's Shopping Feed id (`in_list`).
    pub invoice_rows_head: String,
    /// Due, unleased UPLOAD_INVOICE tasks of active shops, oldest first, after a cursor (keyset
    /// paging on the `due` index): (task id, `update_at` as text, order, shop) (params: id_shop,
    /// id_shop, the cursor's `update_at` twice, its task id, limit; id_shop 0: every shop).
    pub invoices_to_render: String,
    /// Distinct batches of a check action waiting after a given batch id (keyset paging), each
    /// with whether it belongs to the shop and the account (params: action, id_shop, the two
    /// token ids, action, after, limit).
    pub batches_page: String,
    /// The tasks of a batch (params: action, batch id).
    pub batch_tasks: String,
    /// Due tasks of a shop per account of their order, for orders imported with an account.
    pub due_by_account: String,
    /// `getTaskOrders`: due tasks of an action in a shop's account, oldest change first.
    pub task_orders_due: String,

    /// The task grid: `list_columns` + `list_from` + a WHERE of `list_*` conditions + ORDER BY +
    /// LIMIT (see `queue::view`). Columns: id, order, shop, shop group, reference, marketplace,
    /// action, state, due at, attempts, ticket, batch, last error, slip, sent at, gave up at,
    /// added, updated, the order's current state.
    pub list_columns: String,
    pub list_from: String,
    /// The state the grid shows, a `TaskState` name (also what the state filter compares).
    pub list_state: String,
    /// The back office's health figures of given shops (`in_list` of shops appended): due,
    /// checking, gave up, the age in seconds of the oldest due task and of the oldest unchecked
    /// send.
    pub health_head: String,
    /// Each shop with due pending tasks and its oldest due time as text, oldest first: the order
    /// a CRON run serves its shops in.
    pub oldest_due_by_shop: String,
}

impl QueueSql {
    pub fn new(prefix: &TablePrefix) -> Self {
        let t = |name: &str| prefix.table(name);
        let task = t("shoppingfeed_task_order");
        let orders = t("orders");
        let sf = t("shoppingfeed_order");
        let slip = t("order_slip");
        // An order belongs to the account it was imported with; 0 (or no link row) to the shop's
        // first account, which is the only one given 0 as its second id.
        let account = "COALESCE(so.id_shoppingfeed_token, 0) IN (?, ?)";
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
        let status = TaskKind::Status.pending().as_str();
        // A new status change re-arms a task that gave up as a new one (attempts start again).
        // Assignments run left to right: attempts reads gave_up_at before it is cleared.
        let revive = "attempts = IF(gave_up_at IS NULL, attempts, 0), gave_up_at = NULL";
        // A failed send back to its pending action: due again after a delay (requeue), or never
        // due until the merchant acts (give up).
        let back_to_pending = |due: &str, gave_up: &str| {
            format!(
                "UPDATE IGNORE {task} SET action = {to_pending}, ticket_number = ?, batch_id = NULL, \
                   attempts = attempts + 1, last_error = ?, update_at = {due}, gave_up_at = {gave_up}, \
                   sent_at = NULL, lease_owner = NULL, lease_until = NULL, date_upd = NOW() \
                 WHERE id_shoppingfeed_task_order = ? AND action = ? AND batch_id = ?"
            )
        };
        // A live lease: a run is sending the task.
        let free = "(lease_until IS NULL OR lease_until < NOW())";
        let checking_actions = list(checking);
        let state = format!(
            "CASE WHEN t.gave_up_at IS NOT NULL THEN 'gave_up' \
                  WHEN t.action IN ({checking_actions}) THEN 'checking' \
                  WHEN t.lease_until >= NOW() THEN 'sending' \
                  WHEN t.update_at <= NOW() THEN 'due' \
                  WHEN t.attempts > 0 THEN 'retrying' ELSE 'waiting' END"
        );
        QueueSql {
            list_columns: format!(
                "SELECT t.id_shoppingfeed_task_order, t.id_order, o.id_shop, o.id_shop_group, o.reference, \
                        so.name_marketplace, t.action, {state}, CAST(t.update_at AS CHAR), t.attempts, \
                        t.ticket_number, t.batch_id, t.last_error, t.id_order_slip, CAST(t.sent_at AS CHAR), \
                        CAST(t.gave_up_at AS CHAR), CAST(t.date_add AS CHAR), CAST(t.date_upd AS CHAR), \
                        o.current_state "
            ),
            list_from: format!(
                "FROM {task} t JOIN {orders} o ON o.id_order = t.id_order \
                 LEFT JOIN {sf} so ON so.id_order = t.id_order "
            ),
            list_state: state.clone(),
            health_head: format!(
                "SELECT COALESCE(SUM(t.action IN ({pending_actions}) AND t.gave_up_at IS NULL AND t.update_at <= NOW()), 0), \
                        COALESCE(SUM(t.action IN ({checking_actions})), 0), \
                        COALESCE(SUM(t.gave_up_at IS NOT NULL), 0), \
                        TIMESTAMPDIFF(SECOND, MIN(IF(t.action IN ({pending_actions}) AND t.gave_up_at IS NULL \
                          AND t.update_at <= NOW(), t.update_at, NULL)), NOW()), \
                        TIMESTAMPDIFF(SECOND, MIN(IF(t.action IN ({checking_actions}), COALESCE(t.sent_at, t.date_upd), NULL)), NOW()) \
                 FROM {task} t JOIN {orders} o ON o.id_order = t.id_order WHERE o.id_shop IN "
            ),
            // No VALUES() in the update part: MySQL 8.0.20+ deprecates it.
            enqueue_status: format!(
                "INSERT INTO {task} (action, id_order, update_at, date_add, date_upd) \
                 VALUES ('{status}', ?, NOW() + INTERVAL ? MINUTE, NOW(), NOW()) \
                 ON DUPLICATE KEY UPDATE update_at = NOW() + INTERVAL ? MINUTE, date_upd = NOW(), \
                   {revive}, version = version + 1"
            ),
            // An UPDATE by the unique key first: cheaper than an INSERT that hits the duplicate.
            procedure_enqueue: format!(
                "UPDATE {task} SET update_at = NOW() + INTERVAL p_delay MINUTE, date_upd = NOW(), \
                   {revive}, version = version + 1 WHERE pending_order = p_order; \
                 IF ROW_COUNT() > 0 THEN SET v_written = 2; \
                 ELSE \
                   INSERT INTO {task} (action, id_order, update_at, date_add, date_upd) \
                   VALUES ('{status}', p_order, NOW() + INTERVAL p_delay MINUTE, NOW(), NOW()) \
                   ON DUPLICATE KEY UPDATE update_at = NOW() + INTERVAL p_delay MINUTE, date_upd = NOW(), \
                     {revive}, version = version + 1; \
                   SET v_written = IF(ROW_COUNT() = 1, 1, 2); \
                 END IF;"
            ),
            enqueue_slip: format!(
                "INSERT IGNORE INTO {task} (action, id_order, id_order_slip, update_at, date_add, date_upd) \
                 VALUES ('{}', ?, ?, NOW(), NOW(), NOW())",
                TaskKind::PartialRefund.pending().as_str()
            ),
            enqueue_invoice: format!(
                "INSERT IGNORE INTO {task} (action, id_order, update_at, date_add, date_upd) \
                 VALUES ('{}', ?, NOW(), NOW(), NOW())",
                TaskKind::Invoice.pending().as_str()
            ),
            expedite: format!(
                "UPDATE {task} SET update_at = NOW(), date_upd = NOW(), version = version + 1 \
                 WHERE pending_order = ? AND update_at > NOW()"
            ),
            pending_status: format!(
                "SELECT id_shoppingfeed_task_order FROM {task} WHERE pending_order = ? AND gave_up_at IS NULL"
            ),
            with_status_task_head: format!(
                "SELECT DISTINCT id_order FROM {task} WHERE action IN (?, ?) AND id_order IN "
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
            claim_ids_head: format!(
                "UPDATE {task} FORCE INDEX (PRIMARY) SET lease_owner = ?, lease_until = NOW() + INTERVAL ? SECOND \
                 WHERE action = '{status}' AND gave_up_at IS NULL AND (lease_until IS NULL OR lease_until < NOW()) \
                   AND id_order IN (SELECT o.id_order FROM {orders} o LEFT JOIN {sf} so ON so.id_order = o.id_order \
                     WHERE o.id_shop = ? AND {account}) \
                   AND id_shoppingfeed_task_order IN "
            ),
            renew: format!(
                "UPDATE {task} SET lease_until = NOW() + INTERVAL ? SECOND WHERE lease_owner = ?"
            ),
            release_head: format!(
                "UPDATE {task} FORCE INDEX (PRIMARY) SET lease_owner = NULL, lease_until = NULL \
                 WHERE lease_owner = ? AND id_shoppingfeed_task_order IN "
            ),
            release_all: format!(
                "UPDATE {task} SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?"
            ),
            mark_sent_head: format!(
                "UPDATE {task} FORCE INDEX (PRIMARY) SET action = {to_check}, batch_id = ?, ticket_number = NULL, \
                   sent_at = NOW(), lease_owner = NULL, lease_until = NULL, date_upd = NOW() \
                 WHERE lease_owner = ? AND action IN ({pending_actions}) AND id_shoppingfeed_task_order IN "
            ),
            mark_sent_versions: " AND (id_shoppingfeed_task_order, version) IN ",
            drop_pending: format!(
                "DELETE FROM {task} WHERE id_shoppingfeed_task_order = ? AND version = ? \
                   AND action IN ({pending_actions}) \
                   AND (lease_owner <=> ? OR lease_until IS NULL OR lease_until < NOW())"
            ),
            requeue: back_to_pending("NOW() + INTERVAL ? MINUTE", "NULL"),
            give_up: back_to_pending("NULL", "NOW()"),
            merchant_rows_head: format!(
                "SELECT t.id_shoppingfeed_task_order, t.id_order, o.id_shop, o.id_shop_group, o.current_state, \
                        t.action, t.gave_up_at IS NOT NULL, t.update_at > NOW(), \
                        t.lease_until IS NOT NULL AND t.lease_until >= NOW() \
                 FROM {task} t JOIN {orders} o ON o.id_order = t.id_order \
                 WHERE t.id_shoppingfeed_task_order IN "
            ),
            send_now: format!(
                "UPDATE {task} SET update_at = NOW(), date_upd = NOW(), version = version + 1 \
                 WHERE id_shoppingfeed_task_order = ? AND action IN ({pending_actions}) \
                   AND gave_up_at IS NULL AND update_at > NOW() AND {free}"
            ),
            retry_gave_up: format!(
                "UPDATE {task} SET update_at = NOW(), gave_up_at = NULL, attempts = 0, date_upd = NOW(), \
                   version = version + 1 \
                 WHERE id_shoppingfeed_task_order = ? AND gave_up_at IS NOT NULL"
            ),
            cancel: format!(
                "DELETE FROM {task} WHERE id_shoppingfeed_task_order = ? \
                   AND action IN ({pending_actions}) AND {free}"
            ),
            expired_gave_up: format!(
                "SELECT id_shoppingfeed_task_order, id_order FROM {task} \
                 WHERE gave_up_at < NOW() - INTERVAL ? DAY ORDER BY gave_up_at LIMIT ? FOR UPDATE"
            ),
            remove_expired_head: format!(
                "DELETE FROM {task} WHERE gave_up_at < NOW() - INTERVAL ? DAY AND id_shoppingfeed_task_order IN "
            ),
            finish: format!(
                "DELETE FROM {task} WHERE id_shoppingfeed_task_order = ? AND action = ? AND batch_id = ?"
            ),
            finish_many_head: format!(
                "DELETE FROM {task} WHERE action = ? AND batch_id = ? AND id_shoppingfeed_task_order IN "
            ),
            set_ticket_number: format!(
                "UPDATE IGNORE {task} SET ticket_number = ? \
                 WHERE id_shoppingfeed_task_order = ? AND action = ? AND batch_id = ? AND ticket_number IS NULL"
            ),
            // The order's current state, its link, its first carrier line.
            status_rows_head: format!(
                "SELECT t.id_shoppingfeed_task_order, t.id_order, t.attempts, o.current_state, \
                        so.id_internal_shoppingfeed, so.id_order_marketplace, so.name_marketplace, \
                        c.name, c.url, oc.tracking_number, t.version \
                 FROM {task} t JOIN {orders} o ON o.id_order = t.id_order \
                 LEFT JOIN {sf} so ON so.id_order = t.id_order \
                 LEFT JOIN {oc} oc ON oc.id_order_carrier = \
                     (SELECT MIN(x.id_order_carrier) FROM {oc} x WHERE x.id_order = t.id_order) \
                 LEFT JOIN {carrier} c ON c.id_carrier = COALESCE(oc.id_carrier, o.id_carrier) \
                 WHERE t.action = '{status}' AND o.id_shop = ? AND t.id_shoppingfeed_task_order IN ",
                oc = t("order_carrier"),
                carrier = t("carrier"),
            ),
            refund_rows_head: format!(
                "SELECT t.id_shoppingfeed_task_order, t.id_order, t.attempts, t.version, t.id_order_slip, \
                        s.id_order_slip IS NOT NULL, s.shipping_cost, \
                        so.id_internal_shoppingfeed, so.id_order_marketplace, so.name_marketplace \
                 FROM {task} t LEFT JOIN {sf} so ON so.id_order = t.id_order \
                 LEFT JOIN {slip} s ON s.id_order_slip = t.id_order_slip \
                 WHERE t.action = '{}' AND t.id_shoppingfeed_task_order IN ",
                TaskKind::PartialRefund.pending().as_str()
            ),
            untracked_slips_head: format!(
                "SELECT s.id_order, s.id_order_slip, s.shipping_cost FROM {slip} s \
                 WHERE NOT EXISTS (SELECT 1 FROM {task} x WHERE x.id_order_slip = s.id_order_slip) \
                   AND s.id_order IN "
            ),
            invoice_rows_head: format!(
                "SELECT t.id_shoppingfeed_task_order, t.id_order, t.attempts, t.version, \
                        TIMESTAMPDIFF(MINUTE, t.date_add, NOW()), so.id_internal_shoppingfeed \
                 FROM {task} t LEFT JOIN {sf} so ON so.id_order = t.id_order \
                 WHERE t.action = '{}' AND t.id_shoppingfeed_task_order IN ",
                TaskKind::Invoice.pending().as_str()
            ),
            invoices_to_render: format!(
                "SELECT t.id_shoppingfeed_task_order, CAST(t.update_at AS CHAR), t.id_order, o.id_shop \
                 FROM {task} t \
                 JOIN {orders} o ON o.id_order = t.id_order \
                 JOIN {shop} s ON s.id_shop = o.id_shop AND s.active = 1 AND s.deleted = 0 \
                 WHERE t.action = '{}' AND t.update_at <= NOW() \
                   AND (t.lease_until IS NULL OR t.lease_until < NOW()) AND (? = 0 OR o.id_shop = ?) \
                   AND (t.update_at > ? OR (t.update_at = ? AND t.id_shoppingfeed_task_order > ?)) \
                 ORDER BY t.update_at, t.id_shoppingfeed_task_order LIMIT ?",
                TaskKind::Invoice.pending().as_str(),
                shop = t("shop"),
            ),
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
            // Read from the `account` index, so a shop whose orders have no account pays nothing
            // (counting every due task cost 0.14 s per run at 20,000 tasks).
            due_by_account: format!(
                "SELECT so.id_shoppingfeed_token, COUNT(*) FROM {sf} so \
                 JOIN {task} t ON t.id_order = so.id_order JOIN {orders} o ON o.id_order = so.id_order \
                 WHERE so.id_shoppingfeed_token > 0 AND t.action IN ({pending_actions}) \
                   AND t.update_at <= NOW() AND o.id_shop = ? \
                 GROUP BY so.id_shoppingfeed_token"
            ),
            oldest_due_by_shop: format!(
                "SELECT o.id_shop, CAST(MIN(t.update_at) AS CHAR) oldest FROM {task} t \
                 JOIN {orders} o ON o.id_order = t.id_order \
                 WHERE t.action IN ({pending_actions}) AND t.update_at <= NOW() \
                 GROUP BY o.id_shop ORDER BY oldest, o.id_shop"
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
