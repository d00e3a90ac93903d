<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\OrderSync;
use Shoppingfeed\Sync\Tests\Shop;
use Shoppingfeed\Sync\Tests\SimulatorShop;
use Shoppingfeed\Sync\Tests\TestDatabase;

require_once __DIR__ . '/Support/SimulatorShop.php';

/**
 * A mailer that ends the request: a fatal error (a bailout, which jumps over the extension's
 * frames) or exit(). The run must still release its CRON lock and the process's "running" flag,
 * in the process itself (an FPM worker lives on) and for every other process, and exit() must end
 * the script (issue 22 item 1). The mailer runs in a child `php` that stays alive afterwards.
 */
final class CronMailerEndTest extends TestCase
{
    use SimulatorShop;

    /** An order whose failed ticket the next run mails about. */
    private function failureToMail(): int
    {
        $sfId = 9100;
        $id = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, $sfId, "MP-$sfId");
        self::$sim->seedOrders([$sfId => "MP-$sfId"]);
        Shop::setState($id, Shop::SHIPPED);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::SHIPPED));
        self::$sim->outcome($sfId, 'failed', 'Carrier not accepted');
        OrderSync::configure(['mailer' => null]);
        $this->assertSame(1, OrderSync::runCron()['shops'][1]['statuses_sent']);
        return $id;
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
        return $so;
    }

    /**
     * Runs `$mailerBody` as the mailer's body in a child process whose shutdown function runs the
     * CRON once more, prints that report, prints READY and then waits for its stdin to close.
     * Returns [stdout lines before READY, the process, its pipes].
     */
    private function child(string $mailerBody, array $ini = []): array
    {
        $so = self::so();
        $this->assertFileExists($so, 'SFSYNC_EXT_SO must name the built extension for the child process');
        $script = tempnam(sys_get_temp_dir(), 'sfmailer');
        file_put_contents($script, sprintf(<<<'PHP'
<?php
use Shoppingfeed\Sync\OrderSync;
OrderSync::configure(['database_url' => %s, 'table_prefix' => 'ps_', 'api_base_url' => %s, 'http_timeout_ms' => 5000]);
register_shutdown_function(static function (): void {
    // The same process after the mailer ended the request (an FPM worker serves the next one).
    $again = OrderSync::runCron();
    echo 'AGAIN ', json_encode(['locked' => $again['locked'], 'mail_sent' => $again['shops'][1]['mail_sent'] ?? null]), "\n";
    echo "READY\n";
    fgets(STDIN); // alive, with its connections, until the test closes stdin
});
$calls = 0;
OrderSync::configure(['mailer' => static function (array $mail) use (&$calls): bool {
    if (++$calls > 1) {
        return true; // the shutdown run's e-mail is accepted
    }
    %s
}]);
$report = OrderSync::runCron();
echo 'AFTER ', json_encode($report['shops'][1]['errors']), "\n";
PHP, var_export(TestDatabase::$url, true), var_export(self::$sim->url(), true), $mailerBody));
        $cmd = [PHP_BINARY, '-d', "extension=$so", '-d', 'display_errors=stderr'];
        foreach ($ini as $name => $value) {
            array_push($cmd, '-d', "$name=$value");
        }
        $cmd[] = $script;
        $proc = proc_open($cmd, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        $this->assertIsResource($proc);
        register_shutdown_function(static fn () => @unlink($script));
        $lines = [];
        $deadline = microtime(true) + 30;
        stream_set_blocking($pipes[1], false);
        $buffer = '';
        while (microtime(true) < $deadline) {
            $chunk = fread($pipes[1], 8192);
            if ($chunk !== false && $chunk !== '') {
                $buffer .= $chunk;
                if (str_contains($buffer, "READY\n")) {
                    break;
                }
            } elseif (!proc_get_status($proc)['running']) {
                break;
            } else {
                usleep(10000);
            }
        }
        foreach (explode("\n", $buffer) as $line) {
            if ($line === 'READY') {
                return [$lines, $proc, $pipes];
            }
            $lines[] = $line;
        }
        $stderr = stream_get_contents($pipes[2]);
        $this->closeChild($proc, $pipes);
        $this->fail("the child never got to its shutdown function: $buffer $stderr");
    }

    private function closeChild($proc, array $pipes): array
    {
        fclose($pipes[0]);
        stream_set_blocking($pipes[1], true);
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        $code = proc_close($proc);
        return [$code, $out, $err];
    }

    /** @return array<string, array{string, array<string, string>, string}> mailer body, php.ini, stderr */
    public static function fatalErrors(): array
    {
        return [
            'E_USER_ERROR' => ["trigger_error('the mail transport is broken', E_USER_ERROR);", [], 'the mail transport is broken'],
            'memory_limit' => ["\$big = str_repeat('x', 256 << 20);", ['memory_limit' => '64M'], 'Allowed memory size'],
        ];
    }

    /** @dataProvider fatalErrors */
    public function testAFatalErrorInTheMailerReleasesTheLockForThisAndEveryOtherProcess(string $body, array $ini, string $message): void
    {
        $this->failureToMail();

        [$lines, $proc, $pipes] = $this->child($body, $ini);
        try {
            $this->assertNotContains('AFTER', array_map(static fn ($l) => substr($l, 0, 5), $lines), 'a fatal error ends the script');
            $again = json_decode(substr((string) end($lines), 6), true);
            $this->assertSame(['locked' => false, 'mail_sent' => true], $again, 'the same process runs again, its e-mail waiting still: ' . implode("\n", $lines));
            // Another process, while the child (a living FPM worker) keeps its connections.
            $this->assertFalse(OrderSync::runCron()['locked'], 'another process is not blocked');
        } finally {
            [, , $err] = $this->closeChild($proc, $pipes);
        }
        $this->assertStringContainsString($message, $err);
        $errors = array_column(Shop::logs('error'), 'msg');
        $this->assertNotEmpty(array_filter($errors, static fn ($m) => str_contains($m, 'PHP fatal error')), 'logged: ' . implode("\n", $errors));
        $this->assertSame([], Shop::notices(), 'the e-mail of the shutdown run was accepted');
    }

    public function testExitInTheMailerEndsTheScriptAndReleasesTheLock(): void
    {
        $this->failureToMail();

        [$lines, $proc, $pipes] = $this->child('exit(7);');
        try {
            $this->assertSame([], array_values(array_filter($lines, static fn ($l) => str_starts_with($l, 'AFTER'))), 'exit() ended the script: ' . implode("\n", $lines));
            $again = json_decode(substr((string) end($lines), 6), true);
            $this->assertSame(['locked' => false, 'mail_sent' => true], $again, implode("\n", $lines));
            $this->assertFalse(OrderSync::runCron()['locked']);
        } finally {
            [$code, , $err] = $this->closeChild($proc, $pipes);
        }
        $this->assertSame(7, $code, $err);
        $errors = array_column(Shop::logs('error'), 'msg');
        $this->assertSame([], array_values(array_filter($errors, static fn ($m) => str_contains($m, 'mailer threw'))), 'exit() is no mailer failure');
    }
}
