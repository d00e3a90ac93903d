<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\InvalidArgumentException;
use Shoppingfeed\Sync\OrderSync;
use Shoppingfeed\Sync\Tests\Shop;

/** OrderSync::onTrackingNumberUpdate() through the extension (the engine's cases: tests/tracking.rs). */
final class TrackingTest extends TestCase
{
    protected function setUp(): void
    {
        Shop::reset();
    }

    public function testATrackingNumberMakesTheWaitingShippedTaskDueNow(): void
    {
        $id = Shop::order(Shop::SHIPPED);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::SHIPPED));
        $this->assertEqualsWithDelta(300, (int) Shop::tasks($id)[0]['due_in'], 2);
        $this->assertFalse(OrderSync::onTrackingNumberUpdate($id), 'no tracking number yet');

        Shop::tracking($id, Shop::carrier('Colissimo', null), '6A12345678901');
        $this->assertTrue(OrderSync::onTrackingNumberUpdate($id));

        $tasks = Shop::tasks($id);
        $this->assertCount(1, $tasks);
        $this->assertLessThanOrEqual(0, (int) $tasks[0]['due_in']);
        $this->assertNotEmpty(array_filter(Shop::logs('info'), static fn ($l) => str_contains($l['msg'], 'Tracking number 6A12345678901 saved')));
        $this->assertFalse(OrderSync::onTrackingNumberUpdate($id), 'already due: nothing more to do');
    }

    public function testBadArgumentsAreExceptionsNotCrashes(): void
    {
        try {
            OrderSync::onTrackingNumberUpdate(-1);
            $this->fail('no exception');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('idOrder', $e->getMessage());
        }
        $this->expectException(TypeError::class);
        OrderSync::onTrackingNumberUpdate('twelve');
    }
}
