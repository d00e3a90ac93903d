<?php
/**
 * Renders the module's back-office pages as the harness produces them, in a back-office-like frame,
 * then screenshots each with headless Chromium (README): docs/configuration-page.png, the task list
 * (docs/task-grid.png), the logs (docs/logs.png) and the order page's panel (docs/order-panel.png).
 *
 *   php -d extension=target/release/libshoppingfeed_sync.so tests/php/Support/PrestaShop/screenshot.php
 *
 * Needs the ./dev db server (SFSYNC_TEST_DATABASE_URL), the simulator (SFSYNC_SIM_BIN or target/)
 * and the `chromium` package. The data is real: the module is installed, its settings saved through
 * the page (one state in each list, partial refunds on, Amazon's invoices to upload), three orders
 * sent by CRON runs through the module to the simulator, one of them refused, and three tasks in
 * the states a CRON run does not reach in a minute (a status waiting for its delay, one that gave
 * up after its retries, one sent with its ticket awaited). Each window's height is the page's, measured
 * by a first Chromium run.
 */

use Shoppingfeed\Sync\Tests\ModuleHarness;
use Shoppingfeed\Sync\Tests\Shop;
use Shoppingfeed\Sync\Tests\Simulator;
use Shoppingfeed\Sync\Tests\TestDatabase;

$support = dirname(__DIR__);
require $support . '/TestDatabase.php';
require $support . '/Shop.php';
require $support . '/ModuleHarness.php';
require $support . '/Simulator.php';

$root = dirname(__DIR__, 4);
$docs = $argv[1] ?? "$root/docs";

TestDatabase::boot();
ModuleHarness::boot();
Shop::reset();
ModuleHarness::forgetModule();
$sim = new Simulator();
$sim->settings(['lifecycle' => ['mode' => 'polls', 'polls_per_step' => 0]]);
$ini = ['shoppingfeed_sync.api_base_url' => $sim->url()];
$request = static function (array $r) use ($ini): array {
    $out = ModuleHarness::request($r, [], $ini);
    if ($out['rc'] !== 0 || $out['stderr'] !== '') {
        fwrite(STDERR, $out['stderr']);
        exit(1);
    }

    return $out['result'];
};

$request(['action' => 'install']);
Shop::cronConfig(Simulator::TOKEN, Simulator::STORE);
$request(['action' => 'content', 'post' => [
    'submitShoppingfeedSync' => '1', 'SHOPPINGFEED_ORDER_SYNC_ENABLED' => '1',
    'SHOPPINGFEED_SHIPPED_ORDERS' => ['4'], 'SHOPPINGFEED_CANCELLED_ORDERS' => ['6'], 'SHOPPINGFEED_REFUNDED_ORDERS' => ['7'],
    'SHOPPINGFEED_DELIVERED_ORDERS' => ['5'], 'SHOPPINGFEED_ALLOW_PARTIAL_REFUND' => '1',
    'SHOPPINGFEED_ORDER_INVOICE_SYNC_MARKETPLACES' => 'Amazon',
    'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '0', 'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '100',
]]);
$orders = [];
foreach ([8101, 8102, 8103] as $sfId) {
    $orders[$sfId] = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, $sfId, "MP-$sfId");
}
$sim->seedOrders(array_combine(array_keys($orders), array_map(static fn ($id) => "MP-$id", array_keys($orders))));
$sim->outcome(8103, 'failed', 'Tracking number refused by the carrier');
foreach ($orders as $id) {
    Shop::setState($id, Shop::SHIPPED);
    $request(['action' => 'status_update', 'id_order' => $id, 'id_order_state' => Shop::SHIPPED]);
}
$request(['action' => 'cron']);
// The CRON runs every 5 minutes: the send happened one period before the ticket check.
TestDatabase::pdo()->exec('UPDATE ps_shoppingfeed_processlogger SET date_add = date_add - INTERVAL 5 MINUTE');
$request(['action' => 'cron']);
// States a run does not reach within the minute of this script.
$pdo = TestDatabase::pdo();
$task = static function (int $idOrder, string $action, string $updateAt, int $attempts, ?string $error, ?string $batch, bool $gaveUp) use ($pdo): void {
    $pdo->prepare("INSERT INTO ps_shoppingfeed_task_order (action, id_order, batch_id, update_at, attempts, last_error, sent_at, gave_up_at, date_add, date_upd)
        VALUES (?, ?, ?, $updateAt, ?, ?, IF(? IS NULL, NULL, NOW() - INTERVAL 3 MINUTE), IF(?, NOW() - INTERVAL 2 HOUR, NULL), NOW() - INTERVAL 1 DAY, NOW() - INTERVAL 2 HOUR)")
        ->execute([$action, $idOrder, $batch, $attempts, $error, $batch, (int) $gaveUp]);
};
$task(Shop::sfOrder(Shop::SHIPPED, 8104, 'MP-8104'), 'SYNC_STATUS', 'NOW() + INTERVAL 4 MINUTE', 0, null, null, false);
$task(Shop::sfOrder(Shop::CANCELED, 8105, 'MP-8105'), 'SYNC_STATUS', 'NULL', 5, 'Order already shipped on the marketplace', null, true);
$task(Shop::sfOrder(Shop::SHIPPED, 8106, 'MP-8106'), 'CHECK_TICKET_SYNC_STATUS', 'NOW()', 0, null, 'c1f0e2a4-77b5', false);

$pages = [
    'configuration-page' => ['Configure', 'Shopping Feed order synchronization (native) &middot; Modules &gt; Module Manager', $request(['action' => 'content'])['html']],
];
$admin = static function (string $controller) use ($request, $pdo): string {
    $idTab = (int) $pdo->query("SELECT id_tab FROM ps_tab WHERE class_name = '$controller'")->fetchColumn();
    // The employee's link to the tab: Tools::getAdminTokenLite() of the harness (employee 1).
    $token = md5('harnesscookiekey0123456789abcdefghijklmnopqrstuvwxyz0123456789ab' . $controller . $idTab . '1');
    $r = $request(['action' => 'admin', 'controller' => $controller, 'get' => ['token' => $token]]);
    if (($r['admin']['status'] ?? '') !== 'ok') {
        fwrite(STDERR, json_encode($r) . "\n");
        exit(1);
    }

    return $r['admin']['html'];
};
$pages['task-grid'] = ['Shopping Feed sync', 'Orders &gt; Shopping Feed sync', $admin('AdminShoppingfeedSyncTasks'), 1560];
$pages['logs'] = ['Shopping Feed sync logs', 'Orders &gt; Shopping Feed sync logs', $admin('AdminShoppingfeedSyncLogs')];
$pages['order-panel'] = ['Order #' . $orders[8103], 'Orders &gt; Orders &gt; View (the module\'s panel, hook displayAdminOrderMain)',
    $request(['action' => 'hook', 'hook' => 'displayAdminOrderMain', 'params' => ['id_order' => $orders[8103]]])['html']];
$sim->stop();

$css = <<<'CSS'
*{box-sizing:border-box}body{margin:0;background:#eff1f2;font:13px/1.45 "Open Sans","DejaVu Sans",Arial,sans-serif;color:#363a41}
.top{background:#fff;border-bottom:1px solid #dfdfdf;padding:10px 24px;font-size:18px}
.top small{display:block;font-size:12px;color:#6c868e}
.content{padding:18px 24px}
.panel,.card{background:#fff;border:1px solid #dbe6e9;border-radius:5px;box-shadow:0 2px 0 rgba(0,0,0,.05);padding:16px 20px;margin-bottom:18px}
.panel-heading{font-size:14px;font-weight:600;text-transform:uppercase;color:#555;border-bottom:1px solid #eee;margin:-6px -20px 14px;padding:0 20px 10px}
.card-header h3{font-size:15px;margin:0 0 10px}.material-icons{display:none}h4{font-size:13px;margin:14px 0 6px;color:#6c868e;text-transform:uppercase}
.form-group{display:flex;margin-bottom:14px}
.control-label{width:28%;text-align:right;padding:6px 16px 0 0;font-weight:600;box-sizing:border-box}
.col-lg-9{width:72%}.col-lg-12{width:100%}
select[multiple]{min-width:320px;border:1px solid #bbcdd2;border-radius:3px;padding:2px;font-size:13px}
select[multiple] option:checked{background:#25b9d7 linear-gradient(#25b9d7,#25b9d7);color:#fff}
select{border:1px solid #bbcdd2;border-radius:3px;padding:3px;font-size:12px;max-width:150px}
input[type=text],input[type=password]{border:1px solid #bbcdd2;border-radius:3px;padding:5px 8px;font-size:13px;width:90px}input[type=password]{width:280px}
input.fixed-width-xxl{width:280px}input.filter{width:80px;padding:3px 5px;font-size:12px}input.date-input{width:80px!important;display:block;margin:1px 0}
.form-control{width:100%!important;box-sizing:border-box}
.input-group{display:inline-flex}.input-group-addon{border:1px solid #bbcdd2;border-left:0;background:#f5f8f9;padding:5px 8px;border-radius:0 3px 3px 0}
.help-block{color:#6c868e;font-size:12px;margin:4px 0 0}
.switch{display:inline-flex;border:1px solid #bbcdd2;border-radius:3px;overflow:hidden}
.switch input{display:none}.switch label{padding:5px 16px;background:#eef3f4;color:#6c868e;cursor:pointer}
.switch input:checked+label{background:#70b580;color:#fff}.switch .slide-button{display:none}
.panel-footer{border-top:1px solid #eee;margin:10px -20px -16px;padding:10px 20px;text-align:right;background:#fcfdfe}
.btn{background:#25b9d7;color:#fff;border:0;border-radius:4px;padding:8px 16px;font-size:13px;text-decoration:none;display:inline-block}
.btn-default{background:#fff;color:#363a41;border:1px solid #bbcdd2;padding:4px 8px;font-size:12px}.btn-link{background:none;color:#25b9d7}
.btn-warning{background:#fab000}.btn-primary{background:#25b9d7}
.alert{border-radius:4px;padding:10px 14px;margin-bottom:14px}.alert-success{background:#cbf2d4;color:#0f5132}.alert-info{background:#d8f1f7;color:#0b5567}
.alert-danger{background:#ffe4e6;color:#8b1c2a}.alert-warning{background:#fff3d7;color:#6b4a00}.close{display:none}
ul.list-unstyled{list-style:none;margin:0;padding:0}
code,pre{background:#f5f8f9;border:1px solid #e6ecee;border-radius:3px;padding:1px 5px;font-size:12px}pre{padding:8px;white-space:pre-wrap}
table.table{border-collapse:collapse;width:100%}table.table th,table.table td{border-bottom:1px solid #eee;padding:6px 8px;text-align:left;font-size:12px;vertical-align:top}
table.table th{color:#6c868e;font-weight:600}tr.danger td{background:#fff4f4}.badge{background:#25b9d7;color:#fff;border-radius:8px;padding:1px 6px}
tr.filter th{background:#f8fafb}.title_box a{color:#bbcdd2;text-decoration:none}.title_box a.active{color:#25b9d7}
.label{border-radius:3px;padding:2px 6px;font-size:11px;color:#fff;white-space:nowrap}.label-danger{background:#e84e6a}.label-warning{background:#fab000}
.label-info{background:#25b9d7}.label-success{background:#70b580}.label-default{background:#8a98a0}
.btn-danger{background:#e84e6a}.checkbox{margin:8px 0}
.bulk-actions ul{display:none}.pagination{display:inline-flex;gap:4px;list-style:none;padding:0;margin:10px 0}.pagination li button{border:1px solid #bbcdd2;background:#fff;border-radius:3px}
.pagination li.active button{background:#25b9d7;color:#fff}.pull-right{float:right}.row{overflow:hidden}.col-lg-6{display:inline-block;width:49%}
.list-empty-msg{color:#6c868e;padding:10px}.btn-group-action .btn{white-space:nowrap;display:block;margin:0 0 3px}.icon-caret-down:after{content:"\25BC";font-size:9px;font-style:normal}.icon-caret-up:after{content:"\25B2";font-size:9px;font-style:normal}
.input-group input{width:70px}.text-right{text-align:right}.btn-group .btn{margin-left:3px}
CSS;

$chromium = static function (array $args): int {
    $profile = sys_get_temp_dir() . '/sfsync-chromium-' . getmypid();
    @mkdir($profile);
    $cmd = array_merge(['chromium', '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run', "--user-data-dir=$profile", '--hide-scrollbars'], $args);
    $proc = proc_open($cmd, [1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
    $rc = is_resource($proc) ? proc_close($proc) : 1;
    exec('rm -rf ' . escapeshellarg($profile));

    return $rc;
};
foreach ($pages as $name => $page) {
    [$title, $subtitle, $html] = $page;
    $width = $page[3] ?? 1300;
    $doc = "<!doctype html><html><head><meta charset=\"utf-8\"><title>$title</title><style>$css</style></head><body>"
        . "<div class=\"top\">$title<small>$subtitle</small></div><div class=\"content\">$html</div>"
        . '<script>document.body.setAttribute("data-height", document.documentElement.scrollHeight)</script></body></html>';
    $htmlFile = sys_get_temp_dir() . "/sfsync-$name.html";
    file_put_contents($htmlFile, $doc);
    // The page's height at this width, from a first run's DOM.
    $dom = sys_get_temp_dir() . "/sfsync-$name.dom";
    $profile = sys_get_temp_dir() . '/sfsync-chromium-dom-' . getmypid();
    exec('chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir=' . escapeshellarg($profile) . ' --window-size=' . $width . ',800 --dump-dom '
        . escapeshellarg("file://$htmlFile") . ' 2>/dev/null > ' . escapeshellarg($dom));
    exec('rm -rf ' . escapeshellarg($profile));
    $height = preg_match('/data-height="(\d+)"/', (string) @file_get_contents($dom), $m) ? (int) $m[1] : 2000;
    @unlink($dom);
    $png = "$docs/$name.png";
    $rc = $chromium(['--window-size=' . $width . ',' . max(300, $height), "--screenshot=$png", "file://$htmlFile"]);
    if ($rc !== 0 || !is_file($png)) {
        fwrite(STDERR, "chromium failed ($rc); the page is in $htmlFile\n");
        exit(1);
    }
    echo "$png ($height px, from $htmlFile)\n";
}
