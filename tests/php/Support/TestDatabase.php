<?php
namespace Shoppingfeed\Sync\Tests;

/** A throwaway database with the PrestaShop fixtures and the module tables, for one test run. */
final class TestDatabase
{
    public static string $name;
    public static string $url;
    private static ?\PDO $pdo = null;
    private static array $server;

    public static function serverUrl(): string
    {
        return getenv('SFSYNC_TEST_DATABASE_URL') ?: 'mysql://sfsync:sfsync@127.0.0.1:23306';
    }

    public static function boot(): void
    {
        $u = parse_url(self::serverUrl());
        self::$server = [
            'host' => $u['host'] ?? '127.0.0.1',
            'port' => $u['port'] ?? 3306,
            'user' => urldecode($u['user'] ?? 'root'),
            'pass' => urldecode($u['pass'] ?? ''),
        ];
        self::$name = 'sfsync_php_' . getmypid() . '_' . bin2hex(random_bytes(3));
        $root = self::connect(null);
        $root->exec('CREATE DATABASE `' . self::$name . '` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci');
        self::$pdo = self::connect(self::$name);
        $base = dirname(__DIR__, 3);
        foreach ([
            $base . '/tests/fixtures/prestashop_schema.sql',
            $base . '/tests/fixtures/prestashop_seed.sql',
            // ./dev test's MySQL 5.6 run gives its adapted copy (no generated columns there).
            getenv('SFSYNC_TEST_INSTALL_SQL') ?: $base . '/php/sql/install.sql',
        ] as $file) {
            self::$pdo->exec(str_replace('PREFIX_', 'ps_', (string) file_get_contents($file)));
        }
        $s = self::$server;
        self::$url = sprintf('mysql://%s:%s@%s:%d/%s', rawurlencode($s['user']), rawurlencode($s['pass']), $s['host'], $s['port'], self::$name);
        \Shoppingfeed\Sync\OrderSync::configure(['database_url' => self::$url, 'table_prefix' => 'ps_']);
        $pid = getmypid();
        register_shutdown_function(static function () use ($pid): void {
            if (getmypid() === $pid) { // not in forked children
                self::connect(null)->exec('DROP DATABASE IF EXISTS `' . self::$name . '`');
            }
        });
    }

    public static function connect(?string $db): \PDO
    {
        $s = self::$server;
        $dsn = sprintf('mysql:host=%s;port=%d;charset=utf8mb4', $s['host'], $s['port']) . ($db ? ";dbname=$db" : '');
        return new \PDO($dsn, $s['user'], $s['pass'], [
            \PDO::ATTR_ERRMODE => \PDO::ERRMODE_EXCEPTION,
            \PDO::MYSQL_ATTR_MULTI_STATEMENTS => true,
        ]);
    }

    public static function pdo(): \PDO
    {
        return self::$pdo;
    }
}
