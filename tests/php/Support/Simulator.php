<?php
namespace Shoppingfeed\Sync\Tests;

/**
 * The Shopping Feed API simulator (`shoppingfeed-sim`) as a child process, with its `/_sim/`
 * control API (docs/simulator.md). One per test class; `reset()` between tests.
 */
final class Simulator
{
    public const TOKEN = 'T';
    public const STORE = 1276;

    /** @var resource|null */
    private $proc;
    /** @var array<int, resource> */
    private array $pipes = [];
    private string $url;

    public function __construct(string $token = self::TOKEN, int $store = self::STORE)
    {
        $bin = self::binary();
        $this->proc = proc_open(
            [$bin, '--listen', '127.0.0.1:0', '--token', $token, '--store', (string) $store],
            [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['file', '/dev/null', 'w']],
            $this->pipes
        );
        if (!is_resource($this->proc)) {
            throw new \RuntimeException("cannot start the simulator $bin");
        }
        $addr = trim((string) fgets($this->pipes[1]));
        if (!preg_match('/^[\d.]+:\d+$/', $addr)) {
            $this->stop();
            throw new \RuntimeException("the simulator $bin did not print its address (got '$addr')");
        }
        $this->url = "http://$addr";
    }

    /** SFSYNC_SIM_BIN, else target/release, else target/debug under the repository root. */
    public static function binary(): string
    {
        $env = getenv('SFSYNC_SIM_BIN');
        if ($env !== false && $env !== '') {
            if (!is_file($env) || !is_executable($env)) {
                throw new \RuntimeException("SFSYNC_SIM_BIN=$env is not an executable file");
            }
            return $env;
        }
        $root = dirname(__DIR__, 3);
        foreach (['release', 'debug'] as $profile) {
            $bin = "$root/target/$profile/shoppingfeed-sim";
            if (is_file($bin) && is_executable($bin)) {
                return $bin;
            }
        }
        throw new \RuntimeException("shoppingfeed-sim not found: set SFSYNC_SIM_BIN or build it (./dev build, or cargo build -p shoppingfeed-sim --bin shoppingfeed-sim)");
    }

    public function url(): string
    {
        return $this->url;
    }

    /**
     * A control (or any) request; returns the decoded JSON answer. Throws on a 4xx/5xx answer.
     * @param mixed $body
     * @return mixed
     */
    public function control(string $method, string $path, $body = null)
    {
        $ch = curl_init($this->url . $path);
        curl_setopt_array($ch, [
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_HTTPHEADER => ['Content-Type: application/json'],
            CURLOPT_TIMEOUT => 10,
        ]);
        if ($body !== null) {
            curl_setopt($ch, CURLOPT_POSTFIELDS, json_encode($body));
        }
        $raw = curl_exec($ch);
        $status = (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        $error = curl_error($ch);
        curl_close($ch);
        if ($raw === false) {
            throw new \RuntimeException("simulator $method $path: $error");
        }
        if ($status >= 400) {
            throw new \RuntimeException("simulator $method $path: HTTP $status $raw");
        }
        return $raw === '' ? null : json_decode($raw, true);
    }

    public function reset(): void
    {
        $this->control('POST', '/_sim/reset');
    }

    /**
     * Seeds orders known to the simulator, in store 1276.
     * @param array<int, string> $orders Shopping Feed id => marketplace reference
     */
    public function seedOrders(array $orders, string $channel = 'amazon'): void
    {
        $list = [];
        foreach ($orders as $id => $ref) {
            $list[] = ['id' => $id, 'reference' => $ref, 'channelName' => $channel, 'storeId' => self::STORE];
        }
        $this->control('POST', '/_sim/orders', ['orders' => $list]);
    }

    /** An outcome rule for one order (`times` null: forever); returns the rule id. */
    public function outcome(int $orderId, string $outcome, ?string $message = null, ?int $times = null): int
    {
        $rule = ['order_id' => $orderId, 'outcome' => $outcome];
        if ($message !== null) {
            $rule['message'] = $message;
        }
        if ($times !== null) {
            $rule['times'] = $times;
        }
        return (int) $this->control('POST', '/_sim/outcomes', $rule)['id'];
    }

    /**
     * A fault rule: selector keys (`route`, `operation`, `order_id`, `nth`, `first`) plus the fault.
     * @param array<string, mixed> $selector
     * @param array<string, mixed> $fault
     */
    public function fault(array $selector, array $fault): int
    {
        return (int) $this->control('POST', '/_sim/faults', $selector + ['fault' => $fault])['id'];
    }

    /** @param array<string, mixed> $settings */
    public function settings(array $settings): void
    {
        $this->control('POST', '/_sim/settings', $settings);
    }

    /**
     * The `/v1` requests received, oldest first (optionally one route class: order_op, ticket_list...).
     * @return list<array<string, mixed>>
     */
    public function requests(?string $route = null): array
    {
        return $this->control('GET', '/_sim/requests' . ($route ? '?route=' . rawurlencode($route) : ''))['requests'];
    }

    /** @return list<array<string, mixed>> the operation POSTs */
    public function posts(): array
    {
        return array_values(array_filter($this->requests('order_op'), static fn (array $r): bool => $r['method'] === 'POST'));
    }

    public function stop(): void
    {
        foreach ($this->pipes as $p) {
            if (is_resource($p)) {
                fclose($p);
            }
        }
        $this->pipes = [];
        if (is_resource($this->proc)) {
            proc_terminate($this->proc, 15);
            proc_close($this->proc);
        }
        $this->proc = null;
    }

    public function __destruct()
    {
        $this->stop();
    }
}
