<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\OrderSync;

final class ExtensionTest extends TestCase
{
    public function testRegistersTheClassesOfTheSurface(): void
    {
        $ext = new ReflectionExtension('shoppingfeed_sync');
        $classes = array_keys($ext->getClasses());
        foreach ([
            'Shoppingfeed\Sync\OrderSync', 'ShoppingfeedOrderSyncActions', 'Shoppingfeed\Sync\ActionsHandler',
            'Shoppingfeed\Sync\Exception', 'Shoppingfeed\Sync\ConfigException', 'Shoppingfeed\Sync\DatabaseException',
            'Shoppingfeed\Sync\ApiException', 'Shoppingfeed\Sync\InvalidArgumentException',
        ] as $class) {
            $this->assertContains($class, $classes);
        }
        $this->assertTrue((new ReflectionClass(OrderSync::class))->isFinal());
    }

    public function testVersionNamesTheCrateVersionAndRevision(): void
    {
        $this->assertMatchesRegularExpression('/^\d+\.\d+\.\d+ \(([0-9a-f]{7,12}|unknown)\)$/', OrderSync::version());
        $this->assertSame(phpversion('shoppingfeed_sync'), explode(' ', OrderSync::version())[0]);
    }

    public function testExceptionHierarchy(): void
    {
        $this->assertTrue(is_subclass_of('Shoppingfeed\Sync\Exception', RuntimeException::class));
        foreach (['ConfigException', 'DatabaseException', 'ApiException'] as $c) {
            $this->assertTrue(is_subclass_of("Shoppingfeed\\Sync\\$c", 'Shoppingfeed\Sync\Exception'), $c);
        }
        $this->assertTrue(is_subclass_of('Shoppingfeed\Sync\InvalidArgumentException', InvalidArgumentException::class));
        // PHP code can create, extend and throw them, with a file and a line.
        $e = new Shoppingfeed\Sync\ApiException('boom', 7);
        $this->assertSame(7, $e->getCode());
        $this->assertSame(__FILE__, $e->getFile());
        $sub = new class('x') extends Shoppingfeed\Sync\DatabaseException {};
        $this->assertInstanceOf(RuntimeException::class, $sub);
    }

    public function testThrownExceptionsCarryFileAndLine(): void
    {
        try {
            OrderSync::configure(['nope' => 1]);
            $this->fail('no exception');
        } catch (Shoppingfeed\Sync\ConfigException $e) {
            $this->assertSame(__FILE__, $e->getFile());
            $this->assertGreaterThan(0, $e->getLine());
        }
    }

    public function testPhpinfoSection(): void
    {
        ob_start();
        phpinfo(INFO_MODULES);
        $info = (string) ob_get_clean();
        $this->assertStringContainsString('shoppingfeed_sync support => enabled', $info);
        $this->assertStringContainsString(OrderSync::version(), $info);
    }

    public function testReflectionListsTheClassesFromTheCommandLine(): void
    {
        $so = getenv('SFSYNC_EXT_SO');
        if (!$so) {
            $this->markTestSkipped('SFSYNC_EXT_SO not set (./dev test sets it)');
        }
        exec(escapeshellarg(PHP_BINARY) . ' -n -d extension=' . escapeshellarg($so) . ' --re shoppingfeed_sync', $out, $rc);
        $this->assertSame(0, $rc);
        $text = implode("\n", $out);
        $this->assertStringContainsString('Class [ <internal:shoppingfeed_sync> final class Shoppingfeed\Sync\OrderSync', $text);
        $this->assertStringContainsString('ShoppingfeedOrderSyncActions', $text);
    }
}
