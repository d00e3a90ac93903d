<?php
/**
 * A child PHP process of the reliability suite, with the built extension loaded:
 *   php -d extension=... reliability/child.php MODE      (job as JSON in $SOAK_JOB)
 * Modes: cron, conveyor, hooks, longlived, fuzz. Prints progress markers (RUN-START, MAIL-ENTER, ...)
 * that the orchestrator waits for to kill it at a chosen point, and one `RESULT {json}` line.
 * It prints exception messages as they are: scenario 7 greps this output for the secrets.
 */

declare(strict_types=1);

require __DIR__ . '/lib.php';

use Shoppingfeed\Sync\OrderSync;

$mode = $argv[1] ?? '';
$job = json_decode((string) getenv('SOAK_JOB'), true) ?: [];
ob_implicit_flush(true);

function mark(string $m): void { fwrite(STDOUT, $m . "\n"); fflush(STDOUT); }
function result(array $r): void { mark('RESULT ' . json_encode($r, JSON_INVALID_UTF8_SUBSTITUTE | JSON_PARTIAL_OUTPUT_ON_ERROR)); }
function rss_kb(): int { return preg_match('/^VmRSS:\s+(\d+)/m', (string) file_get_contents('/proc/self/status'), $m) ? (int) $m[1] : 0; }

/** The mailer of a shop: records every mail it accepts (scenario 1 audits that none is lost). */
function mailer(array $job): Closure
{
    $file = logs_dir() . '/mails-' . ($job['name'] ?? 'child') . '.jsonl';
    $sleep = (int) ($job['mailer_sleep_ms'] ?? 0);
    return static function (array $mail) use ($file, $sleep): bool {
        mark('MAIL-ENTER');
        if ($sleep > 0) { usleep($sleep * 1000); }
        file_put_contents($file, json_encode($mail) . "\n", FILE_APPEND);
        mark('MAIL-DONE');
        return true;
    };
}

function configure_for(array $job, string $db): void
{
    OrderSync::configure(['database_url' => db_url($db), 'api_base_url' => $job['api'], 'table_prefix' => 'ps_',
        'http_timeout_ms' => (int) ($job['http_timeout_ms'] ?? 10000), 'mailer' => mailer($job)]);
}

/** Throwable → "Class: message" (raw: the secrets grep reads it). */
function describe(Throwable $e): string { return get_class($e) . ': ' . $e->getMessage(); }

switch ($mode) {
    case 'cron': {
        // runCron `runs` times (or until the queue is empty, at most `seconds`), pausing `pause_ms` in between.
        $dbs = $job['dbs'] ?? [$job['db']];
        $opts = $job['opts'] ?? [];
        $r = ['runs' => 0, 'locked' => 0, 'exceptions' => [], 'errors' => 0, 'sent' => 0, 'first_errors' => [], 'durations_ms' => []];
        $end = microtime(true) + (float) ($job['seconds'] ?? 60);
        $runs = (int) ($job['runs'] ?? 0);
        for ($i = 0; ($runs === 0 || $i < $runs) && microtime(true) < $end; $i++) {
            $db = $dbs[$i % count($dbs)];
            configure_for($job, $db);
            mark("RUN-START $i");
            $t = hrtime(true);
            try {
                $rep = OrderSync::runCron($opts);
                $r['locked'] += $rep['locked'] ? 1 : 0;
                foreach ($rep['shops'] ?? [] as $s) {
                    $r['sent'] += $s['statuses_sent'];
                    $r['errors'] += count($s['errors']);
                    foreach ($s['errors'] as $e) { if (count($r['first_errors']) < 5) { $r['first_errors'][] = $e; } }
                }
            } catch (Throwable $e) {
                $r['exceptions'][] = describe($e);
            }
            $r['durations_ms'][] = (int) ((hrtime(true) - $t) / 1e6);
            $r['runs']++;
            mark("RUN-END $i");
            if (!empty($job['until_empty'])) {
                $empty = true;
                foreach ($dbs as $d) {
                    try { $empty = $empty && queue_count(pdo($d)) === 0; } catch (Throwable $e) { $empty = false; }
                }
                if ($empty) { break; }
            }
            usleep((int) ($job['pause_ms'] ?? 0) * 1000);
        }
        result($r);
        break;
    }

    case 'conveyor': {
        // The reference module's CRON steps through ActionsHandler: no CRON lock, only the leases
        // keep overlapping processes apart. Until the queue is empty.
        $r = ['rounds' => 0, 'sent' => 0, 'checked' => 0, 'exceptions' => []];
        configure_for($job, $job['db']);
        $pdo = pdo($job['db']);
        $end = microtime(true) + (float) ($job['seconds'] ?? 60);
        while (microtime(true) < $end && queue_count($pdo) > 0) {
            foreach ($job['shops'] as $shop) {
                try {
                    $h = (new Shoppingfeed\Sync\ActionsHandler())->setConveyor(['id_shop' => $shop, 'order_action' => 'SYNC_STATUS'])
                        ->addActions('getTaskOrders', 'prepareTaskOrdersSyncStatus', 'sendTaskOrdersSyncStatus');
                    $h->process('shoppingfeedOrderSync');
                    $r['sent'] += count($h->getConveyor()['successfulTaskOrders'] ?? []);
                    $h = (new Shoppingfeed\Sync\ActionsHandler())->setConveyor(['id_shop' => $shop, 'order_action' => 'CHECK_TICKET_SYNC_STATUS'])
                        ->addActions('getTaskOrders', 'prepareTaskOrdersCheckTicketsSyncStatus', 'sendTaskOrdersCheckTicketsSyncStatus');
                    $h->process('shoppingfeedOrderSync');
                    $r['checked'] += count($h->getConveyor()['successfulTaskOrders'] ?? []);
                } catch (Throwable $e) {
                    $r['exceptions'][] = describe($e);
                }
            }
            $r['rounds']++;
        }
        result($r);
        break;
    }

    case 'hooks': {
        // For `seconds`: pick an order and a state, write the state as PrestaShop does, fire the hook.
        configure_for($job, $job['db']);
        $pdo = pdo($job['db']);
        $set = $pdo->prepare('UPDATE ps_orders SET current_state = ? WHERE id_order = ?');
        mt_srand((int) $job['seed']);
        $r = ['calls' => 0, 'queued' => 0, 'exceptions' => [], 'deadlocks' => 0];
        $end = microtime(true) + (float) $job['seconds'];
        while (microtime(true) < $end) {
            $id = $job['orders'][mt_rand(0, count($job['orders']) - 1)];
            $state = $job['states'][mt_rand(0, count($job['states']) - 1)];
            try {
                $set->execute([$state, $id]);
            } catch (PDOException $e) {
                // The shop's own write lost (on a Galera cluster, to the same order's write on
                // another node): PrestaShop would not call the hook.
                $r['shop_write_failures'] = ($r['shop_write_failures'] ?? 0) + 1;
                continue;
            }
            try {
                $r['queued'] += OrderSync::onOrderStatusUpdate($id, $state) ? 1 : 0;
            } catch (Throwable $e) {
                $r['deadlocks'] += stripos($e->getMessage(), 'deadlock') !== false ? 1 : 0;
                if (count($r['exceptions']) < 20) { $r['exceptions'][] = describe($e); }
                $r['exception_count'] = ($r['exception_count'] ?? 0) + 1;
            }
            $r['calls']++;
        }
        OrderSync::flushLogs();
        result($r);
        break;
    }

    case 'longlived': {
        // One process, like a PHP-FPM worker: `hooks` hook calls and a runCron every `cron_every`,
        // a database restart asked for at the middle (RESTART-NOW ... the orchestrator restarts it).
        configure_for($job, $job['db']);
        $pdo = null;
        mt_srand(7);
        $r = ['hooks' => 0, 'crons' => 0, 'hook_exceptions' => 0, 'cron_exceptions' => 0, 'examples' => [], 'rss_kb' => [],
            'ok_after_restart' => 0];
        $n = (int) $job['hooks'];
        $restartAt = intdiv($n, 2);
        $restarted = false;
        for ($i = 1; $i <= $n; $i++) {
            // Every order in turn (so each one ends with a last state to audit), a random state.
            $id = $job['orders'][$i % count($job['orders'])];
            $state = $job['states'][mt_rand(0, count($job['states']) - 1)];
            try {
                $pdo ??= pdo($job['db'], 2);
                $pdo->prepare('UPDATE ps_orders SET current_state = ? WHERE id_order = ?')->execute([$state, $id]);
            } catch (PDOException $e) {
                // The shop's own write failed (database down): PrestaShop would not call the hook.
                $pdo = null;
                $r['shop_writes_failed'] = ($r['shop_writes_failed'] ?? 0) + 1;
                $r['outage_calls'] ??= [$i, $i];
                $r['outage_calls'][1] = $i;
                usleep(20000);
                $id = null;
            }
            try {
                if ($id !== null) { OrderSync::onOrderStatusUpdate($id, $state); }
                if ($restarted) { $r['ok_after_restart']++; }
            } catch (Throwable $e) {
                $pdo = null;
                $r['hook_exceptions']++;
                if ($i > $n * 3 / 4) { $r['late_exceptions'] = ($r['late_exceptions'] ?? 0) + 1; }
                if (count($r['examples']) < 6) { $r['examples'][] = "call $i: " . describe($e); }
                usleep(20000);
            }
            $r['hooks']++;
            if ($i % (int) $job['cron_every'] === 0) {
                try { OrderSync::runCron($job['opts']); } catch (Throwable $e) {
                    $r['cron_exceptions']++;
                    if ($i > $n * 3 / 4) { $r['late_exceptions'] = ($r['late_exceptions'] ?? 0) + 1; }
                    if (count($r['examples']) < 6) { $r['examples'][] = describe($e); }
                }
                $r['crons']++;
                // The hook's buffered log rows: written now, or an exception while the database is down.
                try { OrderSync::flushLogs(); } catch (Throwable $e) {
                    $r['flush_exceptions'] = ($r['flush_exceptions'] ?? 0) + 1;
                    if ($i > $n * 3 / 4) { $r['late_exceptions'] = ($r['late_exceptions'] ?? 0) + 1; }
                    if (count($r['examples']) < 6) { $r['examples'][] = describe($e); }
                }
                $r['rss_kb'][$i] = rss_kb();
            }
            if ($i === $restartAt) {
                mark('RESTART-NOW');
                // The orchestrator restarts the database meanwhile; calls go on (and fail) during it.
                $restarted = true;
            }
        }
        try { OrderSync::flushLogs(); } catch (Throwable $e) { $r['examples'][] = describe($e); }
        result($r);
        break;
    }

    case 'probe': {
        // Scenario 7: errors whose text is most likely to carry a secret, printed in full.
        $u = parse_url(env('SFSYNC_SOAK_SERVER'));
        $pass = db_password();
        $base = sprintf('mysql://%s:%s@%s:%d', $u['user'], $pass, $u['host'], $u['port']);
        $probes = [
            'wrong port' => ['database_url' => sprintf('mysql://%s:%s@127.0.0.1:1/%s', $u['user'], $pass, $job['db'])],
            'wrong password (the password + X)' => ['database_url' => sprintf('mysql://%s:%sX@%s:%d/%s', $u['user'], $pass, $u['host'], $u['port'], $job['db'])],
            'unknown database' => ['database_url' => "$base/soak_no_such_db"],
            'malformed port' => ['database_url' => "mysql://{$u['user']}:$pass@127.0.0.1:notaport/x"],
            'unknown scheme' => ['database_url' => "postgres://{$u['user']}:$pass@127.0.0.1/x"],
            'password in the query' => ['database_url' => "$base/{$job['db']}?password=$pass&socket=/nonexistent/$pass"],
            'bad table prefix' => ['database_url' => "$base/{$job['db']}", 'table_prefix' => "x$pass'"],
            'rejected token (the token + X)' => ['database_url' => "$base/{$job['db']}", 'api_base_url' => $job['api'], 'rejected_token' => true],
        ];
        foreach ($probes as $what => $conf) {
            mark("PROBE $what");
            try {
                if (!empty($conf['rejected_token'])) {
                    unset($conf['rejected_token']);
                    pdo($job['db'])->exec("UPDATE ps_configuration SET value = CONCAT(value, 'X') WHERE name = 'SHOPPINGFEED_AUTH_TOKEN'");
                }
                OrderSync::configure($conf + ['mailer' => mailer($job)]);
                mark(json_encode(OrderSync::runCron(['lease_seconds' => 1]), JSON_INVALID_UTF8_SUBSTITUTE));
                mark(var_export(OrderSync::onOrderStatusUpdate(1, S_SHIPPED), true));
            } catch (Throwable $e) {
                mark((string) $e); // message, file, line and the trace with its arguments
            }
        }
        // The INI display of phpinfo(): a database URL set in php.ini.
        ob_start();
        phpinfo(INFO_MODULES);
        mark((string) ob_get_clean());
        result(['probes' => count($probes)]);
        break;
    }

    case 'fuzz':
        require __DIR__ . '/fuzz.php';
        fuzz_main($job);
        break;

    default:
        fwrite(STDERR, "unknown mode $mode\n");
        exit(2);
}
