<?php
/**
 * One PrestaShop request in its own PHP process (as under PHP-FPM): boots the harness, loads the
 * module from SFSYNC_HARNESS_MODULE_DIR, runs the action read as JSON on stdin, prints a JSON result.
 *
 *   {"action": "install" | "uninstall" | "reset" | "reset_keep_data" | "enable" | "disable" | "content" | "front" | "upgrade"
 *              | "status_update" | "tracking_update" | "slip_add" | "cron" | "l"
 *              | "admin" (a back-office tab: "controller") | "hook" ("hook", "params") | "order_grid" | "route" ("route"),
 *    "post": {...}, "get": {...}, "mail_accept": bool, "pdf_fail": [id_order, ...], "pdf_delay_ms": int,
 *    "invoice_render_budget": seconds (the module's INVOICE_RENDER_BUDGET for this request), ...}
 */

require __DIR__ . '/harness.php';
require __DIR__ . '/symfony.php';

$request = json_decode((string) stream_get_contents(STDIN), true);
if (!is_array($request)) {
    fwrite(STDERR, "request.php: a JSON object is expected on stdin\n");
    exit(2);
}
$_POST = $request['post'] ?? [];
$_GET = $request['get'] ?? [];
if (isset($request['mail_accept'])) {
    Mail::$accept = (bool) $request['mail_accept'];
}
if (isset($request['pdf_fail'])) {
    PDF::$failOrders = array_map('intval', $request['pdf_fail']);
}
if (isset($request['pdf_delay_ms'])) {
    PDF::$delayMs = (int) $request['pdf_delay_ms'];
}

/** The shop of an order (0 when it does not exist: the hook then runs in the context's shop). */
function harness_order_shop(int $idOrder): ?int
{
    $idShop = (int) Db::getInstance()->getValue('SELECT `id_shop` FROM `' . _DB_PREFIX_ . 'orders` WHERE `id_order` = ' . $idOrder);

    return $idShop ?: null;
}

require_once _PS_MODULE_DIR_ . 'shoppingfeedsync/shoppingfeedsync.php';
if (isset($request['invoice_render_budget'])) {
    // The module with a shorter rendering budget (it reads the constant with static::).
    define('HARNESS_INVOICE_RENDER_BUDGET', (float) $request['invoice_render_budget']);
    $module = new class() extends ShoppingfeedSync {
        const INVOICE_RENDER_BUDGET = HARNESS_INVOICE_RENDER_BUDGET;
    };
} else {
    $module = new ShoppingfeedSync();
}
$result = ['id_module' => $module->id];

switch ($request['action'] ?? '') {
    case 'install':
        $result['result'] = $module->install();
        break;
    case 'uninstall':
        $result['result'] = $module->uninstall();
        break;
    case 'reset':
        // The Module Manager's Reset in PrestaShop 8 (back office and bin/console, which pass no
        // keep-data): ModuleManager::reset() runs uninstall() then install(), never reset().
        $result['result'] = $module->uninstall() && $module->install();
        break;
    case 'reset_keep_data':
        // ModuleManager::reset($name, true): the module's reset() when it has one.
        $result['result'] = method_exists($module, 'reset') ? $module->reset() : ($module->uninstall() && $module->install());
        break;
    case 'enable':
        $result['result'] = $module->enable();
        break;
    case 'disable':
        $result['result'] = $module->disable();
        break;
    case 'content':
        $result['html'] = $module->getContent();
        break;
    case 'upgrade':
        $result['needed'] = Module::initUpgradeModule($module);
        $result['upgrade'] = $result['needed'] ? $module->runUpgradeModule() : null;
        break;
    case 'status_update':
        // OrderHistory::changeIdOrderState(): the hook runs for the order's shop only.
        $state = new stdClass();
        $state->id = (int) $request['id_order_state'];
        Hook::exec('actionOrderStatusPostUpdate', ['newOrderStatus' => $state, 'oldOrderStatus' => null, 'id_order' => (int) $request['id_order']],
            null, false, true, false, harness_order_shop((int) $request['id_order']));
        if (extension_loaded('shoppingfeed_sync')) {
            \Shoppingfeed\Sync\OrderSync::flushLogs();
        }
        break;
    case 'tracking_update':
        // As PrestaShop calls them: the admin order page's hook (in the order's shop context), or
        // OrderCarrier's ObjectModel hook (the context shop: the back office's, here the order's).
        $idShop = harness_order_shop((int) $request['id_order']);
        if (($request['hook'] ?? 'admin') === 'admin') {
            $order = new stdClass();
            $order->id = (int) $request['id_order'];
            Hook::exec('actionAdminOrdersTrackingNumberUpdate', ['order' => $order, 'customer' => null, 'carrier' => null], null, false, true, false, $idShop);
        } else {
            $orderCarrier = new stdClass();
            $orderCarrier->id_order = (int) $request['id_order'];
            Hook::exec('actionObjectOrderCarrierUpdateAfter', ['object' => $orderCarrier], null, false, true, false, $idShop);
        }
        break;
    case 'slip_add':
        // PrestaShop 8's OrderSlipCreator: the order, its refunded lines, no slip id.
        $order = new stdClass();
        $order->id = (int) $request['id_order'];
        Hook::exec('actionOrderSlipAdd', ['order' => $order, 'productList' => [], 'qtyList' => []], null, false, true, false, harness_order_shop($order->id));
        break;
    case 'cron':
        $result['report'] = $module->runCron();
        break;
    case 'front':
        // The front controller answers and exits, as under PrestaShop: its output and status are
        // collected at shutdown.
        require_once _PS_MODULE_DIR_ . 'shoppingfeedsync/controllers/front/' . $request['controller'] . '.php';
        $class = 'ShoppingfeedSync' . ucfirst($request['controller']) . 'ModuleFrontController';
        register_shutdown_function(static function (): void {
            // The cookie is written (its destructor) before PHP flushes the answer.
            Context::getContext()->cookie->write();
            $body = (string) ob_get_clean();
            echo json_encode(['status' => http_response_code(), 'body' => json_decode($body, true), 'raw' => $body], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        });
        ob_start();
        // The Dispatcher: a new controller, then run() (init, header, content, footer).
        (new $class())->run();
        exit;
    case 'admin':
        // The back office's Dispatcher: the tab's module controller (controllers/admin/<Name>Controller.php),
        // run() printing the page (or a redirect); its output is collected with the harness's reports.
        $tab = new Tab((int) Tab::getIdFromClassName((string) $request['controller']));
        if (!$tab->id || !$tab->active) {
            $result['admin'] = ['status' => 'no_tab'];
            break;
        }
        $_GET['controller'] = $tab->class_name;
        require_once _PS_MODULE_DIR_ . $tab->module . '/controllers/admin/' . $tab->class_name . 'Controller.php';
        $class = $tab->class_name . 'Controller';
        ob_start();
        try {
            (new $class())->run();
            $result['admin'] = ['status' => 'ok', 'html' => (string) ob_get_clean()];
        } catch (\Throwable $e) {
            ob_end_clean();
            $result['admin'] = ['status' => 'exception', 'class' => get_class($e), 'message' => $e->getMessage()];
        }
        break;
    case 'hook':
        // A display or action hook as PrestaShop 8 calls it (the order page: displayAdminOrderMain with id_order).
        $result['html'] = Hook::exec((string) $request['hook'], $request['params'] ?? []);
        break;
    case 'order_grid':
        // The Symfony order grid's definition (OrderGridDefinitionFactory) through actionOrderGridDefinitionModifier.
        $definition = new PrestaShop\PrestaShop\Core\Grid\Definition\GridDefinition('order');
        Hook::exec('actionOrderGridDefinitionModifier', ['definition' => $definition]);
        $result['bulk_actions'] = array_map(static function ($action) {
            return ['id' => $action->getId(), 'name' => $action->getName(), 'type' => $action->getType(), 'options' => $action->getOptions()];
        }, $definition->getBulkActions()->all());
        break;
    case 'route':
        // A bulk action of a Symfony grid, posted to a module's route.
        $result['route'] = harness_route('shoppingfeedsync', (string) $request['route'], $_GET, $_POST);
        break;
    case 'l':
        // As a module's file translates: its own name as the source (a controller: its file name).
        $result['strings'] = array_map(static fn ($s) => $module->l($s, $request['source'] ?? false), $request['strings']);
        break;
    default:
        fwrite(STDERR, "request.php: unknown action\n");
        exit(2);
}
$result['errors'] = $module->getErrors();
$result['warning'] = $module->warning;
$result['display_name'] = $module->displayName;
echo json_encode($result, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PARTIAL_OUTPUT_ON_ERROR);
