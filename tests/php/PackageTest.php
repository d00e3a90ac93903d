<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\Tests\ModuleHarness;
use Shoppingfeed\Sync\Tests\Shop;
use Shoppingfeed\Sync\Tests\TestDatabase;

require_once __DIR__ . '/Support/ModuleHarness.php';

/**
 * `./dev package`: the zip a merchant uploads in Modules > Upload a module, and the PIE metadata.
 *
 * Group module-install: installs the module from php/sql/install.sql (MySQL 5.7+ / MariaDB).
 *
 * @group module-install
 */
final class PackageTest extends TestCase
{
    private const ROOT = __DIR__ . '/../..';

    private static ?string $zip = null;
    private static string $dir;

    public static function setUpBeforeClass(): void
    {
        ModuleHarness::boot();
        $out = [];
        exec('cd ' . escapeshellarg(self::ROOT) . ' && ./dev package --module 2>&1', $out, $rc);
        self::assertSame(0, $rc, implode("\n", $out));
        self::assertSame(1, preg_match('/package: (\S+shoppingfeedsync\.zip)/', implode("\n", $out), $m), implode("\n", $out));
        self::$zip = $m[1];
        self::$dir = sys_get_temp_dir() . '/sfsync-package-' . getmypid();
        exec('rm -rf ' . escapeshellarg(self::$dir) . ' && mkdir -p ' . escapeshellarg(self::$dir) . ' && cd ' . escapeshellarg(self::$dir) . ' && unzip -q ' . escapeshellarg(self::$zip), $out, $rc);
        self::assertSame(0, $rc);
    }

    public static function tearDownAfterClass(): void
    {
        exec('rm -rf ' . escapeshellarg(self::$dir));
    }

    protected function tearDown(): void
    {
        ModuleHarness::restoreModuleTables();
        ModuleHarness::forgetModule();
        Shop::reset();
    }

    public function testTheZipIsOneModuleFolderWithConfigXmlLogoAndGuards(): void
    {
        $this->assertSame(['shoppingfeedsync'], array_values(array_diff(scandir(self::$dir), ['.', '..'])));
        $module = self::$dir . '/shoppingfeedsync';
        foreach (['shoppingfeedsync.php', 'config.xml', 'logo.png', 'sql/install.sql', 'controllers/front/syncOrder.php', 'translations/fr.php',
                  'mails/en/order-sync-errors.html', 'mails/fr/order-sync-errors.txt', 'upgrade/upgrade-0.2.0.php', 'cli/sync-orders.php'] as $f) {
            $this->assertFileExists("$module/$f");
        }
        $this->assertFileDoesNotExist("$module/demo.php");
        $it = new \RecursiveIteratorIterator(new \RecursiveDirectoryIterator($module, \FilesystemIterator::SKIP_DOTS), \RecursiveIteratorIterator::SELF_FIRST);
        $dirs = [$module];
        foreach ($it as $f) {
            if ($f->isDir()) {
                $dirs[] = $f->getPathname();
            }
        }
        $this->assertGreaterThan(8, count($dirs));
        foreach ($dirs as $d) {
            $this->assertFileExists("$d/index.php", "guard in $d");
        }
        // Every PHP file of the module refuses to run outside PrestaShop (or outside the CLI).
        foreach ($it as $f) {
            if ($f->isFile() && $f->getExtension() === 'php' && $f->getFilename() !== 'index.php' && strpos($f->getPathname(), '/translations/') === false) {
                $src = (string) file_get_contents($f->getPathname());
                $this->assertTrue(strpos($src, "defined('_PS_VERSION_')") !== false || strpos($src, "PHP_SAPI !== 'cli'") !== false
                    || strpos($src, 'namespace ShoppingfeedSync;') !== false, $f->getPathname());
            }
        }

        $xml = simplexml_load_file("$module/config.xml");
        $this->assertNotFalse($xml);
        $this->assertSame('shoppingfeedsync', (string) $xml->name);
        preg_match("/\\\$this->version = '([^']+)'/", (string) file_get_contents("$module/shoppingfeedsync.php"), $m);
        $this->assertSame($m[1], (string) $xml->version);
        $this->assertSame('1', (string) $xml->is_configurable);
        $size = getimagesize("$module/logo.png");
        $this->assertSame([64, 64, IMAGETYPE_PNG], [$size[0], $size[1], $size[2]]);
    }

    public function testTheUnzippedModuleInstallsAndShowsItsPage(): void
    {
        Shop::reset();
        ModuleHarness::forgetModule();
        $r = ModuleHarness::request(['action' => 'install'], [], [], true, self::$dir);
        $this->assertSame('', $r['stderr']);
        $this->assertTrue($r['result']['result'], json_encode($r['result']['errors']));
        $r = ModuleHarness::request(['action' => 'content'], [], [], true, self::$dir);
        $this->assertStringContainsString('name="SHOPPINGFEED_SHIPPED_ORDERS[]"', $r['result']['html']);
        $this->assertSame(1, (int) TestDatabase::pdo()->query("SELECT COUNT(*) FROM ps_module WHERE name = 'shoppingfeedsync'")->fetchColumn());
    }

    public function testComposerJsonDescribesThePieExtension(): void
    {
        $composer = json_decode((string) file_get_contents(self::ROOT . '/composer.json'), true);
        $this->assertIsArray($composer);
        $this->assertSame('php-ext', $composer['type']);
        $this->assertSame('shoppingfeed_sync', $composer['php-ext']['extension-name']);
        $this->assertSame('shoppingfeed_sync', (new \ReflectionExtension('shoppingfeed_sync'))->getName());
        $this->assertFileExists(self::ROOT . '/' . $composer['php-ext']['build-path'] . '/config.m4');
        $m4 = (string) file_get_contents(self::ROOT . '/' . $composer['php-ext']['build-path'] . '/config.m4');
        $this->assertStringContainsString('PHP_ARG_ENABLE([shoppingfeed_sync]', $m4);
        $this->assertStringContainsString('modules/shoppingfeed_sync.so', $m4);
        // The extension's version is the crate's.
        preg_match('/^version = "([^"]+)"/m', (string) file_get_contents(self::ROOT . '/Cargo.toml'), $v);
        $this->assertSame($v[1], phpversion('shoppingfeed_sync'));
    }
}
