<?php
/**
 * Shared helpers of the benchmarks: the bench database (PrestaShop fixtures + module tables + N
 * Shopping Feed orders), the API simulator process, MariaDB status counters, statistics.
 *
 * Environment (./dev bench sets them):
 *   SFSYNC_BENCH_SERVER  mysql://user:pass@host:port   (a MariaDB the benchmark may use alone)
 *   SFSYNC_SIM_BIN       path of shoppingfeed-sim
 *   SFSYNC_EXT_SO        path of libshoppingfeed_sync.so (for the child processes)
 */

declare(strict_types=1);

require_once __DIR__ . '/table.php';

const BENCH_STORE = 1276;
const BENCH_TOKEN = 'bench-token-0123456789abcdef';
/** Order states of the bench shop: shipped 4, canceled 6, refunded 7 (the fixtures' PS_OS_*). */
const STATE_SHIPPED = 4;
const STATE_CANCELED = 6;
const STATE_REFUNDED = 7;

function bench_root(): string { return dirname(__DIR__); }

function bench_server_url(): string {
    return getenv('SFSYNC_BENCH_SERVER') ?: 'mysql://sfsync:sfsync@127.0.0.1:23306';
}

/** mysql://user:pass@host:port/db for the extension. */
function bench_db_url(string $db): string { return rtrim(bench_server_url(), '/') . '/' . $db; }

function bench_pdo(?string $db = null): PDO {
    $u = parse_url(bench_server_url());
    $dsn = sprintf('mysql:host=%s;port=%d;charset=utf8mb4', $u['host'], $u['port'] ?? 3306) . ($db ? ";dbname=$db" : '');
    return new PDO($dsn, urldecode($u['user'] ?? 'root'), urldecode($u['pass'] ?? ''), [
        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
        PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
        PDO::MYSQL_ATTR_MULTI_STATEMENTS => true,
    ]);
}

/**
 * A fresh database `$name`: fixtures, module tables, the shop configured for sync, one carrier, and
 * `$n` Shopping Feed orders (ids 1..n) whose current state is 60% shipped, 20% canceled, 20% refunded.
 * Order i is Shopping Feed order i (`id_internal_shoppingfeed`), reference REF-i, channel amazon.
 */
function bench_create_db(string $name, int $n): PDO {
    $root = bench_root();
    $pdo = bench_pdo();
    $pdo->exec("DROP DATABASE IF EXISTS `$name`; CREATE DATABASE `$name` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci; USE `$name`");
    foreach (['tests/fixtures/prestashop_schema.sql', 'tests/fixtures/prestashop_seed.sql', 'php/sql/install.sql'] as $f) {
        $pdo->exec(str_replace('PREFIX_', 'ps_', (string) file_get_contents("$root/$f")));
    }
    $pdo = bench_pdo($name); // a clean connection (multi statements done)
    $conf = $pdo->prepare('INSERT INTO ps_configuration (id_shop_group, id_shop, name, value, date_add, date_upd) VALUES (?, ?, ?, ?, NOW(), NOW())');
    // Some keys at shop level, some global, one overridden at group level: the fallback is exercised.
    foreach ([
        [null, null, 'SHOPPINGFEED_ORDER_SYNC_ENABLED', '1'],
        [null, 1, 'SHOPPINGFEED_SHIPPED_ORDERS', '["' . STATE_SHIPPED . '"]'],
        [null, null, 'SHOPPINGFEED_SHIPPED_ORDERS', '[]'],
        [null, null, 'SHOPPINGFEED_CANCELLED_ORDERS', '["' . STATE_CANCELED . '"]'],
        [1, null, 'SHOPPINGFEED_REFUNDED_ORDERS', '["' . STATE_REFUNDED . '"]'],
        [null, null, 'SHOPPINGFEED_REFUNDED_ORDERS', '[]'],
        [null, null, 'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT', '5'],
        [null, null, 'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS', '100'],
        [null, 1, 'SHOPPINGFEED_AUTH_TOKEN', BENCH_TOKEN],
        [null, 1, 'SHOPPINGFEED_STORE_ID', (string) BENCH_STORE],
        [null, null, 'SHOPPING_FLUX_STATUS_SHIPPED', ''],
        [null, null, 'SHOPPING_FLUX_STATUS_CANCELED', ''],
        // Shop and group rows count only with multistore on (and more than one shop, see below).
        [null, null, 'PS_MULTISHOP_FEATURE_ACTIVE', '1'],
    ] as $row) { $conf->execute($row); }
    // A second shop, inactive: multistore is on as PrestaShop sees it, the CRON serves shop 1 only.
    $pdo->exec("INSERT INTO ps_shop (id_shop, id_shop_group, name, color, id_category, theme_name, active, deleted) VALUES (2, 1, 'Inactive', '', 2, 'classic', 0, 0)");
    $pdo->exec("INSERT INTO ps_module (id_module, name, active, version) VALUES (1, 'shoppingfluxexport', 1, '4.6.2')");
    $pdo->exec('INSERT INTO ps_module_shop (id_module, id_shop) VALUES (1, 1)');
    $pdo->exec("INSERT INTO ps_carrier (id_carrier, id_reference, name, url, active) VALUES (1, 1, 'Colissimo', 'https://www.laposte.fr/outils/suivre-vos-envois?code=@', 1)");
    if ($n > 0) {
        $states = sprintf('CASE WHEN seq %% 10 < 6 THEN %d WHEN seq %% 10 < 8 THEN %d ELSE %d END', STATE_SHIPPED, STATE_CANCELED, STATE_REFUNDED);
        $pdo->exec("INSERT INTO ps_orders (id_order, reference, id_carrier, id_lang, id_customer, id_cart, id_currency, id_address_delivery,
                id_address_invoice, current_state, payment, module, invoice_date, delivery_date, valid, date_add, date_upd)
            SELECT seq, CONCAT('B', seq), 1, 1, 1, 1, 1, 1, 1, $states, 'amazon', 'sfpayment', NOW(), NOW(), 1, NOW(), NOW() FROM seq_1_to_$n");
        $pdo->exec("INSERT INTO ps_shoppingfeed_order (id_internal_shoppingfeed, id_order_marketplace, name_marketplace, id_order, date_add, date_upd)
            SELECT seq, CONCAT('REF-', seq), 'amazon', seq, NOW(), NOW() FROM seq_1_to_$n");
        $pdo->exec("INSERT INTO ps_order_carrier (id_order, id_carrier, tracking_number, date_add)
            SELECT seq, 1, CONCAT('6A', LPAD(seq, 11, '0')), NOW() FROM seq_1_to_$n WHERE seq % 10 < 6");
    }
    return $pdo;
}

/** Puts back one due SYNC_STATUS task per order (1..n), the queue state before a CRON send. */
function bench_reset_tasks(PDO $pdo, int $n): void {
    $pdo->exec('TRUNCATE ps_shoppingfeed_task_order');
    $pdo->exec('TRUNCATE ps_shoppingfeed_processlogger');
    $pdo->exec('TRUNCATE ps_shoppingfeed_processmonitor');
    // date_upd increasing with the order id (the reference pages by date_upd).
    $pdo->exec("INSERT INTO ps_shoppingfeed_task_order (action, id_order, update_at, date_add, date_upd)
        SELECT 'SYNC_STATUS', seq, NOW() - INTERVAL 1 MINUTE, NOW() - INTERVAL 2 DAY, NOW() - INTERVAL 2 DAY + INTERVAL seq SECOND
        FROM seq_1_to_$n");
}

/** MariaDB global counters; the benchmark runs on a MariaDB server of its own, so deltas are the run's. */
const STATUS_KEYS = ['Questions', 'Com_stmt_prepare', 'Com_stmt_execute', 'Com_stmt_close', 'Com_admin_commands', 'Connections', 'Com_select',
    'Com_insert', 'Com_update', 'Com_delete', 'Com_begin', 'Com_commit'];

function db_status(PDO $pdo): array {
    $rows = $pdo->query("SHOW GLOBAL STATUS WHERE Variable_name IN ('" . implode("','", STATUS_KEYS) . "')")->fetchAll(PDO::FETCH_KEY_PAIR);
    return array_map('intval', $rows);
}

/**
 * Round trips between a delta of counters: every client command that waits for an answer.
 * Questions counts COM_QUERY and COM_STMT_EXECUTE; prepares and admin commands (COM_PING,
 * COM_RESET_CONNECTION) are counted apart; COM_STMT_CLOSE has no answer. `$self` is the number of
 * SHOW STATUS queries of the measurement itself inside the delta.
 */
function db_delta(array $before, array $after, int $self = 1): array {
    $d = [];
    foreach (STATUS_KEYS as $k) { $d[$k] = ($after[$k] ?? 0) - ($before[$k] ?? 0); }
    $d['Questions'] -= $self;
    $d['round_trips'] = $d['Questions'] + $d['Com_stmt_prepare'] + $d['Com_admin_commands'];
    return $d;
}

/** Starts the simulator; returns [process, base url]. */
function sim_start(int $latencyMs): array {
    $bin = getenv('SFSYNC_SIM_BIN') ?: bench_root() . '/target/release/shoppingfeed-sim';
    $proc = proc_open([$bin, '--listen', '127.0.0.1:0', '--token', BENCH_TOKEN, '--store', (string) BENCH_STORE, '--latency-ms', (string) $latencyMs],
        [1 => ['pipe', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
    if (!is_resource($proc)) { throw new RuntimeException("cannot start $bin"); }
    $addr = trim((string) fgets($pipes[1]));
    if ($addr === '') { throw new RuntimeException("$bin printed no address"); }
    return [$proc, "http://$addr"];
}

function sim_stop($proc): void { proc_terminate($proc); proc_close($proc); }

function sim_call(string $base, string $method, string $path, $body = null): array {
    $ch = curl_init($base . $path);
    curl_setopt_array($ch, [CURLOPT_CUSTOMREQUEST => $method, CURLOPT_RETURNTRANSFER => true, CURLOPT_HTTPHEADER => ['Content-Type: application/json'],
        CURLOPT_POSTFIELDS => $body === null ? '' : json_encode($body)]);
    $out = curl_exec($ch);
    $code = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
    curl_close($ch);
    if ($out === false || $code >= 400) { throw new RuntimeException("simulator $method $path: $code $out"); }
    return json_decode((string) $out, true) ?? [];
}

/** Back to a clean simulator with orders 1..n, tickets terminal at their first poll, 50 ms per /v1 request. */
function sim_prepare(string $base, int $n, int $latencyMs): void {
    sim_call($base, 'POST', '/_sim/reset');
    sim_call($base, 'POST', '/_sim/settings', ['lifecycle' => ['mode' => 'polls', 'polls_per_step' => 0], 'log_capacity' => 1000,
        'latency' => $latencyMs > 0 ? ['fixed' => ['ms' => $latencyMs]] : 'none']);
    if ($n > 0) {
        sim_call($base, 'POST', '/_sim/orders', ['range' => ['from' => 1, 'to' => $n, 'channelName' => 'amazon', 'referencePrefix' => 'REF-', 'storeId' => BENCH_STORE]]);
    }
}

function sim_stats(string $base): array { return sim_call($base, 'GET', '/_sim/stats'); }

function sim_delta(array $before, array $after): array {
    $routes = [];
    foreach (($after['per_route'] ?? []) as $r => $c) { $routes[$r] = $c - ($before['per_route'][$r] ?? 0); }
    return ['requests' => $after['requests_total'] - $before['requests_total'], 'per_route' => array_filter($routes)];
}

/** Peak resident set of this process (kB): VmHWM, the high-water mark of RSS. */
function peak_rss_kb(): int {
    $status = (string) @file_get_contents('/proc/self/status');
    return preg_match('/^VmHWM:\s+(\d+)\s+kB/m', $status, $m) ? (int) $m[1] : (int) (getrusage()['ru_maxrss'] ?? 0);
}

function percentile(array $sorted, float $p): float {
    $n = count($sorted);
    if ($n === 0) { return NAN; }
    $i = (int) ceil($p / 100 * $n) - 1;
    return $sorted[max(0, min($n - 1, $i))];
}

function out(string $line = ''): void { echo $line, "\n"; @ob_flush(); flush(); }

