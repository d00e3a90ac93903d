<?php
/**
 * 0.1.0 -> 0.2.0: the failure notices table (shoppingfeed_sync_notice, in sql/install.sql), the
 * settings' defaults for the new configuration page, and the hooks in case a shop lost them.
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
function upgrade_module_0_2_0($module)
{
    return $module->installSql()
        && $module->installConfiguration()
        && $module->registerHook(ShoppingfeedSync::HOOKS);
}
