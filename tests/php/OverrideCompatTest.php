<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\ActionsHandler;
use Shoppingfeed\Sync\Tests\Shop;
use Shoppingfeed\Sync\Tests\TestDatabase;

/**
 * Code written for the reference module (PHP 5.6 style: no parameter or return types) against
 * ShoppingfeedOrderSyncActions and the actions handler: overrides, `parent::` calls, direct use of
 * `$this->conveyor`, PHPUnit mocks. An incompatible declaration is a fatal error at class load,
 * which would end PHPUnit itself: every override is declared in a child `php` with the extension,
 * and its fatal error becomes this test's failure.
 */
final class OverrideCompatTest extends TestCase
{
    /** Every method of ShoppingfeedOrderSyncActions a reference override may redefine. */
    private const ACTIONS = [
        'saveOrder', 'saveTaskOrder', 'getTaskOrders', 'prepareTaskOrdersSyncStatus', 'sendTaskOrdersSyncStatus',
        'prepareTaskOrdersCheckTicketsSyncStatus', 'sendTaskOrdersCheckTicketsSyncStatus', 'sendFailedTaskOrdersMail',
    ];

    protected function setUp(): void
    {
        Shop::reset();
        Shop::config('SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT', '0');
    }

    /**
     * Runs `$php` in a child php with the extension, configured on the test database; returns
     * what it printed as JSON on its last line. A fatal error fails the test with PHP's message.
     */
    private function child(string $php): array
    {
        $so = getenv('SFSYNC_EXT_SO') ?: '';
        if ($so === '') {
            $this->markTestSkipped('SFSYNC_EXT_SO not set (./dev test sets it)');
        }
        $script = tempnam(sys_get_temp_dir(), 'sfcompat');
        file_put_contents($script, "<?php\n"
            . 'Shoppingfeed\Sync\OrderSync::configure(["database_url" => ' . var_export(TestDatabase::$url, true) . ', "table_prefix" => "ps_"]);' . "\n"
            . $php . "\n");
        try {
            $proc = proc_open([PHP_BINARY, '-d', "extension=$so", '-d', 'display_errors=stderr', '-d', 'error_reporting=-1', $script],
                [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
            $this->assertIsResource($proc);
            $out = stream_get_contents($pipes[1]);
            $err = stream_get_contents($pipes[2]);
            fclose($pipes[1]);
            fclose($pipes[2]);
            $rc = proc_close($proc);
        } finally {
            unlink($script);
        }
        // Deprecations and warnings count too: a tentative return type would give one per method.
        $this->assertSame('', trim($err), "the child php reported:\n$err");
        $this->assertSame(0, $rc, "the child php exited with $rc:\n$out");
        $lines = explode("\n", trim($out));
        $result = json_decode((string) end($lines), true);
        $this->assertIsArray($result, "no JSON result from the child php:\n$out");
        return $result;
    }

    /** A class body overriding `$methods` as `public function m()<ret> { log; return parent::m(); }`. */
    private static function overrides(array $methods, string $returnType = ''): string
    {
        $body = '';
        foreach ($methods as $m) {
            $body .= "public function $m()$returnType { self::\$calls[] = '$m'; return parent::$m(); }\n";
        }
        return $body;
    }

    public function testEveryActionOverriddenWithoutTypesLoadsAndRunsThroughTheHandler(): void
    {
        $id = Shop::order(Shop::CANCELED);
        $r = $this->child('
class ShoppingfeedOrderSyncActionsOverride extends ShoppingfeedOrderSyncActions
{
    public static $calls = array();
    ' . self::overrides(self::ACTIONS) . '
    public function setConveyor($conveyorData) { self::$calls[] = "setConveyor"; parent::setConveyor($conveyorData); }
    public function getConveyor() { self::$calls[] = "getConveyor"; return parent::getConveyor(); }
    public function setModelObject($modelObject) { self::$calls[] = "setModelObject"; parent::setModelObject($modelObject); }
}
$hook = (new Shoppingfeed\Sync\ActionsHandler())->setConveyor(array("id_order" => ' . $id . ', "order_action" => "SYNC_STATUS"))->addActions("saveTaskOrder");
$queued = $hook->process("ShoppingfeedOrderSync");
$cron = (new Shoppingfeed\Sync\ActionsHandler())->setConveyor(array("id_shop" => 1, "order_action" => "SYNC_STATUS"))->addActions("getTaskOrders", "prepareTaskOrdersSyncStatus");
$prepared = $cron->process("ShoppingfeedOrderSync");
// The other actions, called through parent:: on an empty conveyor: each has nothing to do.
$o = new ShoppingfeedOrderSyncActionsOverride();
$rest = array();
foreach (array("saveOrder", "sendTaskOrdersSyncStatus", "prepareTaskOrdersCheckTicketsSyncStatus", "sendTaskOrdersCheckTicketsSyncStatus", "sendFailedTaskOrdersMail") as $m) {
    $rest[$m] = $o->$m();
}
echo json_encode(array("queued" => $queued, "prepared" => $prepared, "conveyor" => $cron->getConveyor(), "rest" => $rest, "calls" => ShoppingfeedOrderSyncActionsOverride::$calls)), "\n";
');
        $this->assertTrue($r['queued']);
        $this->assertCount(1, Shop::tasks($id), 'the overridden saveTaskOrder queued through parent::');
        $this->assertTrue($r['prepared']);
        $this->assertSame([$id], array_column($r['conveyor']['taskOrders'], 'id_order'));
        $this->assertSame([$id], array_column($r['conveyor']['preparedTaskOrders']['cancel'], 'id_order'));
        $this->assertSame(array_fill_keys(['saveOrder', 'sendTaskOrdersSyncStatus', 'prepareTaskOrdersCheckTicketsSyncStatus',
            'sendTaskOrdersCheckTicketsSyncStatus', 'sendFailedTaskOrdersMail'], false), $r['rest']);
        $this->assertSame(['setModelObject', 'setConveyor', 'saveTaskOrder', 'getConveyor',
            'setModelObject', 'setConveyor', 'getTaskOrders', 'prepareTaskOrdersSyncStatus', 'getConveyor',
            'saveOrder', 'sendTaskOrdersSyncStatus', 'prepareTaskOrdersCheckTicketsSyncStatus',
            'sendTaskOrdersCheckTicketsSyncStatus', 'sendFailedTaskOrdersMail'], $r['calls'], 'every override ran, in the handler\'s order');
    }

    public function testOverridesDeclaringBoolAndVoidLoadToo(): void
    {
        $id = Shop::order(Shop::SHIPPED);
        $r = $this->child('
class ShoppingfeedOrderSyncActionsOverride extends ShoppingfeedOrderSyncActions
{
    public static array $calls = [];
    ' . self::overrides(self::ACTIONS, ': bool') . '
    public function setConveyor(array $conveyorData): void { parent::setConveyor($conveyorData); }
    public function getConveyor(): array { return parent::getConveyor(); }
    public function setModelObject(mixed $modelObject): void { parent::setModelObject($modelObject); }
}
$h = (new Shoppingfeed\Sync\ActionsHandler())->setConveyor(["id_order" => ' . $id . ', "order_action" => "SYNC_STATUS"])->addActions("saveTaskOrder");
echo json_encode(["queued" => $h->process("shoppingfeedOrderSync"), "calls" => ShoppingfeedOrderSyncActionsOverride::$calls]), "\n";
');
        $this->assertSame(['queued' => true, 'calls' => ['saveTaskOrder']], $r);
        $this->assertCount(1, Shop::tasks($id));
    }

    public function testAReferenceOverrideUsesThisConveyorAndItsOwnConstructor(): void
    {
        $id = Shop::order(Shop::REFUNDED);
        $skipped = Shop::order(Shop::REFUNDED);
        $r = $this->child('
class ShoppingfeedOrderSyncActionsOverride extends ShoppingfeedOrderSyncActions
{
    protected $started;
    // As a reference override would: DefaultActions has no constructor to call.
    public function __construct() { $this->started = "yes"; }
    public function saveTaskOrder()
    {
        if ($this->conveyor["id_order"] == ' . $skipped . ') {
            return false;
        }
        $this->conveyor["started"] = $this->started;
        $result = parent::saveTaskOrder();
        $this->conveyor["parent_returned"] = $result;
        return $result;
    }
}
$out = array();
foreach (array(' . $id . ', ' . $skipped . ') as $order) {
    $h = new Shoppingfeed\Sync\ActionsHandler();
    $ok = $h->setConveyor(array("id_order" => $order, "order_action" => "SYNC_STATUS"))->addActions("saveTaskOrder")->process("ShoppingfeedOrderSync");
    $out[] = array("ok" => $ok, "conveyor" => $h->getConveyor());
}
echo json_encode($out), "\n";
');
        $this->assertSame(['ok' => true, 'conveyor' => ['id_order' => $id, 'order_action' => 'SYNC_STATUS', 'started' => 'yes', 'parent_returned' => true]], $r[0]);
        $this->assertSame(['ok' => false, 'conveyor' => ['id_order' => $skipped, 'order_action' => 'SYNC_STATUS']], $r[1]);
        $this->assertCount(1, Shop::tasks($id));
        $this->assertSame([], Shop::tasks($skipped), 'the override stopped before parent::');
    }

    public function testReferenceStyleSetConveyorAndGetConveyorOverridesFeedTheNativeActions(): void
    {
        $id = Shop::order(Shop::CANCELED);
        $r = $this->child('
class ShoppingfeedOrderSyncActionsOverride extends ShoppingfeedOrderSyncActions
{
    public function setConveyor($conveyorData)
    {
        // The native action must see what the override stored.
        $conveyorData["order_action"] = "SYNC_STATUS";
        $this->conveyor = $conveyorData;
    }
    public function getConveyor()
    {
        $conveyor = $this->conveyor;
        $conveyor["via_override"] = true;
        return $conveyor;
    }
}
$h = (new Shoppingfeed\Sync\ActionsHandler())->setConveyor(array("id_order" => ' . $id . '))->addActions("saveTaskOrder");
echo json_encode(array("ok" => $h->process("ShoppingfeedOrderSync"), "conveyor" => $h->getConveyor())), "\n";
');
        $this->assertSame(['ok' => true, 'conveyor' => ['id_order' => $id, 'order_action' => 'SYNC_STATUS', 'via_override' => true]], $r);
        $this->assertCount(1, Shop::tasks($id));
    }

    public function testAHandlerSubclassInClasslibStyle(): void
    {
        $id = Shop::order(Shop::SHIPPED);
        $r = $this->child('
class LoggingActionsHandler extends Shoppingfeed\Sync\ActionsHandler
{
    public $seen = array();
    public function setConveyor($conveyorData) { $this->seen[] = "setConveyor"; return parent::setConveyor($conveyorData); }
    public function getConveyor() { return parent::getConveyor(); }
    public function setModelObject($modelObject) { return parent::setModelObject($modelObject); }
    public function addActions($actions) { $this->seen[] = "addActions"; return parent::addActions(...func_get_args()); }
    public function process($chain) { $this->seen[] = $this->actions; return parent::process($chain); }
}
$h = new LoggingActionsHandler();
$ok = $h->setConveyor(array("id_order" => ' . $id . ', "order_action" => "SYNC_STATUS"))->addActions("missing", "saveTaskOrder")->process("shoppingfeedOrderSync");
echo json_encode(array("ok" => $ok, "seen" => $h->seen)), "\n";
');
        $this->assertSame(['ok' => true, 'seen' => ['setConveyor', 'addActions', ['missing', 'saveTaskOrder']]], $r);
        $this->assertCount(1, Shop::tasks($id));
    }

    public function testClasslibsForwardAndTranslationHelpersAreThere(): void
    {
        $id = Shop::order(Shop::CANCELED);
        $r = $this->child('
class ShoppingfeedOrderSyncActionsOverride extends ShoppingfeedOrderSyncActions
{
    public function queue() { return $this->forward("saveTaskOrder"); }
    public function queueHidden() { return $this->forward("hidden"); }
    protected function hidden() { return 1; }
    public function missing() { try { $this->forward("nope"); } catch (Shoppingfeed\Sync\Exception $e) { return $e->getMessage(); } }
    public function text() { return $this->l("Order registered", "ShoppingfeedOrderSyncActions"); }
}
$o = new ShoppingfeedOrderSyncActionsOverride();
$o->setConveyor(array("id_order" => ' . $id . ', "order_action" => "SYNC_STATUS"));
$out = array("queue" => $o->queue(), "hidden" => $o->queueHidden(), "missing" => $o->missing(), "plain" => $o->text());
// Inside PrestaShop, l() is the translation in the domain of the reference module.
// (declared at run time: a top-level class would exist from the start of the script)
eval(\'class Translate { public static function getModuleTranslation($module, $string, $source) { return "$module/$source: $string"; } }\');
$out["translated"] = $o->text();
echo json_encode($out), "\n";
');
        $this->assertSame([
            'queue' => true,
            'hidden' => true,
            'missing' => 'nope not defined',
            'plain' => 'Order registered',
            'translated' => 'shoppingfeed/ShoppingfeedOrderSyncActions: Order registered',
        ], $r);
        $this->assertCount(1, Shop::tasks($id));
    }

    public function testAMockOfTheActionsAcceptsReferenceReturnValues(): void
    {
        $mock = $this->createMock(ShoppingfeedOrderSyncActions::class);
        // The reference's methods are untyped: a test written for it returns ints and nulls.
        $mock->method('saveTaskOrder')->willReturn(1);
        $mock->method('getConveyor')->willReturn(null);
        $this->assertSame(1, $mock->saveTaskOrder());
        $this->assertNull($mock->getConveyor());
        $this->assertNull($mock->getTaskOrders(), 'an unconfigured untyped method returns null');
        $this->assertInstanceOf(ShoppingfeedOrderSyncActions::class, $mock);

        $handler = $this->createMock(ActionsHandler::class);
        $handler->method('process')->willReturn(null);
        $this->assertNull($handler->process('ShoppingfeedOrderSync'));
    }

    public function testNoMethodDeclaresAReturnType(): void
    {
        foreach ([ShoppingfeedOrderSyncActions::class, ActionsHandler::class] as $class) {
            foreach ((new ReflectionClass($class))->getMethods() as $m) {
                $this->assertFalse($m->hasReturnType(), "$class::{$m->getName()}");
                $this->assertFalse($m->hasTentativeReturnType(), "$class::{$m->getName()}");
            }
        }
    }

    public function testWrongArgumentsAreTypeErrorsOrOurExceptions(): void
    {
        $cases = [
            [static fn () => (new ShoppingfeedOrderSyncActions())->setConveyor('x'), TypeError::class, 'must be of type array, string given'],
            [static fn () => (new ShoppingfeedOrderSyncActions())->setConveyor(), ArgumentCountError::class, 'expects at least 1 argument, 0 given'],
            [static fn () => (new ActionsHandler())->setConveyor(new stdClass()), TypeError::class, 'must be of type array, stdClass given'],
            [static fn () => (new ActionsHandler())->process(42), TypeError::class, 'must be of type string, int given'],
            [static fn () => (new ActionsHandler())->process(), ArgumentCountError::class, '0 given'],
            [static fn () => (new ActionsHandler())->addActions(), ArgumentCountError::class, '0 given'],
            [static fn () => (new ActionsHandler())->addActions('a', 3), Shoppingfeed\Sync\InvalidArgumentException::class, 'strings'],
        ];
        foreach ($cases as $i => [$call, $class, $message]) {
            try {
                $call();
                $this->fail("case $i: nothing thrown");
            } catch (Throwable $e) {
                $this->assertInstanceOf($class, $e, "case $i: " . $e->getMessage());
                $this->assertStringContainsString($message, $e->getMessage(), "case $i");
            }
        }
    }
}
