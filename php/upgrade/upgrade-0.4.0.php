<?php
/**
 * 0.3.0 -> 0.4.0: the invoice upload. Its setting, SHOPPINGFEED_ORDER_INVOICE_SYNC_MARKETPLACES,
 * gets its default ('[]': no marketplace) only where it has no value yet (the Shopping Feed module
 * may have set it). The task table already knows UPLOAD_INVOICE (0.3.0).
 * PrestaShop runs this once, when the module's files are newer than the version in `module`.
 */

if (!defined('_PS_VERSION_')) {
    exit;
}

/**
 * @param ShoppingfeedSync $module
 *
 * @return bool
 */
function upgrade_module_0_4_0($module)
{
    return $module->installConfiguration();
}
