<?php
/**
 * Benchmarks (b), (c), (d): the CRON send and the ticket check of N due tasks, extension against
 * the plain-PHP baseline (baseline/CronBaseline.php), same database, same simulator, same latency.
 *
 *   php benches/cron.php [--sizes 1000,10000,100000] [--baseline-sizes 1000,10000] [--latency-ms 50]
 *
 * Per size N: a fresh database with N Shopping Feed orders (60% shipped, 20% canceled, 20%
 * refunded) and N due SYNC_STATUS tasks; the simulator seeded with the N orders, every /v1 request
 * delayed by the latency, tickets final at their first poll. Then, per implementation (queue and
 * simulator reset in between):
 *   send   one child PHP process runs the whole send (extension: OrderSync::runCron; baseline:
 *          CronBaseline::sendStatuses, page after page); every task must end CHECK_TICKET_SYNC_STATUS;
 *   check  another child process checks every ticket; the queue must end empty.
 * Measured per child: wall time (inside the child, around the run), HTTP requests (the simulator's
 * /_sim/stats delta), database round trips (MariaDB global counters delta, see lib.php db_delta),
 * peak RSS (VmHWM of the child).
 */

declare(strict_types=1);

require __DIR__ . '/lib.php';

$opt = ['sizes' => '1000,10000,100000', 'baseline-sizes' => '1000,10000', 'latency-ms' => '50'];
for ($i = 1; $i < $argc; $i++) {
    if (str_starts_with($argv[$i], '--') && isset($opt[substr($argv[$i], 2)])) { $opt[substr($argv[$i], 2)] = $argv[++$i]; }
}
$sizes = array_map('intval', explode(',', $opt['sizes']));
$baselineSizes = array_map('intval', array_filter(explode(',', $opt['baseline-sizes'])));
$latency = (int) $opt['latency-ms'];
$ext = getenv('SFSYNC_EXT_SO') ?: bench_root() . '/target/release/libshoppingfeed_sync.so';
$dbName = 'sfsync_bench_cron';
const EXT_CONCURRENCY = 8; // runCron's default `concurrency`

[$simProc, $sim] = sim_start($latency);
register_shutdown_function(static fn () => sim_stop($simProc));

function worker(string $impl, string $phase, string $db, string $sim): array {
    global $ext;
    $cmd = array_merge(['php'], $impl === 'ext' ? ['-d', "extension=$ext"] : [], [__DIR__ . '/cron_worker.php', $impl, $phase, $db, $sim]);
    $p = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
    $stdout = stream_get_contents($pipes[1]);
    $stderr = stream_get_contents($pipes[2]);
    $rc = proc_close($p);
    $lines = array_filter(explode("\n", trim((string) $stdout)));
    $json = json_decode((string) end($lines), true);
    if ($rc !== 0 || !is_array($json)) { throw new RuntimeException("worker $impl $phase failed ($rc): $stdout $stderr"); }
    return $json;
}

/** Runs one measured child and adds the simulator and database deltas. */
function measured(string $impl, string $phase, PDO $pdo, string $db, string $sim): array {
    $s0 = sim_stats($sim);
    $d0 = db_status($pdo);
    $r = worker($impl, $phase, $db, $sim);
    $r['db'] = db_delta($d0, db_status($pdo));
    $r['http'] = sim_delta($s0, sim_stats($sim));
    return $r;
}

function queue_state(PDO $pdo): array {
    return $pdo->query('SELECT action, COUNT(*) AS n FROM ps_shoppingfeed_task_order GROUP BY action')->fetchAll(PDO::FETCH_KEY_PAIR);
}

$idle = null;
$results = [];
foreach ($sizes as $n) {
    out("## CRON: $n due tasks, simulator latency {$latency} ms");
    $t = microtime(true);
    $pdo = bench_create_db($dbName, $n);
    out(sprintf('   database %s with %d orders ready in %.1f s', $dbName, $n, microtime(true) - $t));
    if ($idle === null) { // the same child, configured, doing nothing: what a PHP process costs anyway
        $idle = ['ext' => worker('ext', 'idle', $dbName, $sim), 'php' => worker('php', 'idle', $dbName, $sim)];
        out(sprintf('   idle child process peak RSS: php + extension %d kB, plain php %d kB', $idle['ext']['peak_rss_kb'], $idle['php']['peak_rss_kb']));
    }
    foreach (in_array($n, $baselineSizes, true) ? ['ext', 'php', 'php-batch'] : ['ext'] as $impl) {
        bench_reset_tasks($pdo, $n);
        sim_prepare($sim, $n, $latency);
        $send = measured($impl, 'send', $pdo, $dbName, $sim);
        $q = queue_state($pdo);
        if (($q['CHECK_TICKET_SYNC_STATUS'] ?? 0) !== $n || count($q) !== 1) {
            throw new RuntimeException("$impl send left the queue as " . json_encode($q) . ': ' . json_encode($send));
        }
        $check = measured($impl, 'check', $pdo, $dbName, $sim);
        $q = queue_state($pdo);
        if ($q !== []) { throw new RuntimeException("$impl check left the queue as " . json_encode($q) . ': ' . json_encode($check)); }
        foreach (['send' => $send, 'check' => $check] as $phase => $r) {
            out(sprintf('   %-9s %-5s wall %8.1f ms  HTTP %6d %-52s DB round trips %7d  peak RSS %6d kB',
                $impl, $phase, $r['wall_ms'], $r['http']['requests'], json_encode($r['http']['per_route']), $r['db']['round_trips'], $r['peak_rss_kb']));
        }
        $results[$n][$impl] = ['send' => $send, 'check' => $check];
    }
    $posts = (int) ceil($n / 100);
    $results[$n]['lower_bound'] = ['requests' => $posts, 'wall_ms' => $posts / EXT_CONCURRENCY * $latency,
        'wall_ms_rounds' => (int) ceil($posts / EXT_CONCURRENCY) * $latency];
}

// Tables.
$fmtMs = static fn (float $ms): string => $ms >= 10000 ? sprintf('%.1f s', $ms / 1000) : sprintf('%.0f ms', $ms);
$rows = [];
foreach ($results as $n => $r) {
    $lb = $r['lower_bound'];
    $rows[] = [$n, 'lower bound', $fmtMs($lb['wall_ms']), $lb['requests'], '-', '-', '-'];
    foreach (['ext' => 'extension', 'php' => 'php-curl baseline'] as $impl => $label) {
        if (!isset($r[$impl])) { continue; }
        $s = $r[$impl]['send'];
        $rows[] = [$n, $label, $fmtMs($s['wall_ms']), $s['http']['requests'], $s['db']['round_trips'], $s['peak_rss_kb'],
            ($lb['wall_ms'] > 0 ? sprintf('%.2fx LB', $s['wall_ms'] / $lb['wall_ms']) : '-')
            . (isset($r['php']) && $impl === 'ext' ? sprintf(', %.1fx faster than php', $r['php']['send']['wall_ms'] / $s['wall_ms']) : '')];
    }
}
out("\n(b)/(d) CRON send, latency {$latency} ms (lower bound: ceil(N/100) POSTs, ceil(N/100)/" . EXT_CONCURRENCY . " x {$latency} ms)");
out(table(['tasks', 'implementation', 'wall', 'HTTP requests', 'DB round trips', 'peak RSS kB', 'ratio'], $rows));
$rows = [];
foreach ($results as $n => $r) {
    foreach (['ext' => 'extension (GET per batch)', 'php' => 'php-curl baseline (GET per ticket)',
              'php-batch' => 'php-curl baseline (GET per batch, reference HEAD)'] as $impl => $label) {
        if (!isset($r[$impl])) { continue; }
        $c = $r[$impl]['check'];
        $rows[] = [$n, $label, $fmtMs($c['wall_ms']), $c['http']['requests'], $c['db']['round_trips'], $c['peak_rss_kb']];
    }
}
out("\n(c) ticket check, latency {$latency} ms");
out(table(['tasks', 'implementation', 'wall', 'HTTP requests', 'DB round trips', 'peak RSS kB'], $rows));
out('RESULT cron ' . json_encode(['latency_ms' => $latency, 'idle' => $idle, 'results' => $results]));
