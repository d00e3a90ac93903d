<?php
/**
 * The plain-PHP baseline of the CRON (`syncOrder`), the reference module's 1.2.0 algorithm
 * (module-behavior.md §4.2-§4.5) written with PDO and curl_multi the way a good PrestaShop
 * developer would, without PrestaShop:
 *
 * sendStatuses() = the (B) "sync status" chain, repeated as successive CRON runs would until the
 * queue is empty. Per run (a page):
 *   getTaskOrders        due SYNC_STATUS tasks of the shop, ORDER BY date_upd LIMIT MAX_ORDERS (100)
 *   prepare...           per task: the order (new Order), its ShoppingfeedOrder, for ship its carrier
 *                        (cached per run, as ObjectModel's cache does) and getShipping()'s first line;
 *                        operation from the order's CURRENT state (shipped > cancelled > refunded);
 *                        unmapped state: task deleted
 *   send...              the SDK's OrderApi::execute(): per operation, chunks of 100 orders, one POST
 *                        each, 10 requests in flight (the SDK's pool); then getTickets(): the ticket
 *                        list of each batch (GET ticket?batchId=..&limit=200, here also 10 in flight,
 *                        where the SDK iterates batches one after another); per ticket, the task gets
 *                        ticket_number + batch_id + CHECK_TICKET_SYNC_STATUS (ObjectModel::save, one
 *                        UPDATE per task); tasks without a ticket are failures, deleted (step D)
 *   logs                 Classlib's buffer: multi-row INSERTs of 100 rows
 * checkTickets() = the (A) "check tickets" chain, repeated until every CHECK task was looked at:
 *   getTaskOrders        CHECK_TICKET_SYNC_STATUS tasks, 100 per run
 *   prepare...           per task: ticket number present, ShoppingfeedOrder loaded
 *   send...              getTicketsByReference(): GET ticket/{ticket_number}, one per task, here 10 in
 *                        flight (the reference fetches them one after another)
 *   step D               succeeded and failed tasks deleted, one DELETE per task (ObjectModel::delete)
 *
 * checkTicketsByBatch() = the same chain as the reference's CURRENT version checks it (module-behavior.md
 * §4.3 [HEAD], since 2023): per run 100 CHECK tasks, their distinct batch ids, the ticket list of each
 * batch (GET ticket?batchId=, paged; here 10 in flight where the SDK walks them one after another),
 * tickets matched to tasks by payload reference; succeeded, canceled and failed tasks deleted one by
 * one (ObjectModel::delete).
 *
 * In the baseline's favour: one API session (GET /v1/me) and one PDO connection for all the pages,
 * where real successive CRON runs would open one each; HTTP keep-alive through one curl multi handle.
 */

declare(strict_types=1);

final class CronBaseline
{
    private const OPERATION_ORDER = ['accept', 'cancel', 'refuse', 'ship', 'refund', 'acknowledge', 'unacknowledge'];

    /** @var array<string, PDOStatement> */
    private array $st = [];
    private $mh;
    private ?int $storeId = null;
    private array $logs = [];
    public int $httpRequests = 0;

    public function __construct(
        private PDO $pdo,
        private string $apiBaseUrl,
        private string $token,
        private int $idShop = 1,
        private int $concurrency = 10,
        private string $p = 'ps_',
    ) {
        $this->mh = curl_multi_init();
        $p = $this->p;
        $this->st = [
            'config' => $pdo->prepare("SELECT name, value, id_shop, id_shop_group FROM {$p}configuration
                WHERE name IN ('SHOPPINGFEED_SHIPPED_ORDERS','SHOPPINGFEED_CANCELLED_ORDERS','SHOPPINGFEED_REFUNDED_ORDERS','SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS')
                  AND (id_shop = :shop OR (id_shop IS NULL AND (id_shop_group = (SELECT id_shop_group FROM {$p}shop WHERE id_shop = :shop2) OR id_shop_group IS NULL)))"),
            'tasks' => $pdo->prepare("SELECT sto.* FROM {$p}shoppingfeed_task_order sto INNER JOIN {$p}orders o ON o.id_order = sto.id_order
                WHERE sto.action = :action AND sto.update_at IS NOT NULL AND sto.update_at <= :now AND o.id_shop = :shop
                  AND sto.id_shoppingfeed_task_order > :after
                ORDER BY sto.date_upd ASC, sto.id_shoppingfeed_task_order ASC LIMIT :lim"),
            'order' => $pdo->prepare("SELECT * FROM {$p}orders WHERE id_order = ?"),
            'sfOrder' => $pdo->prepare("SELECT * FROM {$p}shoppingfeed_order WHERE id_order = ?"),
            'carrier' => $pdo->prepare("SELECT * FROM {$p}carrier WHERE id_carrier = ?"),
            'shipping' => $pdo->prepare("SELECT oc.tracking_number, oc.id_carrier, c.name AS state_name, c.url FROM {$p}order_carrier oc
                LEFT JOIN {$p}carrier c ON c.id_carrier = oc.id_carrier WHERE oc.id_order = ? ORDER BY oc.id_order_carrier"),
            'saveTicket' => $pdo->prepare("UPDATE {$p}shoppingfeed_task_order SET ticket_number = ?, batch_id = ?, action = 'CHECK_TICKET_SYNC_STATUS', date_upd = ?
                WHERE id_shoppingfeed_task_order = ?"),
            'delete' => $pdo->prepare("DELETE FROM {$p}shoppingfeed_task_order WHERE id_shoppingfeed_task_order = ?"),
        ];
    }

    /** Every due status sent, page after page. */
    public function sendStatuses(): array
    {
        $stats = ['runs' => 0, 'sent' => 0, 'tickets' => 0, 'failed' => 0, 'removed' => 0, 'errors' => 0];
        $after = 0;
        while (true) {
            $conf = $this->configuration();
            $tasks = $this->taskOrders('SYNC_STATUS', max(1, (int) ($conf['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS'] ?? 100)), $after);
            if ($tasks === []) { break; }
            $after = (int) end($tasks)['id_shoppingfeed_task_order']; // tasks left as they were are not fetched again
            $stats['runs']++;
            $lists = ['ship' => $this->stateList($conf['SHOPPINGFEED_SHIPPED_ORDERS'] ?? null),
                'cancel' => $this->stateList($conf['SHOPPINGFEED_CANCELLED_ORDERS'] ?? null),
                'refund' => $this->stateList($conf['SHOPPINGFEED_REFUNDED_ORDERS'] ?? null)];

            // prepareTaskOrdersSyncStatus
            $prepared = [];
            $carriers = [];
            foreach ($tasks as $task) {
                $idOrder = (int) $task['id_order'];
                $order = $this->one('order', [$idOrder]);
                $sfOrder = $this->one('sfOrder', [$idOrder]);
                if ($order === null || $sfOrder === null || (string) $sfOrder['id_order_marketplace'] === '' || (string) $sfOrder['name_marketplace'] === '') {
                    $this->log('error', "[Order: $idOrder] SF Order could not be loaded.", $idOrder);
                    $stats['errors']++;
                    continue;
                }
                $state = (int) $order['current_state'];
                $item = ['reference' => $sfOrder['id_order_marketplace'], 'channelName' => $sfOrder['name_marketplace']];
                if (in_array($state, $lists['ship'], true)) {
                    $operation = 'ship';
                    $idCarrier = (int) $order['id_carrier'];
                    $carriers[$idCarrier] ??= $this->one('carrier', [$idCarrier]);
                    $shipping = $this->one('shipping', [$idOrder]);
                    $tracking = (string) ($shipping['tracking_number'] ?? '');
                    $url = str_replace('http://http://', 'http://', (string) ($carriers[$idCarrier]['url'] ?? ''));
                    $item += ['carrier' => (string) ($shipping['state_name'] ?? ''), 'trackingNumber' => $tracking,
                        'trackingLink' => str_replace('@', $tracking, $url)];
                } elseif (in_array($state, $lists['cancel'], true)) {
                    $operation = 'cancel';
                    $item['reason'] = '';
                } elseif (in_array($state, $lists['refund'], true)) {
                    $operation = 'refund';
                    $item['refund'] = ['shipping' => true, 'products' => []];
                } else {
                    $this->log('info', sprintf('[Order: %d] No matching operation for Order State %d. Deleting Task Order.', $idOrder, $state), $idOrder);
                    $this->st['delete']->execute([$task['id_shoppingfeed_task_order']]);
                    $stats['removed']++;
                    continue;
                }
                $prepared[$sfOrder['id_order_marketplace']] = ['task' => $task, 'operation' => $operation, 'item' => $item];
            }
            if ($prepared === []) { continue; }

            // sendTaskOrdersSyncStatus: OrderApi::execute() then getTickets()
            $store = $this->store();
            $requests = [];
            foreach (self::OPERATION_ORDER as $operation) {
                $items = array_values(array_map(static fn ($p) => $p['item'], array_filter($prepared, static fn ($p) => $p['operation'] === $operation)));
                foreach (array_chunk($items, 100) as $i => $chunk) {
                    $requests["$operation/$i"] = ['POST', "/v1/store/$store/order/$operation", ['order' => $chunk]];
                }
            }
            $batches = [];
            foreach ($this->multi($requests) as $key => [$code, $body]) {
                if ($code !== 202 || !isset($body['id'])) { throw new RuntimeException("API error (getOrderApi): $key answered $code"); }
                $batches[] = (string) $body['id'];
                $stats['sent'] += count($requests[$key][2]['order']);
            }
            $now = date('Y-m-d H:i:s');
            foreach ($this->batchTickets($store, $batches) as $ticket) {
                $ref = $ticket['payload']['reference'] ?? null;
                if ($ref === null || !isset($prepared[$ref])) { continue; }
                $task = $prepared[$ref]['task'];
                $this->st['saveTicket']->execute([$ticket['id'], $ticket['batchId'], $now, $task['id_shoppingfeed_task_order']]);
                $this->log('success', "[Order: {$task['id_order']}] Ticket created for Order $ref Status {$prepared[$ref]['operation']}", (int) $task['id_order']);
                $stats['tickets']++;
                unset($prepared[$ref]);
            }
            foreach ($prepared as $ref => $p) { // no ticket: mailed, then deleted by the controller (step D)
                $this->log('error', "[Order: {$p['task']['id_order']}] No ticket could be created for Order $ref Status {$p['operation']}", (int) $p['task']['id_order']);
                $this->st['delete']->execute([$p['task']['id_shoppingfeed_task_order']]);
                $stats['failed']++;
            }
            $this->flushLogs();
        }
        $stats['http_requests'] = $this->httpRequests;
        return $stats;
    }

    /** Every CHECK task's ticket read, one GET per ticket; finished tasks deleted. */
    public function checkTickets(): array
    {
        $stats = ['runs' => 0, 'succeeded' => 0, 'failed' => 0, 'pending' => 0, 'errors' => 0];
        $after = 0;
        while (true) {
            $conf = $this->configuration();
            $tasks = $this->taskOrders('CHECK_TICKET_SYNC_STATUS', max(1, (int) ($conf['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS'] ?? 100)), $after);
            if ($tasks === []) { break; }
            $after = (int) end($tasks)['id_shoppingfeed_task_order'];
            $stats['runs']++;
            $prepared = [];
            foreach ($tasks as $task) { // prepareTaskOrdersCheckTicketsSyncStatus
                $sfOrder = $this->one('sfOrder', [(int) $task['id_order']]);
                if ((string) $task['ticket_number'] === '' || $sfOrder === null) {
                    $this->log('error', "[Order: {$task['id_order']}] No ticket number set.", (int) $task['id_order']);
                    $stats['errors']++;
                    continue;
                }
                $prepared[$task['ticket_number']] = $task;
            }
            $store = $this->store();
            $requests = [];
            foreach ($prepared as $ticket => $task) { $requests[$ticket] = ['GET', "/v1/store/$store/ticket/" . rawurlencode((string) $ticket), null]; }
            $done = [];
            foreach ($this->multi($requests) as $ticket => [$code, $body]) {
                if ($code !== 200) { throw new RuntimeException("API error (getTicketApi): ticket $ticket answered $code"); }
                $task = $prepared[$ticket];
                switch ($body['state'] ?? '') {
                    case 'succeed':
                        $this->log('success', "[Order: {$task['id_order']}] Ticket status : succeed", (int) $task['id_order']);
                        $stats['succeeded']++;
                        $done[] = $task;
                        break;
                    case 'failed':
                    case 'canceled':
                        $this->log('error', "[Order: {$task['id_order']}] Ticket status : {$body['state']}", (int) $task['id_order']);
                        $stats['failed']++;
                        $done[] = $task;
                        break;
                    default:
                        $stats['pending']++;
                }
            }
            foreach ($done as $task) { $this->st['delete']->execute([$task['id_shoppingfeed_task_order']]); } // step D
            $this->flushLogs();
        }
        $stats['http_requests'] = $this->httpRequests;
        return $stats;
    }

    /** Every CHECK task's batch read, one paged ticket list per batch; finished tasks deleted. */
    public function checkTicketsByBatch(): array
    {
        $stats = ['runs' => 0, 'succeeded' => 0, 'failed' => 0, 'pending' => 0, 'errors' => 0];
        $after = 0;
        while (true) {
            $tasks = $this->taskOrders('CHECK_TICKET_SYNC_STATUS', 100, $after); // HEAD: LIMIT 100, fixed
            if ($tasks === []) { break; }
            $after = (int) end($tasks)['id_shoppingfeed_task_order'];
            $stats['runs']++;
            $byReference = [];
            foreach ($tasks as $task) {
                $sfOrder = $this->one('sfOrder', [(int) $task['id_order']]);
                if ((string) $task['batch_id'] === '' || $sfOrder === null) {
                    $stats['errors']++;
                    continue;
                }
                $byReference[(string) $sfOrder['id_order_marketplace']] = $task;
            }
            $batches = array_values(array_unique(array_map(static fn ($t) => (string) $t['batch_id'], $byReference)));
            $done = [];
            foreach ($this->batchTickets($this->store(), $batches) as $ticket) {
                $task = $byReference[(string) ($ticket['payload']['reference'] ?? '')] ?? null;
                if ($task === null) { continue; } // a ticket of a task outside this page
                switch ($ticket['state'] ?? '') {
                    case 'succeed':
                    case 'canceled': // HEAD: canceled is a success (logged with its details)
                        $this->log('success', "[Order: {$task['id_order']}] Ticket status : {$ticket['state']}", (int) $task['id_order']);
                        $stats['succeeded']++;
                        $done[] = $task;
                        break;
                    case 'failed':
                        $this->log('error', "[Order: {$task['id_order']}] Ticket status : failed. Ticket details: " . json_encode($ticket), (int) $task['id_order']);
                        $stats['failed']++;
                        $done[] = $task;
                        break;
                    default:
                        $stats['pending']++;
                }
            }
            foreach ($done as $task) { $this->st['delete']->execute([$task['id_shoppingfeed_task_order']]); }
            $this->flushLogs();
        }
        $stats['http_requests'] = $this->httpRequests;
        return $stats;
    }

    private function taskOrders(string $action, int $limit, int $after): array
    {
        $st = $this->st['tasks'];
        $st->bindValue(':action', $action);
        $st->bindValue(':now', date('Y-m-d H:i:s'));
        $st->bindValue(':shop', $this->idShop, PDO::PARAM_INT);
        $st->bindValue(':after', $after, PDO::PARAM_INT);
        $st->bindValue(':lim', $limit, PDO::PARAM_INT);
        $st->execute();
        return $st->fetchAll(PDO::FETCH_ASSOC);
    }

    /** Configuration::get() of the CRON's keys for the shop (shop, then group, then global). */
    private function configuration(): array
    {
        $this->st['config']->execute([':shop' => $this->idShop, ':shop2' => $this->idShop]);
        $best = [];
        foreach ($this->st['config']->fetchAll(PDO::FETCH_ASSOC) as $row) {
            $rank = $row['id_shop'] !== null ? 3 : ($row['id_shop_group'] !== null ? 2 : 1);
            if (!isset($best[$row['name']]) || $best[$row['name']][0] < $rank) { $best[$row['name']] = [$rank, (string) $row['value']]; }
        }
        return array_map(static fn (array $b) => $b[1], $best);
    }

    private function one(string $statement, array $params): ?array
    {
        $st = $this->st[$statement];
        $st->execute($params);
        $row = $st->fetch(PDO::FETCH_ASSOC);
        $st->closeCursor();
        return $row === false ? null : $row;
    }

    private function stateList(?string $json): array
    {
        $list = json_decode((string) $json, true);
        return is_array($list) ? array_map('intval', array_values($list)) : [];
    }

    /** The SDK session: GET /v1/me, main store = the first store. Once for all the pages. */
    private function store(): int
    {
        if ($this->storeId === null) {
            [$code, $me] = $this->multi(['me' => ['GET', '/v1/me', null]])['me'];
            $this->storeId = (int) ($me['_embedded']['store'][0]['id'] ?? 0);
            if ($code !== 200 || $this->storeId === 0) { throw new RuntimeException("API error: /v1/me answered $code"); }
        }
        return $this->storeId;
    }

    /** Tickets of the batches: GET ticket?batchId=..&page=1&limit=200, then the next pages. */
    private function batchTickets(int $store, array $batches): iterable
    {
        $requests = [];
        foreach ($batches as $b) { $requests[$b] = ['GET', "/v1/store/$store/ticket?batchId=" . rawurlencode($b) . '&page=1&limit=200', null]; }
        while ($requests !== []) {
            $next = [];
            foreach ($this->multi($requests) as $key => [$code, $body]) {
                if ($code !== 200) { throw new RuntimeException("API error (getTickets): $key answered $code"); }
                yield from $body['_embedded']['ticket'] ?? [];
                if (isset($body['_links']['next']['href'])) { $next[$key] = ['GET', $body['_links']['next']['href'], null]; }
            }
            $requests = $next;
        }
    }

    /**
     * HTTP requests with at most `concurrency` in flight (the SDK's Guzzle pool), keep-alive through
     * one multi handle. Returns [key => [status, decoded body]] in completion order.
     */
    private function multi(array $requests): array
    {
        $queue = $requests;
        $active = [];
        $results = [];
        $start = function () use (&$queue, &$active): void {
            $key = array_key_first($queue);
            [$method, $path, $body] = $queue[$key];
            unset($queue[$key]);
            $ch = curl_init($this->apiBaseUrl . $path);
            $headers = ['Authorization: Bearer ' . $this->token, 'Accept: application/json'];
            $opts = [CURLOPT_RETURNTRANSFER => true, CURLOPT_CUSTOMREQUEST => $method, CURLOPT_TIMEOUT => 30];
            if ($body !== null) {
                $headers[] = 'Content-Type: application/json';
                $opts[CURLOPT_POSTFIELDS] = json_encode($body);
            }
            $opts[CURLOPT_HTTPHEADER] = $headers;
            curl_setopt_array($ch, $opts);
            curl_multi_add_handle($this->mh, $ch);
            $active[spl_object_id($ch)] = [$key, $ch];
            $this->httpRequests++;
        };
        while ($queue !== [] && count($active) < $this->concurrency) { $start(); }
        while ($active !== []) {
            curl_multi_exec($this->mh, $running);
            while (($info = curl_multi_info_read($this->mh)) !== false) {
                $ch = $info['handle'];
                [$key] = $active[spl_object_id($ch)];
                unset($active[spl_object_id($ch)]);
                if ($info['result'] !== CURLE_OK) { throw new RuntimeException("HTTP error on $key: " . curl_error($ch)); }
                $results[$key] = [curl_getinfo($ch, CURLINFO_RESPONSE_CODE), json_decode((string) curl_multi_getcontent($ch), true)];
                curl_multi_remove_handle($this->mh, $ch);
                curl_close($ch);
                if ($queue !== []) { $start(); }
            }
            if ($active !== []) { curl_multi_select($this->mh, 0.5); }
        }
        return $results;
    }

    /** ProcessLoggerHandler: buffered, written 100 rows at a time. */
    private function log(string $level, string $msg, int $idOrder): void
    {
        $this->logs[] = ['shoppingfeed:syncOrder', $msg, $level, 'Order', $idOrder, date('Y-m-d H:i:s')];
        if (count($this->logs) >= 100) { $this->flushLogs(); }
    }

    private function flushLogs(): void
    {
        if ($this->logs === []) { return; }
        $sql = "INSERT INTO {$this->p}shoppingfeed_processlogger (name, msg, level, object_name, object_id, date_add) VALUES "
            . implode(',', array_fill(0, count($this->logs), '(?,?,?,?,?,?)'));
        $this->pdo->prepare($sql)->execute(array_merge(...$this->logs));
        $this->logs = [];
    }
}
