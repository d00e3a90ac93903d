<?php
/**
 * The plain-PHP baseline of the hook `actionOrderStatusPostUpdate` + `saveTaskOrder`
 * (module-behavior.md §3.2-§3.3), written the way a good PrestaShop developer would write it with
 * PDO, outside PrestaShop's ObjectModel but with the same rules and the same persistence pattern:
 *
 *  1. the order, its `shoppingfeed_order` row and the legacy module state, in ONE query (a join; no
 *     separate Module::isInstalled / ShoppingfeedOrder::getByIdOrder / new Order round trips);
 *  2. the configuration keys of the gate and the lists, in ONE query, resolved shop → group → global
 *     as Configuration::get does;
 *  3. gate (sync enabled, legacy module installed + active, its two order-sync options off),
 *     Shopping Feed order, marketplace reference, new state in one of the three lists;
 *  4. the ObjectModel path of `saveTaskOrder`: `getFromOrderAction()` (SELECT the pending task),
 *     then `save()` = UPDATE of that row, or INSERT of a new one; `update_at` = now, plus the time
 *     shift when the order's state is a shipped state;
 *  5. the two ProcessLogger rows ("Process started", "Order registered") in one multi-row INSERT, as
 *     Classlib's buffered `closeLogger()` does.
 *
 * Statements are prepared once per process and reused (PDO's default emulated prepares: one round
 * trip per execute). 5 round trips per queued change.
 */

declare(strict_types=1);

final class HookBaseline
{
    private const KEYS = ['SHOPPINGFEED_ORDER_SYNC_ENABLED', 'SHOPPINGFEED_SHIPPED_ORDERS', 'SHOPPINGFEED_CANCELLED_ORDERS',
        'SHOPPINGFEED_REFUNDED_ORDERS', 'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT', 'SHOPPING_FLUX_STATUS_SHIPPED', 'SHOPPING_FLUX_STATUS_CANCELED'];

    private PDO $pdo;
    private PDOStatement $order;
    private PDOStatement $config;
    private PDOStatement $findTask;
    private PDOStatement $insertTask;
    private PDOStatement $updateTask;
    private PDOStatement $log;

    public function __construct(PDO $pdo, string $prefix = 'ps_')
    {
        $this->pdo = $pdo;
        $this->order = $pdo->prepare(
            "SELECT o.id_order, o.id_shop, o.id_shop_group, o.current_state,
                    so.id_shoppingfeed_order, so.id_order_marketplace, so.id_internal_shoppingfeed,
                    (SELECT COUNT(*) FROM {$prefix}module m WHERE m.name = 'shoppingfluxexport') AS legacy_installed,
                    (SELECT m.active FROM {$prefix}module m JOIN {$prefix}module_shop ms ON ms.id_module = m.id_module AND ms.id_shop = o.id_shop
                      WHERE m.name = 'shoppingfluxexport') AS legacy_active
             FROM {$prefix}orders o LEFT JOIN {$prefix}shoppingfeed_order so ON so.id_order = o.id_order
             WHERE o.id_order = ?");
        $in = implode(',', array_fill(0, count(self::KEYS), '?'));
        $this->config = $pdo->prepare(
            "SELECT name, value, id_shop, id_shop_group FROM {$prefix}configuration
             WHERE name IN ($in) AND (id_shop = ? OR (id_shop IS NULL AND (id_shop_group = ? OR id_shop_group IS NULL)))");
        $this->findTask = $pdo->prepare(
            "SELECT id_shoppingfeed_task_order FROM {$prefix}shoppingfeed_task_order WHERE id_order = ? AND action = 'SYNC_STATUS' LIMIT 1");
        $this->insertTask = $pdo->prepare(
            "INSERT INTO {$prefix}shoppingfeed_task_order (action, id_order, update_at, date_add, date_upd) VALUES ('SYNC_STATUS', ?, ?, ?, ?)");
        $this->updateTask = $pdo->prepare(
            "UPDATE {$prefix}shoppingfeed_task_order SET update_at = ?, date_upd = ? WHERE id_shoppingfeed_task_order = ?");
        $this->log = $pdo->prepare(
            "INSERT INTO {$prefix}shoppingfeed_processlogger (name, msg, level, object_name, object_id, date_add)
             VALUES ('default', ?, 'info', 'Order', ?, ?), ('default', ?, 'success', 'Order', ?, ?)");
    }

    /** The hook: true when a task was queued or re-armed. */
    public function onOrderStatusUpdate(int $idOrder, int $newStateId): bool
    {
        $this->order->execute([$idOrder]);
        $order = $this->order->fetch(PDO::FETCH_ASSOC);
        $this->order->closeCursor();
        if ($order === false || $order['id_shoppingfeed_order'] === null) {
            return false;
        }
        $conf = $this->configuration((int) $order['id_shop'], (int) $order['id_shop_group']);
        if (empty($conf['SHOPPINGFEED_ORDER_SYNC_ENABLED'])
            || (int) $order['legacy_installed'] === 0 || (int) $order['legacy_active'] !== 1
            || ($conf['SHOPPING_FLUX_STATUS_SHIPPED'] ?? '') != '' || ($conf['SHOPPING_FLUX_STATUS_CANCELED'] ?? '') != '') {
            return false;
        }
        if (trim((string) $order['id_order_marketplace']) === '' && trim((string) $order['id_internal_shoppingfeed']) === '') {
            return false; // the reference then reads the legacy module's message (not exercised here)
        }
        $shipped = $this->stateList($conf['SHOPPINGFEED_SHIPPED_ORDERS'] ?? null);
        $mapped = array_merge($shipped, $this->stateList($conf['SHOPPINGFEED_CANCELLED_ORDERS'] ?? null),
            $this->stateList($conf['SHOPPINGFEED_REFUNDED_ORDERS'] ?? null));
        if (!in_array($newStateId, $mapped, true)) {
            return false;
        }

        $now = time();
        $updateAt = $now;
        if (in_array((int) $order['current_state'], $shipped, true)) {
            $updateAt += 60 * (int) ($conf['SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT'] ?? 5);
        }
        $nowSql = date('Y-m-d H:i:s', $now);
        $updateAtSql = date('Y-m-d H:i:s', $updateAt);

        // ShoppingfeedTaskOrder::getFromOrderAction() then ObjectModel::save(): select, then update or insert.
        $this->findTask->execute([$idOrder]);
        $idTask = $this->findTask->fetchColumn();
        $this->findTask->closeCursor();
        if ($idTask !== false) {
            $this->updateTask->execute([$updateAtSql, $nowSql, $idTask]);
        } else {
            $this->insertTask->execute([$idOrder, $updateAtSql, $nowSql, $nowSql]);
        }
        $this->log->execute([
            "[Order: $idOrder] Process started Order $idOrder", $idOrder, $nowSql,
            "[Order: $idOrder] Order registered for synchronization; action SYNC_STATUS", $idOrder, $nowSql,
        ]);
        return true;
    }

    /** Configuration::get() for a shop: the shop's value, else its group's, else the global one. */
    private function configuration(int $idShop, int $idGroup): array
    {
        $this->config->execute(array_merge(self::KEYS, [$idShop, $idGroup]));
        $best = [];
        foreach ($this->config->fetchAll(PDO::FETCH_ASSOC) as $row) {
            $rank = $row['id_shop'] !== null ? 3 : ($row['id_shop_group'] !== null ? 2 : 1);
            if (!isset($best[$row['name']]) || $best[$row['name']][0] < $rank) {
                $best[$row['name']] = [$rank, (string) $row['value']];
            }
        }
        return array_map(static fn (array $b) => $b[1], $best);
    }

    /** A JSON list of state ids (strings or ints) as ints. */
    private function stateList(?string $json): array
    {
        $list = json_decode((string) $json, true);
        return is_array($list) ? array_map('intval', array_values($list)) : [];
    }
}
