<?php
/**
 * 0.2.0 -> 0.3.0: the task table learns the reference HEAD's actions (partial refund, invoice
 * upload) and the columns that dedupe them (sql/install.sql, applied by Schema: missing columns
 * and keys added, the action ENUM widened), the partial-refund default, and the credit slip hook.
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
function upgrade_module_0_3_0($module)
{
    return $module->installSql()
        && $module->installConfiguration()
        && $module->registerHook(ShoppingfeedSync::HOOKS);
}
