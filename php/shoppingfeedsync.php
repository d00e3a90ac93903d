<?php
/**
 * Shopping Feed order status synchronization, run natively by the PHP extension shoppingfeed_sync.
 *
 * This module is the PrestaShop glue only: it hands the order hooks and the CRON URL to
 * Shoppingfeed\Sync\OrderSync and sends the failure e-mails through PrestaShop's Mail::Send.
 */

if (!defined('_PS_VERSION_')) {
    exit;
}

require_once __DIR__ . '/classes/DatabaseUrl.php';
require_once __DIR__ . '/classes/CronEndpoint.php';

use Shoppingfeed\Sync\OrderSync;
use ShoppingfeedSync\DatabaseUrl;

class ShoppingfeedSync extends Module
{
    const EXTENSION = 'shoppingfeed_sync';
    const MAIL_TEMPLATE = 'order-sync-errors';
    const HOOKS = ['actionValidateOrder', 'actionOrderStatusPostUpdate'];

    /** @var bool the extension is configured for this request (the mailer is request-scoped) */
    private static $extensionConfigured = false;

    public function __construct()
    {
        $this->name = 'shoppingfeedsync';
        $this->tab = 'market_place';
        $this->version = '0.1.0';
        $this->author = 'Shopping Feed';
        $this->need_instance = 0;
        $this->bootstrap = true;
        $this->ps_versions_compliancy = ['min' => '1.7.8.0', 'max' => _PS_VERSION_];
        // PrestaShop's own derivation (md5 of _COOKIE_KEY_ and the name); Tools::encrypt is gone in 9.
        $this->secure_key = method_exists('Tools', 'hash') ? Tools::hash($this->name) : Tools::encrypt($this->name);

        parent::__construct();

        $this->displayName = $this->l('Shopping Feed order synchronization (native)');
        $this->description = $this->l('Sends the shipped, cancelled and refunded statuses of Shopping Feed orders to the marketplaces.');
        if (!extension_loaded(self::EXTENSION)) {
            $this->warning = $this->l('The PHP extension shoppingfeed_sync is not loaded: order statuses are not synchronized.');
        }
    }

    public function install()
    {
        if (!extension_loaded(self::EXTENSION)) {
            $this->_errors[] = $this->l('The PHP extension shoppingfeed_sync is not loaded. Add "extension=shoppingfeed_sync.so" to the php.ini of the web server and of the CLI, restart PHP, then install this module again.');

            return false;
        }

        return parent::install()
            && $this->installSql()
            && $this->registerHook(self::HOOKS);
    }

    /*
     * No uninstall() dropping tables: they are the Shopping Feed module's own (same names and
     * columns), which may still be installed and use them; Module::uninstall() unhooks us.
     */

    /** Runs sql/install.sql (CREATE TABLE IF NOT EXISTS, so a reinstall keeps the queue). */
    private function installSql()
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
                $this->_errors[] = $this->l('Cannot create the module tables:') . ' ' . Db::getInstance()->getMsgError();

                return false;
            }
        }

        return true;
    }

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

    /** Runs the whole CRON (every shop) and returns the extension's report. */
    public function runCron()
    {
        $this->configureExtension();

        return OrderSync::runCron();
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

    public function getContent()
    {
        $loaded = extension_loaded(self::EXTENSION);
        $html = '<div class="panel"><h3>' . $this->l('Order status synchronization') . '</h3>';
        if ($loaded) {
            $html .= '<p>' . $this->l('Extension shoppingfeed_sync:') . ' <code>' . Tools::safeOutput(OrderSync::version()) . '</code></p>';
        } else {
            $html .= $this->displayError($this->l('The PHP extension shoppingfeed_sync is not loaded.'));
        }
        $html .= '<p>' . $this->l('Call this URL every 5 minutes from a CRON task:') . '</p>'
            . '<p><code>' . Tools::safeOutput($this->getCronUrl()) . '</code></p>'
            . '<p>' . $this->l('Or, on the server: php modules/shoppingfeedsync/cli/sync-orders.php --database-url=... (see --help).') . '</p>'
            . '<p>' . $this->l('The order statuses to send and the delay before shipping are set in the Shopping Feed module.') . '</p>'
            . '</div>';

        return $html;
    }

    /** Points the extension at this shop's database and mail; once per request. */
    private function configureExtension()
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
        ]);
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

        return (bool) Mail::Send(
            $idLang,
            self::MAIL_TEMPLATE,
            $mail['subject'],
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

    private function logFailure($hook, $idOrder, \Throwable $e)
    {
        PrestaShopLogger::addLog(
            sprintf('[shoppingfeedsync] %s, order %d: %s (%s)', $hook, $idOrder, $e->getMessage(), get_class($e)),
            3,
            null,
            'Order',
            $idOrder,
            true
        );
    }
}
