<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\ConfigException;
use Shoppingfeed\Sync\OrderSync;
use Shoppingfeed\Sync\Tests\TestDatabase;

final class ConfigureTest extends TestCase
{
    protected function tearDown(): void
    {
        OrderSync::configure(['database_url' => TestDatabase::$url, 'table_prefix' => 'ps_', 'api_base_url' => 'https://api.shopping-feed.com', 'http_timeout_ms' => 10000]);
    }

    /** @return array<string, array{array<string, mixed>, string}> */
    public static function badOptions(): array
    {
        return [
            'unknown key' => [['databse_url' => 'mysql://a@b/c'], 'databse_url'],
            'url not a string' => [['database_url' => 42], 'database_url'],
            'url wrong scheme' => [['database_url' => 'pgsql://u:hunter2@h/db'], 'database_url'],
            'url bad port' => [['database_url' => 'mysql://u:hunter2@h:70000/db'], 'database_url'],
            'url no database' => [['database_url' => 'mysql://u:hunter2@h:3306'], 'database_url'],
            'prefix metacharacters' => [['table_prefix' => "ps_`; DROP TABLE x; --"], 'table_prefix'],
            'prefix not a string' => [['table_prefix' => ['ps_']], 'table_prefix'],
            'api url not http' => [['api_base_url' => 'ftp://api'], 'api_base_url'],
            'timeout zero' => [['http_timeout_ms' => 0], 'http_timeout_ms'],
            'timeout text' => [['http_timeout_ms' => 'soon'], 'http_timeout_ms'],
            'timeout float' => [['http_timeout_ms' => 1.5], 'http_timeout_ms'],
            'mailer not callable' => [['mailer' => 'no_such_function_here'], 'mailer'],
        ];
    }

    /** @dataProvider badOptions */
    public function testRefusesBadOptionsNamingTheOptionButNotThePassword(array $options, string $option): void
    {
        try {
            OrderSync::configure($options);
            $this->fail('accepted ' . json_encode($options));
        } catch (ConfigException $e) {
            $this->assertStringContainsString($option, $e->getMessage());
            $this->assertStringNotContainsString('hunter2', $e->getMessage());
            $this->assertInstanceOf(RuntimeException::class, $e);
        }
    }

    public function testARefusedCallChangesNothing(): void
    {
        try {
            OrderSync::configure(['table_prefix' => 'other_', 'http_timeout_ms' => -1]);
            $this->fail('accepted');
        } catch (ConfigException $e) {
        }
        // The prefix was not applied: the hook still finds the ps_ tables.
        \Shoppingfeed\Sync\Tests\Shop::reset();
        $id = \Shoppingfeed\Sync\Tests\Shop::order(6);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, 6));
    }

    public function testAcceptedOptionsAreWhatTheNextCallsUse(): void
    {
        require_once __DIR__ . '/Support/Simulator.php';
        $sim = new \Shoppingfeed\Sync\Tests\Simulator();
        try {
            \Shoppingfeed\Sync\Tests\Shop::reset();
            \Shoppingfeed\Sync\Tests\Shop::cronConfig();
            // The API base URL and timeout given here are the ones the CRON uses: the simulator
            // answers, where the default https://api.shopping-feed.com is out of reach.
            OrderSync::configure([
                'database_url' => TestDatabase::$url,
                'table_prefix' => 'ps_',
                'api_base_url' => $sim->url() . '/',
                'http_timeout_ms' => 1500,
                'mailer' => static fn (array $mail): bool => true,
            ]);
            $id = \Shoppingfeed\Sync\Tests\Shop::order(6);
            $this->assertTrue(OrderSync::onOrderStatusUpdate($id, 6));
            $shop = OrderSync::runCron()['shops'][1];
            $this->assertSame([], $shop['errors']);
            $this->assertSame(1, $shop['requests']);
            // This simulator knows no order: it answered, ignoring it (not counted as sent).
            $this->assertSame(0, $shop['statuses_sent']);
            $this->assertStringContainsString('ignored by Shopping Feed', $shop['failures'][0]['reason']);
        } finally {
            $sim->stop();
        }
    }

    public function testWrongArgumentTypeIsATypeError(): void
    {
        $this->expectException(TypeError::class);
        OrderSync::configure('database_url=x');
    }

    public function testDatabaseFailureIsADatabaseExceptionWithoutThePassword(): void
    {
        OrderSync::configure(['database_url' => 'mysql://sfsync:s3cretpw@127.0.0.1:1/nowhere']);
        try {
            OrderSync::onOrderStatusUpdate(1, 4);
            $this->fail('no exception');
        } catch (\Shoppingfeed\Sync\DatabaseException $e) {
            $this->assertStringContainsString('127.0.0.1:1/nowhere', $e->getMessage());
            $this->assertStringNotContainsString('s3cretpw', $e->getMessage());
        }
    }

    public function testIniSettingsAreRead(): void
    {
        $so = getenv('SFSYNC_EXT_SO');
        if (!$so) {
            $this->markTestSkipped('SFSYNC_EXT_SO not set (./dev test sets it)');
        }
        $code = 'try { Shoppingfeed\Sync\OrderSync::onOrderStatusUpdate(1, 4); } catch (Throwable $e) { echo get_class($e), ": ", $e->getMessage(); }';
        exec(escapeshellarg(PHP_BINARY) . ' -n -d extension=' . escapeshellarg($so)
            . ' -d shoppingfeed_sync.table_prefix=' . escapeshellarg('bad-prefix')
            . ' -r ' . escapeshellarg($code), $out, $rc);
        $this->assertStringContainsString('Shoppingfeed\Sync\ConfigException', implode("\n", $out));
        $this->assertStringContainsString('table_prefix', implode("\n", $out));
    }
}
