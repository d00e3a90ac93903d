<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\ActionsHandler;
use Shoppingfeed\Sync\ExceptionInterface;
use Shoppingfeed\Sync\OrderSync;
use Shoppingfeed\Sync\Tests\TestDatabase;

/** `catch (Shoppingfeed\Sync\ExceptionInterface $e)` catches whatever the extension throws. */
final class ExceptionInterfaceTest extends TestCase
{
    private const CLASSES = [
        'Shoppingfeed\Sync\Exception' => RuntimeException::class,
        'Shoppingfeed\Sync\ConfigException' => RuntimeException::class,
        'Shoppingfeed\Sync\DatabaseException' => RuntimeException::class,
        'Shoppingfeed\Sync\ApiException' => RuntimeException::class,
        'Shoppingfeed\Sync\InvalidArgumentException' => InvalidArgumentException::class,
    ];

    protected function tearDown(): void
    {
        OrderSync::configure(['database_url' => TestDatabase::$url, 'table_prefix' => 'ps_']);
    }

    public function testTheInterfaceIsAThrowableMarker(): void
    {
        $r = new ReflectionClass(ExceptionInterface::class);
        $this->assertTrue($r->isInterface());
        $this->assertSame([Throwable::class, Stringable::class], array_values(array_intersect([Throwable::class, Stringable::class], $r->getInterfaceNames())));
        $own = array_filter($r->getMethods(), static fn (ReflectionMethod $m): bool => $m->getDeclaringClass()->getName() === ExceptionInterface::class);
        $this->assertSame([], $own, 'a marker: nothing beyond Throwable');
        $this->assertSame('shoppingfeed_sync', $r->getExtensionName());
    }

    public function testEveryExceptionClassImplementsIt(): void
    {
        foreach (self::CLASSES as $class => $spl) {
            $e = new $class('m', 3);
            $this->assertInstanceOf(ExceptionInterface::class, $e, $class);
            $this->assertInstanceOf($spl, $e, $class);
            $this->assertSame(['m', 3], [$e->getMessage(), $e->getCode()]);
        }
    }

    /** @return array<string, array{callable, string}> */
    public static function failures(): array
    {
        return [
            'unknown option' => [static fn () => OrderSync::configure(['no_such_option' => 1]), 'Shoppingfeed\Sync\ConfigException'],
            'invalid chain' => [static fn () => (new ActionsHandler())->process('../evil'), 'Shoppingfeed\Sync\InvalidArgumentException'],
            'undefined chain' => [static fn () => (new ActionsHandler())->addActions('x')->process('noSuchChain'), 'Shoppingfeed\Sync\Exception'],
            'negative order id' => [static fn () => OrderSync::onOrderStatusUpdate(-1, 4), 'Shoppingfeed\Sync\InvalidArgumentException'],
            'new on the static facade' => [static fn () => new OrderSync(), 'Shoppingfeed\Sync\Exception'],
            'database down' => [static function (): void {
                // A port nothing listens on (the TCP port 9 "discard" service is never run here).
                OrderSync::configure(['database_url' => 'mysql://u:secret@127.0.0.1:9/db']);
                OrderSync::onOrderStatusUpdate(1, 4);
            }, 'Shoppingfeed\Sync\DatabaseException'],
        ];
    }

    /** @dataProvider failures */
    public function testARealFailureIsCaughtByTheInterface(callable $fail, string $class): void
    {
        try {
            $fail();
            $this->fail('nothing thrown');
        } catch (ExceptionInterface $e) {
            $this->assertSame($class, get_class($e));
            $this->assertStringNotContainsString('secret', $e->getMessage());
        }
    }

    public function testUserlandCanExtendAndThrowThem(): void
    {
        $custom = new class ('mine') extends Shoppingfeed\Sync\InvalidArgumentException {};
        $sub = new class ('db') extends Shoppingfeed\Sync\DatabaseException {};
        foreach ([$custom, $sub] as $e) {
            try {
                throw $e;
            } catch (ExceptionInterface $caught) {
                $this->assertSame($e, $caught);
                $this->assertSame(__FILE__, $caught->getFile());
            }
        }
        // And userland may implement the marker on its own exceptions.
        $own = new class ('own') extends LogicException implements ExceptionInterface {};
        $this->assertInstanceOf(ExceptionInterface::class, $own);
    }
}
