<?php
/**
 * The orders list's bulk action (Sell > Orders, a Symfony grid in PrestaShop 8): the selected
 * orders' current statuses queued again, then back to the list with what was done. The route's
 * token is checked by PrestaShop (every back-office route carries one); the permission is the
 * task tab's edit permission, checked by the annotation and again here.
 */

namespace ShoppingfeedSync\Controller\Admin;

use PrestaShopBundle\Controller\Admin\FrameworkBundleAdminController;
use PrestaShopBundle\Security\Annotation\AdminSecurity;
use Symfony\Component\HttpFoundation\Request;

if (!defined('_PS_VERSION_')) {
    exit;
}

class OrdersController extends FrameworkBundleAdminController
{
    /**
     * @AdminSecurity("is_granted('update', request.get('_legacy_controller'))", redirectRoute="admin_orders_index")
     */
    public function resendAction(Request $request)
    {
        /** @var \ShoppingfeedSync $module */
        $module = \Module::getInstanceByName('shoppingfeedsync');
        $posted = $request->request->all();
        // The order grid's bulk checkboxes: order_orders_bulk[].
        $ids = isset($posted['order_orders_bulk']) && is_array($posted['order_orders_bulk']) ? $posted['order_orders_bulk'] : [];
        $result = $module && $module->employeeCan('edit')
            ? $module->resendOrders($ids)
            : ['errors' => ['You do not have permission to edit this.'], 'confirmations' => [], 'warnings' => []];
        foreach (['success' => 'confirmations', 'warning' => 'warnings', 'error' => 'errors'] as $type => $key) {
            foreach ($result[$key] as $message) {
                $this->addFlash($type, $message);
            }
        }

        return $this->redirectToRoute('admin_orders_index');
    }
}
