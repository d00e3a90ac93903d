<?php
/**
 * Builds the extension's `database_url` from PrestaShop's connection constants.
 */

namespace ShoppingfeedSync;

final class DatabaseUrl
{
    /**
     * The URL for `OrderSync::configure(['database_url' => ...])` from `_DB_SERVER_`, `_DB_USER_`,
     * `_DB_PASSWD_` and `_DB_NAME_`.
     *
     * `$server` takes the forms PrestaShop's DbPDO accepts: "host", "host:port", "host:/path/to.sock"
     * (and a bare "/path/to.sock"). `$localhostSocket` is the socket PDO uses for "localhost"
     * (pdo_mysql.default_socket): mysqlnd talks to "localhost" through it, not TCP, and MySQL
     * matches the grants of 'user'@'localhost' only that way, so the extension must do the same.
     *
     * PrestaShop has no TLS settings: `ssl_mode` and `ssl_ca` are taken from `$tlsFrom`, by default
     * php.ini's `shoppingfeed_sync.database_url` (a shop whose managed MySQL requires TLS sets
     * them there), and added to a TCP URL.
     *
     * @throws \InvalidArgumentException on an unusable server string (never echoes the password)
     */
    public static function fromPrestaShop(string $server, string $user, string $password, string $name, ?string $localhostSocket = null, ?string $tlsFrom = null): string
    {
        $server = trim($server);
        $port = null;
        $socket = null;
        if (preg_match('/^(.*):(\d+)$/', $server, $m)) {
            $host = $m[1];
            $port = (int) $m[2];
            if ($port < 1 || $port > 65535) {
                throw new \InvalidArgumentException(sprintf('Database server "%s": the port must be between 1 and 65535.', $server));
            }
        } elseif (preg_match('#^(.*):(/.+)$#', $server, $m)) {
            $host = $m[1];
            $socket = $m[2];
        } elseif ($server !== '' && $server[0] === '/') {
            $host = '';
            $socket = $server;
        } else {
            $host = $server;
        }
        if ($host === '') {
            $host = 'localhost';
        }
        // Host names and IPv4 addresses only: the extension's URL parser has no IPv6 literal form.
        if (!preg_match('/^[A-Za-z0-9._-]+$/', $host)) {
            throw new \InvalidArgumentException(sprintf('Database server "%s": invalid or unsupported host name.', $server));
        }
        if ($socket === null && $port === null && $host === 'localhost' && $localhostSocket !== null && $localhostSocket !== '') {
            $socket = $localhostSocket;
        }
        if ($user === '' || $name === '') {
            throw new \InvalidArgumentException('The database user and name must not be empty.');
        }

        $url = 'mysql://' . rawurlencode($user);
        if ($password !== '') {
            $url .= ':' . rawurlencode($password);
        }
        $url .= '@' . $host . ($port !== null ? ':' . $port : '') . '/' . rawurlencode($name);
        if ($socket !== null) {
            // Slashes stay readable; everything else that could end the query value is encoded.
            $url .= '?socket=' . str_replace('%2F', '/', rawurlencode($socket));
        } elseif (($tls = self::tlsQuery($tlsFrom ?? (string) ini_get('shoppingfeed_sync.database_url'))) !== '') {
            $url .= '?' . $tls;
        }

        return $url;
    }

    /** The `ssl_mode` and `ssl_ca` parameters of a database URL, as they are written there. */
    private static function tlsQuery(string $url): string
    {
        $query = (string) parse_url($url, PHP_URL_QUERY);
        $kept = [];
        foreach (explode('&', $query) as $pair) {
            if (preg_match('/^ssl_(mode|ca)=[^&]+$/', $pair)) {
                $kept[] = $pair;
            }
        }

        return implode('&', $kept);
    }
}
