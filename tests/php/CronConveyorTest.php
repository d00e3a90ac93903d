<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\ActionsHandler;
use Shoppingfeed\Sync\OrderSync;
use Shoppingfeed\Sync\Tests\Shop;
use Shoppingfeed\Sync\Tests\Simulator;
use Shoppingfeed\Sync\Tests\SimulatorShop;
use Shoppingfeed\Sync\Tests\TestDatabase;

require_once __DIR__ . '/Support/SimulatorShop.php';

/**
 * The CRON as the reference module's tests drive it: ShoppingfeedOrderSyncActions through
 * Shoppingfeed\Sync\ActionsHandler, one conveyor step at a time.
 */
final class CronConveyorTest extends TestCase
{
    use SimulatorShop;

    /** @return array{0: bool, 1: array<string, mixed>} the result and the conveyor copied back */
    private function process(array $conveyor, string ...$actions): array
    {
        $handler = (new ActionsHandler())->setConveyor($conveyor)->addActions(...$actions);
        $result = $handler->process('shoppingfeedOrderSync');
        return [$result, $handler->getConveyor()];
    }

    /** @return array<int, int> id_order => Shopping Feed id */
    private function queue(array $states): array
    {
        $carrier = Shop::carrier('Colissimo', 'https://track.example/?n=@');
        $out = [];
        $seed = [];
        foreach ($states as $n => $state) {
            $sf = 7000 + $n;
            $id = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, $sf, "MP-$sf");
            Shop::tracking($id, $carrier, "TN-$sf");
            Shop::setState($id, $state);
            $this->assertTrue(OrderSync::onOrderStatusUpdate($id, $state));
            $out[$id] = $sf;
            $seed[$sf] = "MP-$sf";
        }
        self::$sim->seedOrders($seed);
        return $out;
    }

    public function testSyncStatusThenCheckTicketsChains(): void
    {
        $orders = $this->queue([Shop::SHIPPED, Shop::SHIPPED, Shop::CANCELED]);
        $ids = array_keys($orders);

        [$ok, $c] = $this->process(['id_shop' => 1, 'order_action' => 'SYNC_STATUS'], 'getTaskOrders', 'prepareTaskOrdersSyncStatus');
        $this->assertTrue($ok);
        $this->assertCount(3, $c['taskOrders']);
        $this->assertSame($ids, array_map('intval', array_column($c['taskOrders'], 'id_order')));
        $this->assertSame(['SYNC_STATUS'], array_values(array_unique(array_column($c['taskOrders'], 'action'))));
        $prepared = $c['preparedTaskOrders'];
        $groups = array_keys($prepared);
        sort($groups);
        $this->assertSame(['cancel', 'ship'], $groups, 'grouped by operation');
        $this->assertCount(2, $prepared['ship']);
        $this->assertCount(1, $prepared['cancel']);
        $ship = $prepared['ship'][0];
        $this->assertSame($ids[0], (int) $ship['id_order']);
        $this->assertSame($orders[$ids[0]], (int) $ship['id_internal_shoppingfeed']);
        $this->assertSame('MP-' . $orders[$ids[0]], $ship['reference_marketplace']);
        $this->assertSame('ship', $ship['operation']);
        $this->assertSame(['carrier_name' => 'Colissimo', 'tracking_number' => 'TN-' . $orders[$ids[0]], 'tracking_url' => 'https://track.example/?n=TN-' . $orders[$ids[0]]], $ship['payload']);
        $this->assertSame(['reason' => ''], $prepared['cancel'][0]['payload']);
        $this->assertSame([], self::$sim->requests(), 'preparing calls no API');

        [$ok, $c] = $this->process($c, 'sendTaskOrdersSyncStatus');
        $this->assertTrue($ok);
        $sent = array_map('intval', array_column($c['successfulTaskOrders'], 'id_order'));
        sort($sent);
        $this->assertSame($ids, $sent);
        $this->assertSame([], $c['failedTaskOrders']);
        $this->assertCount(2, self::$sim->posts());
        $tasks = Shop::tasks();
        $this->assertSame(['CHECK_TICKET_SYNC_STATUS'], array_values(array_unique(array_column($tasks, 'action'))));
        $this->assertCount(2, array_unique(array_column($tasks, 'batch_id')));
        $this->assertNotContains(null, array_column($tasks, 'batch_id'));

        [$ok, $c] = $this->process(['id_shop' => 1, 'order_action' => 'CHECK_TICKET_SYNC_STATUS'],
            'getTaskOrders', 'prepareTaskOrdersCheckTicketsSyncStatus', 'sendTaskOrdersCheckTicketsSyncStatus');
        $this->assertTrue($ok);
        $this->assertCount(3, $c['taskOrders'], 'CHECK tasks keep the update_at of their SYNC row: due');
        $this->assertCount(3, $c['preparedTaskOrders']);
        $this->assertCount(2, self::$sim->requests('ticket_list'), 'one list per batch');
        $done = array_map('intval', array_column($c['successfulTaskOrders'], 'id_order'));
        sort($done);
        $this->assertSame($ids, $done);
        $this->assertSame([], Shop::tasks());
    }

    public function testFailedTicketGoesToTheMail(): void
    {
        $orders = $this->queue([Shop::CANCELED, Shop::CANCELED]);
        [$failedId, $okId] = array_keys($orders);
        self::$sim->outcome($orders[$failedId], 'failed', 'Order already shipped');

        [$ok] = $this->process(['id_shop' => 1, 'order_action' => 'SYNC_STATUS'], 'getTaskOrders', 'prepareTaskOrdersSyncStatus', 'sendTaskOrdersSyncStatus');
        $this->assertTrue($ok);

        [$ok, $c] = $this->process(['id_shop' => 1, 'order_action' => 'CHECK_TICKET_SYNC_STATUS'],
            'getTaskOrders', 'prepareTaskOrdersCheckTicketsSyncStatus', 'sendTaskOrdersCheckTicketsSyncStatus', 'sendFailedTaskOrdersMail');
        $this->assertTrue($ok);
        $this->assertSame([$okId], array_map('intval', array_column($c['successfulTaskOrders'], 'id_order')));
        $this->assertCount(1, $c['failedTaskOrders']);
        $this->assertSame($failedId, (int) $c['failedTaskOrders'][0]['id_order']);
        $this->assertSame('Order already shipped', $c['failedTaskOrders'][0]['reason']);

        $this->assertCount(1, $this->mails);
        $this->assertSame(1, $this->mails[0]['id_shop']);
        $this->assertSame('- Order ' . Shop::reference($failedId) . " : Status Canceled : Order already shipped\n",
            $this->mails[0]['template_vars']['{list_order_sync_errors_txt}']);
        $tasks = Shop::tasks();
        $this->assertCount(1, $tasks);
        $this->assertSame($failedId, (int) $tasks[0]['id_order']);
        $this->assertSame('SYNC_STATUS', $tasks[0]['action']);
        $this->assertSame(1, (int) $tasks[0]['attempts']);
    }

    public function testNoFailureNoMail(): void
    {
        [$ok] = $this->process(['id_shop' => 1, 'failedTaskOrders' => []], 'sendFailedTaskOrdersMail');
        $this->assertFalse($ok);
        $this->assertSame([], $this->mails);
    }

    /** A task whose order has since moved to a state in no list: prepare would remove it. */
    private function unmappedTask(int $idShop): array
    {
        $id = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, 7900 + $idShop, null, $idShop);
        Shop::setState($id, Shop::SHIPPED);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::SHIPPED));
        Shop::setState($id, Shop::PAYMENT_ACCEPTED);
        return Shop::tasks($id)[0];
    }

    public function testPrepareDoesNothingWhileTheGateIsClosed(): void
    {
        $task = $this->unmappedTask(1);
        Shop::config('SHOPPING_FLUX_STATUS_SHIPPED', '4'); // the legacy module syncs orders itself

        [$ok, $c] = $this->process(['id_shop' => 1, 'taskOrders' => [$task]], 'prepareTaskOrdersSyncStatus');

        $this->assertFalse($ok);
        $this->assertSame([], $c['preparedTaskOrders'] ?? []);
        $this->assertCount(1, Shop::tasks(), 'not removed');
        $this->assertNotEmpty(array_filter(Shop::logs('error'), static fn ($l) => str_contains($l['msg'], '[Shop 1] Synchronization error')));

        Shop::config('SHOPPING_FLUX_STATUS_SHIPPED', '');
        [$ok] = $this->process(['id_shop' => 1, 'taskOrders' => [$task]], 'prepareTaskOrdersSyncStatus');
        $this->assertFalse($ok, 'nothing to send');
        $this->assertSame([], Shop::tasks(), 'the gate open, the unmapped task is removed');
    }

    public function testPrepareIgnoresTheTasksOfAnotherShop(): void
    {
        Shop::secondShop();
        $foreign = $this->unmappedTask(2);

        [$ok, $c] = $this->process(['id_shop' => 1, 'taskOrders' => [$foreign]], 'prepareTaskOrdersSyncStatus');

        $this->assertFalse($ok);
        $this->assertSame([], $c['preparedTaskOrders']);
        $this->assertCount(1, Shop::tasks(), "shop 2's task is not shop 1's to remove");
        [$ok] = $this->process(['id_shop' => 2, 'taskOrders' => [$foreign]], 'prepareTaskOrdersSyncStatus');
        $this->assertSame([], Shop::tasks(), 'its own shop removes it');
    }

    public function testSendLeavesTheTasksOfAnotherShopAlone(): void
    {
        Shop::secondShop();
        $id = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, 7950, 'MP-7950', 2);
        self::$sim->seedOrders([7950 => 'MP-7950']);
        Shop::setState($id, Shop::CANCELED);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::CANCELED));
        $task = Shop::tasks($id)[0];
        $prepared = ['cancel' => [['id_shoppingfeed_task_order' => (int) $task['id_shoppingfeed_task_order'], 'id_order' => $id]]];

        [$ok] = $this->process(['id_shop' => 1, 'preparedTaskOrders' => $prepared], 'sendTaskOrdersSyncStatus');

        $this->assertFalse($ok);
        $this->assertSame([], self::$sim->posts(), "shop 2's task is not sent with shop 1's account");
        $this->assertNull(Shop::tasks($id)[0]['lease_owner']);
        [$ok] = $this->process(['id_shop' => 2, 'preparedTaskOrders' => $prepared], 'sendTaskOrdersSyncStatus');
        $this->assertTrue($ok);
        $this->assertCount(1, self::$sim->posts());
    }
}
