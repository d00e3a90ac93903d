<?php
namespace Shoppingfeed\Sync\Tests;

use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\OrderSync;
use ShoppingfeedSync\CronEndpoint;
use ShoppingfeedSync\DatabaseUrl;

require_once dirname(__DIR__, 2) . '/php/classes/CronEndpoint.php';
require_once dirname(__DIR__, 2) . '/php/classes/DatabaseUrl.php';

/** The PrestaShop module glue in php/: syntax, the CRON endpoint, the CLI, the mails, the DB URL. */
final class GlueTest extends TestCase
{
    private const PHP_DIR = __DIR__ . '/../../php';

    protected function tearDown(): void
    {
        // Tests below point the extension elsewhere; the other test classes need the test database.
        OrderSync::configure(['database_url' => TestDatabase::$url, 'table_prefix' => 'ps_']);
    }

    // ---- php -l ------------------------------------------------------------------------------

    public function testEveryPhpFileOfTheModuleParses(): void
    {
        $files = [];
        $it = new \RecursiveIteratorIterator(new \RecursiveDirectoryIterator(self::PHP_DIR, \FilesystemIterator::SKIP_DOTS));
        foreach ($it as $file) {
            if ($file->getExtension() === 'php') {
                $files[] = $file->getPathname();
            }
        }
        sort($files);
        $names = array_map(static fn (string $f): string => substr($f, strlen(realpath(self::PHP_DIR)) + 1), array_map('realpath', $files));
        foreach (['shoppingfeedsync.php', 'controllers/front/syncOrder.php', 'classes/CronEndpoint.php', 'classes/DatabaseUrl.php', 'cli/sync-orders.php'] as $expected) {
            self::assertContains($expected, $names);
        }
        foreach ($files as $file) {
            exec(escapeshellarg(PHP_BINARY) . ' -n -l ' . escapeshellarg($file) . ' 2>&1', $out, $rc);
            self::assertSame(0, $rc, "php -l $file:\n" . implode("\n", $out));
            $out = [];
        }
    }

    // ---- CronEndpoint -------------------------------------------------------------------------

    private const KEY = '5f4dcc3b5aa765d61d8327deb882cf99';

    private static function neverRuns(): callable
    {
        return static function (): array {
            throw new \LogicException('runCron must not be called');
        };
    }

    public function testCronEndpointRefusesAMissingKey(): void
    {
        [$status, $body] = CronEndpoint::handle(null, self::KEY, self::neverRuns());
        self::assertSame(403, $status);
        self::assertSame('{"success":false,"error":"Authentication failed"}', json_encode($body));
    }

    public function testCronEndpointRefusesAWrongOrEmptyKey(): void
    {
        foreach (['', 'x', strtoupper(self::KEY), self::KEY . ' ', substr(self::KEY, 0, -1)] as $given) {
            [$status, $body] = CronEndpoint::handle($given, self::KEY, self::neverRuns());
            self::assertSame(403, $status, "key \"$given\"");
            self::assertSame(['success' => false, 'error' => 'Authentication failed'], $body);
        }
        // A module without a key must not open the CRON to an empty secure_key.
        [$status] = CronEndpoint::handle('', '', self::neverRuns());
        self::assertSame(403, $status);
    }

    public function testCronEndpointReportsTheLock(): void
    {
        [$status, $body] = CronEndpoint::handle(self::KEY, self::KEY, static fn (): array => ['locked' => true, 'shops' => []]);
        self::assertSame(409, $status);
        self::assertSame('{"success":false,"error":"Lock return false. Process ID already in run."}', json_encode($body));
    }

    public function testCronEndpointReturnsTheReport(): void
    {
        $calls = 0;
        $report = ['locked' => false, 'duration_ms' => 3, 'http_requests' => 0, 'shops' => [1 => ['id_shop' => 1, 'statuses_sent' => 2]]];
        [$status, $body] = CronEndpoint::handle(self::KEY, self::KEY, static function () use (&$calls, $report): array {
            ++$calls;

            return $report;
        });
        self::assertSame(1, $calls);
        self::assertSame(200, $status);
        self::assertSame(['success' => true, 'report' => $report], $body);
    }

    public function testCronEndpointTurnsAThrowableIntoAnError(): void
    {
        foreach ([new \Shoppingfeed\Sync\DatabaseException('cannot connect to the database'), new \TypeError('bad type')] as $e) {
            [$status, $body] = CronEndpoint::handle(self::KEY, self::KEY, static function () use ($e): array {
                throw $e;
            });
            self::assertSame(500, $status);
            self::assertSame(['success' => false, 'error' => $e->getMessage()], $body);
        }
    }

    public function testCronEndpointWithTheRealExtensionRun(): void
    {
        Shop::reset();
        [$status, $body] = CronEndpoint::handle(self::KEY, self::KEY, static fn (): array => OrderSync::runCron());
        self::assertSame(200, $status, json_encode($body));
        self::assertTrue($body['success']);
        self::assertFalse($body['report']['locked']);
        self::assertArrayHasKey(1, $body['report']['shops']);
    }

    // ---- CLI ----------------------------------------------------------------------------------

    private static function extensionPath(): string
    {
        $so = getenv('SFSYNC_EXT_SO');
        if ($so && is_file($so)) {
            return $so;
        }
        // The .so this PHPUnit process loaded (php -d extension=...), found in the process's mappings.
        foreach (@file('/proc/self/maps') ?: [] as $line) {
            if (preg_match('#\s(/\S*libshoppingfeed_sync\.so)$#', trim($line), $m)) {
                return $m[1];
            }
        }
        self::fail('Set SFSYNC_EXT_SO to the path of libshoppingfeed_sync.so');
    }

    /** @return array{int, string, string} exit code, stdout, stderr */
    private static function cli(string ...$args): array
    {
        $cmd = array_merge([PHP_BINARY, '-d', 'extension=' . self::extensionPath(), self::PHP_DIR . '/cli/sync-orders.php'], $args);
        $proc = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        self::assertIsResource($proc);
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);

        return [proc_close($proc), $out, $err];
    }

    /** Nothing reaches the real API from a test: a closed local port. */
    private const NO_API = '--api-base-url=http://127.0.0.1:9';

    public function testCliRunsTheCronWithNoDueTasks(): void
    {
        Shop::reset(); // sync enabled, nothing queued, no API token: nothing to do, no HTTP
        [$rc, $out, $err] = self::cli('--database-url=' . TestDatabase::$url, '--prefix=ps_', self::NO_API, '--budget-ms=5000');
        self::assertSame(0, $rc, "stdout:\n$out\nstderr:\n$err");
        self::assertMatchesRegularExpression('/^shop 1: skipped \(.+\)$/m', $out);
        self::assertMatchesRegularExpression('/^total: 1 shop\(s\), sent 0, tickets ok 0 \/ failed 0 \/ pending 0, removed 0, requeued 0, errors 0, mails 0, \d+ ms, 0 HTTP requests$/m', $out);
        self::assertSame('', $err);

        [$rc, $out, $err] = self::cli('--database-url=' . TestDatabase::$url, self::NO_API, '--shop=1', '--json');
        self::assertSame(0, $rc, "stdout:\n$out\nstderr:\n$err");
        $report = json_decode($out, true);
        self::assertIsArray($report, $out);
        self::assertFalse($report['locked']);
        self::assertSame([1], array_keys($report['shops']));
        self::assertSame(0, $report['shops'][1]['statuses_sent']);
    }

    public function testCliNotesTheInvoiceUploadsItCannotRender(): void
    {
        Shop::reset();
        [, $out] = self::cli('--database-url=' . TestDatabase::$url, self::NO_API);
        self::assertStringNotContainsString('note:', $out);
        // An invoice upload queued by the hook: its PDF comes from PrestaShop, which this command lacks.
        $id = Shop::order(Shop::PAYMENT_ACCEPTED);
        TestDatabase::pdo()->exec("INSERT INTO ps_shoppingfeed_task_order (action, id_order, update_at, date_add, date_upd) VALUES ('UPLOAD_INVOICE', $id, NOW(), NOW(), NOW())");
        [$rc, $out, $err] = self::cli('--database-url=' . TestDatabase::$url, self::NO_API);
        self::assertSame(0, $rc, "stdout:\n$out\nstderr:\n$err");
        self::assertStringContainsString("note: 1 invoice upload(s) waiting: this command cannot render invoice PDFs; the module's CRON URL renders them before its run\n", $out);
        // --json prints the report alone.
        [, $out] = self::cli('--database-url=' . TestDatabase::$url, self::NO_API, '--json');
        self::assertIsArray(json_decode($out, true), $out);
    }

    public function testCliExitsWith1WhenAShopHasErrorsAndPrintsNoSecret(): void
    {
        Shop::reset();
        Shop::config('SHOPPINGFEED_AUTH_TOKEN', 'token-that-must-not-be-printed');
        // No store id configured: the run must ask GET /v1/me, which cannot be reached.
        [$rc, $out, $err] = self::cli('--database-url=' . TestDatabase::$url, self::NO_API);
        self::assertSame(1, $rc, "stdout:\n$out\nstderr:\n$err");
        self::assertMatchesRegularExpression('/^  error: \[Shop 1\] .*API/m', $out);
        self::assertMatchesRegularExpression('/^total: 1 shop\(s\), .*errors 1, /m', $out);
        self::assertStringNotContainsString('token-that-must-not-be-printed', $out . $err);
        $password = rawurldecode((string) parse_url(TestDatabase::$url, PHP_URL_PASS));
        if ($password !== '') {
            self::assertStringNotContainsString(':' . $password . '@', $out . $err);
        }
    }

    public function testCliRejectsBadArguments(): void
    {
        $url = '--database-url=' . TestDatabase::$url;
        foreach ([
            [],                                   // no database URL
            [$url, '--bogus'],                    // unknown option
            [$url, '--shop=abc'],                 // not a number
            [$url, '--shop=0'],
            [$url, '--budget-ms=-5'],
            [$url, '--prefix'],                   // missing value
            [$url, 'stray'],
            ['--database-url=postgres://x@y/z'],  // refused by OrderSync::configure
            [$url, '--api-base-url=ftp://example.com'],
            [$url, '--mail-lang=de'],
        ] as $args) {
            [$rc, $out, $err] = self::cli(...$args);
            self::assertSame(2, $rc, 'args ' . implode(' ', $args) . "\nstdout:\n$out\nstderr:\n$err");
            self::assertStringContainsString('Usage:', $err);
            self::assertStringNotContainsString('total:', $out);
        }
    }

    public function testCliExitsWith3WhenAnotherRunHoldsTheLock(): void
    {
        Shop::reset();
        // The extension's CRON lock is a MySQL named lock (it dies with its session).
        $pdo = TestDatabase::connect(TestDatabase::$name);
        self::assertSame(1, (int) $pdo->query("SELECT GET_LOCK(CONCAT('shoppingfeed:syncOrder:', MD5(CONCAT(DATABASE(), '.ps_'))), 0)")->fetchColumn());
        try {
            [$rc, $out, $err] = self::cli('--database-url=' . TestDatabase::$url, self::NO_API);
        } finally {
            $pdo->query("SELECT RELEASE_LOCK(CONCAT('shoppingfeed:syncOrder:', MD5(CONCAT(DATABASE(), '.ps_'))))");
        }
        self::assertSame(3, $rc, "stdout:\n$out\nstderr:\n$err");
        self::assertStringContainsString('locked', $out);
    }

    public function testCliExitsWith1WhenTheDatabaseIsUnreachable(): void
    {
        $url = preg_replace('#@[^/]+/#', '@127.0.0.1:9/', TestDatabase::$url);
        [$rc, $out, $err] = self::cli('--database-url=' . $url, self::NO_API);
        self::assertSame(1, $rc, "stdout:\n$out\nstderr:\n$err");
        self::assertStringContainsString('the run failed', $err);
    }

    // ---- mail templates -----------------------------------------------------------------------

    public function testMailTemplatesUseTheExtensionVariablesInEnglishAndFrench(): void
    {
        foreach (['en', 'fr'] as $iso) {
            $html = (string) @file_get_contents(self::PHP_DIR . "/mails/$iso/order-sync-errors.html");
            $txt = (string) @file_get_contents(self::PHP_DIR . "/mails/$iso/order-sync-errors.txt");
            foreach (['{shop_name}', '{list_order_sync_errors_html}'] as $var) {
                self::assertStringContainsString($var, $html, "$iso html");
            }
            self::assertStringContainsString('{list_order_sync_errors_txt}', $txt, "$iso txt");
            self::assertStringContainsString('{shop_name}', $txt, "$iso txt");
            self::assertStringNotContainsString('{list_order_sync_errors_html}', $txt, "$iso txt");
            // The rows the extension renders (<tr><td>ref</td><td>status</td><td>reason</td></tr>) need 3 columns.
            self::assertSame(3, preg_match_all('#<th[ >]#', $html), "$iso html headers");
            $dom = new \DOMDocument();
            self::assertTrue(@$dom->loadHTML($html), "$iso html parses");
        }
        self::assertStringContainsString('<th>Reference</th><th>Status</th><th>Reason</th>', (string) file_get_contents(self::PHP_DIR . '/mails/en/order-sync-errors.html'));
        self::assertStringContainsString('<th>Référence</th><th>Statut</th><th>Raison</th>', (string) file_get_contents(self::PHP_DIR . '/mails/fr/order-sync-errors.html'));
    }

    // ---- DatabaseUrl --------------------------------------------------------------------------

    public function testDatabaseUrlFromPrestaShopForms(): void
    {
        self::assertSame('mysql://ps:secret@db.example.com/prestashop', DatabaseUrl::fromPrestaShop('db.example.com', 'ps', 'secret', 'prestashop'));
        self::assertSame('mysql://ps:secret@127.0.0.1:3307/prestashop', DatabaseUrl::fromPrestaShop('127.0.0.1:3307', 'ps', 'secret', 'prestashop'));
        self::assertSame('mysql://ps:secret@localhost/ps?socket=/var/run/mysqld/mysqld.sock', DatabaseUrl::fromPrestaShop('localhost:/var/run/mysqld/mysqld.sock', 'ps', 'secret', 'ps'));
        self::assertSame('mysql://ps@localhost/ps?socket=/tmp/my%20sql.sock', DatabaseUrl::fromPrestaShop('/tmp/my sql.sock', 'ps', '', 'ps'));
        // "localhost" goes through PDO's default socket, as PrestaShop's own connection does...
        self::assertSame('mysql://ps:x@localhost/ps?socket=/run/mysqld.sock', DatabaseUrl::fromPrestaShop('localhost', 'ps', 'x', 'ps', '/run/mysqld.sock'));
        // ...but an explicit port or another host stays TCP.
        self::assertSame('mysql://ps:x@localhost:3306/ps', DatabaseUrl::fromPrestaShop('localhost:3306', 'ps', 'x', 'ps', '/run/mysqld.sock'));
        self::assertSame('mysql://ps:x@127.0.0.1/ps', DatabaseUrl::fromPrestaShop('127.0.0.1', 'ps', 'x', 'ps', '/run/mysqld.sock'));

        foreach (['db:70000', 'db:0', 'bad host', '::1', 'db;host'] as $server) {
            try {
                DatabaseUrl::fromPrestaShop($server, 'ps', 'pa55word', 'ps');
                self::fail("accepted \"$server\"");
            } catch (\InvalidArgumentException $e) {
                self::assertStringNotContainsString('pa55word', $e->getMessage());
            }
        }
    }

    public function testDatabaseUrlEncodesSpecialCharactersForTheExtension(): void
    {
        $password = 'p@ss:w/rd?#%&= é+';
        $user = 'user@shop';
        $url = DatabaseUrl::fromPrestaShop('db.internal:3310', $user, $password, 'presta_shop');
        self::assertSame(1, substr_count($url, '@'));
        $parts = parse_url($url);
        self::assertSame('db.internal', $parts['host']);
        self::assertSame(3310, $parts['port']);
        self::assertSame('/presta_shop', $parts['path']);
        self::assertSame($user, rawurldecode($parts['user']));
        self::assertSame($password, rawurldecode($parts['pass']));
        OrderSync::configure(['database_url' => $url]); // throws ConfigException when refused

        $socketUrl = DatabaseUrl::fromPrestaShop('localhost:/var/lib/mysql/mysql.sock', $user, $password, 'presta_shop');
        OrderSync::configure(['database_url' => $socketUrl]);
        $this->addToAssertionCount(1);
    }

    public function testDatabaseUrlConnectsToTheTestDatabase(): void
    {
        $u = parse_url(TestDatabase::$url);
        $server = $u['host'] . (isset($u['port']) ? ':' . $u['port'] : '');
        $name = ltrim($u['path'], '/');
        $user = rawurldecode($u['user'] ?? 'root');
        $password = rawurldecode($u['pass'] ?? '');
        Shop::reset();

        $urls = ['tcp' => DatabaseUrl::fromPrestaShop($server, $user, $password, $name)];
        // The ./dev db server also listens on a socket; the socket form must connect too.
        $socket = getenv('SFSYNC_TEST_DATABASE_SOCKET') ?: dirname(__DIR__, 2) . '/.dev/db/run/mysqld.sock';
        if (in_array($u['host'], ['127.0.0.1', 'localhost'], true) && file_exists($socket)) {
            $urls['socket'] = DatabaseUrl::fromPrestaShop("localhost:$socket", $user, $password, $name);
            $urls['localhost'] = DatabaseUrl::fromPrestaShop('localhost', $user, $password, $name, $socket);
        }
        foreach ($urls as $form => $url) {
            OrderSync::configure(['database_url' => $url]);
            // A real round trip: a run over the test database's shops.
            $report = OrderSync::runCron(['id_shop' => 1]);
            self::assertFalse($report['locked'], $form);
            self::assertArrayHasKey(1, $report['shops'], $form);
        }
    }
}
