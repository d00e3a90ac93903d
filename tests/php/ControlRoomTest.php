<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\Tests\ModuleHarness;
use Shoppingfeed\Sync\Tests\Shop;
use Shoppingfeed\Sync\Tests\TestDatabase;

require_once __DIR__ . '/Support/ModuleHarness.php';

/**
 * The merchant's control room in the back office: the tabs under Orders (task list, logs) with
 * PrestaShop's list filters, sorting, pagination and actions, their permissions and tokens, the
 * order page's panel, the health panel and notification, and the page's new settings. Each
 * request is a PrestaShop request of its own (real PHP, the built extension, the harness's
 * PrestaShop 8 classes, the test database); the employee's cookie is kept between requests as a
 * browser keeps it.
 *
 * @group module-install
 */
final class ControlRoomTest extends TestCase
{
    private const TASKS = 'AdminShoppingfeedSyncTasks';
    private const LOGS = 'AdminShoppingfeedSyncLogs';
    /** A profile without the module's tabs (PrestaShop's Logistician, say). */
    private const OTHER_PROFILE = 3;

    private ?string $cookie = null;

    public static function setUpBeforeClass(): void
    {
        ModuleHarness::boot();
    }

    protected function setUp(): void
    {
        Shop::reset();
        ModuleHarness::forgetModule();
        $this->cookie = tempnam(sys_get_temp_dir(), 'sfsync-cookie-');
        unlink($this->cookie);
    }

    protected function tearDown(): void
    {
        ModuleHarness::restoreModuleTables();
        ModuleHarness::forgetModule();
        Shop::reset();
        @unlink((string) $this->cookie);
    }

    private function request(array $request, array $context = []): array
    {
        $r = ModuleHarness::request($request, $context, [], true, null, $this->cookie);
        $this->assertSame(0, $r['rc'], $r['stderr']);
        $this->assertSame('', $r['stderr'], 'PHP notices or warnings');

        return $r;
    }

    private function install(): void
    {
        $r = $this->request(['action' => 'install'])['result'];
        $this->assertTrue($r['result'], json_encode($r['errors']));
    }

    /** The token PrestaShop puts in the links to a controller (Tools::getAdminTokenLite). */
    private static function token(string $controller, int $idEmployee = 1): string
    {
        $idTab = (int) TestDatabase::pdo()->query('SELECT id_tab FROM ps_tab WHERE class_name = ' . TestDatabase::pdo()->quote($controller))->fetchColumn();

        return md5('harnesscookiekey0123456789abcdefghijklmnopqrstuvwxyz0123456789ab' . $controller . $idTab . $idEmployee);
    }

    /** One back-office page of a module controller: its HTML (alerts, then content), or the redirect. */
    private function admin(string $controller, array $get = [], array $post = [], array $context = []): array
    {
        $idEmployee = (int) ($context['employee']['id'] ?? 1);
        $r = $this->request(['action' => 'admin', 'controller' => $controller, 'get' => $get + ['token' => self::token($controller, $idEmployee)], 'post' => $post], $context);
        $this->assertSame('ok', $r['result']['admin']['status'] ?? null, json_encode($r['result']));

        return ['html' => $r['result']['admin']['html'], 'out' => $r['out']];
    }

    /** A POST of the list's form, then the page its redirect leads to (as the browser follows it). */
    private function submit(string $controller, array $post, array $context = []): string
    {
        $first = $this->admin($controller, [], $post, $context)['html'];
        if (strncmp($first, 'REDIRECT ', 9) !== 0) {
            return $first;
        }
        parse_str((string) parse_url(substr($first, 9), PHP_URL_QUERY), $get);
        unset($get['controller']);

        return $this->admin($controller, $get, [], $context)['html'];
    }

    private static function rows(string $html): array
    {
        preg_match_all('#<tr>(<td class="row-selector.*?|<td class="fixed-width-xs">.*?)</tr>#s', $html, $m);

        return $m[1];
    }

    private static function log(string $level, string $msg, ?int $idOrder, string $date): void
    {
        TestDatabase::pdo()->prepare("INSERT INTO ps_shoppingfeed_processlogger (name, msg, level, object_name, object_id, date_add) VALUES ('shoppingfeed:syncOrder', ?, ?, ?, ?, ?)")
            ->execute([$msg, $level, $idOrder ? 'Order' : '', $idOrder, $date]);
    }

    // ---- tabs, permissions, tokens ---------------------------------------------------------------

    public function testInstallAddsTheTabsUnderOrdersWithTheirRolesAndUninstallRemovesThemKeepingTheData(): void
    {
        $this->install();
        $pdo = TestDatabase::pdo();
        $tabs = $pdo->query("SELECT t.class_name, t.module, CONCAT(t.active) AS active, p.class_name AS parent, tl.name FROM ps_tab t JOIN ps_tab p ON p.id_tab = t.id_parent
            JOIN ps_tab_lang tl ON tl.id_tab = t.id_tab AND tl.id_lang = 1 WHERE t.module = 'shoppingfeedsync' ORDER BY t.position")->fetchAll(PDO::FETCH_ASSOC);
        $this->assertSame([
            ['class_name' => self::TASKS, 'module' => 'shoppingfeedsync', 'active' => '1', 'parent' => 'AdminParentOrders', 'name' => 'Shopping Feed sync'],
            ['class_name' => self::LOGS, 'module' => 'shoppingfeedsync', 'active' => '1', 'parent' => 'AdminParentOrders', 'name' => 'Shopping Feed sync logs'],
        ], $tabs);
        // PrestaShop's four roles per tab, held by SuperAdmin (the installing employee's profile) only.
        $held = $pdo->query("SELECT r.slug, CAST(a.id_profile AS SIGNED) FROM ps_authorization_role r JOIN ps_access a ON a.id_authorization_role = r.id_authorization_role
            WHERE r.slug LIKE 'ROLE_MOD_TAB_ADMINSHOPPINGFEEDSYNCTASKS_%' ORDER BY r.slug")->fetchAll(PDO::FETCH_NUM);
        $this->assertSame([
            ['ROLE_MOD_TAB_ADMINSHOPPINGFEEDSYNCTASKS_CREATE', 1], ['ROLE_MOD_TAB_ADMINSHOPPINGFEEDSYNCTASKS_DELETE', 1],
            ['ROLE_MOD_TAB_ADMINSHOPPINGFEEDSYNCTASKS_READ', 1], ['ROLE_MOD_TAB_ADMINSHOPPINGFEEDSYNCTASKS_UPDATE', 1],
        ], $held);

        self::log('error', 'kept', null, date('Y-m-d H:i:s'));
        $this->assertTrue($this->request(['action' => 'uninstall'])['result']['result']);
        $this->assertSame(0, (int) $pdo->query("SELECT COUNT(*) FROM ps_tab WHERE module = 'shoppingfeedsync'")->fetchColumn());
        $this->assertSame(0, (int) $pdo->query("SELECT COUNT(*) FROM ps_access a JOIN ps_authorization_role r ON r.id_authorization_role = a.id_authorization_role WHERE r.slug LIKE 'ROLE_MOD_TAB_ADMINSHOPPINGFEEDSYNC%'")->fetchColumn());
        $this->assertSame(1, (int) $pdo->query('SELECT COUNT(*) FROM ps_shoppingfeed_processlogger')->fetchColumn());
        // A reinstall (the Module Manager's Reset) creates them again, once.
        $this->install();
        $this->assertSame(2, (int) $pdo->query("SELECT COUNT(*) FROM ps_tab WHERE module = 'shoppingfeedsync'")->fetchColumn());
    }

    public function testTheUpgradeTo050AddsTheTabsTheHooksAndTheDefaultsKeepingTheQueue(): void
    {
        $this->install();
        $pdo = TestDatabase::pdo();
        // A shop running 0.4.0: no tabs, none of the new hooks or settings, a waiting task.
        $this->request(['action' => 'uninstall']);
        $this->install();
        $pdo->exec("UPDATE ps_module SET version = '0.4.0' WHERE name = 'shoppingfeedsync'");
        $pdo->exec("DELETE t, tl FROM ps_tab t LEFT JOIN ps_tab_lang tl ON tl.id_tab = t.id_tab WHERE t.module = 'shoppingfeedsync'");
        $pdo->exec("DELETE hm FROM ps_hook_module hm JOIN ps_hook h ON h.id_hook = hm.id_hook WHERE h.name LIKE 'display%' OR h.name = 'actionOrderGridDefinitionModifier'");
        $pdo->exec("DELETE FROM ps_configuration WHERE name IN ('SHOPPINGFEED_ORDER_SYNC_DRY_RUN', 'SHOPPINGFEED_ORDER_SYNC_SWEEP_DAYS', 'SHOPPINGFEED_LOG_RETENTION_DAYS')");
        $pdo->exec("UPDATE ps_configuration SET value = '9' WHERE name = 'SHOPPINGFEED_ORDER_SYNC_DUE_ALERT_MINUTES'");
        $id = Shop::order(Shop::SHIPPED);
        $pdo->exec("INSERT INTO ps_shoppingfeed_task_order (action, id_order, update_at, date_add, date_upd) VALUES ('SYNC_STATUS', $id, NOW(), NOW(), NOW())");

        $r = $this->request(['action' => 'upgrade'])['result'];
        $this->assertTrue($r['upgrade']['success'], json_encode($r));
        $this->assertSame('0.5.0', $r['upgrade']['upgraded_to']);
        $this->assertSame(2, (int) $pdo->query("SELECT COUNT(*) FROM ps_tab WHERE module = 'shoppingfeedsync'")->fetchColumn());
        $hooks = $pdo->query("SELECT h.name FROM ps_hook_module hm JOIN ps_hook h ON h.id_hook = hm.id_hook WHERE h.name LIKE 'display%' OR h.name = 'actionOrderGridDefinitionModifier' ORDER BY h.name")->fetchAll(PDO::FETCH_COLUMN);
        $this->assertSame(['actionOrderGridDefinitionModifier', 'displayAdminOrder', 'displayAdminOrderMain', 'displayBackOfficeHeader'], $hooks);
        $settings = ModuleHarness::settings();
        $this->assertSame('0', $settings['SHOPPINGFEED_ORDER_SYNC_DRY_RUN']);
        $this->assertSame('7', $settings['SHOPPINGFEED_ORDER_SYNC_SWEEP_DAYS']);
        $this->assertSame('30', $settings['SHOPPINGFEED_LOG_RETENTION_DAYS']);
        $this->assertSame('9', $settings['SHOPPINGFEED_ORDER_SYNC_DUE_ALERT_MINUTES'], 'a value already set is kept');
        $this->assertCount(1, Shop::tasks($id));
    }

    public function testAListNeedsTheControllersTokenAndTheTabsViewPermission(): void
    {
        $this->install();
        self::log('error', 'secret of the shop', null, date('Y-m-d H:i:s'));
        // A link without the right token: PrestaShop's "Invalid token" page, nothing listed.
        $r = $this->request(['action' => 'admin', 'controller' => self::LOGS, 'get' => ['token' => 'forged']]);
        $this->assertStringContainsString('Invalid token', $r['result']['admin']['html']);
        $this->assertStringNotContainsString('secret of the shop', $r['result']['admin']['html']);
        // An employee whose profile lacks the tab's READ role: "Access denied".
        $other = ['employee' => ['id' => 7, 'id_profile' => self::OTHER_PROFILE]];
        $page = $this->admin(self::LOGS, [], [], $other)['html'];
        $this->assertStringContainsString('Access denied.', $page);
        $this->assertStringNotContainsString('secret of the shop', $page);
        // Granted READ, the same employee sees it.
        TestDatabase::pdo()->exec('INSERT INTO ps_access (id_profile, id_authorization_role) SELECT ' . self::OTHER_PROFILE
            . ", id_authorization_role FROM ps_authorization_role WHERE slug = 'ROLE_MOD_TAB_ADMINSHOPPINGFEEDSYNCLOGS_READ'");
        $this->assertStringContainsString('secret of the shop', $this->admin(self::LOGS, [], [], $other)['html']);
    }

    // ---- logs -------------------------------------------------------------------------------------

    public function testTheLogListFiltersSortsPagesAndEscapes(): void
    {
        $this->install();
        $a = Shop::order(Shop::SHIPPED);
        $b = Shop::order(Shop::SHIPPED);
        self::log('error', 'Carrier <script>alert(1)</script> refused', $a, '2026-01-10 10:00:00');
        self::log('success', 'Ticket created for Order', $a, '2026-01-11 10:00:00');
        self::log('info', 'run summary', null, '2026-01-12 10:00:00');
        self::log('error', 'Tracking number refused', $b, '2026-01-13 10:00:00');
        // An order of another shop is not listed in shop 1's context.
        $otherShop = Shop::secondShop();
        $c = Shop::order(Shop::SHIPPED, true, 'sfpayment', 'Amazon', $otherShop);
        self::log('error', 'of the second shop', $c, '2026-01-14 10:00:00');

        $html = $this->admin(self::LOGS)['html'];
        $this->assertCount(4, self::rows($html));
        $this->assertStringNotContainsString('of the second shop', $html);
        $this->assertStringNotContainsString('<script>alert(1)</script>', $html);
        $this->assertStringContainsString('Carrier &lt;script&gt;alert(1)&lt;/script&gt; refused', $html);
        // Newest first by default.
        $this->assertLessThan(strpos($html, 'Carrier &lt;'), strpos($html, 'Tracking number refused'));

        // Filters as PrestaShop posts them (then redirects; the cookie keeps them).
        $r = $this->admin(self::LOGS, [], ['submitFilter' => '', 'submitFiltersfsync_log' => '1', 'sfsync_logFilter_a!level' => 'error']);
        $this->assertStringStartsWith('REDIRECT ', $r['html']);
        $html = $this->admin(self::LOGS)['html'];
        $this->assertCount(2, self::rows($html));
        $this->assertStringNotContainsString('run summary', $html);
        $html = $this->submit(self::LOGS, ['submitFiltersfsync_log' => '1', 'sfsync_logFilter_a!level' => 'error', 'sfsync_logFilter_a!object_id' => (string) $b]);
        $this->assertCount(1, self::rows($html));
        $this->assertStringContainsString('Tracking number refused', $html);
        $this->submit(self::LOGS, ['submitResetsfsync_log' => '1']);
        $html = $this->submit(self::LOGS, ['submitFiltersfsync_log' => '1', 'sfsync_logFilter_a!msg' => 'refused', 'sfsync_logFilter_a!date_add' => ['2026-01-12', '2026-01-13']]);
        $this->assertCount(1, self::rows($html));
        $this->assertStringContainsString('Tracking number refused', $html);
        // A date that is not one is refused with PrestaShop's message.
        $html = $this->submit(self::LOGS, ['submitFiltersfsync_log' => '1', 'sfsync_logFilter_a!date_add' => ['12/01/2026', '']]);
        $this->assertStringContainsString('The \'From\' date format is invalid (YYYY-MM-DD)', $html);
        $this->assertCount(4, self::rows($this->submit(self::LOGS, ['submitResetsfsync_log' => '1'])));

        // Sorting by date, oldest first; 20 per page, page 2.
        $html = $this->admin(self::LOGS, ['sfsync_logOrderby' => 'date_add', 'sfsync_logOrderway' => 'asc'])['html'];
        $this->assertLessThan(strpos($html, 'Tracking number refused'), strpos($html, 'Carrier &lt;'));
        for ($i = 0; $i < 30; ++$i) {
            self::log('info', sprintf('bulk row %02d', $i), null, '2026-02-01 10:00:' . sprintf('%02d', $i));
        }
        $html = $this->submit(self::LOGS, ['submitFiltersfsync_log' => '2', 'sfsync_log_pagination' => '20']);
        $this->assertCount(14, self::rows($html));
        $this->assertStringContainsString('bulk row 29', $html);
        $this->assertStringNotContainsString('bulk row 05', $html);
    }

    // ---- settings of the configuration page ------------------------------------------------------

    private function page(array $post = [], array $context = []): string
    {
        return $this->request(['action' => 'content', 'post' => $post], $context)['result']['html'];
    }

    private static function submission(array $fields = []): array
    {
        return $fields + [
            'submitShoppingfeedSync' => '1',
            'SHOPPINGFEED_ORDER_SYNC_ENABLED' => '0',
            'SHOPPINGFEED_SHIPPED_ORDERS' => [(string) Shop::SHIPPED],
            'SHOPPINGFEED_CANCELLED_ORDERS' => [(string) Shop::CANCELED],
            'SHOPPINGFEED_REFUNDED_ORDERS' => [(string) Shop::REFUNDED],
            'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '5',
            'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '100',
        ];
    }

    private static function inputValue(string $html, string $name): ?string
    {
        if (preg_match('#<input type="text" name="' . preg_quote($name, '#') . '" [^>]*value="([^"]*)"#', $html, $m)) {
            return $m[1];
        }
        if (preg_match('#<input type="radio" name="' . preg_quote($name, '#') . '" [^>]*value="([01])" checked="checked"#', $html, $m)) {
            return $m[1];
        }

        return null;
    }

    public function testGlobalSettingsAreSavedGloballyFromAShopContextAndShownAlikeInEveryContext(): void
    {
        Shop::secondShop();
        Shop::config('PS_MULTISHOP_FEATURE_ACTIVE', '1');
        $this->install();
        $shop2 = ['shop' => 2, 'shop_context' => 'shop'];
        $html = $this->page(self::submission([
            'SHOPPINGFEED_ORDER_SYNC_DRY_RUN' => '1', 'SHOPPINGFEED_LOG_RETENTION_DAYS' => '10', 'SHOPPINGFEED_ORDER_SYNC_SWEEP_DAYS' => '0',
            'SHOPPINGFEED_ORDER_SYNC_CRON_INTERVAL_MINUTES' => '5', 'SHOPPINGFEED_ORDER_SYNC_DUE_ALERT_MINUTES' => '30',
            'SHOPPINGFEED_ORDER_SYNC_GAVE_UP_RETENTION_DAYS' => '0',
            'SHOPPINGFEED_ORDER_SYNC_SHIP_WAITS_TRACKING' => '1', 'SHOPPINGFEED_ORDER_SYNC_SHIP_WAIT_MAX_HOURS' => '48',
        ]), $shop2);
        $this->assertStringContainsString('Settings updated.', $html);
        $settings = ModuleHarness::settings();
        // The installation's settings: one global row each, no shop row.
        foreach (['SHOPPINGFEED_ORDER_SYNC_DRY_RUN' => '1', 'SHOPPINGFEED_LOG_RETENTION_DAYS' => '10', 'SHOPPINGFEED_ORDER_SYNC_SWEEP_DAYS' => '0',
            'SHOPPINGFEED_ORDER_SYNC_CRON_INTERVAL_MINUTES' => '5', 'SHOPPINGFEED_ORDER_SYNC_DUE_ALERT_MINUTES' => '30', 'SHOPPINGFEED_ORDER_SYNC_GAVE_UP_RETENTION_DAYS' => '0'] as $key => $value) {
            $this->assertSame($value, $settings[$key], $key);
            $this->assertArrayNotHasKey("$key@2", $settings, $key);
        }
        // The shop's own: changed in shop 2's context, written for shop 2 only.
        $this->assertSame('1', $settings['SHOPPINGFEED_ORDER_SYNC_SHIP_WAITS_TRACKING@2']);
        $this->assertSame('48', $settings['SHOPPINGFEED_ORDER_SYNC_SHIP_WAIT_MAX_HOURS@2']);
        $this->assertSame('0', $settings['SHOPPINGFEED_ORDER_SYNC_SHIP_WAITS_TRACKING']);

        foreach ([['shop' => 1, 'shop_context' => 'shop'], ['shop' => 1, 'shop_context' => 'all'], $shop2] as $context) {
            $html = $this->page([], $context);
            $this->assertSame('1', self::inputValue($html, 'SHOPPINGFEED_ORDER_SYNC_DRY_RUN'), json_encode($context));
            $this->assertSame('10', self::inputValue($html, 'SHOPPINGFEED_LOG_RETENTION_DAYS'), json_encode($context));
            $this->assertSame('5', self::inputValue($html, 'SHOPPINGFEED_ORDER_SYNC_CRON_INTERVAL_MINUTES'), json_encode($context));
            // The dry-run banner, on every page of the module.
            $this->assertStringContainsString('Dry run is on', $html);
        }
        $this->assertSame('48', self::inputValue($this->page([], $shop2), 'SHOPPINGFEED_ORDER_SYNC_SHIP_WAIT_MAX_HOURS'));
        $this->assertSame('24', self::inputValue($this->page([], ['shop' => 1]), 'SHOPPINGFEED_ORDER_SYNC_SHIP_WAIT_MAX_HOURS'));
        $this->assertStringContainsString('Dry run is on', $this->admin(self::LOGS)['html']);

        // A save in shop 1's context that leaves them as shown changes none of them.
        $this->page(self::submission(['SHOPPINGFEED_ORDER_SYNC_DRY_RUN' => '0']), ['shop' => 1]);
        $after = ModuleHarness::settings();
        $this->assertSame('0', $after['SHOPPINGFEED_ORDER_SYNC_DRY_RUN']);
        $this->assertSame('10', $after['SHOPPINGFEED_LOG_RETENTION_DAYS']);
        $this->assertArrayNotHasKey('SHOPPINGFEED_ORDER_SYNC_DRY_RUN@1', $after);
        $this->assertStringNotContainsString('Dry run is on', $this->admin(self::LOGS)['html']);
    }

    public function testNewSettingsOutOfTheirBoundsAreRefusedAndNothingIsSaved(): void
    {
        $this->install();
        $before = ModuleHarness::settings();
        foreach ([
            'SHOPPINGFEED_LOG_RETENTION_DAYS' => '-1',
            'SHOPPINGFEED_ORDER_SYNC_SHIP_WAIT_MAX_HOURS' => '0',
            'SHOPPINGFEED_ORDER_SYNC_CRON_INTERVAL_MINUTES' => 'abc',
            'SHOPPINGFEED_ORDER_SYNC_SWEEP_DAYS' => '91',
            'SHOPPINGFEED_ORDER_SYNC_DRY_RUN' => '2',
        ] as $key => $bad) {
            $html = $this->page(self::submission([$key => $bad, 'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '42']));
            $this->assertStringContainsString('module_error', $html, $key);
            $this->assertSame($before, ModuleHarness::settings(), $key);
        }
        // A form of 0.4.0 (none of the new fields) keeps their values.
        Shop::config('SHOPPINGFEED_LOG_RETENTION_DAYS', '3');
        $this->page(self::submission(['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '42']));
        $this->assertSame('3', ModuleHarness::settings()['SHOPPINGFEED_LOG_RETENTION_DAYS']);
        $this->assertSame('42', ModuleHarness::settings()['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS']);
    }

    public function testEveryStringOfTheControllersHasItsFrenchTranslation(): void
    {
        TestDatabase::pdo()->exec("INSERT INTO ps_lang (id_lang, name, active, iso_code, language_code, locale, date_format_lite, date_format_full, is_rtl) VALUES (2, 'Français (French)', 1, 'fr', 'fr-fr', 'fr-FR', 'd/m/Y', 'd/m/Y H:i:s', 0)");
        foreach ([self::TASKS, self::LOGS] as $controller) {
            $src = (string) file_get_contents(dirname(__DIR__, 2) . "/php/controllers/admin/{$controller}Controller.php");
            preg_match_all("/->l\\('((?:[^'\\\\]|\\\\.)*)'/", $src, $m);
            $strings = array_values(array_unique(array_map('stripslashes', $m[1])));
            $this->assertGreaterThan(5, count($strings));
            $source = strtolower($controller . 'controller');
            $fr = $this->request(['action' => 'l', 'strings' => $strings, 'source' => $source], ['lang' => 'fr'])['result']['strings'];
            foreach ($strings as $i => $s) {
                if (!in_array($s, ['ID', 'Marketplace', 'Message', 'info', 'Date'], true)) { // the same in French
                    $this->assertNotSame(htmlspecialchars($s, ENT_COMPAT), $fr[$i], "$controller: no French for: $s");
                }
            }
        }
    }
}
