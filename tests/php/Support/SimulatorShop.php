<?php
namespace Shoppingfeed\Sync\Tests;

use Shoppingfeed\Sync\OrderSync;

require_once __DIR__ . '/Simulator.php';

/**
 * A test case's simulator (one per class) and a shop configured to reach it, with the mailer
 * collecting what it is given in `$this->mails`.
 */
trait SimulatorShop
{
    private static ?Simulator $sim = null;
    /** @var list<array<string, mixed>> what the mailer received */
    private array $mails = [];

    public static function setUpBeforeClass(): void
    {
        self::$sim = new Simulator();
    }

    public static function tearDownAfterClass(): void
    {
        self::$sim?->stop();
        self::$sim = null;
    }

    protected function setUp(): void
    {
        self::$sim->reset();
        // Terminal state at the first poll: a run sends, the next run sees the outcome.
        self::$sim->settings(['lifecycle' => ['mode' => 'polls', 'polls_per_step' => 0]]);
        Shop::reset();
        Shop::cronConfig(Simulator::TOKEN, Simulator::STORE);
        $this->mails = [];
        $this->configure(2000);
    }

    protected function tearDown(): void
    {
        OrderSync::configure(['api_base_url' => 'https://api.shopping-feed.com', 'mailer' => null, 'http_timeout_ms' => 10000]);
    }

    private function configure(int $timeoutMs): void
    {
        OrderSync::configure([
            'api_base_url' => self::$sim->url(),
            'http_timeout_ms' => $timeoutMs,
            'mailer' => function (array $mail): bool {
                $this->mails[] = $mail;
                return true;
            },
        ]);
    }
}
