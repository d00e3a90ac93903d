<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\Tests\ModuleHarness;
use Shoppingfeed\Sync\Tests\Shop;
use Shoppingfeed\Sync\Tests\TestDatabase;

require_once __DIR__ . '/Support/ModuleHarness.php';

/**
 * Installing over the reference module's task table when an order has both an invoice upload
 * waiting and one whose ticket is checked (the reference keeps both): the install reduces them to
 * one per order, keeping the checked one, then adds the unique key (issue 22 item 3).
 *
 * @group module-install
 */
final class SchemaInvoiceTest extends TestCase
{
    public static function setUpBeforeClass(): void
    {
        ModuleHarness::boot();
    }

    protected function setUp(): void
    {
        Shop::reset();
        ModuleHarness::forgetModule();
    }

    protected function tearDown(): void
    {
        ModuleHarness::restoreModuleTables();
        ModuleHarness::forgetModule();
        Shop::reset();
    }

    public function testInstallOverTheReferencesTableKeepsOneInvoiceUploadPerOrderTheCheckedOne(): void
    {
        $pdo = TestDatabase::pdo();
        $pdo->exec('DROP TABLE ps_shoppingfeed_task_order');
        // The reference HEAD's table: its ENUM has the invoice actions, no key per pending upload.
        $pdo->exec("CREATE TABLE `ps_shoppingfeed_task_order` (
            `id_shoppingfeed_task_order` INT(10) UNSIGNED NOT NULL AUTO_INCREMENT,
            `action` ENUM('SYNC_STATUS','CHECK_TICKET_SYNC_STATUS','UPLOAD_INVOICE','CHECK_TICKET_UPLOAD_INVOICE','PARTIAL_REFUND','ACTION_CHECK_TICKET_PARTIAL_REFUND') NOT NULL,
            `id_order` INT(10) UNSIGNED NOT NULL, `ticket_number` VARCHAR(50), `batch_id` VARCHAR(50), `update_at` DATETIME,
            `date_add` DATETIME NOT NULL, `date_upd` DATETIME NOT NULL,
            PRIMARY KEY (`id_shoppingfeed_task_order`), UNIQUE KEY (`action`, `id_order`, `ticket_number`)) ENGINE=InnoDB CHARSET=utf8");
        $both = Shop::order(Shop::SHIPPED, false);
        $waitingTwice = Shop::order(Shop::SHIPPED, false);
        $alone = Shop::order(Shop::SHIPPED, false);
        $pdo->exec("INSERT INTO ps_shoppingfeed_task_order (id_shoppingfeed_task_order, action, id_order, ticket_number, batch_id, update_at, date_add, date_upd) VALUES
            (1, 'CHECK_TICKET_UPLOAD_INVOICE', $both, 'T-1', 'B-1', NOW(), NOW(), NOW()),
            (2, 'UPLOAD_INVOICE', $both, NULL, NULL, NOW(), NOW(), NOW()),
            (3, 'SYNC_STATUS', $both, NULL, NULL, NOW(), NOW(), NOW()),
            (4, 'UPLOAD_INVOICE', $waitingTwice, NULL, NULL, NOW(), NOW(), NOW()),
            (5, 'UPLOAD_INVOICE', $waitingTwice, 'x', NULL, NOW(), NOW(), NOW()),
            (6, 'UPLOAD_INVOICE', $alone, NULL, NULL, NOW(), NOW(), NOW())");

        $r = ModuleHarness::request(['action' => 'install']);
        $this->assertSame(0, $r['rc'], $r['stderr']);
        $this->assertTrue($r['result']['result'], json_encode($r['result']['errors'] ?? null));

        $rows = $pdo->query('SELECT id_shoppingfeed_task_order, action, id_order, ticket_number FROM ps_shoppingfeed_task_order ORDER BY id_shoppingfeed_task_order')->fetchAll(\PDO::FETCH_NUM);
        $this->assertSame([
            [1, 'CHECK_TICKET_UPLOAD_INVOICE', $both, 'T-1'], // its ticket is awaited
            [3, 'SYNC_STATUS', $both, null],                 // statuses untouched
            [5, 'UPLOAD_INVOICE', $waitingTwice, 'x'],        // the newest of one kind
            [6, 'UPLOAD_INVOICE', $alone, null],
        ], array_map(static fn ($r) => [(int) $r[0], $r[1], (int) $r[2], $r[3]], $rows));
        $keys = $pdo->query("SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ps_shoppingfeed_task_order' AND INDEX_NAME = 'pending_invoice'")->fetchAll(\PDO::FETCH_COLUMN);
        $this->assertSame(['pending_invoice'], $keys);
    }
}
