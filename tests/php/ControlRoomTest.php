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

    public function testTheInstallingEmployeesProfileGetsTheTabsAsPrestaShopGivesThem(): void
    {
        $r = $this->request(['action' => 'install'], ['employee' => ['id' => 4, 'id_profile' => 2]])['result'];
        $this->assertTrue($r['result'], json_encode($r['errors']));
        $profiles = TestDatabase::pdo()->query("SELECT DISTINCT CAST(a.id_profile AS SIGNED) FROM ps_access a JOIN ps_authorization_role r ON r.id_authorization_role = a.id_authorization_role
            WHERE r.slug = 'ROLE_MOD_TAB_ADMINSHOPPINGFEEDSYNCLOGS_READ' ORDER BY 1")->fetchAll(PDO::FETCH_COLUMN);
        $this->assertSame([1, 2], $profiles);
        $other = ['employee' => ['id' => 4, 'id_profile' => 2]];
        $this->assertStringNotContainsString('Access denied.', $this->admin(self::LOGS, [], [], $other)['html']);
        $this->assertStringContainsString('Access denied.', $this->admin(self::LOGS, [], [], ['employee' => ['id' => 5, 'id_profile' => self::OTHER_PROFILE]])['html']);
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

        // A sort on the message (not offered, no index) sorts by id instead (by message, "run summary"
        // would come before "Ticket created").
        $html = $this->admin(self::LOGS, ['sfsync_logOrderby' => 'msg', 'sfsync_logOrderway' => 'asc'])['html'];
        $this->assertLessThan(strpos($html, 'run summary'), strpos($html, 'Ticket created for Order'));
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

    // ---- task grid --------------------------------------------------------------------------------

    /** The synchronization running for shop 1: the legacy module's gate open, the sync enabled. */
    private function syncing(): void
    {
        $this->install();
        Shop::installLegacyModule(true);
        Shop::config('SHOPPINGFEED_ORDER_SYNC_ENABLED', '1');
    }

    /**
     * A task row as the queue keeps it. `$due`: seconds from now (null: no due date); `$state`:
     * pending (SYNC_STATUS), checking (its ticket awaited) or gave_up.
     */
    private static function task(int $idOrder, string $state, ?int $due = 0, int $attempts = 0, ?string $error = null): int
    {
        $action = $state === 'checking' ? 'CHECK_TICKET_SYNC_STATUS' : 'SYNC_STATUS';
        $pdo = TestDatabase::pdo();
        $pdo->prepare('INSERT INTO ps_shoppingfeed_task_order (action, id_order, batch_id, update_at, attempts, last_error, sent_at, gave_up_at, date_add, date_upd)
            VALUES (?, ?, ?, IF(? IS NULL, NULL, NOW() + INTERVAL ? SECOND), ?, ?, ?, ?, NOW(), NOW())')
            ->execute([$action, $idOrder, $state === 'checking' ? 'BATCH-' . $idOrder : null, $due, (int) $due, $attempts, $error,
                $state === 'checking' ? date('Y-m-d H:i:s') : null, $state === 'gave_up' ? date('Y-m-d H:i:s') : null]);

        return (int) $pdo->lastInsertId();
    }

    private static function taskRow(int $idTask): ?array
    {
        $row = TestDatabase::pdo()->query("SELECT * FROM ps_shoppingfeed_task_order WHERE id_shoppingfeed_task_order = $idTask")->fetch(PDO::FETCH_ASSOC);

        return $row ?: null;
    }

    /** A row action's link as the grid prints it (with its token), followed. */
    private function rowAction(string $html, string $action, int $idTask, array $context = []): string
    {
        $this->assertMatchesRegularExpression('#href="[^"]*id_task=' . $idTask . '&amp;' . $action . 'shoppingfeed_task_order&amp;token=#', $html, "$action link of task $idTask");
        preg_match('#href="([^"]*id_task=' . $idTask . '&amp;' . $action . 'shoppingfeed_task_order[^"]*)"#', $html, $m);
        parse_str((string) parse_url(html_entity_decode($m[1]), PHP_URL_QUERY), $get);
        unset($get['controller']);

        return $this->admin(self::TASKS, $get, [], $context)['html'];
    }

    public function testTheTaskGridListsTheShopsTasksWithTheirStatesFiltersSortsAndPages(): void
    {
        $this->syncing();
        $waiting = self::task($o1 = Shop::order(Shop::SHIPPED, true, 'sfpayment', 'Amazon'), 'pending', 3600);
        $due = self::task($o2 = Shop::order(Shop::SHIPPED, true, 'sfpayment', 'Cdiscount'), 'pending', -60);
        $checking = self::task($o3 = Shop::order(Shop::SHIPPED), 'checking', null);
        $gaveUp = self::task($o4 = Shop::order(Shop::SHIPPED), 'gave_up', null, 5, 'Carrier <b onmouseover=alert(1)>refused</b>');
        $retrying = self::task($o5 = Shop::order(Shop::CANCELED), 'pending', 300, 2, 'Ticket failed');
        Shop::secondShop();
        self::task(Shop::order(Shop::SHIPPED, true, 'sfpayment', 'Amazon', 2), 'pending', -60);

        $html = $this->admin(self::TASKS)['html'];
        $this->assertSame('', self::alert($html, 'danger'));
        $rows = self::rows($html);
        $this->assertCount(5, $rows, 'the tasks of shop 1 only');
        // Newest first; each row with its order's link, marketplace, kind, operation and state.
        $this->assertStringContainsString('value="' . $retrying . '"', $rows[0]);
        $this->assertStringContainsString('failed, retrying', $rows[0]);
        $this->assertStringContainsString('cancel', $rows[0]);
        $this->assertStringContainsString('gave up', $rows[1]);
        $this->assertStringContainsString('Carrier &lt;b onmouseover=alert(1)&gt;refused&lt;/b&gt;', $rows[1]);
        $this->assertStringNotContainsString('<b onmouseover', $html);
        $this->assertStringContainsString('sent, waiting for its ticket', $rows[2]);
        $this->assertStringContainsString('BATCH-' . $o3, $rows[2]);
        $this->assertStringContainsString('>due<', $rows[3]);
        $this->assertStringContainsString('Cdiscount', $rows[3]);
        $this->assertStringContainsString('waiting (delay or tracking number)', $rows[4]);
        $this->assertStringContainsString('/sell/orders/' . $o1 . '/view?_token=', $rows[4]);
        $this->assertStringContainsString('#' . $o1 . ' ' . Shop::reference($o1), $rows[4]);
        $this->assertStringContainsString('<td class="">ship</td>', $rows[4]);
        // Row actions fit the state: Retry only for the one that gave up, Send now for pending ones.
        $this->assertStringContainsString('retryshoppingfeed_task_order', $rows[1]);
        $this->assertStringNotContainsString('retryshoppingfeed_task_order', $rows[3]);
        $this->assertStringContainsString('sendnowshoppingfeed_task_order', $rows[4]);
        $this->assertStringNotContainsString('sendnowshoppingfeed_task_order', $rows[2]);

        // Filters, as PrestaShop's list posts them.
        $html = $this->submit(self::TASKS, ['submitFiltersfsync_task' => '1', 'sfsync_taskFilter_state' => 'gave_up']);
        $this->assertCount(1, self::rows($html));
        $this->assertStringContainsString('value="' . $gaveUp . '"', $html);
        $html = $this->submit(self::TASKS, ['submitFiltersfsync_task' => '1', 'sfsync_taskFilter_state' => '', 'sfsync_taskFilter_marketplace' => 'cdis']);
        $this->assertCount(1, self::rows($html));
        $this->assertStringContainsString('value="' . $due . '"', $html);
        $html = $this->submit(self::TASKS, ['submitFiltersfsync_task' => '1', 'sfsync_taskFilter_marketplace' => '', 'sfsync_taskFilter_id_order' => (string) $o1]);
        $this->assertCount(1, self::rows($html));
        $this->assertStringContainsString('value="' . $waiting . '"', $html);
        $this->assertCount(5, self::rows($this->submit(self::TASKS, ['submitResetsfsync_task' => '1'])));
        // Sorting by order, ascending.
        $rows = self::rows($this->admin(self::TASKS, ['sfsync_taskOrderby' => 'id_order', 'sfsync_taskOrderway' => 'asc'])['html']);
        $this->assertStringContainsString('value="' . $waiting . '"', $rows[0]);
        $this->assertStringContainsString('value="' . $retrying . '"', $rows[4]);
        // Pages of 20.
        for ($i = 0; $i < 20; ++$i) {
            self::task(Shop::order(Shop::SHIPPED), 'pending', 600);
        }
        $html = $this->submit(self::TASKS, ['submitFiltersfsync_task' => '2', 'sfsync_task_pagination' => '20']);
        $this->assertCount(5, self::rows($html));
        $this->assertStringContainsString('<span class="badge">25</span>', $html);
        $this->assertSame([$waiting, $due, $checking, $gaveUp, $retrying], array_map('intval', array_column(array_filter(Shop::tasks(), static fn ($t) => $t['id_order'] <= $o5), 'id_shoppingfeed_task_order')));
    }

    private static function alert(string $html, string $class): string
    {
        return preg_match('#<div class="alert alert-' . $class . '"><ul class="list-unstyled">(.*?)</ul></div>#s', $html, $m) ? $m[1] : '';
    }

    public function testTheGridsActionsNeedTheEditPermissionAndTheTokenAndAreLoggedWithTheEmployee(): void
    {
        $this->syncing();
        $waiting = self::task(Shop::order(Shop::SHIPPED), 'pending', 3600);
        $gaveUp = self::task(Shop::order(Shop::SHIPPED), 'gave_up', null, 5, 'refused');
        $checking = self::task(Shop::order(Shop::SHIPPED), 'checking', null);
        $retrying = self::task(Shop::order(Shop::CANCELED), 'pending', 300, 1);
        $html = $this->admin(self::TASKS)['html'];

        // Retry (row link): the task that gave up is pending again, due now.
        $page = $this->rowAction($html, 'retry', $gaveUp);
        $this->assertStringContainsString("Task $gaveUp is pending again.", self::alert($page, 'success'));
        $row = self::taskRow($gaveUp);
        $this->assertNull($row['gave_up_at']);
        $this->assertSame('SYNC_STATUS', $row['action']);
        // Send now (row link): the waiting task is due now.
        $page = $this->rowAction($html, 'sendnow', $waiting);
        $this->assertStringContainsString("Task $waiting will be sent at the next CRON run.", self::alert($page, 'success'));
        $this->assertLessThanOrEqual(1, (int) Shop::tasks((int) self::taskRow($waiting)['id_order'])[0]['due_in']);
        // Cancel in bulk, as the list's form posts it: the checking one is refused with its reason.
        $page = $this->admin(self::TASKS, [], ['submitBulkcancelshoppingfeed_task_order' => '', 'sfsync_taskBox' => [(string) $retrying, (string) $checking]])['html'];
        $this->assertStringContainsString("Task $retrying was cancelled.", self::alert($page, 'success'));
        $this->assertStringContainsString("#$checking not changed:", self::alert($page, 'warning'));
        $this->assertNull(self::taskRow($retrying));
        $this->assertNotNull(self::taskRow($checking));
        $this->assertStringContainsString('if (confirm(', $page, 'Cancel asks for a confirmation');
        // Each action is logged with the employee.
        $logs = implode("\n", array_column(Shop::logs(), 'msg'));
        $this->assertStringContainsString('employee 1 (Jane D.)', $logs);

        // An employee who may view but not edit: the list, and no action.
        TestDatabase::pdo()->exec('INSERT INTO ps_access (id_profile, id_authorization_role) SELECT ' . self::OTHER_PROFILE
            . ", id_authorization_role FROM ps_authorization_role WHERE slug = 'ROLE_MOD_TAB_ADMINSHOPPINGFEEDSYNCTASKS_READ'");
        $viewer = ['employee' => ['id' => 7, 'id_profile' => self::OTHER_PROFILE, 'firstname' => 'Paul', 'lastname' => 'Viewer']];
        $page = $this->admin(self::TASKS, ['id_task' => (string) $waiting, 'cancelshoppingfeed_task_order' => ''], [], $viewer)['html'];
        $this->assertStringContainsString('You do not have permission to edit this.', self::alert($page, 'danger'));
        $page = $this->admin(self::TASKS, [], ['submitBulkcancelshoppingfeed_task_order' => '', 'sfsync_taskBox' => [(string) $waiting]], $viewer)['html'];
        $this->assertStringContainsString('You do not have permission to edit this.', self::alert($page, 'danger'));
        $this->assertNotNull(self::taskRow($waiting));
        $this->assertCount(3, self::rows($page), 'the list is shown');
        // A forged link (another employee's token) does nothing.
        $r = $this->request(['action' => 'admin', 'controller' => self::TASKS, 'get' => ['id_task' => (string) $waiting, 'cancelshoppingfeed_task_order' => '', 'token' => self::token(self::TASKS, 2)]]);
        $this->assertStringContainsString('Invalid token', $r['result']['admin']['html']);
        $this->assertNotNull(self::taskRow($waiting));
        // The legacy module's gate closed for the shop: the extension refuses, the grid says why.
        Shop::config('SHOPPING_FLUX_STATUS_SHIPPED', 'checked');
        $later = self::task(Shop::order(Shop::SHIPPED), 'pending', 3600);
        $page = $this->admin(self::TASKS, [], ['submitBulksendnowshoppingfeed_task_order' => '', 'sfsync_taskBox' => [(string) $later]])['html'];
        $this->assertStringContainsString("#$later not changed:", self::alert($page, 'warning'));
        $this->assertStringContainsString('shoppingfluxexport', self::alert($page, 'warning'));
        $this->assertSame('', self::alert($page, 'success'));
        $this->assertGreaterThan(3000, (int) Shop::tasks((int) self::taskRow($later)['id_order'])[0]['due_in']);
        Shop::config('SHOPPING_FLUX_STATUS_SHIPPED', '');
        // In another shop's context, the task is not there to act on.
        Shop::secondShop();
        Shop::config('PS_MULTISHOP_FEATURE_ACTIVE', '1');
        $page = $this->admin(self::TASKS, ['id_task' => (string) $waiting, 'cancelshoppingfeed_task_order' => ''], [], ['shop' => 2])['html'];
        $this->assertStringContainsString("#$waiting not changed:", self::alert($page, 'warning'));
        $this->assertNotNull(self::taskRow($waiting));
    }

    // ---- order page ---------------------------------------------------------------------------------

    public function testTheOrderPanelShowsTheOrdersSyncAndSendsItsStatusAgain(): void
    {
        $this->syncing();
        $id = Shop::order(Shop::SHIPPED);
        self::task($id, 'gave_up', null, 5, 'Tracking refused');
        $pdo = TestDatabase::pdo();
        $pdo->prepare("INSERT INTO ps_shoppingfeed_sync_operation (id_order, operation, carrier, tracking_number, batch_id, ticket_number, result, date_add, date_upd)
            VALUES (?, 'ship', 'Colissimo', '<img src=x onerror=alert(1)>', 'B-9', 'T-9', 'failed', NOW(), NOW())")->execute([$id]);
        self::log('error', "[Order: $id] Ticket failed: Tracking refused", $id, date('Y-m-d H:i:s'));

        $html = $this->request(['action' => 'hook', 'hook' => 'displayAdminOrderMain', 'params' => ['id_order' => $id]])['result']['html'];
        $this->assertStringContainsString('Shopping Feed synchronization', $html);
        $this->assertStringContainsString('gave up', $html);
        $this->assertStringContainsString('Tracking refused', $html);
        $this->assertStringContainsString('<td>ship</td><td>Colissimo</td><td>&lt;img src=x onerror=alert(1)&gt;</td><td>T-9</td><td>failed</td>', $html);
        $this->assertStringNotContainsString('<img src=x', $html);
        $this->assertStringContainsString("Ticket failed: Tracking refused", $html);
        $this->assertStringContainsString('name="submitResendOrder"', $html);
        // PrestaShop 8 also calls displayAdminOrder on that page: the panel is shown once.
        $this->assertSame('', $this->request(['action' => 'hook', 'hook' => 'displayAdminOrder', 'params' => ['id_order' => $id]])['result']['html']);
        // An employee without the task tab sees nothing of it.
        $other = ['employee' => ['id' => 7, 'id_profile' => self::OTHER_PROFILE]];
        $this->assertSame('', $this->request(['action' => 'hook', 'hook' => 'displayAdminOrderMain', 'params' => ['id_order' => $id]], $other)['result']['html']);

        // The button: the form's action (the task tab, with its token), posted.
        preg_match('#<form method="post" action="([^"]+)"><input type="hidden" name="id_order" value="' . $id . '" />#', $html, $m);
        $this->assertNotEmpty($m);
        parse_str((string) parse_url(html_entity_decode($m[1]), PHP_URL_QUERY), $get);
        unset($get['controller']);
        $page = $this->admin(self::TASKS, $get, ['submitResendOrder' => '1', 'id_order' => (string) $id])['html'];
        $this->assertStringContainsString("The current status of order $id will be sent at the next CRON run.", self::alert($page, 'success'));
        $tasks = Shop::tasks($id);
        $this->assertCount(1, $tasks);
        $this->assertNull($tasks[0]['gave_up_at']);
        $this->assertLessThanOrEqual(1, (int) $tasks[0]['due_in']);
        // The grid shows that order's tasks.
        $this->assertCount(1, self::rows($page));
    }

    // ---- health -------------------------------------------------------------------------------------

    public function testHealthWarnsOnThePageAndInTheBackOfficeAndRunNowRunsTheCron(): void
    {
        $this->syncing();
        self::task(Shop::order(Shop::SHIPPED), 'pending', -7200);
        Shop::config('SHOPPINGFEED_ORDER_SYNC_DUE_ALERT_MINUTES', '60');
        $html = $this->page();
        preg_match('#<div class="panel" id="shoppingfeedsync-health">(.*?)<form#s', $html, $panel);
        $this->assertNotEmpty($panel);
        $this->assertStringContainsString('The CRON has never run: call the CRON URL every 15 minutes.', $panel[1]);
        $this->assertMatchesRegularExpression('#A status due for sending has waited (2 h 0 min|1 h 59 min) \(alert after 60 minutes\)#', $panel[1]);
        $this->assertStringContainsString('<th>Statuses due for sending</th><td>1', $panel[1]);

        // Every back-office page says it to the employees who may see the task list.
        $logs = $this->admin(self::LOGS)['html'];
        $this->assertStringContainsString('Shopping Feed: The CRON has never run', self::alert($logs, 'warning'));
        TestDatabase::pdo()->exec('INSERT INTO ps_access (id_profile, id_authorization_role) SELECT ' . self::OTHER_PROFILE
            . ", id_authorization_role FROM ps_authorization_role WHERE slug = 'ROLE_MOD_TAB_ADMINSHOPPINGFEEDSYNCLOGS_READ'");
        $other = $this->admin(self::LOGS, [], [], ['employee' => ['id' => 7, 'id_profile' => self::OTHER_PROFILE]])['html'];
        $this->assertStringNotContainsString('Shopping Feed: The CRON', $other);

        // Run now: one bounded run from the page, its report shown, the run logged with the employee.
        $html = $this->page(['submitShoppingfeedSyncRunNow' => '1']);
        $this->assertStringContainsString('Run finished in', $html);
        $this->assertStringContainsString('Run now by employee 1 (Jane D.)', implode("\n", array_column(Shop::logs(), 'msg')));
        preg_match('#<div class="panel" id="shoppingfeedsync-health">(.*?)<form#s', $html, $panel);
        $this->assertStringNotContainsString('The CRON has never run', $panel[1]);
        $this->assertStringNotContainsString('<th>Last CRON run</th><td>never', $panel[1]);
    }

    // ---- orders list ---------------------------------------------------------------------------------

    public function testTheOrdersListsBulkActionSendsTheSelectedOrdersStatusesAgain(): void
    {
        $this->syncing();
        $grid = $this->request(['action' => 'order_grid'])['result']['bulk_actions'];
        $this->assertSame([[
            'id' => 'shoppingfeedsync_resend', 'name' => 'Shopping Feed: send the current status again', 'type' => 'submit',
            'options' => ['submit_route' => 'admin_shoppingfeedsync_orders_resend', 'confirm_message' => null, 'modal_options' => null, 'submit_method' => 'POST', 'route_params' => []],
        ]], $grid);
        // Not offered to an employee who may not act on the task list.
        TestDatabase::pdo()->exec('INSERT INTO ps_access (id_profile, id_authorization_role) SELECT ' . self::OTHER_PROFILE
            . ", id_authorization_role FROM ps_authorization_role WHERE slug = 'ROLE_MOD_TAB_ADMINSHOPPINGFEEDSYNCTASKS_READ'");
        $viewer = ['employee' => ['id' => 7, 'id_profile' => self::OTHER_PROFILE]];
        $this->assertSame([], $this->request(['action' => 'order_grid'], $viewer)['result']['bulk_actions']);

        $sf = Shop::order(Shop::SHIPPED);
        $notSf = Shop::order(Shop::SHIPPED, false);
        $token = md5('harnesscookiekey0123456789abcdefghijklmnopqrstuvwxyz0123456789ab' . 'route' . '1');
        $post = ['order_orders_bulk' => [(string) $sf, (string) $notSf]];
        // Without the route's token, or without the edit permission: nothing queued.
        $this->assertSame('invalid_token', $this->request(['action' => 'route', 'route' => 'admin_shoppingfeedsync_orders_resend', 'get' => [], 'post' => $post])['result']['route']['status']);
        $denied = $this->request(['action' => 'route', 'route' => 'admin_shoppingfeedsync_orders_resend',
            'get' => ['_token' => md5('harnesscookiekey0123456789abcdefghijklmnopqrstuvwxyz0123456789ab' . 'route' . '7')], 'post' => $post], $viewer)['result']['route'];
        $this->assertSame('access_denied', $denied['status']);
        $this->assertSame([], Shop::tasks());

        $r = $this->request(['action' => 'route', 'route' => 'admin_shoppingfeedsync_orders_resend', 'get' => ['_token' => $token], 'post' => $post])['result']['route'];
        $this->assertSame('ok', $r['status'], json_encode($r));
        $this->assertStringContainsString('admin_orders_index', $r['redirect']);
        $this->assertSame(["The current status of order $sf will be sent at the next CRON run."], $r['flashes']['success']);
        $this->assertStringStartsWith("Order $notSf not queued: ", $r['flashes']['warning'][0]);
        $this->assertCount(1, Shop::tasks($sf));
        $this->assertSame([], Shop::tasks($notSf));
        $this->assertStringContainsString('employee 1 (Jane D.)', implode("\n", array_column(Shop::logs(), 'msg')));
    }

    public function testAnExtensionErrorIsShownAsAnErrorNotABlankPageAndDryRunIsSaidEverywhere(): void
    {
        $this->syncing();
        $id = Shop::order(Shop::SHIPPED);
        self::task($id, 'pending', 60);
        Shop::config('SHOPPINGFEED_ORDER_SYNC_DRY_RUN', '1');
        $this->assertStringContainsString('Dry run is on', self::alert($this->admin(self::TASKS)['html'], 'warning'));
        $this->assertStringContainsString('Dry run is on', $this->request(['action' => 'hook', 'hook' => 'displayAdminOrderMain', 'params' => ['id_order' => $id]])['result']['html']);

        // The task table unreadable (a failed migration, a lost grant): every page says why.
        $pdo = TestDatabase::pdo();
        $pdo->exec('RENAME TABLE ps_shoppingfeed_task_order TO ps_shoppingfeed_task_order_away');
        try {
            $grid = $this->admin(self::TASKS)['html'];
            $panel = $this->request(['action' => 'hook', 'hook' => 'displayAdminOrderMain', 'params' => ['id_order' => $id]])['result']['html'];
            $page = $this->page();
        } finally {
            $pdo->exec('RENAME TABLE ps_shoppingfeed_task_order_away TO ps_shoppingfeed_task_order');
        }
        $this->assertStringContainsString('shoppingfeed_task_order', self::alert($grid, 'danger'));
        $this->assertStringContainsString('No records found', $grid);
        $this->assertMatchesRegularExpression('#<div class="alert alert-danger">[^<]*shoppingfeed_task_order#', $panel);
        preg_match('#<div class="panel" id="shoppingfeedsync-health">(.*?)<form#s', $page, $health);
        $this->assertMatchesRegularExpression('#<div class="alert alert-warning">[^<]*shoppingfeed_task_order#', $health[1]);
    }

    public function testRunNowInAShopsContextRunsThatShopOnlyAndInAllShopsEveryShop(): void
    {
        $this->syncing();
        Shop::secondShop();
        Shop::config('PS_MULTISHOP_FEATURE_ACTIVE', '1');
        $shop2 = $this->page(['submitShoppingfeedSyncRunNow' => '1'], ['shop' => 2]);
        $this->assertStringContainsString('Run finished in', $shop2);
        $this->assertMatchesRegularExpression('#Shop 2: #', $shop2);
        $this->assertDoesNotMatchRegularExpression('#Shop 1: #', $shop2);
        $all = $this->page(['submitShoppingfeedSyncRunNow' => '1'], ['shop' => 1, 'shop_context' => 'all']);
        $this->assertMatchesRegularExpression('#Shop 1: #', $all);
        $this->assertMatchesRegularExpression('#Shop 2: #', $all);
    }
}
