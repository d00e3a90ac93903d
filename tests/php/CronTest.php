<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\OrderSync;
use Shoppingfeed\Sync\Tests\Shop;
use Shoppingfeed\Sync\Tests\Simulator;
use Shoppingfeed\Sync\Tests\SimulatorShop;
use Shoppingfeed\Sync\Tests\TestDatabase;

require_once __DIR__ . '/Support/SimulatorShop.php';

/**
 * OrderSync::runCron() end to end: the shop database, the extension and the API simulator (the
 * reaction to each ticket state, and the reliability guarantees).
 */
final class CronTest extends TestCase
{
    use SimulatorShop;

    private int $nextSfId = 5000;

    /** A Shopping Feed order known to the simulator, its status changed through the hook. */
    private function queued(int $state, ?int &$sfId = null): int
    {
        $sfId = $this->nextSfId++;
        $id = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, $sfId, "MP-$sfId");
        self::$sim->seedOrders([$sfId => "MP-$sfId"]);
        Shop::setState($id, $state);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, $state), "order $id queued");
        return $id;
    }

    /** @return array<string, mixed> the report of shop 1 */
    private function cron(array $options = []): array
    {
        $report = OrderSync::runCron($options);
        $this->assertFalse($report['locked']);
        $this->assertArrayHasKey(1, $report['shops']);
        return $report['shops'][1];
    }

    private function task(int $idOrder): ?array
    {
        $tasks = Shop::tasks($idOrder);
        $this->assertLessThanOrEqual(1, count($tasks));
        return $tasks[0] ?? null;
    }

    /** @return list<array<string, mixed>> tickets the simulator holds (no poll counted) */
    private function simTickets(): array
    {
        return self::$sim->control('GET', '/_sim/tickets')['tickets'];
    }

    private function ticketOf(int $sfId): array
    {
        $mine = array_values(array_filter($this->simTickets(), static fn ($t) => ($t['payload']['id'] ?? null) === $sfId));
        $this->assertCount(1, $mine, "one ticket for SF order $sfId");
        return $mine[0];
    }

    /** @return list<array<string, mixed>> the orders of every POST to one operation */
    private function postedOrders(string $operation): array
    {
        $out = [];
        foreach (self::$sim->posts() as $p) {
            if ($p['operation'] === $operation) {
                $out = array_merge($out, $p['json']['order']);
            }
        }
        return $out;
    }

    public function testShipSendsCarrierTrackingAndLinkThenWaitsForTheTicket(): void
    {
        $carrier = Shop::carrier('Colissimo', 'https://www.laposte.fr/suivi?code=@&lang=fr');
        $sfId = $this->nextSfId++;
        $id = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, $sfId, "AMZ-$sfId");
        self::$sim->seedOrders([$sfId => "AMZ-$sfId"]);
        Shop::tracking($id, $carrier, '6A12345678901');
        Shop::setState($id, Shop::SHIPPED);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::SHIPPED));

        $shop = $this->cron();

        $posts = self::$sim->posts();
        $this->assertCount(1, $posts);
        $this->assertSame('/v1/store/1276/order/ship', $posts[0]['path']);
        $this->assertSame(202, $posts[0]['status']);
        // The SDK's wire format: explicit `items: []` and `warehouseId: null`.
        $this->assertSame('{"order":[{"id":' . $sfId . ',"carrier":"Colissimo","trackingNumber":"6A12345678901",'
            . '"trackingLink":"https://www.laposte.fr/suivi?code=6A12345678901&lang=fr","items":[],"warehouseId":null}]}', $posts[0]['body']);
        $this->assertStringStartsWith('Bearer', $posts[0]['authorization']);

        $task = $this->task($id);
        $this->assertSame('CHECK_TICKET_SYNC_STATUS', $task['action']);
        $this->assertSame($this->ticketOf($sfId)['batchId'], $task['batch_id']);
        $this->assertNull($task['lease_owner']);
        $this->assertSame(1, $shop['statuses_sent']);
        $this->assertSame([], $shop['errors']);
        $this->assertContains("[Order: $id] Ticket created for Order AMZ-$sfId Status ship", array_column(Shop::logs('success'), 'msg'));
    }

    public function testCancelAndRefundBodies(): void
    {
        $cancel = $this->queued(Shop::CANCELED, $sfCancel);
        $refund = $this->queued(Shop::REFUNDED, $sfRefund);

        $shop = $this->cron();

        $bodies = array_column(self::$sim->posts(), 'body', 'operation');
        $this->assertCount(2, $bodies);
        $this->assertSame('{"order":[{"id":' . $sfCancel . ',"reason":""}]}', $bodies['cancel']);
        $this->assertSame('{"order":[{"id":' . $sfRefund . ',"refund":{"shipping":true,"products":[]}}]}', $bodies['refund']);
        $this->assertSame(2, $shop['statuses_sent']);
        $this->assertSame(count(self::$sim->requests()), $shop['requests'], 'the report counts what the API received');
        foreach ([$cancel => $sfCancel, $refund => $sfRefund] as $id => $sf) {
            $this->assertSame('CHECK_TICKET_SYNC_STATUS', $this->task($id)['action']);
            $this->assertSame($this->ticketOf($sf)['batchId'], $this->task($id)['batch_id']);
        }
    }

    public function testTheCurrentStateDecides(): void
    {
        $id = $this->queued(Shop::SHIPPED, $sfId);
        Shop::setState($id, Shop::CANCELED); // no hook

        $this->cron();

        $this->assertSame([], $this->postedOrders('ship'));
        $this->assertSame([['id' => $sfId, 'reason' => '']], $this->postedOrders('cancel'));
        $this->assertSame('order.notify.cancellation', $this->ticketOf($sfId)['type']);
    }

    public function testUnmappedCurrentStateDeletesTheTaskAndLogs(): void
    {
        $id = $this->queued(Shop::CANCELED);
        Shop::setState($id, Shop::PAYMENT_ACCEPTED);

        $shop = $this->cron();

        $this->assertNull($this->task($id));
        $this->assertSame([], self::$sim->posts());
        $this->assertSame(1, $shop['tasks_removed']);
        $info = array_values(array_filter(Shop::logs('info'), static fn ($l) => str_contains($l['msg'], 'No matching operation')));
        $this->assertCount(1, $info);
        $this->assertSame("[Order: $id] No matching operation for Order State " . Shop::PAYMENT_ACCEPTED . '. Deleting Task Order.', $info[0]['msg']);
        $this->assertSame((string) $id, (string) $info[0]['object_id']);
    }

    public function testMoreThanOneHundredDueTasksGoInRequestsOfAtMostOneHundred(): void
    {
        $pdo = TestDatabase::pdo();
        $ids = [];
        $seed = [];
        for ($i = 0; $i < 150; $i++) {
            $sf = $this->nextSfId++;
            $ids[] = Shop::sfOrder(Shop::CANCELED, $sf, "MP-$sf");
            $seed[$sf] = "MP-$sf";
        }
        self::$sim->seedOrders($seed);
        foreach ($ids as $id) {
            $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::CANCELED));
        }

        $shop = $this->cron();

        $posts = self::$sim->posts();
        $this->assertCount(2, $posts);
        $sizes = array_map(static fn ($p) => count($p['json']['order']), $posts);
        sort($sizes);
        $this->assertSame([50, 100], $sizes);
        $sent = array_column($this->postedOrders('cancel'), 'id');
        sort($sent);
        $this->assertSame(array_keys($seed), $sent, 'every order once');
        $this->assertSame(150, $shop['statuses_sent']);
        $this->assertSame(150, (int) $pdo->query("SELECT COUNT(*) FROM ps_shoppingfeed_task_order WHERE action = 'CHECK_TICKET_SYNC_STATUS' AND batch_id IS NOT NULL")->fetchColumn());
        $this->assertSame(2, (int) $pdo->query('SELECT COUNT(DISTINCT batch_id) FROM ps_shoppingfeed_task_order')->fetchColumn());
    }

    public function testSucceededTicketsDeleteTheTasksWithOneTicketListPerBatch(): void
    {
        $carrier = Shop::carrier('UPS', null);
        $ids = [$this->queued(Shop::SHIPPED), $this->queued(Shop::SHIPPED), $this->queued(Shop::CANCELED)];
        foreach ([$ids[0], $ids[1]] as $id) {
            Shop::tracking($id, $carrier, "TN$id");
        }
        $this->cron();
        $this->assertSame(2, (int) TestDatabase::pdo()->query('SELECT COUNT(DISTINCT batch_id) FROM ps_shoppingfeed_task_order')->fetchColumn());
        $this->assertSame([], self::$sim->requests('ticket_list'), 'nothing to check in the first run');

        $shop = $this->cron();

        $this->assertSame([], Shop::tasks());
        $this->assertSame(3, $shop['tickets_succeeded']);
        $this->assertSame(3, $shop['tasks_removed']);
        $lists = self::$sim->requests('ticket_list');
        $this->assertCount(2, $lists, 'one ticket list per batch, not one per ticket');
        $this->assertSame([], self::$sim->requests('ticket_get'));
        $this->assertSame([], $this->mails);
        $this->assertNull($shop['mail']);
        // Each success row names its ticket (the ticket number is recorded even when the ticket is
        // final at the first check).
        $tickets = array_column($this->simTickets(), 'id');
        $ok = array_filter(Shop::logs('success'), static fn ($l) => in_array(
            $l['msg'],
            array_map(static fn ($t) => "[Order: {$l['object_id']}] Ticket status : succeed. Ticket $t", $tickets),
            true
        ));
        $this->assertCount(3, $ok);
    }

    public function testFailedTicketMailsTheMerchantAndRequeues(): void
    {
        $id = $this->queued(Shop::SHIPPED, $sfId);
        self::$sim->outcome($sfId, 'failed', 'Carrier not accepted');
        $this->cron();

        $shop = $this->cron();

        $this->assertCount(1, $this->mails);
        $mail = $this->mails[0];
        $ref = Shop::reference($id);
        $this->assertSame(1, $mail['id_shop']);
        $this->assertSame('merchant@example.com', $mail['to']);
        $this->assertSame('order-sync-errors', $mail['template']);
        $this->assertSame("- Order $ref : Status Shipped : Carrier not accepted\n", $mail['template_vars']['{list_order_sync_errors_txt}']);
        $this->assertStringContainsString("<td>$ref</td><td>Shipped</td><td>Carrier not accepted</td>", $mail['template_vars']['{list_order_sync_errors_html}']);
        $this->assertTrue($shop['mail_sent']);

        $task = $this->task($id);
        $this->assertSame('SYNC_STATUS', $task['action']);
        $this->assertSame(1, (int) $task['attempts']);
        $this->assertSame('Carrier not accepted', $task['last_error']);
        $this->assertSame($this->ticketOf($sfId)['id'], $task['ticket_number'], 'the failed ticket, final at the first check, is recorded');
        $this->assertNull($task['batch_id']);
        $this->assertEqualsWithDelta(300, (int) $task['due_in'], 3, 'requeued after requeue_delay_minutes');
        $this->assertSame(1, $shop['tickets_failed']);
        $this->assertSame(1, $shop['requeued']);
        $this->assertSame([['id_order' => $id, 'reference' => $ref, 'status' => 'Shipped', 'reason' => 'Carrier not accepted', 'gave_up' => false]],
            array_map(static fn ($f) => array_intersect_key($f, array_flip(['id_order', 'reference', 'status', 'reason', 'gave_up'])), $shop['failures']));
        $this->assertCount(1, self::$sim->posts(), 'not resent in the same run (requeue delay)');
    }

    public function testFailedUpToMaxAttemptsGivesUp(): void
    {
        $id = $this->queued(Shop::CANCELED, $sfId);
        self::$sim->outcome($sfId, 'failed', 'Marketplace down');
        $opts = ['max_attempts' => 2, 'requeue_delay_minutes' => 0];
        $this->cron($opts);

        $second = $this->cron($opts); // failed (attempt 1), requeued and resent at once
        $this->assertSame(1, $second['requeued']);
        $this->assertSame(0, $second['gave_up']);
        $this->assertSame('CHECK_TICKET_SYNC_STATUS', $this->task($id)['action']);
        $this->assertSame(1, (int) $this->task($id)['attempts']);
        $this->assertCount(2, self::$sim->posts());

        $third = $this->cron($opts);
        $kept = $this->task($id);
        $this->assertSame(['SYNC_STATUS', null], [$kept['action'], $kept['update_at']], 'kept for the merchant after max_attempts, never due');
        $this->assertNotNull($kept['gave_up_at']);
        $this->assertSame(1, $third['gave_up']);
        $this->assertSame(0, $third['requeued']);
        $this->assertCount(1, $third['failures']);
        $this->assertTrue($third['failures'][0]['gave_up']);
        $this->assertSame('Marketplace down', $third['failures'][0]['reason']);
        $this->assertCount(2, $this->mails, 'one mail per run with failures');
        $this->assertStringContainsString('Marketplace down (gave up after repeated failures: retry or cancel it in the task list)', $this->mails[1]['template_vars']['{list_order_sync_errors_txt}']);
        $this->assertCount(2, self::$sim->posts(), 'not sent a third time');
    }

    public function testCanceledTicketIsMailedAndRemoved(): void
    {
        $id = $this->queued(Shop::REFUNDED, $sfId);
        self::$sim->outcome($sfId, 'canceled', 'Refund refused by the marketplace');
        $this->cron();

        $shop = $this->cron();

        $this->assertNull($this->task($id));
        $this->assertSame(1, $shop['tickets_canceled']);
        $this->assertSame(0, $shop['requeued']);
        $this->assertSame('refused (ticket canceled): Refund refused by the marketplace', $shop['failures'][0]['reason']);
        $this->assertFalse($shop['failures'][0]['gave_up']);
        $this->assertCount(1, $this->mails);
        $this->assertStringContainsString(Shop::reference($id) . ' : Status Refunded : refused (ticket canceled): Refund refused by the marketplace',
            $this->mails[0]['template_vars']['{list_order_sync_errors_txt}']);
    }

    public function testRunningTicketStaysPending(): void
    {
        $id = $this->queued(Shop::SHIPPED, $sfId);
        self::$sim->outcome($sfId, 'running');
        $this->cron();
        $batch = $this->task($id)['batch_id'];

        foreach ([1, 2] as $n) {
            $shop = $this->cron();
            $this->assertSame(1, $shop['tickets_pending'], "run $n");
            $this->assertSame(0, $shop['tickets_stuck']);
            $task = $this->task($id);
            $this->assertSame('CHECK_TICKET_SYNC_STATUS', $task['action']);
            $this->assertSame($batch, $task['batch_id']);
            $this->assertSame($this->ticketOf($sfId)['id'], $task['ticket_number'], 'ticket number saved once known');
        }
        $this->assertCount(2, self::$sim->requests('ticket_list'));
        $this->assertCount(1, self::$sim->posts());
        $this->assertSame([], $this->mails);
    }

    public function testTicketPastTheDeadlineIsStuckAndRequeued(): void
    {
        $id = $this->queued(Shop::SHIPPED, $sfId);
        self::$sim->outcome($sfId, 'running');
        $this->cron();

        $shop = $this->cron(['ticket_deadline_minutes' => 0]);

        $this->assertSame(1, $shop['tickets_stuck']);
        $this->assertSame(1, $shop['requeued']);
        $this->assertSame(0, $shop['tickets_pending']);
        $task = $this->task($id);
        $this->assertSame('SYNC_STATUS', $task['action']);
        $this->assertSame(1, (int) $task['attempts']);
        $this->assertNull($task['batch_id']);
        $this->assertStringContainsString('ticket still running', (string) $task['last_error']);
        $this->assertStringContainsString('stuck', implode("\n", array_column(Shop::logs('error'), 'msg')));
    }

    public function testTicketInvisibleForTheFirstPollsStaysPendingThenSucceeds(): void
    {
        self::$sim->settings(['invisible_polls' => 2]);
        $id = $this->queued(Shop::CANCELED);
        $this->cron();

        foreach ([1, 2] as $n) {
            $shop = $this->cron();
            $this->assertSame(1, $shop['tickets_pending'], "invisible poll $n");
            $this->assertSame(0, $shop['tickets_succeeded']);
            $this->assertSame('CHECK_TICKET_SYNC_STATUS', $this->task($id)['action']);
        }
        $shop = $this->cron();
        $this->assertSame(1, $shop['tickets_succeeded']);
        $this->assertNull($this->task($id));
        $this->assertCount(1, self::$sim->posts());
    }

    public function testUnknownBatchIsRequeued(): void
    {
        $id = $this->queued(Shop::CANCELED);
        $this->cron();
        self::$sim->fault(['route' => 'ticket_list'], ['kind' => 'status', 'status' => 404]);

        $shop = $this->cron();

        $this->assertSame(1, $shop['requeued']);
        $task = $this->task($id);
        $this->assertSame('SYNC_STATUS', $task['action']);
        $this->assertSame(1, (int) $task['attempts']);
        $this->assertNull($task['batch_id']);
        $this->assertSame('batch not found on the Shopping Feed API', $task['last_error']);
        $this->assertSame(404, self::$sim->requests('ticket_list')[0]['status']);
    }

    public function testRateLimitWaitIsHonouredThenSent(): void
    {
        $id = $this->queued(Shop::CANCELED);
        self::$sim->fault(['route' => 'order_op', 'first' => 1], ['kind' => 'rate_limit', 'wait' => 0.6]);

        $t = microtime(true);
        $shop = $this->cron();
        $elapsed = microtime(true) - $t;

        $posts = self::$sim->posts();
        $this->assertSame([429, 202], array_column($posts, 'status'));
        $this->assertGreaterThanOrEqual(0.55, $elapsed, 'X-RateLimit-Wait honoured');
        $this->assertSame(1, $shop['statuses_sent']);
        $this->assertSame([], $shop['errors']);
        $this->assertSame('CHECK_TICKET_SYNC_STATUS', $this->task($id)['action']);
    }

    public function testServerErrorsExhaustedLeaveTheTasksForTheNextRun(): void
    {
        $a = $this->queued(Shop::CANCELED);
        $b = $this->queued(Shop::CANCELED);
        self::$sim->fault(['route' => 'order_op'], ['kind' => 'status', 'status' => 503, 'body' => 'html']);

        $shop = $this->cron();

        $posts = self::$sim->posts();
        $this->assertGreaterThan(1, count($posts), 'retried');
        $this->assertSame([503], array_values(array_unique(array_column($posts, 'status'))));
        foreach ([$a, $b] as $id) {
            $task = $this->task($id);
            $this->assertSame('SYNC_STATUS', $task['action']);
            $this->assertNull($task['lease_owner']);
            $this->assertNull($task['lease_until']);
            $this->assertNull($task['batch_id']);
        }
        $this->assertSame(0, $shop['statuses_sent']);
        $this->assertCount(1, $shop['errors']);
        $this->assertStringContainsString('Could not send 2 cancel status(es)', $shop['errors'][0]);
        $this->assertStringContainsString('503', $shop['errors'][0]);
        $errors = array_column(Shop::logs('error'), 'msg');
        $this->assertContains('[Shop 1] ' . $shop['errors'][0], $errors);

        self::$sim->control('DELETE', '/_sim/faults');
        $next = $this->cron();
        $this->assertSame(2, $next['statuses_sent'], 'the next run sends them');
    }

    public function testTimeoutLeavesTheTasks(): void
    {
        $id = $this->queued(Shop::CANCELED);
        self::$sim->fault(['route' => 'order_op'], ['kind' => 'hang', 'seconds' => 2]);
        $this->configure(200);

        $shop = $this->cron();

        $task = $this->task($id);
        $this->assertSame('SYNC_STATUS', $task['action']);
        $this->assertNull($task['lease_owner']);
        $this->assertNull($task['batch_id']);
        $this->assertSame(0, $shop['statuses_sent']);
        $this->assertCount(1, $shop['errors']);
        $this->assertStringContainsString('Could not send 1 cancel status(es)', $shop['errors'][0]);
    }

    public function testMalformedAnswerToThePostLeavesTheTasks(): void
    {
        $id = $this->queued(Shop::CANCELED);
        self::$sim->fault(['route' => 'order_op'], ['kind' => 'malformed', 'variant' => 'truncated']);

        $shop = $this->cron();

        $this->assertCount(1, self::$sim->posts(), 'a decoding error is not retried');
        $task = $this->task($id);
        $this->assertSame('SYNC_STATUS', $task['action']);
        $this->assertNull($task['lease_owner']);
        $this->assertNull($task['batch_id']);
        $this->assertSame(0, $shop['statuses_sent']);
        $this->assertCount(1, $shop['errors']);
        $this->assertStringContainsString('Could not send 1 cancel status(es)', $shop['errors'][0]);
        $this->assertStringNotContainsString(Simulator::TOKEN . '"', $shop['errors'][0]);
    }

    public function testMalformedTicketListLeavesTheTasks(): void
    {
        $id = $this->queued(Shop::CANCELED);
        $this->cron();
        $batch = $this->task($id)['batch_id'];
        self::$sim->fault(['route' => 'ticket_list'], ['kind' => 'malformed', 'variant' => 'html']);

        $shop = $this->cron();

        $task = $this->task($id);
        $this->assertSame('CHECK_TICKET_SYNC_STATUS', $task['action']);
        $this->assertSame($batch, $task['batch_id']);
        $this->assertSame(0, (int) $task['attempts']);
        $this->assertSame(0, $shop['tickets_succeeded']);
        $this->assertCount(1, $shop['errors']);
        $this->assertStringContainsString("Could not check batch $batch", $shop['errors'][0]);

        self::$sim->control('DELETE', '/_sim/faults');
        $this->assertSame(1, $this->cron()['tickets_succeeded']);
        $this->assertNull($this->task($id));
    }

    public function testClosedGateSkipsTheShopWithoutAnyRequest(): void
    {
        $id = $this->queued(Shop::CANCELED);
        Shop::config('SHOPPING_FLUX_STATUS_SHIPPED', 'checked');
        $before = count(Shop::logs('error'));

        $shop = $this->cron();

        $this->assertNotNull($shop['skipped']);
        $this->assertStringContainsString('Order shipment', $shop['skipped']);
        $this->assertSame([], self::$sim->requests());
        $this->assertSame(0, $shop['requests']);
        $errors = Shop::logs('error');
        $this->assertCount($before + 1, $errors);
        $this->assertSame($shop['skipped'], end($errors)['msg']);
        $this->assertSame('SYNC_STATUS', $this->task($id)['action']);
    }

    public function testEmptyQueueWritesNoLogs(): void
    {
        $shop = $this->cron();

        $this->assertSame([], Shop::logs());
        $this->assertSame(0, $shop['statuses_sent']);
        $this->assertSame([], $shop['errors']);
        $this->assertNull($shop['skipped']);
        $this->assertSame([], self::$sim->posts());
        $this->assertSame([], self::$sim->requests('ticket_list'));
    }

    public function testAHeldLockMakesTheRunReturnLockedAndSendNothing(): void
    {
        $id = $this->queued(Shop::CANCELED);
        $other = TestDatabase::connect(TestDatabase::$name);
        $this->assertSame(1, (int) $other->query("SELECT GET_LOCK(CONCAT('shoppingfeed:syncOrder:', MD5(CONCAT(DATABASE(), '.ps_'))), 0)")->fetchColumn());

        $report = OrderSync::runCron();
        $this->assertTrue($report['locked']);
        $this->assertSame([], $report['shops']);
        $this->assertSame([], self::$sim->requests());
        $this->assertSame('SYNC_STATUS', $this->task($id)['action']);

        $other->query("SELECT RELEASE_LOCK(CONCAT('shoppingfeed:syncOrder:', MD5(CONCAT(DATABASE(), '.ps_'))))");
        $shop = $this->cron();
        $this->assertSame(1, $shop['statuses_sent']);
        $this->assertSame('CHECK_TICKET_SYNC_STATUS', $this->task($id)['action']);
    }

    public function testTasksLeasedByAnotherRunAreNotSentUntilTheLeaseExpires(): void
    {
        $leased = $this->queued(Shop::CANCELED, $sfLeased);
        $free = $this->queued(Shop::CANCELED, $sfFree);
        $pdo = TestDatabase::pdo();
        $pdo->exec("UPDATE ps_shoppingfeed_task_order SET lease_owner = 'other-run', lease_until = NOW() + INTERVAL 10 MINUTE WHERE id_order = $leased");

        $shop = $this->cron();

        $this->assertSame([['id' => $sfFree, 'reason' => '']], $this->postedOrders('cancel'));
        $this->assertSame(1, $shop['statuses_sent']);
        $task = $this->task($leased);
        $this->assertSame('SYNC_STATUS', $task['action']);
        $this->assertSame('other-run', $task['lease_owner'], 'another run\'s lease is left alone');

        $pdo->exec("UPDATE ps_shoppingfeed_task_order SET lease_until = NOW() - INTERVAL 1 SECOND WHERE id_order = $leased");
        $this->cron();
        $this->assertSame([$sfFree, $sfLeased], array_column($this->postedOrders('cancel'), 'id'));
        $this->assertSame('CHECK_TICKET_SYNC_STATUS', $this->task($leased)['action']);
        $this->assertNull($this->task($leased)['lease_owner']);
    }

    public function testAProcessKilledAfterThePostLosesNothing(): void
    {
        if (!function_exists('posix_kill')) {
            $this->markTestSkipped('posix is not available');
        }
        $so = getenv('SFSYNC_EXT_SO') ?: '';
        if ($so === '') {
            foreach (['release', 'debug'] as $profile) {
                $candidate = dirname(__DIR__, 2) . "/target/$profile/libshoppingfeed_sync.so";
                if (is_file($candidate)) {
                    $so = $candidate;
                    break;
                }
            }
        }
        $this->assertFileExists($so, 'SFSYNC_EXT_SO must name the built extension for the child process');

        $id = $this->queued(Shop::CANCELED, $sfId);
        // The POST is processed (batch and ticket created), then the answer is held back.
        self::$sim->fault(['route' => 'order_op', 'first' => 1], ['kind' => 'drop_response', 'after_seconds' => 30]);

        $script = tempnam(sys_get_temp_dir(), 'sfcron');
        file_put_contents($script, sprintf(<<<'PHP'
<?php
Shoppingfeed\Sync\OrderSync::configure(['database_url' => %s, 'table_prefix' => 'ps_', 'api_base_url' => %s, 'http_timeout_ms' => 60000]);
$r = Shoppingfeed\Sync\OrderSync::runCron(['lease_seconds' => 2]);
echo json_encode($r), "\n";
PHP, var_export(TestDatabase::$url, true), var_export(self::$sim->url(), true)));
        $proc = proc_open([PHP_BINARY, '-d', "extension=$so", $script], [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        $this->assertIsResource($proc);
        $pid = proc_get_status($proc)['pid'];
        try {
            $deadline = microtime(true) + 15;
            while (self::$sim->posts() === [] && microtime(true) < $deadline && proc_get_status($proc)['running']) {
                usleep(20000);
            }
            if (!proc_get_status($proc)['running']) {
                $this->fail('the child ended instead of waiting for the answer: ' . stream_get_contents($pipes[1]) . stream_get_contents($pipes[2]));
            }
            $this->assertCount(1, self::$sim->posts(), 'the child sent its POST');
            $this->assertTrue(posix_kill($pid, SIGKILL));
        } finally {
            if (proc_get_status($proc)['running']) {
                posix_kill($pid, SIGKILL);
            }
            fclose($pipes[1]);
            fclose($pipes[2]);
            proc_close($proc);
            unlink($script);
        }
        $this->assertSame(1, count(array_filter($this->simTickets(), static fn ($t) => $t['payload']['id'] === $sfId)), 'the API processed it');

        $task = $this->task($id);
        $this->assertSame('SYNC_STATUS', $task['action'], 'the batch id was never saved');
        $this->assertNull($task['batch_id']);
        $this->assertNotNull($task['lease_owner']);
        $this->assertNotNull($task['lease_until']);

        // The server releases the dead session's lock once it sees the connection closed.
        $lockWait = microtime(true);
        while ((int) TestDatabase::pdo()->query("SELECT IS_FREE_LOCK(CONCAT('shoppingfeed:syncOrder:', MD5(CONCAT(DATABASE(), '.ps_'))))")->fetchColumn() !== 1
            && microtime(true) - $lockWait < 5) {
            usleep(10000);
        }
        $this->assertLessThan(5, microtime(true) - $lockWait, 'the killed run does not keep the CRON lock');
        // At once: the dead run's lease is still valid.
        $shop = $this->cron();
        $this->assertSame(0, $shop['statuses_sent']);
        $this->assertCount(1, self::$sim->posts());
        $this->assertSame('SYNC_STATUS', $this->task($id)['action']);

        // After the lease: resent (the duplicate at-least-once allows), nothing lost.
        $pdo = TestDatabase::pdo();
        $deadline = microtime(true) + 5;
        while ((int) $pdo->query("SELECT lease_until < NOW() FROM ps_shoppingfeed_task_order WHERE id_order = $id")->fetchColumn() !== 1 && microtime(true) < $deadline) {
            usleep(100000);
        }
        $shop = $this->cron();
        $this->assertSame(1, $shop['statuses_sent']);
        $this->assertSame([$sfId, $sfId], array_column($this->postedOrders('cancel'), 'id'));
        $task = $this->task($id);
        $this->assertSame('CHECK_TICKET_SYNC_STATUS', $task['action']);
        $tickets = array_values(array_filter($this->simTickets(), static fn ($t) => $t['payload']['id'] === $sfId));
        $this->assertCount(2, $tickets);
        $this->assertContains($task['batch_id'], array_column($tickets, 'batchId'));
        $this->assertSame($tickets[1]['batchId'], $task['batch_id'], 'the batch of the resend');
    }
}
