<?php
/**
 * Renders the module's configuration page as the harness produces it, in a back-office-like frame,
 * then screenshots it with headless Chromium: docs/configuration-page.png (README).
 *
 *   php -d extension=target/release/libshoppingfeed_sync.so tests/php/Support/PrestaShop/screenshot.php
 *
 * Needs the ./dev db server (SFSYNC_TEST_DATABASE_URL), the simulator (SFSYNC_SIM_BIN or target/)
 * and the `chromium` package. The data is real: the module is installed, its settings saved through
 * the page (one state in each list, partial refunds on, Amazon's invoices to upload), three orders
 * sent by CRON runs through the module to the simulator, one of them refused. The window's height
 * fits the whole page: raise it if the page grows.
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
$png = $argv[1] ?? "$root/docs/configuration-page.png";

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
$html = $request(['action' => 'content'])['html'];
$sim->stop();

$css = <<<'CSS'
body{margin:0;background:#eff1f2;font:13px/1.45 "Open Sans","DejaVu Sans",Arial,sans-serif;color:#363a41}
.top{background:#fff;border-bottom:1px solid #dfdfdf;padding:10px 24px;font-size:18px}
.top small{display:block;font-size:12px;color:#6c868e}
.content{padding:18px 24px;max-width:1080px}
.panel{background:#fff;border:1px solid #dbe6e9;border-radius:5px;box-shadow:0 2px 0 rgba(0,0,0,.05);padding:16px 20px;margin-bottom:18px}
.panel-heading{font-size:14px;font-weight:600;text-transform:uppercase;color:#555;border-bottom:1px solid #eee;margin:-6px -20px 14px;padding:0 20px 10px}
.form-group{display:flex;margin-bottom:14px}
.control-label{width:28%;text-align:right;padding:6px 16px 0 0;font-weight:600;box-sizing:border-box}
.col-lg-9{width:72%}.col-lg-12{width:100%}
select[multiple]{min-width:320px;border:1px solid #bbcdd2;border-radius:3px;padding:2px;font-size:13px}
select[multiple] option:checked{background:#25b9d7 linear-gradient(#25b9d7,#25b9d7);color:#fff}
input[type=text],input[type=password]{border:1px solid #bbcdd2;border-radius:3px;padding:5px 8px;font-size:13px;width:90px}input[type=password]{width:280px}
input.fixed-width-xxl{width:280px}
.form-control{width:100%!important;box-sizing:border-box}
.input-group{display:inline-flex}.input-group-addon{border:1px solid #bbcdd2;border-left:0;background:#f5f8f9;padding:5px 8px;border-radius:0 3px 3px 0}
.help-block{color:#6c868e;font-size:12px;margin:4px 0 0}
.switch{display:inline-flex;border:1px solid #bbcdd2;border-radius:3px;overflow:hidden}
.switch input{display:none}.switch label{padding:5px 16px;background:#eef3f4;color:#6c868e;cursor:pointer}
.switch input:checked+label{background:#70b580;color:#fff}.switch .slide-button{display:none}
.panel-footer{border-top:1px solid #eee;margin:10px -20px -16px;padding:10px 20px;text-align:right;background:#fcfdfe}
.btn{background:#25b9d7;color:#fff;border:0;border-radius:4px;padding:8px 16px;font-size:13px}
.alert{border-radius:4px;padding:10px 14px;margin-bottom:14px}.alert-success{background:#cbf2d4;color:#0f5132}
.alert-danger{background:#ffe4e6;color:#8b1c2a}.alert-warning{background:#fff3d7;color:#6b4a00}.close{display:none}
code,pre{background:#f5f8f9;border:1px solid #e6ecee;border-radius:3px;padding:1px 5px;font-size:12px}pre{padding:8px;white-space:pre-wrap}
table.table{border-collapse:collapse;width:100%}table.table th,table.table td{border-bottom:1px solid #eee;padding:6px 8px;text-align:left;font-size:12px}
table.table th{color:#6c868e;font-weight:600}tr.danger td{background:#fff4f4}.badge{background:#25b9d7;color:#fff;border-radius:8px;padding:1px 6px}
.btn-danger{background:#e84e6a}.checkbox{margin:8px 0}
CSS;
$doc = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Configure shoppingfeedsync</title><style>$css</style></head><body>"
    . '<div class="top">Configure<small>Shopping Feed order synchronization (native) &middot; Modules &gt; Module Manager</small></div>'
    . "<div class=\"content\">$html</div></body></html>";
$htmlFile = sys_get_temp_dir() . '/sfsync-configuration-page.html';
file_put_contents($htmlFile, $doc);

$profile = sys_get_temp_dir() . '/sfsync-chromium-' . getmypid();
@mkdir($profile);
$cmd = ['chromium', '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', "--user-data-dir=$profile", '--hide-scrollbars', '--window-size=1140,2690',
    "--screenshot=$png", "file://$htmlFile"];
$proc = proc_open($cmd, [1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
$rc = is_resource($proc) ? proc_close($proc) : 1;
exec('rm -rf ' . escapeshellarg($profile));
if ($rc !== 0 || !is_file($png)) {
    fwrite(STDERR, "chromium failed ($rc); the page is in $htmlFile\n");
    exit(1);
}
echo "$png (from $htmlFile)\n";
