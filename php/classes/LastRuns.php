<?php
/**
 * The CRON's recent activity for the configuration page, read from the tables the extension writes:
 * the ProcessMonitor row `shoppingfeed:syncOrder` (last run, duration, running now) and the
 * ProcessLogger rows of that process, grouped into runs.
 */

namespace ShoppingfeedSync;

if (!defined('_PS_VERSION_')) {
    exit;
}

final class LastRuns
{
    public const PROCESS = 'shoppingfeed:syncOrder';
    /** Log rows further apart than this belong to different runs (the CRON runs every 5 minutes). */
    public const RUN_GAP_SECONDS = 120;
    /** How many log rows are read: enough for the last runs, bounded for a busy shop. */
    public const MAX_ROWS = 2000;

    /** @var \Db */
    private $db;
    /** @var string */
    private $prefix;

    public function __construct($db, $prefix)
    {
        $this->db = $db;
        $this->prefix = $prefix;
    }

    /** @return array{last_update: string, duration: float, running: bool}|null */
    public function monitor()
    {
        $row = $this->db->getRow('SELECT `pid`, `duration`, `last_update` FROM `' . $this->prefix . 'shoppingfeed_processmonitor`'
            . " WHERE `name` = '" . self::PROCESS . "'");
        if (!$row) {
            return null;
        }

        return [
            'last_update' => (string) $row['last_update'],
            'duration' => (float) $row['duration'],
            'running' => $row['pid'] !== null,
        ];
    }

    /**
     * The last runs that logged something, newest first.
     *
     * @return list<array{started: string, ended: string, sent: int, succeeded: int, failures: int, last_error: ?string}>
     */
    public function runs($limit = 10)
    {
        $rows = $this->db->executeS('SELECT `msg`, `level`, `date_add` FROM `' . $this->prefix . 'shoppingfeed_processlogger`'
            . " WHERE `name` = '" . self::PROCESS . "' ORDER BY `id_shoppingfeed_processlogger` DESC LIMIT " . self::MAX_ROWS);
        $runs = [];
        $current = null;
        $previous = null;
        foreach ($rows ?: [] as $row) {
            $at = strtotime($row['date_add']);
            if ($current === null || $previous - $at > self::RUN_GAP_SECONDS) {
                if ($current !== null) {
                    $runs[] = $current;
                    if (count($runs) >= $limit) {
                        return $runs;
                    }
                }
                $current = ['started' => $row['date_add'], 'ended' => $row['date_add'], 'sent' => 0, 'succeeded' => 0, 'failures' => 0, 'last_error' => null];
            }
            $previous = $at;
            $current['started'] = $row['date_add'];
            // The extension's messages (src/engine): one success row per order sent / per ticket succeeded.
            if ($row['level'] === 'success' && strpos($row['msg'], 'Ticket created for Order') !== false) {
                ++$current['sent'];
            } elseif ($row['level'] === 'success' && strpos($row['msg'], 'Ticket status : succeed') !== false) {
                ++$current['succeeded'];
            } elseif ($row['level'] === 'error') {
                ++$current['failures'];
                // Rows are read newest first: the first error seen is the run's last one.
                if ($current['last_error'] === null) {
                    $current['last_error'] = $row['msg'];
                }
            }
        }
        if ($current !== null) {
            $runs[] = $current;
        }

        return $runs;
    }
}
