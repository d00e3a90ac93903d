<?php
/**
 * The back office of the harness: PrestaShop 8's Tab and Access (tabs, their four
 * ROLE_MOD_TAB_<CLASS>_<CREATE|READ|UPDATE|DELETE> roles in authorization_role, granted per profile
 * in access), AdminController's request cycle for a list (token check, access('view'|'edit'),
 * initProcess: filters, sort, pagination, bulk actions, reset; processFilter() and getList() over
 * the controller's table; the redirect after a filter POST; errors, warnings and confirmations),
 * ModuleAdminController, and HelperList's list (list_header, list_content, list_footer .tpl) as
 * HTML. Written from classes/controller/AdminController.php, classes/Tab.php, classes/Access.php
 * and classes/helper/HelperList.php (PrestaShop 8.1). What the page would print through Smarty's
 * layout is printed here as HTML: alerts, then the content.
 */

define('_PS_ADMIN_PROFILE_', 1);

// ---- Tab, Access ------------------------------------------------------------------------------------

class Tab
{
    public $id;
    public $id_parent = 0;
    public $position = 0;
    public $module;
    public $class_name;
    public $route_name;
    public $active = true;
    public $enabled = true;
    public $icon = '';
    public $wording;
    public $wording_domain;
    /** @var array<int, string> id_lang => name */
    public $name = [];

    protected static $getIdFromClassName;

    public function __construct($id = null)
    {
        if ($id) {
            $row = Db::getInstance()->getRow('SELECT * FROM `' . _DB_PREFIX_ . 'tab` WHERE `id_tab` = ' . (int) $id);
            if ($row) {
                $this->id = (int) $row['id_tab'];
                foreach (['id_parent', 'position', 'module', 'class_name', 'route_name', 'active', 'enabled', 'icon', 'wording', 'wording_domain'] as $f) {
                    $this->$f = $row[$f];
                }
                foreach (Db::getInstance()->executeS('SELECT * FROM `' . _DB_PREFIX_ . 'tab_lang` WHERE `id_tab` = ' . (int) $id) ?: [] as $l) {
                    $this->name[(int) $l['id_lang']] = $l['name'];
                }
            }
        }
    }

    /** Tab::add(): the last position under its parent, the row, its names, then initAccess(). */
    public function add($autoDate = true, $nullValues = false)
    {
        if (!$this->class_name || !is_array($this->name) || !$this->name) {
            throw new PrestaShopException('Property Tab->class_name and Tab->name are required');
        }
        $db = Db::getInstance();
        $this->position = (int) $db->getValue('SELECT IFNULL(MAX(`position`), -1) + 1 FROM `' . _DB_PREFIX_ . 'tab` WHERE `id_parent` = ' . (int) $this->id_parent);
        $this->module = Tools::strtolower((string) $this->module);
        $ok = $db->insert('tab', [
            'id_parent' => (int) $this->id_parent, 'position' => (int) $this->position, 'module' => pSQL($this->module),
            'class_name' => pSQL($this->class_name), 'route_name' => pSQL((string) $this->route_name), 'active' => (int) $this->active,
            'enabled' => (int) $this->enabled, 'icon' => pSQL((string) $this->icon), 'wording' => pSQL((string) $this->wording),
            'wording_domain' => pSQL((string) $this->wording_domain),
        ]);
        if (!$ok) {
            return false;
        }
        $this->id = $db->Insert_ID();
        foreach ($this->name as $idLang => $name) {
            $db->insert('tab_lang', ['id_tab' => (int) $this->id, 'id_lang' => (int) $idLang, 'name' => pSQL($name)]);
        }
        self::$getIdFromClassName = null;

        return self::initAccess($this->id);
    }

    /**
     * The tab's four roles, granted to the SuperAdmin profile and to the profile of the employee
     * who installs it (the other profiles get nothing until an administrator grants it).
     */
    public static function initAccess($idTab, ?Context $context = null)
    {
        $context = $context ?: Context::getContext();
        $db = Db::getInstance();
        $slug = 'ROLE_MOD_TAB_' . strtoupper((string) self::getClassNameById($idTab)) . '_';
        $profiles = array_unique([_PS_ADMIN_PROFILE_, (int) ($context->employee->id_profile ?? 0)]);
        foreach (['CREATE', 'READ', 'UPDATE', 'DELETE'] as $action) {
            $db->execute('INSERT IGNORE INTO `' . _DB_PREFIX_ . "authorization_role` (`slug`) VALUES ('" . pSQL($slug . $action) . "')");
            $idRole = (int) $db->getValue('SELECT `id_authorization_role` FROM `' . _DB_PREFIX_ . "authorization_role` WHERE `slug` = '" . pSQL($slug . $action) . "'");
            foreach ($profiles as $idProfile) {
                if ($idProfile) {
                    $db->execute('INSERT IGNORE INTO `' . _DB_PREFIX_ . 'access` (`id_profile`, `id_authorization_role`) VALUES (' . (int) $idProfile . ', ' . $idRole . ')');
                }
            }
        }

        return true;
    }

    /** Tab::delete(): its access rows, the row and names, the positions of its siblings. */
    public function delete()
    {
        $db = Db::getInstance();
        $like = addcslashes('ROLE_MOD_TAB_' . strtoupper((string) $this->class_name) . '_', '\\%_');
        $ok = $db->execute('DELETE FROM `' . _DB_PREFIX_ . 'access` WHERE `id_authorization_role` IN (SELECT `id_authorization_role` FROM `'
            . _DB_PREFIX_ . "authorization_role` WHERE `slug` LIKE '" . pSQL($like) . "%')")
            && $db->execute('DELETE FROM `' . _DB_PREFIX_ . 'tab` WHERE `id_tab` = ' . (int) $this->id)
            && $db->execute('DELETE FROM `' . _DB_PREFIX_ . 'tab_lang` WHERE `id_tab` = ' . (int) $this->id);
        self::$getIdFromClassName = null;

        return $ok;
    }

    public static function getIdFromClassName($className)
    {
        if (self::$getIdFromClassName === null) {
            self::$getIdFromClassName = [];
            foreach (Db::getInstance()->executeS('SELECT `id_tab`, `class_name` FROM `' . _DB_PREFIX_ . 'tab`') ?: [] as $row) {
                self::$getIdFromClassName[strtolower($row['class_name'])] = (int) $row['id_tab'];
            }
        }

        return self::$getIdFromClassName[strtolower((string) $className)] ?? false;
    }

    public static function getInstanceFromClassName($className, $idLang = null)
    {
        return new Tab((int) self::getIdFromClassName($className));
    }

    public static function getClassNameById($idTab)
    {
        return Db::getInstance()->getValue('SELECT `class_name` FROM `' . _DB_PREFIX_ . 'tab` WHERE `id_tab` = ' . (int) $idTab);
    }
}

class Access
{
    /** Access::getAuthorizationFromLegacy(): the legacy permission names and their role suffixes. */
    public static function getAuthorizationFromLegacy($legacyAuth)
    {
        $auth = ['add' => 'CREATE', 'view' => 'READ', 'edit' => 'UPDATE', 'configure' => 'UPDATE', 'delete' => 'DELETE',
            'uninstall' => 'DELETE', 'duplicate' => ['CREATE', 'UPDATE'], 'all' => ['CREATE', 'READ', 'UPDATE', 'DELETE']];

        return $auth[$legacyAuth] ?? false;
    }

    /** Every role given must be granted to the profile (a row in access). */
    public static function isGranted($role, $idProfile)
    {
        foreach ((array) $role as $currentRole) {
            $granted = Db::getInstance()->getValue('SELECT t.`id_authorization_role` FROM `' . _DB_PREFIX_ . 'authorization_role` t'
                . ' JOIN `' . _DB_PREFIX_ . 'access` a ON a.`id_authorization_role` = t.`id_authorization_role`'
                . " WHERE t.`slug` = '" . pSQL($currentRole) . "' AND a.`id_profile` = " . (int) $idProfile);
            if (!$granted) {
                return false;
            }
        }

        return true;
    }
}

// ---- AdminController, ModuleAdminController -------------------------------------------------------------

class AdminController extends Controller
{
    public static $eol = "\n";
    public static $currentIndex;
    public $controller_name;
    public $controller_type = 'admin';
    public $multishop_context = -1;
    public $table = 'configuration';
    public $list_id;
    public $className;
    public $identifier = false;
    public $id = -1;
    public $token;
    public $tabAccess = [];
    public $fields_list = [];
    public $bulk_actions = [];
    public $actions = [];
    public $list_no_link = false;
    public $bootstrap = false;
    public $content = '';
    public $errors = [];
    public $warnings = [];
    public $confirmations = [];
    public $informations = [];
    public $toolbar_title;
    public $page_header_toolbar_title;
    public $boxes;
    public $action;
    public $display;
    public $filter = false;
    public $redirect_after;
    public $_list = [];
    public $_listTotal = 0;
    public $_filter = '';
    public $_filterHaving = '';
    public $_select = '';
    public $_join = '';
    public $_where = '';
    public $_group = '';
    public $_orderBy;
    public $_orderWay;
    public $_defaultOrderBy = false;
    public $_defaultOrderWay = 'ASC';
    public $_pagination = [20, 50, 100, 300, 1000];
    public $_default_pagination = 50;
    public $simple_header = false;
    public $shopLinkType = '';

    public function __construct()
    {
        parent::__construct();
        $this->controller_name = $this->controller_name ?: preg_replace('/Controller$/', '', get_class($this));
        $this->id = (int) Tab::getIdFromClassName($this->controller_name);
        $this->token = Tools::getAdminToken($this->controller_name . (int) $this->id . (int) $this->context->employee->id);
        if (!isset($this->list_id)) {
            $this->list_id = $this->table;
        }
        self::$currentIndex = 'index.php?controller=' . $this->controller_name;
    }

    /** @deprecated in PrestaShop 8 (trans()); the core's admin catalogue is not loaded here: the text as it is. */
    protected function l($string, $class = null, $addslashes = false, $htmlentities = true)
    {
        return $htmlentities ? htmlspecialchars((string) $string, ENT_QUOTES, 'utf-8') : (string) $string;
    }

        /** AdminController::access(): the tab's role for the legacy permission, for the employee's profile. */
    public function access($action, $disable = false)
    {
        if (empty($this->tabAccess[$action])) {
            $slugs = [];
            foreach ((array) Access::getAuthorizationFromLegacy($action) as $roleSuffix) {
                $slugs[] = 'ROLE_MOD_TAB_' . strtoupper($this->controller_name) . '_' . $roleSuffix;
            }
            $this->tabAccess[$action] = Access::isGranted($slugs, $this->context->employee->id_profile);
        }

        return $this->tabAccess[$action];
    }

    public function viewAccess($disable = false)
    {
        return $disable ? true : $this->access('view');
    }

    /** The request's token must be the controller's (a link without it shows "Invalid token"). */
    public function checkToken()
    {
        $token = Tools::getValue('token');

        return !empty($token) && $token === $this->token;
    }

    public function checkAccess()
    {
        if (!$this->checkToken()) {
            harness_out('admin', ['step' => 'invalid_token']);
            echo '<div class="alert alert-danger">Invalid token</div>';

            return false;
        }

        return true;
    }

    public function init()
    {
        parent::init();
        if (Tools::getValue('ajax')) {
            $this->ajax = '1';
        }
        self::$currentIndex = 'index.php?controller=' . $this->controller_name;
        $this->initProcess();
    }

    public function initProcess()
    {
        if (!isset($this->list_id)) {
            $this->list_id = $this->table;
        }
        if (Tools::isSubmit('submitReset' . $this->list_id)) {
            $this->action = 'reset_filters';
        } elseif (Tools::getIsset('export' . $this->table)) {
            $this->action = 'export';
        } else {
            foreach (array_keys($this->bulk_actions) as $bulkAction) {
                if (Tools::isSubmit('submitBulk' . $bulkAction . $this->table) || Tools::isSubmit('submitBulk' . $bulkAction)) {
                    if ($bulkAction === 'delete' ? $this->access('delete') : $this->access('edit')) {
                        $this->action = 'bulk' . $bulkAction;
                        $this->boxes = Tools::getValue($this->list_id . 'Box');
                    } else {
                        $this->errors[] = 'You do not have permission to edit this.';
                    }
                    break;
                }
            }
        }
        if (!$this->action && (Tools::isSubmit('submitFilter' . $this->list_id) || $this->context->cookie->{'submitFilter' . $this->list_id} !== false
            || Tools::getValue($this->list_id . 'Orderby') || Tools::getValue($this->list_id . 'Orderway'))) {
            $this->filter = true;
        }
    }

    public function postProcess()
    {
        try {
            if ($this->filter && $this->action != 'reset_filters') {
                $this->processFilter();
            }
            if ((count($_POST) && (int) Tools::getValue('submitFilter' . $this->list_id)) || Tools::isSubmit('submitReset' . $this->list_id)) {
                $this->redirect_after = self::$currentIndex . '&token=' . $this->token
                    . (Tools::isSubmit('submitFilter' . $this->list_id) ? '&submitFilter' . $this->list_id . '=' . (int) Tools::getValue('submitFilter' . $this->list_id) : '');
            }
            if (!empty($this->action) && method_exists($this, 'process' . Tools::toCamelCase($this->action, true))) {
                return $this->{'process' . Tools::toCamelCase($this->action, true)}();
            }
        } catch (PrestaShopException $e) {
            $this->errors[] = $e->getMessage();
        }

        return false;
    }

    public function getCookieFilterPrefix()
    {
        return str_replace(['admin', 'controller'], '', Tools::strtolower(get_class($this)));
    }

    public function processResetFilters($list_id = null)
    {
        $list_id = $list_id ?? $this->list_id;
        $prefix = $this->getCookieFilterPrefix();
        foreach (array_keys($this->context->cookie->getFamily($prefix . $list_id . 'Filter_')) as $key) {
            unset($this->context->cookie->$key);
        }
        unset($this->context->cookie->{$prefix . $list_id . 'Orderby'}, $this->context->cookie->{$prefix . $list_id . 'Orderway'},
            $this->context->cookie->{'submitFilter' . $list_id}, $this->context->cookie->{$list_id . '_pagination'});
        $this->_filter = '';
        $this->_filterHaving = '';
    }

    /** AdminController::processFilter(): the posted filters into the cookie, then into $_filter (SQL). */
    public function processFilter()
    {
        $prefix = $this->getCookieFilterPrefix();
        foreach ($_POST as $key => $value) {
            if ($value === '') {
                unset($this->context->cookie->{$prefix . $key});
            } elseif (stripos($key, $this->list_id . 'Filter_') === 0) {
                $this->context->cookie->{$prefix . $key} = !is_array($value) ? $value : json_encode($value);
            } elseif (stripos($key, 'submitFilter') === 0) {
                $this->context->cookie->$key = !is_array($value) ? $value : json_encode($value);
            }
        }
        foreach ($_GET as $key => $value) {
            if (stripos($key, $this->list_id . 'Filter_') === 0) {
                $this->context->cookie->{$prefix . $key} = !is_array($value) ? $value : json_encode($value);
            } elseif (stripos($key, 'submitFilter') === 0) {
                $this->context->cookie->$key = !is_array($value) ? $value : json_encode($value);
            }
            if (stripos($key, $this->list_id . 'Orderby') === 0 && Validate::isOrderBy($value)) {
                if ($value === '' || $value == $this->_defaultOrderBy) {
                    unset($this->context->cookie->{$prefix . $key});
                } else {
                    $this->context->cookie->{$prefix . $key} = $value;
                }
            } elseif (stripos($key, $this->list_id . 'Orderway') === 0 && Validate::isOrderWay($value)) {
                if ($value === '' || $value == $this->_defaultOrderWay) {
                    unset($this->context->cookie->{$prefix . $key});
                } else {
                    $this->context->cookie->{$prefix . $key} = $value;
                }
            }
        }
        // The page size chosen with the list's select is kept for the next pages (getList reads it back).
        if (Tools::getIsset($this->list_id . '_pagination')) {
            $this->listLimit();
        }
        $filters = $this->context->cookie->getFamily($prefix . $this->list_id . 'Filter_');
        foreach ($filters as $key => $value) {
            if ($value === null || $value === '' || $value === false) {
                continue;
            }
            $key = substr($key, strlen($prefix . $this->list_id . 'Filter_'));
            $tmp = explode('!', $key);
            $filter = count($tmp) > 1 ? $tmp[1] : $tmp[0];
            $field = $this->filterToField($key, $filter);
            if (!$field) {
                continue;
            }
            $type = $field['filter_type'] ?? ($field['type'] ?? false);
            if (($type == 'date' || $type == 'datetime') && is_string($value)) {
                $value = json_decode($value, true);
            }
            $column = isset($tmp[1]) ? $tmp[0] . '.`' . $tmp[1] . '`' : '`' . $tmp[0] . '`';
            if (array_key_exists('havingFilter', $field)) {
                $sql = &$this->_filterHaving;
            } else {
                $sql = &$this->_filter;
            }
            if (is_array($value)) {
                if (!empty($value[0])) {
                    if (!Validate::isDate($value[0])) {
                        $this->errors[] = 'The \'From\' date format is invalid (YYYY-MM-DD)';
                    } else {
                        $sql .= ' AND ' . pSQL($column) . ' >= \'' . pSQL(Tools::dateFrom($value[0])) . '\'';
                    }
                }
                if (!empty($value[1])) {
                    if (!Validate::isDate($value[1])) {
                        $this->errors[] = 'The \'To\' date format is invalid (YYYY-MM-DD)';
                    } else {
                        $sql .= ' AND ' . pSQL($column) . ' <= \'' . pSQL(Tools::dateTo($value[1])) . '\'';
                    }
                }
            } else {
                $sql .= ' AND ';
                $checkKey = ($column == $this->identifier || $column == '`' . $this->identifier . '`');
                if ($type == 'int' || $type == 'bool') {
                    $sql .= (($checkKey || $column == '`active`') ? 'a.' : '') . pSQL($column) . ' = ' . (int) $value . ' ';
                } elseif ($type == 'select') {
                    $sql .= ($checkKey ? 'a.' : '') . pSQL($column) . ' = \'' . pSQL($value) . '\' ';
                } else {
                    $sql .= ($checkKey ? 'a.' : '') . pSQL($column) . ' LIKE \'%' . pSQL(trim($value)) . '%\' ';
                }
            }
            unset($sql);
        }
    }

    protected function filterToField($key, $filter)
    {
        foreach ($this->fields_list as $fieldKey => $field) {
            if (array_key_exists('filter_key', $field) && $field['filter_key'] == $key) {
                return $field;
            }
            if ($fieldKey == $filter) {
                return $field;
            }
        }

        return false;
    }

    /** The page size: posted, else the cookie's, else the default; kept in the cookie when not the default. */
    protected function listLimit($limit = null)
    {
        if (empty($limit)) {
            $limit = $this->context->cookie->{$this->list_id . '_pagination'} ?: $this->_default_pagination;
        }
        $limit = (int) Tools::getValue($this->list_id . '_pagination', $limit);
        if (in_array($limit, $this->_pagination) && $limit != $this->_default_pagination) {
            $this->context->cookie->{$this->list_id . '_pagination'} = $limit;
        } else {
            unset($this->context->cookie->{$this->list_id . '_pagination'});
        }

        return in_array($limit, $this->_pagination) ? $limit : $this->_default_pagination;
    }

    /** The page asked for: submitFilter<list_id> (1-based) posted, or the one kept in the cookie. */
    protected function listPage()
    {
        // The redirect after a filter POST carries the page in its URL.
        return max(1, (int) Tools::getValue('submitFilter' . $this->list_id));
    }

    public function checkOrderBy($orderBy)
    {
        $prefix = $this->getCookieFilterPrefix();
        if (empty($orderBy)) {
            if ($this->context->cookie->{$prefix . $this->list_id . 'Orderby'}) {
                $orderBy = $this->context->cookie->{$prefix . $this->list_id . 'Orderby'};
            } elseif ($this->_orderBy) {
                $orderBy = $this->_orderBy;
            } else {
                $orderBy = $this->_defaultOrderBy;
            }
        }
        if (!Validate::isOrderBy($orderBy) || !(isset($this->fields_list[$orderBy]) || $orderBy === $this->_defaultOrderBy)) {
            $orderBy = $this->_defaultOrderBy;
        }

        return $orderBy;
    }

    public function checkOrderDirection($orderWay)
    {
        $prefix = $this->getCookieFilterPrefix();
        if (empty($orderWay)) {
            $orderWay = $this->context->cookie->{$prefix . $this->list_id . 'Orderway'} ?: ($this->_orderWay ?: $this->_defaultOrderWay);
        }

        return Validate::isOrderWay($orderWay) ? Tools::strtoupper($orderWay) : 'ASC';
    }

    /** AdminController::getList(): the controller's table with its select, joins, filters, order and page. */
    public function getList($id_lang, $order_by = null, $order_way = null, $start = 0, $limit = null, $id_lang_shop = false)
    {
        $limit = $this->listLimit($limit);
        $start = ($this->listPage() - 1) * $limit;
        $orderBy = $this->checkOrderBy($order_by);
        $orderWay = $this->checkOrderDirection($order_way);
        $orderColumn = isset($this->fields_list[$orderBy]['filter_key']) ? str_replace('!', '.`', $this->fields_list[$orderBy]['filter_key']) . '`' : '`' . bqSQL($orderBy) . '`';
        if (strpos($orderColumn, '.') === false && isset($this->fields_list[$orderBy]['filter_key'])) {
            $orderColumn = '`' . bqSQL($this->fields_list[$orderBy]['filter_key']) . '`';
        }
        $sql = 'SELECT SQL_CALC_FOUND_ROWS a.*' . ($this->_select ? ', ' . rtrim(trim($this->_select), ',') : '')
            . ' FROM `' . _DB_PREFIX_ . bqSQL($this->table) . '` a ' . $this->_join
            . ' WHERE 1 ' . $this->_where . ' ' . $this->_filter . ' ' . $this->_group
            . ($this->_filterHaving ? ' HAVING 1 ' . $this->_filterHaving : '')
            . ' ORDER BY ' . $orderColumn . ' ' . pSQL($orderWay) . ' LIMIT ' . (int) $start . ', ' . (int) $limit;
        $list = Db::getInstance()->executeS($sql);
        if ($list === false) {
            $this->errors[] = 'Bad SQL query: ' . Db::getInstance()->getMsgError();
            $list = [];
        }
        $this->_list = $list;
        $this->_listTotal = (int) Db::getInstance()->getValue('SELECT FOUND_ROWS()');
        if ($start && !$this->_list && $this->_listTotal) {
            // A page past the end (after a filter narrowed the list): the first page.
            $this->context->cookie->{'submitFilter' . $this->list_id} = 1;
            $this->getList($id_lang, $order_by, $order_way, 0, $limit);
        }
    }

    public function addRowAction($action)
    {
        $this->actions[] = strtolower($action);
    }

    public function initContent()
    {
        if (!$this->viewAccess()) {
            $this->errors[] = 'Access denied.';

            return;
        }
        $this->content .= $this->renderList();
    }

    public function renderList()
    {
        $this->getList((int) $this->context->language->id);
        $helper = new HelperList();
        $this->setHelperDisplay($helper);
        $helper->_default_pagination = $this->_default_pagination;
        $helper->_pagination = $this->_pagination;

        return $helper->generateList($this->_list, $this->fields_list);
    }

    public function setHelperDisplay(Helper $helper)
    {
        $helper->title = $this->toolbar_title;
        $helper->toolbar_btn = [];
        $helper->actions = $this->actions;
        $helper->simple_header = $this->simple_header;
        $helper->bulk_actions = $this->bulk_actions;
        $helper->currentIndex = self::$currentIndex;
        $helper->table = $this->table;
        $helper->list_id = $this->list_id;
        $helper->identifier = $this->identifier;
        $helper->token = $this->token;
        $helper->name_controller = $this->controller_name;
        $helper->list_no_link = $this->list_no_link;
        $helper->listTotal = $this->_listTotal;
        $helper->orderBy = $this->checkOrderBy(null);
        $helper->orderWay = $this->checkOrderDirection(null);
        $helper->page = $this->listPage();
        $helper->limit = $this->listLimit();
        $helper->filterValues = [];
        $prefix = $this->getCookieFilterPrefix();
        foreach ($this->context->cookie->getFamily($prefix . $this->list_id . 'Filter_') as $key => $value) {
            $helper->filterValues[substr($key, strlen($prefix))] = $value;
        }
    }

    public function initHeader()
    {
        harness_out('admin', ['step' => 'header']);
        $this->headerHtml = (string) Hook::exec('displayBackOfficeHeader');
    }

    /** @var string what displayBackOfficeHeader returned */
    public $headerHtml = '';

    public function initFooter()
    {
    }

    public function setMedia($isNewTheme = false)
    {
    }

    public function addCSS($css)
    {
    }

    public function addJS($js)
    {
    }

    /** The layout's alerts (errors, warnings, informations, confirmations), then the content. */
    public function display()
    {
        $this->context->cookie->write();
        $alert = static function (string $class, array $messages): string {
            if (!$messages) {
                return '';
            }

            return '<div class="bootstrap"><div class="alert alert-' . $class . '"><ul class="list-unstyled">'
                . implode('', array_map(static fn ($m) => '<li>' . $m . '</li>', $messages)) . '</ul></div></div>';
        };
        echo $this->headerHtml . $alert('danger', $this->errors) . $alert('warning', $this->warnings) . $alert('info', $this->informations)
            . $alert('success', $this->confirmations) . $this->content;
        harness_out('admin', ['step' => 'display', 'errors' => $this->errors, 'warnings' => $this->warnings, 'confirmations' => $this->confirmations]);
    }

    public function run()
    {
        $this->init();
        if ($this->checkAccess()) {
            $this->setMedia();
            $this->postProcess();
            if (!empty($this->redirect_after)) {
                $this->context->cookie->write();
                harness_out('admin', ['step' => 'redirect', 'url' => $this->redirect_after]);
                echo 'REDIRECT ' . $this->redirect_after;

                return;
            }
            $this->initHeader();
            if ($this->viewAccess()) {
                $this->initContent();
            } else {
                $this->errors[] = 'Access denied.';
            }
            $this->display();
        }
    }
}

class ModuleAdminController extends AdminController
{
    /** @var Module */
    public $module;

    public function __construct()
    {
        parent::__construct();
        $this->controller_type = 'moduleadmin';
        $tab = new Tab($this->id);
        if (!$tab->module) {
            throw new PrestaShopException('Admin tab ' . get_class($this) . ' is not a module tab');
        }
        $this->module = Module::getInstanceByName($tab->module);
        if (!$this->module->id) {
            throw new PrestaShopException("Module {$tab->module} not found");
        }
    }
}

// ---- HelperList (classes/helper/HelperList.php, helpers/list/*.tpl) ---------------------------------

class HelperList extends Helper
{
    public $list_id;
    public $actions = [];
    public $bulk_actions = [];
    public $simple_header = false;
    public $list_no_link = false;
    public $listTotal = 0;
    public $orderBy;
    public $orderWay;
    public $page = 1;
    public $limit = 50;
    public $filterValues = [];
    public $_default_pagination = 50;
    public $_pagination = [20, 50, 100, 300, 1000];
    public $shopLinkType = '';

    /**
     * The list as the templates write it: a form with the title and count, the headers with their
     * sort links, the filter row, one row per item (checkbox, values, row actions), the bulk
     * actions and the pagination. Values are HTML-escaped, except what a field's callback returns
     * (list_content.tpl prints it as it is).
     */
    public function generateList($list, $fields_display)
    {
        $e = static fn ($s) => htmlspecialchars((string) $s, ENT_QUOTES, 'UTF-8');
        $controller = Context::getContext()->controller;
        $url = $this->currentIndex . '&token=' . $this->token;
        $lid = $this->list_id ?: $this->table;
        $html = '<form method="post" action="' . $e($url) . '" class="form-horizontal clearfix" id="form-' . $e($lid) . '">'
            . '<input type="hidden" id="submitFilter' . $e($lid) . '" name="submitFilter' . $e($lid) . '" value="0"/>'
            . '<div class="panel col-lg-12"><div class="panel-heading">' . ($this->title ?? '')
            . ' <span class="badge">' . (int) $this->listTotal . '</span></div><div class="table-responsive-row clearfix"><table class="table ' . $e($lid) . '"><thead><tr class="nodrag nodrop">';
        if ($this->bulk_actions) {
            $html .= '<th class="center fixed-width-xs"></th>';
        }
        foreach ($fields_display as $key => $params) {
            $html .= '<th class="' . $e($params['class'] ?? '') . '"><span class="title_box' . ($this->orderBy == $key ? ' active' : '') . '">' . $params['title'];
            if (!isset($params['orderby']) || $params['orderby']) {
                foreach (['desc' => 'icon-caret-down', 'asc' => 'icon-caret-up'] as $way => $icon) {
                    $active = $this->orderBy == $key && strtolower((string) $this->orderWay) == $way;
                    $html .= ' <a href="' . $e($url . '&' . $lid . 'Orderby=' . urlencode($key) . '&' . $lid . 'Orderway=' . $way) . '"'
                        . ($active ? ' class="active"' : '') . '><i class="' . $icon . '"></i></a>';
                }
            }
            $html .= '</span></th>';
        }
        $html .= $this->actions ? '<th></th>' : '';
        $html .= '</tr>';
        if (!$this->simple_header) {
            $html .= '<tr class="nodrag nodrop filter row_hover">' . ($this->bulk_actions ? '<th class="text-center">--</th>' : '');
            foreach ($fields_display as $key => $params) {
                $name = $lid . 'Filter_' . ($params['filter_key'] ?? $key);
                $value = $this->filterValues[$name] ?? '';
                $html .= '<th>';
                if (isset($params['search']) && !$params['search']) {
                    $html .= '--';
                } elseif (($params['type'] ?? 'text') === 'select') {
                    $html .= '<select class="filter center" name="' . $e($name) . '"><option value="">-</option>';
                    foreach ($params['list'] ?? [] as $optionValue => $optionLabel) {
                        $html .= '<option value="' . $e($optionValue) . '"' . ((string) $value === (string) $optionValue ? ' selected="selected"' : '') . '>' . $e($optionLabel) . '</option>';
                    }
                    $html .= '</select>';
                } elseif (in_array($params['type'] ?? 'text', ['date', 'datetime'], true)) {
                    $dates = is_string($value) ? (json_decode($value, true) ?: ['', '']) : ['', ''];
                    $html .= '<input type="text" class="filter datepicker date-input form-control" name="' . $e($name) . '[0]" value="' . $e($dates[0] ?? '') . '" placeholder="From" />'
                        . '<input type="text" class="filter datepicker date-input form-control" name="' . $e($name) . '[1]" value="' . $e($dates[1] ?? '') . '" placeholder="To" />';
                } else {
                    $html .= '<input type="text" class="filter" name="' . $e($name) . '" value="' . $e($value) . '" />';
                }
                $html .= '</th>';
            }
            $html .= '<th class="actions"><span class="pull-right"><button type="submit" id="submitFilterButton' . $e($lid) . '" name="submitFilter" class="btn btn-default" data-list-id="' . $e($lid) . '"><i class="icon-search"></i> Search</button>'
                . ($this->filterValues ? ' <button type="submit" name="submitReset' . $e($lid) . '" class="btn btn-warning"><i class="icon-eraser"></i> Reset</button>' : '') . '</span></th></tr>';
        }
        $html .= '</thead><tbody>';
        if (!$list) {
            $html .= '<tr><td class="list-empty" colspan="' . (count($fields_display) + 2) . '"><div class="list-empty-msg"><i class="icon-warning-sign list-empty-icon"></i> No records found</div></td></tr>';
        }
        foreach ($list as $tr) {
            $id = $tr[$this->identifier];
            $html .= '<tr>' . ($this->bulk_actions ? '<td class="row-selector text-center"><input type="checkbox" name="' . $e($lid) . 'Box[]" value="' . $e($id) . '" class="noborder" /></td>' : '');
            foreach ($fields_display as $key => $params) {
                $value = $tr[$key] ?? '';
                if (isset($params['callback'])) {
                    $object = $params['callback_object'] ?? $controller;
                    $cell = (string) call_user_func([$object, $params['callback']], $value, $tr);
                } elseif (($params['type'] ?? '') === 'bool') {
                    $cell = $value ? '<i class="icon-check"></i>' : '<i class="icon-remove"></i>';
                } else {
                    $cell = $e($value);
                }
                $html .= '<td class="' . $e($params['class'] ?? '') . '">' . $cell . '</td>';
            }
            if ($this->actions) {
                $links = [];
                foreach ($this->actions as $action) {
                    $method = 'display' . ucfirst($action) . 'Link';
                    if (method_exists($controller, $method)) {
                        $links[] = (string) $controller->$method($this->token, $id, $tr);
                    }
                }
                $html .= '<td class="text-right"><div class="btn-group-action"><div class="btn-group pull-right">' . implode(' ', array_filter($links)) . '</div></div></td>';
            }
            $html .= '</tr>';
        }
        $html .= '</tbody></table></div>';
        if ($this->bulk_actions) {
            $html .= '<div class="row"><div class="col-lg-6"><div class="btn-group bulk-actions dropup"><button type="button" class="btn btn-default dropdown-toggle" data-toggle="dropdown">Bulk actions <i class="icon-caret-up"></i></button><ul class="dropdown-menu">';
            foreach ($this->bulk_actions as $key => $params) {
                $submit = 'submitBulk' . $key . $this->table;
                $confirm = isset($params['confirm']) ? 'if (confirm(' . json_encode(html_entity_decode((string) $params['confirm'], ENT_QUOTES, 'UTF-8')) . ')) ' : '';
                $html .= '<li><button type="submit" class="btn btn-link bulk-action" name="' . $e($submit) . '" onclick="' . $e(($confirm ? $confirm . 'return true; return false;' : 'return true;')) . '">'
                    . (isset($params['icon']) ? '<i class="' . $e($params['icon']) . '"></i> ' : '') . $params['text'] . '</button></li>';
            }
            $html .= '</ul></div></div>';
        }
        $pages = max(1, (int) ceil($this->listTotal / max(1, $this->limit)));
        $html .= '<div class="col-lg-6"><div class="pagination">Display <select name="' . $e($lid) . '_pagination">';
        foreach ($this->_pagination as $size) {
            $html .= '<option value="' . (int) $size . '"' . ($size == $this->limit ? ' selected="selected"' : '') . '>' . (int) $size . '</option>';
        }
        $html .= '</select> / ' . (int) $this->listTotal . ' result(s)</div><ul class="pagination pull-right">';
        for ($p = 1; $p <= $pages; ++$p) {
            if ($pages > 7 && $p > 2 && $p < $pages - 1 && abs($p - $this->page) > 1) {
                continue;
            }
            $html .= '<li' . ($p == $this->page ? ' class="active"' : '') . '><button type="submit" class="pagination-link" name="submitFilter' . $e($lid) . '" value="' . $p . '">' . $p . '</button></li>';
        }
        $html .= '</ul></div>' . ($this->bulk_actions ? '</div>' : '') . '</div></form>';

        return $html;
    }
}
