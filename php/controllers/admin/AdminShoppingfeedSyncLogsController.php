<?php
/**
 * Orders > Shopping Feed sync logs: the ProcessLogger table as PrestaShop lists a table (its list
 * filters, sorting and pagination), read-only. Rows about an order are those of the context's
 * shops; rows about no order (run summaries) are shown in every context.
 */

if (!defined('_PS_VERSION_')) {
    exit;
}

class AdminShoppingfeedSyncLogsController extends ModuleAdminController
{
    /** @var ShoppingfeedSync */
    public $module;

    public function __construct()
    {
        $this->bootstrap = true;
        $this->table = 'shoppingfeed_processlogger';
        $this->identifier = 'id_shoppingfeed_processlogger';
        $this->list_id = 'sfsync_log';
        $this->list_no_link = true;
        $this->_defaultOrderBy = 'id_shoppingfeed_processlogger';
        $this->_defaultOrderWay = 'DESC';
        parent::__construct();

        $shops = array_map('intval', Shop::getContextListShopID()) ?: [0];
        $this->_join = 'LEFT JOIN `' . _DB_PREFIX_ . "orders` o ON (a.`object_name` = 'Order' AND o.`id_order` = a.`object_id`)";
        $this->_where = 'AND (o.`id_order` IS NULL OR o.`id_shop` IN (' . implode(',', $shops) . '))';
        $this->toolbar_title = $this->l('Shopping Feed synchronization: logs');
        $this->fields_list = [
            'id_shoppingfeed_processlogger' => ['title' => $this->l('ID'), 'type' => 'int', 'class' => 'fixed-width-xs', 'filter_key' => 'a!id_shoppingfeed_processlogger'],
            'date_add' => ['title' => $this->l('Date'), 'type' => 'datetime', 'filter_key' => 'a!date_add', 'class' => 'fixed-width-lg'],
            // Sorted only on indexed columns (id, date, order): the table holds weeks of rows.
            'level' => ['title' => $this->l('Level'), 'type' => 'select', 'filter_key' => 'a!level', 'callback' => 'levelCell', 'orderby' => false, 'list' => [
                'error' => $this->l('error'), 'success' => $this->l('success'), 'info' => $this->l('info'),
            ]],
            'object_id' => ['title' => $this->l('Order'), 'type' => 'int', 'filter_key' => 'a!object_id', 'callback' => 'orderCell'],
            'msg' => ['title' => $this->l('Message'), 'filter_key' => 'a!msg', 'orderby' => false],
        ];
    }

    protected function l($string, $class = null, $addslashes = false, $htmlentities = true)
    {
        return $this->module->l($string, 'adminshoppingfeedsynclogscontroller');
    }

    public function initContent()
    {
        $dryRun = $this->module->dryRunMessage();
        if ($dryRun) {
            $this->warnings[] = $dryRun;
        }
        if ($this->access('view')) {
            $this->informations[] = sprintf(
                $this->l('Rows older than %d days are deleted by the CRON (setting "Keep the logs" of the configuration page; 0 keeps them).'),
                (int) Configuration::getGlobalValue(ShoppingfeedSync::LOG_RETENTION)
            );
        }
        parent::initContent();
    }

    /** A sort on a column the list does not offer (a crafted URL) falls back to the default one. */
    public function checkOrderBy($orderBy)
    {
        $orderBy = parent::checkOrderBy($orderBy);

        return isset($this->fields_list[$orderBy]['orderby']) && !$this->fields_list[$orderBy]['orderby'] ? $this->_defaultOrderBy : $orderBy;
    }

        public function levelCell($level, $row)
    {
        $class = ['error' => 'danger', 'success' => 'success'][$level] ?? 'info';

        return '<span class="label label-' . $class . '">' . ShoppingfeedSync::html($level) . '</span>';
    }

    public function orderCell($idOrder, $row)
    {
        if ($row['object_name'] !== 'Order' || !$idOrder) {
            return $row['object_name'] ? ShoppingfeedSync::html($row['object_name'] . ' ' . $idOrder) : '';
        }
        $url = $this->context->link->getAdminLink('AdminOrders', true, [], ['id_order' => (int) $idOrder, 'vieworder' => 1]);

        return '<a href="' . ShoppingfeedSync::html($url) . '">#' . (int) $idOrder . '</a>';
    }
}
