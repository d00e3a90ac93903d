<?php
// PHPUnit bootstrap: the built extension must be loaded (php -d extension=...), and every run gets
// a database of its own, created from the project's fixtures on the server of
// SFSYNC_TEST_DATABASE_URL (set by ./dev test; defaults to the ./dev db server).

if (!extension_loaded('shoppingfeed_sync')) {
    fwrite(STDERR, "shoppingfeed_sync is not loaded: run php -d extension=target/release/libshoppingfeed_sync.so phpunit ...\n");
    exit(1);
}

require __DIR__ . '/Support/TestDatabase.php';
require __DIR__ . '/Support/Shop.php';

\Shoppingfeed\Sync\Tests\TestDatabase::boot();
