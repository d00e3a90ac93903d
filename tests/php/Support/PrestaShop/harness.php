<?php
/**
 * A small stand-in for the PrestaShop 8 classes the module calls, so that the module's own code runs
 * unchanged under the real PHP binary against the real MariaDB fixture tables.
 *
 * Signatures are PrestaShop 8.1's (classes/module/Module.php, classes/Configuration.php,
 * classes/db/Db.php, classes/Hook.php, classes/Tools.php, classes/helper/HelperForm.php,
 * classes/Translate.php, classes/Mail.php, classes/order/Order.php, classes/pdf/PDF.php,
 * classes/PrestaShopCollection.php). Where the module's behaviour depends on a semantic it is
 * reproduced: the configuration cache and its shop -> group -> global fallback, updateValue()
 * following the shop context (a single-shop install writes global rows) and skipping an unchanged
 * value only when that very level has its row, deleteFromContext(), Module::enable()/disable()
 * acting on the context's shops (module_shop), Hook::registerHook() for every shop and
 * Hook::exec() calling only the modules enabled and hooked in the order's shop, Module without a
 * $secure_key property (PHP 8.2 deprecations throw here), Controller::__construct() setting $ajax
 * from the request and run()'s sequence, the visitor's cookie, form.tpl's password field (no
 * autocomplete="off" unless asked) and checkbox groups, Db::insert() not escaping
 * values (callers pSQL() them), Module::l() returning HTML-escaped text from translations/<iso>.php,
 * the upgrade/ file discovery and upgrade_module_X_Y_Z() calls, PDF::render() returning the document
 * for `false`/'S' and cleaning the output buffer it finds. What a module cannot observe here
 * (module_access, group restrictions, overrides, Smarty templates, TCPDF, the new translator's
 * catalogues) is left out: the PDF is a small valid document naming the invoices it renders.
 *
 * The back office (tabs, permissions, AdminController lists, HelperList) is in admin.php, the
 * Symfony grid's bulk action and a module's route in symfony.php.
 *
 * Configured by the environment: SFSYNC_HARNESS_DB_URL (mysql://user:pass@host:port/db),
 * SFSYNC_HARNESS_MODULE_DIR (the modules/ folder), SFSYNC_HARNESS_CONTEXT (JSON: shop, shop_context,
 * multishop, lang, employee: id, id_profile, firstname, lastname), SFSYNC_HARNESS_OUT (a file receiving
 * the mails, logs, hooks and PDFs as JSON lines), SFSYNC_HARNESS_CACHE_DIR (PrestaShop's
 * var/cache/<env>/), SFSYNC_HARNESS_COOKIE (a file keeping the employee's cookie between requests).
 */

// ---- constants (config/defines.inc.php, app/config/parameters.php) ---------------------------------

$harnessDb = parse_url((string) getenv('SFSYNC_HARNESS_DB_URL'));
define('_PS_VERSION_', '8.1.7');
define('_DB_SERVER_', ($harnessDb['host'] ?? '127.0.0.1') . (isset($harnessDb['port']) ? ':' . $harnessDb['port'] : ''));
define('_DB_USER_', rawurldecode($harnessDb['user'] ?? 'root'));
define('_DB_PASSWD_', rawurldecode($harnessDb['pass'] ?? ''));
define('_DB_NAME_', ltrim($harnessDb['path'] ?? '/prestashop', '/'));
define('_DB_PREFIX_', 'ps_');
define('_COOKIE_KEY_', 'harnesscookiekey0123456789abcdefghijklmnopqrstuvwxyz0123456789ab');
define('_PS_MODULE_DIR_', rtrim((string) getenv('SFSYNC_HARNESS_MODULE_DIR'), '/') . '/');
define('_PS_MAIL_DIR_', sys_get_temp_dir() . '/ps-harness-mails/');
// PrestaShop 8: _PS_ROOT_DIR_ . '/var/cache/' . _PS_ENV_ . '/' (absolute, with its slash).
define('_PS_CACHE_DIR_', rtrim((string) (getenv('SFSYNC_HARNESS_CACHE_DIR') ?: sys_get_temp_dir() . '/ps-harness-cache'), '/') . '/');
define('__PS_BASE_URI__', '/');
define('_THEME_NAME_', 'classic');
define('_PS_USE_SQL_SLAVE_', false);
define('_PS_MODE_DEV_', false);
unset($harnessDb);

// PHP 8.2 deprecations (a dynamic property, a null passed to a built-in) are failures here: a
// PrestaShop running PHP 8.2 logs them on every request, and PHP 9 turns several into errors.
set_error_handler(static function (int $errno, string $errstr, string $errfile = '', int $errline = 0): bool {
    if ($errno & (E_DEPRECATED | E_USER_DEPRECATED)) {
        throw new ErrorException($errstr, 0, $errno, $errfile, $errline);
    }

    return false;
});

/** Where the harness reports what PrestaShop would have done outside the database. */
function harness_out(string $kind, array $data): void
{
    $file = getenv('SFSYNC_HARNESS_OUT');
    if ($file) {
        file_put_contents($file, json_encode(['kind' => $kind] + $data, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE) . "\n", FILE_APPEND);
    }
}

// ---- Db (classes/db/Db.php + DbPDO.php) -----------------------------------------------------------

class PrestaShopException extends Exception
{
}

class PrestaShopDatabaseException extends PrestaShopException
{
}

class Db
{
    public const INSERT = 1;
    public const INSERT_IGNORE = 2;
    public const REPLACE = 3;
    public const ON_DUPLICATE_KEY = 4;

    /** @var Db|null */
    private static $instance;
    /** @var PDO */
    private $link;
    /** @var int */
    private $affected = 0;
    /** @var array{0: string, 1: int} */
    private $lastError = ['', 0];
    /** @var list<string> every statement run, for the tests */
    public static $queries = [];

    public static function getInstance($master = true)
    {
        if (self::$instance === null) {
            self::$instance = new Db();
        }

        return self::$instance;
    }

    private function __construct()
    {
        // DbPDO::getPDO(): "host:port" or "host:/socket" in _DB_SERVER_.
        [$host, $port] = array_pad(explode(':', _DB_SERVER_, 2), 2, null);
        $dsn = 'mysql:host=' . $host . ($port ? ';port=' . $port : '') . ';dbname=' . _DB_NAME_ . ';charset=utf8mb4';
        $this->link = new PDO($dsn, _DB_USER_, _DB_PASSWD_, [PDO::ATTR_ERRMODE => PDO::ERRMODE_SILENT]);
        $this->link->exec("SET SESSION sql_mode = ''");
    }

    /** @return PDOStatement|false */
    private function query($sql)
    {
        self::$queries[] = (string) $sql;
        $result = $this->link->query((string) $sql);
        if ($result === false) {
            $info = $this->link->errorInfo();
            $this->lastError = [(string) ($info[2] ?? ''), (int) ($info[1] ?? 0)];

            return false;
        }
        $this->lastError = ['', 0];
        $this->affected = $result->rowCount();

        return $result;
    }

    public function execute($sql, $use_cache = true)
    {
        return $this->query($sql) !== false;
    }

    public function executeS($sql, $array = true, $use_cache = true)
    {
        $result = $this->query($sql);
        if ($result === false) {
            return false;
        }

        return $result->fetchAll(PDO::FETCH_ASSOC);
    }

    public function getRow($sql, $use_cache = true)
    {
        $sql = rtrim((string) $sql, " \t\n\r\0\x0B;") . ' LIMIT 1';
        $result = $this->query($sql);
        if ($result === false) {
            return false;
        }
        $row = $result->fetch(PDO::FETCH_ASSOC);

        return $row === false ? false : $row;
    }

    public function getValue($sql, $use_cache = true)
    {
        $row = $this->getRow($sql, $use_cache);
        if (!$row) {
            return false;
        }

        return array_shift($row);
    }

    /** Values are NOT escaped here, as in PrestaShop: callers pSQL() them. */
    public function insert($table, $data, $null_values = false, $use_cache = true, $type = Db::INSERT, $add_prefix = true)
    {
        if (!$data && !$null_values) {
            return true;
        }
        if ($add_prefix) {
            $table = _DB_PREFIX_ . $table;
        }
        if ($type == Db::INSERT) {
            $sql = 'INSERT INTO `' . $table . '` (';
        } elseif ($type == Db::INSERT_IGNORE) {
            $sql = 'INSERT IGNORE INTO `' . $table . '` (';
        } elseif ($type == Db::REPLACE) {
            $sql = 'REPLACE INTO `' . $table . '` (';
        } elseif ($type == Db::ON_DUPLICATE_KEY) {
            $sql = 'INSERT INTO `' . $table . '` (';
        } else {
            throw new PrestaShopDatabaseException('Bad SQL type');
        }
        if (!is_array(reset($data))) {
            $data = [$data];
        }
        $keys = [];
        $rows = [];
        foreach ($data as $row) {
            $values = [];
            foreach ($row as $key => $value) {
                if (!isset($keys[$key])) {
                    $keys[$key] = '`' . bqSQL($key) . '`';
                }
                $values[] = $null_values && ($value === '' || $value === null) ? 'NULL' : "'" . $value . "'";
            }
            $rows[] = '(' . implode(', ', $values) . ')';
        }
        $sql .= implode(', ', $keys) . ') VALUES ' . implode(', ', $rows);

        return $this->execute($sql, $use_cache);
    }

    public function update($table, $data, $where = '', $limit = 0, $null_values = false, $use_cache = true, $add_prefix = true)
    {
        if (!$data) {
            return true;
        }
        $sql = 'UPDATE `' . ($add_prefix ? _DB_PREFIX_ : '') . bqSQL($table) . '` SET ';
        $set = [];
        foreach ($data as $key => $value) {
            $set[] = $null_values && ($value === '' || $value === null) ? "`$key` = NULL" : "`$key` = '$value'";
        }
        $sql .= implode(', ', $set) . ($where ? ' WHERE ' . $where : '') . ($limit ? ' LIMIT ' . (int) $limit : '');

        return $this->execute($sql, $use_cache);
    }

    public function delete($table, $where = '', $limit = 0, $use_cache = true, $add_prefix = true)
    {
        $sql = 'DELETE FROM `' . ($add_prefix ? _DB_PREFIX_ : '') . bqSQL($table) . '`' . ($where ? ' WHERE ' . $where : '') . ($limit ? ' LIMIT ' . (int) $limit : '');

        return $this->execute($sql, $use_cache);
    }

    public function Insert_ID()
    {
        return (int) $this->link->lastInsertId();
    }

    public function Affected_Rows()
    {
        return $this->affected;
    }

    public function getMsgError()
    {
        return $this->lastError[0];
    }

    public function getNumberError()
    {
        return $this->lastError[1];
    }

    public function escape($string, $html_ok = false, $bq_sql = false)
    {
        if (!is_numeric($string)) {
            // DbPDO::_escape(): PDO::quote() without its quotes.
            $string = substr($this->link->quote((string) $string), 1, -1);
            if (!$html_ok) {
                $string = strip_tags(Tools::nl2br($string));
            }
            if ($bq_sql === true) {
                $string = str_replace('`', '\`', $string);
            }
        }

        return $string;
    }
}

function pSQL($string, $htmlOK = false)
{
    return Db::getInstance()->escape($string, $htmlOK);
}

function bqSQL($string)
{
    return str_replace('`', '\`', $string);
}

// ---- Validate, Tools --------------------------------------------------------------------------------

class Validate
{
    public static function isLoadedObject($object)
    {
        return is_object($object) && $object->id;
    }

    public static function isConfigName($config_name)
    {
        return (bool) preg_match('/^[a-zA-Z_0-9-]+$/', (string) $config_name);
    }

    public static function isModuleName($module_name)
    {
        return is_string($module_name) && preg_match('/^[a-zA-Z0-9_-]+$/', $module_name);
    }

    public static function isHookName($hook)
    {
        return (bool) preg_match('/^[a-zA-Z0-9_-]+$/', (string) $hook);
    }

    public static function isUnsignedInt($value)
    {
        return is_numeric($value) && (string) (int) $value === (string) $value && $value < 4294967296 && $value >= 0;
    }

    public static function isUnsignedId($id)
    {
        return self::isUnsignedInt($id);
    }

    public static function isOrderBy($order)
    {
        return (bool) preg_match('/^[a-zA-Z0-9.!_-]+$/', (string) $order);
    }

    public static function isOrderWay($way)
    {
        return $way === 'ASC' || $way === 'DESC' || $way === 'asc' || $way === 'desc';
    }

    public static function isDate($date)
    {
        if (!preg_match('/^([0-9]{4})-((?:0?[0-9])|(?:1[0-2]))-((?:0?[0-9])|(?:[1-2][0-9])|(?:3[01]))( [0-9]{2}:[0-9]{2}:[0-9]{2})?$/', (string) $date, $matches)) {
            return false;
        }

        return checkdate((int) $matches[2], (int) $matches[3], (int) $matches[1]);
    }

    public static function isTableOrIdentifier($table)
    {
        return (bool) preg_match('/^[a-zA-Z0-9_-]+$/', (string) $table);
    }
}

class Tools
{
    public static function getValue($key, $default_value = false)
    {
        if (!isset($key) || empty($key) || !is_string($key)) {
            return false;
        }
        $value = $_POST[$key] ?? ($_GET[$key] ?? $default_value);
        if (is_string($value)) {
            return urldecode(preg_replace('/((\%5C0+)|(\%00+))/i', '', urlencode($value)));
        }

        return $value;
    }

    public static function getIsset($key)
    {
        return is_string($key) && (isset($_POST[$key]) || isset($_GET[$key]));
    }

    public static function isSubmit($submit)
    {
        return isset($_POST[$submit]) || isset($_POST[$submit . '_x']) || isset($_POST[$submit . '_y'])
            || isset($_GET[$submit]) || isset($_GET[$submit . '_x']) || isset($_GET[$submit . '_y']);
    }

    public static function safeOutput($string, $html = false)
    {
        if (!$html) {
            $string = strip_tags((string) $string);
        }

        return @Tools::htmlentitiesUTF8($string, ENT_QUOTES);
    }

    public static function htmlentitiesUTF8($string, $type = ENT_QUOTES)
    {
        if (is_array($string)) {
            return array_map(['Tools', 'htmlentitiesUTF8'], $string);
        }

        return htmlentities((string) $string, $type, 'utf-8');
    }

    public static function nl2br($str)
    {
        return str_replace(["\r\n", "\r", "\n", AdminController::$eol, PHP_EOL], '<br />', (string) $str);
    }

    public static function strtolower($str)
    {
        return mb_strtolower((string) $str, 'utf-8');
    }

    /** Local files only in the harness (the module reads its own sql/). */
    public static function file_get_contents($url, $use_include_path = false, $stream_context = null, $curl_timeout = 5, $fallback = false)
    {
        return @file_get_contents($url, $use_include_path);
    }

    public static function hash($passwd)
    {
        return md5(_COOKIE_KEY_ . $passwd);
    }

    /** @deprecated since PrestaShop 8 (gone in 9), kept because the module falls back to it */
    public static function encrypt($passwd)
    {
        return self::hash($passwd);
    }

    public static function getAdminToken($string)
    {
        return !empty($string) ? self::hash($string) : false;
    }

    /** The token of a back-office controller: its name, its tab's id and the employee's id. */
    public static function getAdminTokenLite($tab, ?Context $context = null)
    {
        $context = $context ?: Context::getContext();

        return self::getAdminToken($tab . (int) Tab::getIdFromClassName($tab) . (int) $context->employee->id);
    }

    public static function strtoupper($str)
    {
        return mb_strtoupper((string) $str, 'utf-8');
    }

    public static function toCamelCase($str, $capitaliseFirstChar = false)
    {
        $str = self::strtolower($str);
        $str = str_replace(' ', '', ucwords(str_replace('_', ' ', $str)));
        if (!$capitaliseFirstChar) {
            $str = lcfirst($str);
        }

        return $str;
    }

    public static function dateFrom($date)
    {
        $tab = explode(' ', (string) $date);
        if (!isset($tab[1])) {
            $date .= ' 00:00:00';
        }

        return $date;
    }

    public static function dateTo($date)
    {
        $tab = explode(' ', (string) $date);
        if (!isset($tab[1])) {
            $date .= ' 23:59:59';
        }

        return $date;
    }

    public static function redirectAdmin($url)
    {
        harness_out('admin', ['step' => 'redirect', 'url' => $url]);
        echo 'REDIRECT ' . $url;
        exit;
    }

    public static function version_compare($v1, $v2, $operator = '<')
    {
        // Tools::alignVersionNumber(): "1.2" and "1.2.0" compare equal.
        $n1 = count(explode('.', (string) $v1));
        $n2 = count(explode('.', (string) $v2));
        $v1 .= str_repeat('.0', max(0, $n2 - $n1));
        $v2 .= str_repeat('.0', max(0, $n1 - $n2));

        return version_compare($v1, $v2, $operator);
    }

    public static function displayError($errorMessage = null, $htmlEntities = null, ?Context $context = null)
    {
        return $htmlEntities === false ? (string) $errorMessage : Tools::htmlentitiesUTF8((string) $errorMessage);
    }
}

// AdminController (classes/controller/AdminController.php) is in admin.php, loaded at the end.

// ---- Shop, Language, Context, Link ----------------------------------------------------------------

class Shop
{
    public const CONTEXT_SHOP = 1;
    public const CONTEXT_GROUP = 2;
    public const CONTEXT_ALL = 4;

    public $id;
    public $id_shop_group;
    public $name;

    protected static $context = self::CONTEXT_SHOP;
    protected static $context_id_shop;
    protected static $context_id_shop_group;
    /** @var bool|null */
    protected static $feature_active;

    public function __construct($id = null)
    {
        if ($id) {
            $row = Db::getInstance()->getRow('SELECT * FROM `' . _DB_PREFIX_ . 'shop` WHERE id_shop = ' . (int) $id);
            if ($row) {
                $this->id = (int) $row['id_shop'];
                $this->id_shop_group = (int) $row['id_shop_group'];
                $this->name = $row['name'];
            }
        }
    }

    public static function setContext($type, $id = null)
    {
        self::$context = $type;
        if ($type === self::CONTEXT_SHOP) {
            self::$context_id_shop = (int) $id;
            self::$context_id_shop_group = (int) Db::getInstance()->getValue('SELECT id_shop_group FROM `' . _DB_PREFIX_ . 'shop` WHERE id_shop = ' . (int) $id);
        } elseif ($type === self::CONTEXT_GROUP) {
            self::$context_id_shop = null;
            self::$context_id_shop_group = (int) $id;
        } else {
            self::$context_id_shop = null;
            self::$context_id_shop_group = null;
        }
    }

    public static function getContext()
    {
        return self::$context;
    }

    public static function isFeatureActive()
    {
        if (self::$feature_active === null) {
            // A direct query, as PrestaShop's: Configuration::get() itself asks isFeatureActive().
            self::$feature_active = (bool) Db::getInstance()->getValue('SELECT value FROM `' . _DB_PREFIX_ . 'configuration` WHERE `name` = "PS_MULTISHOP_FEATURE_ACTIVE"')
                && self::getTotalShops(false) > 1;
        }

        return self::$feature_active;
    }

    public static function getTotalShops($active = true, $id_shop_group = null)
    {
        return count(self::getShops($active, $id_shop_group));
    }

    public static function getContextShopID($null_value_without_multishop = false)
    {
        if ($null_value_without_multishop && !Shop::isFeatureActive()) {
            return null;
        }

        return self::$context_id_shop;
    }

    public static function getContextShopGroupID($null_value_without_multishop = false)
    {
        if ($null_value_without_multishop && !Shop::isFeatureActive()) {
            return null;
        }

        return self::$context_id_shop_group;
    }

    public static function getContextListShopID($share = false)
    {
        if (self::$context === self::CONTEXT_SHOP) {
            return [(int) self::$context_id_shop];
        }

        return self::getShops(true, self::$context === self::CONTEXT_GROUP ? self::$context_id_shop_group : null, true);
    }

    public static function getCompleteListOfShopsID()
    {
        return array_map('intval', array_column(Db::getInstance()->executeS('SELECT id_shop FROM `' . _DB_PREFIX_ . 'shop`') ?: [], 'id_shop'));
    }

    public static function getShops($active = true, $id_shop_group = null, $get_as_list_id = false)
    {
        $rows = Db::getInstance()->executeS('SELECT s.*, s.id_shop AS id_shop FROM `' . _DB_PREFIX_ . 'shop` s WHERE s.deleted = 0'
            . ($active ? ' AND s.active = 1' : '') . ($id_shop_group ? ' AND s.id_shop_group = ' . (int) $id_shop_group : '') . ' ORDER BY s.id_shop') ?: [];
        $shops = [];
        foreach ($rows as $row) {
            $shops[(int) $row['id_shop']] = $get_as_list_id ? (int) $row['id_shop'] : $row;
        }

        return $get_as_list_id ? array_values($shops) : $shops;
    }
}

class Language
{
    public $id;
    public $name;
    public $iso_code;
    public $locale;

    public function __construct($id = null)
    {
        if ($id) {
            $row = Db::getInstance()->getRow('SELECT * FROM `' . _DB_PREFIX_ . 'lang` WHERE id_lang = ' . (int) $id);
            if ($row) {
                $this->id = (int) $row['id_lang'];
                $this->name = $row['name'];
                $this->iso_code = $row['iso_code'];
                $this->locale = $row['locale'];
            }
        }
    }

    public static function getIdByIso($iso_code, $no_cache = false)
    {
        $id = Db::getInstance()->getValue('SELECT `id_lang` FROM `' . _DB_PREFIX_ . "lang` WHERE `iso_code` = '" . pSQL(strtolower((string) $iso_code)) . "'");

        return $id === false ? false : (int) $id;
    }

    public static function getIsoById($id_lang)
    {
        $iso = Db::getInstance()->getValue('SELECT `iso_code` FROM `' . _DB_PREFIX_ . 'lang` WHERE `id_lang` = ' . (int) $id_lang);

        return $iso === false ? false : (string) $iso;
    }

    public static function getLanguages($active = true, $id_shop = false, $ids_only = false)
    {
        $rows = Db::getInstance()->executeS('SELECT * FROM `' . _DB_PREFIX_ . 'lang`' . ($active ? ' WHERE active = 1' : '') . ' ORDER BY id_lang') ?: [];

        return $ids_only ? array_map(static fn ($r) => (int) $r['id_lang'], $rows) : $rows;
    }
}

/** The back-office employee of the request (SFSYNC_HARNESS_CONTEXT's employee: id, id_profile, names). */
class Employee
{
    public $id = 1;
    public $id_profile = 1;
    public $id_lang = 1;
    public $firstname = 'Jane';
    public $lastname = 'Doe';
}

class Link
{
    private $base = 'http://shop.example.com/';

    public function getModuleLink($module, $controller = 'default', array $params = [], $ssl = null, $idLang = null, $idShop = null, $relativeProtocol = false)
    {
        // PrestaShop without friendly URLs: index.php?fc=module&module=...&controller=...&id_lang=...
        $idLang = $idLang ?: Context::getContext()->language->id;
        $query = ['fc' => 'module', 'module' => $module, 'controller' => $controller, 'id_lang' => (int) $idLang] + $params;

        return $this->base . 'index.php?' . http_build_query($query, '', '&');
    }

    public function getAdminLink($controller, $withToken = true, $sfRouteParams = [], $params = [])
    {
        // PrestaShop 8's legacy URL converter: the order page is the Symfony route admin_orders_view.
        if ($controller === 'AdminOrders' && isset($params['vieworder'], $params['id_order'])) {
            return $this->base . 'admin-dev/index.php/sell/orders/' . (int) $params['id_order'] . '/view'
                . ($withToken ? '?_token=' . md5(_COOKIE_KEY_ . 'route' . (int) Context::getContext()->employee->id) : '');
        }
        $query = ['controller' => $controller] + ($withToken ? ['token' => Tools::getAdminTokenLite($controller)] : []) + $params;

        return $this->base . 'admin-dev/index.php?' . http_build_query($query, '', '&');
    }
}

class Context
{
    /** @var Context|null */
    protected static $instance;
    public $shop;
    public $language;
    public $link;
    public $employee;
    public $controller;
    public $smarty;
    public $cookie;
    /** @var Translator|null */
    protected $translator;

    public static function getContext()
    {
        if (self::$instance === null) {
            self::$instance = new Context();
        }

        return self::$instance;
    }

    /** PrestaShop 8: the Symfony translator, its locale the context language's. */
    public function getTranslator($isInstaller = false)
    {
        if ($this->translator === null) {
            $this->translator = new Translator($this->language && $this->language->locale ? $this->language->locale : 'en-US');
        }

        return $this->translator;
    }
}

/** The translator's locale only (PrestaShopBundle\Translation\Translator): what a PDF is rendered in. */
class Translator
{
    private $locale;

    public function __construct($locale)
    {
        $this->locale = $locale;
    }

    public function getLocale()
    {
        return $this->locale;
    }

    public function setLocale($locale)
    {
        $this->locale = $locale;
    }
}

/** Smarty's instance in the context: PDF clones it (its templates are not rendered here). */
class Smarty
{
    public $escape_html = true;
}

// ---- Configuration (classes/Configuration.php) ------------------------------------------------------

class Configuration
{
    /** @var array<string, array<int, array<int, string>>>|null name => lang => shop => value */
    protected static $cacheShop;
    protected static $cacheGroup;
    /** @var array<string, array<int, string>>|null name => lang => value */
    protected static $cacheGlobal;
    protected static $types = [];
    protected static $initialized = false;

    public static function loadConfiguration()
    {
        $results = Db::getInstance()->executeS('SELECT c.`name`, cl.`id_lang`, IF(cl.`id_lang` IS NULL, c.`value`, cl.`value`) AS value, c.id_shop_group, c.id_shop
            FROM `' . _DB_PREFIX_ . 'configuration` c
            LEFT JOIN `' . _DB_PREFIX_ . 'configuration_lang` cl ON (c.`id_configuration` = cl.`id_configuration`)');
        if ($results) {
            foreach ($results as $row) {
                $lang = $row['id_lang'] ? (int) $row['id_lang'] : 0;
                self::$types[$row['name']] = (bool) $lang;
                $value = $row['value'] === null ? '' : $row['value'];
                if ($row['id_shop']) {
                    self::$cacheShop[$row['name']][$lang][(int) $row['id_shop']] = $value;
                } elseif ($row['id_shop_group']) {
                    self::$cacheGroup[$row['name']][$lang][(int) $row['id_shop_group']] = $value;
                } else {
                    self::$cacheGlobal[$row['name']][$lang] = $value;
                }
            }
            self::$initialized = true;
        }
    }

    public static function clearConfigurationCacheForTesting()
    {
        self::$cacheShop = self::$cacheGroup = self::$cacheGlobal = null;
        self::$initialized = false;
    }

    public static function isLangKey($key)
    {
        return !empty(self::$types[$key]);
    }

    public static function get($key, $idLang = null, $idShopGroup = null, $idShop = null, $default = false)
    {
        if (!self::$initialized) {
            self::loadConfiguration();
        }
        $idLang = self::isLangKey($key) ? (int) $idLang : 0;
        if (self::$cacheShop === null) {
            $idShop = 0;
        } elseif ($idShop === null || !Shop::isFeatureActive()) {
            $idShop = Shop::getContextShopID(true);
        }
        if (self::$cacheGroup === null) {
            $idShopGroup = 0;
        } elseif ($idShopGroup === null || !Shop::isFeatureActive()) {
            $idShopGroup = Shop::getContextShopGroupID(true);
        }
        if ($idShop && self::hasKey($key, $idLang, null, $idShop)) {
            return self::$cacheShop[$key][$idLang][$idShop];
        } elseif ($idShopGroup && self::hasKey($key, $idLang, $idShopGroup)) {
            return self::$cacheGroup[$key][$idLang][$idShopGroup];
        } elseif (self::hasKey($key, $idLang)) {
            return self::$cacheGlobal[$key][$idLang];
        }

        return $default;
    }

    public static function getGlobalValue($key, $idLang = null)
    {
        return self::get($key, $idLang, 0, 0);
    }

    public static function hasKey($key, $idLang = null, $idShopGroup = null, $idShop = null)
    {
        if (!is_int($key) && !is_string($key)) {
            return false;
        }
        $idLang = (int) $idLang;
        if ($idShop) {
            return isset(self::$cacheShop[$key][$idLang][$idShop]);
        } elseif ($idShopGroup) {
            return isset(self::$cacheGroup[$key][$idLang][$idShopGroup]);
        }

        return isset(self::$cacheGlobal[$key][$idLang]);
    }

    public static function set($key, $values, $idShopGroup = null, $idShop = null)
    {
        if ($idShop === null) {
            $idShop = (int) Shop::getContextShopID(true);
        }
        if ($idShopGroup === null) {
            $idShopGroup = (int) Shop::getContextShopGroupID(true);
        }
        foreach (is_array($values) ? $values : [$values] as $lang => $value) {
            if ($idShop) {
                self::$cacheShop[$key][$lang][$idShop] = $value;
            } elseif ($idShopGroup) {
                self::$cacheGroup[$key][$lang][$idShopGroup] = $value;
            } else {
                self::$cacheGlobal[$key][$lang] = $value;
            }
        }
    }

    public static function updateGlobalValue($key, $values, $html = false)
    {
        return self::updateValue($key, $values, $html, 0, 0);
    }

    public static function updateValue($key, $values, $html = false, $idShopGroup = null, $idShop = null)
    {
        if (!Validate::isConfigName($key)) {
            die(sprintf('[%s] is not a valid configuration key', Tools::htmlentitiesUTF8($key)));
        }
        if ($idShop === null || !Shop::isFeatureActive()) {
            $idShop = Shop::getContextShopID(true);
        }
        if ($idShopGroup === null || !Shop::isFeatureActive()) {
            $idShopGroup = Shop::getContextShopGroupID(true);
        }
        if (!is_array($values)) {
            $values = [$values];
        }
        $db = Db::getInstance();
        $result = true;
        foreach ($values as $lang => $value) {
            $stored = self::get($key, $lang, $idShopGroup, $idShop);
            // PrestaShop 8: an unchanged value is skipped only when this very level (shop, group or
            // global) already has its row; a value equal to the inherited one is written there.
            if (((!is_numeric($value) && $value === $stored) || (is_numeric($value) && $value == $stored))
                && self::hasKey($key, $lang, $idShopGroup, $idShop)) {
                continue;
            }
            if (self::hasKey($key, $lang, $idShopGroup, $idShop)) {
                if (!$lang) {
                    $result &= $db->update('configuration', ['value' => pSQL($value, $html), 'date_upd' => date('Y-m-d H:i:s')],
                        '`name` = \'' . pSQL($key) . '\'' . self::sqlRestriction($idShopGroup, $idShop), 1, true);
                }
            } else {
                $id = (int) $db->getValue('SELECT `id_configuration` FROM `' . _DB_PREFIX_ . 'configuration` WHERE name = \'' . pSQL($key) . '\'' . self::sqlRestriction($idShopGroup, $idShop));
                if (!$id) {
                    $now = date('Y-m-d H:i:s');
                    $result &= $db->insert('configuration', [
                        'id_shop_group' => $idShopGroup ? (int) $idShopGroup : null,
                        'id_shop' => $idShop ? (int) $idShop : null,
                        'name' => pSQL($key),
                        'value' => $lang ? null : pSQL($value, $html),
                        'date_add' => $now,
                        'date_upd' => $now,
                    ], true);
                }
            }
        }
        self::set($key, $values, $idShopGroup, $idShop);

        return (bool) $result;
    }

    public static function deleteByName($key)
    {
        if (!Validate::isConfigName($key)) {
            return false;
        }
        $db = Db::getInstance();
        $result = $db->execute('DELETE FROM `' . _DB_PREFIX_ . 'configuration_lang` WHERE `id_configuration` IN (SELECT `id_configuration` FROM `' . _DB_PREFIX_ . 'configuration` WHERE `name` = "' . pSQL($key) . '")');
        $result2 = $db->execute('DELETE FROM `' . _DB_PREFIX_ . 'configuration` WHERE `name` = "' . pSQL($key) . '"');
        self::clearConfigurationCacheForTesting();

        return $result && $result2;
    }

    public static function getIdByName($key, $idShopGroup = null, $idShop = null)
    {
        if ($idShop === null) {
            $idShop = Shop::getContextShopID(true);
        }
        if ($idShopGroup === null) {
            $idShopGroup = Shop::getContextShopGroupID(true);
        }

        return (int) Db::getInstance()->getValue('SELECT `id_configuration` FROM `' . _DB_PREFIX_ . 'configuration` WHERE name = \'' . pSQL($key) . '\''
            . self::sqlRestriction($idShopGroup, $idShop));
    }

    /** The key's row of the context's shop (or group) goes: the shop reads the inherited value again. */
    public static function deleteFromContext($key, ?int $idShopGroup = null, ?int $idShop = null)
    {
        if (Shop::getContext() == Shop::CONTEXT_ALL) {
            return;
        }
        $idShopGroup = $idShopGroup ?? Shop::getContextShopGroupID(true);
        if (!isset($idShop) && Shop::getContext() == Shop::CONTEXT_SHOP) {
            $idShop = Shop::getContextShopID(true);
        }
        $id = self::getIdByName($key, $idShopGroup, $idShop);
        Db::getInstance()->execute('DELETE FROM `' . _DB_PREFIX_ . 'configuration` WHERE `id_configuration` = ' . (int) $id);
        Db::getInstance()->execute('DELETE FROM `' . _DB_PREFIX_ . 'configuration_lang` WHERE `id_configuration` = ' . (int) $id);
        self::clearConfigurationCacheForTesting();
    }

    public static function hasContext($key, $idLang, $context)
    {
        $idShopGroup = $context == Shop::CONTEXT_GROUP && Shop::getContext() != Shop::CONTEXT_ALL ? Shop::getContextShopGroupID(true) : null;
        $idShop = $context == Shop::CONTEXT_SHOP && Shop::getContext() == Shop::CONTEXT_SHOP ? Shop::getContextShopID(true) : null;

        return self::hasKey($key, $idLang, $idShopGroup, $idShop);
    }

    public static function isOverridenByCurrentContext($key)
    {
        $override = (Shop::getContext() == Shop::CONTEXT_SHOP && self::hasContext($key, null, Shop::CONTEXT_SHOP))
            || (Shop::getContext() == Shop::CONTEXT_GROUP && self::hasContext($key, null, Shop::CONTEXT_GROUP));

        return Shop::isFeatureActive() && Shop::getContext() != Shop::CONTEXT_ALL && $override;
    }

    protected static function sqlRestriction($idShopGroup, $idShop)
    {
        if ($idShop) {
            return ' AND id_shop = ' . (int) $idShop;
        } elseif ($idShopGroup) {
            return ' AND id_shop_group = ' . (int) $idShopGroup . ' AND (id_shop IS NULL OR id_shop = 0)';
        }

        return ' AND (id_shop_group IS NULL OR id_shop_group = 0) AND (id_shop IS NULL OR id_shop = 0)';
    }
}

// ---- OrderState, Hook, Translate, Mail, PrestaShopLogger --------------------------------------------

class OrderState
{
    public static function getOrderStates($id_lang, $filterDeleted = true)
    {
        return Db::getInstance()->executeS('SELECT * FROM `' . _DB_PREFIX_ . 'order_state` os
            LEFT JOIN `' . _DB_PREFIX_ . 'order_state_lang` osl ON (os.`id_order_state` = osl.`id_order_state` AND osl.`id_lang` = ' . (int) $id_lang . ')'
            . ($filterDeleted ? ' WHERE deleted = 0' : '') . ' ORDER BY `name` ASC') ?: [];
    }
}

class Hook
{
    /**
     * As PrestaShop 8's: the modules registered on the hook for the shop ($id_shop, else the
     * context's) and enabled in that shop (module_shop) are called, by position, in that shop's
     * context; a module that is not enabled there is not called at all. The call is reported (name,
     * the modules called, and the invoices of a PDF hook).
     */
    public static function exec($hook_name, $hook_args = [], $id_module = null, $array_return = false, $check_exceptions = true,
        $use_push = false, $id_shop = null, $chain = false)
    {
        if (($id_module && !is_numeric($id_module)) || !Validate::isHookName($hook_name)) {
            throw new PrestaShopException('Invalid id_module or hook_name');
        }
        $context = Context::getContext();
        $differentShop = false;
        if ($id_shop !== null && Validate::isUnsignedId($id_shop) && (int) $id_shop !== (int) $context->shop->id) {
            $oldShop = $context->shop;
            $oldContext = Shop::getContext();
            $oldContextId = $oldContext === Shop::CONTEXT_GROUP ? Shop::getContextShopGroupID() : Shop::getContextShopID();
            $shop = new Shop((int) $id_shop);
            if (Validate::isLoadedObject($shop)) {
                $context->shop = $shop;
                Shop::setContext(Shop::CONTEXT_SHOP, $shop->id);
                $differentShop = true;
            }
        }
        $idShop = (int) $context->shop->id;
        $rows = Db::getInstance()->executeS('SELECT m.`id_module`, m.`name` FROM `' . _DB_PREFIX_ . 'module` m'
            . ' JOIN `' . _DB_PREFIX_ . 'module_shop` ms ON ms.`id_module` = m.`id_module` AND ms.`id_shop` = ' . $idShop
            . ' JOIN `' . _DB_PREFIX_ . 'hook_module` hm ON hm.`id_module` = m.`id_module` AND hm.`id_shop` = ' . $idShop
            . ' JOIN `' . _DB_PREFIX_ . 'hook` h ON h.`id_hook` = hm.`id_hook`'
            . " WHERE h.`name` = '" . pSQL($hook_name) . "'" . ($id_module ? ' AND m.`id_module` = ' . (int) $id_module : '')
            . ' GROUP BY hm.`id_hook`, hm.`id_module` ORDER BY hm.`position`') ?: [];
        $data = ['name' => $hook_name, 'id_shop' => $idShop, 'modules' => []];
        if (isset($hook_args['order_invoice_list'])) {
            $data['invoices'] = [];
            foreach ($hook_args['order_invoice_list'] as $invoice) {
                $data['invoices'][] = (int) $invoice->id;
            }
        }
        $output = $array_return ? [] : '';
        foreach ($rows as $row) {
            $module = Module::getInstanceByName($row['name']);
            $method = 'hook' . ucfirst($hook_name);
            if (!$module || !is_callable([$module, $method])) {
                continue;
            }
            $data['modules'][] = $row['name'];
            $display = $module->$method($hook_args);
            if ($array_return) {
                $output[$module->name] = $display;
            } elseif (!is_array($display)) {
                $output .= $display;
            }
        }
        harness_out('hook', $data);
        if ($differentShop) {
            $context->shop = $oldShop;
            Shop::setContext($oldContext, $oldContextId);
        }

        return $output;
    }

    public static function getIdByName($hookName, $withAliases = true, $refreshCache = false)
    {
        $id = Db::getInstance()->getValue('SELECT `id_hook` FROM `' . _DB_PREFIX_ . "hook` WHERE `name` = '" . pSQL($hookName) . "'");

        return $id === false ? false : (int) $id;
    }

    public static function registerHook($module, $hookName, $shopList = null)
    {
        $return = true;
        foreach (is_array($hookName) ? $hookName : [$hookName] as $name) {
            if (!Validate::isHookName($name)) {
                throw new PrestaShopException('Invalid hook name');
            }
            $idHook = self::getIdByName($name);
            if (!$idHook) {
                Db::getInstance()->insert('hook', ['name' => pSQL($name), 'title' => pSQL($name), 'position' => 1]);
                $idHook = Db::getInstance()->Insert_ID();
                if (!$idHook) {
                    return false;
                }
            }
            // No list: every shop of the installation (Shop::getCompleteListOfShopsID()).
            foreach ($shopList ?? Shop::getCompleteListOfShopsID() as $idShop) {
                $registered = Db::getInstance()->getValue('SELECT id_module FROM `' . _DB_PREFIX_ . 'hook_module` WHERE id_hook = ' . (int) $idHook
                    . ' AND id_module = ' . (int) $module->id . ' AND id_shop = ' . (int) $idShop);
                if ($registered) {
                    continue;
                }
                $position = (int) Db::getInstance()->getValue('SELECT MAX(`position`) FROM `' . _DB_PREFIX_ . 'hook_module` WHERE `id_hook` = ' . (int) $idHook . ' AND `id_shop` = ' . (int) $idShop);
                $return &= Db::getInstance()->insert('hook_module', [
                    'id_module' => (int) $module->id,
                    'id_hook' => (int) $idHook,
                    'id_shop' => (int) $idShop,
                    'position' => $position + 1,
                ]);
            }
        }

        return (bool) $return;
    }

    public static function unregisterHook($module, $hookId, $shopList = null)
    {
        if (!is_numeric($hookId)) {
            $hookId = self::getIdByName($hookId);
            if (!$hookId) {
                return false;
            }
        }

        return Db::getInstance()->delete('hook_module', '`id_module` = ' . (int) $module->id . ' AND `id_hook` = ' . (int) $hookId
            . ($shopList ? ' AND `id_shop` IN(' . implode(', ', array_map('intval', $shopList)) . ')' : ''));
    }
}

class Translate
{
    /**
     * The legacy module translation (modules/<name>/translations/<iso>.php, $_MODULE keys
     * "<{module}prestashop>source_md5(string)"); returns HTML-escaped text unless $js or !$escape.
     */
    public static function getModuleTranslation($module, $originalString, $source, $sprintf = null, $js = false, $locale = null, $fallback = true, $escape = true)
    {
        static $loaded = [];
        $name = $module instanceof Module ? $module->name : $module;
        $iso = $locale ? strtolower(substr((string) $locale, 0, 2)) : Context::getContext()->language->iso_code;
        if (!isset($loaded[$name][$iso])) {
            $_MODULE = [];
            $file = _PS_MODULE_DIR_ . $name . '/translations/' . $iso . '.php';
            if (is_file($file)) {
                include $file;
            }
            $loaded[$name][$iso] = $_MODULE;
        }
        $key = strtolower('<{' . $name . '}prestashop>' . $source) . '_' . md5(str_replace("'", "\\'", $originalString));
        $ret = isset($loaded[$name][$iso][$key]) && $loaded[$name][$iso][$key] !== '' ? stripslashes($loaded[$name][$iso][$key]) : $originalString;
        if ($sprintf !== null) {
            $ret = vsprintf($ret, (array) $sprintf);
        }
        if ($js) {
            return addslashes($ret);
        }

        return $escape ? htmlspecialchars($ret, ENT_COMPAT, 'UTF-8') : $ret;
    }
}

class Mail
{
    /** @var bool what Send() answers (a shop whose mail transport is down answers false) */
    public static $accept = true;

    public static function Send($idLang, $template, $subject, $templateVars, $to, $toName = null, $from = null, $fromName = null,
        $fileAttachment = null, $mode_smtp = null, $templatePath = _PS_MAIL_DIR_, $die = false, $idShop = null, $bcc = null,
        $replyTo = null, $replyToName = null)
    {
        // Mail::Send() refuses a template missing in the language, in either format.
        $iso = Language::getIsoById((int) $idLang);
        $txt = $templatePath . $iso . '/' . $template . '.txt';
        $html = $templatePath . $iso . '/' . $template . '.html';
        if (!$iso || !is_file($txt) || !is_file($html)) {
            harness_out('mail_refused', ['template' => $template, 'iso' => $iso, 'path' => $templatePath]);

            return false;
        }
        harness_out('mail', [
            'id_lang' => (int) $idLang, 'iso' => $iso, 'template' => $template, 'subject' => $subject, 'to' => $to,
            'id_shop' => $idShop, 'txt' => strtr((string) file_get_contents($txt), $templateVars),
            'html' => strtr((string) file_get_contents($html), $templateVars),
        ]);

        return self::$accept;
    }
}

class PrestaShopLogger
{
    public static function addLog($message, $severity = 1, $errorCode = null, $objectType = null, $objectId = null, $allowDuplicate = false, $idEmployee = null)
    {
        harness_out('prestashop_log', ['message' => $message, 'severity' => $severity, 'object_type' => $objectType, 'object_id' => $objectId]);

        return true;
    }
}

// ---- Order, OrderInvoice, PrestaShopCollection, PDF ----------------------------------------------------

/** ObjectModel's loading: the row's columns into the properties the class declares (its fields). */
abstract class HarnessObjectModel
{
    public $id;

    public function __construct($id = null)
    {
        if ($id) {
            $row = Db::getInstance()->getRow('SELECT * FROM `' . _DB_PREFIX_ . static::$definition['table'] . '` WHERE `'
                . static::$definition['primary'] . '` = ' . (int) $id);
            if ($row) {
                foreach ($row as $column => $value) {
                    if (property_exists($this, $column)) {
                        $this->$column = $value;
                    }
                }
                $this->id = (int) $id;
            }
        }
    }
}

class Order extends HarnessObjectModel
{
    public static $definition = ['table' => 'orders', 'primary' => 'id_order'];
    public $id_shop;
    public $id_shop_group;
    public $id_lang;
    public $id_customer;
    public $current_state;
    public $module;
    public $payment;
    public $reference;
    public $invoice_number;
    public $date_add;

    /** PrestaShop 8: the order's invoices, a lazy PrestaShopCollection of OrderInvoice. */
    public function getInvoicesCollection()
    {
        $order_invoices = new PrestaShopCollection('OrderInvoice');
        $order_invoices->where('id_order', '=', $this->id);

        return $order_invoices;
    }
}

class OrderInvoice extends HarnessObjectModel
{
    public static $definition = ['table' => 'order_invoice', 'primary' => 'id_order_invoice'];
    public $id_order;
    public $number;
    public $date_add;
}

/** Iterator and Countable over the objects of a class, read at first use ('=' filters only). */
class PrestaShopCollection implements Iterator, Countable
{
    protected $classname;
    protected $where = [];
    protected $results;
    protected $position = 0;

    public function __construct($classname, $id_lang = null)
    {
        $this->classname = $classname;
    }

    public function where($field, $operator, $value, $method = 'where')
    {
        if ($operator !== '=') {
            throw new PrestaShopException('The harness collection filters with = only');
        }
        $this->where[] = '`' . bqSQL($field) . "` = '" . pSQL((string) $value) . "'";

        return $this;
    }

    public function getAll($display_query = false)
    {
        if ($this->results === null) {
            $class = $this->classname;
            $definition = $class::$definition;
            $ids = Db::getInstance()->executeS('SELECT `' . $definition['primary'] . '` AS id FROM `' . _DB_PREFIX_ . $definition['table'] . '`'
                . ($this->where ? ' WHERE ' . implode(' AND ', $this->where) : '') . ' ORDER BY `' . $definition['primary'] . '`') ?: [];
            $this->results = array_map(static function ($row) use ($class) {
                return new $class((int) $row['id']);
            }, $ids);
        }

        return $this;
    }

    #[\ReturnTypeWillChange]
    public function count()
    {
        return count($this->getAll()->results);
    }

    #[\ReturnTypeWillChange]
    public function rewind()
    {
        $this->getAll();
        $this->position = 0;
    }

    #[\ReturnTypeWillChange]
    public function current()
    {
        return $this->results[$this->position] ?? null;
    }

    #[\ReturnTypeWillChange]
    public function key()
    {
        return $this->position;
    }

    #[\ReturnTypeWillChange]
    public function next()
    {
        ++$this->position;
    }

    #[\ReturnTypeWillChange]
    public function valid()
    {
        return isset($this->results[$this->position]);
    }
}

/**
 * classes/pdf/PDF.php with PDFGenerator::render()'s output modes; the document is a one-page PDF
 * naming each invoice, the context language and the translator's locale (TCPDF's layout of the
 * invoice template is PrestaShop's business, not the module's).
 */
class PDF
{
    const TEMPLATE_INVOICE = 'Invoice';
    const TEMPLATE_ORDER_RETURN = 'OrderReturn';
    const TEMPLATE_ORDER_SLIP = 'OrderSlip';
    const TEMPLATE_DELIVERY_SLIP = 'DeliverySlip';
    const TEMPLATE_SUPPLY_ORDER_FORM = 'SupplyOrderForm';

    /** @var list<int> orders whose invoice fails to render, as a broken template makes TCPDF throw (request's pdf_fail) */
    public static $failOrders = [];

    /** @var int milliseconds each rendering takes, as a large invoice does (request's pdf_delay_ms) */
    public static $delayMs = 0;

    public $filename;
    public $objects;
    public $template;
    public $smarty;
    public $send_bulk_flag = false;

    public function __construct($objects, $template, $smarty, $orientation = 'P')
    {
        $this->template = $template;
        // PrestaShop clones the context's Smarty (with HTML escaping off) for the templates.
        $this->smarty = clone $smarty;
        $this->smarty->escape_html = false;
        $this->objects = $objects;
        if (!($objects instanceof Iterator) && !is_array($objects)) {
            $this->objects = [$objects];
        }
        if (count($this->objects) > 1) {
            $this->send_bulk_flag = true;
        }
    }

    /** @param bool|string $display true/'D' download, 'I' inline, false/'S' the document returned */
    public function render($display = true)
    {
        if ($this->template !== self::TEMPLATE_INVOICE) {
            throw new PrestaShopException('The harness renders invoices only');
        }
        $lines = [];
        foreach ($this->objects as $invoice) {
            if (in_array((int) $invoice->id_order, self::$failOrders, true)) {
                throw new PrestaShopException('TCPDF ERROR: cannot render the invoice of order ' . (int) $invoice->id_order);
            }
            if (empty($this->filename)) {
                $this->filename = sprintf('IN%06d.pdf', (int) $invoice->number);
            }
            $lines[] = sprintf('Invoice %06d of order %d', (int) $invoice->number, (int) $invoice->id_order);
        }
        if (!$lines) {
            return null; // nothing rendered: PDF::render() returns nothing
        }
        if (self::$delayMs > 0) {
            usleep(self::$delayMs * 1000);
        }
        $context = Context::getContext();
        $lines[] = sprintf('Language %s, locale %s', $context->language->iso_code, $context->getTranslator()->getLocale());
        $document = self::document($lines);
        harness_out('pdf', ['template' => $this->template, 'lines' => $lines, 'bytes' => strlen($document)]);
        // PDF::render() cleans the output buffer before PDFGenerator::render().
        if (ob_get_level() && ob_get_length() > 0) {
            ob_clean();
        }
        if ($display === false || $display === 'S') {
            return $document;
        }
        echo $document;

        return '';
    }

    /** A valid one-page PDF 1.4 showing the lines (Helvetica), with its cross-reference table. */
    public static function document(array $lines)
    {
        $text = 'BT /F1 12 Tf 50 800 Td';
        foreach ($lines as $i => $line) {
            $text .= ($i ? ' 0 -16 Td' : '') . ' (' . strtr($line, ['\\' => '\\\\', '(' => '\\(', ')' => '\\)']) . ') Tj';
        }
        $text .= ' ET';
        $objects = [
            '<< /Type /Catalog /Pages 2 0 R >>',
            '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
            '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
            '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
            '<< /Length ' . strlen($text) . " >>\nstream\n" . $text . "\nendstream",
        ];
        $pdf = "%PDF-1.4\n";
        $offsets = [];
        foreach ($objects as $i => $object) {
            $offsets[] = strlen($pdf);
            $pdf .= ($i + 1) . " 0 obj\n" . $object . "\nendobj\n";
        }
        $xref = strlen($pdf);
        $pdf .= 'xref' . "\n0 " . (count($objects) + 1) . "\n0000000000 65535 f \n";
        foreach ($offsets as $offset) {
            $pdf .= sprintf("%010d 00000 n \n", $offset);
        }

        return $pdf . 'trailer << /Size ' . (count($objects) + 1) . " /Root 1 0 R >>\nstartxref\n" . $xref . "\n%%EOF\n";
    }
}

// ---- Module (classes/module/Module.php) -------------------------------------------------------------

abstract class Module
{
    public $id;
    public $name;
    public $version;
    public $database_version;
    public $installed = false;
    public $active = false;
    public $tab;
    public $displayName;
    public $description;
    public $author;
    public $need_instance = 1;
    public $bootstrap = false;
    public $ps_versions_compliancy = [];
    public $dependencies = [];
    public $warning;
    public $confirmUninstall;
    public $controllers = [];
    // PrestaShop 8's Module declares no $secure_key: a module that sets one must declare it.
    protected $table = 'module';
    protected $identifier = 'id_module';
    protected $_errors = [];
    protected $_confirmations = [];
    protected $_path;
    protected $local_path;
    /** @var Context */
    protected $context;
    /** @var array upgrade details, as Module::$modules_cache[name]['upgrade'] */
    protected static $upgrade = [];

    public function __construct($name = null, ?Context $context = null)
    {
        if (!isset($this->ps_versions_compliancy['min'])) {
            $this->ps_versions_compliancy['min'] = '1.4.0.0';
        }
        if (!isset($this->ps_versions_compliancy['max'])) {
            $this->ps_versions_compliancy['max'] = _PS_VERSION_;
        }
        $this->context = $context ?: Context::getContext();
        if ($this->name === null) {
            $this->name = $this->id;
        }
        if ($this->name != null) {
            // The module row, and whether it is enabled for the context shop (module_shop).
            $row = Db::getInstance()->getRow('SELECT m.`id_module`, m.`version`, ms.`id_module` AS `mshop` FROM `' . _DB_PREFIX_ . 'module` m
                LEFT JOIN `' . _DB_PREFIX_ . 'module_shop` ms ON m.`id_module` = ms.`id_module` AND ms.`id_shop` = ' . (int) $this->context->shop->id
                . " WHERE m.`name` = '" . pSQL($this->name) . "'");
            if ($row) {
                $this->id = (int) $row['id_module'];
                $this->database_version = $row['version'];
                $this->installed = true;
                $this->active = $row['mshop'] > 0;
            }
            $this->_path = __PS_BASE_URI__ . 'modules/' . $this->name . '/';
            $this->local_path = _PS_MODULE_DIR_ . $this->name . '/';
        }
    }

    public function install()
    {
        if (!Validate::isModuleName($this->name)) {
            $this->_errors[] = 'Unable to install the module (Module name is not valid).';

            return false;
        }
        if (!$this->checkCompliancy()) {
            $this->_errors[] = 'The version of your module is not compliant with your PrestaShop version.';

            return false;
        }
        if (self::isInstalled($this->name)) {
            $this->_errors[] = 'This module has already been installed.';

            return false;
        }
        if (!Db::getInstance()->insert('module', ['name' => $this->name, 'active' => 1, 'version' => $this->version])) {
            $this->_errors[] = 'Technical error: PrestaShop could not install this module.';

            return false;
        }
        $this->id = Db::getInstance()->Insert_ID();
        $this->installed = true;
        $this->database_version = $this->version;
        $this->enable();

        return true;
    }

    public function uninstall()
    {
        if (!Validate::isUnsignedId($this->id) || !$this->id) {
            $this->_errors[] = 'The module is not installed.';

            return false;
        }
        $rows = Db::getInstance()->executeS('SELECT `id_hook` FROM `' . _DB_PREFIX_ . 'hook_module` WHERE `id_module` = ' . (int) $this->id) ?: [];
        foreach ($rows as $row) {
            $this->unregisterHook((int) $row['id_hook']);
        }
        $this->disable(true);
        if (Db::getInstance()->execute('DELETE FROM `' . _DB_PREFIX_ . 'module` WHERE `id_module` = ' . (int) $this->id)) {
            $this->installed = false;

            return true;
        }

        return false;
    }

    public function checkCompliancy()
    {
        return !(version_compare(_PS_VERSION_, $this->ps_versions_compliancy['min'], '<') || version_compare(_PS_VERSION_, $this->ps_versions_compliancy['max'], '>'));
    }

    public function enable($force_all = false)
    {
        $list = Shop::getContextListShopID();
        if (!$this->id || !is_array($list)) {
            return false;
        }
        $rows = Db::getInstance()->executeS('SELECT `id_shop` FROM `' . _DB_PREFIX_ . 'module_shop` WHERE `id_module` = ' . (int) $this->id
            . (!$force_all ? ' AND `id_shop` IN(' . implode(', ', $list) . ')' : '')) ?: [];
        $items = array_map(static fn ($r) => (int) $r['id_shop'], $rows);
        foreach ($list as $id) {
            if (!in_array((int) $id, $items, true)) {
                Db::getInstance()->insert('module_shop', ['id_module' => (int) $this->id, 'id_shop' => (int) $id]);
            }
        }
        Db::getInstance()->update('module', ['active' => 1], 'id_module = ' . (int) $this->id);

        return true;
    }

    /** Removes the module from the context's shops (all with $force_all); inactive once in no shop. */
    public function disable($force_all = false)
    {
        $result = Db::getInstance()->execute('DELETE FROM `' . _DB_PREFIX_ . 'module_shop` WHERE `id_module` = ' . (int) $this->id
            . (!$force_all ? ' AND `id_shop` IN(' . implode(', ', Shop::getContextListShopID()) . ')' : ''));
        if (!$this->hasShopAssociations()) {
            $result = Db::getInstance()->update('module', ['active' => 0], 'id_module = ' . (int) $this->id) && $result;
        }

        return (bool) $result;
    }

    public function hasShopAssociations(): bool
    {
        return (bool) Db::getInstance()->getValue('SELECT m.`id_module` FROM `' . _DB_PREFIX_ . 'module` m JOIN `' . _DB_PREFIX_ . 'module_shop` ms'
            . ' ON ms.`id_module` = m.`id_module` WHERE m.`id_module` = ' . (int) $this->id);
    }

    public function isEnabledForShopContext()
    {
        $list = array_map('intval', Shop::getContextListShopID());

        return (int) Db::getInstance()->getValue('SELECT COUNT(*) FROM `' . _DB_PREFIX_ . 'module_shop` WHERE `id_module` = ' . (int) $this->id
            . ' AND `id_shop` IN (' . implode(',', $list ?: [0]) . ')') === count($list);
    }

    public function registerHook($hook_name, $shop_list = null)
    {
        return Hook::registerHook($this, $hook_name, $shop_list);
    }

    public function unregisterHook($hook_id, $shop_list = null)
    {
        return Hook::unregisterHook($this, $hook_id, $shop_list);
    }

    public function isRegisteredInHook($hook)
    {
        if (!$this->id) {
            return false;
        }

        return (bool) Db::getInstance()->getValue('SELECT COUNT(*) FROM `' . _DB_PREFIX_ . 'hook_module` hm LEFT JOIN `' . _DB_PREFIX_ . 'hook` h ON (h.`id_hook` = hm.`id_hook`)
            WHERE h.`name` = \'' . pSQL($hook) . '\' AND hm.`id_shop` = ' . (int) $this->context->shop->id . ' AND hm.`id_module` = ' . (int) $this->id);
    }

    public static function isInstalled($module_name)
    {
        return (bool) Db::getInstance()->getValue('SELECT `id_module` FROM `' . _DB_PREFIX_ . "module` WHERE `name` = '" . pSQL($module_name) . "'");
    }

    public static function isEnabled($module_name)
    {
        $id = (int) Db::getInstance()->getValue('SELECT `id_module` FROM `' . _DB_PREFIX_ . "module` WHERE `name` = '" . pSQL($module_name) . "'");

        return $id && Db::getInstance()->getValue('SELECT `id_module` FROM `' . _DB_PREFIX_ . 'module_shop` WHERE `id_module` = ' . $id
            . ' AND `id_shop` = ' . (int) Context::getContext()->shop->id);
    }

    /** The module's class from modules/<name>/<name>.php, as Module::getInstanceByName() loads it. */
    public static function getInstanceByName($module_name)
    {
        if (!Validate::isModuleName($module_name) || !is_file(_PS_MODULE_DIR_ . $module_name . '/' . $module_name . '.php')) {
            return false;
        }
        require_once _PS_MODULE_DIR_ . $module_name . '/' . $module_name . '.php';
        foreach (get_declared_classes() as $class) {
            if (strtolower($class) === strtolower($module_name) && is_subclass_of($class, 'Module')) {
                return new $class();
            }
        }

        return false;
    }

    public static function upgradeModuleVersion($name, $version)
    {
        return Db::getInstance()->execute('UPDATE `' . _DB_PREFIX_ . "module` m SET m.version = '" . pSQL($version) . "' WHERE m.name = '" . pSQL($name) . "'");
    }

    /** Module::initUpgradeModule() + needUpgrade() + loadUpgradeVersionList(). */
    public static function initUpgradeModule($module)
    {
        self::$upgrade[$module->name] = ['success' => false, 'available_upgrade' => 0, 'number_upgraded' => 0, 'number_upgrade_left' => 0,
            'upgrade_file_left' => [], 'version_fail' => 0, 'upgraded_from' => $module->database_version, 'upgraded_to' => 0];
        if (!$module->installed || !Tools::version_compare($module->version, $module->database_version, '>')) {
            return false;
        }
        $list = [];
        $path = _PS_MODULE_DIR_ . $module->name . '/upgrade/';
        foreach (is_dir($path) ? (scandir($path) ?: []) : [] as $file) {
            if (in_array($file, ['.', '..', '.svn', 'index.php'], true) || !preg_match('/\.php$/', $file)) {
                continue;
            }
            $tab = explode('-', $file);
            if (!isset($tab[1])) {
                continue;
            }
            $version = basename($tab[1], '.php');
            if (count($tab) == 2 && Tools::version_compare($version, $module->version, '<=') && Tools::version_compare($version, $module->database_version, '>')) {
                $list[] = ['file' => $path . $file, 'version' => $version,
                    'upgrade_function' => ['upgrade_module_' . str_replace('.', '_', $version), 'upgradeModule' . str_replace('.', '', $version)]];
            }
        }
        if (!$list) {
            self::$upgrade[$module->name]['success'] = true;
            self::upgradeModuleVersion($module->name, $module->version);
        }
        usort($list, static fn ($a, $b) => version_compare($a['version'], $b['version']));
        self::$upgrade[$module->name]['upgrade_file_left'] = $list;
        self::$upgrade[$module->name]['available_upgrade'] = count($list);

        return (bool) $list;
    }

    public function runUpgradeModule()
    {
        $upgrade = &self::$upgrade[$this->name];
        foreach ($upgrade['upgrade_file_left'] as $num => $detail) {
            include $detail['file'];
            $upgrade['success'] = false;
            foreach ($detail['upgrade_function'] as $function) {
                if (function_exists($function)) {
                    $upgrade['success'] = $function($this);
                }
            }
            if ($upgrade['success']) {
                ++$upgrade['number_upgraded'];
                $upgrade['upgraded_to'] = $detail['version'];
                unset($upgrade['upgrade_file_left'][$num]);
            } else {
                $upgrade['version_fail'] = $detail['version'];
                $this->disable();
                break;
            }
        }
        $upgrade['number_upgrade_left'] = count($upgrade['upgrade_file_left']);
        if ($upgrade['upgraded_to']) {
            self::upgradeModuleVersion($this->name, $upgrade['upgraded_to']);
        }

        return $upgrade;
    }

    public function l($string, $specific = false, $locale = null)
    {
        return Translate::getModuleTranslation($this, $string, $specific ?: $this->name, null, false, $locale);
    }

    public function getErrors()
    {
        return $this->_errors;
    }

    public function getLocalPath()
    {
        return $this->local_path;
    }

    public function getPathUri()
    {
        return $this->_path;
    }

    public function displayError($error)
    {
        $output = '<div class="bootstrap"><div class="module_error alert alert-danger"><button type="button" class="close" data-dismiss="alert">&times;</button>';
        if (is_array($error)) {
            $output .= '<ul>';
            foreach ($error as $msg) {
                $output .= '<li>' . $msg . '</li>';
            }
            $output .= '</ul>';
        } else {
            $output .= $error;
        }

        return $output . '</div></div>';
    }

    public function displayWarning($warning)
    {
        $output = '<div class="bootstrap"><div class="module_warning alert alert-warning"><button type="button" class="close" data-dismiss="alert">&times;</button>';
        if (is_array($warning)) {
            $output .= '<ul>';
            foreach ($warning as $msg) {
                $output .= '<li>' . $msg . '</li>';
            }
            $output .= '</ul>';
        } else {
            $output .= $warning;
        }

        return $output . '</div></div>';
    }

    public function displayConfirmation($string)
    {
        return '<div class="bootstrap"><div class="module_confirmation conf confirm alert alert-success"><button type="button" class="close" data-dismiss="alert">&times;</button>' . $string . '</div></div>';
    }

    public function displayInformation($information)
    {
        return '<div class="bootstrap"><div class="module_info info alert alert-info"><button type="button" class="close" data-dismiss="alert">&times;</button>' . $information . '</div></div>';
    }
}

/**
 * The visitor's cookie (classes/Cookie.php): a change marks it modified, and it is sent (here:
 * reported as `cookie`) when written, unless writing was disallowed or the headers are gone.
 */
class Cookie
{
    protected $content = [];
    protected $modified = false;
    protected $allowWriting = true;

    /** The browser's copy of the cookie between two requests of a test (SFSYNC_HARNESS_COOKIE). */
    public function __construct()
    {
        $file = getenv('SFSYNC_HARNESS_COOKIE');
        if ($file && is_file($file)) {
            $this->content = json_decode((string) file_get_contents($file), true) ?: [];
        }
    }

    public function getAll()
    {
        return $this->content;
    }

    /** Cookie::getFamily(): the values whose key starts with $origin. */
    public function getFamily($origin)
    {
        $result = [];
        foreach ($this->content as $key => $value) {
            if (strncmp($key, $origin, strlen($origin)) === 0) {
                $result[$key] = $value;
            }
        }

        return $result;
    }

    public function __get($key)
    {
        return $this->content[$key] ?? false;
    }

    public function __isset($key)
    {
        return isset($this->content[$key]);
    }

    public function __set($key, $value)
    {
        if (!array_key_exists($key, $this->content) || $this->content[$key] != $value) {
            $this->modified = true;
        }
        $this->content[$key] = $value;
    }

    public function __unset($key)
    {
        if (isset($this->content[$key])) {
            $this->modified = true;
        }
        unset($this->content[$key]);
    }

    public function disallowWriting()
    {
        $this->allowWriting = false;
    }

    public function write()
    {
        if (!$this->modified || headers_sent() || !$this->allowWriting) {
            return;
        }
        $this->modified = false;
        harness_out('cookie', ['keys' => array_keys($this->content)]);
        $file = getenv('SFSYNC_HARNESS_COOKIE');
        if ($file) {
            file_put_contents($file, json_encode($this->content));
        }
    }

    public function __destruct()
    {
        $this->write();
    }
}

/**
 * classes/controller/Controller.php: the constructor sets $ajax from the request (a subclass's
 * default value is overwritten), and run() is the Dispatcher's sequence. What the front office
 * does outside the database is reported: `front` with the step (media, header, footer, display).
 */
abstract class Controller
{
    public $ajax = false;
    public $content_only = false;
    protected $display_header = true;
    protected $display_footer = true;
    /** @var Context */
    protected $context;

    public function __construct()
    {
        $this->context = Context::getContext();
        $this->context->controller = $this;
        $this->ajax = $this->isAjax();
    }

    private function isAjax()
    {
        $isAjax = Tools::getValue('ajax') || Tools::isSubmit('ajax');
        if (isset($_SERVER['HTTP_ACCEPT'])) {
            $isAjax = $isAjax || preg_match('#\bapplication/json\b#', $_SERVER['HTTP_ACCEPT']);
        }

        return (bool) $isAjax;
    }

    public function init()
    {
    }

    public function checkAccess()
    {
        return true;
    }

    public function viewAccess()
    {
        return true;
    }

    public function setMedia()
    {
        harness_out('front', ['step' => 'media']);
    }

    public function postProcess()
    {
    }

    public function initHeader()
    {
        harness_out('front', ['step' => 'header']);
    }

    public function initContent()
    {
    }

    public function initFooter()
    {
        harness_out('front', ['step' => 'footer']);
    }

    public function display()
    {
        $this->context->cookie->write();
        harness_out('front', ['step' => 'display']);
    }

    public function run()
    {
        $this->init();
        if ($this->checkAccess()) {
            if (!$this->content_only && $this->display_header) {
                $this->setMedia();
            }
            $this->postProcess();
            if (!$this->content_only && $this->display_header) {
                $this->initHeader();
            }
            if ($this->viewAccess()) {
                $this->initContent();
            }
            if (!$this->content_only && $this->display_footer) {
                $this->initFooter();
            }
            if ($this->ajax) {
                if (method_exists($this, 'displayAjax')) {
                    $this->displayAjax();
                }
            } else {
                $this->display();
            }
        }
    }

    protected function ajaxRender($value = null, $controller = null, $method = null)
    {
        echo $value;
    }
}

/** classes/controller/FrontController.php: init() is the whole front office's, whatever the request. */
abstract class FrontController extends Controller
{
    public $maintenance = false;

    public function init()
    {
        parent::init();
        if ($this->ajax) {
            $this->display_header = false;
            $this->display_footer = false;
        }
        // Tools::setCurrency(): the visitor's currency goes into the cookie.
        if (!isset($this->context->cookie->id_currency)) {
            $this->context->cookie->id_currency = (int) (Configuration::get('PS_CURRENCY_DEFAULT') ?: 1);
        }
        $this->displayMaintenancePage();
    }

    protected function displayMaintenancePage()
    {
    }
}

/** classes/controller/ModuleFrontController.php: the module by the request's name, enabled for the shop. */
abstract class ModuleFrontController extends FrontController
{
    public $module;

    public function __construct()
    {
        $this->module = Module::getInstanceByName(Tools::getValue('module'));
        if (!($this->module instanceof Module) || !$this->module->active) {
            // Tools::redirect('index'): the module is not enabled for this shop.
            harness_out('front', ['step' => 'redirect']);
            exit;
        }
        parent::__construct();
    }
}

// ---- HelperForm (classes/helper/Helper.php + HelperForm.php, helpers/form/form.tpl) -----------------

class Helper
{
    public $currentIndex;
    public $table = 'configuration';
    public $identifier;
    public $token;
    public $toolbar_btn;
    public $show_toolbar = true;
    public $title;
    public $tpl_vars = [];
    public $module;
    public $id;
    public $name_controller = '';
    public $languages;
    public $default_form_language;
    public $allow_employee_form_lang;
}

/**
 * Renders the fields_form array the way helpers/form/form.tpl lays it out (Bootstrap classes of the
 * back office), for the input types the module uses: switch, select (multiple), text, html.
 */
class HelperForm extends Helper
{
    public $first_call = true;
    public $fields_form = [];
    public $fields_value = [];
    public $submit_action = '';
    public $show_cancel_button = false;
    public $back_url = '#';

    public function generateForm($fields_form)
    {
        $this->fields_form = $fields_form;
        $values = $this->tpl_vars['fields_value'] ?? $this->fields_value;
        $e = static fn ($s) => htmlspecialchars((string) $s, ENT_QUOTES, 'UTF-8');
        $action = $this->currentIndex . '&token=' . $this->token;
        $html = '<form id="' . $e($this->table) . '_form" class="defaultForm form-horizontal" action="' . $e($action) . '" method="post" enctype="multipart/form-data" novalidate>';
        if ($this->submit_action) {
            $html .= '<input type="hidden" name="' . $e($this->submit_action) . '" value="1" />';
        }
        foreach ($fields_form as $i => $fieldset) {
            $form = $fieldset['form'];
            $html .= '<div class="panel" id="fieldset_' . (int) $i . '">';
            if (isset($form['legend'])) {
                $html .= '<div class="panel-heading">' . (isset($form['legend']['icon']) ? '<i class="' . $e($form['legend']['icon']) . '"></i> ' : '') . $form['legend']['title'] . '</div>';
            }
            if (isset($form['description'])) {
                $html .= '<div class="alert alert-info">' . $form['description'] . '</div>';
            }
            if (isset($form['warning'])) {
                $html .= '<div class="alert alert-warning">' . $form['warning'] . '</div>';
            }
            $html .= '<div class="form-wrapper">';
            foreach ($form['input'] ?? [] as $input) {
                $html .= $this->renderInput($input, $values, $e);
            }
            $html .= '</div>';
            if (isset($form['submit'])) {
                $html .= '<div class="panel-footer"><button type="submit" value="1" id="' . $e($this->table) . '_form_submit_btn" name="'
                    . $e($form['submit']['name'] ?? $this->submit_action) . '" class="' . $e($form['submit']['class'] ?? 'btn btn-default pull-right') . '">'
                    . '<i class="process-icon-save"></i> ' . $form['submit']['title'] . '</button></div>';
            }
            $html .= '</div>';
        }

        return $html . '</form>';
    }

    private function renderInput(array $input, array $values, callable $e)
    {
        $name = $input['name'] ?? '';
        $value = $values[$name] ?? null;
        $html = '<div class="form-group">';
        if (isset($input['label'])) {
            $html .= '<label class="control-label col-lg-3' . (!empty($input['required']) ? ' required' : '') . '">'
                . (isset($input['hint']) ? '<span class="label-tooltip" title="' . $e(strip_tags($input['hint'])) . '">' . $input['label'] . '</span>' : $input['label'])
                . '</label>';
        }
        $html .= '<div class="col-lg-' . (isset($input['label']) ? '9' : '12') . '">';
        switch ($input['type']) {
            case 'switch':
                $html .= '<span class="switch prestashop-switch fixed-width-lg">';
                foreach ($input['values'] as $v) {
                    $checked = (string) $value === (string) $v['value'] ? ' checked="checked"' : '';
                    $html .= '<input type="radio" name="' . $e($name) . '" id="' . $e($v['id']) . '" value="' . $e($v['value']) . '"' . $checked
                        . (!empty($input['disabled']) ? ' disabled="disabled"' : '') . '/>'
                        . '<label for="' . $e($v['id']) . '">' . $v['label'] . '</label>';
                }
                $html .= '<a class="slide-button btn"></a></span>';
                break;
            case 'select':
                $multiple = !empty($input['multiple']);
                $html .= '<select name="' . $e($name) . '" class="' . $e($input['class'] ?? 'fixed-width-xl') . '" id="' . $e(rtrim($name, '[]')) . '"'
                    . ($multiple ? ' multiple="multiple"' : '') . (isset($input['size']) ? ' size="' . (int) $input['size'] . '"' : '') . '>';
                $opt = $input['options'];
                foreach ($opt['query'] as $option) {
                    $id = $option[$opt['id']];
                    $selected = $multiple
                        ? (is_array($value) && in_array($id, $value))
                        : ((string) $value === (string) $id);
                    $html .= '<option value="' . $e($id) . '"' . ($selected ? ' selected="selected"' : '') . '>' . $e($option[$opt['name']]) . '</option>';
                }
                $html .= '</select>';
                break;
            case 'text':
                $input_html = '<input type="text" name="' . $e($name) . '" id="' . $e($input['id'] ?? $name) . '" value="' . $e(is_array($value) ? '' : $value) . '" class="'
                    . $e($input['class'] ?? '') . '"' . (!empty($input['readonly']) ? ' readonly="readonly"' : '') . (!empty($input['required']) ? ' required="required"' : '')
                    . (isset($input['autocomplete']) && !$input['autocomplete'] ? ' autocomplete="off"' : '') . ' />';
                if (isset($input['suffix'])) {
                    $input_html = '<div class="input-group ' . $e($input['class'] ?? '') . '">' . $input_html . '<span class="input-group-addon">' . $input['suffix'] . '</span></div>';
                }
                $html .= $input_html;
                break;
            case 'password':
                // form.tpl never prints a password field's value, and writes autocomplete="off" only
                // for an input that sets 'autocomplete' => false.
                $html .= '<input type="password" name="' . $e($name) . '" id="' . $e($input['id'] ?? $name) . '" value="" class="' . $e($input['class'] ?? '') . '"'
                    . (isset($input['autocomplete']) && !$input['autocomplete'] ? ' autocomplete="off"' : '') . ' />';
                break;
            case 'checkbox':
                // One box per value, named <name>_<id>, checked from fields_value[<name>_<id>].
                foreach ($input['values']['query'] as $option) {
                    $id = $name . '_' . $option[$input['values']['id']];
                    $html .= '<div class="checkbox"><label for="' . $e($id) . '"><input type="checkbox" name="' . $e($id) . '" id="' . $e($id) . '" class="' . $e($input['class'] ?? '') . '"'
                        . (isset($option['val']) ? ' value="' . $e($option['val']) . '"' : '') . (!empty($values[$id]) ? ' checked="checked"' : '') . ' />'
                        . $option[$input['values']['name']] . '</label></div>';
                }
                break;
            case 'html':
                $html .= $input['html_content'];
                break;
            default:
                throw new PrestaShopException('The harness does not render input type ' . $input['type']);
        }
        if (isset($input['desc'])) {
            $html .= '<p class="help-block">' . (is_array($input['desc']) ? implode('', array_map(static fn ($p) => $p . '<br />', $input['desc'])) : $input['desc']) . '</p>';
        }

        return $html . '</div></div>';
    }
}

require __DIR__ . '/admin.php';

// ---- the request: context from SFSYNC_HARNESS_CONTEXT ------------------------------------------------

(static function (): void {
    $ctx = json_decode((string) (getenv('SFSYNC_HARNESS_CONTEXT') ?: '{}'), true) ?: [];
    $idShop = (int) ($ctx['shop'] ?? 1);
    $context = Context::getContext();
    $context->shop = new Shop($idShop);
    $context->language = new Language((int) (Language::getIdByIso($ctx['lang'] ?? 'en') ?: 1));
    $context->employee = new Employee();
    foreach (['id', 'id_profile', 'firstname', 'lastname'] as $field) {
        if (isset($ctx['employee'][$field])) {
            $context->employee->$field = $ctx['employee'][$field];
        }
    }
    $context->link = new Link();
    $context->smarty = new Smarty();
    $context->cookie = new Cookie();
    $type = ['shop' => Shop::CONTEXT_SHOP, 'group' => Shop::CONTEXT_GROUP, 'all' => Shop::CONTEXT_ALL][$ctx['shop_context'] ?? 'shop'];
    Shop::setContext($type, $type === Shop::CONTEXT_GROUP ? $context->shop->id_shop_group : $idShop);
})();
