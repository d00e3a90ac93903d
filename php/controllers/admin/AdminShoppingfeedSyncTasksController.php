<?php
/**
 * Orders > Shopping Feed sync: every task of the shop context (the extension's Tasks::list()),
 * with PrestaShop's list filters, sorting and pagination, and the actions Send now, Retry and
 * Cancel, per row and in bulk. Also the target of the order page's "Send the current status
 * again" (submitResendOrder). Viewing needs the tab's view permission, every action its edit
 * permission; the actions go through the extension, which checks the gate and logs them.
 */

if (!defined('_PS_VERSION_')) {
    exit;
}

use Shoppingfeed\Sync\Tasks;

class AdminShoppingfeedSyncTasksController extends ModuleAdminController
{
    /** The row and bulk actions and the extension's method for each. */
    const ACTIONS = ['sendnow' => 'sendNow', 'retry' => 'retry', 'cancel' => 'cancel'];
    /** The columns the extension sorts on (others sort on the task id). */
    const SORTABLE = ['id_task', 'id_order', 'marketplace', 'kind', 'state', 'due_at', 'attempts', 'date_add', 'date_upd'];

    /** @var ShoppingfeedSync */
    public $module;
    /** @var string|null the row action of a row link */
    private $rowAction;

    public function __construct()
    {
        $this->bootstrap = true;
        // The task table is named for PrestaShop's list conventions (box and bulk names); the rows come from the extension.
        $this->table = 'shoppingfeed_task_order';
        $this->identifier = 'id_task';
        $this->list_id = 'sfsync_task';
        $this->list_no_link = true;
        $this->_defaultOrderBy = 'id_task';
        $this->_defaultOrderWay = 'DESC';
        parent::__construct();

        $this->toolbar_title = $this->module->l('Shopping Feed synchronization: tasks', 'adminshoppingfeedsynctaskscontroller');
        $states = $this->module->taskStateLabels();
        $this->fields_list = [
            'id_task' => ['title' => $this->l('ID'), 'type' => 'int', 'class' => 'fixed-width-xs'],
            'id_order' => ['title' => $this->l('Order'), 'type' => 'int', 'callback' => 'orderCell'],
            'marketplace' => ['title' => $this->l('Marketplace')],
            'kind' => ['title' => $this->l('Kind'), 'type' => 'select', 'list' => [
                'status' => $this->module->kindLabel('status'), 'partial_refund' => $this->module->kindLabel('partial_refund'), 'invoice' => $this->module->kindLabel('invoice'),
            ], 'filter_key' => 'kind', 'callback' => 'kindCell'],
            'operation' => ['title' => $this->l('Operation'), 'search' => false, 'orderby' => false],
            'state' => ['title' => $this->l('State'), 'type' => 'select', 'list' => $states, 'filter_key' => 'state', 'callback' => 'stateCell'],
            'attempts' => ['title' => $this->l('Attempts'), 'search' => false, 'class' => 'fixed-width-xs'],
            'ticket_number' => ['title' => $this->l('Ticket / batch'), 'search' => false, 'orderby' => false, 'callback' => 'ticketCell'],
            'last_error' => ['title' => $this->l('Last reason'), 'search' => false, 'orderby' => false],
            'date_add' => ['title' => $this->l('Queued'), 'search' => false],
            'date_upd' => ['title' => $this->l('Updated'), 'search' => false],
        ];
        $this->bulk_actions = [
            'sendnow' => ['text' => $this->l('Send now'), 'icon' => 'icon-upload'],
            'retry' => ['text' => $this->l('Retry'), 'icon' => 'icon-refresh'],
            'cancel' => ['text' => $this->l('Cancel'), 'icon' => 'icon-trash', 'confirm' => $this->l('Cancel the selected tasks? Their statuses will not be sent.')],
        ];
        foreach (array_keys(self::ACTIONS) as $action) {
            $this->addRowAction($action);
        }
    }

    /** The module's translations (this file's strings are the module's, under the controller's name). */
    protected function l($string, $class = null, $addslashes = false, $htmlentities = true)
    {
        return $this->module->l($string, 'adminshoppingfeedsynctaskscontroller');
    }

    public function initProcess()
    {
        parent::initProcess();
        // A row link: <action><table>&id_task=N (the token of the URL is checked by checkAccess()).
        foreach (array_keys(self::ACTIONS) as $action) {
            if (Tools::getIsset($action . $this->table) && Tools::getValue('id_task')) {
                if ($this->access('edit')) {
                    $this->rowAction = $action;
                    $this->action = 'row_action';
                } else {
                    $this->errors[] = $this->l('You do not have permission to edit this.');
                }
            }
        }
        if (Tools::isSubmit('submitResendOrder')) {
            if ($this->access('edit')) {
                $this->action = 'resend_order';
            } else {
                $this->errors[] = $this->l('You do not have permission to edit this.');
            }
        }
    }

    public function initContent()
    {
        $dryRun = $this->module->dryRunMessage();
        if ($dryRun) {
            $this->warnings[] = $dryRun;
        }
        if (!class_exists(Tasks::class)) {
            $this->errors[] = $this->l('The task list needs version 0.5.0 of the PHP extension shoppingfeed_sync.');

            return;
        }
        parent::initContent();
    }

    /** The shop context's tasks, filtered, sorted and paged by the extension. */
    public function getList($id_lang, $order_by = null, $order_way = null, $start = 0, $limit = null, $id_lang_shop = false)
    {
        $limit = $this->listLimit($limit);
        $page = $this->listPage();
        $orderBy = $this->checkOrderBy($order_by);
        $query = [
            'shops' => array_map('intval', Shop::getContextListShopID()),
            'order_by' => in_array($orderBy, self::SORTABLE, true) ? $orderBy : 'id_task',
            'way' => strtolower($this->checkOrderDirection($order_way)) === 'asc' ? 'asc' : 'desc',
            'page' => $page,
            'per_page' => (int) $limit,
        ];
        $prefix = $this->getCookieFilterPrefix();
        $filter = function ($key) use ($prefix) {
            $value = $this->context->cookie->{$prefix . $this->list_id . 'Filter_' . $key};

            return $value === false || $value === null || $value === '' ? null : (string) $value;
        };
        if (($idOrder = $filter('id_order')) !== null) {
            $query['id_order'] = (int) $idOrder;
        }
        if (($marketplace = $filter('marketplace')) !== null) {
            $query['marketplace'] = $marketplace;
        }
        if (($kind = $filter('kind')) !== null && isset($this->fields_list['kind']['list'][$kind])) {
            $query['kind'] = $kind;
        }
        if (($state = $filter('state')) !== null && isset($this->fields_list['state']['list'][$state])) {
            $query['state'] = $state;
        }
        try {
            $this->module->configureExtension();
            $result = Tasks::list($query);
            if ($page > 1 && !$result['rows'] && $result['total'] > 0) {
                // A page past the end (a filter narrowed the list): the first one.
                $this->context->cookie->{'submitFilter' . $this->list_id} = 1;
                $query['page'] = 1;
                $result = Tasks::list($query);
            }
        } catch (\Throwable $e) {
            $this->errors[] = ShoppingfeedSync::html($e->getMessage());
            $result = ['rows' => [], 'total' => 0];
        }
        $this->_list = $result['rows'];
        $this->_listTotal = (int) $result['total'];
    }

    /** The task's order, linked to the order page. */
    public function orderCell($idOrder, $row)
    {
        $url = $this->context->link->getAdminLink('AdminOrders', true, [], ['id_order' => (int) $idOrder, 'vieworder' => 1]);

        return '<a href="' . ShoppingfeedSync::html($url) . '">#' . (int) $idOrder . ' ' . ShoppingfeedSync::html($row['reference']) . '</a>';
    }

    public function kindCell($kind, $row)
    {
        return ShoppingfeedSync::html($this->module->kindLabel($kind));
    }

    public function stateCell($state, $row)
    {
        return $this->module->stateCell($row, $this->module->taskStateLabels());
    }

    public function ticketCell($ticket, $row)
    {
        $parts = array_filter([(string) $ticket, $row['batch_id'] ? $this->l('batch') . ' ' . $row['batch_id'] : '']);

        return ShoppingfeedSync::html(implode(' / ', $parts));
    }

    private function actionLink($action, $id, $icon, $label, $confirm = null)
    {
        $url = self::$currentIndex . '&' . $this->identifier . '=' . (int) $id . '&' . $action . $this->table . '&token=' . $this->token;

        return '<a href="' . Tools::safeOutput($url) . '" class="btn btn-default" title="' . $label . '"'
            . ($confirm ? ' onclick="return confirm(' . Tools::safeOutput(json_encode(html_entity_decode($confirm, ENT_QUOTES, 'UTF-8'))) . ');"' : '')
            . '><i class="' . $icon . '"></i> ' . $label . '</a>';
    }

    public function displaySendnowLink($token, $id, $row = [])
    {
        return in_array($row['state'] ?? '', ['waiting', 'due', 'retrying'], true) ? $this->actionLink('sendnow', $id, 'icon-upload', $this->l('Send now')) : '';
    }

    public function displayRetryLink($token, $id, $row = [])
    {
        return ($row['state'] ?? '') === 'gave_up' ? $this->actionLink('retry', $id, 'icon-refresh', $this->l('Retry')) : '';
    }

    public function displayCancelLink($token, $id, $row = [])
    {
        // A task being sent or waiting for its ticket is past cancelling (the extension refuses it too).
        return in_array($row['state'] ?? '', ['waiting', 'due', 'retrying', 'gave_up'], true)
            ? $this->actionLink('cancel', $id, 'icon-trash', $this->l('Cancel'), $this->l('Cancel this task? Its status will not be sent.'))
            : '';
    }

    public function processRowAction()
    {
        $this->runAction($this->rowAction, [(int) Tools::getValue('id_task')]);
    }

    public function processBulksendnow()
    {
        $this->runAction('sendnow', $this->boxes);
    }

    public function processBulkretry()
    {
        $this->runAction('retry', $this->boxes);
    }

    public function processBulkcancel()
    {
        $this->runAction('cancel', $this->boxes);
    }

    /** The order page's button: the order's current status queued again, due now. */
    public function processResendOrder()
    {
        $idOrder = (int) Tools::getValue('id_order');
        $result = $this->module->resendOrders([$idOrder]);
        foreach (['confirmations', 'warnings', 'errors'] as $kind) {
            foreach ($result[$kind] as $message) {
                $this->{$kind}[] = ShoppingfeedSync::html($message);
            }
        }
        if ($idOrder > 0) {
            // The grid shows that order's tasks.
            $this->context->cookie->{$this->getCookieFilterPrefix() . $this->list_id . 'Filter_id_order'} = (string) $idOrder;
        }
    }

    private function runAction($action, $ids)
    {
        $ids = array_values(array_filter(array_map('intval', is_array($ids) ? $ids : []), static function ($id) {
            return $id > 0;
        }));
        if (!$ids) {
            $this->errors[] = $this->l('You must select at least one task.');

            return;
        }
        $done = [
            'sendnow' => $this->l('Task %d will be sent at the next CRON run.'),
            'retry' => $this->l('Task %d is pending again.'),
            'cancel' => $this->l('Task %d was cancelled.'),
        ];
        $this->call(self::ACTIONS[$action], $ids, $done[$action]);
    }

    /** One call of the extension: a confirmation per id changed, a warning per id skipped with its reason. */
    private function call($method, array $ids, $doneMessage)
    {
        if (!class_exists(Tasks::class)) {
            $this->errors[] = $this->l('The task list needs version 0.5.0 of the PHP extension shoppingfeed_sync.');

            return;
        }
        try {
            $this->module->configureExtension();
            $result = Tasks::$method($ids, array_map('intval', Shop::getContextListShopID()), $this->module->actor());
        } catch (\Throwable $e) {
            $this->errors[] = ShoppingfeedSync::html($e->getMessage());

            return;
        }
        foreach ($result['changed'] as $id) {
            $this->confirmations[] = sprintf($doneMessage, (int) $id);
        }
        foreach ($result['skipped'] as $id => $reason) {
            $this->warnings[] = sprintf($this->l('#%1$d not changed: %2$s'), (int) $id, ShoppingfeedSync::html($reason));
        }
    }
}
