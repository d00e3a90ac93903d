<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\ConfigException;
use Shoppingfeed\Sync\ExceptionInterface;
use Shoppingfeed\Sync\OrderSync;
use Shoppingfeed\Sync\Tests\TestDatabase;

/**
 * A database URL with a `%` before a multi-byte character, or decoding to invalid UTF-8, through
 * every input path (configure(), the INI entry, the CLI): never a Rust panic, never the password
 * in a message or on stderr (issue 22 item 2).
 */
final class DatabaseUrlInputTest extends TestCase
{
    private const SECRET = 'Sekr3tPass';

    protected function tearDown(): void
    {
        OrderSync::configure(['database_url' => TestDatabase::$url]);
    }

    /** @return array<string, array{string, bool}> url, whether it is valid */
    public static function urls(): array
    {
        $s = self::SECRET;
        return [
            'percent before é in the password' => ["mysql://u:$s%é@127.0.0.1:9/db", true],
            'percent and a hex digit before é' => ["mysql://u:$s%aé@127.0.0.1:9/db", true],
            'percent before € in the user' => ["mysql://u%€:$s@127.0.0.1:9/db", true],
            'percent before é in the database' => ["mysql://u:$s@127.0.0.1:9/d%é", false],
            'password decoding to invalid UTF-8' => ["mysql://u:$s%FF@127.0.0.1:9/db", false],
            'socket path with percent and é' => ["mysql://u:$s@localhost/db?socket=/tmp/%é", true],
        ];
    }

    /** @dataProvider urls */
    public function testConfigureAcceptsOrRefusesWithoutPanicOrSecret(string $url, bool $valid): void
    {
        try {
            OrderSync::configure(['database_url' => $url]);
            $this->assertTrue($valid, 'accepted');
        } catch (ConfigException $e) {
            $this->assertFalse($valid, $e->getMessage());
            $this->assertStringContainsString('database_url', $e->getMessage());
            $this->assertStringNotContainsString(self::SECRET, $e->getMessage());
        }
        if ($valid) {
            // Used: a connection error naming the server, without the password.
            try {
                OrderSync::runCron();
                $this->fail('nothing listens on port 9');
            } catch (ExceptionInterface $e) {
                $this->assertStringNotContainsString(self::SECRET, $e->getMessage());
            }
        }
    }

    private static function child(array $cmd): array
    {
        $proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        self::assertIsResource($proc);
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        return [proc_close($proc), $out, $err];
    }

    private static function so(): string
    {
        $so = getenv('SFSYNC_EXT_SO') ?: '';
        foreach (['release', 'debug'] as $profile) {
            $candidate = dirname(__DIR__, 2) . "/target/$profile/libshoppingfeed_sync.so";
            if ($so === '' && is_file($candidate)) {
                $so = $candidate;
            }
        }
        self::assertFileExists($so, 'SFSYNC_EXT_SO must name the built extension');
        return $so;
    }

    /** @dataProvider urls */
    public function testTheIniEntryGivesAConfigOrDatabaseExceptionWithoutSecret(string $url, bool $valid): void
    {
        $code = <<<'PHP'
try {
    Shoppingfeed\Sync\OrderSync::runCron();
    echo "ran\n";
} catch (\Throwable $e) {
    echo get_class($e), ': ', $e->getMessage(), "\n";
}
PHP;
        [$rc, $out, $err] = self::child([PHP_BINARY, '-d', 'extension=' . self::so(), '-d', 'shoppingfeed_sync.database_url="' . $url . '"', '-r', $code]);
        $this->assertSame(0, $rc, $out . $err);
        $this->assertStringNotContainsString(self::SECRET, $out . $err);
        $this->assertStringNotContainsString('panic', $out . $err);
        $this->assertMatchesRegularExpression($valid ? '/^Shoppingfeed\\\\Sync\\\\DatabaseException: /' : '/^Shoppingfeed\\\\Sync\\\\ConfigException: .*database_url/', $out);
    }

    /** @dataProvider urls */
    public function testTheCliRefusesOrFailsWithoutSecret(string $url, bool $valid): void
    {
        [$rc, $out, $err] = self::child([PHP_BINARY, '-d', 'extension=' . self::so(), __DIR__ . '/../../php/cli/sync-orders.php', "--database-url=$url", '--api-base-url=http://127.0.0.1:9']);
        $this->assertSame($valid ? 1 : 2, $rc, $out . $err);
        $this->assertStringNotContainsString(self::SECRET, $out . $err);
        $this->assertStringNotContainsString('panic', $out . $err);
    }

    public function testPhpInfoMasksAPasswordTypedWithUrlDelimiters(): void
    {
        foreach (['/', '?', '#', '@'] as $delimiter) {
            $url = 'mysql://shop:' . self::SECRET . $delimiter . 'x@db.example.com:3306/prestashop';
            [$rc, $out, $err] = self::child([PHP_BINARY, '-d', 'extension=' . self::so(), '-d', 'shoppingfeed_sync.database_url="' . $url . '"', '--ri', 'shoppingfeed_sync']);
            $this->assertSame(0, $rc, $err);
            $this->assertStringNotContainsString(self::SECRET, $out . $err, "delimiter $delimiter");
            $this->assertStringContainsString('mysql://shop:***@db.example.com:3306/prestashop', $out);
        }
    }
}
