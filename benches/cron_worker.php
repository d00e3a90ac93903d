<?php
/**
 * One measured CRON run in a fresh PHP process (so that its peak RSS is this run's):
 *   php [-d extension=...] benches/cron_worker.php ext|php|php-batch send|check|idle DB SIM_BASE_URL
 * (php: the reference 1.2.0, tickets checked one GET each; php-batch: the same send, tickets checked
 * per batch as the reference's current version does)
 * Prints one JSON line: wall_ms (around the run only), peak_rss_kb (VmHWM at the end), and what the
 * run reported.
 */

declare(strict_types=1);

require __DIR__ . '/lib.php';

[, $impl, $phase, $db, $sim] = $argv + [null, null, null, null, null];
$result = ['impl' => $impl, 'phase' => $phase];
if ($impl === 'ext') {
    Shoppingfeed\Sync\OrderSync::configure(['database_url' => bench_db_url($db), 'api_base_url' => $sim,
        'mailer' => static fn (array $mail): bool => true]);
    if ($phase !== 'idle') {
        $t = hrtime(true);
        $report = Shoppingfeed\Sync\OrderSync::runCron(['run_budget_ms' => 3600000, 'id_shop' => 1]);
        $result['wall_ms'] = round((hrtime(true) - $t) / 1e6, 1);
        $shop = $report['shops'][1] ?? [];
        $result['report'] = ['locked' => $report['locked'], 'http_requests' => $report['http_requests'], 'duration_ms' => $report['duration_ms']]
            + array_intersect_key($shop, array_flip(['statuses_sent', 'requests', 'tickets_succeeded', 'tickets_failed', 'tickets_pending',
                'tickets_stuck', 'tasks_removed', 'requeued', 'budget_exhausted', 'skipped']))
            + ['errors' => array_slice($shop['errors'] ?? [], 0, 3)];
    }
} else {
    require __DIR__ . '/baseline/CronBaseline.php';
    $cron = new CronBaseline(bench_pdo($db), $sim, BENCH_TOKEN);
    if ($phase !== 'idle') {
        $t = hrtime(true);
        $result['report'] = match (true) {
            $phase === 'send' => $cron->sendStatuses(),
            $impl === 'php-batch' => $cron->checkTicketsByBatch(),
            default => $cron->checkTickets(),
        };
        $result['wall_ms'] = round((hrtime(true) - $t) / 1e6, 1);
    }
}
$result['peak_rss_kb'] = peak_rss_kb();
$result['php_peak_kb'] = intdiv(memory_get_peak_usage(true), 1024);
echo json_encode($result), "\n";
