<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\Exception;
use Shoppingfeed\Sync\InvalidArgumentException;
use Shoppingfeed\Sync\OrderSync;
use Shoppingfeed\Sync\Tasks;
use Shoppingfeed\Sync\Tests\Shop;

/**
 * Shoppingfeed\Sync\Tasks and OrderSync::health() through the extension: the arrays the back
 * office reads, the actions' reports, and bad input as exceptions (the engine's cases:
 * tests/control_room.rs).
 */
final class TasksApiTest extends TestCase
{
    protected function setUp(): void
    {
        Shop::reset();
    }

    public function testTheGridListsTheShopsTasksWithTheirState(): void
    {
        $shipped = Shop::order(Shop::SHIPPED);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($shipped, Shop::SHIPPED));
        $canceled = Shop::order(Shop::CANCELED);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($canceled, Shop::CANCELED));

        $page = Tasks::list(['shops' => [1], 'order_by' => 'id_order', 'way' => 'asc']);
        $this->assertSame(2, $page['total']);
        $this->assertSame([$shipped, $canceled], array_column($page['rows'], 'id_order'));
        $row = $page['rows'][0];
        $this->assertSame('status', $row['kind']);
        $this->assertSame('ship', $row['operation']);
        $this->assertSame('waiting', $row['state'], 'the shipped delay');
        $this->assertSame(0, $row['attempts']);
        $this->assertNull($row['gave_up_at']);
        $this->assertSame('cancel', $page['rows'][1]['operation']);
        $this->assertSame('due', $page['rows'][1]['state']);

        $due = Tasks::list(['shops' => ['1'], 'state' => 'due', 'per_page' => 10, 'page' => 1]);
        $this->assertSame([$canceled], array_column($due['rows'], 'id_order'));
        $this->assertSame(0, Tasks::list(['shops' => [2]])['total'], 'another shop');
    }

    public function testActionsReportWhatChangedAndWhyTheRestDidNot(): void
    {
        $id = Shop::order(Shop::SHIPPED);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::SHIPPED));
        $task = Tasks::list(['shops' => [1]])['rows'][0]['id_task'];

        $r = Tasks::sendNow([$task, 987654], [1], 'employee 1 (Test E.)');
        $this->assertSame([$task], $r['changed']);
        $this->assertArrayHasKey(987654, $r['skipped']);
        $this->assertSame('due', Tasks::list(['shops' => [1]])['rows'][0]['state']);

        $r = Tasks::retry([$task], [1], 'employee 1 (Test E.)');
        $this->assertSame([], $r['changed']);
        $this->assertSame('it did not give up', $r['skipped'][$task]);

        $r = Tasks::cancel([$task], [1], 'employee 1 (Test E.)');
        $this->assertSame([$task], $r['changed']);
        $this->assertSame(0, Tasks::list(['shops' => [1]])['total']);
        $this->assertNotEmpty(array_filter(Shop::logs('info'), static fn ($l) => str_contains($l['msg'], "Task $task (SYNC_STATUS) canceled by employee 1 (Test E.)")));

        // Resent: queued again, due now (not after the shipped delay).
        $r = Tasks::resendStatus([$id], [1], 'employee 1 (Test E.)');
        $this->assertSame([$id], $r['changed']);
        $rows = Tasks::list(['shops' => [1]])['rows'];
        $this->assertSame('due', $rows[0]['state']);
        $r = Tasks::resendStatus([Shop::order(Shop::SHIPPED, false)], [1], 'employee 1 (Test E.)');
        $this->assertSame([], $r['changed']);
        $this->assertStringContainsString('not a Shopping Feed order', implode(' ', $r['skipped']));

        $order = Tasks::order($id);
        $this->assertCount(1, $order['tasks']);
        $this->assertSame([['ship', 'canceled']], array_map(static fn ($a) => [$a['operation'], $a['result']], $order['accepted']), 'the cancel is recorded');
        $this->assertNotEmpty(array_filter($order['logs'], static fn ($l) => str_contains($l['msg'], 'Current status sent again by employee 1')));
    }

    public function testHealthSaysWhatWaits(): void
    {
        $id = Shop::order(Shop::CANCELED);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::CANCELED));
        $h = OrderSync::health([1]);
        $this->assertSame(1, $h['due']);
        $this->assertNull($h['last_run'], 'never ran');
        $this->assertSame(['cron_late'], array_column($h['warnings'], 'code'));
        $this->assertSame(15, $h['cron_interval_minutes']);
    }

    public function testBadInputIsAnExceptionNotACrash(): void
    {
        foreach ([
            [['shops' => 'all'], 'shops'],
            [[], 'shops'],
            [['shops' => [1], 'state' => 'lost'], 'state'],
            [['shops' => [1], 'order_by' => 'password'], 'order_by'],
            [['shops' => [1], 'per_page' => 5000], 'per_page'],
            [['shops' => [1], 'way' => 'sideways'], 'way'],
            [['shops' => [0]], 'shops'],
        ] as [$query, $named]) {
            try {
                Tasks::list($query);
                $this->fail('no exception for ' . json_encode($query));
            } catch (InvalidArgumentException $e) {
                $this->assertStringContainsString($named, $e->getMessage());
            }
        }
        try {
            Tasks::cancel(range(1, 1001), [1], 'x');
            $this->fail('no exception');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('at most 1000', $e->getMessage());
        }
        try {
            new Tasks();
            $this->fail('no exception');
        } catch (Exception $e) {
            $this->assertStringContainsString('static methods only', $e->getMessage());
        }
        try {
            OrderSync::runCron(['requested_by' => 42]);
            $this->fail('no exception');
        } catch (\Shoppingfeed\Sync\ConfigException $e) {
            $this->assertStringContainsString('requested_by', $e->getMessage());
        }
        $this->expectException(TypeError::class);
        Tasks::sendNow('1,2', [1], 'x');
    }
}
