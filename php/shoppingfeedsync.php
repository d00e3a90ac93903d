<?php
/**
 * Shopping Feed order status synchronization, run natively by the PHP extension shoppingfeed_sync.
 *
 * This module is the PrestaShop glue only: it hands the order hooks and the CRON URL to
 * Shoppingfeed\Sync\OrderSync, sends the failure e-mails through PrestaShop's Mail::Send, and has
 * the back-office configuration page (the settings the extension reads from `configuration`).
 */

if (!defined('_PS_VERSION_')) {
    exit;
}

require_once __DIR__ . '/classes/DatabaseUrl.php';
require_once __DIR__ . '/classes/CronEndpoint.php';
require_once __DIR__ . '/classes/LastRuns.php';
require_once __DIR__ . '/classes/Schema.php';

use Shoppingfeed\Sync\OrderSync;
use ShoppingfeedSync\DatabaseUrl;
use ShoppingfeedSync\LastRuns;
use ShoppingfeedSync\Schema;

class ShoppingfeedSync extends Module
{
    const EXTENSION = 'shoppingfeed_sync';
    const MAIL_TEMPLATE = 'order-sync-errors';
    const HOOKS = ['actionValidateOrder', 'actionOrderStatusPostUpdate', 'actionAdminOrdersTrackingNumberUpdate',
        'actionObjectOrderCarrierUpdateAfter', 'actionOrderSlipAdd',
        // The back office: the order page's panel (PrestaShop 8, and 1.7.7+; displayAdminOrder before),
        // the orders list's bulk action, the health notification.
        'displayAdminOrderMain', 'displayAdminOrder', 'actionOrderGridDefinitionModifier', 'displayBackOfficeHeader'];
    /** The back-office tabs (controllers/admin/), under Orders; the first one holds the permissions of every action. */
    const TAB_TASKS = 'AdminShoppingfeedSyncTasks';
    const TAB_LOGS = 'AdminShoppingfeedSyncLogs';
    const TAB_PARENT = 'AdminParentOrders';
    /** The legacy module whose presence and settings gate the synchronization. */
    const LEGACY_MODULE = 'shoppingfluxexport';
    /** The Shopping Feed module sharing our tables and keys: while installed, uninstall keeps them. */
    const REFERENCE_MODULE = 'shoppingfeed';

    const ENABLED = 'SHOPPINGFEED_ORDER_SYNC_ENABLED';
    const SHIPPED = 'SHOPPINGFEED_SHIPPED_ORDERS';
    const CANCELLED = 'SHOPPINGFEED_CANCELLED_ORDERS';
    const REFUNDED = 'SHOPPINGFEED_REFUNDED_ORDERS';
    const DELIVERED = 'SHOPPINGFEED_DELIVERED_ORDERS';
    /** The order state lists, each a JSON array of state ids (operations ship, cancel, refund, deliver). */
    const STATE_LISTS = [self::SHIPPED, self::CANCELLED, self::REFUNDED, self::DELIVERED];
    const TIME_SHIFT = 'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT';
    const MAX_ORDERS = 'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS';
    const AUTH_TOKEN = 'SHOPPINGFEED_AUTH_TOKEN';
    /** 1: each credit slip of a Shopping Feed order is sent as a partial refund (the reference's key). */
    const PARTIAL_REFUND = 'SHOPPINGFEED_ALLOW_PARTIAL_REFUND';
    /** The marketplaces whose invoices are uploaded (the reference's key): a JSON list of names, or its map form. */
    const INVOICE_MARKETPLACES = 'SHOPPINGFEED_ORDER_INVOICE_SYNC_MARKETPLACES';
    /** shoppingfeed_order.name_marketplace is a VARCHAR(255): a longer name matches no order. */
    const MAX_MARKETPLACE_NAME = 255;

    /** 1: the CRON sends nothing to the API (global; a banner on every page of the module says so). */
    const DRY_RUN = 'SHOPPINGFEED_ORDER_SYNC_DRY_RUN';
    /** 1: a ship status waits for its tracking number (per shop), at most SHIP_WAIT_MAX_HOURS. */
    const SHIP_WAITS_TRACKING = 'SHOPPINGFEED_ORDER_SYNC_SHIP_WAITS_TRACKING';
    const SHIP_WAIT_MAX_HOURS = 'SHOPPINGFEED_ORDER_SYNC_SHIP_WAIT_MAX_HOURS';
    /** Health thresholds (global): the CRON's expected interval, and how old a due task may get. */
    const CRON_INTERVAL = 'SHOPPINGFEED_ORDER_SYNC_CRON_INTERVAL_MINUTES';
    const DUE_ALERT = 'SHOPPINGFEED_ORDER_SYNC_DUE_ALERT_MINUTES';
    /** Days a task that gave up stays listed (global). */
    const GAVE_UP_RETENTION = 'SHOPPINGFEED_ORDER_SYNC_GAVE_UP_RETENTION_DAYS';
    /** Days back the CRON looks for orders whose status never reached the queue (global, 0: off). */
    const SWEEP_DAYS = 'SHOPPINGFEED_ORDER_SYNC_SWEEP_DAYS';
    /** Days the ProcessLogger rows are kept (global, 0: kept). */
    const LOG_RETENTION = 'SHOPPINGFEED_LOG_RETENTION_DAYS';
    /** Settings of the whole installation: saved with updateGlobalValue and shown the same in every shop context. */
    const GLOBAL_SETTINGS = [self::DRY_RUN, self::CRON_INTERVAL, self::DUE_ALERT, self::GAVE_UP_RETENTION, self::SWEEP_DAYS, self::LOG_RETENTION];
    /** Bounds of the numeric settings: [min, max]. */
    const NUMBER_BOUNDS = [
        self::SHIP_WAIT_MAX_HOURS => [1, 168],
        self::CRON_INTERVAL => [1, 1440],
        self::DUE_ALERT => [1, 10080],
        self::GAVE_UP_RETENTION => [0, 3650],
        self::SWEEP_DAYS => [0, 90],
        self::LOG_RETENTION => [0, 3650],
    ];
    /** The "Run now" button's run: short enough for a back-office request. */
    const RUN_NOW_BUDGET_MS = 15000;
    const SUBMIT_RUN_NOW = 'submitShoppingfeedSyncRunNow';

    const SUBMIT = 'submitShoppingfeedSync';
    /** The confirmed deletion of the synchronization data (the only way it is ever deleted). */
    const SUBMIT_PURGE = 'submitShoppingfeedSyncPurge';
    const PURGE_CONFIRM = 'SHOPPINGFEEDSYNC_PURGE_CONFIRM';
    /** HelperForm's checkbox group of the values a shop (or group) sets itself: multishopOverride_<KEY>. */
    const OVERRIDE = 'multishopOverride';
    /** A week: a longer wait for a tracking number is a typing error. */
    const MAX_TIME_SHIFT = 10080;
    /** The Shopping Feed API takes at most 100 orders per request. */
    const MAX_ORDERS_LIMIT = 100;

    /** Tables of sql/install.sql (and 0.4's shipment records, emptied by the upgrade); the ones the Shopping Feed module shares come first. */
    const SHARED_TABLES = ['shoppingfeed_task_order', 'shoppingfeed_order', 'shoppingfeed_processlogger', 'shoppingfeed_processmonitor', 'shoppingfeed_token'];
    const OWN_TABLES = ['shoppingfeed_sync_notice', 'shoppingfeed_sync_operation', 'shoppingfeed_sync_shipment'];
    /** The hook whose registration tells that PrestaShop calls the module for a shop's orders. */
    const STATUS_HOOK = 'actionOrderStatusPostUpdate';
    /**
     * Seconds the CRON URL spends rendering invoice PDFs at most before its run (PrestaShop takes
     * ~0.1-0.5 s a PDF, and the run's own budget comes on top): the rest wait for the next run.
     */
    const INVOICE_RENDER_BUDGET = 20;

    /** @var bool the extension is configured for this request (the mailer is request-scoped) */
    private static $extensionConfigured = false;

    /** @var string the CRON URL's key (PrestaShop's Module declares no such property) */
    public $secure_key;

    public function __construct()
    {
        $this->name = 'shoppingfeedsync';
        $this->tab = 'market_place';
        $this->version = '0.5.0';
        $this->author = 'Shopping Feed';
        $this->need_instance = 0;
        $this->bootstrap = true;
        $this->ps_versions_compliancy = ['min' => '1.7.8.0', 'max' => _PS_VERSION_];
        // PrestaShop's own derivation (md5 of _COOKIE_KEY_ and the name); Tools::encrypt is gone in 9.
        $this->secure_key = method_exists('Tools', 'hash') ? Tools::hash($this->name) : Tools::encrypt($this->name);

        parent::__construct();

        $this->displayName = $this->l('Shopping Feed order synchronization (native)');
        $this->description = $this->l('Sends the shipped, cancelled and refunded statuses of Shopping Feed orders to the marketplaces.');
        $this->confirmUninstall = $this->l('Uninstalling stops the synchronization; the waiting statuses, the order links, the logs and the settings are kept for a reinstall. Continue?');
        if (!extension_loaded(self::EXTENSION)) {
            $this->warning = $this->l('The PHP extension shoppingfeed_sync is not loaded: order statuses are not synchronized.');
        }
    }

    // ---- install, uninstall, upgrade --------------------------------------------------------------

    public function install()
    {
        if (!extension_loaded(self::EXTENSION)) {
            $this->_errors[] = $this->l('The PHP extension shoppingfeed_sync is not loaded. Add "extension=shoppingfeed_sync.so" to the php.ini of the web server and of the CLI, restart PHP, then install this module again.');

            return false;
        }
        if (!$this->installForEveryShop()) {
            return false;
        }
        if ($this->installSql() && $this->registerHook(self::HOOKS) && $this->installConfiguration() && $this->installTabs()) {
            return true;
        }
        // Half an install is worse than none: PrestaShop would list the module as installed.
        $errors = $this->_errors;
        parent::uninstall();
        $this->_errors = $errors ?: [$this->l('The module could not be installed.')];

        return false;
    }

    /**
     * PrestaShop enables a module for the shops of the back office's context only, and calls it for
     * an order only in a shop where it is enabled: installed from one shop's context, the other
     * shops' orders would never be synchronized. The install is done in the "All shops" context.
     */
    private function installForEveryShop()
    {
        if (!Shop::isFeatureActive() || Shop::getContext() == Shop::CONTEXT_ALL) {
            return parent::install();
        }
        $context = Shop::getContext();
        $contextId = $context == Shop::CONTEXT_GROUP ? Shop::getContextShopGroupID() : Shop::getContextShopID();
        Shop::setContext(Shop::CONTEXT_ALL);
        try {
            return parent::install();
        } finally {
            Shop::setContext($context, $contextId);
        }
    }

    /**
     * Removes the module from PrestaShop and keeps the merchant's data: PrestaShop 8's Module
     * Manager runs its Reset as uninstall then install (no keep-data from its back office or its
     * bin/console), so the waiting statuses, the order links, the failure notices, the logs and
     * the settings must survive an uninstall. Only what holds nothing goes: a table without a row, a
     * setting still at its default. The data is deleted by the merchant's confirmed action on the
     * configuration page (purgeData()); an uninstall after it leaves nothing behind. Tables and
     * settings the Shopping Feed module shares stay while it is installed.
     */
    public function uninstall()
    {
        $shared = Module::isInstalled(self::REFERENCE_MODULE);
        if (!parent::uninstall()) {
            return false;
        }
        // The tabs hold no data: they go with the module (a reinstall creates them again).
        $this->uninstallTabs();
        $db = Db::getInstance();
        $tables = $shared ? self::OWN_TABLES : array_merge(self::SHARED_TABLES, self::OWN_TABLES);
        foreach ($tables as $table) {
            // Dropped only when the read succeeded and found no row: an error keeps the table.
            $rows = self::tableExists($table) ? $db->executeS('SELECT 1 FROM `' . _DB_PREFIX_ . bqSQL($table) . '` LIMIT 1') : false;
            if (!is_array($rows) || $rows) {
                continue;
            }
            if (!$db->execute('DROP TABLE IF EXISTS `' . _DB_PREFIX_ . bqSQL($table) . '`')) {
                $this->_errors[] = $this->l('Cannot drop the module tables:') . ' ' . Tools::safeOutput($db->getMsgError());

                return false;
            }
        }
        if (!$shared) {
            $this->deleteDefaultSettings();
        }
        // Invoice PDFs wait for tasks that are kept: they go only with the task table.
        if (!self::tableExists('shoppingfeed_task_order')) {
            self::removeInvoiceDir();
        }
        // Created again by the extension on first use.
        self::dropHookProcedures();

        return true;
    }

    /**
     * The back-office tabs under Orders (task grid, logs), created where missing: by install() and
     * the upgrade to 0.5.0 (PrestaShop registers a module's tabs itself only at install). Public for upgrade/.
     */
    public function installTabs()
    {
        $names = [
            self::TAB_TASKS => ['en' => 'Shopping Feed sync', 'fr' => 'Synchro Shopping Feed'],
            self::TAB_LOGS => ['en' => 'Shopping Feed sync logs', 'fr' => 'Journal synchro Shopping Feed'],
        ];
        $parent = (int) Tab::getIdFromClassName(self::TAB_PARENT);
        foreach ($names as $class => $name) {
            if (Tab::getIdFromClassName($class)) {
                continue;
            }
            $tab = new Tab();
            $tab->class_name = $class;
            $tab->module = $this->name;
            $tab->id_parent = $parent;
            $tab->active = 1;
            $tab->name = [];
            foreach (Language::getLanguages(false) as $lang) {
                $tab->name[(int) $lang['id_lang']] = $name[$lang['iso_code']] ?? $name['en'];
            }
            if (!$tab->add()) {
                $this->_errors[] = $this->l('Cannot create the back-office tabs of the module.');

                return false;
            }
        }

        return true;
    }

    private function uninstallTabs()
    {
        foreach ([self::TAB_TASKS, self::TAB_LOGS] as $class) {
            $id = (int) Tab::getIdFromClassName($class);
            if ($id) {
                (new Tab($id))->delete();
            }
        }
    }

    private static function tableExists($table)
    {
        return (bool) Db::getInstance()->getValue('SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()'
            . " AND TABLE_NAME = '" . pSQL(_DB_PREFIX_ . $table) . "'");
    }

    /** Deletes the settings whose every row (global, group, shop) still holds the default. */
    private function deleteDefaultSettings()
    {
        $db = Db::getInstance();
        foreach ($this->configurationDefaults() as $key => $default) {
            $values = $db->executeS('SELECT `value` FROM `' . _DB_PREFIX_ . "configuration` WHERE `name` = '" . pSQL($key) . "'") ?: [];
            $changed = array_filter($values, static function ($row) use ($default) {
                return (string) $row['value'] !== (string) $default;
            });
            if (!$changed) {
                Configuration::deleteByName($key);
            }
        }
    }

    /**
     * The merchant's confirmed deletion of the synchronization data: the rows of the module's
     * tables (those the Shopping Feed module shares only when it is not installed) and the page's
     * settings back to their defaults. The API token stays: it is the merchant's Shopping Feed
     * account, which the Shopping Feed module may use too. Public for tests.
     *
     * @return bool
     */
    public function purgeData()
    {
        $db = Db::getInstance();
        $shared = Module::isInstalled(self::REFERENCE_MODULE);
        $ok = true;
        foreach ($shared ? self::OWN_TABLES : array_merge(self::SHARED_TABLES, self::OWN_TABLES) as $table) {
            if (self::tableExists($table)) {
                $ok = $db->execute('DELETE FROM `' . _DB_PREFIX_ . bqSQL($table) . '`') && $ok;
            }
        }
        if (!$shared) {
            foreach (array_keys($this->configurationDefaults()) as $key) {
                Configuration::deleteByName($key);
            }
            $ok = $this->installConfiguration() && $ok;
        }
        self::removeInvoiceDir();

        return $ok;
    }

    /**
     * The extension's hook procedures (`{prefix}sfsync_hook_{hash}`, created on first use, one per
     * extension version) are this module's alone. One left behind is harmless (nothing calls it),
     * so a user who may not drop it does not fail the uninstall.
     */
    private static function dropHookProcedures()
    {
        $db = Db::getInstance();
        $like = addcslashes(_DB_PREFIX_ . 'sfsync_hook_', '\\%_');
        $names = $db->executeS("SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()
            AND ROUTINE_TYPE = 'PROCEDURE' AND ROUTINE_NAME LIKE '" . pSQL($like) . "%'");
        foreach (is_array($names) ? $names : [] as $row) {
            $db->execute('DROP PROCEDURE IF EXISTS `' . bqSQL($row['ROUTINE_NAME']) . '`');
        }
    }

    /**
     * ModuleManager::reset() with keep-data (neither PrestaShop 8.1's back office nor its
     * bin/console passes it; their Reset is uninstall() then install(), see uninstall()): this
     * page's settings back to their defaults, the hooks and tables checked; the queue and the logs
     * stay.
     */
    public function reset()
    {
        foreach (array_keys($this->configurationDefaults()) as $key) {
            Configuration::deleteByName($key);
        }

        return $this->installSql() && $this->registerHook(self::HOOKS) && $this->installConfiguration() && $this->installTabs();
    }

    /**
     * Runs sql/install.sql (CREATE TABLE IF NOT EXISTS: a reinstall or an upgrade keeps the queue),
     * then adds what a table the Shopping Feed module created lacks. Public for upgrade/.
     */
    public function installSql()
    {
        $sql = Tools::file_get_contents(__DIR__ . '/sql/install.sql');
        if ($sql === false || $sql === '') {
            $this->_errors[] = $this->l('Cannot read sql/install.sql.');

            return false;
        }
        $sql = str_replace('PREFIX_', _DB_PREFIX_, $sql);
        // Comments go first: a ';' inside one would split a statement.
        $sql = preg_replace('/^\s*--.*$/m', '', $sql);
        foreach (array_filter(array_map('trim', explode(';', $sql))) as $statement) {
            if (!Db::getInstance()->execute($statement)) {
                $this->_errors[] = $this->l('Cannot create the module tables:') . ' ' . Tools::safeOutput(Db::getInstance()->getMsgError());

                return false;
            }
        }
        // Tables the Shopping Feed module created before us get the columns the extension needs.
        try {
            (new Schema(Db::getInstance()))->addMissing($sql);
        } catch (\RuntimeException $e) {
            $this->_errors[] = $this->l('Cannot add the missing columns to the module tables:') . ' ' . Tools::safeOutput($e->getMessage());

            return false;
        }

        return true;
    }

    /** @return array<string, string> the settings and their defaults */
    public function configurationDefaults()
    {
        $state = static function ($key) {
            $id = (int) Configuration::get($key);

            return json_encode($id > 0 ? [(string) $id] : []);
        };

        return [
            // Off until the merchant enables it on the configuration page, which checks the legacy module.
            self::ENABLED => '0',
            self::SHIPPED => $state('PS_OS_SHIPPING'),
            self::CANCELLED => $state('PS_OS_CANCELED'),
            self::REFUNDED => $state('PS_OS_REFUND'),
            // PrestaShop's "Delivered" state is often in the shipped list: none by default.
            self::DELIVERED => '[]',
            self::TIME_SHIFT => '5',
            self::MAX_ORDERS => (string) self::MAX_ORDERS_LIMIT,
            // Not every marketplace takes partial refunds: the merchant opts in.
            self::PARTIAL_REFUND => '0',
            // The merchant names the marketplaces that take invoices from the shop: none by default.
            self::INVOICE_MARKETPLACES => '[]',
            self::DRY_RUN => '0',
            self::SHIP_WAITS_TRACKING => '0',
            self::SHIP_WAIT_MAX_HOURS => '24',
            self::CRON_INTERVAL => '15',
            self::DUE_ALERT => '60',
            self::GAVE_UP_RETENTION => '30',
            self::SWEEP_DAYS => '7',
            self::LOG_RETENTION => '30',
        ];
    }

    /**
     * Writes the defaults globally, for the keys that have no global value yet (values set by the
     * Shopping Feed module, or by an earlier install, are kept). Public for upgrade/.
     */
    public function installConfiguration()
    {
        foreach ($this->configurationDefaults() as $key => $value) {
            if (!Configuration::hasKey($key) && !Configuration::updateGlobalValue($key, $value)) {
                $this->_errors[] = $this->l('Cannot save the default settings.');

                return false;
            }
        }
        // As the Shopping Feed module does at install: each shop's API token from the legacy module.
        foreach (Shop::getShops(false, null, true) as $idShop) {
            $legacyToken = (string) Configuration::get('SHOPPING_FLUX_TOKEN', null, null, $idShop);
            if ($legacyToken !== '' && (string) Configuration::get(self::AUTH_TOKEN, null, null, $idShop) === '') {
                Configuration::updateValue(self::AUTH_TOKEN, $legacyToken, false, null, $idShop);
            }
        }

        return true;
    }

    // ---- configuration page -----------------------------------------------------------------------

    public function getContent()
    {
        $output = '';
        if (!extension_loaded(self::EXTENSION)) {
            $output .= $this->displayError($this->l('The PHP extension shoppingfeed_sync is not loaded: order statuses are not synchronized.'));
        }
        $dryRun = $this->dryRunMessage();
        if ($dryRun) {
            $output .= $this->displayWarning($dryRun);
        }
        $values = null;
        $runReport = '';
        if (Tools::isSubmit(self::SUBMIT_RUN_NOW)) {
            $runReport = $this->processRunNow();
        } elseif (Tools::isSubmit(self::SUBMIT_PURGE)) {
            $output .= $this->processPurge();
        } elseif (Tools::isSubmit(self::SUBMIT)) {
            list($errors, $values) = $this->readSettings();
            if ($errors) {
                $output .= $this->displayError($errors);
            } elseif ($this->saveSettings($values)) {
                $output .= $this->displayConfirmation($this->l('Settings updated.'));
                $kept = $this->overridesBelowContext();
                if ($kept) {
                    $output .= $this->displayWarning(array_merge([$this->l('These shops keep their own values, which this save did not change:')], $kept));
                }
                $values = null;
            } else {
                $output .= $this->displayError($this->l('The settings could not be saved.'));
            }
        }
        $missing = $this->shopsWithoutTheModule();
        if ($missing) {
            $output .= $this->displayError(array_merge(
                [$this->l('The synchronization is enabled for these shops, but this module is not enabled there: PrestaShop does not call it for their orders, whose statuses are not sent. In the Module Manager, choose "All shops" (or the shop) and enable the module.')],
                array_map(static function ($shop) {
                    return Tools::safeOutput($shop['name']) . ' (#' . (int) $shop['id_shop'] . ')';
                }, $missing)
            ));
        }
        $unavailable = $this->legacyGateErrors(Shop::getContextListShopID());
        if ($unavailable) {
            $intro = (bool) Configuration::get(self::ENABLED)
                ? $this->l('The synchronization is enabled but does not run: every CRON run logs an error until this is fixed.')
                : $this->l('The synchronization cannot be enabled yet:');
            $output .= $this->displayWarning(array_merge([$intro], $unavailable));
        }

        return $output . $this->renderHealth($runReport) . $this->renderSettingsForm($values) . $this->renderAccounts() . $this->renderCronPanel() . $this->renderLastRuns() . $this->renderPurgePanel();
    }

    /**
     * The shops whose synchronization is enabled (as the extension reads the setting) where
     * PrestaShop does not call this module: not enabled for the shop (module_shop), or not
     * registered on the status hook there.
     *
     * @return list<array{id_shop: int, name: string}>
     */
    public function shopsWithoutTheModule()
    {
        if (!$this->id) {
            return [];
        }
        $db = Db::getInstance();
        $missing = [];
        foreach (Shop::getShops(true, null, true) as $idShop) {
            $shop = new Shop((int) $idShop);
            if ($this->extensionConfigValue(self::ENABLED, $shop) !== '1') {
                continue;
            }
            $enabled = $db->getValue('SELECT 1 FROM `' . _DB_PREFIX_ . 'module_shop` WHERE `id_module` = ' . (int) $this->id . ' AND `id_shop` = ' . (int) $idShop);
            $hooked = $db->getValue('SELECT 1 FROM `' . _DB_PREFIX_ . 'hook_module` hm JOIN `' . _DB_PREFIX_ . 'hook` h ON h.`id_hook` = hm.`id_hook`'
                . ' WHERE hm.`id_module` = ' . (int) $this->id . ' AND hm.`id_shop` = ' . (int) $idShop . " AND h.`name` = '" . self::STATUS_HOOK . "'");
            if (!$enabled || !$hooked) {
                $missing[] = ['id_shop' => (int) $idShop, 'name' => (string) ($shop->name ?: $idShop)];
            }
        }

        return $missing;
    }

    /** The confirmed deletion of the synchronization data, refused while a shop synchronizes. */
    private function processPurge()
    {
        if (!Tools::getValue(self::PURGE_CONFIRM)) {
            return $this->displayError($this->l('Tick the confirmation box to delete the synchronization data.'));
        }
        $enabled = [];
        foreach (Shop::getShops(false, null, true) as $idShop) {
            $shop = new Shop((int) $idShop);
            if ($this->extensionConfigValue(self::ENABLED, $shop) === '1') {
                $enabled[] = Tools::safeOutput($shop->name ?: (string) $idShop);
            }
        }
        if ($enabled) {
            return $this->displayError(sprintf($this->l('Disable the synchronization in every shop first (enabled: %s).'), implode(', ', $enabled)));
        }
        if (!$this->purgeData()) {
            return $this->displayError($this->l('The synchronization data could not be deleted.'));
        }

        return $this->displayConfirmation($this->l('The synchronization data was deleted. Uninstalling the module now leaves nothing behind.'));
    }

    private function renderPurgePanel()
    {
        $action = $this->context->link->getAdminLink('AdminModules', false)
            . '&configure=' . $this->name . '&tab_module=' . $this->tab . '&module_name=' . $this->name . '&token=' . Tools::getAdminTokenLite('AdminModules');
        $confirm = $this->l('Delete the waiting statuses, the order links, the logs and the settings? This cannot be undone.');

        return '<div class="panel" id="shoppingfeedsync-purge"><div class="panel-heading"><i class="icon-trash"></i> ' . $this->l('Delete the synchronization data') . '</div>'
            . '<p>' . $this->l('Uninstalling (and Reset in the Module Manager) keeps the waiting statuses, the order links, the failure notices, the logs and the settings. To remove them, delete them here first (the synchronization must be disabled in every shop); the API token is kept.') . '</p>'
            . '<form method="post" action="' . Tools::safeOutput($action) . '" onsubmit="return confirm(' . Tools::safeOutput(json_encode(html_entity_decode($confirm, ENT_QUOTES, 'UTF-8'))) . ');">'
            . '<div class="checkbox"><label><input type="checkbox" name="' . self::PURGE_CONFIRM . '" value="1" /> '
            . $this->l('I understand that the waiting statuses are never sent and the data cannot be recovered.') . '</label></div>'
            . '<button type="submit" name="' . self::SUBMIT_PURGE . '" value="1" class="btn btn-danger"><i class="icon-trash"></i> ' . $this->l('Delete the data') . '</button>'
            . '</form></div>';
    }

    /**
     * Reads and checks the submitted form. Nothing is saved unless every field is valid.
     *
     * @return array{0: list<string>, 1: array<string, mixed>} errors, and the values as posted
     */
    private function readSettings()
    {
        $errors = [];
        $posted = [];
        $enabled = Tools::getValue(self::ENABLED, '0');
        $posted[self::ENABLED] = $enabled;
        if (!in_array($enabled, ['0', '1'], true)) {
            $errors[] = $this->l('The value of "Enable the synchronization" is not valid.');
        }
        $partial = Tools::getValue(self::PARTIAL_REFUND, '0');
        $posted[self::PARTIAL_REFUND] = $partial;
        if (!in_array($partial, ['0', '1'], true)) {
            $errors[] = $this->l('The value of "Send credit slips as partial refunds" is not valid.');
        }
        $marketplaces = Tools::getValue(self::INVOICE_MARKETPLACES, '');
        $posted[self::INVOICE_MARKETPLACES] = is_string($marketplaces) ? $marketplaces : '';
        if (!is_string($marketplaces) || self::parseMarketplaces($marketplaces) === null) {
            $errors[] = sprintf($this->l('The marketplaces whose invoices are uploaded must be names separated by commas, each of at most %d characters, without control characters.'), self::MAX_MARKETPLACE_NAME);
        }

        $known = [];
        foreach (OrderState::getOrderStates((int) $this->context->language->id) as $state) {
            $known[(int) $state['id_order_state']] = $state['name'];
        }
        $lists = [
            self::SHIPPED => $this->l('Shipped'),
            self::CANCELLED => $this->l('Cancelled'),
            self::REFUNDED => $this->l('Refunded'),
            self::DELIVERED => $this->l('Delivered'),
        ];
        $owner = [];
        foreach ($lists as $key => $label) {
            $ids = Tools::getValue($key, []);
            if ($ids === '' || $ids === false) {
                $ids = []; // nothing selected: the browser sends no field
            }
            if (!is_array($ids)) {
                $errors[] = sprintf($this->l('The order states selected for %s are not valid.'), $label);
                $posted[$key] = [];
                continue;
            }
            $clean = [];
            foreach ($ids as $id) {
                if (!is_string($id) || !ctype_digit($id) || !isset($known[(int) $id])) {
                    $errors[] = sprintf($this->l('Unknown order state "%1$s" in %2$s.'), Tools::safeOutput(is_string($id) ? $id : gettype($id)), $label);
                    continue;
                }
                $id = (int) $id;
                if (isset($owner[$id]) && $owner[$id] !== $key) {
                    $errors[] = sprintf($this->l('The order state "%1$s" is selected in both %2$s and %3$s: choose one.'), Tools::safeOutput($known[$id]), $lists[$owner[$id]], $label);
                }
                $owner[$id] = $key;
                $clean[] = (string) $id;
            }
            $posted[$key] = array_values(array_unique($clean));
        }

        $shift = trim((string) (is_string(Tools::getValue(self::TIME_SHIFT)) ? Tools::getValue(self::TIME_SHIFT) : ''));
        $posted[self::TIME_SHIFT] = $shift;
        if (!ctype_digit($shift) || (int) $shift > self::MAX_TIME_SHIFT) {
            $errors[] = sprintf($this->l('The delay before sending a shipped status must be a whole number of minutes from 0 to %d.'), self::MAX_TIME_SHIFT);
        }
        $max = trim((string) (is_string(Tools::getValue(self::MAX_ORDERS)) ? Tools::getValue(self::MAX_ORDERS) : ''));
        $posted[self::MAX_ORDERS] = $max;
        if (!ctype_digit($max) || (int) $max < 1 || (int) $max > self::MAX_ORDERS_LIMIT) {
            $errors[] = sprintf($this->l('The number of orders per request must be a whole number from 1 to %d.'), self::MAX_ORDERS_LIMIT);
        }

        // Fields a form of an older version did not post keep their saved value.
        $labels = $this->settingLabels() + $this->globalLabels();
        foreach ([self::SHIP_WAITS_TRACKING, self::DRY_RUN] as $key) {
            $value = Tools::getValue($key, (string) (int) $this->savedValue($key));
            $posted[$key] = $value;
            if (!in_array($value, ['0', '1'], true)) {
                $errors[] = sprintf($this->l('The value of "%s" is not valid.'), $labels[$key]);
            }
        }
        foreach (self::NUMBER_BOUNDS as $key => $bounds) {
            $value = Tools::getValue($key, (string) $this->savedValue($key));
            $value = is_string($value) ? trim($value) : '';
            $posted[$key] = $value;
            if (!ctype_digit($value) || (int) $value < $bounds[0] || (int) $value > $bounds[1]) {
                $errors[] = sprintf($this->l('"%1$s" must be a whole number from %2$d to %3$d.'), $labels[$key], $bounds[0], $bounds[1]);
            }
        }

        $token = Tools::getValue(self::AUTH_TOKEN, '');
        $token = is_string($token) ? trim($token) : null;
        $posted[self::AUTH_TOKEN] = $token;
        if ($token === null || ($token !== '' && !preg_match('/^[\x21-\x7e]{8,255}$/', $token))) {
            $errors[] = $this->l('The API token must be 8 to 255 visible characters, without spaces.');
        }

        if ($enabled === '1') {
            $errors = array_merge($errors, $this->legacyGateErrors(Shop::getContextListShopID()));
        }

        return [$errors, $posted];
    }

    /**
     * Saves the checked values for the shop context (PrestaShop's own: shop, group or all shops).
     * In a shop (or group) context of a multistore, PrestaShop's convention: a value is written
     * for the shop when its "own value" box is ticked, or when the merchant changed it from the
     * value the shop inherits; an unticked value the shop had its own row for goes back to the
     * inherited one (its row is deleted). Values left as inherited are not written, so a later
     * save in "All shops" still reaches the shop.
     */
    private function saveSettings(array $values)
    {
        $stored = [
            self::ENABLED => $values[self::ENABLED],
            self::PARTIAL_REFUND => $values[self::PARTIAL_REFUND],
            self::TIME_SHIFT => (string) (int) $values[self::TIME_SHIFT],
            self::MAX_ORDERS => (string) (int) $values[self::MAX_ORDERS],
            self::SHIP_WAITS_TRACKING => $values[self::SHIP_WAITS_TRACKING],
            self::SHIP_WAIT_MAX_HOURS => (string) (int) $values[self::SHIP_WAIT_MAX_HOURS],
            self::INVOICE_MARKETPLACES => self::marketplacesValue(
                self::parseMarketplaces($values[self::INVOICE_MARKETPLACES]),
                (string) Configuration::get(self::INVOICE_MARKETPLACES)
            ),
        ];
        foreach (self::STATE_LISTS as $key) {
            $stored[$key] = json_encode($values[$key]);
        }
        $level = $this->settingsLevel();
        $ok = true;
        foreach ($stored as $key => $value) {
            if ($level === null) {
                $ok = Configuration::updateValue($key, $value) && $ok;
                continue;
            }
            $own = $this->hasOwnValue($key, $level);
            if (Tools::getValue(self::OVERRIDE . '_' . $key) || (!$own && !self::sameSetting($key, $value, $this->inheritedValue($key, $level)))) {
                $ok = Configuration::updateValue($key, $value) && $ok;
            } elseif ($own) {
                Configuration::deleteFromContext($key);
            }
        }
        // One value for the whole installation, whatever the shop context of the page.
        foreach (self::GLOBAL_SETTINGS as $key) {
            $ok = Configuration::updateGlobalValue($key, (string) (int) $values[$key]) && $ok;
        }
        if ($values[self::AUTH_TOKEN] !== '') {
            $ok = Configuration::updateValue(self::AUTH_TOKEN, $values[self::AUTH_TOKEN]) && $ok;
        }

        return $ok;
    }

    /** @return array<string, string> the nine settings of the form and their labels */
    private function settingLabels()
    {
        return [
            self::ENABLED => $this->l('Enable the synchronization'),
            self::SHIPPED => $this->l('Shipped'),
            self::CANCELLED => $this->l('Cancelled'),
            self::REFUNDED => $this->l('Refunded'),
            self::DELIVERED => $this->l('Delivered'),
            self::PARTIAL_REFUND => $this->l('Send credit slips as partial refunds'),
            self::INVOICE_MARKETPLACES => $this->l('Upload the invoices of these marketplaces'),
            self::TIME_SHIFT => $this->l('Delay before sending a shipped status'),
            self::MAX_ORDERS => $this->l('Orders per request'),
            self::SHIP_WAITS_TRACKING => $this->l('A shipped status waits for its tracking number'),
            self::SHIP_WAIT_MAX_HOURS => $this->l('Longest wait for a tracking number'),
        ];
    }

    /** @return array<string, string> the settings of the whole installation and their labels */
    private function globalLabels()
    {
        return [
            self::DRY_RUN => $this->l('Dry run'),
            self::CRON_INTERVAL => $this->l('CRON interval'),
            self::DUE_ALERT => $this->l('Alert when a due status waits longer than'),
            self::GAVE_UP_RETENTION => $this->l('Keep the statuses that gave up'),
            self::SWEEP_DAYS => $this->l('Look for missed statuses over the last'),
            self::LOG_RETENTION => $this->l('Keep the logs'),
        ];
    }

    /** A setting as the page shows it: global settings from their global row, the others for the context. */
    private function savedValue($key)
    {
        $value = in_array($key, self::GLOBAL_SETTINGS, true) ? Configuration::getGlobalValue($key) : Configuration::get($key);
        if ($value === false || $value === null || $value === '') {
            $defaults = $this->configurationDefaults();

            return $defaults[$key] ?? '';
        }

        return (string) $value;
    }

    /** The dry-run banner every page of the module shows while it is on (empty otherwise). */
    public function dryRunMessage()
    {
        return (string) Configuration::getGlobalValue(self::DRY_RUN) === '1'
            ? $this->l('Dry run is on: the CRON sends nothing to Shopping Feed. Turn it off on the configuration page to synchronize again.')
            : '';
    }

    /** "employee 3 (Jane D.)": who did an action, for the synchronization log. */
    public function actor()
    {
        $employee = $this->context->employee;
        $initial = $employee && $employee->lastname ? ' ' . mb_substr((string) $employee->lastname, 0, 1, 'UTF-8') . '.' : '';

        return sprintf('employee %d (%s%s)', $employee ? (int) $employee->id : 0, $employee ? trim((string) $employee->firstname) : '', $initial);
    }

    /** Whether the employee's profile holds the task tab's permission ('view' or 'edit'). */
    public function employeeCan($permission)
    {
        $employee = $this->context->employee;
        if (!$employee || !$employee->id_profile) {
            return false;
        }

        return Access::isGranted('ROLE_MOD_TAB_' . strtoupper(self::TAB_TASKS) . '_' . ($permission === 'edit' ? 'UPDATE' : 'READ'), (int) $employee->id_profile);
    }

    /**
     * The level the page writes at: null for the global values (multistore off, or "All shops"),
     * else the group and shop (0 for a group context) of the context.
     *
     * @return array{group: int, shop: int}|null
     */
    private function settingsLevel()
    {
        if (!Shop::isFeatureActive() || Shop::getContext() == Shop::CONTEXT_ALL) {
            return null;
        }

        return [
            'group' => (int) Shop::getContextShopGroupID(),
            'shop' => Shop::getContext() == Shop::CONTEXT_SHOP ? (int) Shop::getContextShopID() : 0,
        ];
    }

    private function hasOwnValue($key, array $level)
    {
        return $level['shop']
            ? Configuration::hasKey($key, null, null, $level['shop'])
            : Configuration::hasKey($key, null, $level['group']);
    }

    /** What the level reads without its own row: its group's value, else the global one. */
    private function inheritedValue($key, array $level)
    {
        return $level['shop']
            ? Configuration::get($key, null, $level['group'], 0)
            : Configuration::get($key, null, 0, 0);
    }

    /** Whether two stored values of a setting mean the same (state lists in any order, names in any case). */
    private static function sameSetting($key, $a, $b)
    {
        if ($a === false || $b === false || $a === null || $b === null) {
            return $a === $b;
        }
        if (in_array($key, self::STATE_LISTS, true)) {
            $ids = static function ($v) {
                $list = json_decode((string) $v, true);
                $list = is_array($list) ? array_map('intval', $list) : [];
                sort($list);

                return $list;
            };

            return $ids($a) === $ids($b);
        }
        if ($key === self::INVOICE_MARKETPLACES) {
            $names = static function ($v) {
                $list = array_map(static function ($n) {
                    return mb_strtolower($n, 'UTF-8');
                }, (array) self::parseMarketplaces(self::marketplacesText($v)));
                sort($list);

                return $list;
            };

            return $names($a) === $names($b);
        }

        return trim((string) $a) === trim((string) $b);
    }

    /**
     * In "All shops" (or a group) context: the shops and groups below it that set a value
     * themselves, each with the names of those settings.
     *
     * @return list<string>
     */
    private function overridesBelowContext()
    {
        if (!Shop::isFeatureActive() || Shop::getContext() == Shop::CONTEXT_SHOP) {
            return [];
        }
        $out = [];
        foreach ($this->overridesByPlace() as $place => $keys) {
            $out[] = $place . ': ' . implode(', ', $keys);
        }

        return $out;
    }

    /**
     * The settings a shop or group below the context sets itself, by "Shop X" / "Group Y".
     *
     * @return array<string, list<string>>
     */
    private function overridesByPlace()
    {
        $labels = $this->settingLabels();
        $in = implode(',', array_map(static function ($k) {
            return "'" . pSQL($k) . "'";
        }, array_keys($labels)));
        $group = Shop::getContext() == Shop::CONTEXT_GROUP ? (int) Shop::getContextShopGroupID() : 0;
        $rows = Db::getInstance()->executeS('SELECT c.`name`, c.`id_shop`, c.`id_shop_group`, s.`name` AS shop_name, g.`name` AS group_name'
            . ' FROM `' . _DB_PREFIX_ . 'configuration` c'
            . ' LEFT JOIN `' . _DB_PREFIX_ . 'shop` s ON s.`id_shop` = c.`id_shop`'
            . ' LEFT JOIN `' . _DB_PREFIX_ . 'shop_group` g ON g.`id_shop_group` = c.`id_shop_group`'
            . ' WHERE c.`name` IN (' . $in . ') AND (c.`id_shop` > 0 OR c.`id_shop_group` > 0)'
            . ($group ? ' AND c.`id_shop` > 0 AND s.`id_shop_group` = ' . $group : '')
            . ' ORDER BY c.`id_shop_group`, c.`id_shop`') ?: [];
        $out = [];
        foreach ($rows as $row) {
            $place = (int) $row['id_shop']
                ? sprintf($this->l('Shop %s'), Tools::safeOutput($row['shop_name'] ?: $row['id_shop']))
                : sprintf($this->l('Group %s'), Tools::safeOutput($row['group_name'] ?: $row['id_shop_group']));
            $out[$place][] = $labels[$row['name']];
        }

        return $out;
    }

    /**
     * Why the synchronization cannot run for these shops, one message per problem; empty when it
     * can. The same rule as the extension's: the legacy module installed and enabled for
     * the shop, with its "Order shipment" and "Order cancellation" options off.
     *
     * @param list<int> $shopIds
     *
     * @return list<string>
     */
    public function legacyGateErrors(array $shopIds)
    {
        $db = Db::getInstance();
        $installed = (bool) $db->getValue('SELECT COUNT(*) FROM `' . _DB_PREFIX_ . "module` WHERE `name` = '" . self::LEGACY_MODULE . "'");
        if (!$installed) {
            return [$this->l('The Shopping Feed Official module (shoppingfluxexport) is not installed. It imports the marketplace orders: install it, then enable this synchronization.')];
        }
        $errors = [];
        foreach ($shopIds as $idShop) {
            $shop = new Shop((int) $idShop);
            $name = Tools::safeOutput($shop->name ?: (string) $idShop);
            $active = $db->getValue('SELECT m.`active` FROM `' . _DB_PREFIX_ . 'module` m JOIN `' . _DB_PREFIX_ . 'module_shop` ms'
                . ' ON ms.`id_module` = m.`id_module` AND ms.`id_shop` = ' . (int) $idShop . " WHERE m.`name` = '" . self::LEGACY_MODULE . "'");
            if (!$active) {
                $errors[] = sprintf($this->l('Shop %s: the Shopping Feed Official module (shoppingfluxexport) is not enabled for this shop.'), $name);
            } elseif ($this->extensionConfigValue('SHOPPING_FLUX_STATUS_SHIPPED', $shop) !== ''
                || $this->extensionConfigValue('SHOPPING_FLUX_STATUS_CANCELED', $shop) !== '') {
                $errors[] = sprintf($this->l('Shop %s: the Shopping Feed Official module (shoppingfluxexport) synchronizes the orders itself. Untick its "Order shipment" and "Order cancellation" options, then enable this synchronization.'), $name);
            }
        }

        return $errors;
    }

    /**
     * A configuration value for a shop as the extension (and Configuration::get()) reads it: with
     * multistore on, the shop's row, else its group's, else the global one; with multistore off,
     * the global one only.
     */
    public function extensionConfigValue($key, Shop $shop)
    {
        $rows = Shop::isFeatureActive()
            ? '(`id_shop` = ' . (int) $shop->id
                . ' OR (`id_shop` IS NULL AND (`id_shop_group` = ' . (int) $shop->id_shop_group . ' OR `id_shop_group` IS NULL)))'
            : '(`id_shop` IS NULL AND `id_shop_group` IS NULL)';
        $value = Db::getInstance()->getValue('SELECT `value` FROM `' . _DB_PREFIX_ . 'configuration`'
            . " WHERE `name` = '" . pSQL($key) . "' AND " . $rows
            . ' ORDER BY `id_shop` IS NULL, `id_shop_group` IS NULL');

        return $value === false || $value === null ? '' : (string) $value;
    }

    /** @param array<string, mixed>|null $posted the refused submission, shown again; null: the saved settings */
    private function renderSettingsForm($posted)
    {
        $states = OrderState::getOrderStates((int) $this->context->language->id);
        $list = function ($key, $label, $desc) use ($states) {
            return [
                'type' => 'select',
                'name' => $key . '[]',
                'label' => $label,
                'desc' => $desc,
                'multiple' => true,
                'class' => 'chosen',
                'size' => min(15, max(4, count($states))),
                'options' => ['query' => $states, 'id' => 'id_order_state', 'name' => 'name'],
            ];
        };
        $form = ['form' => [
            'legend' => ['title' => $this->l('Order status synchronization'), 'icon' => 'icon-cogs'],
            'input' => [
                [
                    'type' => 'switch',
                    'name' => self::ENABLED,
                    'label' => $this->l('Enable the synchronization'),
                    'desc' => $this->l('Sends the status changes of Shopping Feed orders to the marketplaces.'),
                    'is_bool' => true,
                    'values' => [
                        ['id' => 'active_on', 'value' => 1, 'label' => $this->l('Yes')],
                        ['id' => 'active_off', 'value' => 0, 'label' => $this->l('No')],
                    ],
                ],
                $list(self::SHIPPED, $this->l('Shipped'), $this->l('Order states sent as "shipped", with the carrier and the tracking number. Ctrl+click to select several.')),
                $list(self::CANCELLED, $this->l('Cancelled'), $this->l('Order states sent as "cancelled".')),
                $list(self::REFUNDED, $this->l('Refunded'), $this->l('Order states sent as "refunded".')),
                $list(self::DELIVERED, $this->l('Delivered'), $this->l('Order states sent as "delivered" (after the shipment).')),
                [
                    'type' => 'switch',
                    'name' => self::PARTIAL_REFUND,
                    'label' => $this->l('Send credit slips as partial refunds'),
                    'desc' => $this->l('Each credit slip sends its products (and whether the shipping was refunded) to the marketplace, where the marketplace allows partial refunds. A slip refunding only the shipping is not sent.'),
                    'is_bool' => true,
                    'values' => [
                        ['id' => 'partial_on', 'value' => 1, 'label' => $this->l('Yes')],
                        ['id' => 'partial_off', 'value' => 0, 'label' => $this->l('No')],
                    ],
                ],
                [
                    'type' => 'text',
                    'name' => self::INVOICE_MARKETPLACES,
                    'label' => $this->l('Upload the invoices of these marketplaces'),
                    'class' => 'fixed-width-xxl',
                    'desc' => $this->l('Marketplace names separated by commas, as the Shopping Feed orders name them (e.g. Amazon, Cdiscount); case does not matter. When an order of one of them reaches a state that makes an invoice, its invoice PDF is uploaded to the marketplace by the CRON URL. Empty: none.'),
                ],
                [
                    'type' => 'text',
                    'name' => self::TIME_SHIFT,
                    'label' => $this->l('Delay before sending a shipped status'),
                    'suffix' => $this->l('minutes'),
                    'class' => 'fixed-width-sm',
                    'desc' => $this->l('Leaves time to enter the tracking number. 0 sends it at the next CRON run. Default: 5.'),
                ],
                [
                    'type' => 'text',
                    'name' => self::MAX_ORDERS,
                    'label' => $this->l('Orders per request'),
                    'class' => 'fixed-width-sm',
                    'desc' => $this->l('How many orders one API request sends, from 1 to 100. Default: 100.'),
                ],
                [
                    'type' => 'switch',
                    'name' => self::SHIP_WAITS_TRACKING,
                    'label' => $this->l('A shipped status waits for its tracking number'),
                    'desc' => $this->l('A shipped status without a tracking number is not sent until one is saved on the order, for at most the hours below; then it is sent without one.'),
                    'is_bool' => true,
                    'values' => [
                        ['id' => 'waits_on', 'value' => 1, 'label' => $this->l('Yes')],
                        ['id' => 'waits_off', 'value' => 0, 'label' => $this->l('No')],
                    ],
                ],
                [
                    'type' => 'text',
                    'name' => self::SHIP_WAIT_MAX_HOURS,
                    'label' => $this->l('Longest wait for a tracking number'),
                    'suffix' => $this->l('hours'),
                    'class' => 'fixed-width-sm',
                    'desc' => $this->l('From 1 to 168 (a week). Default: 24.'),
                ],
                [
                    'type' => 'password',
                    'name' => self::AUTH_TOKEN,
                    'label' => $this->l('Shopping Feed API token'),
                    'class' => 'fixed-width-xxl',
                    // form.tpl writes autocomplete="off" only when asked: no browser fills in a saved password.
                    'autocomplete' => false,
                    // The token is never sent back to the browser; the page only says whether one is set.
                    'desc' => ((string) Configuration::get(self::AUTH_TOKEN) !== ''
                        ? $this->l('A token is saved. Leave empty to keep it.')
                        : $this->l('No token is saved yet: the CRON skips this shop until there is one.')),
                ],
            ],
            'submit' => ['title' => $this->l('Save'), 'name' => self::SUBMIT],
        ]];
        $form['form']['input'] = $this->withMultistoreFields($form['form']['input']);
        $number = function ($key, $suffix, $desc) {
            $labels = $this->globalLabels();

            return ['type' => 'text', 'name' => $key, 'label' => $labels[$key], 'suffix' => $suffix, 'class' => 'fixed-width-sm', 'desc' => $desc];
        };
        $global = ['form' => [
            'legend' => ['title' => $this->l('Monitoring and housekeeping (all shops)'), 'icon' => 'icon-heart'],
            'description' => $this->l('These settings apply to the whole installation, whatever the shop chosen in the header.'),
            'input' => [
                [
                    'type' => 'switch',
                    'name' => self::DRY_RUN,
                    'label' => $this->l('Dry run'),
                    'desc' => $this->l('The CRON prepares the statuses but sends nothing to Shopping Feed, and logs what it would have sent. A banner on every page of the module says it is on.'),
                    'is_bool' => true,
                    'values' => [
                        ['id' => 'dry_on', 'value' => 1, 'label' => $this->l('Yes')],
                        ['id' => 'dry_off', 'value' => 0, 'label' => $this->l('No')],
                    ],
                ],
                $number(self::CRON_INTERVAL, $this->l('minutes'), $this->l('How often your CRON calls the URL below. A warning is shown when it has not run for three intervals. Default: 15.')),
                $number(self::DUE_ALERT, $this->l('minutes'), $this->l('A warning is shown when a status due for sending waits longer than this. Default: 60.')),
                $number(self::GAVE_UP_RETENTION, $this->l('days'), $this->l('A status that gave up stays in the task list this long, for a retry. 0: until removed. Default: 30.')),
                $number(self::SWEEP_DAYS, $this->l('days'), $this->l('Each CRON run queues the Shopping Feed orders of this period whose current status was never queued (e.g. changed while the module was disabled). 0: off. Default: 7.')),
                $number(self::LOG_RETENTION, $this->l('days'), $this->l('Older log rows are deleted by the CRON. 0: kept. Default: 30.')),
            ],
            'submit' => ['title' => $this->l('Save'), 'name' => self::SUBMIT],
        ]];

        $helper = new HelperForm();
        $helper->module = $this;
        $helper->table = $this->table ?? 'module';
        $helper->name_controller = $this->name;
        $helper->identifier = 'id_module';
        $helper->submit_action = self::SUBMIT;
        $helper->show_toolbar = false;
        $helper->default_form_language = (int) $this->context->language->id;
        $helper->allow_employee_form_lang = 0;
        $helper->currentIndex = $this->context->link->getAdminLink('AdminModules', false)
            . '&configure=' . $this->name . '&tab_module=' . $this->tab . '&module_name=' . $this->name;
        $helper->token = Tools::getAdminTokenLite('AdminModules');
        $helper->tpl_vars = [
            'fields_value' => $this->formValues($posted),
            'languages' => $this->context->controller ? $this->context->controller->getLanguages() : [],
            'id_language' => (int) $this->context->language->id,
        ];

        return $helper->generateForm([$form, $global]);
    }

    /**
     * PrestaShop's multistore conventions on the form: in a shop (or group) context, each setting
     * says whether the shop sets it itself or inherits it, and a box per setting keeps it the
     * shop's own (unticked: back to the inherited value); in "All shops", each setting names the
     * shops and groups that set it themselves, which a save there does not change.
     */
    private function withMultistoreFields(array $inputs)
    {
        if (!Shop::isFeatureActive()) {
            return $inputs;
        }
        $labels = $this->settingLabels();
        $level = $this->settingsLevel();
        $notes = [];
        if ($level === null || !$level['shop']) {
            foreach ($this->overridesByPlace() as $place => $keys) {
                foreach ($keys as $label) {
                    $notes[array_search($label, $labels, true)][] = $place;
                }
            }
            foreach ($notes as $key => $places) {
                $notes[$key] = '<span class="text-warning">' . sprintf($this->l('Set by these shops or groups themselves (not changed by a save here): %s.'), implode(', ', $places)) . '</span>';
            }
        }
        if ($level !== null) {
            foreach (array_keys($labels) as $key) {
                if (!isset($notes[$key])) {
                    $notes[$key] = $this->hasOwnValue($key, $level)
                        ? '<strong>' . ($level['shop'] ? $this->l('This shop sets its own value.') : $this->l('This group sets its own value.')) . '</strong>'
                        : ($level['shop'] && Configuration::hasKey($key, null, $level['group'])
                            ? $this->l('Inherited from the shop group.')
                            : $this->l('Inherited from All shops.'));
                }
            }
        }
        foreach ($inputs as $i => $input) {
            $key = rtrim($input['name'], '[]');
            if (isset($notes[$key])) {
                $inputs[$i]['desc'] = array_merge((array) $input['desc'], [$notes[$key]]);
            }
        }
        if ($level !== null) {
            $inputs[] = [
                'type' => 'checkbox',
                'name' => self::OVERRIDE,
                'label' => $level['shop'] ? $this->l('Values of this shop') : $this->l('Values of this group'),
                'desc' => $this->l('Ticked: the value above is this shop\'s own. Unticked: the shop uses the value of All shops (or of its group), and follows its changes. A value changed here is ticked when saved.'),
                'values' => ['query' => array_map(static function ($key, $label) {
                    return ['id' => $key, 'name' => $label];
                }, array_keys($labels), $labels), 'id' => 'id', 'name' => 'name'],
            ];
        }

        return $inputs;
    }

    /** The values the form shows: the refused submission, or what the context shop reads. */
    private function formValues($posted)
    {
        $values = [];
        $level = $this->settingsLevel();
        if ($level !== null) {
            foreach (array_keys($this->settingLabels()) as $key) {
                $values[self::OVERRIDE . '_' . $key] = $posted !== null
                    ? (bool) Tools::getValue(self::OVERRIDE . '_' . $key)
                    : $this->hasOwnValue($key, $level);
            }
        }
        foreach ([self::ENABLED, self::PARTIAL_REFUND, self::TIME_SHIFT, self::MAX_ORDERS] as $key) {
            $values[$key] = $posted !== null ? $posted[$key] : (string) Configuration::get($key);
        }
        foreach (array_merge([self::SHIP_WAITS_TRACKING, self::SHIP_WAIT_MAX_HOURS], self::GLOBAL_SETTINGS) as $key) {
            $values[$key] = $posted !== null ? $posted[$key] : $this->savedValue($key);
        }
        $values[self::INVOICE_MARKETPLACES] = $posted !== null
            ? $posted[self::INVOICE_MARKETPLACES]
            : self::marketplacesText((string) Configuration::get(self::INVOICE_MARKETPLACES));
        foreach (self::STATE_LISTS as $key) {
            $ids = $posted !== null ? $posted[$key] : json_decode((string) Configuration::get($key), true);
            // HelperForm matches the options of a multiple select on the field name, brackets included.
            $values[$key . '[]'] = is_array($ids) ? array_map('intval', $ids) : [];
        }

        return $values;
    }

    /**
     * The names typed in the marketplaces field ("Amazon, Cdiscount"), trimmed, without empty
     * items or duplicates (compared as the extension does, case-insensitively); null when one is
     * too long or holds a control character.
     *
     * @return list<string>|null
     */
    public static function parseMarketplaces($text)
    {
        $names = [];
        foreach (explode(',', (string) $text) as $name) {
            $name = trim($name);
            if ($name === '') {
                continue;
            }
            // /u also refuses invalid UTF-8.
            if (!preg_match('/^[^\x00-\x1f\x7f]+$/u', $name) || mb_strlen($name, 'UTF-8') > self::MAX_MARKETPLACE_NAME) {
                return null;
            }
            $key = mb_strtolower($name, 'UTF-8');
            if (!isset($names[$key])) {
                $names[$key] = $name;
            }
        }

        return array_values($names);
    }

    /**
     * The stored setting for these names: a JSON list, unless the stored value is the Shopping
     * Feed module's map (id => {name, isEnabled}, or name => bool), which keeps its form so that
     * the module sharing the key still reads it: its entries are switched on or off, new names
     * are added as {name, isEnabled} entries.
     *
     * @param list<string> $names
     */
    public static function marketplacesValue(array $names, $stored)
    {
        $map = json_decode((string) $stored, true);
        if (!is_array($map) || !$map || self::isList($map)) {
            return json_encode($names, JSON_UNESCAPED_UNICODE);
        }
        $wanted = [];
        foreach ($names as $name) {
            $wanted[mb_strtolower($name, 'UTF-8')] = $name;
        }
        foreach ($map as $key => $entry) {
            $name = is_array($entry) && isset($entry['name']) && is_string($entry['name']) ? $entry['name'] : (string) $key;
            $id = mb_strtolower(trim($name), 'UTF-8');
            if (is_array($entry)) {
                $map[$key]['isEnabled'] = isset($wanted[$id]);
            } else {
                $map[$key] = isset($wanted[$id]);
            }
            unset($wanted[$id]);
        }
        foreach ($wanted as $name) {
            $map[$name] = ['name' => $name, 'isEnabled' => true];
        }

        return json_encode($map, JSON_UNESCAPED_UNICODE);
    }

    /**
     * The enabled names of a stored setting, as the field shows them ("Amazon, Cdiscount"); read as
     * the extension reads it (a list, a map name => bool, the map id => {name, isEnabled}). A value
     * that is not JSON is shown as it is, so that saving the page repairs it.
     */
    public static function marketplacesText($stored)
    {
        $value = json_decode((string) $stored, true);
        if (!is_array($value)) {
            return $value === null && json_last_error() === JSON_ERROR_NONE ? '' : (string) $stored;
        }
        // PHP-like truthiness, as the extension reads the flags.
        $on = static function ($v) {
            return $v === true || (is_numeric($v) && (float) $v != 0)
                || (is_string($v) && in_array(strtolower(trim($v)), ['1', 'true', 'yes', 'on'], true));
        };
        $names = [];
        $list = self::isList($value);
        foreach ($value as $key => $entry) {
            if ($list) {
                if (is_string($entry)) {
                    $names[] = trim($entry);
                }
            } elseif (is_array($entry)) {
                if (isset($entry['isEnabled']) && $on($entry['isEnabled'])) {
                    $names[] = trim(isset($entry['name']) && is_string($entry['name']) ? $entry['name'] : (string) $key);
                }
            } elseif ($on($entry)) {
                $names[] = trim((string) $key);
            }
        }

        return implode(', ', array_filter($names, 'strlen'));
    }

    private static function isList(array $value)
    {
        return $value === [] || array_keys($value) === range(0, count($value) - 1);
    }

    private function renderCronPanel()
    {
        $url = $this->getCronUrl();
        $e = function ($s) {
            return Tools::safeOutput($s);
        };

        return '<div class="panel" id="shoppingfeedsync-cron"><div class="panel-heading"><i class="icon-time"></i> ' . $this->l('CRON task') . '</div>'
            . '<p>' . $this->l('Call this URL every 5 minutes from a CRON task (it sends the waiting statuses, then checks the tickets):') . '</p>'
            . '<p><input type="text" readonly="readonly" class="form-control" value="' . $e($url) . '" onclick="this.select()" /></p>'
            . '<p>' . $this->l('Secure key:') . ' <code>' . $e($this->getSecureKey()) . '</code></p>'
            . '<p>' . $this->l('For example, in the crontab of the server:') . '</p>'
            . '<pre>*/5 * * * * curl -fsS ' . $e(escapeshellarg($url)) . ' &gt; /dev/null</pre>'
            . '<p>' . $this->l('Or, without the web server: php modules/shoppingfeedsync/cli/sync-orders.php --database-url=... (see --help).') . '</p>'
            . (extension_loaded(self::EXTENSION) ? '<p class="help-block">' . $this->l('Extension shoppingfeed_sync:') . ' <code>' . $e(OrderSync::version()) . '</code></p>' : '')
            . '</div>';
    }

    /**
     * The Shopping Feed accounts of the shops in context (`shoppingfeed_token`, which the Shopping
     * Feed module fills when it imports orders with several accounts). Read-only, and the tokens
     * are never sent to the browser.
     */
    private function renderAccounts()
    {
        $shops = array_map('intval', Shop::getContextListShopID());
        $rows = Db::getInstance()->executeS('SELECT t.`id_shoppingfeed_token`, t.`id_shop`, t.`merchant`, t.`shoppingfeed_store_id`, t.`active`,'
            . ' (SELECT COUNT(*) FROM `' . _DB_PREFIX_ . 'shoppingfeed_order` so WHERE so.`id_shoppingfeed_token` = t.`id_shoppingfeed_token`) AS `orders`'
            . ' FROM `' . _DB_PREFIX_ . 'shoppingfeed_token` t WHERE t.`id_shop` IN (' . implode(',', $shops ?: [0]) . ') ORDER BY t.`id_shop`, t.`id_shoppingfeed_token`') ?: [];
        $html = '<div class="panel" id="shoppingfeedsync-accounts"><div class="panel-heading"><i class="icon-key"></i> ' . $this->l('Shopping Feed accounts') . '</div>';
        if (!$rows) {
            return $html . '<p>' . $this->l('No account row: every order of the shop is sent with the API token above.') . '</p></div>';
        }
        $html .= '<p>' . $this->l('Each order is sent with the account it was imported with; orders without one go to the shop\'s first active account. The API token above is then not used.') . '</p>'
            . '<table class="table"><thead><tr><th>#</th><th>' . $this->l('Shop') . '</th><th>' . $this->l('Merchant') . '</th><th>' . $this->l('Store') . '</th><th>'
            . $this->l('Orders') . '</th><th>' . $this->l('Active') . '</th></tr></thead><tbody>';
        foreach ($rows as $r) {
            $html .= '<tr' . ($r['active'] ? '' : ' class="text-muted"') . '><td>' . (int) $r['id_shoppingfeed_token'] . '</td><td>' . (int) $r['id_shop'] . '</td><td>'
                . Tools::safeOutput((string) $r['merchant']) . '</td><td>' . ((int) $r['shoppingfeed_store_id'] ?: $this->l('first of the account')) . '</td><td>' . (int) $r['orders'] . '</td><td>' . ($r['active'] ? $this->l('Yes') : $this->l('No')) . '</td></tr>';
        }

        return $html . '</tbody></table><p class="help-block">' . $this->l('The orders of an inactive account wait in the queue, and each CRON run logs an error for them.') . '</p></div>';
    }

    private function renderLastRuns()
    {
        $lastRuns = new LastRuns(Db::getInstance(), _DB_PREFIX_);
        $html = '<div class="panel" id="shoppingfeedsync-runs"><div class="panel-heading"><i class="icon-list"></i> ' . $this->l('Last CRON runs') . '</div>';
        $monitor = $lastRuns->monitor();
        if ($monitor === null) {
            $html .= '<p>' . $this->l('The CRON has never run.') . '</p>';
        } else {
            $html .= '<p>' . sprintf($this->l('Last run: %1$s (%2$s s).'), Tools::safeOutput($monitor['last_update']), number_format($monitor['duration'], 1))
                . ($monitor['running'] ? ' <span class="badge badge-info">' . $this->l('running now') . '</span>' : '') . '</p>';
        }
        $runs = $lastRuns->runs(10);
        if (!$runs) {
            return $html . '<p>' . $this->l('No run has logged anything yet.') . '</p></div>';
        }
        $html .= '<table class="table"><thead><tr><th>' . $this->l('When') . '</th><th>' . $this->l('Statuses sent') . '</th><th>'
            . $this->l('Confirmed by the marketplaces') . '</th><th>' . $this->l('Failures') . '</th><th>' . $this->l('Last failure') . '</th></tr></thead><tbody>';
        foreach ($runs as $run) {
            $html .= '<tr' . ($run['failures'] ? ' class="danger"' : '') . '><td>' . Tools::safeOutput($run['started']) . '</td><td>' . (int) $run['sent']
                . '</td><td>' . (int) $run['succeeded'] . '</td><td>' . (int) $run['failures'] . '</td><td>' . Tools::safeOutput((string) $run['last_error']) . '</td></tr>';
        }

        return $html . '</tbody></table><p class="help-block">' . $this->l('From the ProcessLogger table: the rows of one run are grouped by time.') . '</p></div>';
    }

    // ---- health, run now ---------------------------------------------------------------------------

    /**
     * The synchronization's health for these shops (the extension's OrderSync::health()), or null
     * when the extension is missing or older than the module, or fails (the reason in $error).
     */
    public function health(array $shops, &$error = null)
    {
        if (!extension_loaded(self::EXTENSION) || !method_exists(OrderSync::class, 'health')) {
            $error = $this->l('The health of the synchronization needs version 0.5.0 of the extension shoppingfeed_sync.');

            return null;
        }
        try {
            $this->configureExtension();

            return OrderSync::health(array_map('intval', $shops));
        } catch (\Throwable $e) {
            $error = Tools::safeOutput($e->getMessage());

            return null;
        }
    }

    /** The health's warnings in the employee's language (the extension's English text for an unknown code). */
    public function healthWarnings(array $health)
    {
        $out = [];
        foreach ($health['warnings'] ?? [] as $warning) {
            switch ($warning['code'] ?? '') {
                case 'cron_late':
                    $out[] = $health['last_run']
                        ? sprintf($this->l('The CRON last ran %1$s ago, but it should run every %2$d minutes: check the CRON task of your server.'), $this->age(self::lastRunAge($health)), self::threshold($health, 'cron_interval_minutes', self::CRON_INTERVAL))
                        : sprintf($this->l('The CRON has never run: call the CRON URL every %d minutes.'), self::threshold($health, 'cron_interval_minutes', self::CRON_INTERVAL));
                    break;
                case 'due_old':
                    $out[] = sprintf($this->l('A status due for sending has waited %1$s (alert after %2$d minutes).'), $this->age((int) $health['oldest_due_seconds']), self::threshold($health, 'due_alert_minutes', self::DUE_ALERT));
                    break;
                case 'gave_up':
                    $out[] = sprintf($this->l('%d status(es) gave up after their retries: retry or cancel them in the task list.'), (int) $health['gave_up']);
                    break;
                default:
                    $out[] = Tools::safeOutput((string) ($warning['message'] ?? ''));
            }
        }

        return $out;
    }

    /** Seconds since the last run, as the database counts them (its clock, not PHP's time zone). */
    private static function lastRunAge(array $health)
    {
        return isset($health['last_run_age_seconds']) ? (int) $health['last_run_age_seconds'] : time() - (int) strtotime((string) $health['last_run']);
    }

    /** A threshold as the extension read it, else the setting. */
    private static function threshold(array $health, $key, $setting)
    {
        return isset($health[$key]) ? (int) $health[$key] : (int) Configuration::getGlobalValue($setting);
    }

        /** "5 min", "2 h 10 min", "3 days". */
    public function age($seconds)
    {
        $minutes = (int) floor(max(0, (int) $seconds) / 60);
        if ($minutes < 60) {
            return sprintf($this->l('%d min'), $minutes);
        }
        if ($minutes < 2880) {
            return sprintf($this->l('%1$d h %2$d min'), intdiv($minutes, 60), $minutes % 60);
        }

        return sprintf($this->l('%d days'), intdiv($minutes, 1440));
    }

    private function renderHealth($runReport)
    {
        $shops = Shop::getContextListShopID();
        $health = $this->health($shops, $error);
        $e = static function ($s) {
            return Tools::safeOutput((string) $s);
        };
        $html = '<div class="panel" id="shoppingfeedsync-health"><div class="panel-heading"><i class="icon-heart"></i> ' . $this->l('Health') . '</div>' . $runReport;
        if ($health === null) {
            $html .= '<div class="alert alert-warning">' . $error . '</div>';
        } else {
            $warnings = $this->healthWarnings($health);
            $html .= $warnings ? $this->displayWarning($warnings) : '<div class="alert alert-success">' . $this->l('The synchronization runs normally.') . '</div>';
            $row = static function ($label, $value) {
                return '<tr><th>' . $label . '</th><td>' . $value . '</td></tr>';
            };
            $html .= '<table class="table"><tbody>'
                . $row($this->l('Last CRON run'), ($health['last_run'] ? $e($health['last_run']) . ' (' . $e(sprintf($this->l('%s ago'), $this->age(self::lastRunAge($health)))) . ')' : $this->l('never'))
                    . (!empty($health['running']) ? ' <span class="badge badge-info">' . $this->l('running now') . '</span>' : ''))
                . $row($this->l('Statuses due for sending'), (int) $health['due'] . ($health['oldest_due_seconds'] !== null ? ' &middot; ' . $e(sprintf($this->l('the oldest for %s'), $this->age($health['oldest_due_seconds']))) : ''))
                . $row($this->l('Sent, waiting for their ticket'), (int) $health['checking'] . ($health['oldest_unchecked_seconds'] !== null ? ' &middot; ' . $e(sprintf($this->l('the oldest for %s'), $this->age($health['oldest_unchecked_seconds']))) : ''))
                . $row($this->l('Gave up after their retries'), (int) $health['gave_up'])
                . '</tbody></table>';
        }
        $action = $this->context->link->getAdminLink('AdminModules', false)
            . '&configure=' . $this->name . '&tab_module=' . $this->tab . '&module_name=' . $this->name . '&token=' . Tools::getAdminTokenLite('AdminModules');
        $html .= '<form method="post" action="' . $e($action) . '" class="form-inline">'
            . '<button type="submit" name="' . self::SUBMIT_RUN_NOW . '" value="1" class="btn btn-default"><i class="icon-play"></i> ' . $this->l('Run now') . '</button> '
            . '<span class="help-block" style="display:inline">' . sprintf($this->l('Runs the CRON once for the shops of this context, for at most %d seconds.'), (int) (self::RUN_NOW_BUDGET_MS / 1000)) . '</span></form>';
        if ($this->employeeCan('view')) {
            $html .= '<p><a class="btn btn-link" href="' . $e($this->context->link->getAdminLink(self::TAB_TASKS)) . '"><i class="icon-list"></i> ' . $this->l('Task list')
                . '</a> <a class="btn btn-link" href="' . $e($this->context->link->getAdminLink(self::TAB_LOGS)) . '"><i class="icon-file-text"></i> ' . $this->l('Logs') . '</a></p>';
        }

        return $html . '</div>';
    }

    /** The "Run now" button: one CRON run, bounded, for the context's shop (or all), and its report. */
    private function processRunNow()
    {
        // The extension logs who asked for the run (the log table is written by the extension).
        $options = ['run_budget_ms' => self::RUN_NOW_BUDGET_MS, 'requested_by' => $this->actor()];
        if (Shop::getContext() == Shop::CONTEXT_SHOP) {
            $options['id_shop'] = (int) Shop::getContextShopID();
        }
        try {
            $report = $this->runCron($options);
        } catch (\Throwable $e) {
            return $this->displayError($this->l('The run failed:') . ' ' . Tools::safeOutput($e->getMessage()));
        }
        if (!empty($report['locked'])) {
            return $this->displayWarning($this->l('A CRON run is already running: this one did nothing. Try again in a minute.'));
        }
        $lines = [sprintf($this->l('Run finished in %s s.'), number_format(((int) ($report['duration_ms'] ?? 0)) / 1000, 1))];
        foreach ($report['shops'] ?? [] as $idShop => $shop) {
            if (!empty($shop['skipped'])) {
                $lines[] = sprintf($this->l('Shop %1$d: skipped (%2$s).'), (int) $idShop, Tools::safeOutput((string) $shop['skipped']));
                continue;
            }
            $lines[] = sprintf(
                $this->l('Shop %1$d: %2$d status(es) sent, %3$d ticket(s) confirmed, %4$d failed, %5$d requeued, %6$d gave up.'),
                (int) $idShop,
                (int) ($shop['statuses_sent'] ?? 0) + (int) ($shop['refunds_sent'] ?? 0) + (int) ($shop['invoices_sent'] ?? 0),
                (int) ($shop['tickets_succeeded'] ?? 0),
                (int) ($shop['tickets_failed'] ?? 0),
                (int) ($shop['requeued'] ?? 0),
                (int) ($shop['gave_up'] ?? 0)
            );
            if (!empty($shop['dry_run'])) {
                $lines[] = sprintf($this->l('Shop %1$d: dry run, %2$d order(s) logged and not sent.'), (int) $idShop, (int) ($shop['dry_run_orders'] ?? 0));
            }
            foreach ((array) ($shop['errors'] ?? []) as $error) {
                $lines[] = Tools::safeOutput((string) $error);
            }
        }
        if (!empty($report['swept'])) {
            $lines[] = sprintf($this->l('%d status change(s) the hook never saw were queued and sent.'), (int) $report['swept']);
        }
        if (!empty($report['sweep_error'])) {
            $lines[] = $this->l('The search for missed statuses stopped:') . ' ' . Tools::safeOutput((string) $report['sweep_error']);
        }

        return $this->displayConfirmation(implode('<br />', $lines));
    }

    // ---- back office: notification, order page, orders list -----------------------------------------

    /**
     * A warning on every back-office page when the synchronization is unhealthy, for the employees
     * who may see the task list. Read at most every 5 minutes per employee (kept in the cookie):
     * this runs on every page.
     */
    public function hookDisplayBackOfficeHeader($params)
    {
        $controller = $this->context->controller;
        // The configuration page shows them in its Health panel.
        if (!$controller || !property_exists($controller, 'warnings') || Tools::getValue('configure') === $this->name || !$this->employeeCan('view')) {
            return '';
        }
        $shops = Shop::getContextListShopID();
        $enabled = false;
        foreach ($shops as $idShop) {
            $enabled = $enabled || $this->extensionConfigValue(self::ENABLED, new Shop((int) $idShop)) === '1';
        }
        if (!$enabled) {
            return '';
        }
        $cookie = $this->context->cookie;
        $key = 'sfsync_health_' . md5(implode(',', $shops));
        $cached = $cookie && isset($cookie->$key) ? json_decode((string) $cookie->$key, true) : null;
        if (is_array($cached) && isset($cached['at']) && $cached['at'] > time() - 300) {
            $warnings = $cached['warnings'];
        } else {
            $health = $this->health($shops);
            $warnings = $health === null ? [] : $this->healthWarnings($health);
            if ($cookie) {
                $cookie->$key = json_encode(['at' => time(), 'warnings' => $warnings]);
            }
        }
        foreach ($warnings as $warning) {
            $controller->warnings[] = 'Shopping Feed: ' . $warning . ' <a href="' . Tools::safeOutput($this->context->link->getAdminLink('AdminModules', true, [], ['configure' => $this->name])) . '">' . $this->l('Details') . '</a>';
        }

        return '';
    }

    /** PrestaShop 1.7.7+ and 8: the order page's main column. */
    public function hookDisplayAdminOrderMain($params)
    {
        return $this->renderOrderPanel((int) ($params['id_order'] ?? 0));
    }

    /** Before 1.7.7 the order page had only this hook; later ones show the panel in displayAdminOrderMain. */
    public function hookDisplayAdminOrder($params)
    {
        if (version_compare(_PS_VERSION_, '1.7.7.0', '>=')) {
            return '';
        }

        return $this->renderOrderPanel((int) ($params['id_order'] ?? 0));
    }

    /** Data in HTML: escaped as the list templates escape it (a tracking number keeps its characters). */
    public static function html($value)
    {
        return htmlspecialchars((string) $value, ENT_QUOTES, 'UTF-8');
    }

    /** The order's synchronization: its tasks, what the API last accepted, its log, and "Send again". */
    public function renderOrderPanel($idOrder)
    {
        if ($idOrder <= 0 || !$this->employeeCan('view')) {
            return '';
        }
        $e = static function ($s) {
            return self::html($s);
        };
        $html = '<div class="card panel" id="shoppingfeedsync-order"><div class="card-header panel-heading"><h3 class="card-header-title"><i class="material-icons">sync</i> '
            . $this->l('Shopping Feed synchronization') . '</h3></div><div class="card-body">';
        $dryRun = $this->dryRunMessage();
        if ($dryRun) {
            $html .= '<div class="alert alert-warning">' . $dryRun . '</div>';
        }
        if (!extension_loaded(self::EXTENSION) || !class_exists('Shoppingfeed\\Sync\\Tasks')) {
            return $html . '<div class="alert alert-warning">' . $this->l('The order panel needs version 0.5.0 of the extension shoppingfeed_sync.') . '</div></div></div>';
        }
        try {
            $this->configureExtension();
            $data = \Shoppingfeed\Sync\Tasks::order($idOrder);
        } catch (\Throwable $ex) {
            return $html . '<div class="alert alert-danger">' . $e($ex->getMessage()) . '</div></div></div>';
        }
        $states = $this->taskStateLabels();
        if (!$data['tasks'] && !$data['accepted'] && !$data['logs']) {
            return $html . '<p>' . $this->l('This order is not synchronized with Shopping Feed (or nothing was queued for it yet).') . '</p></div></div>';
        }
        $html .= '<h4>' . $this->l('Queued') . '</h4>';
        if (!$data['tasks']) {
            $html .= '<p>' . $this->l('Nothing waits for this order.') . '</p>';
        } else {
            $html .= '<table class="table"><thead><tr><th>' . $this->l('Kind') . '</th><th>' . $this->l('Operation') . '</th><th>' . $this->l('State') . '</th><th>'
                . $this->l('Attempts') . '</th><th>' . $this->l('Ticket') . '</th><th>' . $this->l('Last reason') . '</th></tr></thead><tbody>';
            foreach ($data['tasks'] as $task) {
                $html .= '<tr><td>' . $e($this->kindLabel($task['kind'])) . '</td><td>' . $e((string) $task['operation']) . '</td><td>' . $this->stateCell($task, $states)
                    . '</td><td>' . (int) $task['attempts'] . '</td><td>' . $e((string) $task['ticket_number']) . '</td><td>' . $e((string) $task['last_error']) . '</td></tr>';
            }
            $html .= '</tbody></table>';
        }
        $html .= '<h4>' . $this->l('Accepted by Shopping Feed') . '</h4>';
        if (!$data['accepted']) {
            $html .= '<p>' . $this->l('Nothing was accepted for this order yet.') . '</p>';
        } else {
            $results = ['sent' => $this->l('sent, ticket not checked yet'), 'succeeded' => $this->l('succeeded'), 'failed' => $this->l('failed'),
                'refused' => $this->l('refused'), 'gave_up' => $this->l('gave up'), 'canceled' => $this->l('cancelled')];
            $html .= '<table class="table"><thead><tr><th>' . $this->l('Operation') . '</th><th>' . $this->l('Carrier') . '</th><th>' . $this->l('Tracking number') . '</th><th>'
                . $this->l('Ticket') . '</th><th>' . $this->l('Result') . '</th><th>' . $this->l('Date') . '</th></tr></thead><tbody>';
            foreach ($data['accepted'] as $a) {
                $html .= '<tr><td>' . $e($a['operation']) . '</td><td>' . $e((string) $a['carrier']) . '</td><td>' . $e((string) $a['tracking_number']) . '</td><td>'
                    . $e((string) ($a['ticket_number'] ?: $a['batch_id'])) . '</td><td>' . $e($results[$a['result']] ?? $a['result']) . '</td><td>' . $e($a['date_upd']) . '</td></tr>';
            }
            $html .= '</tbody></table>';
        }
        if ($data['logs']) {
            $html .= '<h4>' . $this->l('Log') . '</h4><table class="table"><tbody>';
            foreach ($data['logs'] as $log) {
                $html .= '<tr' . ($log['level'] === 'error' ? ' class="danger"' : '') . '><td>' . $e($log['date_add']) . '</td><td>' . $e($log['level']) . '</td><td>' . $e($log['msg']) . '</td></tr>';
            }
            $html .= '</tbody></table>';
        }
        if ($this->employeeCan('edit')) {
            $url = $this->context->link->getAdminLink(self::TAB_TASKS);
            $html .= '<form method="post" action="' . $e($url) . '"><input type="hidden" name="id_order" value="' . (int) $idOrder . '" />'
                . '<button type="submit" name="submitResendOrder" value="1" class="btn btn-primary"><i class="icon-refresh"></i> ' . $this->l('Send the current status again') . '</button></form>';
        }

        return $html . '</div></div>';
    }

    /**
     * The orders list's bulk action (PrestaShop 8's Symfony order grid): "Send the current status
     * again" for the selected orders, for employees who may act on the task list. It posts to the
     * module's route (config/routes.yml, src/Controller/Admin/OrdersController.php).
     */
    public function hookActionOrderGridDefinitionModifier($params)
    {
        $class = 'PrestaShop\\PrestaShop\\Core\\Grid\\Action\\Bulk\\Type\\SubmitBulkAction';
        if (empty($params['definition']) || !class_exists($class) || !$this->employeeCan('edit')) {
            return;
        }
        $params['definition']->getBulkActions()->add(
            (new $class('shoppingfeedsync_resend'))
                ->setName($this->l('Shopping Feed: send the current status again'))
                ->setOptions(['submit_route' => 'admin_shoppingfeedsync_orders_resend'])
        );
    }

    /**
     * "Send the current status again" for these orders of the context's shops, by the employee:
     * plain-text messages (the caller escapes them for its page).
     *
     * @return array{confirmations: list<string>, warnings: list<string>, errors: list<string>}
     */
    public function resendOrders(array $ids)
    {
        $out = ['confirmations' => [], 'warnings' => [], 'errors' => []];
        $ids = array_values(array_unique(array_filter(array_map('intval', $ids), static function ($id) {
            return $id > 0;
        })));
        if (!$ids) {
            $out['errors'][] = self::text($this->l('You must select at least one order.'));

            return $out;
        }
        if (!class_exists('Shoppingfeed\\Sync\\Tasks')) {
            $out['errors'][] = self::text($this->l('The order panel needs version 0.5.0 of the extension shoppingfeed_sync.'));

            return $out;
        }
        try {
            $this->configureExtension();
            $result = \Shoppingfeed\Sync\Tasks::resendStatus($ids, array_map('intval', Shop::getContextListShopID()), $this->actor());
        } catch (\Throwable $e) {
            $out['errors'][] = $e->getMessage();

            return $out;
        }
        foreach ($result['changed'] as $id) {
            $out['confirmations'][] = sprintf(self::text($this->l('The current status of order %d will be sent at the next CRON run.')), (int) $id);
        }
        foreach ($result['skipped'] as $id => $reason) {
            $out['warnings'][] = sprintf(self::text($this->l('Order %1$d not queued: %2$s')), (int) $id, (string) $reason);
        }

        return $out;
    }

    /** A translated string as plain text (Module::l() returns it HTML-escaped). */
    private static function text($translated)
    {
        return html_entity_decode($translated, ENT_QUOTES, 'UTF-8');
    }

    /** @return array<string, string> the task states the grid and the order panel name */
    public function taskStateLabels()
    {
        return [
            'waiting' => $this->l('waiting (delay or tracking number)'),
            'due' => $this->l('due'),
            'sending' => $this->l('being sent'),
            'checking' => $this->l('sent, waiting for its ticket'),
            'retrying' => $this->l('failed, retrying'),
            'gave_up' => $this->l('gave up'),
        ];
    }

    public function kindLabel($kind)
    {
        $kinds = ['status' => $this->l('status'), 'partial_refund' => $this->l('partial refund'), 'invoice' => $this->l('invoice')];

        return $kinds[$kind] ?? (string) $kind;
    }

    /** A task's state, with when it is due (waiting, retrying) or gave up; HTML, escaped. */
    public function stateCell(array $task, array $states)
    {
        $label = self::html($states[$task['state']] ?? $task['state']);
        $class = ['gave_up' => 'danger', 'retrying' => 'warning', 'checking' => 'info', 'sending' => 'info', 'due' => 'success', 'waiting' => 'default'][$task['state']] ?? 'default';
        $when = '';
        if (in_array($task['state'], ['waiting', 'retrying'], true) && !empty($task['due_at'])) {
            $when = ' ' . sprintf($this->l('until %s'), self::html($task['due_at']));
        } elseif ($task['state'] === 'gave_up' && !empty($task['gave_up_at'])) {
            $when = ' ' . sprintf($this->l('on %s'), self::html($task['gave_up_at']));
        } elseif ($task['state'] === 'checking' && !empty($task['sent_at'])) {
            $when = ' ' . sprintf($this->l('since %s'), self::html($task['sent_at']));
        }

        return '<span class="label label-' . $class . '">' . $label . '</span>' . $when;
    }

    // ---- hooks and CRON ---------------------------------------------------------------------------

    public function hookActionValidateOrder($params)
    {
        if (empty($params['order']) || !Validate::isLoadedObject($params['order'])) {
            return;
        }
        $idOrder = (int) $params['order']->id;
        try {
            $this->configureExtension();
            OrderSync::onValidateOrder($idOrder);
        } catch (\Throwable $e) {
            // Never break the order validation: log and let PrestaShop go on.
            $this->logFailure('actionValidateOrder', $idOrder, $e);
        }
    }

    public function hookActionOrderStatusPostUpdate($params)
    {
        if (empty($params['id_order']) || empty($params['newOrderStatus'])) {
            return;
        }
        $idOrder = (int) $params['id_order'];
        try {
            $this->configureExtension();
            OrderSync::onOrderStatusUpdate($idOrder, (int) $params['newOrderStatus']->id);
        } catch (\Throwable $e) {
            // The merchant's status change is already saved; a sync failure must not undo the request.
            $this->logFailure('actionOrderStatusPostUpdate', $idOrder, $e);
        }
    }

    /** The admin order page saved a new tracking number (PrestaShop 8: UpdateOrderShippingDetailsHandler). */
    public function hookActionAdminOrdersTrackingNumberUpdate($params)
    {
        if (empty($params['order']) || empty($params['order']->id)) {
            return;
        }
        $this->trackingNumberSaved((int) $params['order']->id, 'actionAdminOrdersTrackingNumberUpdate');
    }

    /** Any OrderCarrier update (webservice, carrier modules): the extension ignores unchanged numbers. */
    public function hookActionObjectOrderCarrierUpdateAfter($params)
    {
        if (empty($params['object']) || empty($params['object']->id_order)) {
            return;
        }
        $this->trackingNumberSaved((int) $params['object']->id_order, 'actionObjectOrderCarrierUpdateAfter');
    }

    private function trackingNumberSaved($idOrder, $hook)
    {
        try {
            $this->configureExtension();
            // A shipped status waiting for its delay goes out at the next CRON run; one sent
            // without this number is sent again with it.
            OrderSync::onTrackingNumberUpdate($idOrder);
        } catch (\Throwable $e) {
            $this->logFailure($hook, $idOrder, $e);
        }
    }

    /** A credit slip was saved (PrestaShop passes the order, not the slip: the newest one is taken). */
    public function hookActionOrderSlipAdd($params)
    {
        if (empty($params['order']) || empty($params['order']->id)) {
            return;
        }
        $idOrder = (int) $params['order']->id;
        try {
            $this->configureExtension();
            OrderSync::onOrderSlipAdd($idOrder);
        } catch (\Throwable $e) {
            // The refund is saved in PrestaShop whatever happens here.
            $this->logFailure('actionOrderSlipAdd', $idOrder, $e);
        }
    }

    /**
     * Runs the whole CRON (every shop) and returns the extension's report, with
     * `invoices_rendered`: the invoice PDFs written for this run's uploads first, and
     * `invoices_deferred`: those left for the next run when rendering took its whole budget.
     */
    public function runCron(?array $options = null)
    {
        $this->configureExtension();
        $invoices = $this->renderPendingInvoices();
        $report = OrderSync::runCron($options);
        if (is_array($report)) {
            $report['invoices_rendered'] = $invoices['rendered'];
            $report['invoices_deferred'] = $invoices['deferred'];
            $report['shops_without_module'] = $this->reportShopsWithoutTheModule($report);
        }

        return $report;
    }

    /**
     * A shop whose synchronization is enabled but where PrestaShop does not call this module has
     * its status changes never queued: said at every CRON run, in the report (with the shop's
     * errors), in the synchronization log that the page's "Last CRON runs" reads, and in
     * PrestaShop's error log.
     *
     * @return list<array{id_shop: int, name: string}>
     */
    private function reportShopsWithoutTheModule(array &$report)
    {
        $missing = $this->shopsWithoutTheModule();
        foreach ($missing as $shop) {
            $message = sprintf('[Shop %d] The synchronization is enabled but the module shoppingfeedsync is not enabled for this shop: PrestaShop does not call it for its orders, whose statuses are not queued. Enable the module for this shop in the Module Manager.', $shop['id_shop']);
            if (isset($report['shops'][$shop['id_shop']]['errors']) && is_array($report['shops'][$shop['id_shop']]['errors'])) {
                $report['shops'][$shop['id_shop']]['errors'][] = $message;
            }
            Db::getInstance()->insert('shoppingfeed_processlogger', [
                'name' => pSQL(LastRuns::PROCESS),
                'msg' => pSQL($message),
                'level' => 'error',
                'object_name' => 'Shop',
                'object_id' => (int) $shop['id_shop'],
                'date_add' => date('Y-m-d H:i:s'),
            ]);
            PrestaShopLogger::addLog('[shoppingfeedsync] ' . $message, 3, null, 'Shop', (int) $shop['id_shop'], true);
        }

        return $missing;
    }

    /**
     * Writes the invoice PDF of each invoice upload the extension lists as due (at most 100 a
     * run, those whose PDF is not written yet) at the path it gives, for the CRON run that follows
     * to upload, for INVOICE_RENDER_BUDGET seconds at most: the invoices left then are deferred to
     * the next run (at least one is rendered per run). An order without an invoice is skipped (the
     * extension gives up on it after its deadline, with a notice); a rendering that fails is logged
     * and the others go on, as does the run.
     *
     * @return array{rendered: int, deferred: int} the PDFs written, and those left for the next run
     */
    public function renderPendingInvoices()
    {
        $done = ['rendered' => 0, 'deferred' => 0];
        // An extension older than the module (updated separately) has no invoice upload.
        if (!method_exists(OrderSync::class, 'pendingInvoices')) {
            return $done;
        }
        try {
            $pending = OrderSync::pendingInvoices();
        } catch (\Throwable $e) {
            $this->logFailure('invoice PDFs', 0, $e);

            return $done;
        }
        $started = microtime(true);
        foreach ($pending as $invoice) {
            $idOrder = (int) $invoice['id_order'];
            $path = (string) $invoice['path'];
            // Rendered by an earlier run and still waiting to be sent: not rendered again at every
            // run (an extension that lists them too is older than this module).
            if (is_file($path) && filesize($path) > 0) {
                continue;
            }
            if (microtime(true) - $started >= static::INVOICE_RENDER_BUDGET) {
                ++$done['deferred'];
                continue;
            }
            try {
                $done['rendered'] += $this->renderInvoice($idOrder, $path) ? 1 : 0;
            } catch (\Throwable $e) {
                $this->logFailure('invoice PDF', $idOrder, $e);
            }
        }

        return $done;
    }

    /**
     * Renders the order's invoices as PrestaShop does for the invoice it attaches to the
     * customer's e-mail (OrderHistory: the actionPDFInvoiceRender hook, PDF::TEMPLATE_INVOICE, in
     * the order's language), into a temporary file renamed onto $path, so that the extension never
     * reads half a file.
     *
     * @return bool false when the order has no invoice
     */
    private function renderInvoice($idOrder, $path)
    {
        $order = new Order((int) $idOrder);
        if (!Validate::isLoadedObject($order)) {
            return false;
        }
        $invoices = $order->getInvoicesCollection();
        if (!count($invoices)) {
            return false;
        }
        $dir = dirname($path);
        if (!is_dir($dir) && !@mkdir($dir, 0750, true) && !is_dir($dir)) {
            throw new \RuntimeException('Cannot create the invoice directory ' . $dir);
        }
        Hook::exec('actionPDFInvoiceRender', ['order_invoice_list' => $invoices]);
        $context = Context::getContext();
        $language = $context->language;
        $translator = method_exists($context, 'getTranslator') ? $context->getTranslator() : null;
        $locale = $translator ? $translator->getLocale() : null;
        $orderLanguage = new Language((int) $order->id_lang);
        if (Validate::isLoadedObject($orderLanguage)) {
            $context->language = $orderLanguage;
            if ($translator && $orderLanguage->locale) {
                $translator->setLocale($orderLanguage->locale);
            }
        }
        // PDF::render() cleans the output buffer it finds: this one, not the CRON's answer.
        ob_start();
        try {
            $pdf = (new PDF($invoices, PDF::TEMPLATE_INVOICE, $context->smarty))->render(false);
        } finally {
            ob_end_clean();
            $context->language = $language;
            if ($translator && $locale) {
                $translator->setLocale($locale);
            }
        }
        if (!is_string($pdf) || strncmp($pdf, '%PDF', 4) !== 0) {
            throw new \RuntimeException('PrestaShop rendered no PDF for the invoice.');
        }
        // A dot file beside the target (same file system, never a name the extension reads).
        $tmp = $dir . '/.' . basename($path) . '.' . bin2hex(random_bytes(6)) . '.tmp';
        if (@file_put_contents($tmp, $pdf) !== strlen($pdf) || !@rename($tmp, $path)) {
            @unlink($tmp);
            throw new \RuntimeException('Cannot write the invoice PDF ' . $path);
        }

        return true;
    }

    /**
     * Where the invoice PDFs wait for their upload: PrestaShop's cache directory (absolute, the
     * web server's and the CLI's); the extension deletes each once its upload is final.
     */
    public static function invoiceDir()
    {
        return rtrim(_PS_CACHE_DIR_, '/') . '/shoppingfeedsync/invoices';
    }

    /** Deletes the invoice directory with the PDFs in it (best effort), and its parent if empty. */
    private static function removeInvoiceDir()
    {
        $dir = self::invoiceDir();
        if (!is_dir($dir)) {
            return;
        }
        foreach (scandir($dir) ?: [] as $file) {
            if (is_file($dir . '/' . $file)) {
                @unlink($dir . '/' . $file);
            }
        }
        @rmdir($dir);
        @rmdir(dirname($dir));
    }

    public function getSecureKey()
    {
        return (string) $this->secure_key;
    }

    /** The URL to call every 5 minutes (the reference module's frequency). */
    public function getCronUrl($idShop = null)
    {
        return $this->context->link->getModuleLink($this->name, 'syncOrder', ['secure_key' => $this->getSecureKey()], null, null, $idShop);
    }

    /** Points the extension at this shop's database and mail; once per request. */
    public function configureExtension()
    {
        if (self::$extensionConfigured) {
            return;
        }
        if (!extension_loaded(self::EXTENSION)) {
            throw new \RuntimeException('The PHP extension shoppingfeed_sync is not loaded.');
        }
        $socket = ini_get('pdo_mysql.default_socket') ?: ini_get('mysqli.default_socket');
        OrderSync::configure([
            'database_url' => DatabaseUrl::fromPrestaShop(
                _DB_SERVER_,
                _DB_USER_,
                _DB_PASSWD_,
                _DB_NAME_,
                $socket && @file_exists($socket) ? $socket : null
            ),
            'table_prefix' => _DB_PREFIX_,
            'mailer' => function (array $mail) {
                return $this->sendMail($mail);
            },
        ] + (method_exists(OrderSync::class, 'pendingInvoices')
            // Only an extension with the invoice upload knows this option (it refuses unknown ones).
            ? ['invoice_dir' => self::invoiceDir()]
            : []));
        self::$extensionConfigured = true;
    }

    /** The mailer handed to the extension: one call per shop with failed orders. */
    private function sendMail(array $mail)
    {
        $idLang = (int) $mail['id_lang'];
        if (!$this->hasMailTemplate($idLang)) {
            // Templates exist in en and fr only; other languages get the English e-mail.
            $idLangEn = (int) Language::getIdByIso('en');
            if ($idLangEn > 0) {
                $idLang = $idLangEn;
            }
        }

        // The extension's subject is English; the merchant reads the mail's language.
        $language = new Language($idLang);
        $subject = $this->l('Shopping Feed synchronization errors', false, $language->locale ?: null);

        return (bool) Mail::Send(
            $idLang,
            self::MAIL_TEMPLATE,
            $subject,
            $mail['template_vars'],
            $mail['to'],
            null,
            null,
            null,
            null,
            null,
            _PS_MODULE_DIR_ . 'shoppingfeedsync/mails/',
            false,
            (int) $mail['id_shop']
        );
    }

    private function hasMailTemplate($idLang)
    {
        $iso = Language::getIsoById($idLang);
        if (!$iso) {
            return false;
        }
        $dir = _PS_MODULE_DIR_ . 'shoppingfeedsync/mails/' . $iso . '/';

        return file_exists($dir . self::MAIL_TEMPLATE . '.txt') && file_exists($dir . self::MAIL_TEMPLATE . '.html');
    }

    /** @param int $idOrder 0: not about one order */
    private function logFailure($hook, $idOrder, \Throwable $e)
    {
        PrestaShopLogger::addLog(
            $idOrder
                ? sprintf('[shoppingfeedsync] %s, order %d: %s (%s)', $hook, $idOrder, $e->getMessage(), get_class($e))
                : sprintf('[shoppingfeedsync] %s: %s (%s)', $hook, $e->getMessage(), get_class($e)),
            3,
            null,
            $idOrder ? 'Order' : null,
            $idOrder ?: null,
            true
        );
    }
}
