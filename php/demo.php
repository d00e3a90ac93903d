<?php
/**
 * The order status synchronization end to end, on the local MariaDB (./dev db) and the built-in
 * Shopping Feed API simulator: ./dev demo runs it. It creates a fresh database `sfsync_demo`,
 * three Shopping Feed orders, changes their statuses through the hook entry point, then runs the
 * CRON twice (send, then ticket check) and prints what happened.
 */

declare(strict_types=1);

use Shoppingfeed\Sync\OrderSync;

$root = dirname(__DIR__);
$serverUrl = getenv('SFSYNC_DATABASE_URL') ?: 'mysql://sfsync:sfsync@127.0.0.1:23306/prestashop';
$simBin = getenv('SFSYNC_SIM_BIN') ?: "$root/target/release/shoppingfeed-sim";

function step(string $title): void { echo "\n\033[1m## $title\033[0m\n"; }
function line(string $text): void { echo "   $text\n"; }

// 1. The simulator, on a free loopback port.
step('Starting the Shopping Feed API simulator');
$token = 'demo-token-' . bin2hex(random_bytes(4));
$proc = proc_open([$simBin, '--listen', '127.0.0.1:0', '--token', $token, '--store', '1276'], [1 => ['pipe', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
if (!is_resource($proc)) { fwrite(STDERR, "cannot start $simBin\n"); exit(1); }
$addr = trim((string) fgets($pipes[1]));
$sim = "http://$addr";
register_shutdown_function(static function () use ($proc): void { proc_terminate($proc); proc_close($proc); });
line("listening on $sim (store 1276)");

function sim(string $method, string $path, $body = null) {
    global $sim;
    $ctx = stream_context_create(['http' => ['method' => $method, 'header' => "Content-Type: application/json\r\n",
        'content' => $body === null ? '' : json_encode($body), 'ignore_errors' => true]]);
    return json_decode((string) file_get_contents($sim . $path, false, $ctx), true);
}

// 2. A fresh shop database.
step('Creating the demo shop database sfsync_demo');
$u = parse_url($serverUrl);
$pdo = new PDO(sprintf('mysql:host=%s;port=%d;charset=utf8mb4', $u['host'], $u['port'] ?? 3306), urldecode($u['user'] ?? 'root'), urldecode($u['pass'] ?? ''),
    [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::MYSQL_ATTR_MULTI_STATEMENTS => true]);
$pdo->exec('DROP DATABASE IF EXISTS sfsync_demo; CREATE DATABASE sfsync_demo CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci; USE sfsync_demo');
foreach (['tests/fixtures/prestashop_schema.sql', 'tests/fixtures/prestashop_seed.sql', 'php/sql/install.sql'] as $f) {
    $pdo->exec(str_replace('PREFIX_', 'ps_', (string) file_get_contents("$root/$f")));
}
$conf = $pdo->prepare('INSERT INTO ps_configuration (name, value, date_add, date_upd) VALUES (?, ?, NOW(), NOW())');
foreach ([
    'SHOPPINGFEED_ORDER_SYNC_ENABLED' => '1', 'SHOPPINGFEED_SHIPPED_ORDERS' => '["4"]', 'SHOPPINGFEED_CANCELLED_ORDERS' => '["6"]',
    'SHOPPINGFEED_REFUNDED_ORDERS' => '["7"]', 'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '0', 'SHOPPINGFEED_AUTH_TOKEN' => $token,
    'SHOPPINGFEED_STORE_ID' => '1276', 'SHOPPING_FLUX_STATUS_SHIPPED' => '', 'SHOPPING_FLUX_STATUS_CANCELED' => '',
] as $k => $v) { $conf->execute([$k, $v]); }
$pdo->exec("INSERT INTO ps_module (id_module, name, active, version) VALUES (1, 'shoppingfluxexport', 1, '4.6.2'); INSERT INTO ps_module_shop (id_module, id_shop) VALUES (1, 1)");
$pdo->exec("INSERT INTO ps_carrier (id_carrier, id_reference, name, url, active) VALUES (1, 1, 'Colissimo', 'https://www.laposte.fr/outils/suivre-vos-envois?code=@', 1)");
$orders = [[1001, 'AMZ-1001', 'amazon', 2], [1002, 'CD-1002', 'cdiscount', 2], [1003, 'AMZ-1003', 'amazon', 2]];
foreach ($orders as $i => [$sfId, $ref, $channel, $state]) {
    $pdo->prepare("INSERT INTO ps_orders (reference, id_carrier, id_lang, id_customer, id_cart, id_currency, id_address_delivery, id_address_invoice,
        current_state, payment, module, invoice_date, delivery_date, valid, date_add, date_upd) VALUES (?, 1, 1, 1, 1, 1, 1, 1, ?, ?, 'sfpayment', NOW(), NOW(), 1, NOW(), NOW())")
        ->execute(['DEMO' . ($i + 1), $state, ucfirst($channel)]);
    $id = (int) $pdo->lastInsertId();
    $pdo->prepare('INSERT INTO ps_shoppingfeed_order (id_internal_shoppingfeed, id_order_marketplace, name_marketplace, id_order, date_add, date_upd) VALUES (?, ?, ?, ?, NOW(), NOW())')
        ->execute([$sfId, $ref, ucfirst($channel), $id]);
    $orders[$i][] = $id;
}
$pdo->exec("INSERT INTO ps_order_carrier (id_order, id_carrier, tracking_number, date_add) VALUES ({$orders[0][4]}, 1, '6A12345678901', NOW())");
sim('POST', '/_sim/orders', ['orders' => array_map(static fn ($o) => ['id' => $o[0], 'reference' => $o[1], 'channelName' => $o[2], 'storeId' => 1276], $orders)]);
sim('POST', '/_sim/outcomes', ['order_id' => 1002, 'outcome' => 'failed', 'message' => 'Order already cancelled on the marketplace']);
line('3 Shopping Feed orders: ' . implode(', ', array_map(static fn ($o) => "#{$o[4]} ({$o[2]} {$o[1]})", $orders)));
line('the simulator will fail the ticket of CD-1002 with a reason');

$db = $u;
OrderSync::configure([
    'database_url' => sprintf('mysql://%s:%s@%s:%d/sfsync_demo', $u['user'] ?? 'root', $u['pass'] ?? '', $u['host'], $u['port'] ?? 3306),
    'api_base_url' => $sim,
    'mailer' => static function (array $mail): bool {
        step("E-mail to {$mail['to']} (template {$mail['template']}, what the module hands to Mail::Send)");
        line("Subject: {$mail['subject']}");
        foreach (explode("\n", trim($mail['template_vars']['{list_order_sync_errors_txt}'])) as $l) { line($l); }
        return true;
    },
]);

// 3. The merchant changes statuses in the back office: the hook queues tasks.
step('Status changes (hook actionOrderStatusPostUpdate -> OrderSync::onOrderStatusUpdate)');
$changes = [[$orders[0][4], 4, 'Shipped'], [$orders[1][4], 6, 'Canceled'], [$orders[2][4], 7, 'Refunded']];
foreach ($changes as [$id, $state, $name]) {
    $pdo->prepare('UPDATE ps_orders SET current_state = ? WHERE id_order = ?')->execute([$state, $id]);
    $t = microtime(true);
    $queued = OrderSync::onOrderStatusUpdate($id, $state);
    line(sprintf('order #%d -> %-8s queued: %s (%.2f ms)', $id, $name, $queued ? 'yes' : 'no', (microtime(true) - $t) * 1000));
}
// The hook's log rows are written at the end of the request; this script reads them back later.
OrderSync::flushLogs();
foreach ($pdo->query('SELECT id_order, action, update_at FROM ps_shoppingfeed_task_order ORDER BY id_order') as $r) {
    line("task: order #{$r['id_order']} {$r['action']} due {$r['update_at']}");
}

function show(array $report): void {
    foreach ($report['shops'] as $s) {
        line(sprintf('shop %d: %d statuses sent, %d API requests; tickets: %d succeeded, %d failed, %d pending; %d tasks removed, %d requeued',
            $s['id_shop'], $s['statuses_sent'], $s['requests'], $s['tickets_succeeded'], $s['tickets_failed'], $s['tickets_pending'], $s['tasks_removed'], $s['requeued']));
        foreach ($s['errors'] as $e) { line("error: $e"); }
    }
}

step('CRON run 1: send the current statuses');
show(OrderSync::runCron());
foreach (sim('GET', '/_sim/requests?route=order_op')['requests'] ?? [] as $r) {
    if (($r['method'] ?? '') === 'POST') { line("API received: POST {$r['path']} " . ($r['body'] ?? '')); }
}
foreach ($pdo->query('SELECT id_order, action, batch_id FROM ps_shoppingfeed_task_order ORDER BY id_order') as $r) {
    line("task: order #{$r['id_order']} {$r['action']} batch {$r['batch_id']}");
}

step('CRON run 2: check the tickets (one GET per batch)');
show(OrderSync::runCron());
step('CRON run 3: tickets now final');
show(OrderSync::runCron());
foreach ($pdo->query('SELECT id_order, action, attempts, last_error FROM ps_shoppingfeed_task_order ORDER BY id_order') as $r) {
    line("left in queue: order #{$r['id_order']} {$r['action']} attempts {$r['attempts']} ({$r['last_error']})");
}
step('Process log (what the back office shows)');
foreach ($pdo->query('SELECT level, msg FROM ps_shoppingfeed_processlogger ORDER BY id_shoppingfeed_processlogger') as $r) {
    line(sprintf('%-7s %s', $r['level'], $r['msg']));
}
