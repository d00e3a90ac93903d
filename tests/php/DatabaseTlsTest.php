<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\DatabaseException;
use Shoppingfeed\Sync\OrderSync;
use Shoppingfeed\Sync\Tests\Shop;
use Shoppingfeed\Sync\Tests\TestDatabase;
use ShoppingfeedSync\DatabaseUrl;

require_once dirname(__DIR__, 2) . '/php/classes/DatabaseUrl.php';

/**
 * A shop whose MySQL requires TLS (issue 22 item 9): the database URL's `ssl_mode` / `ssl_ca`
 * through configure(), against the test MariaDB that `./dev db start` runs with a CA of its own and
 * a user that may connect with TLS only (`./dev test` exports the variables read here).
 *
 * Group mariadb-tls: that server is the MariaDB one; ./dev leaves the group out of the MySQL run.
 *
 * @group mariadb-tls
 */
final class DatabaseTlsTest extends TestCase
{
    protected function tearDown(): void
    {
        OrderSync::configure(['database_url' => TestDatabase::$url]);
    }

    private static function env(string $name): string
    {
        $value = (string) getenv($name);
        self::assertNotSame('', $value, "$name is not set: run the tests through ./dev test (./dev db start makes the TLS server)");
        return $value;
    }

    /** The TLS-only user on this run's database, on `$host`, with `$query`. */
    private static function url(string $host, string $query): string
    {
        return str_replace('127.0.0.1', $host, self::env('SFSYNC_TEST_DB_TLS_URL')) . '/' . TestDatabase::$name . $query;
    }

    public function testTheHookWorksOverTlsWithTheShopsCa(): void
    {
        Shop::reset();
        $id = Shop::order(Shop::SHIPPED);
        OrderSync::configure(['database_url' => self::url('localhost', '?ssl_mode=verify_identity&ssl_ca=' . rawurlencode(self::env('SFSYNC_TEST_DB_CA')))]);

        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::SHIPPED));

        $this->assertCount(1, Shop::tasks($id));
    }

    public function testWithoutTlsTheServerRefusesAndThePasswordIsNotShown(): void
    {
        $url = self::url('127.0.0.1', '');
        $password = rawurldecode((string) parse_url($url, PHP_URL_PASS));
        OrderSync::configure(['database_url' => $url]);
        try {
            OrderSync::onOrderStatusUpdate(1, Shop::SHIPPED);
            $this->fail('the server requires TLS');
        } catch (DatabaseException $e) {
            $this->assertStringContainsString('Access denied', $e->getMessage());
            $this->assertStringNotContainsString(":$password@", $e->getMessage());
        }
    }

    public function testAnUntrustedCertificateIsRefused(): void
    {
        OrderSync::configure(['database_url' => self::url('localhost', '?ssl_ca=' . rawurlencode(self::env('SFSYNC_TEST_DB_OTHER_CA')))]);
        $this->expectException(DatabaseException::class);
        $this->expectExceptionMessageMatches('/certificate/i');
        OrderSync::onOrderStatusUpdate(1, Shop::SHIPPED);
    }

    public function testTheModulesUrlTakesTheTlsParametersOfPhpIni(): void
    {
        $tls = parse_url(self::env('SFSYNC_TEST_DB_TLS_URL'));
        $ini = 'mysql://u:p@h/db?socket=/x&ssl_mode=verify_identity&ssl_ca=' . rawurlencode(self::env('SFSYNC_TEST_DB_CA'));
        $url = DatabaseUrl::fromPrestaShop('localhost:' . $tls['port'], $tls['user'], rawurldecode($tls['pass']), TestDatabase::$name, null, $ini);
        $this->assertStringEndsWith('?ssl_mode=verify_identity&ssl_ca=' . rawurlencode(self::env('SFSYNC_TEST_DB_CA')), $url);
        Shop::reset();
        $id = Shop::order(Shop::SHIPPED);
        OrderSync::configure(['database_url' => $url]);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::SHIPPED));

        // Nothing to take: the URL is PrestaShop's alone; a socket is never encrypted.
        $this->assertSame('mysql://ps:x@db/ps', DatabaseUrl::fromPrestaShop('db', 'ps', 'x', 'ps', null, 'mysql://u@h/db'));
        $this->assertSame('mysql://ps:x@localhost/ps?socket=/run/m.sock', DatabaseUrl::fromPrestaShop('localhost:/run/m.sock', 'ps', 'x', 'ps', null, $ini));
    }
}
