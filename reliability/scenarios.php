<?php
/**
 * The scenarios of the reliability suite. Each returns
 *   ['measured' => one line of figures, 'checks' => [what => bool], 'notes' => [lines]]
 * and every check compares measured facts (simulator state, database rows, child exit status)
 * with what the README promises.
 */

declare(strict_types=1);

use Shoppingfeed\Sync\OrderSync;

const SCENARIOS = [
    1 => 'kill -9 of a CRON run at many points',
    2 => '4 overlapping CRON processes',
    3 => '8 concurrent processes firing the hook',
    4 => 'MariaDB restarted / KILLed, API down, 500s, hanging',
    5 => 'long-lived process, DB restart in the middle',
    6 => 'fuzz of every public method',
    7 => 'secrets never in any output',
    8 => 'Galera: hooks and a CRON on each of 3 nodes, a node killed and rejoined',
];

final class Ctx
{
    /** Mails the orchestrator's own runs handed to its mailer. */
    public array $mails = [];

    public function __construct(public Sim $sim, public bool $quick) {}

    /** Configures this process (the orchestrator runs the drains itself). */
    public function use(string $db, ?string $api = null): void
    {
        OrderSync::configure(['database_url' => db_url($db), 'api_base_url' => $api ?? $this->sim->url, 'table_prefix' => 'ps_',
            'http_timeout_ms' => 5000, 'mailer' => function (array $mail): bool {
                $this->mails[] = $mail;
                file_put_contents(logs_dir() . '/mails-orchestrator.jsonl', json_encode($mail) . "\n", FILE_APPEND);
                return true;
            }]);
    }

    /**
     * CRON runs until every queue is empty (leases expire meanwhile); returns [runs, seconds, errors].
     * @param list<string> $dbs
     */
    public function drain(array $dbs, float $timeout = 30, array $opts = []): array
    {
        $opts += ['lease_seconds' => 1, 'requeue_delay_minutes' => 0, 'run_budget_ms' => 20000];
        $t = microtime(true);
        $runs = 0;
        $errors = [];
        while (microtime(true) - $t < $timeout) {
            $left = 0;
            foreach ($dbs as $db) {
                $pdo = pdo_wait($db);
                if (queue_count($pdo) === 0) { continue; }
                $this->use($db);
                try {
                    $rep = OrderSync::runCron($opts);
                    foreach ($rep['shops'] as $s) { foreach ($s['errors'] as $e) { $errors[] = $e; } }
                } catch (Throwable $e) {
                    $errors[] = get_class($e) . ': ' . $e->getMessage();
                }
                // Raw, for scenario 7's grep.
                file_put_contents(logs_dir() . '/drain-errors.log', implode("\n", $errors) . "\n", FILE_APPEND);
                $runs++;
                $left += queue_count($pdo);
            }
            if ($left === 0) { break; }
            usleep(250000);
        }
        return [$runs, microtime(true) - $t, $errors];
    }
}

/** Audit line for the table. */
function audit_line(array $a): string
{
    return sprintf('%d orders: %d wrong status, %d never sent, %d duplicate sends (%d orders), %d stuck',
        $a['orders'], $a['status_mismatch'], $a['never_sent'], $a['duplicates'], $a['orders_dup'], $a['stuck']);
}

function audit_checks(array $a, int $maxDup = 0): array
{
    return [
        'every order has the status its shop says (0 lost)' => $a['status_mismatch'] === 0 && $a['never_sent'] === 0,
        "duplicates <= $maxDup" => $a['duplicates'] <= $maxDup,
        'no task left in the queue (0 stuck)' => $a['stuck'] === 0,
    ];
}

// ---------------------------------------------------------------------------------------------
// 6. Fuzz
// ---------------------------------------------------------------------------------------------

function scenario6(Ctx $c): array
{
    $total = $c->quick ? 3000 : 12000;
    $children = $c->quick ? 3 : 8;
    $db = 'soak_fuzz';
    $n = 60;
    $pdo = create_db($db, [1 => [$n, 1, 0, STORE_A]]);
    queue_all($pdo);
    $c->sim->prepare([[1, $n, STORE_A]]);
    // Some tickets fail: the hostile mailers get called.
    foreach ([3, 9, 27] as $id) { $c->sim->call('POST', '/_sim/outcomes', ['order_id' => $id, 'outcome' => 'failed', 'message' => 'Fuzz failure', 'times' => 2]); }
    $procs = [];
    $results = [];
    $crashes = [];
    for ($k = 0; $k < $children; $k++) {
        $procs[] = new Child('fuzz', ['db' => $db, 'api' => $c->sim->url, 'seed' => 1000 + $k, 'calls' => intdiv($total, $children), 'name' => "fuzz$k"], "fuzz$k");
        if (count($procs) >= 3 || $k === $children - 1) { // three at a time on two cores
            foreach ($procs as $i => $p) {
                $res = $p->wait(240);
                $p->close();
                if ($p->signal !== null || $res === null) {
                    $calls = @file(logs_dir() . '/fuzz-calls-' . (1000 + $k - count($procs) + 1 + $i) . '.log') ?: [];
                    $crashes[] = sprintf('fuzz child %s: %s; last call: %s', basename($p->log), $p->signal !== null ? "signal {$p->signal}" : "exit {$p->exit}, no result",
                        trim((string) end($calls)));
                } else {
                    $results[] = $res;
                }
            }
            $procs = [];
        }
    }
    $calls = array_sum(array_column($results, 'calls'));
    $thrown = [];
    $unexpected = [];
    $unexpectedCount = 0;
    $known = 0;
    $knownExamples = [];
    foreach ($results as $r) {
        $known += $r['known'] ?? 0;
        $knownExamples += $r['known_examples'] ?? [];
        foreach ($r['thrown'] as $k => $v) { $thrown[$k] = ($thrown[$k] ?? 0) + $v; }
        $unexpected = array_merge($unexpected, $r['unexpected']);
        $unexpectedCount += $r['unexpected_count'] ?? 0;
    }
    arsort($thrown);
    $methods = $results[0]['methods'] ?? 0;
    $integrity = queue_integrity($pdo);
    // The queue the fuzz leaves must still work: reconfigured, the CRON drains it, each order ends right.
    $c->sim->call('DELETE', '/_sim/outcomes');
    // Failed tickets were requeued with the fuzzed runs' requeue delay: the merchant waits it out.
    $pdo->exec('UPDATE ps_shoppingfeed_task_order SET update_at = NOW() WHERE update_at > NOW()');
    [$runs, , $errors] = $c->drain([$db], 30);
    $a = audit($c->sim, [$db => 0]);
    $notes = array_merge($crashes, array_slice(array_unique($unexpected), 0, 12));
    $notes[] = 'thrown: ' . json_encode($thrown);
    if ($known) { $notes[] = "known defect D1: $known plain \\Exception from ext-php-rs, e.g. " . implode(' | ', array_slice(array_map(static fn ($k, $v) => "$k: $v", array_keys($knownExamples), $knownExamples), 0, 3)); }
    $notes[] = 'integrity: ' . ($integrity ? implode(', ', $integrity) : 'ok') . "; drain: $runs runs; " . audit_line($a);
    if ($errors) { $notes[] = 'drain errors: ' . implode(' | ', array_slice(array_unique($errors), 0, 3)); }
    return [
        'measured' => sprintf('%d calls of %d methods (%d classes) in %d processes: %d crashes, %d unexpected throwables (+%d of known defect D1); queue %s, then drained: %d wrong status',
            $calls, $methods, count($results[0]['classes'] ?? []), $children, count($crashes), $unexpectedCount, $known, $integrity ? 'CORRUPTED' : 'intact', $a['status_mismatch']),
        'checks' => [
            ">= 10,000 calls (quick: >= 3,000)" => $calls >= ($c->quick ? 3000 : 10000),
            '0 crashes (no signal exit)' => $crashes === [],
            'only TypeError/ValueError/ArgumentCountError or the extension\'s exceptions' => $unexpectedCount === 0,
            'queue not corrupted' => $integrity === [],
            // D1 (README), fixed: checked in --quick too, so ./dev test keeps it fixed.
            'D1: no plain \\Exception from ext-php-rs (new OrderSync, override without parent::__construct)' => $known === 0,
        ] + [
            'the queue still drains, every order right' => $a['status_mismatch'] === 0 && $a['stuck'] === 0,
        ],
        'notes' => $notes,
    ];
}

// ---------------------------------------------------------------------------------------------
// 1. kill -9
// ---------------------------------------------------------------------------------------------

/** A kill point, prepared by the orchestrator, in rotation. */
const KILL_POINTS = ['random', 'claim', 'post_in_flight', 'accepted_not_saved', 'ticket_check', 'mail'];

function scenario1(Ctx $c): array
{
    $n = $c->quick ? 300 : 1000;
    $kills = $c->quick ? 6 : 102;
    $db = 'soak_kill';
    $pdo = create_db($db, [1 => [$n, 1, 0, STORE_A]]);
    $opts = ['lease_seconds' => 1, 'requeue_delay_minutes' => 0, 'run_budget_ms' => 30000];
    $sum = ['kills' => 0, 'dup' => 0, 'lost' => 0, 'stuck' => 0, 'inflight' => 0, 'over' => 0, 'mail_lost' => 0, 'never' => 0, 'recovery_s' => 0.0];
    $phases = [];
    $notes = [];
    $runMs = null;
    $byPhase = [];
    mt_srand(42);
    // A point may be missed (the run ended before it): the rotation goes on until enough kills landed.
    for ($it = 0; $sum['kills'] < $kills && $it < 2 * $kills; $it++) {
        $point = KILL_POINTS[$it % count(KILL_POINTS)];
        queue_all($pdo);
        $pdo->exec('DELETE FROM ps_shoppingfeed_processlogger');
        $c->sim->prepare([[1, $n, STORE_A]], ['latency' => ['range' => ['min_ms' => 5, 'max_ms' => 40]]]);
        // A few orders fail once: the run has e-mails to send, and those orders are sent twice by design.
        $failing = [];
        for ($f = 0; $f < 4; $f++) { $failing[mt_rand(1, $n)] = 2; }
        foreach (array_keys($failing) as $id) {
            $c->sim->call('POST', '/_sim/outcomes', ['order_id' => $id, 'outcome' => 'failed', 'message' => 'Carrier refused', 'times' => 1]);
        }
        $c->mails = [];
        @unlink(logs_dir() . '/mails-kill.jsonl');
        if (in_array($point, ['ticket_check', 'mail'], true)) {
            // These points need batches waiting: one clean run sends everything first.
            $c->use($db);
            OrderSync::runCron($opts);
        }
        if ($point === 'claim') {
            // The claim's lease UPDATE made slow by a trigger on a few rows, so the kill lands inside it.
            $pdo->exec("CREATE TRIGGER soak_slow_claim BEFORE UPDATE ON ps_shoppingfeed_task_order FOR EACH ROW
                BEGIN IF NEW.lease_owner IS NOT NULL AND OLD.lease_owner IS NULL AND NEW.action = 'SYNC_STATUS' AND NEW.id_order % 40 = 0 THEN
                SET @soak = SLEEP(0.04); END IF; END");
        }
        $k = mt_rand(1, max(1, intdiv($n, 100)));
        if ($point === 'random' && $runMs === null) {
            // Calibration: how long a whole run of this queue takes, so that random kills spread over it.
            $c->use($db);
            $t0 = hrtime(true);
            OrderSync::runCron($opts);
            $runMs = (hrtime(true) - $t0) / 1e6;
            queue_all($pdo);
            $c->sim->prepare([[1, $n, STORE_A]], ['latency' => ['range' => ['min_ms' => 5, 'max_ms' => 40]]]);
            foreach (array_keys($failing) as $id) {
                $c->sim->call('POST', '/_sim/outcomes', ['order_id' => $id, 'outcome' => 'failed', 'message' => 'Carrier refused', 'times' => 1]);
            }
        }
        if ($point === 'post_in_flight') { $c->sim->fault(['route' => 'order_op', 'nth' => $k, 'fault' => ['kind' => 'hang', 'seconds' => 20]]); }
        if ($point === 'accepted_not_saved') { $c->sim->fault(['route' => 'order_op', 'nth' => $k, 'fault' => ['kind' => 'drop_response', 'after_seconds' => 20]]); }
        if ($point === 'ticket_check') { $c->sim->fault(['route' => 'ticket_list', 'nth' => $k, 'fault' => ['kind' => 'hang', 'seconds' => 20]]); }
        $child = new Child('cron', ['db' => $db, 'api' => $c->sim->url, 'opts' => $opts, 'runs' => 1, 'mailer_sleep_ms' => 300, 'name' => 'kill'], 'kill');
        $child->waitFor('RUN-START', 20);
        $hit = match ($point) {
            'random' => (static function () use ($runMs) { usleep(mt_rand(0, (int) ($runMs * 1000))); return true; })(),
            'claim' => wait_until(static fn () => (int) pdo()->query("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%SET lease_owner%' AND DB = 'soak_kill'")->fetchColumn() > 0, 10),
            'post_in_flight', 'accepted_not_saved' => wait_until(static fn () => in_flight_fault($c->sim, 'order_op'), 10),
            'ticket_check' => wait_until(static fn () => in_flight_fault($c->sim, 'ticket_list'), 10),
            'mail' => $child->waitFor('MAIL-ENTER', 20),
        };
        if ($point === 'accepted_not_saved') { usleep(30000); } // the batch is created before the answer is withheld
        $child->kill(9);
        $child->wait(10);
        $child->close();
        // What the kill interrupted, from the evidence (the point aimed at may have been missed).
        $out = $child->read();
        $leased = (int) $pdo->query('SELECT COUNT(*) FROM ps_shoppingfeed_task_order WHERE lease_owner IS NOT NULL')->fetchColumn();
        $reqs = $c->sim->requests();
        $postsOpen = count(array_filter($reqs, static fn ($r) => $r['route'] === 'order_op' && $r['status'] === null));
        $checksOpen = count(array_filter($reqs, static fn ($r) => $r['route'] === 'ticket_list' && $r['status'] === null));
        $phase = match (true) {
            !$hit => "$point (missed: run ended first)",
            $child->signal === null => 'after the run (not killed)',
            str_contains($out, 'MAIL-ENTER') && !str_contains($out, 'MAIL-DONE') => 'in the mailer',
            $point === 'accepted_not_saved' && $postsOpen > 0 => 'POST accepted, batch id not saved',
            $postsOpen > 0 => 'POST in flight',
            $checksOpen > 0 => 'ticket check in flight',
            $point === 'claim' => 'inside the claim',
            $leased > 0 => 'tasks leased, between steps',
            default => 'between steps (nothing leased)',
        };
        $phases[$phase] = ($phases[$phase] ?? 0) + 1;
        if (!$hit) { $notes[] = "kill $it: $point missed; the child printed: " . substr(str_replace("\n", ' ', $out), -300); }
        if ($point === 'claim') { $pdo->exec('DROP TRIGGER IF EXISTS soak_slow_claim'); }
        $c->sim->clearFaults();
        [, $secs, $errors] = $c->drain([$db], 30, $opts);
        $a = audit($c->sim, [$db => 0], $failing);
        // Every failed ticket must reach an accepted e-mail (mails of the killed child and of the drains).
        $mailed = [];
        $lines = array_merge(array_map(static fn ($m) => $m['template_vars']['{list_order_sync_errors_txt}'] ?? '', $c->mails),
            array_map(static fn ($l) => json_decode($l, true)['template_vars']['{list_order_sync_errors_txt}'] ?? '', @file(logs_dir() . '/mails-kill.jsonl') ?: []));
        foreach ($lines as $t) { if (preg_match_all('/^- Order R(\d+) :/m', $t, $m)) { foreach ($m[1] as $id) { $mailed[(int) $id] = true; } } }
        $mailLost = count(array_diff_key($a['failed_seen'], $mailed));
        $sum['kills'] += $child->signal === 9 ? 1 : 0;
        $sum['dup'] += $a['duplicates'];
        $sum['lost'] += $a['status_mismatch'];
        $sum['never'] += $a['never_sent'];
        $sum['stuck'] += $a['stuck'];
        $sum['inflight'] += $leased;
        $sum['mail_lost'] += $mailLost;
        $sum['recovery_s'] = max($sum['recovery_s'], $secs);
        if ($a['duplicates'] > $leased) { $sum['over']++; }
        $byPhase[$phase] ??= ['kills' => 0, 'leased' => 0, 'dup' => 0];
        $byPhase[$phase]['kills']++;
        $byPhase[$phase]['leased'] += $leased;
        $byPhase[$phase]['dup'] += $a['duplicates'];
        if ($a['status_mismatch'] || $a['stuck'] || $a['duplicates'] > $leased || $mailLost || $a['never_sent']) {
            $notes[] = "kill $it ($phase): leased $leased; " . audit_line($a) . "; $mailLost failure e-mails lost; " . implode(' / ', $a['examples'])
                . ($errors ? ' drain errors: ' . implode(' | ', array_slice(array_unique($errors), 0, 2)) : '');
        }
    }
    ksort($byPhase);
    $notes[] = 'per kill point (kills, tasks leased at the kill, duplicate sends):';
    foreach ($byPhase as $ph => $x) { $notes[] = sprintf('  %-40s %4d kills %6d leased %5d duplicates', $ph, $x['kills'], $x['leased'], $x['dup']); }
    return [
        'measured' => sprintf('%d kills over %d tasks (%d kinds of point): %d lost, %d stuck, %d duplicate sends for %d tasks leased at the kills, %d failure e-mails lost; slowest recovery %.1f s',
            $sum['kills'], $n, count($phases), $sum['lost'] + $sum['never'], $sum['stuck'], $sum['dup'], $sum['inflight'], $sum['mail_lost'], $sum['recovery_s']),
        'checks' => [
            ($c->quick ? '>= 6' : '>= 100') . ' kill -9 landed' => $sum['kills'] >= ($c->quick ? 6 : 100),
            '0 tasks lost' => $sum['lost'] === 0 && $sum['never'] === 0,
            'duplicates <= tasks in flight at each kill' => $sum['over'] === 0,
            'no task stuck' => $sum['stuck'] === 0,
            'no failure e-mail lost' => $sum['mail_lost'] === 0,
        ],
        'notes' => $notes,
    ];
}

function wait_until(callable $cond, float $timeout): bool
{
    $end = microtime(true) + $timeout;
    while (microtime(true) < $end) {
        if ($cond()) { return true; }
        usleep(3000);
    }
    return false;
}

/** A request of that route held by a fault (hang, drop_response) and not answered yet. */
function in_flight_fault(Sim $sim, string $route): bool
{
    foreach ($sim->call('GET', "/_sim/requests?route=$route")['requests'] as $r) {
        if ($r['status'] === null && $r['fault'] !== null) { return true; }
    }
    return false;
}

// ---------------------------------------------------------------------------------------------
// 3. Concurrent hooks
// ---------------------------------------------------------------------------------------------

function scenario3(Ctx $c): array
{
    $seconds = $c->quick ? 10 : 30;
    $n = 100;
    $db = 'soak_hooks';
    $pdo = create_db($db, [1 => [$n, 1, 0, STORE_A]]);
    $c->sim->prepare([[1, $n, STORE_A]], ['latency' => ['range' => ['min_ms' => 2, 'max_ms' => 20]]]);
    $orders = range(1, $n);
    $states = [S_SHIPPED, S_DELIVERED, S_CANCELED, S_REFUNDED];
    $procs = [];
    for ($k = 0; $k < 8; $k++) {
        $procs[] = new Child('hooks', ['db' => $db, 'api' => $c->sim->url, 'seed' => 300 + $k, 'seconds' => $seconds, 'orders' => $orders, 'states' => $states, 'name' => "hooks$k"], "hooks$k");
    }
    // A CRON sends meanwhile, so that state changes land while their order's request is on the wire.
    $cron = new Child('cron', ['db' => $db, 'api' => $c->sim->url, 'opts' => ['lease_seconds' => 2, 'requeue_delay_minutes' => 0], 'seconds' => $seconds,
        'pause_ms' => 100, 'name' => 'hooks-cron'], 'hooks-cron');
    $maxDupPending = 0;
    $samples = 0;
    $end = microtime(true) + $seconds;
    while (microtime(true) < $end) {
        $d = (int) $pdo->query("SELECT COUNT(*) FROM (SELECT id_order FROM ps_shoppingfeed_task_order WHERE action = 'SYNC_STATUS' GROUP BY id_order HAVING COUNT(*) > 1) x")->fetchColumn();
        $maxDupPending = max($maxDupPending, $d);
        $samples++;
        usleep(100000);
    }
    $calls = 0;
    $exceptions = [];
    $exCount = 0;
    $deadlocks = 0;
    $crashed = 0;
    foreach ($procs as $p) {
        $r = $p->wait($seconds + 60);
        $p->close();
        if ($r === null) { $crashed++; continue; }
        $calls += $r['calls'];
        $exCount += $r['exception_count'] ?? 0;
        $deadlocks += $r['deadlocks'];
        $exceptions = array_merge($exceptions, $r['exceptions']);
    }
    $cr = $cron->wait(60);
    $cron->close();
    $dupNow = (int) $pdo->query("SELECT COUNT(*) FROM (SELECT id_order FROM ps_shoppingfeed_task_order WHERE action = 'SYNC_STATUS' GROUP BY id_order HAVING COUNT(*) > 1) x")->fetchColumn();
    $maxDupPending = max($maxDupPending, $dupNow);
    [$runs, $secs, $errors] = $c->drain([$db], 30);
    $a = audit($c->sim, [$db => 0], array_fill_keys($orders, PHP_INT_MAX));
    $notes = array_slice(array_unique($exceptions), 0, 5);
    $notes[] = sprintf('CRON meanwhile: %d runs, %d statuses sent, %d exceptions; drain: %d runs in %.1f s; %s', $cr['runs'] ?? 0, $cr['sent'] ?? 0, count($cr['exceptions'] ?? []), $runs, $secs, audit_line($a));
    foreach ($a['examples'] as $e) { $notes[] = $e; }
    if ($errors) { $notes[] = 'drain errors: ' . implode(' | ', array_slice(array_unique($errors), 0, 3)); }
    return [
        'measured' => sprintf('%d hook calls in %d s by 8 processes on %d orders (+ a CRON): %d exceptions (%d deadlocks), max %d duplicate pending rows in %d samples; final status wrong for %d orders',
            $calls, $seconds, $n, $exCount, $deadlocks, $maxDupPending, $samples, $a['status_mismatch']),
        'checks' => [
            'no process crashed' => $crashed === 0,
            '0 duplicate pending rows' => $maxDupPending === 0,
            'no exception (no deadlock) surfaces to PHP' => $exCount === 0,
            'the last state written wins (simulator = shop for every order)' => $a['status_mismatch'] === 0,
            'no task left in the queue' => $a['stuck'] === 0,
        ],
        'notes' => $notes,
    ];
}

// ---------------------------------------------------------------------------------------------
// 2. Overlapping CRON processes
// ---------------------------------------------------------------------------------------------

function scenario2(Ctx $c): array
{
    $n = $c->quick ? 1000 : 5000;
    $half = intdiv($n, 2);
    $quarter = intdiv($n, 4);
    $lat = ['latency' => ['range' => ['min_ms' => 5, 'max_ms' => 30]]];
    $checks = [];
    $parts = [];
    $notes = [];
    $variants = [
        // [label, mode, databases => [shops], Shopping Feed id offsets]
        ['runCron', 'cron', ['soak_over_a' => [1 => [$half, 1, 0, STORE_A], 2 => [$half, $half + 1, 0, STORE_B]]]],
        ['conveyor (no CRON lock: leases only)', 'conveyor', ['soak_over_a' => null]],
        ['runCron on 2 databases', 'cron', ['soak_over_a' => [1 => [$quarter, 1, 0, STORE_A], 2 => [$quarter, $quarter + 1, 0, STORE_B]],
            'soak_over_b' => [1 => [$quarter, 1, 100000, STORE_A], 2 => [$quarter, $quarter + 1, 100000, STORE_B]]]],
    ];
    foreach ($variants as [$label, $mode, $dbs]) {
        $offsets = [];
        $ranges = [];
        foreach ($dbs as $db => $shops) {
            if ($shops !== null) { create_db($db, $shops); }
            $pdo = pdo($db);
            queue_all($pdo);
            foreach ($pdo->query('SELECT o.id_shop, MIN(o.id_order) lo, MAX(o.id_order) hi, MIN(CAST(s.id_internal_shoppingfeed AS SIGNED) - o.id_order) off
                FROM ps_orders o JOIN ps_shoppingfeed_order s USING (id_order) GROUP BY o.id_shop') as $r) {
                $ranges[] = [(int) $r['lo'] + (int) $r['off'], (int) $r['hi'] + (int) $r['off'], (int) $r['id_shop'] === 1 ? STORE_A : STORE_B];
                $offsets[$db] = (int) $r['off'];
            }
        }
        $c->sim->prepare($ranges, $lat);
        $procs = [];
        $t = microtime(true);
        for ($k = 0; $k < 4; $k++) {
            $procs[] = $mode === 'cron'
                ? new Child('cron', ['dbs' => array_keys($dbs), 'api' => $c->sim->url, 'opts' => ['run_budget_ms' => 300], 'until_empty' => true, 'pause_ms' => 20, 'seconds' => 120, 'name' => "over$k"], "over$k")
                : new Child('conveyor', ['db' => array_key_first($dbs), 'shops' => [1, 2], 'api' => $c->sim->url, 'seconds' => 120, 'name' => "over$k"], "over$k");
        }
        $runs = 0; $locked = 0; $ex = [];
        foreach ($procs as $p) {
            $r = $p->wait(150);
            $p->close();
            $runs += $r['runs'] ?? $r['rounds'] ?? 0;
            $locked += $r['locked'] ?? 0;
            $ex = array_merge($ex, $r['exceptions'] ?? ['no result']);
        }
        $secs = microtime(true) - $t;
        $a = audit($c->sim, $offsets);
        $parts[] = sprintf('%s: %d tasks in %.1f s, %d runs (%d found the lock taken), %d sent twice, %d wrong status, %d stuck',
            $label, $a['orders'], $secs, $runs, $locked, $a['duplicates'], $a['status_mismatch'] + $a['never_sent'], $a['stuck']);
        $checks["$label: 0 orders sent twice"] = $a['duplicates'] === 0;
        $checks["$label: all sent, every status right"] = $a['status_mismatch'] === 0 && $a['never_sent'] === 0 && $a['stuck'] === 0;
        $checks["$label: no exception"] = $ex === [];
        foreach (array_merge(array_slice(array_unique($ex), 0, 3), $a['examples']) as $e) { $notes[] = "$label: $e"; }
    }
    return ['measured' => implode('; ', $parts), 'checks' => $checks, 'notes' => $notes];
}

// ---------------------------------------------------------------------------------------------
// 4. Outages
// ---------------------------------------------------------------------------------------------

/** KILLs every connection of the extension's user but this one; returns how many. */
function kill_connections(): int
{
    $pdo = pdo_wait();
    $ids = $pdo->query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'sfsync' AND ID <> CONNECTION_ID() AND DB LIKE 'soak\\_%'")->fetchAll(PDO::FETCH_COLUMN);
    foreach ($ids as $id) { try { $pdo->exec("KILL $id"); } catch (PDOException $e) { /* already gone */ } }
    return count($ids);
}

function scenario4(Ctx $c): array
{
    $n = $c->quick ? 200 : 400;
    $db = 'soak_out';
    $pdo = create_db($db, [1 => [$n, 1, 0, STORE_A]]);
    $opts = ['lease_seconds' => 2, 'requeue_delay_minutes' => 0];
    $outage = $c->quick ? 4 : 60; // seconds of 500s ("for a minute")
    $cases = [
        'DB restarted mid-send' => ['send', 'order_op', static function () { db_ctl('stop'); usleep(500000); db_ctl('start'); }],
        'DB restarted mid-check' => ['check', 'ticket_list', static function () { db_ctl('stop'); usleep(500000); db_ctl('start'); }],
        'connections KILLed mid-send' => ['send', 'order_op', static fn () => kill_connections()],
        'connections KILLed mid-check' => ['check', 'ticket_list', static fn () => kill_connections()],
        'API down (simulator killed) mid-send' => ['send', 'order_op', null],
        "API answering 500 for {$outage} s" => ['500', null, null],
        'API hanging' => ['hang', null, null],
    ];
    $checks = [];
    $parts = [];
    $notes = [];
    foreach ($cases as $label => [$phase, $route, $disturb]) {
        // SOAK_CASE=text runs only the cases whose label contains it (to reproduce one).
        if (getenv('SOAK_CASE') && !str_contains($label, (string) getenv('SOAK_CASE'))) { continue; }
        $pdo = pdo_wait($db);
        queue_all($pdo);
        $sim = $c->sim;
        $own = null;
        if (str_starts_with($label, 'API down')) { $own = new Sim(0, 'sim-down'); $sim = $own; }
        $sim->prepare([[1, $n, STORE_A]]);
        if ($phase === 'check') { $c->use($db, $sim->url); OrderSync::runCron($opts); } // batches to check
        if ($route !== null) { $sim->call('POST', '/_sim/settings', ['route_latency' => [$route => ['fixed' => ['ms' => 400]]]]); }
        if ($phase === '500') { $rule = $sim->fault(['route' => 'order_op', 'fault' => ['kind' => 'status', 'status' => 500, 'body' => 'html']]); }
        if ($phase === 'hang') { $sim->fault(['route' => 'order_op', 'fault' => ['kind' => 'hang']]); }
        $job = ['db' => $db, 'api' => $sim->url, 'opts' => $opts, 'http_timeout_ms' => 2000, 'name' => 'out'];
        $child = new Child('cron', $job + ($phase === '500' ? ['seconds' => $outage, 'pause_ms' => 500] : ['runs' => 1]), 'out');
        $t = microtime(true);
        $hit = true;
        if ($route !== null) {
            $hit = wait_until(static fn () => $sim->postsInFlight($route) > 0, 20);
            if ($own !== null) {
                $batches = $own->call('GET', '/_sim/stats')['batches'];
                if ($batches > 0) { $notes[] = "$label: $batches batches accepted before the stop (their tickets die with the simulator)"; }
                $port = $own->port;
                // SIGKILL: a graceful stop would still answer the requests it holds.
                $own->crash();
            } else {
                $disturb();
            }
        }
        $r = $child->wait(120);
        $child->close();
        $dur = microtime(true) - $t;
        if ($phase === '500' || $phase === 'hang') { $sim->clearFaults(); }
        if ($own !== null) { $own = new Sim($port, 'sim-down'); $sim = $own; $sim->prepare([[1, $n, STORE_A]]); }
        $sim->call('POST', '/_sim/settings', ['route_latency' => (object) []]);
        // The API-down case drains against its own simulator, the others against the main one.
        [$runs, $secs, $errors] = $own !== null ? drain_with($c, $db, $own->url) : $c->drain([$db], 60);
        $a = audit($sim, [$db => 0]);
        if ($own !== null) { $own->stop(); }
        $ex = $r['exceptions'] ?? ['no result (crashed or hung)'];
        $clear = array_filter($ex, static fn ($e) => !str_starts_with($e, 'Shoppingfeed\\Sync\\DatabaseException: '));
        $how = $ex === [] ? sprintf('returned (%d runs, %d errors reported)', $r['runs'], $r['errors']) : 'threw ' . substr($ex[0], 0, 60);
        $parts[] = sprintf('%s: %s in %.1f s; next runs finished in %.1f s; %d lost, %d dup, %d stuck',
            $label, $how, $dur, $secs, $a['status_mismatch'] + $a['never_sent'], $a['duplicates'], $a['stuck']);
        if ($ex !== []) { $notes[] = "$label: " . implode(' | ', array_slice(array_unique($ex), 0, 2)); }
        if (!empty($r['first_errors'])) { $notes[] = "$label: reported: " . substr(implode(' | ', array_slice($r['first_errors'], 0, 2)), 0, 300); }
        $checks["$label: disturbance hit the run"] = $hit;
        $checks["$label: runCron returned or threw a DatabaseException"] = $r !== null && $clear === [];
        $checks["$label: the next runs finished the work, 0 lost"] = $a['status_mismatch'] === 0 && $a['never_sent'] === 0 && $a['stuck'] === 0;
    }
    return ['measured' => implode('; ', $parts), 'checks' => $checks, 'notes' => $notes];
}

/** Drain against another simulator. */
function drain_with(Ctx $c, string $db, string $api): array
{
    $t = microtime(true);
    $runs = 0;
    $errors = [];
    while (microtime(true) - $t < 60 && queue_count(pdo_wait($db)) > 0) {
        $c->use($db, $api);
        try {
            $rep = OrderSync::runCron(['lease_seconds' => 1, 'requeue_delay_minutes' => 0]);
            foreach ($rep['shops'] as $s) { foreach ($s['errors'] as $e) { $errors[] = $e; } }
        } catch (Throwable $e) { $errors[] = get_class($e) . ': ' . $e->getMessage(); }
        $runs++;
        usleep(250000);
    }
    return [$runs, microtime(true) - $t, $errors];
}

// ---------------------------------------------------------------------------------------------
// 5. Long-lived process
// ---------------------------------------------------------------------------------------------

function scenario5(Ctx $c): array
{
    $hooks = $c->quick ? 2000 : 10000;
    $n = 500;
    $db = 'soak_long';
    create_db($db, [1 => [$n, 1, 0, STORE_A]]);
    $c->sim->prepare([[1, $n, STORE_A]]);
    $child = new Child('longlived', ['db' => $db, 'api' => $c->sim->url, 'hooks' => $hooks, 'cron_every' => 100, 'orders' => range(1, $n),
        'states' => [S_SHIPPED, S_CANCELED, S_REFUNDED], 'opts' => ['lease_seconds' => 2, 'requeue_delay_minutes' => 0], 'http_timeout_ms' => 3000, 'name' => 'long'], 'long');
    $restarted = $child->waitFor('RESTART-NOW', 300);
    if ($restarted) { db_ctl('stop'); usleep(500000); db_ctl('start'); }
    $r = $child->wait(300);
    $child->close();
    [$runs, $secs] = $c->drain([$db], 30);
    $a = audit($c->sim, [$db => 0], array_fill_keys(range(1, $n), PHP_INT_MAX));
    $rss = $r['rss_kb'] ?? [];
    $marks = array_keys($rss);
    $at = static function (float $f) use ($rss, $marks): int { return $marks === [] ? 0 : $rss[$marks[(int) floor((count($marks) - 1) * $f)]]; };
    $first = $at(0.0); $quarter = $at(0.25); $last = $at(1.0);
    $growth = $last - $quarter;
    $notes = array_slice($r['examples'] ?? [], 0, 4);
    $notes[] = 'shop writes failed (database down) from call ' . implode(' to ', $r['outage_calls'] ?? ['-']);
    $notes[] = 'RSS (kB) after each runCron: ' . implode(' ', array_map(static fn ($k) => "$k:{$rss[$k]}", array_slice($marks, 0, count($marks), true)));
    $notes[] = audit_line($a);
    return [
        'measured' => sprintf('%d hook calls + %d runCron in one process, DB restarted at call %d: %d hook / %d runCron / %d flushLogs exceptions (%d shop writes failed) during the outage, %d after it; RSS %.1f MB after the first runCron, %.1f at 25%%, %.1f at the end (+%.1f MB over the last 75%%); %d wrong status',
            $r['hooks'] ?? 0, $r['crons'] ?? 0, intdiv($hooks, 2), $r['hook_exceptions'] ?? 0, $r['cron_exceptions'] ?? 0, $r['flush_exceptions'] ?? 0, $r['shop_writes_failed'] ?? 0, $r['late_exceptions'] ?? 0,
            $first / 1024, $quarter / 1024, $last / 1024, $growth / 1024, $a['status_mismatch']),
        'checks' => [
            'the database was restarted in the middle' => $restarted,
            'the process lived to the end' => $r !== null,
            'the pool reconnected by itself (no exception in the last quarter, no reconfigure)' => $r !== null && ($r['late_exceptions'] ?? 0) === 0 && ($r['ok_after_restart'] ?? 0) > 0,
            // A leak of 1 kB per call would add about 7 MB over the last 7,500 calls.
            'RSS growth over the last 75% below 8 MB' => $growth < 8 * 1024,
            'every order ends with its last state' => $a['status_mismatch'] === 0 && $a['stuck'] === 0,
        ],
        'notes' => $notes,
    ];
}

// ---------------------------------------------------------------------------------------------
// 7. Secrets
// ---------------------------------------------------------------------------------------------

function scenario7(Ctx $c): array
{
    $db = 'soak_probe';
    create_db($db, [1 => [5, 1, 0, STORE_A]]);
    queue_all(pdo($db));
    $c->sim->prepare([[1, 5, STORE_A]]);
    // Errors most likely to echo a secret, with the database URL also set in php.ini.
    $probe = new Child('probe', ['db' => $db, 'api' => $c->sim->url, 'name' => 'probe'], 'probe', ['-d', 'shoppingfeed_sync.database_url=' . db_url($db), '-d', 'zend.exception_ignore_args=0']);
    $pr = $probe->wait(120);
    $probe->close();
    // Everything the suite's processes wrote, what the simulator received, what the databases hold.
    file_put_contents(logs_dir() . '/sim-requests.json', json_encode($c->sim->call('GET', '/_sim/requests')));
    $secrets = ['the API token' => token(), 'the DB password' => db_password()];
    $hits = [];
    $files = 0;
    $bytes = 0;
    $paths = array_merge(glob(logs_dir() . '/*') ?: [], [root() . '/.dev/soak-db/mysqld.err'], glob(__DIR__ . '/results/*') ?: []);
    foreach ($paths as $f) {
        $text = (string) @file_get_contents($f);
        $files++;
        $bytes += strlen($text);
        foreach ($secrets as $what => $s) {
            if (str_contains($text, $s)) { $hits[] = "$what in " . substr($f, strlen(root()) + 1); }
        }
    }
    $rows = 0;
    $pdo = pdo();
    foreach ($pdo->query("SHOW DATABASES LIKE 'soak\\_%'")->fetchAll(PDO::FETCH_COLUMN) as $d) {
        foreach (['shoppingfeed_processlogger' => 'msg', 'shoppingfeed_sync_notice' => 'reason', 'shoppingfeed_task_order' => 'last_error', 'shoppingfeed_processmonitor' => 'data'] as $t => $col) {
            foreach ($pdo->query("SELECT `$col` FROM `$d`.ps_$t") as $row) {
                $rows++;
                foreach ($secrets as $what => $s) {
                    if (str_contains((string) $row[$col], $s)) { $hits[] = "$what in $d.ps_$t.$col"; }
                }
            }
        }
    }
    $hits = array_values(array_unique($hits));
    return [
        'measured' => sprintf('%d probes (bad URLs carrying the password, a rejected token, phpinfo()); grepped %d files (%.1f MB: every child output, exception, report, mail, the simulator log, the MariaDB log) and %d log/notice/task rows: %d places with a secret',
            $pr['probes'] ?? 0, $files, $bytes / 1048576, $rows, count($hits)),
        'checks' => [
            'the probes ran' => $pr !== null,
            'the token never appears' => !array_filter($hits, static fn ($h) => str_starts_with($h, 'the API token')),
            'the DB password never appears' => !array_filter($hits, static fn ($h) => str_starts_with($h, 'the DB password')),
        ],
        'notes' => array_slice($hits, 0, 10),
    ];
}

// ---------------------------------------------------------------------------------------------
// 8. Galera cluster
// ---------------------------------------------------------------------------------------------

/** Runs `$f` with the suite's server (`db_url`, `pdo`, new children) on Galera node `$n` (1-3). */
function on_node(int $n, callable $f): mixed
{
    $saved = env('SFSYNC_SOAK_SERVER');
    $u = parse_url(env('SFSYNC_SOAK_GALERA'));
    putenv(sprintf('SFSYNC_SOAK_SERVER=mysql://%s:%s@%s:%d', $u['user'], $u['pass'] ?? '', $u['host'], (int) $u['port'] + $n - 1));
    try { return $f(); } finally { putenv("SFSYNC_SOAK_SERVER=$saved"); }
}

/** ./dev db VERB --galera NODE; returns its seconds. */
function galera_ctl(string $verb, int $node): float
{
    $t = microtime(true);
    $out = [];
    exec(env('SFSYNC_SOAK_GALERA_CTL') . ' ' . escapeshellarg($verb) . " --galera $node 2>&1", $out, $rc);
    file_put_contents(logs_dir() . '/galera_ctl.log', implode("\n", $out) . "\n", FILE_APPEND);
    if ($rc !== 0) { throw new RuntimeException("galera $verb $node failed: " . redact(implode(' ', array_slice($out, -5)))); }
    return microtime(true) - $t;
}

function scenario8(Ctx $c): array
{
    if ((string) getenv('SFSYNC_SOAK_GALERA') === '') {
        return ['measured' => 'no cluster', 'checks' => ['the Galera cluster runs (./dev soak starts it)' => false], 'notes' => []];
    }
    return on_node(1, static function () use ($c): array {
        $hooks = galera_hooks($c);
        $kill = galera_kill($c);
        return ['measured' => $hooks['measured'] . '; ' . $kill['measured'], 'checks' => $hooks['checks'] + $kill['checks'],
            'notes' => array_merge($hooks['notes'], $kill['notes'])];
    });
}

/** Hooks on every node for the same orders, a CRON looping on every node: the last state wins. */
function galera_hooks(Ctx $c): array
{
    $seconds = $c->quick ? 8 : 30;
    $n = 100;
    $db = 'soak_galera_hooks';
    $pdo = create_db($db, [1 => [$n, 1, 0, STORE_A]]);
    $c->sim->prepare([[1, $n, STORE_A]], ['latency' => ['range' => ['min_ms' => 2, 'max_ms' => 20]]]);
    $orders = range(1, $n);
    $states = [S_SHIPPED, S_DELIVERED, S_CANCELED, S_REFUNDED];
    $procs = [];
    $crons = [];
    foreach ([1, 2, 3] as $node) {
        on_node($node, static function () use (&$procs, &$crons, $node, $db, $c, $seconds, $orders, $states): void {
            foreach ([0, 1] as $k) {
                $procs[] = new Child('hooks', ['db' => $db, 'api' => $c->sim->url, 'seed' => 800 + 10 * $node + $k, 'seconds' => $seconds,
                    'orders' => $orders, 'states' => $states, 'name' => "galera-hooks$node-$k"], "galera-hooks$node-$k");
            }
            $crons[] = new Child('cron', ['db' => $db, 'api' => $c->sim->url, 'opts' => ['lease_seconds' => 2, 'requeue_delay_minutes' => 0],
                'seconds' => $seconds, 'pause_ms' => 100, 'name' => "galera-cron$node"], "galera-cron$node");
        });
    }
    $dupPending = 0;
    $end = microtime(true) + $seconds;
    while (microtime(true) < $end) {
        $dupPending = max($dupPending, (int) $pdo->query("SELECT COUNT(*) FROM (SELECT id_order FROM ps_shoppingfeed_task_order WHERE action = 'SYNC_STATUS' GROUP BY id_order HAVING COUNT(*) > 1) x")->fetchColumn());
        usleep(100000);
    }
    $calls = 0; $exCount = 0; $shopFailures = 0; $crashed = 0; $ex = [];
    foreach ($procs as $p) {
        $r = $p->wait($seconds + 60);
        $p->close();
        if ($r === null) { $crashed++; continue; }
        $calls += $r['calls'];
        $exCount += $r['exception_count'] ?? 0;
        $shopFailures += $r['shop_write_failures'] ?? 0;
        $ex = array_merge($ex, $r['exceptions']);
    }
    $cronRuns = 0; $cronSent = 0; $cronEx = [];
    foreach ($crons as $p) {
        $r = $p->wait(60);
        $p->close();
        if ($r === null) { $crashed++; continue; }
        $cronRuns += $r['runs'];
        $cronSent += $r['sent'];
        $cronEx = array_merge($cronEx, $r['exceptions']);
    }
    [$runs, $secs, $errors] = $c->drain([$db], 30);
    $a = audit($c->sim, [$db => 0], array_fill_keys($orders, PHP_INT_MAX));
    // The simulator applies a ticket when it is polled; three runners poll their own batches, so
    // an older ticket may be applied after a newer one. What the shop guarantees is the order of
    // its POSTs: the last operation sent for an order (tickets are listed in the order they were
    // created) must be its last state.
    $lastSent = [];
    foreach ($c->sim->tickets() as $t) { $lastSent[(int) ($t['payload']['id'] ?? 0)] = $t['type']; }
    $opStatus = ['order.notify.shipment' => 'shipped', 'order.notify.delivery' => 'shipped', 'order.notify.cancellation' => 'cancelled', 'order.notify.refund' => 'refunded'];
    $lastWrong = 0;
    $examples = [];
    foreach ($pdo->query('SELECT id_order, current_state FROM ps_orders') as $o) {
        $want = EXPECTED[(int) $o['current_state']] ?? null;
        $got = $opStatus[$lastSent[(int) $o['id_order']] ?? ''] ?? null;
        if ($want !== $got) {
            $lastWrong++;
            if (count($examples) < 5) { $examples[] = "order {$o['id_order']}: shop state {$o['current_state']}, last sent " . var_export($lastSent[(int) $o['id_order']] ?? null, true); }
        }
    }
    $bad = queue_integrity($pdo);
    $notes = array_slice(array_unique(array_merge($ex, $cronEx)), 0, 5);
    $notes[] = sprintf('%d orders whose last operation sent is not their last state; the simulator shows another status for %d (tickets applied in the order they were polled)', $lastWrong, $a['status_mismatch']);
    $notes = array_merge($notes, $examples);
    $notes[] = sprintf('hooks: %d calls, %d shop writes lost to another node (no hook then); CRONs: %d runs, %d sent, %d exceptions; drain %d runs %.1f s; %s',
        $calls, $shopFailures, $cronRuns, $cronSent, count($cronEx), $runs, $secs, audit_line($a));
    foreach ($a['examples'] as $e) { $notes[] = $e; }
    if ($errors) { $notes[] = 'drain errors: ' . implode(' | ', array_slice(array_unique($errors), 0, 3)); }
    return [
        'measured' => sprintf('hooks: %d calls in %d s by 6 processes on 3 nodes (%d orders) + a CRON per node: %d exceptions, max %d duplicate pending rows, %d orders whose last send is not their last state',
            $calls, $seconds, $n, $exCount + count($cronEx), $dupPending, $lastWrong),
        'checks' => [
            'hooks: no process crashed' => $crashed === 0,
            'hooks: 0 duplicate pending rows' => $dupPending === 0,
            'hooks: no exception reaches PHP (hook or CRON)' => $exCount === 0 && $cronEx === [],
            'hooks: the last state written on any node is the last one sent, 0 stuck' => $lastWrong === 0 && $a['never_sent'] === 0 && $a['stuck'] === 0,
            'hooks: queue integrity' => $bad === [],
        ],
        'notes' => array_merge($notes, $bad),
    ];
}

/** A CRON per node on one queue, a node SIGKILLed mid-run and rejoined: exact audit. */
function galera_kill(Ctx $c): array
{
    $n = $c->quick ? 1000 : 4000;
    $db = 'soak_galera_kill';
    $pdo = create_db($db, [1 => [$n, 1, 0, STORE_A]]);
    // Small requests and a slow API: the run lasts long enough to be cut.
    $pdo->exec("UPDATE ps_configuration SET value = '10' WHERE name = 'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS'");
    queue_all($pdo);
    // This session's reads see every node's commits (the leases of the runner about to die).
    $pdo->exec('SET SESSION wsrep_sync_wait = 1');
    $c->sim->prepare([[1, $n, STORE_A]], ['latency' => ['range' => ['min_ms' => 50, 'max_ms' => 150]]]);
    $crons = [];
    foreach ([1, 2, 3] as $node) {
        $crons[$node] = on_node($node, static fn () => new Child('cron', ['db' => $db, 'api' => $c->sim->url,
            'opts' => ['lease_seconds' => 3, 'requeue_delay_minutes' => 0, 'run_budget_ms' => 2000], 'until_empty' => true,
            'pause_ms' => 50, 'seconds' => 180, 'name' => "galera-kill-cron$node"], "galera-kill-cron$node"));
    }
    // The node to kill: 2, or 3 if its runner leases first (three runners race for the same
    // oldest tasks, and one may find none for a while). Node 1 serves this orchestrator.
    $leasedBy = static fn (int $node): array => $pdo->query(sprintf("SELECT id_order FROM ps_shoppingfeed_task_order WHERE lease_owner LIKE '%d-%%'",
        $crons[$node]->pid()))->fetchAll(PDO::FETCH_COLUMN);
    $victim = 0;
    $ready = wait_until(static function () use (&$victim, $leasedBy): bool {
        foreach ([2, 3] as $node) { if ($leasedBy($node) !== []) { $victim = $node; return true; } }
        return false;
    }, 30);
    $victim = $victim ?: 2;
    galera_ctl('kill', $victim);
    $tKill = microtime(true);
    // What the killed node's runner held when its node died (committed, so on every node): the
    // only tasks that may go out twice.
    $heldAtKill = array_fill_keys(array_map('intval', $leasedBy($victim)), true);
    $sentAtKill = count($c->sim->tickets());
    usleep(1000000);
    $rejoin = galera_ctl('start', $victim);
    $results = [];
    foreach ($crons as $node => $p) {
        $results[$node] = $p->wait(200);
        $p->close();
    }
    $secs = microtime(true) - $tKill;
    [$runs, $dsecs, $errors] = $c->drain([$db], 60);
    $a = audit($c->sim, [$db => 0]);
    // Orders sent twice that node 2's runner did not hold at the kill: a send while a lease was valid.
    $tickets = [];
    foreach ($c->sim->tickets() as $t) { $id = (int) ($t['payload']['id'] ?? 0); $tickets[$id] = ($tickets[$id] ?? 0) + 1; }
    $dupOutside = 0;
    foreach ($tickets as $id => $k) { if ($k > 1 && !isset($heldAtKill[$id])) { $dupOutside++; } }
    $bad = queue_integrity($pdo);
    $rejoined = on_node($victim, static fn () => queue_count(pdo_wait($db)));
    $notes = [];
    $liveEx = [];
    foreach ($results as $node => $r) {
        $notes[] = sprintf('node %d runner: %s', $node, $r === null ? 'no result' : sprintf('%d runs, %d sent, %d exceptions%s', $r['runs'], $r['sent'],
            count($r['exceptions']), $r['exceptions'] ? ' (' . $r['exceptions'][0] . ')' : ''));
        // The live nodes pause while the cluster changes (a member gone, a member joining): a run
        // may fail then, with the extension's DatabaseException, and the next one goes on.
        if ($node !== $victim) {
            foreach ($r['exceptions'] ?? ['no result'] as $e) { if (!str_starts_with($e, 'Shoppingfeed\\Sync\\DatabaseException')) { $liveEx[] = $e; } }
        }
    }
    $notes[] = sprintf('node %d killed after %d of %d tickets, rejoined (state transfer) in %.1f s; drain: %d runs %.1f s; %s', $victim, $sentAtKill, $n, $rejoin, $runs, $dsecs, audit_line($a));
    foreach ($a['examples'] as $e) { $notes[] = $e; }
    if ($errors) { $notes[] = 'drain errors: ' . implode(' | ', array_slice(array_unique($errors), 0, 3)); }
    return [
        'measured' => sprintf('kill: %d tasks, 3 runners, node %d killed with %d tasks leased by its runner, rejoined in %.1f s; done %.1f s after the kill: %d duplicate sends (%d orders), %d outside the killed runner\'s leases, %d lost, %d stuck',
            $n, $victim, count($heldAtKill), $rejoin, $secs, $a['duplicates'], $a['orders_dup'], $dupOutside, $a['status_mismatch'] + $a['never_sent'], $a['stuck']),
        'checks' => [
            "kill: the killed node's runner held leases" => $ready && $heldAtKill !== [],
            'kill: 0 lost, all sent, 0 stuck' => $a['status_mismatch'] === 0 && $a['never_sent'] === 0 && $a['stuck'] === 0,
            'kill: no order sent twice while a lease was valid (duplicates only among the killed runner\'s leases)' => $dupOutside === 0,
            "kill: duplicates <= the killed runner's leases" => $a['duplicates'] <= count($heldAtKill),
            'kill: the runners of the live nodes threw nothing but DatabaseException' => $liveEx === [],
            'kill: the killed node rejoined with the same queue' => $rejoined === 0,
            'kill: queue integrity' => $bad === [],
        ],
        'notes' => array_merge($notes, $bad),
    ];
}
