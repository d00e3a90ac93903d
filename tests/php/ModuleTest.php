<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\Tests\ModuleHarness;
use Shoppingfeed\Sync\Tests\Shop;
use Shoppingfeed\Sync\Tests\TestDatabase;

require_once __DIR__ . '/Support/ModuleHarness.php';

/**
 * The PrestaShop module in php/ as a merchant meets it: install, uninstall, upgrade, and the
 * configuration page, each a PrestaShop request of its own (real PHP binary, the built extension,
 * PrestaShop 8's classes from the harness, the test database's fixture tables).
 *
 * Group module-install: installs the module from php/sql/install.sql (MySQL 5.7+ / MariaDB).
 *
 * @group module-install
 */
final class ModuleTest extends TestCase
{
    private const SUBMIT = 'submitShoppingfeedSync';
    private const HOOKS = ['actionAdminOrdersTrackingNumberUpdate', 'actionObjectOrderCarrierUpdateAfter', 'actionOrderGridDefinitionModifier', 'actionOrderSlipAdd',
        'actionOrderStatusPostUpdate', 'actionValidateOrder', 'displayAdminOrder', 'displayAdminOrderMain', 'displayBackOfficeHeader'];

    public static function setUpBeforeClass(): void
    {
        ModuleHarness::boot();
    }

    protected function setUp(): void
    {
        Shop::reset();
        ModuleHarness::forgetModule();
    }

    protected function tearDown(): void
    {
        // Tests drop tables and add shops; the other test classes need the shop as Shop::reset() leaves it.
        ModuleHarness::restoreModuleTables();
        ModuleHarness::forgetModule();
        Shop::reset();
    }

    private static function request(array $request, array $context = [], array $ini = []): array
    {
        $r = ModuleHarness::request($request, $context, $ini);
        self::assertSame(0, $r['rc'], $r['stderr']);
        self::assertSame('', $r['stderr'], 'PHP notices or warnings');

        return $r;
    }

    private static function install(array $context = []): array
    {
        $r = self::request(['action' => 'install'], $context)['result'];
        self::assertTrue($r['result'], json_encode($r['errors']));

        return $r;
    }

    private static function page(array $post = [], array $context = []): string
    {
        return self::request(['action' => 'content', 'post' => $post], $context)['result']['html'];
    }

    /** A complete valid submission, with overrides. */
    private static function submission(array $fields = []): array
    {
        return $fields + [
            self::SUBMIT => '1',
            'SHOPPINGFEED_ORDER_SYNC_ENABLED' => '1',
            'SHOPPINGFEED_SHIPPED_ORDERS' => [(string) Shop::SHIPPED, (string) Shop::DELIVERED],
            'SHOPPINGFEED_CANCELLED_ORDERS' => [(string) Shop::CANCELED],
            'SHOPPINGFEED_REFUNDED_ORDERS' => [(string) Shop::REFUNDED],
            'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '0',
            'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '50',
        ];
    }

    private static function moduleRow(string $name = 'shoppingfeedsync'): ?array
    {
        $st = TestDatabase::pdo()->prepare('SELECT * FROM ps_module WHERE name = ?');
        $st->execute([$name]);

        return $st->fetch(\PDO::FETCH_ASSOC) ?: null;
    }

    /** @return list<string> hook names the module is registered on for the shop */
    private static function hooks(int $idShop = 1): array
    {
        $st = TestDatabase::pdo()->prepare("SELECT h.name FROM ps_hook_module hm JOIN ps_hook h ON h.id_hook = hm.id_hook
            JOIN ps_module m ON m.id_module = hm.id_module WHERE m.name = 'shoppingfeedsync' AND hm.id_shop = ? ORDER BY h.name");
        $st->execute([$idShop]);

        return $st->fetchAll(\PDO::FETCH_COLUMN);
    }

    private static function dropModuleTables(): void
    {
        foreach (['shoppingfeed_task_order', 'shoppingfeed_order', 'shoppingfeed_processlogger', 'shoppingfeed_processmonitor', 'shoppingfeed_token', 'shoppingfeed_sync_notice', 'shoppingfeed_sync_operation'] as $t) {
            TestDatabase::pdo()->exec("DROP TABLE IF EXISTS ps_$t");
        }
    }

    /** @return array<string, int> rows of each module table */
    private static function rowCounts(): array
    {
        $out = [];
        foreach (['shoppingfeed_task_order', 'shoppingfeed_order', 'shoppingfeed_processlogger', 'shoppingfeed_sync_notice', 'shoppingfeed_sync_operation'] as $t) {
            $out[$t] = ModuleHarness::tableExists("ps_$t") ? (int) TestDatabase::pdo()->query("SELECT COUNT(*) FROM ps_$t")->fetchColumn() : -1;
        }

        return $out;
    }

    /**
     * What a shop that ran the synchronization holds: a queued task, an order link, a failure
     * notice, a log row, a sent tracking number, and settings saved on the page.
     *
     * @return int the queued order
     */
    private static function merchantData(): int
    {
        self::page(self::submission(['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '10', 'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '7']));
        $id = Shop::order(Shop::SHIPPED);
        self::request(['action' => 'status_update', 'id_order' => $id, 'id_order_state' => Shop::SHIPPED]);
        $pdo = TestDatabase::pdo();
        $pdo->exec("INSERT INTO ps_shoppingfeed_sync_notice (id_shop, id_order, operation, reason, gave_up, date_add) VALUES (1, $id, 'ship', 'Carrier not accepted', 0, NOW())");
        $pdo->exec("INSERT INTO ps_shoppingfeed_sync_operation (id_order, operation, tracking_number, result, date_add, date_upd) VALUES ($id, 'ship', 'TRACK-1', 'succeeded', NOW(), NOW())");
        $pdo->exec("INSERT INTO ps_shoppingfeed_processlogger (name, msg, level, object_name, object_id, date_add) VALUES ('shoppingfeed:syncOrder', 'run', 'info', 'Order', $id, NOW())");

        return $id;
    }

    /** A second shop in group 1, with multistore on (PrestaShop's PS_MULTISHOP_FEATURE_ACTIVE). */
    private static function secondShop(): void
    {
        TestDatabase::pdo()->exec("INSERT INTO ps_shop (id_shop, id_shop_group, name, color, id_category, theme_name, active, deleted) VALUES (2, 1, 'Second shop', '', 2, 'classic', 1, 0)");
        Shop::config('PS_MULTISHOP_FEATURE_ACTIVE', '1');
    }

    /** The options of the multiple select of a list, as [id => [name, selected]]. */
    private static function options(string $html, string $key): array
    {
        $doc = new \DOMDocument();
        self::assertTrue(@$doc->loadHTML('<?xml encoding="utf-8"?>' . $html));
        $select = (new \DOMXPath($doc))->query("//select[@name='{$key}[]']")->item(0);
        self::assertNotNull($select, "select {$key}[]");
        self::assertSame('multiple', $select->getAttribute('multiple'));
        $out = [];
        foreach ($select->getElementsByTagName('option') as $o) {
            $out[(int) $o->getAttribute('value')] = [$o->textContent, $o->hasAttribute('selected')];
        }

        return $out;
    }

    private static function errorBlock(string $html): string
    {
        return preg_match('#<div class="module_error alert alert-danger">(.*?)</div></div>#s', $html, $m) ? $m[1] : '';
    }

    // ---- install ------------------------------------------------------------------------------

    public function testInstallCreatesTheTablesRegistersTheHooksAndWritesTheDefaults(): void
    {
        self::dropModuleTables();
        Shop::config('SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT', '12'); // a value the Shopping Feed module already set
        Shop::config('SHOPPING_FLUX_TOKEN', 'legacy-token'); // one shop, multistore off: a global row

        self::install();

        foreach (['shoppingfeed_task_order', 'shoppingfeed_order', 'shoppingfeed_processlogger', 'shoppingfeed_processmonitor', 'shoppingfeed_token', 'shoppingfeed_sync_notice', 'shoppingfeed_sync_operation'] as $t) {
            $this->assertTrue(ModuleHarness::tableExists("ps_$t"), $t);
        }
        $row = self::moduleRow();
        $this->assertNotNull($row);
        $this->assertSame('0.5.0', $row['version']);
        $this->assertSame(1, (int) $row['active']);
        $this->assertSame(1, (int) TestDatabase::pdo()->query("SELECT COUNT(*) FROM ps_module_shop WHERE id_module = {$row['id_module']} AND id_shop = 1")->fetchColumn());
        $this->assertSame(self::HOOKS, self::hooks());

        // Default order states: PrestaShop's own PS_OS_* of this shop (fixtures: 4, 6, 7).
        $ps = static fn (string $k): string => (string) TestDatabase::pdo()->query("SELECT value FROM ps_configuration WHERE name = '$k'")->fetchColumn();
        $this->assertSame([
            'SHOPPINGFEED_ALLOW_PARTIAL_REFUND' => '0',
            'SHOPPINGFEED_AUTH_TOKEN' => 'legacy-token',
            'SHOPPINGFEED_CANCELLED_ORDERS' => json_encode([$ps('PS_OS_CANCELED')]),
            'SHOPPINGFEED_DELIVERED_ORDERS' => '[]',
            'SHOPPINGFEED_LOG_RETENTION_DAYS' => '30',
            'SHOPPINGFEED_ORDER_INVOICE_SYNC_MARKETPLACES' => '[]',
            'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '100',
            'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '12',
            'SHOPPINGFEED_ORDER_SYNC_CRON_INTERVAL_MINUTES' => '15',
            'SHOPPINGFEED_ORDER_SYNC_DRY_RUN' => '0',
            'SHOPPINGFEED_ORDER_SYNC_DUE_ALERT_MINUTES' => '60',
            'SHOPPINGFEED_ORDER_SYNC_ENABLED' => '0',
            'SHOPPINGFEED_ORDER_SYNC_GAVE_UP_RETENTION_DAYS' => '30',
            'SHOPPINGFEED_ORDER_SYNC_SHIP_WAITS_TRACKING' => '0',
            'SHOPPINGFEED_ORDER_SYNC_SHIP_WAIT_MAX_HOURS' => '24',
            'SHOPPINGFEED_ORDER_SYNC_SWEEP_DAYS' => '7',
            'SHOPPINGFEED_REFUNDED_ORDERS' => json_encode([$ps('PS_OS_REFUND')]),
            'SHOPPINGFEED_SHIPPED_ORDERS' => json_encode([$ps('PS_OS_SHIPPING')]),
        ], ModuleHarness::settings());
        $this->assertSame('["4"]', ModuleHarness::settings()['SHOPPINGFEED_SHIPPED_ORDERS']);
    }

    public function testAnUpgradeMovesTheShipmentRecordsOf04IntoTheOperationRecords(): void
    {
        // 0.4 recorded each ship's tracking number in its own table.
        $pdo = TestDatabase::pdo();
        self::install();
        $pdo->exec('CREATE TABLE ps_shoppingfeed_sync_shipment (id_order INT(10) UNSIGNED NOT NULL, tracking_number VARCHAR(64) NOT NULL,'
            . ' date_upd DATETIME NOT NULL, PRIMARY KEY (id_order)) ENGINE=InnoDB');
        $old = Shop::order(Shop::SHIPPED);
        $newer = Shop::order(Shop::SHIPPED);
        $pdo->exec("INSERT INTO ps_shoppingfeed_sync_shipment VALUES ($old, 'OLD-1', '2026-01-02 03:04:05'), ($newer, 'OLD-2', NOW())");
        // A ship already recorded by this version wins over the old row.
        $pdo->exec("INSERT INTO ps_shoppingfeed_sync_operation (id_order, operation, tracking_number, result, date_add, date_upd) VALUES ($newer, 'ship', 'NEW-2', 'succeeded', NOW(), NOW())");

        // The upgrade runs installSql(), as a Reset's install does.
        $this->assertTrue(self::request(['action' => 'reset'])['result']['result']);

        $rows = $pdo->query("SELECT id_order, operation, tracking_number, result, CAST(date_upd AS CHAR) AS d FROM ps_shoppingfeed_sync_operation ORDER BY id_order")->fetchAll(\PDO::FETCH_NUM);
        $this->assertSame([[$old, 'ship', 'OLD-1', 'sent', '2026-01-02 03:04:05'], [$newer, 'ship', 'NEW-2', 'succeeded']], array_map(static fn ($r) => $r[0] == $old ? $r : array_slice($r, 0, 4), $rows));
        $this->assertSame(0, (int) $pdo->query('SELECT COUNT(*) FROM ps_shoppingfeed_sync_shipment')->fetchColumn(), 'moved, not copied');
        // The tracking trigger reads the moved record: the same number is not queued again.
        self::page(self::submission());
        Shop::tracking($old, Shop::carrier('Colissimo', null), 'OLD-1');
        self::request(['action' => 'tracking_update', 'id_order' => $old]);
        $this->assertSame([], Shop::tasks($old));
        TestDatabase::pdo()->prepare('UPDATE ps_order_carrier SET tracking_number = ? WHERE id_order = ?')->execute(['OLD-9', $old]);
        self::request(['action' => 'tracking_update', 'id_order' => $old]);
        $this->assertCount(1, Shop::tasks($old), 'another number is');
    }

    public function testInstallOverTheShoppingFeedModulesTablesAddsWhatTheExtensionNeeds(): void
    {
        // The tables as the Shopping Feed module 1.2 created them (its upgrade scripts' columns),
        // with two pending rows for one order, which that module allowed.
        $pdo = TestDatabase::pdo();
        $pdo->exec('DROP TABLE ps_shoppingfeed_task_order');
        $pdo->exec('DROP TABLE ps_shoppingfeed_order');
        $pdo->exec("CREATE TABLE `ps_shoppingfeed_task_order` (
            `id_shoppingfeed_task_order` INT(10) UNSIGNED NOT NULL AUTO_INCREMENT,
            `action` ENUM('SYNC_STATUS','CHECK_TICKET_SYNC_STATUS') NOT NULL,
            `id_order` INT(10) UNSIGNED NOT NULL, `ticket_number` VARCHAR(50), `batch_id` VARCHAR(50), `update_at` DATETIME,
            `date_add` DATETIME NOT NULL, `date_upd` DATETIME NOT NULL,
            PRIMARY KEY (`id_shoppingfeed_task_order`), UNIQUE KEY (`action`, `id_order`, `ticket_number`)) ENGINE=InnoDB CHARSET=utf8");
        $pdo->exec("CREATE TABLE `ps_shoppingfeed_order` (
            `id_shoppingfeed_order` INT(10) UNSIGNED NOT NULL AUTO_INCREMENT, `id_order_marketplace` VARCHAR(255),
            `name_marketplace` VARCHAR(255) NOT NULL, `id_order` INT(10) UNSIGNED NOT NULL,
            `date_add` DATETIME NOT NULL, `date_upd` DATETIME NOT NULL,
            PRIMARY KEY (`id_shoppingfeed_order`), UNIQUE KEY (`id_order`)) ENGINE=InnoDB CHARSET=utf8");
        $twice = Shop::order(Shop::PAYMENT_ACCEPTED, false);
        $pdo->exec("INSERT INTO ps_shoppingfeed_order (id_order_marketplace, name_marketplace, id_order, date_add, date_upd) VALUES ('MP-1', 'Amazon', $twice, NOW(), NOW())");
        $pdo->exec("INSERT INTO ps_shoppingfeed_task_order (action, id_order, update_at, date_add, date_upd) VALUES
            ('SYNC_STATUS', $twice, NOW(), NOW(), NOW()), ('SYNC_STATUS', $twice, NOW(), NOW(), NOW()),
            ('CHECK_TICKET_SYNC_STATUS', $twice, NOW(), NOW(), NOW())");

        self::install();

        $columns = static fn (string $t): array => $pdo->query("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '$t' ORDER BY ORDINAL_POSITION")->fetchAll(\PDO::FETCH_COLUMN);
        $this->assertSame(['id_shoppingfeed_task_order', 'action', 'id_order', 'ticket_number', 'batch_id', 'update_at', 'date_add', 'date_upd',
            'attempts', 'last_error', 'lease_owner', 'lease_until', 'sent_at', 'version', 'pending_order', 'id_order_slip', 'pending_invoice', 'gave_up_at'], $columns('ps_shoppingfeed_task_order'));
        // The reference HEAD's actions are added to the 1.2 ENUM, in install.sql's order.
        $this->assertSame("enum('SYNC_STATUS','CHECK_TICKET_SYNC_STATUS','UPLOAD_INVOICE','CHECK_TICKET_UPLOAD_INVOICE','PARTIAL_REFUND','ACTION_CHECK_TICKET_PARTIAL_REFUND')",
            $pdo->query("SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ps_shoppingfeed_task_order' AND COLUMN_NAME = 'action'")->fetchColumn());
        $this->assertContains('id_internal_shoppingfeed', $columns('ps_shoppingfeed_order'));
        $indexes = $pdo->query("SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ps_shoppingfeed_task_order' ORDER BY INDEX_NAME")->fetchAll(\PDO::FETCH_COLUMN);
        // The reference's unnamed unique key stands for action_order_ticket: not added twice.
        $this->assertSame(['action', 'batch', 'due', 'gave_up', 'lease', 'order_slip', 'order_tasks', 'pending_invoice', 'pending_order', 'PRIMARY'], $indexes);
        $tasks = Shop::tasks($twice);
        // The newest pending row is kept (ids 1, 2 pending; 3 a ticket check).
        $this->assertSame([[2, 'SYNC_STATUS'], [3, 'CHECK_TICKET_SYNC_STATUS']], array_map(static fn ($t) => [(int) $t['id_shoppingfeed_task_order'], $t['action']], $tasks));

        // The extension works on the migrated table: the hook re-arms the order's one pending row.
        Shop::config('SHOPPINGFEED_ORDER_SYNC_ENABLED', '1');
        Shop::setState($twice, Shop::SHIPPED);
        self::request(['action' => 'status_update', 'id_order' => $twice, 'id_order_state' => Shop::SHIPPED]);
        $pending = array_values(array_filter(Shop::tasks($twice), static fn ($t) => $t['action'] === 'SYNC_STATUS'));
        $this->assertCount(1, $pending);
        $this->assertSame(1, (int) $pending[0]['version']);

        // A second install (or the upgrade script) finds nothing more to add.
        $this->assertTrue(self::request(['action' => 'reset'])['result']['result']);
        $this->assertSame(18, count($columns('ps_shoppingfeed_task_order')));
    }

    public function testInstallKeepsTheQueueOfAnEarlierInstall(): void
    {
        $id = Shop::order(Shop::SHIPPED);
        TestDatabase::pdo()->exec("INSERT INTO ps_shoppingfeed_task_order (action, id_order, update_at, date_add, date_upd) VALUES ('SYNC_STATUS', $id, NOW(), NOW(), NOW())");
        self::install();
        $this->assertCount(1, Shop::tasks($id));
    }

    public function testInstallTwiceIsRefused(): void
    {
        self::install();
        $r = self::request(['action' => 'install'])['result'];
        $this->assertFalse($r['result']);
        $this->assertStringContainsString('already been installed', implode(' ', $r['errors']));
        $this->assertSame(self::HOOKS, self::hooks());
    }

    public function testInstallWithoutTheExtensionIsRefusedWithTheFix(): void
    {
        $r = ModuleHarness::request(['action' => 'install'], [], [], false);
        $this->assertSame(0, $r['rc'], $r['stderr']);
        $this->assertFalse($r['result']['result']);
        $this->assertStringContainsString('extension=shoppingfeed_sync.so', implode(' ', $r['result']['errors']));
        $this->assertNotEmpty($r['result']['warning']);
        $this->assertNull(self::moduleRow());
    }

    public function testInstallRegistersTheHooksForEveryShopOfTheContext(): void
    {
        self::secondShop();
        self::install(['shop_context' => 'all']);
        $this->assertSame(self::HOOKS, self::hooks(1));
        $this->assertSame(self::HOOKS, self::hooks(2));
    }

    public function testInstalledFromOneShopsContextTheModuleIsEnabledForEveryShopAndGetsItsOrders(): void
    {
        self::secondShop();
        Shop::installLegacyModule(true, 1);
        TestDatabase::pdo()->exec("INSERT INTO ps_module_shop (id_module, id_shop) SELECT id_module, 2 FROM ps_module WHERE name = 'shoppingfluxexport'");
        Shop::config('SHOPPINGFEED_ORDER_SYNC_ENABLED', '1');
        // The back office's header on shop 1: PrestaShop enables a module for the context's shops.
        self::install(['shop' => 1, 'shop_context' => 'shop']);
        $idModule = (int) self::moduleRow()['id_module'];
        $this->assertSame([1, 2], array_map('intval', TestDatabase::pdo()->query("SELECT id_shop FROM ps_module_shop WHERE id_module = $idModule ORDER BY id_shop")->fetchAll(\PDO::FETCH_COLUMN)));

        // PrestaShop runs the status hook in the order's shop, for the modules enabled there.
        $id = Shop::order(Shop::SHIPPED, true, 'sfpayment', 'Amazon', 2);
        $r = self::request(['action' => 'status_update', 'id_order' => $id, 'id_order_state' => Shop::SHIPPED]);
        $this->assertSame(['shoppingfeedsync'], array_values(array_filter($r['out'], static fn ($o) => $o['kind'] === 'hook'))[0]['modules']);
        $this->assertCount(1, Shop::tasks($id));
        $this->assertStringNotContainsString('is not enabled there', self::page([], ['shop_context' => 'all']));
    }

    public function testAShopWithTheSyncEnabledWhereTheModuleIsNotIsReportedOnThePageTheCronAndTheLog(): void
    {
        self::secondShop();
        Shop::config('SHOPPINGFEED_ORDER_SYNC_ENABLED', '1');
        self::install(['shop_context' => 'all']);
        // The merchant disables the module in shop 2's context.
        $this->assertTrue(self::request(['action' => 'disable'], ['shop' => 2])['result']['result']);

        $id = Shop::order(Shop::SHIPPED, true, 'sfpayment', 'Amazon', 2);
        $r = self::request(['action' => 'status_update', 'id_order' => $id, 'id_order_state' => Shop::SHIPPED]);
        $this->assertSame([], array_values(array_filter($r['out'], static fn ($o) => $o['kind'] === 'hook'))[0]['modules']);
        $this->assertSame([], Shop::tasks($id));

        // Loud on the page, in every shop context.
        foreach ([['shop' => 1], ['shop' => 2], ['shop_context' => 'all'], ['shop_context' => 'group']] as $context) {
            $error = self::errorBlock(self::page([], $context));
            $this->assertStringContainsString('this module is not enabled there', $error, json_encode($context));
            $this->assertStringContainsString('Second shop (#2)', $error, json_encode($context));
            $this->assertStringNotContainsString('(#1)', $error, json_encode($context));
        }
        // At each CRON run: in the report, the synchronization log and PrestaShop's log.
        $cron = self::request(['action' => 'cron']);
        $this->assertSame([['id_shop' => 2, 'name' => 'Second shop']], $cron['result']['report']['shops_without_module']);
        $logged = array_values(array_filter($cron['out'], static fn ($o) => $o['kind'] === 'prestashop_log' && $o['severity'] === 3));
        $this->assertCount(1, $logged);
        $this->assertStringContainsString('[Shop 2]', $logged[0]['message']);
        $this->assertCount(1, array_filter(Shop::logs('error'), static fn ($l) => strpos($l['msg'], 'not enabled for this shop') !== false));
        // The CRON URL's answer says it too.
        preg_match('#value="(http[^"]+)"#', self::page(), $m);
        parse_str((string) parse_url(html_entity_decode($m[1]), PHP_URL_QUERY), $query);
        $front = self::request(['action' => 'front', 'controller' => $query['controller'], 'get' => $query])['result'];
        $this->assertSame(200, $front['status'], $front['raw']);
        $this->assertSame([['id_shop' => 2, 'name' => 'Second shop']], $front['body']['report']['shops_without_module']);

        // Enabled again (shop 2's context): nothing is reported any more.
        $this->assertTrue(self::request(['action' => 'enable'], ['shop' => 2])['result']['result']);
        $this->assertSame([], self::request(['action' => 'cron'])['result']['report']['shops_without_module']);
        $this->assertStringNotContainsString('is not enabled there', self::page());
    }

    // ---- uninstall ----------------------------------------------------------------------------

    public function testUninstallOfAnUnusedInstallLeavesNothingButTheToken(): void
    {
        self::install();
        Shop::config('SHOPPINGFEED_AUTH_TOKEN', 'merchant-token', 1);
        // The extension's hook procedures (two versions) go; another prefix's stays.
        foreach (['ps_sfsync_hook_0badc0de', 'ps_sfsync_hook_620118c6', 'pz_sfsync_hook_0badc0de'] as $proc) {
            TestDatabase::pdo()->exec("CREATE PROCEDURE `$proc`() SELECT 1");
        }
        $r = self::request(['action' => 'uninstall'])['result'];
        $this->assertTrue($r['result'], json_encode($r['errors']));
        $left = TestDatabase::pdo()->query("SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY 1")->fetchAll(PDO::FETCH_COLUMN);
        $this->assertSame(['pz_sfsync_hook_0badc0de'], $left);

        $this->assertNull(self::moduleRow());
        $this->assertSame([], self::hooks());
        $this->assertSame(0, (int) TestDatabase::pdo()->query('SELECT COUNT(*) FROM ps_hook_module')->fetchColumn());
        // Empty tables hold nothing to keep: all go, the operation records' table too.
        foreach (['shoppingfeed_task_order', 'shoppingfeed_order', 'shoppingfeed_processlogger', 'shoppingfeed_processmonitor', 'shoppingfeed_token', 'shoppingfeed_sync_notice', 'shoppingfeed_sync_operation'] as $t) {
            $this->assertFalse(ModuleHarness::tableExists("ps_$t"), $t);
        }
        // The API token is the merchant's Shopping Feed account, not a setting of this page: kept.
        $this->assertSame(['SHOPPINGFEED_AUTH_TOKEN@1' => 'merchant-token'], ModuleHarness::settings());
    }

    public function testUninstallKeepsWhatTheShoppingFeedModuleShares(): void
    {
        self::install();
        TestDatabase::pdo()->exec("INSERT INTO ps_module (name, active, version) VALUES ('shoppingfeed', 1, '1.9.0')");
        $before = ModuleHarness::settings();
        $r = self::request(['action' => 'uninstall'])['result'];
        $this->assertTrue($r['result'], json_encode($r['errors']));

        $this->assertNull(self::moduleRow());
        foreach (['shoppingfeed_task_order', 'shoppingfeed_order', 'shoppingfeed_processlogger', 'shoppingfeed_processmonitor', 'shoppingfeed_token'] as $t) {
            $this->assertTrue(ModuleHarness::tableExists("ps_$t"), $t);
        }
        $this->assertFalse(ModuleHarness::tableExists('ps_shoppingfeed_sync_notice'));
        $this->assertSame($before, ModuleHarness::settings());
    }

    public function testUninstallKeepsTheMerchantsDataForAReinstall(): void
    {
        self::install();
        $id = self::merchantData();
        $counts = self::rowCounts();
        $settings = ModuleHarness::settings();
        foreach ($counts as $table => $rows) {
            $this->assertGreaterThan(0, $rows, $table);
        }

        $r = self::request(['action' => 'uninstall'])['result'];
        $this->assertTrue($r['result'], json_encode($r['errors']));
        $this->assertNull(self::moduleRow());
        $this->assertSame([], self::hooks());
        $this->assertSame($counts, self::rowCounts());
        // The settings the merchant changed stay; those still at their default go.
        $this->assertSame(['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '10', 'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '7', 'SHOPPINGFEED_ORDER_SYNC_ENABLED' => '1'],
            array_intersect_key(ModuleHarness::settings(), array_flip(['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS', 'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT', 'SHOPPINGFEED_ORDER_SYNC_ENABLED'])));

        // A reinstall finds everything where it was.
        self::install();
        $this->assertSame($counts, self::rowCounts());
        $this->assertSame($settings, ModuleHarness::settings());
        $this->assertCount(1, Shop::tasks($id));
    }

    public function testResetInTheModuleManagerKeepsTheQueueTheLinksTheNoticesTheLogsAndTheSettings(): void
    {
        self::install();
        $id = self::merchantData();
        $counts = self::rowCounts();
        $settings = ModuleHarness::settings();

        // PrestaShop 8.1's Reset: uninstall(), then install().
        $r = self::request(['action' => 'reset'])['result'];
        $this->assertTrue($r['result'], json_encode($r['errors']));
        $this->assertSame($counts, self::rowCounts());
        $this->assertSame($settings, ModuleHarness::settings());
        $this->assertSame(self::HOOKS, self::hooks());
        $this->assertCount(1, Shop::tasks($id));

        // Disabling and enabling again lose nothing either, and the queue still moves.
        $this->assertTrue(self::request(['action' => 'disable'])['result']['result']);
        $this->assertTrue(self::request(['action' => 'enable'])['result']['result']);
        $this->assertSame($counts, self::rowCounts());
        Shop::setState($id, Shop::CANCELED);
        self::request(['action' => 'status_update', 'id_order' => $id, 'id_order_state' => Shop::CANCELED]);
        $this->assertSame(1, (int) Shop::tasks($id)[0]['version']);
    }

    public function testThePurgeNeedsTheMerchantsConfirmationAndThenUninstallLeavesNothing(): void
    {
        self::install();
        self::merchantData();
        Shop::config('SHOPPINGFEED_AUTH_TOKEN', 'merchant-token', 1);
        $counts = self::rowCounts();
        $purge = ['submitShoppingfeedSyncPurge' => '1', 'SHOPPINGFEEDSYNC_PURGE_CONFIRM' => '1'];

        // Not confirmed, or the synchronization still on: nothing is deleted.
        $html = self::page(['submitShoppingfeedSyncPurge' => '1']);
        $this->assertStringContainsString('Tick the confirmation box', self::errorBlock($html));
        $html = self::page($purge);
        $this->assertStringContainsString('Disable the synchronization in every shop first', self::errorBlock($html));
        $this->assertSame($counts, self::rowCounts());

        self::page(self::submission(['SHOPPINGFEED_ORDER_SYNC_ENABLED' => '0']));
        $html = self::page($purge);
        $this->assertSame('', self::errorBlock($html));
        $this->assertStringContainsString('The synchronization data was deleted.', $html);
        $this->assertSame(array_fill_keys(array_keys($counts), 0), self::rowCounts());
        $this->assertSame('100', ModuleHarness::settings()['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS']);

        $this->assertTrue(self::request(['action' => 'uninstall'])['result']['result']);
        $this->assertSame(array_fill_keys(array_keys($counts), -1), self::rowCounts());
        $this->assertSame(['SHOPPINGFEED_AUTH_TOKEN@1' => 'merchant-token'], ModuleHarness::settings());
    }

    public function testResetKeepingTheDataPutsThePageBackToItsDefaultsAndKeepsTheQueue(): void
    {
        self::install();
        self::page(self::submission(['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '10']));
        $this->assertSame('1', ModuleHarness::settings()['SHOPPINGFEED_ORDER_SYNC_ENABLED']);
        $id = Shop::order(Shop::SHIPPED);
        self::request(['action' => 'status_update', 'id_order' => $id, 'id_order_state' => Shop::SHIPPED]);
        $this->assertCount(1, Shop::tasks($id));

        // ModuleManager::reset($name, true), which PrestaShop 8.1's back office does not offer.
        $this->assertTrue(self::request(['action' => 'reset_keep_data'])['result']['result']);
        $settings = ModuleHarness::settings();
        $this->assertSame('0', $settings['SHOPPINGFEED_ORDER_SYNC_ENABLED']);
        $this->assertSame('100', $settings['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS']);
        $this->assertSame('["4"]', $settings['SHOPPINGFEED_SHIPPED_ORDERS']);
        $this->assertCount(1, Shop::tasks($id));
        $this->assertSame(self::HOOKS, self::hooks());
    }

    // ---- upgrade ------------------------------------------------------------------------------

    public function testUpgradeFrom010CreatesTheNoticesTableAndTheNewDefaults(): void
    {
        // A shop running 0.1.0: no notices table, no settings page defaults, module row at 0.1.0.
        self::install();
        TestDatabase::pdo()->exec("UPDATE ps_module SET version = '0.1.0' WHERE name = 'shoppingfeedsync'");
        TestDatabase::pdo()->exec('DROP TABLE ps_shoppingfeed_sync_notice');
        TestDatabase::pdo()->exec("DELETE FROM ps_configuration WHERE name = 'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS'");
        TestDatabase::pdo()->exec('DELETE FROM ps_hook_module');

        $r = self::request(['action' => 'upgrade'])['result'];
        $this->assertTrue($r['needed']);
        $this->assertTrue($r['upgrade']['success']);
        $this->assertSame(4, $r['upgrade']['number_upgraded']);
        $this->assertSame('0.5.0', $r['upgrade']['upgraded_to']);

        $this->assertSame('0.5.0', self::moduleRow()['version']);
        $this->assertTrue(ModuleHarness::tableExists('ps_shoppingfeed_sync_notice'));
        $this->assertSame('100', ModuleHarness::settings()['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS']);
        $this->assertSame(self::HOOKS, self::hooks());

        // Up to date: nothing more to run.
        $this->assertFalse(self::request(['action' => 'upgrade'])['result']['needed']);
    }

    public function testUpgradeFrom020WidensTheTaskActionsKeepsTheQueueAndAddsThePartialRefundDefault(): void
    {
        // A shop running 0.2.0: the task table without the HEAD actions and their dedupe columns.
        self::install();
        $pdo = TestDatabase::pdo();
        $pdo->exec("UPDATE ps_module SET version = '0.2.0' WHERE name = 'shoppingfeedsync'");
        $pdo->exec('ALTER TABLE ps_shoppingfeed_task_order DROP KEY pending_invoice, DROP KEY order_slip, DROP COLUMN pending_invoice, DROP COLUMN id_order_slip');
        $pdo->exec("ALTER TABLE ps_shoppingfeed_task_order MODIFY `action` ENUM('SYNC_STATUS','CHECK_TICKET_SYNC_STATUS') NOT NULL");
        $pdo->exec('ALTER TABLE ps_shoppingfeed_order DROP COLUMN id_shoppingfeed_token');
        $pdo->exec("DELETE FROM ps_configuration WHERE name = 'SHOPPINGFEED_ALLOW_PARTIAL_REFUND'");
        $pdo->exec("DELETE FROM ps_hook_module WHERE id_hook = (SELECT id_hook FROM ps_hook WHERE name = 'actionOrderSlipAdd')");
        $id = Shop::order(Shop::SHIPPED);
        $pdo->exec("INSERT INTO ps_shoppingfeed_task_order (action, id_order, update_at, date_add, date_upd) VALUES ('SYNC_STATUS', $id, NOW(), NOW(), NOW())");

        $r = self::request(['action' => 'upgrade'])['result'];
        $this->assertTrue($r['upgrade']['success'], json_encode($r));
        $this->assertSame(3, $r['upgrade']['number_upgraded']);
        $this->assertSame('0.5.0', self::moduleRow()['version']);
        $type = $pdo->query("SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ps_shoppingfeed_task_order' AND COLUMN_NAME = 'action'")->fetchColumn();
        $this->assertStringContainsString("'ACTION_CHECK_TICKET_PARTIAL_REFUND'", (string) $type);
        $this->assertStringContainsString("'UPLOAD_INVOICE'", (string) $type);
        foreach (['id_order_slip', 'pending_invoice'] as $column) {
            $this->assertSame(1, (int) $pdo->query("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ps_shoppingfeed_task_order' AND COLUMN_NAME = '$column'")->fetchColumn(), $column);
        }
        $this->assertSame('0', (string) $pdo->query("SELECT id_shoppingfeed_token FROM ps_shoppingfeed_order WHERE id_order = $id")->fetchColumn(), 'the existing orders belong to the first account');
        $this->assertCount(1, Shop::tasks($id), 'the waiting status is kept');
        $this->assertSame('0', ModuleHarness::settings()['SHOPPINGFEED_ALLOW_PARTIAL_REFUND']);
        $this->assertSame(self::HOOKS, self::hooks());
    }

    public function testEveryUpgradeScriptDefinesTheFunctionPrestaShopCalls(): void
    {
        $files = glob(dirname(__DIR__, 2) . '/php/upgrade/upgrade-*.php');
        $this->assertNotEmpty($files);
        foreach ($files as $file) {
            $this->assertMatchesRegularExpression('/^upgrade-(\d+\.\d+\.\d+)\.php$/', basename($file));
            preg_match('/^upgrade-(.+)\.php$/', basename($file), $m);
            $this->assertStringContainsString('function upgrade_module_' . str_replace('.', '_', $m[1]) . '(', (string) file_get_contents($file));
            $this->assertLessThanOrEqual(0, version_compare($m[1], self::moduleVersion()), "$file is newer than the module");
        }
    }

    private static function moduleVersion(): string
    {
        preg_match("/\\\$this->version = '([^']+)'/", (string) file_get_contents(dirname(__DIR__, 2) . '/php/shoppingfeedsync.php'), $m);

        return $m[1];
    }

    // ---- the configuration page ---------------------------------------------------------------

    public function testThePageListsTheShopsOrderStatesAndShowsTheSavedSettings(): void
    {
        self::install();
        Shop::config('SHOPPINGFEED_SHIPPED_ORDERS', json_encode(['4', '5']));
        Shop::config('SHOPPINGFEED_REFUNDED_ORDERS', '[7]'); // ints, as some installs store them
        // A state a third-party module added, and a deleted one that must not be offered.
        TestDatabase::pdo()->exec("INSERT INTO ps_order_state (id_order_state, invoice, send_email, module_name, color, unremovable, hidden, logable, delivery, shipped, paid, pdf_invoice, pdf_delivery, deleted)
            VALUES (40, 0, 0, 'colissimo', '#000000', 0, 0, 0, 0, 0, 0, 0, 0, 0), (41, 0, 0, '', '#000000', 0, 0, 0, 0, 0, 0, 0, 0, 1)");
        TestDatabase::pdo()->exec("INSERT INTO ps_order_state_lang (id_order_state, id_lang, name, template) VALUES (40, 1, 'Handed to Colissimo', ''), (41, 1, 'Old deleted state', '')");
        try {
            $html = self::page();
        } finally {
            TestDatabase::pdo()->exec('DELETE FROM ps_order_state WHERE id_order_state IN (40, 41)');
            TestDatabase::pdo()->exec('DELETE FROM ps_order_state_lang WHERE id_order_state IN (40, 41)');
        }

        $expected = TestDatabase::pdo()->query('SELECT os.id_order_state, osl.name FROM ps_order_state os JOIN ps_order_state_lang osl ON osl.id_order_state = os.id_order_state AND osl.id_lang = 1 WHERE os.deleted = 0')->fetchAll(\PDO::FETCH_KEY_PAIR);
        $expected[40] = 'Handed to Colissimo';
        ksort($expected);
        foreach (['SHOPPINGFEED_SHIPPED_ORDERS' => [4, 5], 'SHOPPINGFEED_CANCELLED_ORDERS' => [6], 'SHOPPINGFEED_REFUNDED_ORDERS' => [7]] as $key => $selected) {
            $options = self::options($html, $key);
            ksort($options);
            $this->assertSame(array_map('strval', $expected), array_map(static fn ($o) => $o[0], $options), $key);
            $this->assertSame($selected, array_keys(array_filter($options, static fn ($o) => $o[1])), $key);
            $this->assertArrayNotHasKey(41, $options);
        }
        $this->assertStringContainsString('name="SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT" id="SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT" value="5"', $html);
        $this->assertStringContainsString('name="SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS" id="SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS" value="100"', $html);
        $this->assertMatchesRegularExpression('#name="SHOPPINGFEED_ORDER_SYNC_ENABLED" id="active_off" value="0" checked="checked"#', $html);
    }

    public function testThePageShowsTheCronUrlWithTheSecureKeyTheControllerChecks(): void
    {
        self::install();
        $html = self::page();
        $this->assertMatchesRegularExpression('#<code>([0-9a-f]{32})</code>#', $html);
        preg_match('#<code>([0-9a-f]{32})</code>#', $html, $key);
        preg_match('#value="(http[^"]+)"#', $html, $url);
        parse_str((string) parse_url(html_entity_decode($url[1]), PHP_URL_QUERY), $query);
        $this->assertSame(['fc' => 'module', 'module' => 'shoppingfeedsync', 'controller' => 'syncOrder', 'id_lang' => '1', 'secure_key' => $key[1]], $query);
        $this->assertStringContainsString('*/5 * * * * curl', $html);
        $this->assertStringContainsString(\Shoppingfeed\Sync\OrderSync::version(), $html);
    }

    public function testTheDeliveredListIsSavedAndQueuesWithoutDelay(): void
    {
        self::install();
        $html = self::page(self::submission(['SHOPPINGFEED_DELIVERED_ORDERS' => ['12'], 'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '30']));
        $this->assertSame('', self::errorBlock($html));
        $this->assertSame('["12"]', ModuleHarness::settings()['SHOPPINGFEED_DELIVERED_ORDERS']);
        $selected = array_keys(array_filter(self::options($html, 'SHOPPINGFEED_DELIVERED_ORDERS'), static fn ($o) => $o[1]));
        $this->assertSame([12], $selected);
        $id = Shop::order(12);
        self::request(['action' => 'status_update', 'id_order' => $id, 'id_order_state' => 12]);
        $tasks = Shop::tasks($id);
        $this->assertCount(1, $tasks, 'a delivered state is queued');
        $this->assertLessThanOrEqual(1, abs((int) $tasks[0]['due_in']), 'without the shipped delay');
        $refused = self::page(self::submission(['SHOPPINGFEED_DELIVERED_ORDERS' => [(string) Shop::SHIPPED]]));
        $this->assertStringContainsString('choose one', self::errorBlock($refused));
    }

    public function testThePartialRefundSwitchIsSavedAndACreditSlipIsQueuedThroughTheHook(): void
    {
        self::install();
        $id = Shop::order(Shop::SHIPPED);
        $pdo = TestDatabase::pdo();
        $pdo->exec("INSERT INTO ps_order_slip (id_customer, id_order, shipping_cost, partial, date_add, date_upd) VALUES (1, $id, 0, 1, NOW(), NOW())");
        $slip = (int) $pdo->lastInsertId();

        // Off by default: the hook queues nothing.
        $this->assertSame('0', ModuleHarness::settings()['SHOPPINGFEED_ALLOW_PARTIAL_REFUND']);
        self::request(['action' => 'slip_add', 'id_order' => $id]);
        $this->assertCount(0, Shop::tasks($id));

        $html = self::page(self::submission(['SHOPPINGFEED_ALLOW_PARTIAL_REFUND' => '1']));
        $this->assertSame('', self::errorBlock($html));
        $this->assertSame('1', ModuleHarness::settings()['SHOPPINGFEED_ALLOW_PARTIAL_REFUND']);
        $this->assertMatchesRegularExpression('#name="SHOPPINGFEED_ALLOW_PARTIAL_REFUND" id="partial_on" value="1" checked="checked"#', $html);
        self::request(['action' => 'slip_add', 'id_order' => $id]);
        $tasks = Shop::tasks($id);
        $this->assertCount(1, $tasks);
        $this->assertSame('PARTIAL_REFUND', $tasks[0]['action']);
        $this->assertSame($slip, (int) $pdo->query("SELECT id_order_slip FROM ps_shoppingfeed_task_order WHERE id_order = $id")->fetchColumn());

        $refused = self::page(self::submission(['SHOPPINGFEED_ALLOW_PARTIAL_REFUND' => 'yes']));
        $this->assertStringContainsString('partial refunds', self::errorBlock($refused));
    }

    public function testThePageListsTheShopsAccountsWithoutTheirTokens(): void
    {
        self::install();
        $this->assertStringContainsString('No account row', self::page());
        $pdo = TestDatabase::pdo();
        $pdo->exec("INSERT INTO ps_shoppingfeed_token (id_shop, id_lang, id_currency, content, active, merchant, shoppingfeed_store_id, feed_key, date_add, date_upd)
            VALUES (1, 1, 1, 'secret-token-of-account-one', 1, 'Merchant One', 1276, 'k1', NOW(), NOW()), (1, 1, 1, 'secret-token-of-account-two', 0, 'Merchant Two', 0, 'k2', NOW(), NOW())");
        $id = Shop::order(Shop::SHIPPED);
        $two = (int) $pdo->query("SELECT id_shoppingfeed_token FROM ps_shoppingfeed_token WHERE merchant = 'Merchant Two'")->fetchColumn();
        $pdo->exec("UPDATE ps_shoppingfeed_order SET id_shoppingfeed_token = $two WHERE id_order = $id");
        try {
            $html = self::page();
        } finally {
            $pdo->exec('DELETE FROM ps_shoppingfeed_token');
        }
        preg_match('#<div class="panel" id="shoppingfeedsync-accounts">(.*?)</table>#s', $html, $panel);
        $this->assertNotEmpty($panel);
        $this->assertStringContainsString('<td>Merchant One</td><td>1276</td><td>0</td><td>Yes</td>', $panel[1]);
        $this->assertStringContainsString('<td>Merchant Two</td><td>first of the account</td><td>1</td><td>No</td>', $panel[1]);
        $this->assertStringNotContainsString('secret-token', $html);
    }

    public function testAValidSubmissionIsSavedAndTheExtensionUsesIt(): void
    {
        self::install();
        $html = self::page(self::submission());
        $this->assertSame('', self::errorBlock($html));
        $this->assertStringContainsString('Settings updated.', $html);
        // One shop, multistore off: PrestaShop writes global rows.
        $this->assertSame([
            'SHOPPINGFEED_ALLOW_PARTIAL_REFUND' => '0',
            'SHOPPINGFEED_CANCELLED_ORDERS' => '["6"]',
            'SHOPPINGFEED_DELIVERED_ORDERS' => '[]',
            'SHOPPINGFEED_LOG_RETENTION_DAYS' => '30',
            'SHOPPINGFEED_ORDER_INVOICE_SYNC_MARKETPLACES' => '[]',
            'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '50',
            'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '0',
            'SHOPPINGFEED_ORDER_SYNC_CRON_INTERVAL_MINUTES' => '15',
            'SHOPPINGFEED_ORDER_SYNC_DRY_RUN' => '0',
            'SHOPPINGFEED_ORDER_SYNC_DUE_ALERT_MINUTES' => '60',
            'SHOPPINGFEED_ORDER_SYNC_ENABLED' => '1',
            'SHOPPINGFEED_ORDER_SYNC_GAVE_UP_RETENTION_DAYS' => '30',
            'SHOPPINGFEED_ORDER_SYNC_SHIP_WAITS_TRACKING' => '0',
            'SHOPPINGFEED_ORDER_SYNC_SHIP_WAIT_MAX_HOURS' => '24',
            'SHOPPINGFEED_ORDER_SYNC_SWEEP_DAYS' => '7',
            'SHOPPINGFEED_REFUNDED_ORDERS' => '["7"]',
            'SHOPPINGFEED_SHIPPED_ORDERS' => '["4","5"]',
        ], ModuleHarness::settings());
        // The page shows what was saved.
        $selected = array_keys(array_filter(self::options($html, 'SHOPPINGFEED_SHIPPED_ORDERS'), static fn ($o) => $o[1]));
        sort($selected);
        $this->assertSame([4, 5], $selected);

        // The module's hook, through the extension: "delivered" is now a shipped state, no delay.
        $id = Shop::order(Shop::DELIVERED);
        self::request(['action' => 'status_update', 'id_order' => $id, 'id_order_state' => Shop::DELIVERED]);
        $tasks = Shop::tasks($id);
        $this->assertCount(1, $tasks);
        $this->assertLessThanOrEqual(1, abs((int) $tasks[0]['due_in']));

        // A 30-minute delay then delays the next shipped status by 30 minutes.
        self::page(self::submission(['SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '30']));
        $id2 = Shop::order(Shop::SHIPPED);
        self::request(['action' => 'status_update', 'id_order' => $id2, 'id_order_state' => Shop::SHIPPED]);
        $this->assertEqualsWithDelta(30 * 60, (int) Shop::tasks($id2)[0]['due_in'], 5);
    }

    public function testTheApiTokenIsSavedForTheShopAndNeverShown(): void
    {
        self::install();
        $this->assertStringContainsString('No token is saved yet', self::page());
        $token = 'sf-token-' . bin2hex(random_bytes(8));
        $html = self::page(self::submission(['SHOPPINGFEED_AUTH_TOKEN' => " $token "]));
        $this->assertSame('', self::errorBlock($html));
        $this->assertSame($token, ModuleHarness::settings()['SHOPPINGFEED_AUTH_TOKEN']);
        $this->assertStringNotContainsString($token, $html);
        $html = self::page();
        $this->assertStringContainsString('A token is saved. Leave empty to keep it.', $html);
        $this->assertStringNotContainsString($token, $html);
        // Empty keeps it.
        self::page(self::submission(['SHOPPINGFEED_AUTH_TOKEN' => '']));
        $this->assertSame($token, ModuleHarness::settings()['SHOPPINGFEED_AUTH_TOKEN']);
        // Refused input is shown again, but never a token.
        $html = self::page(self::submission(['SHOPPINGFEED_AUTH_TOKEN' => 'new-token-123', 'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '0']));
        $this->assertStringNotContainsString('new-token-123', $html);
        $this->assertSame($token, ModuleHarness::settings()['SHOPPINGFEED_AUTH_TOKEN']);
    }

    public function testTheTokenFieldAsksTheBrowserNotToFillIt(): void
    {
        self::install();
        $this->assertMatchesRegularExpression('#<input type="password" name="SHOPPINGFEED_AUTH_TOKEN"[^>]* autocomplete="off"#', self::page());
    }

    public function testTheModuleRunsWithoutADeprecationOnPhp82(): void
    {
        // The harness turns deprecations into exceptions: a dynamic property would fail the request.
        $r = ModuleHarness::request(['action' => 'l', 'strings' => ['Shipped']]);
        $this->assertSame(0, $r['rc'], $r['stderr']);
        $this->assertSame('', $r['stderr']);
        $this->assertSame(['Shipped'], $r['result']['strings']);
    }

    public function testEmptyListsAreSavedAsEmptyArrays(): void
    {
        self::install();
        $post = self::submission();
        unset($post['SHOPPINGFEED_REFUNDED_ORDERS']); // a multiple select with nothing selected is not sent
        $html = self::page($post);
        $this->assertSame('', self::errorBlock($html));
        $this->assertSame('[]', ModuleHarness::settings()['SHOPPINGFEED_REFUNDED_ORDERS']);
    }

    public function testInAShopContextOfAMultistoreTheSettingsAreTheShops(): void
    {
        self::secondShop();
        self::install(['shop_context' => 'all']);
        $html = self::page(self::submission(['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '20']), ['shop' => 2]);
        // Shop 2 has no legacy module: enabling is refused there, and nothing is written.
        $this->assertStringContainsString('Second shop', self::errorBlock($html));
        Shop::installLegacyModule(true, 2);
        TestDatabase::pdo()->exec("INSERT INTO ps_module_shop (id_module, id_shop) SELECT id_module, 1 FROM ps_module WHERE name = 'shoppingfluxexport'");

        $html = self::page(self::submission(['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '20']), ['shop' => 2]);
        $this->assertSame('', self::errorBlock($html));
        $settings = ModuleHarness::settings();
        $this->assertSame('20', $settings['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS@2']);
        $this->assertSame('1', $settings['SHOPPINGFEED_ORDER_SYNC_ENABLED@2']);
        // Shop 1 keeps the global defaults.
        $this->assertSame('100', $settings['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS']);
        $this->assertSame('0', $settings['SHOPPINGFEED_ORDER_SYNC_ENABLED']);
        $this->assertStringContainsString('value="100"', self::page([], ['shop' => 1]));
    }

    public function testASaveInAShopContextWritesOnlyWhatTheMerchantChangedThere(): void
    {
        self::secondShop();
        self::install(['shop_context' => 'all']);
        $shop2 = ['shop' => 2];
        // Shop 2's page, as it is, with one value changed.
        $html = self::page(self::submission(['SHOPPINGFEED_ORDER_SYNC_ENABLED' => '0', 'SHOPPINGFEED_SHIPPED_ORDERS' => ['4'],
            'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '5', 'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '20']), $shop2);
        $this->assertSame('', self::errorBlock($html));
        $shopRows = array_filter(ModuleHarness::settings(), static fn ($k) => strpos($k, '@') !== false, ARRAY_FILTER_USE_KEY);
        $this->assertSame(['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS@2' => '20'], $shopRows);

        // The page says which value shop 2 sets itself, and ticks its box.
        $html = self::page([], $shop2);
        $this->assertMatchesRegularExpression('#id="SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS" value="20".*?This shop sets its own value\.#s', $html);
        $this->assertMatchesRegularExpression('#id="SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT" value="5".*?Inherited from All shops\.#s', $html);
        $this->assertMatchesRegularExpression('#name="multishopOverride_SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS"[^>]*checked="checked"#', $html);
        $this->assertDoesNotMatchRegularExpression('#name="multishopOverride_SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT"[^>]*checked#', $html);

        // A save in All shops reaches shop 2 for every value it inherits, and says which it keeps.
        $html = self::page(self::submission(['SHOPPINGFEED_ORDER_SYNC_ENABLED' => '0', 'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '9',
            'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '30']), ['shop_context' => 'all']);
        $this->assertStringContainsString('These shops keep their own values', $html);
        $this->assertStringContainsString('Shop Second shop: Orders per request', $html);
        $this->assertStringContainsString('Set by these shops or groups themselves (not changed by a save here): Shop Second shop.', self::page([], ['shop_context' => 'all']));
        $html = self::page([], $shop2);
        $this->assertStringContainsString('id="SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT" value="9"', $html);
        $this->assertStringContainsString('id="SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS" value="20"', $html);

        // Unticked, shop 2's own value goes back to the inherited one.
        $post = self::submission(['SHOPPINGFEED_ORDER_SYNC_ENABLED' => '0', 'SHOPPINGFEED_SHIPPED_ORDERS' => ['4'],
            'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '9', 'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '20']);
        $this->assertStringContainsString('Settings updated.', self::page($post, $shop2));
        $this->assertArrayNotHasKey('SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS@2', ModuleHarness::settings());
        $this->assertStringContainsString('id="SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS" value="30"', self::page([], $shop2));
        // Ticked, a value equal to the inherited one becomes the shop's own.
        self::page(['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '30', 'multishopOverride_SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => 'on'] + $post, $shop2);
        $this->assertSame('9', ModuleHarness::settings()['SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT@2']);
        $this->assertSame(1, count(array_filter(ModuleHarness::settings(), static fn ($k) => strpos($k, '@') !== false, ARRAY_FILTER_USE_KEY)));
    }

    public function testASaveInAGroupContextWritesTheGroupsOwnValueWhichItsShopsInherit(): void
    {
        self::secondShop();
        self::install(['shop_context' => 'all']);
        $html = self::page(self::submission(['SHOPPINGFEED_ORDER_SYNC_ENABLED' => '0', 'SHOPPINGFEED_SHIPPED_ORDERS' => ['4'],
            'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '5', 'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '40']), ['shop_context' => 'group']);
        $this->assertSame('', self::errorBlock($html));
        $this->assertSame(['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS@group1' => '40'],
            array_filter(ModuleHarness::settings(), static fn ($k) => strpos($k, '@') !== false, ARRAY_FILTER_USE_KEY));
        $this->assertMatchesRegularExpression('#value="40".*?This group sets its own value\.#s', self::page([], ['shop_context' => 'group']));
        $html = self::page([], ['shop' => 1]);
        $this->assertMatchesRegularExpression('#id="SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS" value="40".*?Inherited from the shop group\.#s', $html);
        $this->assertMatchesRegularExpression('#value="100".*?Set by these shops or groups themselves \(not changed by a save here\): Group [^.]+\.#s', self::page([], ['shop_context' => 'all']));
    }

    /** @return array<string, array{array<string, mixed>, string}> */
    public static function invalidSubmissions(): array
    {
        return [
            'unknown state id' => [['SHOPPINGFEED_SHIPPED_ORDERS' => ['4', '999']], 'Unknown order state &quot;999&quot; in Shipped'],
            'state id not numeric' => [['SHOPPINGFEED_CANCELLED_ORDERS' => ['six']], 'Unknown order state &quot;six&quot; in Cancelled'],
            'state id negative' => [['SHOPPINGFEED_REFUNDED_ORDERS' => ['-7']], 'Unknown order state &quot;-7&quot; in Refunded'],
            'list not a list' => [['SHOPPINGFEED_SHIPPED_ORDERS' => '4'], 'order states selected for Shipped are not valid'],
            'state in two lists' => [['SHOPPINGFEED_CANCELLED_ORDERS' => ['6', '4']], 'selected in both Shipped and Cancelled'],
            'delay negative' => [['SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '-1'], 'whole number of minutes from 0 to 10080'],
            'delay not numeric' => [['SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => 'five'], 'whole number of minutes from 0 to 10080'],
            'delay decimal' => [['SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '1.5'], 'whole number of minutes from 0 to 10080'],
            'delay empty' => [['SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => ''], 'whole number of minutes from 0 to 10080'],
            'delay too long' => [['SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '10081'], 'whole number of minutes from 0 to 10080'],
            'orders per request 0' => [['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '0'], 'from 1 to 100'],
            'orders per request 101' => [['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '101'], 'from 1 to 100'],
            'orders per request text' => [['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '1e2'], 'from 1 to 100'],
            'orders per request array' => [['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => ['5']], 'from 1 to 100'],
            'enable switch bogus' => [['SHOPPINGFEED_ORDER_SYNC_ENABLED' => 'yes'], 'Enable the synchronization'],
            'token with a space' => [['SHOPPINGFEED_AUTH_TOKEN' => 'abc def ghi'], 'API token must be 8 to 255 visible characters'],
            'token too short' => [['SHOPPINGFEED_AUTH_TOKEN' => 'abc'], 'API token must be 8 to 255 visible characters'],
            'token an array' => [['SHOPPINGFEED_AUTH_TOKEN' => ['x']], 'API token must be 8 to 255 visible characters'],
        ];
    }

    /** @dataProvider invalidSubmissions */
    public function testInvalidInputIsRefusedWithAMessageAndNothingIsSaved(array $fields, string $message): void
    {
        self::install();
        $before = ModuleHarness::settings();
        $html = self::page(self::submission($fields));
        $this->assertStringContainsString($message, self::errorBlock($html));
        $this->assertStringNotContainsString('Settings updated.', $html);
        $this->assertSame($before, ModuleHarness::settings());
        // The refused values are shown again for correction, not the saved ones.
        if (isset($fields['SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT']) && is_string($fields['SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT'])) {
            $this->assertStringContainsString('id="SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT" value="' . htmlspecialchars($fields['SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT']) . '"', $html);
        }
    }

    public function testEnablingIsRefusedWhileTheLegacyModuleIsMissingOrSynchronizing(): void
    {
        self::install();
        $cases = [
            'not installed' => [static fn () => Shop::uninstallLegacyModule(), 'is not installed'],
            'not enabled for the shop' => [static fn () => TestDatabase::pdo()->exec("DELETE ms FROM ps_module_shop ms JOIN ps_module m ON m.id_module = ms.id_module WHERE m.name = 'shoppingfluxexport'"), 'is not enabled for this shop'],
            'disabled' => [static fn () => Shop::installLegacyModule(false), 'is not enabled for this shop'],
            'order shipment on' => [static fn () => Shop::config('SHOPPING_FLUX_STATUS_SHIPPED', 'checked'), 'Untick its &quot;Order shipment&quot; and &quot;Order cancellation&quot; options'],
            'order cancellation on, for this shop' => [static function () {
                Shop::multistore(); // a shop row counts only with multistore on
                Shop::config('SHOPPING_FLUX_STATUS_CANCELED', 'checked', 1);
            }, 'synchronizes the orders itself'],
        ];
        foreach ($cases as $name => [$arrange, $message]) {
            Shop::installLegacyModule(true);
            Shop::config('SHOPPING_FLUX_STATUS_SHIPPED', '');
            Shop::config('SHOPPING_FLUX_STATUS_CANCELED', '');
            TestDatabase::pdo()->exec("DELETE FROM ps_configuration WHERE name LIKE 'SHOPPING\\_FLUX\\_STATUS\\_%' AND id_shop IS NOT NULL");
            $arrange();
            $before = ModuleHarness::settings();
            $html = self::page(self::submission());
            $this->assertStringContainsString($message, self::errorBlock($html), $name);
            $this->assertSame($before, ModuleHarness::settings(), $name);
            // The page says it before any submission too.
            $this->assertStringContainsString($message, self::page(), $name);
            // Turning the synchronization off, or saving other settings with it off, is always possible.
            $html = self::page(self::submission(['SHOPPINGFEED_ORDER_SYNC_ENABLED' => '0', 'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '77']));
            $this->assertSame('', self::errorBlock($html), $name);
            // (Saved for the context of the page: the shop's own row once multistore is on.)
            $saved = ModuleHarness::settings();
            $this->assertSame('77', $saved['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS@1'] ?? $saved['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS'], $name);
            TestDatabase::pdo()->exec("UPDATE ps_configuration SET value = '100' WHERE name = 'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS'");
        }
    }

    public function testAnEnabledSyncThatCannotRunIsShownAsSuch(): void
    {
        self::install();
        self::page(self::submission());
        $this->assertSame('1', ModuleHarness::settings()['SHOPPINGFEED_ORDER_SYNC_ENABLED']);
        Shop::config('SHOPPING_FLUX_STATUS_SHIPPED', 'checked');
        $html = self::page();
        $this->assertStringContainsString('is enabled but does not run', $html);
        $this->assertStringContainsString('Order shipment', $html);
    }

    public function testTheFrenchBackOfficeGetsTheFrenchPage(): void
    {
        self::install();
        TestDatabase::pdo()->exec("INSERT INTO ps_lang (id_lang, name, active, iso_code, language_code, locale, date_format_lite, date_format_full, is_rtl) VALUES (2, 'Français (French)', 1, 'fr', 'fr-fr', 'fr-FR', 'd/m/Y', 'd/m/Y H:i:s', 0)");
        $html = self::page(self::submission(['SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '-3']), ['lang' => 'fr']);
        $this->assertStringContainsString('Activer la synchronisation', $html);
        $this->assertStringContainsString('nombre entier de minutes', self::errorBlock($html));
        $this->assertStringNotContainsString('Enable the synchronization', $html);
    }

    public function testEveryStringOfTheModuleHasItsFrenchTranslation(): void
    {
        $src = (string) file_get_contents(dirname(__DIR__, 2) . '/php/shoppingfeedsync.php');
        preg_match_all("/->l\\('((?:[^'\\\\]|\\\\.)*)'/", $src, $m);
        $strings = array_values(array_unique(array_map('stripslashes', $m[1])));
        $this->assertGreaterThan(40, count($strings));
        TestDatabase::pdo()->exec("INSERT INTO ps_lang (id_lang, name, active, iso_code, language_code, locale, date_format_lite, date_format_full, is_rtl) VALUES (2, 'Français (French)', 1, 'fr', 'fr-fr', 'fr-FR', 'd/m/Y', 'd/m/Y H:i:s', 0)");
        $fr = self::request(['action' => 'l', 'strings' => $strings], ['lang' => 'fr'])['result']['strings'];
        $en = self::request(['action' => 'l', 'strings' => $strings])['result']['strings'];
        foreach ($strings as $i => $s) {
            $this->assertSame(htmlspecialchars($s, ENT_COMPAT), $en[$i]);
            if (!in_array($s, ['minutes', '%d min', '%1$d h %2$d min', 'Ticket', 'Date'], true)) { // the same in French
                $this->assertNotSame($en[$i], $fr[$i], "no French for: $s");
            }
            // The same printf placeholders, or sprintf() would fail or misplace the values.
            preg_match_all('/%(\d\$)?[sd]/', $s, $a);
            preg_match_all('/%(\d\$)?[sd]/', html_entity_decode($fr[$i]), $b);
            sort($a[0]);
            sort($b[0]);
            $this->assertSame($a[0], $b[0], "placeholders of: $s");
        }
    }
}
