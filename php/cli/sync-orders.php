<?php
/**
 * Runs the order status synchronization CRON from the command line, without PrestaShop:
 *
 *   php -d extension=shoppingfeed_sync.so sync-orders.php --database-url=mysql://user:pass@host:3306/db
 *
 * Exit codes: 0 done, 1 a shop had errors (or the run failed, or a failure e-mail was not delivered),
 * 2 bad arguments, 3 another run holds the lock.
 * There is no Mail::Send here: failure e-mails are delivered with PHP's mail() (--mail=php), piped
 * to a command (--mail-command, e.g. sendmail), or written to --mail-dir. Without one of these they
 * are not delivered, and their orders wait (in the notice table) for a run that delivers them. Nor
 * is there PrestaShop's PDF class: invoice PDFs are rendered by the module's CRON URL only, and the
 * invoice uploads still waiting after the run are counted in a note.
 */

declare(strict_types=1);

// The module folder is under the shop's web root: this script must never run from a web request.
if (PHP_SAPI !== 'cli') {
    http_response_code(404);
    exit;
}

use Shoppingfeed\Sync\OrderSync;

const EXIT_OK = 0;
const EXIT_ERRORS = 1;
const EXIT_USAGE = 2;
const EXIT_LOCKED = 3;

const USAGE = <<<'TXT'
Usage: php -d extension=shoppingfeed_sync.so sync-orders.php --database-url=URL [options]

  --database-url=URL   mysql://user:pass@host:port/db or mysql://user:pass@localhost/db?socket=/path
                       (default: php.ini shoppingfeed_sync.database_url)
  --prefix=PREFIX      PrestaShop table prefix (default ps_)
  --api-base-url=URL   Shopping Feed API (default https://api.shopping-feed.com)
  --shop=N             only this shop
  --budget-ms=N        stop sending after N ms; the rest waits for the next run (default 60000)
  --mail=php           deliver the failure e-mails with PHP's mail() (php.ini sendmail_path)
  --mail-command=CMD   deliver them by piping each message (headers, blank line, text) to CMD,
                       e.g. "/usr/sbin/sendmail -t -i"; delivered when CMD exits with 0
  --mail-dir=DIR       write them to DIR as .txt/.html (delivered when both files are written)
                       Without one of these, no e-mail is delivered: the orders it lists wait
                       for a run that delivers it, and the run exits with 1.
  --mail-lang=ISO      language of the e-mail templates: en (default) or fr
  --json               print the run's report as JSON
  --help               this text

Exit codes: 0 done, 1 a shop had errors or an e-mail was not delivered, 2 bad arguments,
3 another run is in progress.
Invoice uploads need their PDF, which only the module's CRON URL renders (PrestaShop's PDF class).

TXT;

/** @return never */
function usageError(string $message): void
{
    fwrite(STDERR, "sync-orders: $message\n\n" . USAGE);
    exit(EXIT_USAGE);
}

/** Strict --name=value parsing: a typo must not silently run with defaults. */
function parseArgs(array $argv): array
{
    $valued = ['database-url', 'prefix', 'api-base-url', 'shop', 'budget-ms', 'mail', 'mail-command', 'mail-dir', 'mail-lang'];
    $flags = ['json', 'help'];
    $opts = [];
    foreach (array_slice($argv, 1) as $arg) {
        if (!preg_match('/^--([a-z-]+)(?:=(.*))?$/s', $arg, $m)) {
            usageError("unexpected argument \"$arg\"");
        }
        $name = $m[1];
        if (in_array($name, $flags, true) && !isset($m[2])) {
            $opts[$name] = true;
        } elseif (in_array($name, $valued, true) && isset($m[2]) && $m[2] !== '') {
            $opts[$name] = $m[2];
        } elseif (in_array($name, $valued, true)) {
            usageError("--$name needs a value (--$name=...)");
        } else {
            usageError("unknown option --$name");
        }
    }
    foreach (['shop' => 1, 'budget-ms' => 0] as $name => $min) {
        if (isset($opts[$name]) && (!ctype_digit($opts[$name]) || (int) $opts[$name] < $min)) {
            usageError("--$name must be an integer >= $min");
        }
    }
    if (isset($opts['mail-lang']) && !is_file(mailTemplate($opts['mail-lang'], 'txt'))) {
        usageError('--mail-lang must be one of: ' . implode(', ', array_map('basename', glob(dirname(__DIR__) . '/mails/*', GLOB_ONLYDIR) ?: [])));
    }
    if (isset($opts['mail-dir']) && !is_dir($opts['mail-dir'])) {
        usageError('--mail-dir is not a directory');
    }
    if (isset($opts['mail']) && $opts['mail'] !== 'php') {
        usageError('--mail accepts only php (PHP\'s mail()); see also --mail-command and --mail-dir');
    }
    if (count(array_intersect_key($opts, ['mail' => 1, 'mail-command' => 1, 'mail-dir' => 1])) > 1) {
        usageError('choose one of --mail, --mail-command and --mail-dir');
    }

    return $opts;
}

function mailTemplate(string $lang, string $ext): string
{
    return dirname(__DIR__) . "/mails/$lang/order-sync-errors.$ext";
}

/**
 * The mailer: renders the module's templates with the extension's variables and delivers the
 * e-mail the chosen way. It returns true only when the e-mail was handed on (the extension then
 * forgets the orders it lists); false keeps them for a later run.
 */
function makeMailer(string $lang, array $opts): callable
{
    return static function (array $mail) use ($lang, $opts): bool {
        $vars = $mail['template_vars'];
        $text = strtr((string) file_get_contents(mailTemplate($lang, 'txt')), $vars);
        if (isset($opts['mail-dir'])) {
            $html = strtr((string) file_get_contents(mailTemplate($lang, 'html')), $vars);
            $base = sprintf('%s/order-sync-errors-shop%d-%s', rtrim($opts['mail-dir'], '/'), $mail['id_shop'], date('Ymd-His'));

            return file_put_contents("$base.txt", "To: {$mail['to']}\nSubject: {$mail['subject']}\n\n$text") !== false
                && file_put_contents("$base.html", $html) !== false;
        }
        $subject = '=?UTF-8?B?' . base64_encode((string) $mail['subject']) . '?=';
        $headers = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit";
        if (isset($opts['mail'])) {
            return mail((string) $mail['to'], $subject, $text, $headers);
        }
        if (isset($opts['mail-command'])) {
            return pipeMail($opts['mail-command'], "To: {$mail['to']}\r\nSubject: $subject\r\n$headers\r\n\r\n$text");
        }

        return false; // nowhere to deliver: the orders wait
    };
}

/** Pipes one message to a command (sendmail's interface): delivered when it exits with 0. */
function pipeMail(string $command, string $message): bool
{
    $proc = proc_open($command, [0 => ['pipe', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => STDERR], $pipes);
    if (!is_resource($proc)) {
        return false;
    }
    $written = fwrite($pipes[0], $message);
    fclose($pipes[0]);

    return proc_close($proc) === 0 && $written === strlen($message);
}

function shopLine(array $s): string
{
    if ($s['skipped'] !== null) {
        return sprintf('shop %d: skipped (%s)', $s['id_shop'], $s['skipped']);
    }
    $mail = $s['mail'] === null ? 'none' : ($s['mail_sent'] ? 'delivered' : 'NOT DELIVERED');

    return sprintf(
        'shop %d: %ssent %d (%d requests), tickets ok %d / failed %d / pending %d, removed %d, requeued %d, gave up %d, errors %d, mail %s%s',
        $s['id_shop'], $s['dry_run'] ? sprintf('DRY RUN (%d order(s) logged, not sent), ', $s['dry_run_orders']) : '',
        $s['statuses_sent'], $s['requests'], $s['tickets_succeeded'],
        $s['tickets_failed'] + $s['tickets_canceled'], $s['tickets_pending'], $s['tasks_removed'], $s['requeued'], $s['gave_up'],
        count($s['errors']), $mail, $s['budget_exhausted'] ? ', time budget spent (the rest waits for the next run)' : ''
    );
}

/** The invoice uploads due after the run (at most 100), 0 when unknown: a note, never a failure. */
function waitingInvoices(?int $idShop): int
{
    if (!method_exists(OrderSync::class, 'pendingInvoices')) {
        return 0;
    }
    try {
        return count(OrderSync::pendingInvoices($idShop));
    } catch (\Throwable $e) {
        return 0;
    }
}

function main(array $argv): int
{
    $opts = parseArgs($argv);
    if (isset($opts['help'])) {
        echo USAGE;

        return EXIT_OK;
    }
    if (!extension_loaded('shoppingfeed_sync')) {
        fwrite(STDERR, "sync-orders: the PHP extension shoppingfeed_sync is not loaded (php -d extension=/path/to/libshoppingfeed_sync.so ...)\n");

        return EXIT_USAGE;
    }
    if (!isset($opts['database-url']) && (string) ini_get('shoppingfeed_sync.database_url') === '') {
        usageError('--database-url is required (or set shoppingfeed_sync.database_url in php.ini)');
    }
    $json = isset($opts['json']);
    $delivers = isset($opts['mail']) || isset($opts['mail-command']) || isset($opts['mail-dir']);

    $config = ['mailer' => makeMailer($opts['mail-lang'] ?? 'en', $opts)];
    foreach (['database-url' => 'database_url', 'prefix' => 'table_prefix', 'api-base-url' => 'api_base_url'] as $arg => $key) {
        if (isset($opts[$arg])) {
            $config[$key] = $opts[$arg];
        }
    }
    $run = [];
    if (isset($opts['shop'])) {
        $run['id_shop'] = (int) $opts['shop'];
    }
    if (isset($opts['budget-ms'])) {
        $run['run_budget_ms'] = (int) $opts['budget-ms'];
    }

    try {
        OrderSync::configure($config);
    } catch (\Shoppingfeed\Sync\ConfigException $e) {
        // The extension's messages name the option, never the password.
        usageError($e->getMessage());
    }
    try {
        $report = OrderSync::runCron($run);
    } catch (\Shoppingfeed\Sync\ConfigException $e) {
        usageError($e->getMessage());
    } catch (\Throwable $e) {
        fwrite(STDERR, 'sync-orders: the run failed: ' . $e->getMessage() . "\n");

        return EXIT_ERRORS;
    }

    if ($json) {
        echo json_encode($report, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE), "\n";
    }
    if ($report['locked']) {
        if (!$json) {
            echo "locked: another run is in progress (shoppingfeed:syncOrder); nothing done\n";
        }

        return EXIT_LOCKED;
    }

    $t = ['sent' => 0, 'ok' => 0, 'failed' => 0, 'pending' => 0, 'removed' => 0, 'requeued' => 0, 'errors' => 0, 'mails' => 0];
    foreach ($report['shops'] as $s) {
        $mailFailed = $s['mail'] !== null && !$s['mail_sent'];
        $t['sent'] += $s['statuses_sent'];
        $t['ok'] += $s['tickets_succeeded'];
        $t['failed'] += $s['tickets_failed'] + $s['tickets_canceled'];
        $t['pending'] += $s['tickets_pending'];
        $t['removed'] += $s['tasks_removed'];
        $t['requeued'] += $s['requeued'];
        $t['errors'] += count($s['errors']) + ($mailFailed ? 1 : 0);
        $t['mails'] += $s['mail_sent'] ? 1 : 0;
        if (!$json) {
            echo shopLine($s), "\n";
            foreach ($s['errors'] as $error) {
                echo "  error: $error\n";
            }
            foreach ($s['failures'] as $f) {
                echo "  failed: order {$f['reference']} ({$f['status']}): {$f['reason']}", $f['gave_up'] ? ' (gave up)' : '', "\n";
            }
            if ($mailFailed) {
                echo $delivers
                    ? "  error: the failure e-mail could not be delivered; its orders wait for the next run\n"
                    : "  error: the failure e-mail was not delivered (no --mail=php, --mail-command or --mail-dir); its orders wait for a run that delivers it\n";
            }
        }
    }
    if (!$json) {
        printf(
            "total: %d shop(s), sent %d, tickets ok %d / failed %d / pending %d, removed %d, requeued %d, errors %d, mails %d, %d ms, %d HTTP requests\n",
            count($report['shops']), $t['sent'], $t['ok'], $t['failed'], $t['pending'], $t['removed'], $t['requeued'],
            $t['errors'], $t['mails'], $report['duration_ms'], $report['http_requests']
        );
        if ($report['swept'] > 0) {
            printf("sweep: %d status change(s) the hook never saw queued and sent\n", $report['swept']);
        }
        if ($report['sweep_error'] !== null) {
            echo "error: the sweep stopped: {$report['sweep_error']}\n";
        }
        $invoices = waitingInvoices($run['id_shop'] ?? null);
        if ($invoices > 0) {
            printf("note: %d invoice upload(s) waiting: this command cannot render invoice PDFs; the module's CRON URL renders them before its run\n", $invoices);
        }
    }

    return $t['errors'] > 0 || $report['sweep_error'] !== null ? EXIT_ERRORS : EXIT_OK;
}

exit(main($argv));
