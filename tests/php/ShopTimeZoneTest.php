<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\OrderSync;
use Shoppingfeed\Sync\Tests\Shop;
use Shoppingfeed\Sync\Tests\SimulatorShop;
use Shoppingfeed\Sync\Tests\TestDatabase;

require_once __DIR__ . '/Support/SimulatorShop.php';

/**
 * Dates in the shop's time zone (issue 21 item 4): PrestaShop writes its dates in PS_TIMEZONE
 * (PHP's default zone); the extension's rows must be in that zone too, whatever the database
 * server's, with delays, leases and the CRON's due checks still right, and the CLI (whose PHP
 * zone may be UTC) must agree with the web processes.
 */
final class ShopTimeZoneTest extends TestCase
{
    use SimulatorShop {
        setUp as simulatorSetUp;
        tearDown as simulatorTearDown;
    }

    /** Far from UTC (+09:00, no DST), and from the server's zone. */
    private const ZONE = 'Asia/Tokyo';

    private string $phpZone;

    protected function setUp(): void
    {
        $this->simulatorSetUp();
        $this->phpZone = date_default_timezone_get();
        Shop::config('PS_TIMEZONE', self::ZONE);
        // As PrestaShop's config does with PS_TIMEZONE.
        date_default_timezone_set(self::ZONE);
        // Another URL for the same database: a new pool, which reads the zone.
        OrderSync::configure(['database_url' => str_replace('@127.0.0.1:', '@localhost:', TestDatabase::$url)]);
    }

    protected function tearDown(): void
    {
        TestDatabase::pdo()->exec("DELETE FROM ps_configuration WHERE name = 'PS_TIMEZONE'");
        date_default_timezone_set($this->phpZone);
        OrderSync::configure(['database_url' => TestDatabase::$url]);
        $this->simulatorTearDown();
    }

    /** Seconds between a DATETIME of the extension's rows, read in the shop's zone, and now. */
    private static function fromNow(?string $datetime): int
    {
        self::assertNotNull($datetime);
        return (new DateTimeImmutable($datetime, new DateTimeZone(self::ZONE)))->getTimestamp() - time();
    }

    public function testTheServersZoneIsNotTheShops(): void
    {
        $serverNow = (string) TestDatabase::pdo()->query('SELECT NOW()')->fetchColumn();
        $this->assertGreaterThan(3600, abs(self::fromNow($serverNow)), 'the test needs a server zone unlike ' . self::ZONE);
    }

    public function testTheHookAndTheCronWriteTheShopsTimeAndKeepTheirDelaysAndLeases(): void
    {
        Shop::config('SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT', '5');
        $sfId = 9300;
        $id = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, $sfId);
        self::$sim->seedOrders([$sfId => Shop::reference($id)]);
        Shop::setState($id, Shop::SHIPPED);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::SHIPPED));

        $task = Shop::tasks($id)[0];
        $this->assertEqualsWithDelta(0, self::fromNow($task['date_add']), 60, 'date_add in the shop time');
        $this->assertEqualsWithDelta(300, self::fromNow($task['update_at']), 60, 'due after the shipped delay, in the shop time');
        OrderSync::flushLogs();
        foreach (Shop::logs() as $log) {
            $this->assertEqualsWithDelta(0, self::fromNow($log['date_add']), 60, $log['msg']);
        }

        // Not due yet: the CRON compares in the same zone.
        $report = OrderSync::runCron();
        $this->assertSame(0, $report['shops'][1]['statuses_sent']);
        $this->assertEqualsWithDelta(0, self::fromNow((string) TestDatabase::pdo()->query("SELECT last_update FROM ps_shoppingfeed_processmonitor WHERE name = 'shoppingfeed:syncOrder'")->fetchColumn()), 60);

        // Due now, sent by the CLI, whose PHP runs in UTC: the same zone from the same row.
        TestDatabase::pdo()->exec("UPDATE ps_shoppingfeed_task_order SET update_at = update_at - INTERVAL 6 MINUTE WHERE id_order = $id");
        [$rc, $out, $err] = $this->cli();
        $this->assertSame(0, $rc, $out . $err);
        $this->assertStringContainsString('shop 1: sent 1', $out);
        $task = Shop::tasks($id)[0];
        $this->assertSame('CHECK_TICKET_SYNC_STATUS', $task['action']);
        $this->assertEqualsWithDelta(0, self::fromNow($task['sent_at']), 60, 'sent_at in the shop time');
        $this->assertEqualsWithDelta(0, self::fromNow((string) TestDatabase::pdo()->query("SELECT last_update FROM ps_shoppingfeed_processmonitor WHERE name = 'shoppingfeed:syncOrder'")->fetchColumn()), 60, 'the CLI wrote the shop time');
    }

    /** @return array{int, string, string} */
    private function cli(): array
    {
        $so = getenv('SFSYNC_EXT_SO') ?: dirname(__DIR__, 2) . '/target/release/libshoppingfeed_sync.so';
        $cmd = [PHP_BINARY, '-d', "extension=$so", '-d', 'date.timezone=UTC', __DIR__ . '/../../php/cli/sync-orders.php',
            '--database-url=' . TestDatabase::$url, '--api-base-url=' . self::$sim->url()];
        $proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        $this->assertIsResource($proc);
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        return [proc_close($proc), $out, $err];
    }

    private static function questions(): int
    {
        return (int) TestDatabase::pdo()->query("SHOW GLOBAL STATUS LIKE 'Questions'")->fetch(PDO::FETCH_NUM)[1];
    }

    public function testAfterTheFirstCallAStatusChangeIsStillOneRoundTrip(): void
    {
        $warm = Shop::order(Shop::CANCELED);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($warm, Shop::CANCELED));
        OrderSync::flushLogs(); // the first call's rows, buffered for the request
        $id = Shop::order(Shop::CANCELED);
        // What reading the counter costs, measured the same way.
        $a = self::questions();
        $b = self::questions();
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::CANCELED));
        $c = self::questions();
        $this->assertSame(1, ($c - $b) - ($b - $a), 'statements of the status change');
        $this->assertEqualsWithDelta(0, self::fromNow(Shop::tasks($id)[0]['date_add']), 60);
    }
}
