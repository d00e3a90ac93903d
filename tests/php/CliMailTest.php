<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\OrderSync;
use Shoppingfeed\Sync\Tests\Shop;
use Shoppingfeed\Sync\Tests\SimulatorShop;
use Shoppingfeed\Sync\Tests\TestDatabase;

require_once __DIR__ . '/Support/SimulatorShop.php';

/**
 * The CLI's failure e-mail (issue 22 item 5): an e-mail is reported delivered, and its orders
 * forgotten, only when it was handed to PHP's mail(), to a command, or written to --mail-dir.
 * Without one of these (cron's `> /dev/null`) the orders wait and the run says so.
 */
final class CliMailTest extends TestCase
{
    use SimulatorShop;

    private const PHP_DIR = __DIR__ . '/../../php';

    private string $tmp;

    protected function setUp(): void
    {
        self::$sim->reset();
        self::$sim->settings(['lifecycle' => ['mode' => 'polls', 'polls_per_step' => 0]]);
        Shop::reset();
        Shop::cronConfig(\Shoppingfeed\Sync\Tests\Simulator::TOKEN, \Shoppingfeed\Sync\Tests\Simulator::STORE);
        OrderSync::configure(['api_base_url' => self::$sim->url(), 'http_timeout_ms' => 5000, 'mailer' => null]);
        $this->tmp = sys_get_temp_dir() . '/sfsync-climail-' . getmypid() . '-' . bin2hex(random_bytes(3));
        mkdir($this->tmp);
    }

    protected function tearDown(): void
    {
        foreach (glob($this->tmp . '/*') ?: [] as $f) {
            unlink($f);
        }
        @rmdir($this->tmp);
        OrderSync::configure(['api_base_url' => 'https://api.shopping-feed.com', 'mailer' => null, 'http_timeout_ms' => 10000]);
    }

    /** A failed ticket whose e-mail the next run owes; returns the order's marketplace reference. */
    private function failureToMail(): string
    {
        $sfId = 9200;
        $id = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, $sfId, "MP-$sfId");
        self::$sim->seedOrders([$sfId => "MP-$sfId"]);
        Shop::setState($id, Shop::SHIPPED);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::SHIPPED));
        self::$sim->outcome($sfId, 'failed', 'Carrier not accepted');
        $this->assertSame(1, OrderSync::runCron()['shops'][1]['statuses_sent']);
        return Shop::reference($id); // what the e-mail lists
    }

    private static function extensionPath(): string
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

    /** @return array{int, string, string} exit code, stdout, stderr */
    private function cli(array $ini, string ...$args): array
    {
        $cmd = [PHP_BINARY, '-d', 'extension=' . self::extensionPath()];
        foreach ($ini as $k => $v) {
            array_push($cmd, '-d', "$k=$v");
        }
        $cmd = array_merge($cmd, [self::PHP_DIR . '/cli/sync-orders.php', '--database-url=' . TestDatabase::$url, '--api-base-url=' . self::$sim->url()], $args);
        $proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        $this->assertIsResource($proc);
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        return [proc_close($proc), $out, $err];
    }

    public function testWithoutADeliveryTheOrdersWaitAndTheRunSaysSo(): void
    {
        $reference = $this->failureToMail();

        [$rc, $out, $err] = $this->cli([]);

        $this->assertSame(1, $rc, "stdout:\n$out\nstderr:\n$err");
        $this->assertStringContainsString('mail NOT DELIVERED', $out);
        $this->assertStringContainsString('not delivered (no --mail=php, --mail-command or --mail-dir)', $out);
        $this->assertCount(1, Shop::notices(), 'the order waits for an e-mail that is delivered');

        // The next run that can deliver sends it.
        $file = $this->tmp . '/piped.eml';
        [$rc, $out, $err] = $this->cli([], '--mail-command=cat > ' . escapeshellarg($file));
        $this->assertSame(0, $rc, "stdout:\n$out\nstderr:\n$err");
        $this->assertStringContainsString('mail delivered', $out);
        $message = (string) file_get_contents($file);
        $this->assertMatchesRegularExpression('/^To: .+\r\nSubject: =\?UTF-8\?B\?/', $message);
        $this->assertStringContainsString($reference, $message);
        $this->assertSame([], Shop::notices());
    }

    public function testAFailingCommandKeepsTheOrders(): void
    {
        $this->failureToMail();
        [$rc, $out, $err] = $this->cli([], '--mail-command=cat > /dev/null; exit 75');
        $this->assertSame(1, $rc, "stdout:\n$out\nstderr:\n$err");
        $this->assertStringContainsString('could not be delivered', $out);
        $this->assertCount(1, Shop::notices());
    }

    public function testPhpsMailDelivers(): void
    {
        $reference = $this->failureToMail();
        $file = $this->tmp . '/sendmail.eml';
        [$rc, $out, $err] = $this->cli(['sendmail_path' => 'cat > ' . escapeshellarg($file)], '--mail=php');
        $this->assertSame(0, $rc, "stdout:\n$out\nstderr:\n$err");
        $this->assertStringContainsString($reference, (string) file_get_contents($file));
        $this->assertSame([], Shop::notices());
    }

    public function testTheDeliveryOptionsAreExclusiveAndChecked(): void
    {
        foreach ([['--mail=smtp'], ['--mail=php', '--mail-dir=' . $this->tmp]] as $args) {
            [$rc, , $err] = $this->cli([], ...$args);
            $this->assertSame(2, $rc, implode(' ', $args) . "\n$err");
            $this->assertStringContainsString('Usage:', $err);
        }
    }
}
