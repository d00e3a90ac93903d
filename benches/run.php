<?php
/**
 * Runs every benchmark (./dev bench does: php benches/run.php [--quick]) and prints the summary
 * tables of benches/README.md with the machine, the date and the command.
 *   full:  hook 10,000 calls; CRON 1,000 / 10,000 / 100,000 tasks (baseline at 1,000 and 10,000) at
 *          50 ms latency, then the same at 0 ms (baseline at 10,000)
 *   quick: hook 1,000 calls;  CRON 1,000 tasks (baseline too)
 */

declare(strict_types=1);

require __DIR__ . '/lib.php';

$quick = in_array('--quick', $argv, true);
$ext = getenv('SFSYNC_EXT_SO') ?: bench_root() . '/target/release/libshoppingfeed_sync.so';
$php = PHP_BINARY;

function machine(): array {
    $cpu = preg_match('/^model name\s*:\s*(.+)$/m', (string) @file_get_contents('/proc/cpuinfo'), $m) ? trim($m[1]) : php_uname('m');
    $mem = preg_match('/^MemTotal:\s+(\d+)/m', (string) @file_get_contents('/proc/meminfo'), $m2) ? round($m2[1] / 1048576, 1) . ' GiB' : '?';
    $load = implode(' ', array_map(static fn ($l) => sprintf('%.2f', $l), sys_getloadavg() ?: []));
    $os = preg_match('/^PRETTY_NAME="?([^"\n]+)/m', (string) @file_get_contents('/etc/os-release'), $m3) ? $m3[1] : PHP_OS;
    return ['host' => gethostname(), 'cpu' => $cpu, 'cores' => (int) shell_exec('nproc'), 'memory' => $mem, 'os' => $os . ' ' . php_uname('r'),
        'php' => PHP_VERSION, 'load' => $load];
}

function run(array $cmd): array {
    $results = [];
    $p = proc_open($cmd, [1 => ['pipe', 'w']], $pipes);
    while (($line = fgets($pipes[1])) !== false) {
        if (str_starts_with($line, 'RESULT ')) {
            [, $name, $json] = explode(' ', rtrim($line), 3);
            $results[$name] = json_decode($json, true);
        }
        echo $line;
        flush();
    }
    if (proc_close($p) !== 0) { fwrite(STDERR, 'failed: ' . implode(' ', $cmd) . "\n"); exit(1); }
    return $results;
}

$before = machine();
$pdo = bench_pdo();
$mariadb = $pdo->query('SELECT VERSION()')->fetchColumn();
$version = trim((string) shell_exec(escapeshellarg($php) . ' -d ' . escapeshellarg("extension=$ext") . ' -r ' . escapeshellarg('echo Shoppingfeed\Sync\OrderSync::version();')));
$started = date('Y-m-d H:i:s T');
out("# shoppingfeed_sync benchmarks, $started");
out('command: ./dev bench' . ($quick ? ' --quick' : ''));
out("machine: {$before['host']}: {$before['cpu']}, {$before['cores']} cores, {$before['memory']}, {$before['os']}");
out("software: PHP {$before['php']}, MariaDB $mariadb (a server of the benchmark's own), extension $version (release build)");
out("load average before: {$before['load']}");
out();

$r = run([$php, '-d', "extension=$ext", __DIR__ . '/hook.php', '--calls', $quick ? '1000' : '10000']);
if (!$quick) { // the same with the database across a (simulated) network: 100 µs each way
    out();
    $r += run([$php, '-d', "extension=$ext", __DIR__ . '/hook.php', '--calls', '3000', '--db-delay-us', '100']);
}
out();
$r += run([$php, __DIR__ . '/cron.php', '--sizes', $quick ? '1000' : '1000,10000,100000', '--baseline-sizes', $quick ? '1000' : '1000,10000', '--latency-ms', '50']);
if (!$quick) { // the same at 0 ms latency: what is left is each implementation's own CPU and database cost
    out();
    $zero = run([$php, __DIR__ . '/cron.php', '--sizes', '1000,10000,100000', '--baseline-sizes', '10000', '--latency-ms', '0']);
    $r['cron0'] = $zero['cron'];
}
out();
$r += run([$php, __DIR__ . '/shops.php', '--shops', $quick ? '10' : '50', '--tasks', '200', '--latency-ms', '50']);
$after = machine();

// Summary, in the shape of benches/README.md.
$h = $r['hook'];
$c = $r['cron']['results'];
$lat = $r['cron']['latency_ms'];
$ms = static fn (float $v): string => $v >= 10000 ? sprintf('%.1f s', $v / 1000) : sprintf('%.0f ms', $v);
$mb = static fn (int $kb): string => sprintf('%.1f MB', $kb / 1024);
out("\n# Summary ($started, load average before {$before['load']}, after {$after['load']})\n");
out("(a) hook, per call (µs), {$h['extension']['calls']} calls each, warm process");
out(table(['', 'p50', 'p99', 'mean', 'DB round trips / call'], [
    ['extension, one change per request (hook + end-of-request log write)', $h['extension']['p50_us'], $h['extension']['p99_us'], $h['extension']['mean_us'], $h['extension']['round_trips_per_call']],
    ['PHP + PDO baseline', $h['php-pdo']['p50_us'], $h['php-pdo']['p99_us'], $h['php-pdo']['mean_us'], $h['php-pdo']['round_trips_per_call']],
    ['baseline / extension', $h['ratio']['p50'] . 'x', $h['ratio']['p99'] . 'x', $h['ratio']['mean'] . 'x', ''],
    ['extension, 500 changes in one request (a bulk update; end-of-request write in the last call)', $h['extension-bulk']['p50_us'], $h['extension-bulk']['p99_us'], $h['extension-bulk']['mean_us'], $h['extension-bulk']['round_trips_per_call']],
    ['baseline / extension (bulk)', $h['ratio_bulk']['p50'] . 'x', $h['ratio_bulk']['p99'] . 'x', $h['ratio_bulk']['mean'] . 'x', ''],
]));
if (isset($r['hook_net'])) {
    $n = $r['hook_net'];
    out(sprintf("\n(a') the same, the database behind latency_proxy.php (%d µs each way; one round trip measured %.0f µs), %d calls each",
        $n['db_delay_us'], $n['split']['round_trip_us'] ?? 0, $n['extension']['calls']));
    out(table(['', 'p50', 'p99', 'mean', 'DB round trips / call'], [
        ['extension, one change per request', $n['extension']['p50_us'], $n['extension']['p99_us'], $n['extension']['mean_us'], $n['extension']['round_trips_per_call']],
        ['PHP + PDO baseline', $n['php-pdo']['p50_us'], $n['php-pdo']['p99_us'], $n['php-pdo']['mean_us'], $n['php-pdo']['round_trips_per_call']],
        ['baseline / extension', $n['ratio']['p50'] . 'x', $n['ratio']['p99'] . 'x', $n['ratio']['mean'] . 'x', ''],
        ['extension, 500 changes in one request', $n['extension-bulk']['p50_us'], $n['extension-bulk']['p99_us'], $n['extension-bulk']['mean_us'], $n['extension-bulk']['round_trips_per_call']],
        ['baseline / extension (bulk)', $n['ratio_bulk']['p50'] . 'x', $n['ratio_bulk']['p99'] . 'x', $n['ratio_bulk']['mean'] . 'x', ''],
    ]));
}
$rows = [];
foreach ($c as $n => $x) {
    $lb = $x['lower_bound'];
    $rows[] = [$n, "lower bound", $ms($lb['wall_ms']), $lb['requests'], '', '', ''];
    if (isset($x['ext'])) {
        $s = $x['ext']['send'];
        $rows[] = [$n, 'extension', $ms($s['wall_ms']), $s['http']['requests'], $s['db']['round_trips'], $mb($s['peak_rss_kb']),
            sprintf('%.2fx lower bound', $s['wall_ms'] / $lb['wall_ms'])];
    }
    if (isset($x['php'])) {
        $s = $x['php']['send'];
        $rows[] = [$n, 'PHP + curl baseline', $ms($s['wall_ms']), $s['http']['requests'], $s['db']['round_trips'], $mb($s['peak_rss_kb']),
            sprintf('%.2fx lower bound; extension %.1fx faster', $s['wall_ms'] / $lb['wall_ms'], $s['wall_ms'] / $x['ext']['send']['wall_ms'])];
    }
}
out("\n(b)/(d) CRON send, simulator latency $lat ms");
out(table(['tasks', '', 'wall', 'HTTP requests', 'DB round trips', 'peak RSS', 'ratio'], $rows));
$rows = [];
foreach ($c as $n => $x) {
    foreach (['ext' => 'extension: one GET per batch', 'php' => 'PHP baseline: one GET per ticket',
              'php-batch' => 'PHP baseline: one GET per batch (reference HEAD)'] as $impl => $label) {
        if (!isset($x[$impl])) { continue; }
        $k = $x[$impl]['check'];
        $rows[] = [$n, $label, $ms($k['wall_ms']), $k['http']['requests'], $k['db']['round_trips'], $mb($k['peak_rss_kb'])];
    }
}
out("\n(c) ticket check, simulator latency $lat ms");
out(table(['tasks', '', 'wall', 'HTTP requests', 'DB round trips', 'peak RSS'], $rows));
if (isset($r['cron0'])) {
    $rows = [];
    foreach ($r['cron0']['results'] as $n => $x) {
        foreach (['ext' => 'extension', 'php' => 'PHP baseline', 'php-batch' => 'PHP baseline, check per batch'] as $impl => $label) {
            if (!isset($x[$impl])) { continue; }
            $rows[] = [$n, $label, $ms($x[$impl]['send']['wall_ms']), $ms($x[$impl]['check']['wall_ms']),
                $x[$impl]['send']['http']['requests'] . ' / ' . $x[$impl]['check']['http']['requests'],
                $x[$impl]['send']['db']['round_trips'] . ' / ' . $x[$impl]['check']['db']['round_trips'],
                $mb($x[$impl]['send']['peak_rss_kb']) . ' / ' . $mb($x[$impl]['check']['peak_rss_kb'])];
        }
    }
    out("\nthe same at 0 ms latency (each implementation's own CPU + database cost)");
    out(table(['tasks', '', 'send wall', 'check wall', 'HTTP send / check', 'DB round trips send / check', 'peak RSS send / check'], $rows));
}
$sh = $r['shops'];
$rows = [];
foreach ($sh['runs'] as $x) {
    $rows[] = [$x['budget_ms'] >= 3600000 ? 'unlimited' : $ms($x['budget_ms']), $x['sent'], $ms($x['wall_ms']), $x['tasks_per_s'], $x['http_requests'], $mb($x['peak_rss_kb']),
        $x['shops_served'] . ' / ' . $x['shops_starved'], "{$x['min']} / {$x['median']} / {$x['max']}", $x['slow_shop_sent']];
}
out(sprintf("\n(e) one CRON over %d shops x %d due tasks (every tenth shop with two accounts, one shop's API refusing, one slow), latency %d ms",
    $sh['shops'], $sh['tasks_per_shop'], $sh['latency_ms']));
out(table(['budget', 'sent', 'wall', 'tasks/s', 'HTTP requests', 'peak RSS', 'shops served / starved', 'per shop min / median / max', 'slow shop'], $rows));
out(sprintf('successive runs of %s: %d runs, every shop first served by run %d, %d never served',
    $ms($sh['successive']['budget_ms']), count($sh['successive']['rounds']), $sh['successive']['last_first_served'], $sh['successive']['never_served']));
$idle = $r['cron']['idle'];
out(sprintf("\nidle PHP process peak RSS: with the extension loaded and configured %s, plain PHP %s", $mb($idle['ext']['peak_rss_kb']), $mb($idle['php']['peak_rss_kb'])));
