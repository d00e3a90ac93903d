<?php
/**
 * Brings module tables that already exist up to sql/install.sql: a shop coming from the Shopping
 * Feed module has its own `shoppingfeed_task_order` and `shoppingfeed_order` (same names, fewer
 * columns), which CREATE TABLE IF NOT EXISTS leaves as they are, and without the added columns the
 * extension cannot lease or dedupe tasks. Missing columns and keys are added, and an ENUM column
 * lacking some of install.sql's values gets them (the task actions of newer versions); nothing is
 * dropped or narrowed, so the Shopping Feed module keeps working on the same tables.
 *
 * install.sql keeps one column or key definition per line, which is what is read here.
 */

namespace ShoppingfeedSync;

if (!defined('_PS_VERSION_')) {
    exit;
}

final class Schema
{
    /** @var \Db */
    private $db;

    public function __construct($db)
    {
        $this->db = $db;
    }

    /**
     * @param string $sql install.sql, prefix substituted and comments removed
     *
     * @return list<string> the ALTER statements run
     *
     * @throws \RuntimeException with the database's message when one fails
     */
    public function addMissing($sql)
    {
        $done = [];
        foreach ($this->tables($sql) as $table => $definition) {
            $existing = $this->columns($table);
            if (!$existing) {
                continue; // not created: CREATE TABLE did it
            }
            $previous = null;
            foreach ($definition['columns'] as $name => $line) {
                if (!isset($existing[$name])) {
                    $done[] = $this->alter($table, 'ADD COLUMN ' . $line . ($previous ? ' AFTER `' . $previous . '`' : ' FIRST'));
                    $existing[$name] = '';
                } elseif ($this->lacksEnumValues($existing[$name], $line)) {
                    $done[] = $this->alter($table, 'MODIFY COLUMN ' . $line);
                }
                $previous = $name;
            }
            $indexes = $this->indexes($table);
            foreach ($definition['keys'] as $name => $line) {
                // Same name, or the same columns under another name (the reference's keys are unnamed).
                preg_match('/\(([^)]*)\)/', $line, $cols);
                $wanted = str_replace(['`', ' '], '', $cols[1] ?? '');
                if (isset($indexes[$name]) || in_array($wanted, $indexes, true)) {
                    continue;
                }
                if ($name === 'pending_order') {
                    // The reference allowed several pending rows per order; one is enough (the CRON
                    // sends the order's current state): keep the newest.
                    $this->run('DELETE t1 FROM `' . $table . '` t1 JOIN `' . $table . '` t2 ON t2.`id_order` = t1.`id_order`'
                        . " AND t2.`action` = 'SYNC_STATUS' AND t2.`id_shoppingfeed_task_order` > t1.`id_shoppingfeed_task_order`"
                        . " WHERE t1.`action` = 'SYNC_STATUS'");
                }
                if ($name === 'pending_invoice') {
                    $this->reduceInvoiceUploads($table);
                }
                $done[] = $this->alter($table, 'ADD ' . $line);
            }
        }
        $done = array_merge($done, $this->moveShipments($sql));

        return $done;
    }

    /**
     * 0.4's shoppingfeed_sync_shipment (the tracking number each ship carried) became the 'ship'
     * rows of shoppingfeed_sync_operation: its rows are copied there (a newer row there wins),
     * then removed from the old table, which uninstall drops once empty.
     */
    private function moveShipments($sql)
    {
        $tables = array_keys($this->tables($sql));
        $operation = null;
        foreach ($tables as $table) {
            if (substr($table, -strlen('shoppingfeed_sync_operation')) === 'shoppingfeed_sync_operation') {
                $operation = $table;
            }
        }
        if ($operation === null) {
            return [];
        }
        $shipment = substr($operation, 0, -strlen('operation')) . 'shipment';
        if (!$this->columns($shipment)) {
            return [];
        }
        $copy = 'INSERT IGNORE INTO `' . $operation . '` (`id_order`, `operation`, `tracking_number`, `result`, `date_add`, `date_upd`)'
            . " SELECT `id_order`, 'ship', `tracking_number`, 'sent', `date_upd`, `date_upd` FROM `" . $shipment . '`';
        $this->run($copy);
        $this->run('DELETE s FROM `' . $shipment . '` s JOIN `' . $operation . "` o ON o.`id_order` = s.`id_order` AND o.`operation` = 'ship'");

        return [$copy];
    }

    /**
     * The reference keeps an order's invoice upload waiting (UPLOAD_INVOICE) next to the one whose
     * ticket it awaits (CHECK_TICKET_UPLOAD_INVOICE); the extension keeps one per order. The checking
     * row is kept: its upload was sent, and dropping it would lose the ticket's outcome (a failure
     * the merchant must hear about), while the waiting one would only send the same invoice again.
     * Among rows of one kind, the newest is kept.
     */
    private function reduceInvoiceUploads($table)
    {
        $rank = static function ($alias) {
            return "(`$alias`.`action` = 'CHECK_TICKET_UPLOAD_INVOICE')";
        };
        $this->run('DELETE t1 FROM `' . $table . '` t1 JOIN `' . $table . '` t2 ON t2.`id_order` = t1.`id_order`'
            . " AND t2.`action` IN ('UPLOAD_INVOICE', 'CHECK_TICKET_UPLOAD_INVOICE')"
            . ' AND (' . $rank('t2') . ' > ' . $rank('t1')
            . ' OR (' . $rank('t2') . ' = ' . $rank('t1') . ' AND t2.`id_shoppingfeed_task_order` > t1.`id_shoppingfeed_task_order`))'
            . " WHERE t1.`action` IN ('UPLOAD_INVOICE', 'CHECK_TICKET_UPLOAD_INVOICE')");
    }

    /** @return array<string, array{columns: array<string, string>, keys: array<string, string>}> */
    public function tables($sql)
    {
        $tables = [];
        preg_match_all('/CREATE TABLE IF NOT EXISTS `([^`]+)` \((.*?)\n\)/s', $sql, $matches, PREG_SET_ORDER);
        foreach ($matches as $m) {
            $columns = [];
            $keys = [];
            foreach (explode("\n", $m[2]) as $line) {
                $line = rtrim(trim($line), ',');
                if (preg_match('/^`([^`]+)` /', $line, $c)) {
                    $columns[$c[1]] = $line;
                } elseif (preg_match('/^(?:UNIQUE )?KEY `([^`]+)` /', $line, $k)) {
                    $keys[$k[1]] = $line;
                }
            }
            $tables[$m[1]] = ['columns' => $columns, 'keys' => $keys];
        }

        return $tables;
    }

    /** @return array<string, string> column name => its type (`enum('A','B')`, `int(10) unsigned`, ...) */
    private function columns($table)
    {
        $rows = $this->db->executeS('SELECT `COLUMN_NAME`, `COLUMN_TYPE` FROM information_schema.COLUMNS WHERE `TABLE_SCHEMA` = DATABASE()'
            . " AND `TABLE_NAME` = '" . pSQL($table) . "'");
        $out = [];
        foreach ($rows ?: [] as $r) {
            $out[$r['COLUMN_NAME']] = $r['COLUMN_TYPE'];
        }

        return $out;
    }

    /** Whether an existing ENUM column misses values that install.sql's definition has. */
    private function lacksEnumValues($type, $line)
    {
        if (!preg_match('/ENUM\(([^)]*)\)/i', $line, $wanted) || stripos($type, 'enum(') !== 0) {
            return false;
        }
        preg_match_all("/'([^']*)'/", $wanted[1], $values);
        foreach ($values[1] as $value) {
            if (strpos($type, "'" . $value . "'") === false) {
                return true;
            }
        }

        return false;
    }

    /** @return array<string, string> index name => its columns, comma-separated */
    private function indexes($table)
    {
        $rows = $this->db->executeS('SELECT `INDEX_NAME`, GROUP_CONCAT(`COLUMN_NAME` ORDER BY `SEQ_IN_INDEX`) AS `cols`'
            . ' FROM information_schema.STATISTICS WHERE `TABLE_SCHEMA` = DATABASE()'
            . " AND `TABLE_NAME` = '" . pSQL($table) . "' GROUP BY `INDEX_NAME`");
        $out = [];
        foreach ($rows ?: [] as $r) {
            $out[$r['INDEX_NAME']] = $r['cols'];
        }

        return $out;
    }

    private function alter($table, $clause)
    {
        $statement = 'ALTER TABLE `' . $table . '` ' . $clause;
        $this->run($statement);

        return $statement;
    }

    private function run($statement)
    {
        if (!$this->db->execute($statement)) {
            throw new \RuntimeException($this->db->getMsgError());
        }
    }
}
