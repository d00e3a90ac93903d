<?php
/**
 * Many shops per runner (benches/README.md (e)): one CRON over a multistore of 50 shops with 200
 * due tasks each; every tenth shop has two Shopping Feed accounts (half its orders imported with
 * the second); one shop's API fails (a token the API refuses), one is slow (its POSTs wait 2 s).
 *   php benches/shops.php [--shops 50] [--tasks 200] [--latency-ms 50] [--budgets-ms 3000,10000]
 * Each run is a fresh PHP process with the extension (its peak RSS is the run's):
 *   1. a run with an unlimited budget: throughput, memory, what each shop got;
 *   2. runs with short budgets on the same full queue: fairness (how the budget was shared);
 *   3. successive runs of the shortest budget until nothing more goes: when each shop is served.
 * Prints RESULT shops {json}.
 */

declare(strict_types=1);

require __DIR__ . '/lib.php';

const TOKEN_B = 'bench-token-second-account-7d1e';
const STORE_B = 2042;
const TOKEN_REFUSED = 'bench-token-refused-by-the-api-0000';

if (($argv[1] ?? '') === '--worker') {
    // php -d extension=... shops.php --worker DB SIM BUDGET_MS
    [, , $db, $sim, $budget] = $argv;
    Shoppingfeed\Sync\OrderSync::configure(['database_url' => bench_db_url($db), 'api_base_url' => $sim, 'http_timeout_ms' => 10000,
        'mailer' => static fn (array $mail): bool => true]);
    $t = hrtime(true);
    $report = Shoppingfeed\Sync\OrderSync::runCron(['run_budget_ms' => (int) $budget]);
    $wall = (hrtime(true) - $t) / 1e6;
    $shops = [];
    foreach ($report['shops'] as $s) {
        $shops[$s['id_shop']] = ['sent' => $s['statuses_sent'], 'errors' => count($s['errors']), 'exhausted' => $s['budget_exhausted'],
            'first_error' => substr((string) ($s['errors'][0] ?? ''), 0, 160)];
    }
    echo json_encode(['wall_ms' => round($wall, 1), 'peak_rss_kb' => peak_rss_kb(), 'php_peak_kb' => intdiv(memory_get_peak_usage(true), 1024),
        'http_requests' => $report['http_requests'], 'shops' => $shops]), "\n";
    exit(0);
}

$opt = static function (string $name, string $default) use ($argv): string {
    $i = array_search("--$name", $argv, true);
    return $i !== false && isset($argv[$i + 1]) ? $argv[$i + 1] : $default;
};
$nShops = (int) $opt('shops', '50');
$perShop = (int) $opt('tasks', '200');
$latency = (int) $opt('latency-ms', '50');
$budgets = array_map('intval', explode(',', $opt('budgets-ms', '3000,10000')));
$failing = 3;
$slow = 5;
$ext = getenv('SFSYNC_EXT_SO') ?: bench_root() . '/target/release/libshoppingfeed_sync.so';
$n = $nShops * $perShop;
$db = 'sfsync_bench_shops';

out("## Many shops per runner: $nShops shops x $perShop due tasks, simulator latency $latency ms; shop $failing's API refuses its token, shop $slow's POSTs take 2 s");
$t = microtime(true);
$pdo = bench_create_db($db, $n);
// Shops 2..n, active, each with the module and its own token and store; order i of shop s is
// order (s-1)*perShop + i.
$pdo->exec('DELETE FROM ps_shop WHERE id_shop > 1');
$pdo->exec("DELETE FROM ps_configuration WHERE name IN ('SHOPPINGFEED_AUTH_TOKEN', 'SHOPPINGFEED_STORE_ID')");
$conf = $pdo->prepare('INSERT INTO ps_configuration (id_shop_group, id_shop, name, value, date_add, date_upd) VALUES (NULL, ?, ?, ?, NOW(), NOW())');
$account = $pdo->prepare("INSERT INTO ps_shoppingfeed_token (id_shop, id_lang, id_currency, content, active, merchant, shoppingfeed_store_id, feed_key, date_add, date_upd)
    VALUES (?, 1, 1, ?, 1, 'merchant', ?, ?, NOW(), NOW())");
$twoAccounts = [];
for ($s = 1; $s <= $nShops; $s++) {
    if ($s > 1) {
        $pdo->exec("INSERT INTO ps_shop (id_shop, id_shop_group, name, color, id_category, theme_name, active, deleted) VALUES ($s, 1, 'Shop $s', '', 2, 'classic', 1, 0)");
        $pdo->exec("INSERT INTO ps_module_shop (id_module, id_shop) VALUES (1, $s)");
    }
    $conf->execute([$s, 'SHOPPINGFEED_AUTH_TOKEN', $s === $failing ? TOKEN_REFUSED : BENCH_TOKEN]);
    $conf->execute([$s, 'SHOPPINGFEED_STORE_ID', (string) BENCH_STORE]);
    if ($s > 1) { $conf->execute([$s, 'SHOPPINGFEED_SHIPPED_ORDERS', '["' . STATE_SHIPPED . '"]']); }
    $lo = ($s - 1) * $perShop + 1;
    $hi = $s * $perShop;
    $pdo->exec("UPDATE ps_orders SET id_shop = $s WHERE id_order BETWEEN $lo AND $hi");
    if ($s % 10 === 0) {
        // Two accounts: the shop's token rows replace its configuration's token.
        $account->execute([$s, BENCH_TOKEN, BENCH_STORE, "feed-$s-a"]);
        $account->execute([$s, TOKEN_B, STORE_B, "feed-$s-b"]);
        $second = (int) $pdo->lastInsertId();
        $pdo->exec("UPDATE ps_shoppingfeed_order SET id_shoppingfeed_token = $second WHERE id_order BETWEEN $lo AND $hi AND id_order % 2 = 0");
        $twoAccounts[] = $s;
    }
}
out(sprintf('   database %s: %d shops, %d orders, shops %s with two accounts, ready in %.1f s', $db, $nShops, $n, implode(',', $twoAccounts), microtime(true) - $t));

$bin = getenv('SFSYNC_SIM_BIN') ?: bench_root() . '/target/release/shoppingfeed-sim';
$proc = proc_open([$bin, '--listen', '127.0.0.1:0', '--token', BENCH_TOKEN, '--store', (string) BENCH_STORE, '--token', TOKEN_B, '--store', (string) STORE_B,
    '--latency-ms', (string) $latency], [1 => ['pipe', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
$sim = 'http://' . trim((string) fgets($pipes[1]));

$prepareSim = static function () use ($sim, $n, $latency, $slow, $perShop): void {
    sim_call($sim, 'POST', '/_sim/reset');
    // The second accounts' orders, in store B, are made on their first POST.
    sim_call($sim, 'POST', '/_sim/settings', ['lifecycle' => ['mode' => 'polls', 'polls_per_step' => 0], 'log_capacity' => 1000,
        'auto_create_orders' => true, 'latency' => $latency > 0 ? ['fixed' => ['ms' => $latency]] : 'none']);
    sim_call($sim, 'POST', '/_sim/orders', ['range' => ['from' => 1, 'to' => $n, 'channelName' => 'amazon', 'referencePrefix' => 'REF-', 'storeId' => BENCH_STORE]]);
    // Every POST carrying one of the slow shop's orders waits 2 s.
    for ($id = ($slow - 1) * $perShop + 1; $id <= $slow * $perShop; $id++) {
        sim_call($sim, 'POST', '/_sim/faults', ['route' => 'order_op', 'order_id' => $id, 'fault' => ['kind' => 'hang', 'seconds' => 2]]);
    }
};

$worker = static function (int $budgetMs) use ($ext, $db, $sim): array {
    $out = shell_exec(implode(' ', array_map('escapeshellarg', [PHP_BINARY, '-d', "extension=$ext", __FILE__, '--worker', $db, $sim, (string) $budgetMs])));
    $r = json_decode((string) $out, true);
    if (!is_array($r)) { throw new RuntimeException("worker failed: $out"); }
    return $r;
};

$summary = static function (array $r, int $budgetMs) use ($failing, $slow, $perShop, $nShops): array {
    $sent = [];
    foreach ($r['shops'] as $id => $s) { if ((int) $id !== $failing) { $sent[(int) $id] = $s['sent']; } }
    $others = array_diff_key($sent, [$slow => true]);
    sort($others);
    $total = array_sum($sent);
    $starved = count(array_filter($sent, static fn ($v) => $v === 0));
    return ['budget_ms' => $budgetMs, 'wall_ms' => $r['wall_ms'], 'sent' => $total, 'tasks_per_s' => round($total / max(0.001, $r['wall_ms'] / 1000)),
        'http_requests' => $r['http_requests'], 'peak_rss_kb' => $r['peak_rss_kb'], 'php_peak_kb' => $r['php_peak_kb'],
        'shops_served' => count($sent) - $starved, 'shops_starved' => $starved, 'min' => $others[0] ?? 0,
        'median' => $others[intdiv(count($others), 2)] ?? 0, 'max' => end($others) ?: 0, 'slow_shop_sent' => $sent[$slow] ?? 0,
        'failing_shop' => ['sent' => $r['shops'][$failing]['sent'] ?? null, 'error' => $r['shops'][$failing]['first_error'] ?? ''],
        'first_half_sent' => array_sum(array_filter($sent, static fn ($k) => $k <= intdiv($nShops, 2), ARRAY_FILTER_USE_KEY)),
        'second_half_sent' => array_sum(array_filter($sent, static fn ($k) => $k > intdiv($nShops, 2), ARRAY_FILTER_USE_KEY)),
        'per_shop_max' => $perShop];
};

$results = [];
foreach (array_merge([3600000], $budgets) as $budget) {
    bench_reset_tasks($pdo, $n);
    $prepareSim();
    $r = $worker($budget);
    $s = $summary($r, $budget);
    $results[] = $s;
    out(sprintf('   budget %s: %d sent in %.0f ms (%d tasks/s), %d HTTP requests, peak RSS %.1f MB (PHP heap %.1f MB); %d shops served, %d starved; per shop min %d / median %d / max %d (slow shop %d); shops 1-%d %d, shops %d-%d %d; failing shop: %s',
        $budget >= 3600000 ? 'unlimited' : "$budget ms", $s['sent'], $s['wall_ms'], $s['tasks_per_s'], $s['http_requests'], $s['peak_rss_kb'] / 1024, $s['php_peak_kb'] / 1024,
        $s['shops_served'], $s['shops_starved'], $s['min'], $s['median'], $s['max'], $s['slow_shop_sent'], intdiv($nShops, 2), $s['first_half_sent'],
        intdiv($nShops, 2) + 1, $nShops, $s['second_half_sent'], $s['failing_shop']['error'] ?: 'no error'));
}
// Successive runs of the shortest budget on one full queue, as a CRON every minute would do:
// in which run each shop is first served.
$budget = min($budgets);
bench_reset_tasks($pdo, $n);
$prepareSim();
$firstServed = [];
$rounds = [];
for ($run = 1; $run <= 30; $run++) {
    $r = $worker($budget);
    $sentNow = 0;
    foreach ($r['shops'] as $id => $x) {
        $sentNow += $x['sent'];
        if ($x['sent'] > 0 && !isset($firstServed[(int) $id])) { $firstServed[(int) $id] = $run; }
    }
    $rounds[] = ['sent' => $sentNow, 'wall_ms' => $r['wall_ms']];
    $due = (int) $pdo->query("SELECT COUNT(*) FROM ps_shoppingfeed_task_order WHERE action = 'SYNC_STATUS'")->fetchColumn();
    if ($sentNow === 0) { break; }
}
$never = $nShops - 1 - count(array_diff_key($firstServed, [$failing => true]));
out(sprintf('   successive runs of %d ms on the full queue: %d runs (%s sent), every shop first served by run %d, %d shops never served (the failing one apart); %d pending tasks left (the failing shop\'s)',
    $budget, count($rounds), implode(' + ', array_column($rounds, 'sent')), $firstServed ? max($firstServed) : 0, $never, $due));
proc_terminate($proc);
proc_close($proc);
echo 'RESULT shops ', json_encode(['shops' => $nShops, 'tasks_per_shop' => $perShop, 'latency_ms' => $latency, 'runs' => $results,
    'successive' => ['budget_ms' => $budget, 'rounds' => $rounds, 'last_first_served' => $firstServed ? max($firstServed) : 0, 'never_served' => $never, 'left' => $due]]), "\n";
