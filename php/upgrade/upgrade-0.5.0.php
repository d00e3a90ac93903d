<?php
/**
 * 0.4.0 -> 0.5.0: the merchant's control room. The task table's new columns and the accepted
 * operations table (sql/install.sql, applied by Schema: missing tables, columns and keys added),
 * the new settings' defaults where they have no value yet, the back-office hooks (order page,
 * orders list, notification) and the tabs under Orders (task list, logs), keeping the queue.
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
function upgrade_module_0_5_0($module)
{
    return $module->installSql()
        && $module->installConfiguration()
        && $module->registerHook(ShoppingfeedSync::HOOKS)
        && $module->installTabs();
}
