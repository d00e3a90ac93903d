<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\Tests\ModuleHarness;
use Shoppingfeed\Sync\Tests\ModuleSimulator;
use Shoppingfeed\Sync\Tests\Shop;
use Shoppingfeed\Sync\Tests\Simulator;
use Shoppingfeed\Sync\Tests\TestDatabase;

require_once __DIR__ . '/Support/ModuleSimulator.php';

/**
 * The module's CRON side end to end: settings saved on the configuration page, status changes
 * through the module's hook, CRON runs through the module against the API simulator (reached
 * through php.ini's shoppingfeed_sync.api_base_url, as an operator sets it), the failure e-mail
 * through Mail::Send in the merchant's language, and the runs shown on the page.
 *
 * Group module-install: installs the module from php/sql/install.sql (MySQL 5.7+ / MariaDB).
 *
 * @group module-install
 */
final class ModuleCronTest extends TestCase
{
    use ModuleSimulator;

    protected function setUp(): void
    {
        self::resetModuleAndSimulator();
    }

    protected function tearDown(): void
    {
        TestDatabase::pdo()->exec('DELETE FROM ps_order_state_lang WHERE id_lang > 1');
        ModuleHarness::forgetModule();
        Shop::reset();
    }

    private static function runsTable(string $html): array
    {
        $doc = new \DOMDocument();
        self::assertTrue(@$doc->loadHTML('<?xml encoding="utf-8"?>' . $html));
        $rows = [];
        foreach ((new \DOMXPath($doc))->query("//div[@id='shoppingfeedsync-runs']//tbody/tr") as $tr) {
            $rows[] = array_map(static fn ($td) => trim($td->textContent), iterator_to_array($tr->getElementsByTagName('td')));
        }

        return $rows;
    }

    public function testStatusesGoOutThroughTheModuleTheFailureMailIsFrenchAndThePageShowsTheRuns(): void
    {
        $this->assertTrue(self::request(['action' => 'install'])['result']['result']);
        $html = self::request(['action' => 'content'])['result']['html'];
        $this->assertStringContainsString('The CRON has never run.', $html);
        $this->assertSame([], self::runsTable($html));

        Shop::cronConfig(Simulator::TOKEN, Simulator::STORE);
        $post = ['submitShoppingfeedSync' => '1', 'SHOPPINGFEED_ORDER_SYNC_ENABLED' => '1', 'SHOPPINGFEED_SHIPPED_ORDERS' => ['4'],
            'SHOPPINGFEED_CANCELLED_ORDERS' => ['6'], 'SHOPPINGFEED_REFUNDED_ORDERS' => ['7'], 'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '0',
            'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '100'];
        $this->assertStringContainsString('Settings updated.', self::request(['action' => 'content', 'post' => $post])['result']['html']);

        // The merchant reads French: the shop's default language, with its state names.
        TestDatabase::pdo()->exec("INSERT INTO ps_lang (id_lang, name, active, iso_code, language_code, locale, date_format_lite, date_format_full, is_rtl) VALUES (2, 'Français (French)', 1, 'fr', 'fr-fr', 'fr-FR', 'd/m/Y', 'd/m/Y H:i:s', 0)");
        TestDatabase::pdo()->exec("INSERT INTO ps_order_state_lang (id_order_state, id_lang, name, template) SELECT id_order_state, 2, CONCAT(name, ' (fr)'), template FROM ps_order_state_lang WHERE id_lang = 1");
        Shop::config('PS_LANG_DEFAULT', '2');

        $ok = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, 7001, 'MP-7001');
        $bad = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, 7002, 'MP-7002');
        self::$sim->seedOrders([7001 => 'MP-7001', 7002 => 'MP-7002']);
        self::$sim->outcome(7002, 'failed', 'Carrier not accepted');
        foreach ([$ok, $bad] as $id) {
            Shop::setState($id, Shop::SHIPPED);
            self::request(['action' => 'status_update', 'id_order' => $id, 'id_order_state' => Shop::SHIPPED]);
        }
        $this->assertCount(2, Shop::tasks());

        $first = self::request(['action' => 'cron']);
        $this->assertSame(2, $first['result']['report']['shops'][1]['statuses_sent'], json_encode($first['result']['report']));
        $this->assertCount(1, self::$sim->posts(), "both orders in one request");
        // Five minutes later (the CRON's period): the page tells the runs apart by time.
        TestDatabase::pdo()->exec('UPDATE ps_shoppingfeed_processlogger SET date_add = date_add - INTERVAL 5 MINUTE');

        $second = self::request(['action' => 'cron']);
        $report = $second['result']['report']['shops'][1];
        $this->assertSame(1, $report['tickets_succeeded']);
        $this->assertSame(1, $report['tickets_failed']);
        $this->assertTrue($report['mail_sent']);

        $mails = array_values(array_filter($second['out'], static fn ($o) => $o['kind'] === 'mail'));
        $this->assertCount(1, $mails, json_encode($second['out']));
        $mail = $mails[0];
        $this->assertSame('fr', $mail['iso']);
        $this->assertSame('order-sync-errors', $mail['template']);
        $this->assertSame('Erreurs de synchronisation Shopping Feed', $mail['subject']);
        $this->assertSame(1, $mail['id_shop']);
        $ref = Shop::reference($bad);
        $this->assertStringContainsString("$ref : Status Shipped (fr) : Carrier not accepted", $mail['txt']);
        $this->assertStringContainsString('Bonjour', $mail['txt']);
        $this->assertStringContainsString("<td>$ref</td>", $mail['html']);
        $this->assertStringNotContainsString(Shop::reference($ok), $mail['txt']);

        $html = self::request(['action' => 'content'])['result']['html'];
        $this->assertMatchesRegularExpression('#Last run: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+\.\d s\)\.#', $html);
        $rows = self::runsTable($html);
        $this->assertCount(2, $rows, $html);
        // Newest first: the ticket check (1 confirmed, 1 failure), then the send (2 sent).
        [$check, $send] = $rows;
        $this->assertSame(['0', '1', '1'], [$check[1], $check[2], $check[3]]);
        $this->assertStringContainsString('Carrier not accepted', $check[4]);
        $this->assertSame(['2', '0', '0', ''], [$send[1], $send[2], $send[3], $send[4]]);
        $this->assertGreaterThan(strtotime($send[0]), strtotime($check[0]));
    }

    public function testAnEnabledSyncBlockedByTheLegacyModuleLogsAnErrorAtEachCron(): void
    {
        $this->assertTrue(self::request(['action' => 'install'])['result']['result']);
        Shop::cronConfig(Simulator::TOKEN, Simulator::STORE);
        Shop::config('SHOPPINGFEED_ORDER_SYNC_ENABLED', '1');
        Shop::config('SHOPPING_FLUX_STATUS_SHIPPED', 'checked');
        foreach ([1, 2] as $run) {
            $report = self::request(['action' => 'cron'])['result']['report']['shops'][1];
            $this->assertNotNull($report['skipped'], "run $run");
            $this->assertCount($run, array_filter(Shop::logs('error'), static fn ($l) => strpos($l['msg'], 'Order shipment') !== false), "run $run");
        }
        $this->assertSame([], self::$sim->posts());
        $html = self::request(['action' => 'content'])['result']['html'];
        $this->assertStringContainsString('is enabled but does not run', $html);
        $this->assertStringContainsString('Order shipment', self::runsTable($html)[0][4]);
    }

    public function testTheCronUrlRunsTheCronWithItsSecureKeyOnly(): void
    {
        $this->assertTrue(self::request(['action' => 'install'])['result']['result']);
        Shop::cronConfig(Simulator::TOKEN, Simulator::STORE);
        Shop::config('SHOPPINGFEED_ORDER_SYNC_ENABLED', '1');
        $id = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, 7101, 'MP-7101');
        self::$sim->seedOrders([7101 => 'MP-7101']);
        Shop::setState($id, Shop::SHIPPED);
        self::request(['action' => 'status_update', 'id_order' => $id, 'id_order_state' => Shop::SHIPPED]);

        // The URL the page shows, called as a CRON service would.
        preg_match('#value="(http[^"]+)"#', self::request(['action' => 'content'])['result']['html'], $m);
        parse_str((string) parse_url(html_entity_decode($m[1]), PHP_URL_QUERY), $query);
        $wrong = self::request(['action' => 'front', 'controller' => $query['controller'], 'get' => ['secure_key' => strrev($query['secure_key'])] + $query])['result'];
        $this->assertSame(403, $wrong['status']);
        $this->assertSame(['success' => false, 'error' => 'Authentication failed'], $wrong['body']);
        $this->assertSame([], self::$sim->posts());

        $call = self::request(['action' => 'front', 'controller' => $query['controller'], 'get' => $query]);
        $ok = $call['result'];
        $this->assertSame(200, $ok['status'], $ok['raw']);
        // An answer for a CRON service: no front-office header, media or footer, and no cookie,
        // although the request has no ajax parameter (PrestaShop's Controller sets $ajax from it).
        $this->assertSame([], array_values(array_filter($call['out'], static fn ($o) => in_array($o['kind'], ['front', 'cookie'], true))));
        $this->assertTrue($ok['body']['success']);
        $this->assertSame(1, $ok['body']['report']['shops'][1]['statuses_sent']);
        $this->assertCount(1, self::$sim->posts());
        $this->assertSame('CHECK_TICKET_SYNC_STATUS', Shop::tasks($id)[0]['action']);
    }

    public function testTheLastRunsCountNeitherAWaitingInvoiceAsAFailureNorAnIgnoredOrderAsSent(): void
    {
        $this->assertTrue(self::request(['action' => 'install'])['result']['result']);
        // One run's rows as the extension writes them: orders 1 and 2 sent, the API ignored order
        // 2 (logged with or without its own "Ticket created" row), order 3's invoice waits for its
        // Shopping Feed id, order 4's ticket succeeded, order 5's failed.
        $rows = [
            [1, 'success', 'Ticket created for Order MP-1 Status ship'],
            [2, 'success', 'Ticket created for Order MP-2 Status ship'],
            [2, 'error', 'Order 2: ignored by Shopping Feed: Order not found'],
            [6, 'error', 'Order 6: ignored by Shopping Feed: Order not found'],
            [3, 'error', 'No SF Order id set.'],
            [3, 'error', 'No SF Order id set.'],
            [4, 'success', 'Ticket status : succeed. Ticket 4'],
            [5, 'error', 'Order 5: Carrier not accepted'],
        ];
        $insert = TestDatabase::pdo()->prepare("INSERT INTO ps_shoppingfeed_processlogger (name, msg, level, object_name, object_id, date_add) VALUES ('shoppingfeed:syncOrder', ?, ?, 'Order', ?, NOW())");
        foreach ($rows as [$order, $level, $msg]) {
            $insert->execute([$msg, $level, $order]);
        }
        $runs = self::runsTable(self::request(['action' => 'content'])['result']['html']);
        $this->assertCount(1, $runs);
        // sent 1 (order 1), confirmed 1, failures 3 (two ignored orders, one failed ticket).
        $this->assertSame(['1', '1', '3'], [$runs[0][1], $runs[0][2], $runs[0][3]]);
        $this->assertSame('Order 5: Carrier not accepted', $runs[0][4]);
    }

    public function testATrackingNumberSavedLaterGoesOutThroughBothHooks(): void
    {
        $this->assertTrue(self::request(['action' => 'install'])['result']['result']);
        Shop::cronConfig(Simulator::TOKEN, Simulator::STORE);
        $post = ['submitShoppingfeedSync' => '1', 'SHOPPINGFEED_ORDER_SYNC_ENABLED' => '1', 'SHOPPINGFEED_SHIPPED_ORDERS' => ['4'],
            'SHOPPINGFEED_CANCELLED_ORDERS' => ['6'], 'SHOPPINGFEED_REFUNDED_ORDERS' => ['7'], 'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '30',
            'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '100'];
        $this->assertStringContainsString('Settings updated.', self::request(['action' => 'content', 'post' => $post])['result']['html']);
        $id = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, 7101, 'MP-7101');
        self::$sim->seedOrders([7101 => 'MP-7101']);
        Shop::setState($id, Shop::SHIPPED);
        self::request(['action' => 'status_update', 'id_order' => $id, 'id_order_state' => Shop::SHIPPED]);
        $this->assertGreaterThan(1700, (int) Shop::tasks($id)[0]['due_in'], 'waits 30 minutes for the tracking number');

        $carrier = Shop::carrier('Colissimo', 'https://track.example/?n=@');
        Shop::tracking($id, $carrier, '6A0101');
        self::request(['action' => 'tracking_update', 'hook' => 'admin', 'id_order' => $id]);
        $this->assertLessThanOrEqual(0, (int) Shop::tasks($id)[0]['due_in'], 'due at once');
        self::request(['action' => 'cron']);
        $tracking = static fn () => array_map(static fn ($o) => $o['trackingNumber'],
            array_merge(...array_map(static fn ($p) => $p['json']['order'], array_values(array_filter(self::$sim->posts(), static fn ($p) => $p['operation'] === 'ship')))));
        $this->assertSame(['6A0101'], $tracking());

        // The carrier's number changes later (an OrderCarrier update): sent again, once.
        TestDatabase::pdo()->prepare('UPDATE ps_order_carrier SET tracking_number = ? WHERE id_order = ?')->execute(['6A0202', $id]);
        self::request(['action' => 'tracking_update', 'hook' => 'object', 'id_order' => $id]);
        self::request(['action' => 'tracking_update', 'hook' => 'object', 'id_order' => $id]);
        self::request(['action' => 'cron']);
        self::request(['action' => 'cron']);
        $this->assertSame(['6A0101', '6A0202'], $tracking());
    }
}
