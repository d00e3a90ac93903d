<?php
namespace Shoppingfeed\Sync\Tests;

require_once __DIR__ . '/ModuleHarness.php';
require_once __DIR__ . '/Simulator.php';

/**
 * A module test case's simulator (one per class) and the harness requests that reach it, through
 * php.ini's shoppingfeed_sync.api_base_url as an operator sets it. The using class calls
 * `resetModuleAndSimulator()` from its setUp().
 */
trait ModuleSimulator
{
    private static ?Simulator $sim = null;

    public static function setUpBeforeClass(): void
    {
        ModuleHarness::boot();
        self::$sim = new Simulator();
    }

    public static function tearDownAfterClass(): void
    {
        self::$sim?->stop();
        self::$sim = null;
    }

    /** A fresh simulator (tickets final at their first poll), shop and module state. */
    private static function resetModuleAndSimulator(): void
    {
        self::$sim->reset();
        self::$sim->settings(['lifecycle' => ['mode' => 'polls', 'polls_per_step' => 0]]);
        Shop::reset();
        ModuleHarness::forgetModule();
    }

    /** One PrestaShop request through the harness; it must end cleanly, without notices. */
    private static function request(array $request, array $context = []): array
    {
        $r = ModuleHarness::request($request, $context, ['shoppingfeed_sync.api_base_url' => self::$sim->url(), 'shoppingfeed_sync.http_timeout_ms' => '2000']);
        self::assertSame(0, $r['rc'], $r['stderr']);
        self::assertSame('', $r['stderr'], 'PHP notices or warnings');

        return $r;
    }
}
