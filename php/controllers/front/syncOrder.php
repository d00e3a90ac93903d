<?php
/**
 * The CRON URL: index.php?fc=module&module=shoppingfeedsync&controller=syncOrder&secure_key=...
 * Answers JSON only (see ShoppingfeedSync\CronEndpoint for the bodies).
 */

if (!defined('_PS_VERSION_')) {
    exit;
}

require_once _PS_MODULE_DIR_ . 'shoppingfeedsync/classes/CronEndpoint.php';

use ShoppingfeedSync\CronEndpoint;

class ShoppingfeedSyncSyncOrderModuleFrontController extends ModuleFrontController
{
    /** @var ShoppingfeedSync */
    public $module;

    public function __construct()
    {
        parent::__construct();
        // Controller::__construct() sets $ajax from the request (a CRON service sends no ajax
        // parameter): set after it, so that the front office renders no header, media or footer.
        $this->ajax = true;
    }

    public function init()
    {
        // A CRON service keeps no session: the front office's init() must not send it a cookie
        // (cart, currency) at every call.
        $this->context->cookie->disallowWriting();
        parent::init();
    }

    /** A CRON call must run in maintenance mode too; access is checked by the secure key. */
    protected function displayMaintenancePage()
    {
    }

    public function initContent()
    {
        $key = Tools::getValue('secure_key');
        // The run is bounded by the extension's time budget; a client hanging up must not stop it
        // half way (it is safe, but wasted work).
        ignore_user_abort(true);
        @set_time_limit(0);

        list($status, $body) = CronEndpoint::handle(
            is_string($key) ? $key : null,
            $this->module->getSecureKey(),
            function () {
                return $this->module->runCron();
            }
        );

        http_response_code($status);
        header('Content-Type: application/json; charset=utf-8');
        header('Cache-Control: no-store');
        $json = json_encode($body, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE);
        $this->ajaxRender($json === false ? '{"success":false,"error":"Cannot encode the report."}' : $json);
        exit;
    }
}
