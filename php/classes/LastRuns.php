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
     * Counted from the extension's messages: "Ticket created for Order" (success: an order sent
     * in a request the API accepted), "ignored by Shopping Feed" (error: an order of that request
     * the API ignored, requeued: not sent), "Ticket status : succeed" (success: confirmed by the
     * marketplace). Failures are the error rows except "No SF Order id set.", which an invoice
     * upload writes at every run while it waits for the order's Shopping Feed id: a wait, not a
     * failure.
     *
     * @return list<array{started: string, ended: string, sent: int, succeeded: int, failures: int, last_error: ?string}>
     */
    public function runs($limit = 10)
    {
        $rows = $this->db->executeS('SELECT `msg`, `level`, `object_name`, `object_id`, `date_add` FROM `' . $this->prefix . 'shoppingfeed_processlogger`'
            . " WHERE `name` = '" . self::PROCESS . "' ORDER BY `id_shoppingfeed_processlogger` DESC LIMIT " . self::MAX_ROWS);
        $runs = [];
        $current = null;
        $previous = null;
        foreach ($rows ?: [] as $row) {
            $at = strtotime($row['date_add']);
            if ($current === null || $previous - $at > self::RUN_GAP_SECONDS) {
                if ($current !== null) {
                    $runs[] = self::close($current);
                    if (count($runs) >= $limit) {
                        return $runs;
                    }
                }
                $current = ['started' => $row['date_add'], 'ended' => $row['date_add'], 'sent' => [], 'ignored' => [], 'succeeded' => 0, 'failures' => 0, 'last_error' => null];
            }
            $previous = $at;
            $current['started'] = $row['date_add'];
            $order = (int) $row['object_id'];
            if ($row['level'] === 'success' && strpos($row['msg'], 'Ticket created for Order') !== false) {
                $current['sent'][$order] = ($current['sent'][$order] ?? 0) + 1;
            } elseif ($row['level'] === 'success' && strpos($row['msg'], 'Ticket status : succeed') !== false) {
                ++$current['succeeded'];
            } elseif ($row['level'] === 'error' && strpos($row['msg'], 'No SF Order id set.') === false) {
                if (strpos($row['msg'], 'ignored by Shopping Feed') !== false) {
                    $current['ignored'][$order] = ($current['ignored'][$order] ?? 0) + 1;
                }
                ++$current['failures'];
                // Rows are read newest first: the first error seen is the run's last one.
                if ($current['last_error'] === null) {
                    $current['last_error'] = $row['msg'];
                }
            }
        }
        if ($current !== null) {
            $runs[] = self::close($current);
        }

        return $runs;
    }

    /**
     * An order the API ignored was not sent, whether or not the extension wrote a "Ticket
     * created" row for it too: counted per order, so that either way of logging it stays right.
     */
    private static function close(array $run)
    {
        $sent = 0;
        foreach ($run['sent'] as $order => $count) {
            $sent += max(0, $count - ($run['ignored'][$order] ?? 0));
        }
        $run['sent'] = $sent;
        unset($run['ignored']);

        return $run;
    }
}
