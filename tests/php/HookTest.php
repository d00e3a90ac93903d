<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\OrderSync;
use Shoppingfeed\Sync\Tests\Shop;
use Shoppingfeed\Sync\Tests\TestDatabase;

final class HookTest extends TestCase
{
    protected function setUp(): void
    {
        Shop::reset();
    }

    public function testShippedStateIsQueuedWithTheDelay(): void
    {
        $id = Shop::order(Shop::SHIPPED);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::SHIPPED));
        $tasks = Shop::tasks($id);
        $this->assertCount(1, $tasks);
        $this->assertSame('SYNC_STATUS', $tasks[0]['action']);
        $this->assertNull($tasks[0]['ticket_number']);
        $this->assertEqualsWithDelta(300, (int) $tasks[0]['due_in'], 2);
    }

    public function testEveryListQueuesNonShippedStatesAreDueNow(): void
    {
        foreach ([Shop::DELIVERED => 300, Shop::CANCELED => 0, Shop::REFUNDED => 0] as $state => $delay) {
            $id = Shop::order($state);
            $this->assertTrue(OrderSync::onOrderStatusUpdate($id, $state), "state $state");
            $this->assertEqualsWithDelta($delay, (int) Shop::tasks($id)[0]['due_in'], 2, "state $state");
        }
    }

    public function testTimeShiftComesFromTheOrdersShopAndZeroIsAllowed(): void
    {
        Shop::multistore();
        Shop::config('SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT', '0', 1, null);
        $id = Shop::order(Shop::SHIPPED);
        OrderSync::onOrderStatusUpdate($id, Shop::SHIPPED);
        $this->assertEqualsWithDelta(0, (int) Shop::tasks($id)[0]['due_in'], 2);
    }

    public function testShopLevelListsOverrideGlobalOnes(): void
    {
        Shop::multistore();
        Shop::config('SHOPPINGFEED_CANCELLED_ORDERS', '[]', 1, null); // the shop row wins
        Shop::config('SHOPPINGFEED_REFUNDED_ORDERS', '["8"]', null, 1); // group row beats global
        $a = Shop::order(Shop::CANCELED);
        $this->assertFalse(OrderSync::onOrderStatusUpdate($a, Shop::CANCELED));
        $b = Shop::order(8);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($b, 8));
        $c = Shop::order(Shop::REFUNDED);
        $this->assertFalse(OrderSync::onOrderStatusUpdate($c, Shop::REFUNDED));
    }

    public function testUnmappedStatesAndNonShoppingFeedOrdersQueueNothing(): void
    {
        $id = Shop::order(Shop::PAYMENT_ACCEPTED);
        $this->assertFalse(OrderSync::onOrderStatusUpdate($id, Shop::PAYMENT_ACCEPTED));
        $plain = Shop::order(Shop::SHIPPED, false, 'ps_checkpayment');
        $this->assertFalse(OrderSync::onOrderStatusUpdate($plain, Shop::SHIPPED));
        $this->assertSame([], Shop::tasks());
        $this->assertSame([], Shop::logs('error'));
    }

    public function testANewChangeRearmsTheOnePendingTask(): void
    {
        $id = Shop::order(Shop::SHIPPED);
        OrderSync::onOrderStatusUpdate($id, Shop::SHIPPED);
        $first = Shop::tasks($id)[0];
        Shop::setState($id, Shop::CANCELED);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::CANCELED));
        $tasks = Shop::tasks($id);
        $this->assertCount(1, $tasks);
        $this->assertSame($first['id_shoppingfeed_task_order'], $tasks[0]['id_shoppingfeed_task_order']);
        $this->assertEqualsWithDelta(0, (int) $tasks[0]['due_in'], 2, 'cancel pulls the task to now');
        Shop::setState($id, Shop::SHIPPED);
        OrderSync::onOrderStatusUpdate($id, Shop::SHIPPED);
        $this->assertEqualsWithDelta(300, (int) Shop::tasks($id)[0]['due_in'], 2, 'ship pushes it forward');
    }

    public function testAnOrderWaitingForItsTicketGetsASecondPendingTask(): void
    {
        $id = Shop::order(Shop::SHIPPED);
        TestDatabase::pdo()->exec("INSERT INTO ps_shoppingfeed_task_order (action, id_order, ticket_number, batch_id, update_at, date_add, date_upd)
            VALUES ('CHECK_TICKET_SYNC_STATUS', $id, 'T1', 'B1', NOW(), NOW(), NOW())");
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::REFUNDED));
        $this->assertSame(['CHECK_TICKET_SYNC_STATUS', 'SYNC_STATUS'], array_column(Shop::tasks($id), 'action'));
    }

    public function testLogsAsTheReferenceWritesThem(): void
    {
        $id = Shop::order(Shop::CANCELED);
        OrderSync::onOrderStatusUpdate($id, Shop::CANCELED);
        $logs = Shop::logs();
        $this->assertCount(2, $logs);
        $this->assertSame(["[Order: $id] Process started Order $id", "[Order: $id] Order registered for synchronization; action SYNC_STATUS"], array_column($logs, 'msg'));
        $this->assertSame(['info', 'success'], array_column($logs, 'level'));
        $this->assertSame(['Order', 'Order'], array_column($logs, 'object_name'));
        $this->assertSame([(string) $id, (string) $id], array_map('strval', array_column($logs, 'object_id')));
        $this->assertSame(['default', 'default'], array_column($logs, 'name'));
    }

    /** @return array<string, array{callable, string}> */
    public static function gates(): array
    {
        return [
            'sync disabled' => [static function () {
                Shop::multistore();
                Shop::config('SHOPPINGFEED_ORDER_SYNC_ENABLED', '0', 1);
            }, 'disabled'],
            'legacy module missing' => [static fn () => Shop::uninstallLegacyModule(), 'not installed'],
            'legacy module inactive' => [static fn () => Shop::installLegacyModule(false), 'not active'],
            'legacy module on another shop only' => [static fn () => Shop::installLegacyModule(true, 2), 'not active'],
            'legacy ships orders' => [static fn () => Shop::config('SHOPPING_FLUX_STATUS_SHIPPED', 'checked'), 'Order shipment'],
            'legacy cancels orders (shop level)' => [static function () {
                Shop::multistore();
                Shop::config('SHOPPING_FLUX_STATUS_CANCELED', 'checked', 1);
            }, 'Order cancellation'],
        ];
    }

    /** @dataProvider gates */
    public function testEachGateQueuesNothingAndLogsAnError(callable $close, string $why): void
    {
        $close();
        $id = Shop::order(Shop::CANCELED);
        $this->assertFalse(OrderSync::onOrderStatusUpdate($id, Shop::CANCELED));
        $this->assertSame([], Shop::tasks());
        $errors = Shop::logs('error');
        $this->assertCount(1, $errors);
        $this->assertStringContainsString($why, $errors[0]['msg']);
        $this->assertSame((string) $id, (string) $errors[0]['object_id']);
    }

    public function testMalformedListIsLoggedAndTheOtherListsStillWork(): void
    {
        Shop::config('SHOPPINGFEED_SHIPPED_ORDERS', '["4",');
        $a = Shop::order(Shop::SHIPPED);
        $this->assertFalse(OrderSync::onOrderStatusUpdate($a, Shop::SHIPPED));
        $this->assertStringContainsString('SHOPPINGFEED_SHIPPED_ORDERS', Shop::logs('error')[0]['msg']);
        $b = Shop::order(Shop::CANCELED);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($b, Shop::CANCELED));
    }

    public function testUnknownOrderLogsAnError(): void
    {
        $this->assertFalse(OrderSync::onOrderStatusUpdate(999999, Shop::SHIPPED));
        $this->assertStringContainsString('[Order: 999999] Order not registered for synchronization; Order could not be loaded.', Shop::logs('error')[0]['msg']);
    }

    /** @return array<string, array{mixed, mixed, class-string}> */
    public static function badArguments(): array
    {
        return [
            'negative id' => [-1, 4, \Shoppingfeed\Sync\InvalidArgumentException::class],
            'zero id' => [0, 4, \Shoppingfeed\Sync\InvalidArgumentException::class],
            'huge id' => [PHP_INT_MAX, 4, \Shoppingfeed\Sync\InvalidArgumentException::class],
            'negative state' => [1, -4, \Shoppingfeed\Sync\InvalidArgumentException::class],
            'string id' => ['12', 4, TypeError::class],
            'sql in id' => ["1 OR 1=1", 4, TypeError::class],
            'array id' => [[1], 4, TypeError::class],
            'null state' => [1, null, TypeError::class],
        ];
    }

    /** @dataProvider badArguments */
    public function testBadArgumentsAreRefused($id, $state, string $class): void
    {
        $this->expectException($class);
        OrderSync::onOrderStatusUpdate($id, $state);
    }

    public function testSqlMetacharactersInDataAreStoredVerbatim(): void
    {
        $ref = "x'); DROP TABLE ps_orders; -- \"`";
        $id = Shop::order(Shop::CANCELED, true, 'sfpayment', "Amazon'; --", 1, $ref);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::CANCELED));
        $this->assertSame($ref, TestDatabase::pdo()->query("SELECT id_order_marketplace FROM ps_shoppingfeed_order WHERE id_order = $id")->fetchColumn());
    }

    public function testReferenceIsTakenFromTheLegacyMessageWhenMissing(): void
    {
        $id = Shop::order(Shop::CANCELED);
        $pdo = TestDatabase::pdo();
        $pdo->exec("UPDATE ps_shoppingfeed_order SET id_order_marketplace = NULL WHERE id_order = $id");
        $this->assertFalse(OrderSync::onOrderStatusUpdate($id, Shop::CANCELED), 'no reference anywhere');
        $this->assertStringContainsString('Could not retrieve SF Order reference', Shop::logs('error')[0]['msg']);
        $pdo->exec("INSERT INTO ps_message (id_customer, id_order, message, private, date_add) VALUES (0, $id, 'Numéro de commande Amazon :402-555', 1, NOW())");
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::CANCELED));
        $this->assertSame('402-555', $pdo->query("SELECT id_order_marketplace FROM ps_shoppingfeed_order WHERE id_order = $id")->fetchColumn());
    }

    public function testValidateOrderLinksSfpaymentOrdersOnly(): void
    {
        $id = Shop::order(Shop::PAYMENT_ACCEPTED, false, 'sfpayment', 'Cdiscount');
        TestDatabase::pdo()->exec("INSERT INTO ps_message (id_customer, id_order, message, private, date_add) VALUES (0, $id, 'Numéro de commande Cdiscount :CD-9', 1, NOW())");
        $this->assertTrue(OrderSync::onValidateOrder($id));
        $this->assertFalse(OrderSync::onValidateOrder($id), 'already linked');
        $row = TestDatabase::pdo()->query("SELECT * FROM ps_shoppingfeed_order WHERE id_order = $id")->fetch(PDO::FETCH_ASSOC);
        $this->assertSame(['Cdiscount', 'CD-9'], [$row['name_marketplace'], $row['id_order_marketplace']]);
        $this->assertContains("[Order: $id] SF Order successfully saved", array_column(Shop::logs('success'), 'msg'));
        $plain = Shop::order(Shop::PAYMENT_ACCEPTED, false, 'ps_wirepayment');
        $this->assertFalse(OrderSync::onValidateOrder($plain));
        $this->assertSame(0, (int) TestDatabase::pdo()->query("SELECT COUNT(*) FROM ps_shoppingfeed_order WHERE id_order = $plain")->fetchColumn());
    }

    public function testAnOrderValidatedWhileTheGateIsClosedIsSynchronizedOnceItOpens(): void
    {
        Shop::uninstallLegacyModule();
        $id = Shop::order(Shop::PAYMENT_ACCEPTED, false);
        TestDatabase::pdo()->exec("INSERT INTO ps_message (id_customer, id_order, message, private, date_add) VALUES (0, $id, 'Numéro de commande Amazon :AMZ-1', 1, NOW())");
        $this->assertTrue(OrderSync::onValidateOrder($id), 'linked even while the gate is closed');
        $this->assertSame(1, (int) TestDatabase::pdo()->query("SELECT COUNT(*) FROM ps_shoppingfeed_order WHERE id_order = $id")->fetchColumn());
        $errors = array_column(Shop::logs('error'), 'msg');
        $this->assertCount(1, $errors);
        $this->assertStringStartsWith("[Order: $id] SF Order successfully saved, but its status changes are not synchronized; ", $errors[0]);
        $this->assertStringContainsString('not installed', $errors[0]);

        $this->assertFalse(OrderSync::onOrderStatusUpdate($id, Shop::PAYMENT_ACCEPTED));
        $this->assertCount(1, Shop::logs('error'), 'an unmapped state has nothing to synchronize');
        $this->assertFalse(OrderSync::onOrderStatusUpdate($id, Shop::SHIPPED));
        $errors = array_column(Shop::logs('error'), 'msg');
        $this->assertCount(2, $errors, 'a mapped state lost to the gate is an error');
        $this->assertStringStartsWith("[Order: $id] Order not registered for synchronization; ", $errors[1]);
        $this->assertSame([], Shop::tasks());

        Shop::installLegacyModule(true);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::SHIPPED));
        $this->assertCount(1, Shop::tasks($id));
    }

    public function testSaveOrderAction(): void
    {
        $id = Shop::order(Shop::PAYMENT_ACCEPTED, false);
        $h = (new \Shoppingfeed\Sync\ActionsHandler())->setConveyor(['id_order' => (string) $id])->addActions('saveOrder');
        $this->assertTrue($h->process('shoppingfeedOrderSync'));
        $this->assertSame(1, (int) TestDatabase::pdo()->query("SELECT COUNT(*) FROM ps_shoppingfeed_order WHERE id_order = $id")->fetchColumn());
    }

    public function testConcurrentHooksFromEightProcessesNeverDuplicateAPendingTask(): void
    {
        if (!function_exists('pcntl_fork')) {
            $this->markTestSkipped('pcntl is not available');
        }
        $ids = [];
        for ($i = 0; $i < 20; $i++) {
            $ids[] = Shop::order(Shop::CANCELED);
        }
        $children = [];
        for ($p = 0; $p < 8; $p++) {
            $pid = pcntl_fork();
            if ($pid === 0) {
                $ok = true;
                foreach ($ids as $n => $id) {
                    $state = ($n + $p) % 2 ? Shop::CANCELED : Shop::REFUNDED;
                    try {
                        $ok = OrderSync::onOrderStatusUpdate($id, $state) && $ok;
                    } catch (Throwable $e) {
                        fwrite(STDERR, $e->getMessage() . "\n");
                        $ok = false;
                    }
                }
                // Skip PHPUnit's shutdown handlers in the child.
                posix_kill(getmypid(), $ok ? SIGKILL : SIGTERM);
            }
            $children[] = $pid;
        }
        foreach ($children as $pid) {
            pcntl_waitpid($pid, $status);
            $this->assertSame(SIGKILL, pcntl_wtermsig($status), 'a child failed to queue');
        }
        $pending = TestDatabase::pdo()->query("SELECT id_order, COUNT(*) FROM ps_shoppingfeed_task_order WHERE action = 'SYNC_STATUS' GROUP BY id_order")->fetchAll(PDO::FETCH_KEY_PAIR);
        $this->assertCount(20, $pending);
        $this->assertSame([1], array_values(array_unique(array_map('intval', $pending))));
    }

    private static function logCount(): int
    {
        return (int) TestDatabase::pdo()->query('SELECT COUNT(*) FROM ps_shoppingfeed_processlogger')->fetchColumn();
    }

    public function testRowsOfAQueuedStatusGoWithItOthersAreBufferedForTheRequest(): void
    {
        // Once the process knows the shop, a queued status is one round trip that writes its two
        // rows with the task: nothing is left for the end of the request.
        $warm = Shop::order(Shop::CANCELED);
        OrderSync::onOrderStatusUpdate($warm, Shop::CANCELED);
        OrderSync::flushLogs();
        $before = self::logCount();
        $id = Shop::order(Shop::CANCELED);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::CANCELED));
        $this->assertSame($before + 2, self::logCount(), 'written with the task');
        $this->assertSame(0, OrderSync::flushLogs());
        // The full path's rows (here an unknown order's error) wait for the end of the request,
        // or for the next call that writes its own rows at once: they go first, in call order.
        $this->assertFalse(OrderSync::onOrderStatusUpdate(999999, Shop::CANCELED));
        $this->assertSame($before + 2, self::logCount(), 'buffered, not yet written');
        $next = Shop::order(Shop::CANCELED);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($next, Shop::CANCELED));
        $this->assertSame($before + 5, self::logCount(), 'the buffered row, then the two of the queued status');
        $objects = TestDatabase::pdo()->query('SELECT object_id FROM ps_shoppingfeed_processlogger ORDER BY id_shoppingfeed_processlogger DESC LIMIT 3')->fetchAll(PDO::FETCH_COLUMN);
        $this->assertSame([$next, $next, 999999], array_map('intval', $objects));
        $this->assertSame(0, OrderSync::flushLogs());
        // With synchronization off, every change logs an error on the full path: the rows wait
        // for 100, then go in one insert without being asked.
        Shop::config('SHOPPINGFEED_ORDER_SYNC_ENABLED', '0');
        $off = Shop::order(Shop::CANCELED);
        for ($i = 0; $i < 99; $i++) {
            $this->assertFalse(OrderSync::onOrderStatusUpdate($off, Shop::CANCELED));
        }
        $this->assertSame($before + 5, self::logCount(), '99 rows wait');
        OrderSync::onOrderStatusUpdate($off, Shop::REFUNDED);
        $this->assertSame($before + 105, self::logCount(), 'the 100th writes them');
    }

    public function testBufferedRowsAreWrittenAtTheEndOfTheRequest(): void
    {
        $so = getenv('SFSYNC_EXT_SO');
        if (!$so) {
            $this->markTestSkipped('SFSYNC_EXT_SO not set (./dev test sets it)');
        }
        $id = Shop::order(Shop::CANCELED);
        $code = sprintf('Shoppingfeed\Sync\OrderSync::configure(["database_url" => %s]); var_export(Shoppingfeed\Sync\OrderSync::onOrderStatusUpdate(%d, 6));',
            var_export(TestDatabase::$url, true), $id);
        exec(escapeshellarg(PHP_BINARY) . ' -n -d extension=' . escapeshellarg($so) . ' -r ' . escapeshellarg($code), $out, $rc);
        $this->assertSame(0, $rc);
        $this->assertSame('true', implode('', $out));
        $this->assertSame(2, self::logCount(), 'written by the request shutdown of the child');
    }
}
