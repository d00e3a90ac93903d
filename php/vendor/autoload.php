<?php
/**
 * The module's classes under ShoppingfeedSync\Controller (src/Controller/), for PrestaShop's Symfony
 * kernel, which includes vendor/autoload.php of every enabled module. No Composer dependency.
 */

if (!defined('_PS_VERSION_')) {
    exit;
}

spl_autoload_register(static function ($class) {
    $prefix = 'ShoppingfeedSync\\Controller\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $file = dirname(__DIR__) . '/src/Controller/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require_once $file;
    }
});
