<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\OrderSync;
use Shoppingfeed\Sync\Tests\ModuleHarness;

require_once __DIR__ . '/Support/ModuleHarness.php';

/** What an operator sees of the extension: `php --ri shoppingfeed_sync` and `php -i`. */
final class PhpInfoTest extends TestCase
{
    private const SECRET = 'pa:ss@w0rd';

    /** @return array{int, string} exit code and stdout of the real php binary */
    private static function php(array $args): array
    {
        $cmd = array_merge([PHP_BINARY, '-d', 'extension=' . ModuleHarness::extensionPath()], $args);
        $proc = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        self::assertIsResource($proc);
        $out = stream_get_contents($pipes[1]);
        stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);

        return [proc_close($proc), (string) $out];
    }

    /** @return array<string, list<string>> "name" => columns after it, from the text rendering */
    private static function rows(string $text): array
    {
        $rows = [];
        foreach (explode("\n", $text) as $line) {
            $cols = explode(' => ', $line);
            if (count($cols) >= 2) {
                $rows[array_shift($cols)] = $cols;
            }
        }

        return $rows;
    }

    public function testRiShowsTheVersionTheRevisionAndEveryIniEntryWithThePasswordMasked(): void
    {
        $url = 'mysql://shop:' . rawurlencode(self::SECRET) . '@db.example.com:3306/prestashop';
        [$rc, $out] = self::php(['-d', "shoppingfeed_sync.database_url=$url", '-d', 'shoppingfeed_sync.http_timeout_ms=2500', '--ri', 'shoppingfeed_sync']);
        $this->assertSame(0, $rc, $out);
        $rows = self::rows($out);
        $this->assertSame(['enabled'], $rows['shoppingfeed_sync support']);
        // "0.1.0 (revision)", as OrderSync::version(), and the same build's revision on its own row.
        $this->assertSame([OrderSync::version()], $rows['version']);
        $this->assertSame(phpversion('shoppingfeed_sync') . ' (' . $rows['git revision'][0] . ')', $rows['version'][0]);
        $this->assertMatchesRegularExpression('/^([0-9a-f]{12}|unknown)$/', $rows['git revision'][0]);
        $this->assertSame(['Local Value', 'Master Value'], $rows['Directive']);

        $ini = array_keys(ini_get_all('shoppingfeed_sync'));
        $this->assertNotEmpty($ini);
        foreach ($ini as $name) {
            $this->assertArrayHasKey($name, $rows, "INI entry $name shown");
        }
        $masked = 'mysql://shop:***@db.example.com:3306/prestashop';
        $this->assertSame([$masked, $masked], $rows['shoppingfeed_sync.database_url']);
        $this->assertSame(['2500', '2500'], $rows['shoppingfeed_sync.http_timeout_ms']);
        $this->assertSame(['ps_', 'ps_'], $rows['shoppingfeed_sync.table_prefix']);
        $this->assertStringNotContainsString(rawurlencode(self::SECRET), $out);
        $this->assertStringNotContainsString('w0rd', $out);
    }

    public function testPhpInfoShowsTheLocalValueAScriptSetNextToTheMasterValue(): void
    {
        [$rc, $out] = self::php(['-d', 'shoppingfeed_sync.database_url=mysql://a:master-secret@h/db', '-r',
            'ini_set("shoppingfeed_sync.database_url", "mysql://b:local-secret@h2/db"); ini_set("shoppingfeed_sync.table_prefix", "shop2_"); phpinfo(INFO_MODULES);']);
        $this->assertSame(0, $rc, $out);
        $rows = self::rows($out);
        $this->assertSame(['mysql://b:***@h2/db', 'mysql://a:***@h/db'], $rows['shoppingfeed_sync.database_url']);
        $this->assertSame(['shop2_', 'ps_'], $rows['shoppingfeed_sync.table_prefix']);
        $this->assertStringNotContainsString('secret', $out);
    }

    public function testUnsetAndPasswordlessValuesAreShownAsTheyAre(): void
    {
        [$rc, $out] = self::php(['-d', 'shoppingfeed_sync.api_base_url=http://127.0.0.1:8080/x@y', '--ri', 'shoppingfeed_sync']);
        $this->assertSame(0, $rc, $out);
        $rows = self::rows($out);
        $this->assertSame(['no value', 'no value'], $rows['shoppingfeed_sync.database_url']);
        $this->assertSame(['http://127.0.0.1:8080/x@y', 'http://127.0.0.1:8080/x@y'], $rows['shoppingfeed_sync.api_base_url']);
    }
}
