<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\ActionsHandler;
use Shoppingfeed\Sync\OrderSync;
use Shoppingfeed\Sync\Tests\Shop;

// A userland actions class in the Classlib style, resolved from the chain name "recorder".
class RecorderActions
{
    public static array $calls = [];
    protected $conveyor = [];
    protected $modelObject;
    public function setModelObject($m) { $this->modelObject = $m; }
    public function setConveyor($c) { $this->conveyor = $c; }
    public function getConveyor() { return $this->conveyor; }
    public function first() { self::$calls[] = 'first'; $this->conveyor['seen'][] = 'first'; return true; }
    public function second() { self::$calls[] = 'second'; $this->conveyor['seen'][] = 'second'; return 0; }
    public function third() { self::$calls[] = 'third'; return true; }
    public function model() { $this->conveyor['model'] = $this->modelObject; return true; }
    public function boom() { throw new LogicException('boom'); }
    protected function hidden() { self::$calls[] = 'hidden'; return false; }
}

abstract class AbstractChainActions
{
    public function first() { return true; }
}

interface InterfaceChainActions
{
}

final class ActionsHandlerTest extends TestCase
{
    protected function setUp(): void
    {
        RecorderActions::$calls = [];
        Shop::reset();
    }

    public function testRunsActionsInOrderAndStopsAtTheFirstFalsyResult(): void
    {
        $h = (new ActionsHandler())->setConveyor(['in' => 1])->addActions('first', 'second', 'third');
        $this->assertFalse($h->process('recorder'));
        $this->assertSame(['first', 'second'], RecorderActions::$calls);
        $this->assertSame(['in' => 1, 'seen' => ['first', 'second']], $h->getConveyor(), 'conveyor copied back on false');
    }

    public function testSkipsNonCallableActionsAndAddActionsReplacesTheList(): void
    {
        $h = (new ActionsHandler())->setConveyor([])->addActions('second');
        $h->addActions('missing', 'hidden', 'first', 'third');
        $this->assertTrue($h->process('recorder'));
        $this->assertSame(['first', 'third'], RecorderActions::$calls);
        $this->assertSame(['seen' => ['first']], $h->getConveyor());
    }

    public function testPassesTheModelObject(): void
    {
        $model = new stdClass();
        $h = (new ActionsHandler())->setModelObject($model)->setConveyor([])->addActions('model');
        $this->assertTrue($h->process('recorder'));
        $this->assertSame($model, $h->getConveyor()['model']);
    }

    public function testExceptionsPropagateAndTheConveyorIsNotCopiedBack(): void
    {
        $h = (new ActionsHandler())->setConveyor(['a' => 1])->addActions('first', 'boom', 'third');
        try {
            $h->process('recorder');
            $this->fail('no exception');
        } catch (LogicException $e) {
            $this->assertSame('boom', $e->getMessage());
        }
        $this->assertSame(['first'], RecorderActions::$calls);
        $this->assertSame(['a' => 1], $h->getConveyor());
    }

    public function testUnknownOrInvalidChainsThrow(): void
    {
        try {
            (new ActionsHandler())->addActions('x')->process('noSuchChain');
            $this->fail('no exception');
        } catch (Shoppingfeed\Sync\Exception $e) {
            $this->assertStringContainsString('NoSuchChainActions', $e->getMessage());
        }
        $this->expectException(InvalidArgumentException::class);
        (new ActionsHandler())->process('../evil');
    }

    public function testAbstractClassesAndInterfacesAreRefused(): void
    {
        foreach (['abstractChain', 'interfaceChain'] as $chain) {
            try {
                (new ActionsHandler())->addActions('first')->process($chain);
                $this->fail("$chain was instantiated");
            } catch (Shoppingfeed\Sync\Exception $e) {
                $this->assertStringContainsString('not an instantiable class', $e->getMessage());
            }
        }
    }

    public function testAddActionsRefusesNonStrings(): void
    {
        $this->expectException(InvalidArgumentException::class);
        (new ActionsHandler())->addActions('ok', ['no']);
    }

    public function testTheNativeChainQueuesATask(): void
    {
        $id = Shop::order(Shop::CANCELED);
        $h = (new ActionsHandler())->setConveyor(['id_order' => $id, 'order_action' => 'SYNC_STATUS'])->addActions('saveTaskOrder');
        $this->assertTrue($h->process('ShoppingfeedOrderSync'));
        $this->assertCount(1, Shop::tasks($id));
        $this->assertSame(['id_order' => $id, 'order_action' => 'SYNC_STATUS'], $h->getConveyor());
    }

    public function testTheNativeChainReturnsFalseWithoutAnOrder(): void
    {
        $h = (new ActionsHandler())->setConveyor(['order_action' => 'SYNC_STATUS'])->addActions('saveTaskOrder');
        $this->assertFalse($h->process('shoppingfeedOrderSync'));
        $this->assertSame([], Shop::tasks());
    }

    public function testAnOverrideSubclassWinsAndCanCallTheParent(): void
    {
        // Declared at run time, as PrestaShop's override autoloader does.
        eval('class ShoppingfeedOrderSyncActionsOverride extends ShoppingfeedOrderSyncActions {
            public static int $calls = 0;
            public function saveTaskOrder(): bool {
                self::$calls++;
                $c = $this->getConveyor();
                $c["overridden"] = true;
                $this->setConveyor($c);
                return parent::saveTaskOrder();
            }
        }');
        $id = Shop::order(Shop::SHIPPED);
        $h = (new ActionsHandler())->setConveyor(['id_order' => $id, 'order_action' => 'SYNC_STATUS'])->addActions('saveTaskOrder');
        $this->assertTrue($h->process('shoppingfeedOrderSync'));
        $this->assertSame(1, ShoppingfeedOrderSyncActionsOverride::$calls);
        $this->assertTrue($h->getConveyor()['overridden']);
        $this->assertCount(1, Shop::tasks($id));
    }

    public function testPhpClassesCanExtendAndMockTheNativeActions(): void
    {
        $mock = $this->getMockBuilder(ShoppingfeedOrderSyncActions::class)->onlyMethods(['saveTaskOrder'])->getMock();
        $mock->expects($this->once())->method('saveTaskOrder')->willReturn(false);
        $mock->setConveyor(['id_order' => 1]);
        $this->assertFalse($mock->saveTaskOrder());
        $this->assertSame(['id_order' => 1], $mock->getConveyor());
        $this->assertInstanceOf(ShoppingfeedOrderSyncActions::class, $mock);
    }
}
