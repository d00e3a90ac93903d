<?php
/**
 * Benchmark (a): the hook. 10,000 order status changes through OrderSync::onOrderStatusUpdate
 * against the plain-PHP PDO baseline (baseline/HookBaseline.php), in the same warm PHP process,
 * on the same database, in alternating blocks of 250 calls.
 *
 *   php -d extension=target/release/libshoppingfeed_sync.so benches/hook.php [--calls 10000] [--db-delay-us N]
 *
 * --db-delay-us N: the extension and the baseline reach the database through latency_proxy.php,
 * which delays every packet by N µs each way (a database across a network); the results are
 * printed as RESULT hook_net, with the round trip measured through the proxy.
 *
 * Each implementation gets 2,000 Shopping Feed orders of its own (same data: ids 1..2000 for the
 * extension, 2001..4000 for the baseline, 4001..6000 for the extension in bulk mode (below), states
 * by id as in lib.php) and 5 changes per order, in alternating blocks of 500 calls: the
 * first queues a task (insert), the next four re-arm it (update). Before each block the orders'
 * `current_state` is set to the new state (untimed), as PrestaShop does before the hook fires.
 * Only the hook call is timed (hrtime). Database round trips come from MariaDB's global counters
 * around each block (the benchmark's server serves nothing else).
 */

declare(strict_types=1);

use Shoppingfeed\Sync\OrderSync;

require __DIR__ . '/lib.php';
require __DIR__ . '/baseline/HookBaseline.php';

$calls = 10000;
$dbDelayUs = null;
foreach ($argv as $i => $a) {
    if ($a === '--calls') { $calls = (int) $argv[$i + 1]; }
    if ($a === '--db-delay-us') { $dbDelayUs = (int) $argv[$i + 1]; }
}
$perImpl = 2000;
$block = 500; // the bulk mode's request: 500 status changes (a bulk update in the back office)
$warmup = 200;
$dbName = 'sfsync_bench_hook';

if (!class_exists(OrderSync::class)) { fwrite(STDERR, "the extension is not loaded (php -d extension=...)\n"); exit(1); }

out("## (a) hook: $calls status changes per implementation, blocks of $block, alternating");
$t = microtime(true);
$pdo = bench_create_db($dbName, 3 * $perImpl + 3 * $warmup);
out(sprintf('   database %s ready (%d orders) in %.1f s', $dbName, 3 * $perImpl + 3 * $warmup, microtime(true) - $t));

if ($dbDelayUs !== null) {
    // Setup and counters ($pdo) stay direct; everything measured goes through the proxy.
    $server = parse_url(bench_server_url());
    $proxyPort = (int) (getenv('SFSYNC_BENCH_PROXY_PORT') ?: 23399);
    $proxy = proc_open([PHP_BINARY, __DIR__ . '/latency_proxy.php', (string) $proxyPort, (string) ($server['port'] ?? 3306), (string) $dbDelayUs],
        [1 => ['pipe', 'w']], $proxyPipes);
    if (trim((string) fgets($proxyPipes[1])) !== 'ready') { fwrite(STDERR, "latency proxy did not start\n"); exit(1); }
    register_shutdown_function(static function () use ($proxy): void { proc_terminate($proxy); proc_close($proxy); });
    putenv('SFSYNC_BENCH_SERVER=' . sprintf('mysql://%s:%s@127.0.0.1:%d', $server['user'] ?? 'root', $server['pass'] ?? '', $proxyPort));
    out("   through latency_proxy.php on port $proxyPort: $dbDelayUs µs each way");
}
OrderSync::configure(['database_url' => bench_db_url($dbName)]);
$baseline = new HookBaseline(bench_pdo($dbName));
// A queued status writes its log rows with the task (one round trip, the stored procedure); rows of
// the full path (the first change of a shop in a process, errors) wait for the end of the PHP
// request, or 100 rows. `extension` is one status change per request, the usual back-office case:
// the call plus the end-of-request write (OrderSync::flushLogs(), what the request shutdown does)
// are timed together. `extension-bulk` is 500 changes in one request (a bulk status update): the
// end-of-request write is timed with the request's last call. The baseline writes its two rows in
// every call, as the reference's hook does (ProcessLoggerHandler::closeLogger()).
$flush = method_exists(OrderSync::class, 'flushLogs');
$impls = [
    'extension' => ['base' => 0, 'call' => $flush
        ? static function (int $o, int $s): bool { $ok = OrderSync::onOrderStatusUpdate($o, $s); OrderSync::flushLogs(); return $ok; }
        : static fn (int $o, int $s): bool => OrderSync::onOrderStatusUpdate($o, $s)],
    'php-pdo' => ['base' => $perImpl, 'call' => static fn (int $o, int $s): bool => $baseline->onOrderStatusUpdate($o, $s)],
    'extension-bulk' => ['base' => 2 * $perImpl, 'call' => static fn (int $o, int $s): bool => OrderSync::onOrderStatusUpdate($o, $s)],
];
$setState = $pdo->prepare('UPDATE ps_orders SET current_state = ? WHERE id_order = ?');
$states = [STATE_SHIPPED, STATE_CANCELED, STATE_REFUNDED];

// Warm-up: connections, statement caches, opcache of the baseline class; on orders of their own.
$w = 3 * $perImpl;
foreach ($impls as $name => $impl) {
    for ($i = 1; $i <= $warmup; $i++) {
        $o = $w + $i; $s = $states[$i % 3];
        $setState->execute([$s, $o]);
        if (!($impl['call'])($o, $s)) { throw new RuntimeException("$name warm-up: order $o not queued"); }
    }
    $w += $warmup;
}
if ($flush) { OrderSync::flushLogs(); }

$lat = array_fill_keys(array_keys($impls), []);
$db = array_fill_keys(array_keys($impls), []);
$nBlocks = (int) ceil($calls / $block);
for ($b = 0; $b < $nBlocks; $b++) {
    $names = array_keys($impls); // rotate who goes first
    $order = array_merge(array_slice($names, $b % 3), array_slice($names, 0, $b % 3));
    foreach ($order as $name) {
        $impl = $impls[$name];
        $changes = [];
        for ($j = $b * $block; $j < min($calls, ($b + 1) * $block); $j++) {
            $idx = $j % $perImpl;
            $o = $impl['base'] + $idx + 1;
            $s = $states[(intdiv($j, $perImpl) + $idx) % 3];
            $setState->execute([$s, $o]);
            $changes[] = [$o, $s];
        }
        $before = db_status($pdo);
        $call = $impl['call'];
        $last = count($changes) - 1;
        foreach ($changes as $k => [$o, $s]) {
            $t0 = hrtime(true);
            $ok = $call($o, $s);
            if ($flush && $name === 'extension-bulk' && $k === $last) {
                OrderSync::flushLogs(); // the end of the request
            }
            $lat[$name][] = hrtime(true) - $t0;
            if (!$ok) { throw new RuntimeException("$name: order $o state $s not queued"); }
        }
        $d = db_delta($before, db_status($pdo));
        foreach ($d as $k => $v) { $db[$name][$k] = ($db[$name][$k] ?? 0) + $v; }
    }
}

// Both must have produced the same queue: one pending task per order, same due times.
if ($flush) { OrderSync::flushLogs(); }
$check = $pdo->query("SELECT (id_order - 1) DIV $perImpl AS impl, COUNT(*) AS n, SUM(update_at > NOW()) AS delayed_tasks
    FROM ps_shoppingfeed_task_order WHERE id_order <= " . (3 * $perImpl) . ' GROUP BY 1 ORDER BY 1')->fetchAll();
$logs = $pdo->query("SELECT (object_id - 1) DIV $perImpl AS impl, COUNT(*) AS n FROM ps_shoppingfeed_processlogger
    WHERE object_id <= " . (3 * $perImpl) . ' GROUP BY 1 ORDER BY 1')->fetchAll();
out('   log rows after the run: ' . json_encode($logs));
out('   queue after the run: ' . json_encode($check));

$rows = [];
$res = [];
foreach ($lat as $name => $ns) {
    sort($ns);
    $n = count($ns);
    $us = static fn (float $v): float => round($v / 1000, 1);
    $res[$name] = ['calls' => $n, 'p50_us' => $us(percentile($ns, 50)), 'p90_us' => $us(percentile($ns, 90)), 'p99_us' => $us(percentile($ns, 99)),
        'mean_us' => $us(array_sum($ns) / $n), 'max_us' => $us($ns[$n - 1]),
        'round_trips_per_call' => round($db[$name]['round_trips'] / $n, 2), 'prepares_per_call' => round($db[$name]['Com_stmt_prepare'] / $n, 2),
        'executes_per_call' => round(($db[$name]['Questions']) / $n, 2), 'admin_per_call' => round($db[$name]['Com_admin_commands'] / $n, 2),
        'connections_per_call' => round($db[$name]['Connections'] / $n, 3),
        'db' => $db[$name]];
    $rows[] = [$name, $n, $res[$name]['p50_us'], $res[$name]['p90_us'], $res[$name]['p99_us'], $res[$name]['mean_us'],
        $res[$name]['round_trips_per_call'], sprintf('%.2f / %.2f / %.2f / %.3f', $res[$name]['executes_per_call'], $res[$name]['prepares_per_call'],
            $res[$name]['admin_per_call'], $res[$name]['connections_per_call'])];
}
foreach (['ratio' => 'extension', 'ratio_bulk' => 'extension-bulk'] as $key => $ext) {
    $res[$key] = ['p50' => round($res['php-pdo']['p50_us'] / $res[$ext]['p50_us'], 2), 'p99' => round($res['php-pdo']['p99_us'] / $res[$ext]['p99_us'], 2),
        'mean' => round($res['php-pdo']['mean_us'] / $res[$ext]['mean_us'], 2)];
    $rows[] = ["ratio php/$ext", '', $res[$key]['p50'] . 'x', '', $res[$key]['p99'] . 'x', $res[$key]['mean'] . 'x', '', ''];
}
out(table(['hook', 'calls', 'p50 µs', 'p90 µs', 'p99 µs', 'mean µs', 'DB round trips/call', 'per call: queries / prepares / admin cmds / new connections'], $rows));

// Where the extension's one-change time goes, p50 of interleaved samples on the same orders:
// a call into the extension that does nothing; a bare round trip (PDO `SELECT 1`); the hook's
// procedure called by PDO with the arguments the extension gives it (the database's share: one
// round trip plus MariaDB's execution); the extension's whole call. The fingerprint below must
// be computed as src/db/sql.rs CONFIG_ROW_BYTES and src/hook/call.rs do.
$proc = $pdo->query("SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_NAME LIKE 'ps\\_sfsync\\_hook\\_%'")->fetchColumn();
if ($proc !== false) {
    $row = "CONCAT_WS(0x1f, c.name, IFNULL(c.id_shop, '-'), IFNULL(c.id_shop_group, '-'), LENGTH(c.value), c.value)";
    $keys = "'SHOPPINGFEED_ORDER_SYNC_ENABLED','SHOPPINGFEED_SHIPPED_ORDERS','SHOPPINGFEED_CANCELLED_ORDERS','SHOPPINGFEED_REFUNDED_ORDERS','SHOPPINGFEED_DELIVERED_ORDERS','SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT','SHOPPING_FLUX_STATUS_SHIPPED','SHOPPING_FLUX_STATUS_CANCELED','SHOPPINGFEED_ORDER_INVOICE_SYNC_MARKETPLACES','PS_MULTISHOP_FEATURE_ACTIVE'";
    [$fpRows, $fpCrc, $fpRev, $fpShops] = $pdo->query("SELECT COUNT(*), SUM(CRC32($row)), SUM(CRC32(CONCAT($row, 0x1e))), (SELECT COUNT(*) FROM ps_shop) FROM ps_configuration c
        WHERE c.name IN ($keys) AND (c.id_shop = 1 OR (c.id_shop IS NULL AND (c.id_shop_group = 1 OR c.id_shop_group IS NULL)))")->fetch(PDO::FETCH_NUM);
    $native = bench_pdo($dbName);
    $native->setAttribute(PDO::ATTR_EMULATE_PREPARES, false); // a real prepared CALL, as the extension sends it
    $callStmt = $native->prepare("CALL `$proc`(?, ?, ?, ?, ?, ?, ?, 'default', ?, ?)");
    $ping = $native->prepare('SELECT 1');
    $probes = [
        'no-op call into the extension (OrderSync::version())' => static function (int $o): void { OrderSync::version(); },
        'one round trip (PDO SELECT 1, prepared)' => static function (int $o) use ($ping): void { $ping->execute(); $ping->fetchAll(); },
        'the procedure called by PDO (round trip + MariaDB execution)' => static function (int $o) use ($callStmt, $fpRows, $fpCrc, $fpRev, $fpShops): void {
            $callStmt->execute([$o, 1, $fpRows, $fpCrc, $fpRev, $fpShops, 0, "[Order: $o] Process started Order $o", "[Order: $o] Order registered for synchronization; action SYNC_STATUS"]);
            do { $callStmt->fetchAll(); } while ($callStmt->nextRowset());
        },
        'the extension (OrderSync::onOrderStatusUpdate)' => static function (int $o): void { OrderSync::onOrderStatusUpdate($o, STATE_CANCELED); },
    ];
    $samples = array_fill_keys(array_keys($probes), []);
    $n = min($calls, 3000);
    for ($i = 0; $i < $n; $i++) {
        $o = 2 * $perImpl + 1 + $i % $perImpl; // the bulk orders: Shopping Feed orders of shop 1
        foreach ($probes as $label => $f) { $t0 = hrtime(true); $f($o); $samples[$label][] = hrtime(true) - $t0; }
    }
    OrderSync::flushLogs();
    $split = [];
    foreach ($samples as $label => $ns) { sort($ns); $split[$label] = round(percentile($ns, 50) / 1000, 1); }
    $labels = array_keys($split);
    $v = array_values($split);
    $res['split'] = ['p50_us' => $split, 'samples' => $n,
        'extension_and_runtime_us' => round($v[3] - $v[2], 1), 'mariadb_execution_us' => round($v[2] - $v[1], 1), 'round_trip_us' => $v[1]];
    out('   where one change goes (p50 µs, ' . $n . ' interleaved samples each):');
    out(table(['', 'p50 µs'], array_map(null, $labels, $v)));
    if ($dbDelayUs === null) {
        out(sprintf('   => round trip %.1f µs, MariaDB executing the procedure %.1f µs, extension + PHP call + runtime %.1f µs',
            $v[1], $v[2] - $v[1], $v[3] - $v[2]));
    } else {
        // Through the proxy the procedure's answer (result set, then the CALL's OK) and the
        // proxy's own CPU on this 2-core VM blur the split: only the round trip is reported.
        out(sprintf('   => round trip through the proxy %.1f µs', $v[1]));
    }
}
out('RESULT ' . ($dbDelayUs === null ? 'hook' : 'hook_net') . ' ' . json_encode($res + ['db_delay_us' => $dbDelayUs]));
