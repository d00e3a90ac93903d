<?php
/**
 * Shared helpers of the reliability suite (reliability/README.md): shop databases, the simulator
 * process and its control API, child PHP processes, the exact audit.
 *
 * Environment (./dev soak sets it):
 *   SFSYNC_SOAK_SERVER  mysql://user:pass@host:port of a MariaDB the suite may restart and KILL
 *   SFSYNC_SOAK_DB_CTL  command that takes start|stop for that MariaDB
 *   SFSYNC_SOAK_TOKEN   the API token (distinctive: scenario 7 greps every output for it)
 *   SFSYNC_SIM_BIN, SFSYNC_EXT_SO
 */

declare(strict_types=1);

const STORE_A = 1276;
const STORE_B = 1277;
const S_SHIPPED = 4;
const S_DELIVERED = 5;
const S_CANCELED = 6;
const S_REFUNDED = 7;
const S_PAYMENT = 2;
/** What the simulator must show for an order whose shop state is this. */
const EXPECTED = [S_SHIPPED => 'shipped', S_DELIVERED => 'shipped', S_CANCELED => 'cancelled', S_REFUNDED => 'refunded'];

require_once dirname(__DIR__) . '/benches/table.php';

function root(): string { return dirname(__DIR__); }
function env(string $k): string {
    $v = getenv($k);
    if ($v === false || $v === '') { throw new RuntimeException("$k is not set: run ./dev soak"); }
    return $v;
}
function token(): string { return env('SFSYNC_SOAK_TOKEN'); }
function db_password(): string { return urldecode((string) (parse_url(env('SFSYNC_SOAK_SERVER'))['pass'] ?? '')); }
function db_url(string $db): string { return rtrim(env('SFSYNC_SOAK_SERVER'), '/') . '/' . $db; }
function logs_dir(): string {
    $d = root() . '/.dev/soak/logs';
    if (!is_dir($d)) { mkdir($d, 0777, true); }
    return $d;
}

function out(string $line = ''): void
{
    echo $line, "\n";
    flush();
    file_put_contents(logs_dir() . '/orchestrator.log', $line . "\n", FILE_APPEND);
}

/** Secrets never go to any output: every message the suite prints passes through this. */
function redact(string $s): string { return str_replace([token(), db_password()], ['<token>', '<password>'], $s); }

function pdo(?string $db = null, int $timeout = 5): PDO {
    $u = parse_url(env('SFSYNC_SOAK_SERVER'));
    $dsn = sprintf('mysql:host=%s;port=%d;charset=utf8mb4', $u['host'], $u['port'] ?? 3306) . ($db ? ";dbname=$db" : '');
    return new PDO($dsn, urldecode($u['user'] ?? 'root'), urldecode($u['pass'] ?? ''), [
        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
        PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
        PDO::MYSQL_ATTR_MULTI_STATEMENTS => true,
        PDO::ATTR_TIMEOUT => $timeout,
    ]);
}

/** Retries a PDO connection while the server restarts. */
function pdo_wait(?string $db = null, float $seconds = 30): PDO {
    $end = microtime(true) + $seconds;
    for (;;) {
        try { return pdo($db); } catch (PDOException $e) {
            if (microtime(true) > $end) { throw $e; }
            usleep(200000);
        }
    }
}

/**
 * A fresh shop database. `$shops`: id_shop => [orders, first id_order, Shopping Feed id offset, store].
 * Order i of a shop: id_order = first + k, Shopping Feed id = offset + id_order, state from `$state`
 * (callable id_order => state; default 60% shipped, 20% canceled, 20% refunded), a tracking number.
 */
function create_db(string $name, array $shops, ?callable $state = null): PDO {
    $pdo = pdo();
    $pdo->exec("DROP DATABASE IF EXISTS `$name`; CREATE DATABASE `$name` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci; USE `$name`");
    foreach (['tests/fixtures/prestashop_schema.sql', 'tests/fixtures/prestashop_seed.sql', 'php/sql/install.sql'] as $f) {
        $pdo->exec(str_replace('PREFIX_', 'ps_', (string) file_get_contents(root() . "/$f")));
    }
    $pdo = pdo($name);
    $conf = $pdo->prepare('INSERT INTO ps_configuration (id_shop_group, id_shop, name, value, date_add, date_upd) VALUES (?, ?, ?, ?, NOW(), NOW())');
    foreach ([
        'SHOPPINGFEED_ORDER_SYNC_ENABLED' => '1',
        'SHOPPINGFEED_SHIPPED_ORDERS' => json_encode([(string) S_SHIPPED, (string) S_DELIVERED]),
        'SHOPPINGFEED_CANCELLED_ORDERS' => json_encode([(string) S_CANCELED]),
        'SHOPPINGFEED_REFUNDED_ORDERS' => json_encode([(string) S_REFUNDED]),
        'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '0',
        'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '100',
        'SHOPPING_FLUX_STATUS_SHIPPED' => '',
        'SHOPPING_FLUX_STATUS_CANCELED' => '',
        'PS_MULTISHOP_FEATURE_ACTIVE' => count($shops) > 1 ? '1' : '0',
    ] as $k => $v) { $conf->execute([null, null, $k, $v]); }
    $pdo->exec("INSERT INTO ps_module (id_module, name, active, version) VALUES (1, 'shoppingfluxexport', 1, '4.6.2')");
    $pdo->exec("INSERT INTO ps_carrier (id_carrier, id_reference, name, url, active) VALUES (1, 1, 'Colissimo', 'https://www.laposte.fr/suivi?code=@', 1)");
    $ins = $pdo->prepare('INSERT INTO ps_orders (id_order, reference, id_shop_group, id_shop, id_carrier, id_lang, id_customer, id_cart, id_currency,
        id_address_delivery, id_address_invoice, current_state, payment, module, invoice_date, delivery_date, valid, date_add, date_upd)
        VALUES (?, ?, 1, ?, 1, 1, 1, 1, 1, 1, 1, ?, \'amazon\', \'sfpayment\', NOW(), NOW(), 1, NOW(), NOW())');
    $link = $pdo->prepare('INSERT INTO ps_shoppingfeed_order (id_internal_shoppingfeed, id_order_marketplace, name_marketplace, id_order, date_add, date_upd)
        VALUES (?, ?, \'amazon\', ?, NOW(), NOW())');
    $track = $pdo->prepare('INSERT INTO ps_order_carrier (id_order, id_carrier, tracking_number, date_add) VALUES (?, 1, ?, NOW())');
    $state ??= static fn (int $id): int => [S_SHIPPED, S_SHIPPED, S_SHIPPED, S_CANCELED, S_REFUNDED][$id % 5];
    foreach ($shops as $idShop => [$n, $first, $offset, $store]) {
        if ($idShop > 1) {
            $pdo->exec("INSERT INTO ps_shop (id_shop, id_shop_group, name, color, id_category, theme_name, active, deleted) VALUES ($idShop, 1, 'Shop $idShop', '', 2, 'classic', 1, 0)");
        }
        $pdo->exec("INSERT INTO ps_module_shop (id_module, id_shop) VALUES (1, $idShop)");
        // As PrestaShop keeps them: shop rows count only with multistore on and several shops.
        $level = count($shops) > 1 ? $idShop : null;
        $conf->execute([null, $level, 'SHOPPINGFEED_AUTH_TOKEN', token()]);
        $conf->execute([null, $level, 'SHOPPINGFEED_STORE_ID', (string) $store]);
        $pdo->beginTransaction();
        for ($k = 0; $k < $n; $k++) {
            $id = $first + $k;
            $ins->execute([$id, "R$id", $idShop, $state($id)]);
            $link->execute([(string) ($offset + $id), 'REF-' . ($offset + $id), $id]);
            $track->execute([$id, sprintf('6A%011d', $offset + $id)]);
        }
        $pdo->commit();
    }
    return $pdo;
}

/** One due SYNC_STATUS task per order of the database (the queue before a CRON send). */
function queue_all(PDO $pdo): int {
    $pdo->exec('DELETE FROM ps_shoppingfeed_task_order');
    $pdo->exec('DELETE FROM ps_shoppingfeed_sync_notice');
    return $pdo->exec("INSERT INTO ps_shoppingfeed_task_order (action, id_order, update_at, date_add, date_upd)
        SELECT 'SYNC_STATUS', id_order, NOW() - INTERVAL 1 MINUTE, NOW(), NOW() FROM ps_orders");
}

function queue_count(PDO $pdo): int { return (int) $pdo->query('SELECT COUNT(*) FROM ps_shoppingfeed_task_order')->fetchColumn(); }

/** The simulator process with the suite's token on both stores, or on a given port. */
final class Sim
{
    /** @var resource */
    private $proc;
    public string $url;
    public int $port;

    public function __construct(int $port = 0, string $name = 'sim')
    {
        $bin = env('SFSYNC_SIM_BIN');
        $err = logs_dir() . "/$name.stderr";
        $this->proc = proc_open([$bin, '--listen', "127.0.0.1:$port", '--token', token(), '--store', (string) STORE_A, '--store', (string) STORE_B],
            [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['file', $err, 'a']], $pipes);
        $addr = trim((string) fgets($pipes[1]));
        if (!preg_match('/^[\d.]+:(\d+)$/', $addr, $m)) { throw new RuntimeException("the simulator printed no address ('$addr')"); }
        $this->port = (int) $m[1];
        $this->url = "http://$addr";
    }

    public function pid(): int { return (int) proc_get_status($this->proc)['pid']; }

    /** Down at once, as a crashed server: nothing in flight is processed or answered. */
    public function crash(): void
    {
        if (is_resource($this->proc)) { posix_kill($this->pid(), 9); proc_close($this->proc); }
    }

    public function stop(): void
    {
        if (is_resource($this->proc)) { proc_terminate($this->proc, 15); proc_close($this->proc); }
    }

    /** @return mixed */
    public function call(string $method, string $path, $body = null, int $timeout = 30)
    {
        $ch = curl_init($this->url . $path);
        curl_setopt_array($ch, [CURLOPT_CUSTOMREQUEST => $method, CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => $timeout,
            CURLOPT_HTTPHEADER => ['Content-Type: application/json'], CURLOPT_POSTFIELDS => $body === null ? '' : json_encode($body)]);
        $raw = curl_exec($ch);
        $code = (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        $error = curl_error($ch);
        curl_close($ch);
        if ($raw === false || $code >= 400) { throw new RuntimeException("simulator $method $path: $code $error " . substr((string) $raw, 0, 300)); }
        return $raw === '' ? null : json_decode((string) $raw, true);
    }

    /** Back to start-up state; orders seeded per store range; tickets final at their first poll. */
    public function prepare(array $ranges, array $settings = []): void
    {
        $this->call('POST', '/_sim/reset');
        $this->call('POST', '/_sim/settings', $settings + ['lifecycle' => ['mode' => 'polls', 'polls_per_step' => 0]]);
        foreach ($ranges as [$from, $to, $store]) {
            $this->call('POST', '/_sim/orders', ['range' => ['from' => $from, 'to' => $to, 'channelName' => 'amazon', 'referencePrefix' => 'REF-', 'storeId' => $store]]);
        }
    }

    public function fault(array $rule): int { return (int) $this->call('POST', '/_sim/faults', $rule)['id']; }
    public function clearFaults(): void { $this->call('DELETE', '/_sim/faults'); }

    /** @return list<array<string, mixed>> */
    public function requests(int $since = 0): array { return $this->call('GET', '/_sim/requests' . ($since ? "?since=$since" : ''))['requests']; }

    /** @return list<array<string, mixed>> */
    public function tickets(): array { return $this->call('GET', '/_sim/tickets')['tickets']; }

    /** @return array<int, array<string, mixed>> Shopping Feed id => order */
    public function orders(): array
    {
        $out = [];
        foreach ($this->call('GET', '/_sim/orders')['orders'] as $o) { $out[(int) $o['id']] = $o; }
        return $out;
    }

    /** Order POSTs in flight (no answer yet). */
    public function postsInFlight(string $route = 'order_op'): int
    {
        $n = 0;
        foreach ($this->call('GET', '/_sim/requests?route=' . $route)['requests'] as $r) { $n += $r['status'] === null ? 1 : 0; }
        return $n;
    }
}

/**
 * The exact audit of a scenario: every order of the databases against the simulator.
 *   status_mismatch  orders whose simulator status is not what their shop state says (lost)
 *   duplicates       tickets beyond the expected ones (an order sent twice); `$expectedSends`
 *                    gives the tickets an order must have (1 by default; +1 per injected failure)
 *   orders_dup       orders sent more often than expected
 *   stuck            tasks still in the queues
 * `$dbs`: database name => Shopping Feed id offset of its orders.
 */
function audit(Sim $sim, array $dbs, array $expectedSends = []): array
{
    $tickets = [];
    $failedSeen = [];
    foreach ($sim->tickets() as $t) {
        $id = (int) ($t['payload']['id'] ?? 0);
        $tickets[$id] = ($tickets[$id] ?? 0) + 1;
        // A failure the shop saw (its batch was polled) must reach the merchant's e-mail.
        if (in_array($t['state'], ['failed', 'canceled'], true) && ($t['polls'] ?? 0) > 0) { $failedSeen[$id] = true; }
    }
    $simOrders = $sim->orders();
    $a = ['orders' => 0, 'status_mismatch' => 0, 'duplicates' => 0, 'orders_dup' => 0, 'never_sent' => 0, 'stuck' => 0, 'examples' => [], 'failed_seen' => $failedSeen];
    foreach ($dbs as $db => $offset) {
        $pdo = pdo_wait($db);
        $a['stuck'] += queue_count($pdo);
        foreach ($pdo->query('SELECT id_order, current_state FROM ps_orders') as $o) {
            $sf = $offset + (int) $o['id_order'];
            $a['orders']++;
            $want = EXPECTED[(int) $o['current_state']] ?? null;
            $got = $simOrders[$sf]['status'] ?? null;
            $sent = $tickets[$sf] ?? 0;
            $exp = $expectedSends[$sf] ?? 1;
            if ($sent === 0) { $a['never_sent']++; }
            if ($want !== null && $got !== $want) {
                $a['status_mismatch']++;
                if (count($a['examples']) < 5) { $a['examples'][] = "$db order {$o['id_order']} (sf $sf): shop state {$o['current_state']} wants $want, simulator has " . var_export($got, true) . ", $sent tickets"; }
            }
            if ($sent > $exp) { $a['duplicates'] += $sent - $exp; $a['orders_dup']++; }
        }
    }
    return $a;
}

/** A structural check of a queue: what no sequence of calls may leave behind. */
function queue_integrity(PDO $pdo): array
{
    $bad = [];
    $q = static fn (string $sql): int => (int) $pdo->query($sql)->fetchColumn();
    $checks = [
        'two pending rows for one order' => "SELECT COUNT(*) FROM (SELECT id_order FROM ps_shoppingfeed_task_order WHERE action = 'SYNC_STATUS' GROUP BY id_order HAVING COUNT(*) > 1) d",
        'task of a missing order' => 'SELECT COUNT(*) FROM ps_shoppingfeed_task_order t LEFT JOIN ps_orders o ON o.id_order = t.id_order WHERE o.id_order IS NULL',
        'check task without batch id' => "SELECT COUNT(*) FROM ps_shoppingfeed_task_order WHERE action = 'CHECK_TICKET_SYNC_STATUS' AND (batch_id IS NULL OR batch_id = '')",
        'half a lease' => 'SELECT COUNT(*) FROM ps_shoppingfeed_task_order WHERE (lease_owner IS NULL) <> (lease_until IS NULL)',
        'pending task without due date' => "SELECT COUNT(*) FROM ps_shoppingfeed_task_order WHERE action = 'SYNC_STATUS' AND update_at IS NULL AND gave_up_at IS NULL",
        'notice of a missing order' => 'SELECT COUNT(*) FROM ps_shoppingfeed_sync_notice n LEFT JOIN ps_orders o ON o.id_order = n.id_order WHERE o.id_order IS NULL',
    ];
    foreach ($checks as $what => $sql) {
        $n = $q($sql);
        if ($n > 0) { $bad[] = "$n $what"; }
    }
    return $bad;
}

/** A child PHP process with the extension loaded: `php child.php MODE` with a JSON job in its environment. */
final class Child
{
    /** @var resource */
    private $proc;
    /** @var resource */
    private $stdout;
    public string $log;
    private string $buf = '';
    public ?int $exit = null;
    public ?int $signal = null;

    public function __construct(string $mode, array $job, string $name, array $phpArgs = [])
    {
        $this->log = logs_dir() . "/$name.log";
        $env = getenv() + ['SOAK_JOB' => json_encode($job)];
        $env['SOAK_JOB'] = json_encode($job);
        $this->proc = proc_open(array_merge([PHP_BINARY, '-d', 'extension=' . env('SFSYNC_EXT_SO'), '-d', 'memory_limit=512M'], $phpArgs, [__DIR__ . '/child.php', $mode]),
            [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['file', $this->log, 'a']], $pipes, null, $env);
        $this->stdout = $pipes[1];
        stream_set_blocking($this->stdout, false);
    }

    public function pid(): int { return (int) proc_get_status($this->proc)['pid']; }

    /** What the child printed so far (also appended to its log). */
    public function read(): string
    {
        $chunk = is_resource($this->stdout) ? (string) stream_get_contents($this->stdout) : "";
        if ($chunk !== '') { file_put_contents($this->log, $chunk, FILE_APPEND); $this->buf .= $chunk; }
        return $this->buf;
    }

    public function running(): bool
    {
        if ($this->exit !== null || $this->signal !== null) { return false; }
        $s = proc_get_status($this->proc);
        if ($s['running']) { return true; }
        $this->read();
        if ($s['signaled']) { $this->signal = $s['termsig']; } else { $this->exit = $s['exitcode']; }
        return false;
    }

    public function kill(int $sig = 9): void { posix_kill($this->pid(), $sig); }

    /** Waits for the end (killing it after `$timeout` s); returns the JSON of its last RESULT line. */
    public function wait(float $timeout = 120): ?array
    {
        $end = microtime(true) + $timeout;
        while ($this->running()) {
            $this->read();
            if (microtime(true) > $end) { $this->kill(9); usleep(100000); $this->running(); break; }
            usleep(20000);
        }
        $this->read();
        return $this->result();
    }

    public function result(): ?array
    {
        $r = null;
        foreach (explode("\n", $this->buf) as $line) {
            if (str_starts_with($line, 'RESULT ')) { $r = json_decode(substr($line, 7), true); }
        }
        return $r;
    }

    /** Waits until the child printed `$marker` (true) or ended / timed out (false). */
    public function waitFor(string $marker, float $timeout = 30): bool
    {
        $end = microtime(true) + $timeout;
        while (microtime(true) < $end) {
            if (str_contains($this->read(), $marker)) { return true; }
            if (!$this->running()) { return str_contains($this->read(), $marker); }
            usleep(2000);
        }
        return false;
    }

    public function close(): void
    {
        if (is_resource($this->stdout)) { fclose($this->stdout); }
        if (is_resource($this->proc)) { proc_close($this->proc); }
    }
}

/** Restarts (or stops / starts) the suite's MariaDB with ./dev soak db. */
function db_ctl(string $verb): void
{
    $out = [];
    exec(env('SFSYNC_SOAK_DB_CTL') . ' ' . escapeshellarg($verb) . ' 2>&1', $out, $rc);
    file_put_contents(logs_dir() . '/db_ctl.log', implode("\n", $out) . "\n", FILE_APPEND);
    if ($rc !== 0) { throw new RuntimeException("db $verb failed: " . redact(implode(' ', $out))); }
}

