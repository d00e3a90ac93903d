<?php
namespace Shoppingfeed\Sync\Tests;

/**
 * Runs the PrestaShop module (php/) in PrestaShop requests of their own: each call is a new
 * `php` process loading the built extension and Support/PrestaShop/harness.php (PrestaShop 8's
 * classes the module calls), against the test database.
 */
final class ModuleHarness
{
    private static ?string $modulesDir = null;
    private static ?string $cacheDir = null;

    /** The harness's PrestaShop tables (hook registry, configuration_lang), once per run. */
    public static function boot(): void
    {
        TestDatabase::pdo()->exec(str_replace('PREFIX_', 'ps_', (string) file_get_contents(__DIR__ . '/PrestaShop/schema.sql')));
    }

    /** A PrestaShop modules/ folder holding the module as php/ is (a symlink, as a developer would). */
    public static function modulesDir(): string
    {
        if (self::$modulesDir === null) {
            $dir = sys_get_temp_dir() . '/sfsync-modules-' . getmypid();
            @mkdir($dir);
            $link = "$dir/shoppingfeedsync";
            if (!is_link($link)) {
                symlink(realpath(dirname(__DIR__, 3) . '/php'), $link);
            }
            self::$modulesDir = $dir;
            $pid = getmypid();
            register_shutdown_function(static function () use ($dir, $link, $pid): void {
                if (getmypid() === $pid) {
                    @unlink($link);
                    @rmdir($dir);
                }
            });
        }

        return self::$modulesDir;
    }

    /** PrestaShop's cache directory (_PS_CACHE_DIR_) of the requests, with its slash; removed at exit. */
    public static function cacheDir(): string
    {
        if (self::$cacheDir === null) {
            $dir = sys_get_temp_dir() . '/sfsync-ps-cache-' . getmypid() . '/';
            self::removeTree($dir);
            mkdir($dir, 0700);
            self::$cacheDir = $dir;
            $pid = getmypid();
            register_shutdown_function(static function () use ($dir, $pid): void {
                if (getmypid() === $pid) {
                    self::removeTree($dir);
                }
            });
        }

        return self::$cacheDir;
    }

    /** Where the module renders the invoice PDFs: ShoppingfeedSync::invoiceDir() under cacheDir(). */
    public static function invoiceDir(): string
    {
        return self::cacheDir() . 'shoppingfeedsync/invoices';
    }

    public static function removeTree(string $path): void
    {
        if (is_dir($path) && !is_link($path)) {
            foreach (array_diff(scandir($path) ?: [], ['.', '..']) as $entry) {
                self::removeTree(rtrim($path, '/') . '/' . $entry);
            }
            @rmdir($path);
        } elseif (file_exists($path) || is_link($path)) {
            @unlink($path);
        }
    }

    public static function extensionPath(): string
    {
        $so = getenv('SFSYNC_EXT_SO');
        if ($so && is_file($so)) {
            return $so;
        }
        foreach (@file('/proc/self/maps') ?: [] as $line) {
            if (preg_match('#\s(/\S*libshoppingfeed_sync\.so)$#', trim($line), $m)) {
                return $m[1];
            }
        }
        throw new \RuntimeException('Set SFSYNC_EXT_SO to the path of libshoppingfeed_sync.so');
    }

    /**
     * One request. `$context`: shop (id), shop_context (shop|group|all), lang (iso code).
     * `$ini`: php.ini settings of that process (e.g. shoppingfeed_sync.api_base_url).
     * `$modulesDir`: another modules/ folder (an unzipped package) instead of php/.
     *
     * @return array{result: array<string, mixed>, out: list<array<string, mixed>>, stderr: string, rc: int}
     */
    public static function request(array $request, array $context = [], array $ini = [], bool $withExtension = true, ?string $modulesDir = null, ?string $cookieFile = null): array
    {
        $outFile = tempnam(sys_get_temp_dir(), 'sfsync-harness-');
        // A memory limit: a runaway request must fail, not take the machine's memory.
        $cmd = [PHP_BINARY, '-d', 'display_errors=stderr', '-d', 'error_reporting=' . E_ALL, '-d', 'memory_limit=256M'];
        if ($withExtension) {
            $cmd[] = '-d';
            $cmd[] = 'extension=' . self::extensionPath();
        }
        foreach ($ini as $name => $value) {
            $cmd[] = '-d';
            $cmd[] = "$name=$value";
        }
        $cmd[] = __DIR__ . '/PrestaShop/request.php';
        $env = [
            'PATH' => (string) getenv('PATH'),
            'SFSYNC_HARNESS_DB_URL' => TestDatabase::$url,
            'SFSYNC_HARNESS_MODULE_DIR' => $modulesDir ?? self::modulesDir(),
            'SFSYNC_HARNESS_CACHE_DIR' => self::cacheDir(),
            'SFSYNC_HARNESS_CONTEXT' => json_encode($context + ['shop' => 1, 'shop_context' => 'shop', 'lang' => 'en']),
            'SFSYNC_HARNESS_OUT' => $outFile,
        ] + ($cookieFile !== null ? ['SFSYNC_HARNESS_COOKIE' => $cookieFile] : []);
        $proc = proc_open($cmd, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env);
        if (!is_resource($proc)) {
            throw new \RuntimeException('cannot start ' . PHP_BINARY);
        }
        fwrite($pipes[0], json_encode($request));
        fclose($pipes[0]);
        $stdout = stream_get_contents($pipes[1]);
        $stderr = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        $rc = proc_close($proc);
        $out = [];
        foreach (file($outFile, FILE_IGNORE_NEW_LINES) ?: [] as $line) {
            $out[] = json_decode($line, true);
        }
        @unlink($outFile);
        $result = json_decode((string) $stdout, true);
        if (!is_array($result)) {
            throw new \RuntimeException("the request did not answer JSON (exit $rc)\nstdout:\n$stdout\nstderr:\n$stderr");
        }

        return ['result' => $result, 'out' => $out, 'stderr' => (string) $stderr, 'rc' => $rc];
    }

    /** The module tables as install.sql creates them (after a test that dropped them). */
    public static function restoreModuleTables(): void
    {
        TestDatabase::pdo()->exec(str_replace('PREFIX_', 'ps_', (string) file_get_contents(dirname(__DIR__, 3) . '/php/sql/install.sql')));
    }

    /** Forgets the module's install: its module rows, hooks and settings. */
    public static function forgetModule(): void
    {
        $pdo = TestDatabase::pdo();
        $pdo->exec("DELETE m, ms FROM ps_module m LEFT JOIN ps_module_shop ms ON ms.id_module = m.id_module WHERE m.name IN ('shoppingfeedsync', 'shoppingfeed')");
        $pdo->exec('DELETE FROM ps_hook_module');
        $pdo->exec('DELETE FROM ps_hook');
        // The module's tabs and their roles (the core's own tabs, ids below 100, stay).
        $pdo->exec("DELETE a FROM ps_access a JOIN ps_authorization_role r ON r.id_authorization_role = a.id_authorization_role WHERE r.slug LIKE 'ROLE\\_MOD\\_TAB\\_ADMINSHOPPINGFEED%'");
        $pdo->exec("DELETE FROM ps_authorization_role WHERE slug LIKE 'ROLE\\_MOD\\_TAB\\_ADMINSHOPPINGFEED%'");
        $pdo->exec("DELETE t, tl FROM ps_tab t LEFT JOIN ps_tab_lang tl ON tl.id_tab = t.id_tab WHERE t.module = 'shoppingfeedsync'");
        $pdo->exec("DELETE FROM ps_configuration WHERE name LIKE 'SHOPPINGFEED\\_%' OR name = 'PS_MULTISHOP_FEATURE_ACTIVE'");
        $pdo->exec('DELETE FROM ps_shop WHERE id_shop > 1');
        $pdo->exec('DELETE FROM ps_lang WHERE id_lang > 1');
    }

    /** @return array<string, ?string> name => value of the SHOPPINGFEED_* rows, "name@shop" for shop rows */
    public static function settings(): array
    {
        $rows = TestDatabase::pdo()->query("SELECT name, value, id_shop, id_shop_group FROM ps_configuration WHERE name LIKE 'SHOPPINGFEED\\_%' ORDER BY name, id_shop")->fetchAll(\PDO::FETCH_ASSOC);
        $out = [];
        foreach ($rows as $r) {
            $out[$r['name'] . ($r['id_shop'] ? '@' . $r['id_shop'] : ($r['id_shop_group'] ? '@group' . $r['id_shop_group'] : ''))] = $r['value'];
        }

        return $out;
    }

    public static function tableExists(string $table): bool
    {
        return (bool) TestDatabase::pdo()->query('SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ' . TestDatabase::pdo()->quote($table))->fetchColumn();
    }
}
