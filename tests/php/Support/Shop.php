<?php
namespace Shoppingfeed\Sync\Tests;

/** Builds PrestaShop data for a test: configuration, the legacy module, orders and their links. */
final class Shop
{
    public const SHIPPED = 4;
    public const DELIVERED = 5;
    public const CANCELED = 6;
    public const REFUNDED = 7;
    public const PAYMENT_ACCEPTED = 2;

    /** Empties what tests write, then sets a shop where synchronization is available. */
    public static function reset(): void
    {
        // Rows a previous test left in the request's log buffer must not land in this one.
        \Shoppingfeed\Sync\OrderSync::flushLogs();
        $pdo = TestDatabase::pdo();
        foreach (['orders', 'order_carrier', 'order_invoice', 'carrier', 'message', 'module', 'module_shop',
                  'shoppingfeed_task_order', 'shoppingfeed_order', 'shoppingfeed_processlogger',
                  'shoppingfeed_processmonitor', 'shoppingfeed_sync_notice', 'shoppingfeed_sync_operation'] as $t) {
            $pdo->exec("DELETE FROM ps_$t");
        }
        $pdo->exec('DELETE FROM ps_shop WHERE id_shop > 1');
        $pdo->exec("DELETE FROM ps_configuration WHERE name LIKE 'SHOPPINGFEED\\_%' OR name LIKE 'SHOPPING\\_FLUX\\_%' OR name = 'PS_MULTISHOP_FEATURE_ACTIVE'");
        self::installLegacyModule(true);
        self::config('SHOPPINGFEED_ORDER_SYNC_ENABLED', '1');
        self::config('SHOPPINGFEED_SHIPPED_ORDERS', json_encode([(string) self::SHIPPED, (string) self::DELIVERED]));
        self::config('SHOPPINGFEED_CANCELLED_ORDERS', json_encode([self::CANCELED]));
        self::config('SHOPPINGFEED_REFUNDED_ORDERS', json_encode([(string) self::REFUNDED]));
        self::config('SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT', '5');
        self::config('SHOPPING_FLUX_STATUS_SHIPPED', '');
        self::config('SHOPPING_FLUX_STATUS_CANCELED', '');
    }

    /**
     * Multistore on as PrestaShop sees it (`PS_MULTISHOP_FEATURE_ACTIVE` and a second shop, 2 of
     * group 1): only then are shop and group configuration rows read (`Configuration::get`).
     */
    public static function multistore(): void
    {
        TestDatabase::pdo()->exec("INSERT IGNORE INTO ps_shop (id_shop, id_shop_group, name, color, id_category, theme_name, active, deleted) VALUES (2, 1, 'Second', '', 2, 'classic', 1, 0)");
        self::config('PS_MULTISHOP_FEATURE_ACTIVE', '1');
    }

    /** Sets a configuration value at global (both null), group or shop level. */
    public static function config(string $name, ?string $value, ?int $idShop = null, ?int $idShopGroup = null): void
    {
        $pdo = TestDatabase::pdo();
        $del = $pdo->prepare('DELETE FROM ps_configuration WHERE name = ? AND id_shop <=> ? AND id_shop_group <=> ?');
        $del->execute([$name, $idShop, $idShopGroup]);
        $ins = $pdo->prepare('INSERT INTO ps_configuration (id_shop_group, id_shop, name, value, date_add, date_upd) VALUES (?, ?, ?, ?, NOW(), NOW())');
        $ins->execute([$idShopGroup, $idShop, $name, $value]);
    }

    public static function installLegacyModule(bool $active, int $idShop = 1): void
    {
        $pdo = TestDatabase::pdo();
        $pdo->exec("DELETE FROM ps_module WHERE name = 'shoppingfluxexport'");
        $pdo->prepare("INSERT INTO ps_module (name, active, version) VALUES ('shoppingfluxexport', ?, '4.6.2')")->execute([(int) $active]);
        $id = (int) $pdo->lastInsertId();
        $pdo->prepare('INSERT INTO ps_module_shop (id_module, id_shop) VALUES (?, ?)')->execute([$id, $idShop]);
    }

    /** A second active shop (id 2, same group), with the legacy module installed for it too. */
    public static function secondShop(): int
    {
        $pdo = TestDatabase::pdo();
        $pdo->exec("INSERT INTO ps_shop (id_shop, id_shop_group, name, color, id_category, theme_name, active, deleted) VALUES (2, 1, 'Second', '', 2, 'classic', 1, 0)");
        $pdo->exec("INSERT INTO ps_module_shop (id_module, id_shop) SELECT id_module, 2 FROM ps_module WHERE name = 'shoppingfluxexport'");
        return 2;
    }

    public static function uninstallLegacyModule(): void
    {
        TestDatabase::pdo()->exec("DELETE m, ms FROM ps_module m LEFT JOIN ps_module_shop ms ON ms.id_module = m.id_module WHERE m.name = 'shoppingfluxexport'");
    }

    /** An order; `sf` links it to Shopping Feed with a marketplace reference. */
    public static function order(int $state, bool $sf = true, string $module = 'sfpayment', string $payment = 'Amazon', int $idShop = 1, ?string $reference = null): int
    {
        $pdo = TestDatabase::pdo();
        $pdo->prepare("INSERT INTO ps_orders (reference, id_shop_group, id_shop, id_carrier, id_lang, id_customer, id_cart, id_currency,
              id_address_delivery, id_address_invoice, current_state, payment, module, invoice_date, delivery_date, valid, date_add, date_upd)
            VALUES (?, 1, ?, 1, 1, 1, 1, 1, 1, 1, ?, ?, ?, NOW(), NOW(), 1, NOW(), NOW())")
            ->execute([substr(strtoupper(bin2hex(random_bytes(5))), 0, 9), $idShop, $state, $payment, $module]);
        $id = (int) $pdo->lastInsertId();
        if ($sf) {
            $pdo->prepare('INSERT INTO ps_shoppingfeed_order (id_order_marketplace, name_marketplace, id_order, date_add, date_upd) VALUES (?, ?, ?, NOW(), NOW())')
                ->execute([$reference ?? "MP-$id", $payment, $id]);
        }
        return $id;
    }

    public static function setState(int $idOrder, int $state): void
    {
        TestDatabase::pdo()->prepare('UPDATE ps_orders SET current_state = ? WHERE id_order = ?')->execute([$state, $idOrder]);
    }

    /** @return list<array<string, mixed>> */
    public static function tasks(?int $idOrder = null): array
    {
        $sql = 'SELECT *, TIMESTAMPDIFF(SECOND, NOW(), update_at) AS due_in FROM ps_shoppingfeed_task_order' . ($idOrder ? ' WHERE id_order = ' . $idOrder : '') . ' ORDER BY id_shoppingfeed_task_order';
        return TestDatabase::pdo()->query($sql)->fetchAll(\PDO::FETCH_ASSOC);
    }

    /** @return list<array<string, mixed>> */
    public static function logs(?string $level = null): array
    {
        // Hook rows are buffered for the request: write them before reading the table.
        \Shoppingfeed\Sync\OrderSync::flushLogs();
        $sql = 'SELECT * FROM ps_shoppingfeed_processlogger' . ($level ? ' WHERE level = ' . TestDatabase::pdo()->quote($level) : '') . ' ORDER BY id_shoppingfeed_processlogger';
        return TestDatabase::pdo()->query($sql)->fetchAll(\PDO::FETCH_ASSOC);
    }

    /** The CRON's configuration: API token and store of the simulator, no time shift. */
    public static function cronConfig(string $token = 'T', int $storeId = 1276): void
    {
        self::config('SHOPPINGFEED_AUTH_TOKEN', $token);
        self::config('SHOPPINGFEED_STORE_ID', (string) $storeId);
        self::config('SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT', '0');
    }

    /** A Shopping Feed order whose link row carries the Shopping Feed id `sfId`. */
    public static function sfOrder(int $state, int $sfId, ?string $reference = null, int $idShop = 1): int
    {
        $id = self::order($state, true, 'sfpayment', 'Amazon', $idShop, $reference);
        TestDatabase::pdo()->prepare('UPDATE ps_shoppingfeed_order SET id_internal_shoppingfeed = ? WHERE id_order = ?')
            ->execute([(string) $sfId, $id]);
        return $id;
    }

    /** An invoice of the order (PrestaShop's order_invoice), numbered `number`; returns its id. */
    public static function invoice(int $idOrder, int $number): int
    {
        $pdo = TestDatabase::pdo();
        $pdo->prepare('INSERT INTO ps_order_invoice (id_order, number, delivery_number, shipping_tax_computation_method, date_add) VALUES (?, ?, 0, 0, NOW())')
            ->execute([$idOrder, $number]);
        $id = (int) $pdo->lastInsertId();
        $pdo->prepare('UPDATE ps_orders SET invoice_number = ? WHERE id_order = ?')->execute([$number, $idOrder]);
        return $id;
    }

    public static function carrier(string $name, ?string $url): int
    {
        $pdo = TestDatabase::pdo();
        $pdo->prepare('INSERT INTO ps_carrier (id_reference, name, url, active) VALUES (0, ?, ?, 1)')->execute([$name, $url]);
        $id = (int) $pdo->lastInsertId();
        $pdo->exec("UPDATE ps_carrier SET id_reference = $id WHERE id_carrier = $id");
        return $id;
    }

    public static function tracking(int $idOrder, int $idCarrier, ?string $trackingNumber): void
    {
        TestDatabase::pdo()->prepare('INSERT INTO ps_order_carrier (id_order, id_carrier, tracking_number, date_add) VALUES (?, ?, ?, NOW())')
            ->execute([$idOrder, $idCarrier, $trackingNumber]);
    }

    /** @return list<array<string, mixed>> failure notices waiting for an accepted e-mail */
    public static function notices(): array
    {
        return TestDatabase::pdo()->query('SELECT * FROM ps_shoppingfeed_sync_notice ORDER BY id_shoppingfeed_sync_notice')->fetchAll(\PDO::FETCH_ASSOC);
    }

    /** The PrestaShop reference of an order. */
    public static function reference(int $idOrder): string
    {
        return (string) TestDatabase::pdo()->query("SELECT reference FROM ps_orders WHERE id_order = $idOrder")->fetchColumn();
    }
}
