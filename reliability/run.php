<?php
/**
 * The reliability suite (./dev soak does: php -d extension=... reliability/run.php [--quick] [--only 6,1]).
 * Runs the scenarios of reliability/README.md against the suite's own MariaDB, the simulator and
 * child PHP processes, prints one table and writes it to reliability/results/. Exit 1 if a check failed.
 */

declare(strict_types=1);

require __DIR__ . '/lib.php';
require __DIR__ . '/scenarios.php';

use Shoppingfeed\Sync\OrderSync;

$quick = in_array('--quick', $argv, true);
$only = null;
foreach ($argv as $i => $a) {
    if ($a === '--only' && isset($argv[$i + 1])) { $only = array_map('intval', explode(',', $argv[$i + 1])); }
}
$order = [6, 1, 3, 2, 4, 5, 8, 7]; // 7 last: it greps what every other scenario wrote

// A fresh log directory: scenario 7 greps all of it.
$logs = root() . '/.dev/soak/logs';
if (is_dir($logs)) { foreach (glob("$logs/*") as $f) { unlink($f); } }
logs_dir();

$started = microtime(true);
$stamp = date('Y-m-d H:i:s T');
$mariadb = pdo()->query('SELECT VERSION()')->fetchColumn();
$head = sprintf("# shoppingfeed_sync reliability suite, %s\ncommand: ./dev soak%s%s\nmachine: %s, %d cores, load %s; PHP %s, MariaDB %s (the suite's own), extension %s",
    $stamp, $quick ? ' --quick' : '', $only ? ' --only ' . implode(',', $only) : '', gethostname(), (int) shell_exec('nproc'), implode(' ', array_map(static fn ($l) => sprintf('%.2f', $l), sys_getloadavg() ?: [])),
    PHP_VERSION, $mariadb, OrderSync::version());
out($head);

$sim = new Sim(0, 'sim-main');
$ctx = new Ctx($sim, $quick);
$rows = [];
$failed = [];
foreach ($order as $n) {
    if ($only !== null && !in_array($n, $only, true)) { continue; }
    out("\n## scenario $n: " . SCENARIOS[$n]);
    $t = microtime(true);
    try {
        $res = ("scenario$n")($ctx);
    } catch (Throwable $e) {
        $res = ['measured' => 'harness error', 'checks' => ['ran to the end' => false], 'notes' => [redact($e->getMessage() . ' @ ' . basename($e->getFile()) . ':' . $e->getLine())]];
    }
    $secs = microtime(true) - $t;
    $bad = array_keys(array_filter($res['checks'], static fn ($ok) => !$ok));
    foreach ($res['notes'] ?? [] as $note) { out('   ' . redact((string) $note)); }
    foreach ($res['checks'] as $what => $ok) { out(sprintf('   [%s] %s', $ok ? 'ok' : 'FAIL', $what)); }
    $rows[] = [$n, SCENARIOS[$n], redact($res['measured']), $bad === [] ? 'pass' : 'FAIL: ' . implode('; ', $bad), sprintf('%.0f s', $secs)];
    if ($bad !== []) { $failed[] = $n; }
}
$sim->stop();

$total = microtime(true) - $started;
$tableText = table(['#', 'scenario', 'measured', 'verdict', 'time'], $rows);
out("\n# Summary (" . sprintf('%.0f s', $total) . ")\n");
out($tableText);
$dir = __DIR__ . '/results';
if (!is_dir($dir)) { mkdir($dir, 0777, true); }
$file = "$dir/" . date('Y-m-d') . '-' . gethostname() . ($quick ? '-quick' : '') . ($only ? '-only-' . implode('-', $only) : '') . '.txt';
file_put_contents($file, $head . "\n\n" . $tableText . "\n\ntotal " . sprintf('%.0f s', $total) . "\n");
out("\ntable written to " . substr($file, strlen(root()) + 1) . '; logs in .dev/soak/logs/');
exit($failed === [] ? 0 : 1);
