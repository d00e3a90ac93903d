<?php
/**
 * Scenario 6: every public method of every class the extension registers, called with hostile
 * arguments. Each call is written to the child's call log before it runs, so that a crash (a
 * signal exit, seen by the orchestrator) names the call that caused it.
 */

declare(strict_types=1);

use Shoppingfeed\Sync\OrderSync;

final class FuzzBoom extends RuntimeException {}

/** An override that forgets parent::__construct() (README: it must call it). */
class FuzzbadActions extends ShoppingfeedOrderSyncActions
{
    public function __construct() {}
}

/** Actions of a chain: they throw, return garbage, or re-enter the extension. */
class FuzzchainActions
{
    public $conveyor;
    public function setConveyor($c) { $this->conveyor = $c; }
    public function getConveyor() { return $this->conveyor; }
    public function boom() { throw new FuzzBoom('action threw'); }
    public function garbage() { return [new stdClass(), fopen('php://memory', 'r')]; }
    public function reenter() { return OrderSync::runCron(['run_budget_ms' => 0]); }
    public function nested() { return (new Shoppingfeed\Sync\ActionsHandler())->addActions('boom')->process('fuzzchain'); }
}

class FuzzchainActionsOverride extends FuzzchainActions {}

abstract class FuzzabstractActions {}
interface FuzzifaceActions {}

/** @return mixed one hostile value */
function hostile(int $depth = 0)
{
    static $big = null;
    $big ??= str_repeat('A', 1 << 20);
    $r = mt_rand(0, 45);
    switch ($r) {
        case 0: return null;
        case 1: return true;
        case 2: return false;
        case 3: return 0;
        case 4: return -1;
        case 5: return PHP_INT_MAX;
        case 6: return PHP_INT_MIN;
        case 7: return 4294967296;
        case 8: return -2147483649;
        case 9: return mt_rand(1, 60);
        case 10: return 1.5;
        case 11: return NAN;
        case 12: return INF;
        case 13: return -0.0;
        case 14: return '';
        case 15: return 'abc';
        case 16: return '123';
        case 17: return '-5';
        case 18: return $big;
        case 19: return "\xff\xfe\xc3\x28 invalid utf-8 \xed\xa0\x80";
        case 20: return "nul\0byte";
        case 21: return str_repeat('é', 70000);
        case 22: { $a = []; $p = &$a; for ($i = 0; $i < 64; $i++) { $p['x'] = []; $p = &$p['x']; } unset($p); return $a; }
        case 23: return [];
        case 24: return [hostile($depth + 1), hostile($depth + 1), 'k' => hostile($depth + 1)];
        case 25: return new stdClass();
        case 26: return new ArrayObject([1, 2]);
        case 27: return static function () { throw new FuzzBoom('closure threw'); };
        case 28: return static fn () => hostile(9);
        case 29: return fopen('php://memory', 'r');
        case 30: return new Shoppingfeed\Sync\ActionsHandler();
        case 31: return new ShoppingfeedOrderSyncActions();
        case 32: return new FuzzbadActions();
        case 33: return (static function () { yield 1; })();
        case 34: return ['id_order' => hostile($depth + 1), 'id_shop' => hostile($depth + 1), 'order_action' => hostile($depth + 1),
            'taskOrders' => [hostile($depth + 1)], 'preparedTaskOrders' => hostile($depth + 1), 'failedTaskOrders' => [hostile($depth + 1)]];
        case 35: return ['database_url' => pick(['mysql://u:p@127.0.0.1:1/x', 'garbage', '', 'mysql://', 'mysql://a@127.0.0.1:1/' . str_repeat('d', 5000), hostile(9)])];
        case 36: return ['mailer' => pick([static function () { throw new FuzzBoom('mailer threw'); }, static fn () => new stdClass(), static fn () => [1, [2]],
            static fn () => OrderSync::runCron(), static fn () => OrderSync::configure(['mailer' => null]), static fn () => "\xff", 'strlen', 'no_such_function', [new stdClass(), 'x']])];
        case 37: return [pick(['run_budget_ms', 'lease_seconds', 'max_attempts', 'ticket_deadline_minutes', 'requeue_delay_minutes', 'concurrency', 'id_shop',
            'table_prefix', 'api_base_url', 'http_timeout_ms', 'mailer', 'database_url', 'nope', '']) => $depth > 2 ? 1 : hostile($depth + 1)];
        case 38: return pick(['shoppingfeedOrderSync', 'fuzzbad', 'fuzzchain', 'fuzzabstract', 'fuzziface', 'stdClass', 'Closure', '', '../x', 'Exception']);
        case 39: return pick(['getTaskOrders', 'prepareTaskOrdersSyncStatus', 'sendTaskOrdersSyncStatus', 'sendFailedTaskOrdersMail',
            'prepareTaskOrdersCheckTicketsSyncStatus', 'sendTaskOrdersCheckTicketsSyncStatus', 'saveOrder', 'saveTaskOrder', 'boom', 'garbage', 'reenter',
            'nested', '__construct', '__destruct', 'setConveyor', 'nope']);
        case 40: return mt_rand(-3, 200);
        case 41: return new Shoppingfeed\Sync\DatabaseException('x');
        case 42: return ['run_budget_ms' => 2000, 'lease_seconds' => mt_rand(1, 5), 'requeue_delay_minutes' => 0, 'id_shop' => mt_rand(0, 3)];
        case 43: return (string) mt_rand(1, 60);
        // Settings whose text the extension parses: a `%` or a cut at every byte of multi-byte
        // characters (a decoder slicing by byte offsets panicked there), huge numbers and lengths.
        case 44: return [pick(['database_url', 'api_base_url', 'table_prefix', 'invoice_dir', 'http_timeout_ms']) => pick([
            'mysql://u:p%é@127.0.0.1:1/x', 'mysql://u:p%aé@127.0.0.1:1/x', 'mysql://u%€:p@127.0.0.1:1/x', 'mysql://u:p@127.0.0.1:1/d%é',
            'mysql://u:p%FF@127.0.0.1:1/x', 'mysql://u:p@localhost/x?socket=/tmp/%' . "\xe2\x82", 'mysql://u:p@127.0.0.1:1/x?socket=%%%',
            'mysql://é:é@é:1/é', 'mysql://u:p@127.0.0.1:' . str_repeat('9', 40) . '/x', 'mysql://u:p@127.0.0.1:1/x?' . str_repeat('&', 10000),
            'https://é%', 'http://' . str_repeat('é', 5000), "ps_\u{0301}", str_repeat('9', 400), '-' . str_repeat('9', 30), '1e99', " 12 ",
            '/tmp/%é' . "\xff", substr('é€😀', 0, mt_rand(1, 8)) . '%' . substr('é€😀', mt_rand(0, 8)),
        ])];
        default: return pick([[1, 2, 3], ['a' => 'b'], [PHP_INT_MAX => 1], [-1 => null]]);
    }
}

/**
 * A value of the parameter's declared type (half the calls), so that calls get past PHP's type
 * checks into the extension's own code; anything otherwise.
 * @return mixed
 */
function typed(ReflectionParameter $p)
{
    $t = $p->getType();
    $name = $t instanceof ReflectionNamedType ? $t->getName() : 'mixed';
    for ($i = 0; $i < 20; $i++) {
        $v = hostile();
        $ok = match ($name) {
            'int' => is_int($v), 'string' => is_string($v), 'array' => is_array($v), 'bool' => is_bool($v),
            default => true,
        };
        if ($ok || ($v === null && $t?->allowsNull())) { return $v; }
    }
    return match ($name) { 'int' => mt_rand(-5, 100), 'string' => 'x', 'array' => [], 'bool' => true, default => null };
}

/** @return mixed */
function pick(array $a) { return $a[mt_rand(0, count($a) - 1)]; }

function summary($v): string
{
    if (is_string($v)) { return 'string(' . strlen($v) . ')' . (strlen($v) < 40 ? json_encode($v, JSON_INVALID_UTF8_SUBSTITUTE) : ''); }
    if (is_array($v)) { return 'array(' . count($v) . ')' . substr((string) json_encode($v, JSON_PARTIAL_OUTPUT_ON_ERROR | JSON_INVALID_UTF8_SUBSTITUTE), 0, 120); }
    if (is_object($v)) { return get_class($v); }
    if (is_resource($v)) { return 'resource'; }
    return var_export($v, true);
}

/** Throwables a hostile call may produce: PHP's argument errors, the extension's own, ours. */
function allowed(Throwable $e): bool
{
    return $e instanceof TypeError || $e instanceof ValueError || $e instanceof ArgumentCountError
        || $e instanceof Shoppingfeed\Sync\Exception || $e instanceof Shoppingfeed\Sync\InvalidArgumentException || $e instanceof FuzzBoom;
}

/**
 * Known defect D1 (reliability/README.md): ext-php-rs throws a plain \Exception, not an \Error nor
 * one of the extension's exceptions, for `new` of a class PHP may not instantiate (OrderSync,
 * RustClosure) and for a method of an override whose constructor skipped parent::__construct().
 */
function known_defect(Throwable $e): bool
{
    return get_class($e) === 'Exception' && in_array($e->getMessage(), ['You cannot instantiate this class from PHP.', 'Failed to retrieve reference to `$this`'], true);
}

function fuzz_main(array $job): void
{
    mt_srand((int) $job['seed']);
    $calls = (int) $job['calls'];
    $log = fopen(logs_dir() . "/fuzz-calls-{$job['seed']}.log", 'w');
    $valid = static function () use ($job): void {
        OrderSync::configure(['database_url' => db_url($job['db']), 'api_base_url' => $job['api'], 'http_timeout_ms' => 2000,
            'mailer' => static fn (array $m): bool => true]);
    };
    $valid();
    $targets = [];
    foreach ((new ReflectionExtension('shoppingfeed_sync'))->getClasses() as $class) {
        foreach ($class->getMethods(ReflectionMethod::IS_PUBLIC) as $m) { $targets[] = [$class, $m]; }
    }
    $r = ['calls' => 0, 'methods' => count($targets), 'classes' => [], 'thrown' => [], 'unexpected' => [], 'returned' => 0];
    // Reproductions of defects the fuzz found, run first by every child (D2: a NUL byte echoed in
    // an exception message gave a bare \Error "cannot throw ..." instead of the extension's exception).
    $regressions = [
        'process("nul\\0byte")' => static fn () => (new Shoppingfeed\Sync\ActionsHandler())->process("nul\0byte"),
        'configure(["k\\0" => 1])' => static fn () => OrderSync::configure(["k\0" => 1]),
        'configure(database_url with NUL)' => static fn () => OrderSync::configure(['database_url' => "mysql://a\0b@127.0.0.1:1/x"]),
        'runCron(["x\\0" => 1])' => static fn () => OrderSync::runCron(["x\0" => 1]),
        'addActions("a\\0")->process("fuzzchain")' => static fn () => (new Shoppingfeed\Sync\ActionsHandler())->addActions("a\0")->process('fuzzchain'),
    ];
    foreach ($regressions as $what => $call) {
        $r['calls']++;
        try { $call(); $r['returned']++; } catch (Throwable $e) {
            if (!allowed($e)) { $r['unexpected'][] = "regression $what: " . describe($e); $r['unexpected_count'] = ($r['unexpected_count'] ?? 0) + 1; }
        }
    }
    $valid();
    for ($i = 0; $i < $calls; $i++) {
        if ($i % 40 === 0) { try { $valid(); } catch (Throwable $e) { $r['unexpected'][] = 'reconfigure: ' . describe($e); } }
        [$class, $m] = $targets[$i < count($targets) ? $i : mt_rand(0, count($targets) - 1)];
        $args = [];
        $n = mt_rand(0, 4) === 0 ? mt_rand(0, 4) : $m->getNumberOfParameters() + (mt_rand(0, 5) === 0 ? 1 : 0);
        $params = $m->getParameters();
        $typedCall = mt_rand(0, 1) === 0;
        for ($k = 0; $k < $n; $k++) { $args[] = $typedCall && isset($params[$k]) ? typed($params[$k]) : hostile(); }
        $name = $class->getName() . '::' . $m->getName();
        fwrite($log, "$i $name(" . implode(', ', array_map('summary', $args)) . ")\n");
        fflush($log);
        $r['classes'][$class->getName()] = true;
        $r['calls']++;
        try {
            if ($m->isConstructor()) {
                $class->newInstanceArgs($args);
            } elseif ($m->isStatic()) {
                $m->invokeArgs(null, $args);
            } else {
                $obj = $class->isInstantiable() ? (mt_rand(0, 9) === 0 && $class->getName() === 'ShoppingfeedOrderSyncActions' ? new FuzzbadActions() : $class->newInstance()) : null;
                if ($obj === null) { continue; }
                if (mt_rand(0, 2) === 0 && method_exists($obj, 'setConveyor')) { try { $obj->setConveyor(hostile()); } catch (Throwable $e) { if (!allowed($e)) { throw $e; } } }
                $m->invokeArgs($obj, $args);
            }
            $r['returned']++;
        } catch (Throwable $e) {
            $k = get_class($e);
            $r['thrown'][$k] = ($r['thrown'][$k] ?? 0) + 1;
            if (known_defect($e)) {
                $r['known'] = ($r['known'] ?? 0) + 1;
                $r['known_examples'][$name] = describe($e);
                continue;
            }
            if (!allowed($e) && count($r['unexpected']) < 30) {
                $r['unexpected'][] = "$name: " . describe($e) . ' @ ' . basename($e->getFile()) . ':' . $e->getLine();
            }
            if (!allowed($e)) { $r['unexpected_count'] = ($r['unexpected_count'] ?? 0) + 1; }
        }
    }
    $r['classes'] = array_keys($r['classes']);
    try { OrderSync::flushLogs(); } catch (Throwable $e) { $r['thrown']['flush:' . get_class($e)] = 1; }
    fclose($log);
    result($r);
}
