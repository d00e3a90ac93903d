<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\Tests\ModuleHarness;
use Shoppingfeed\Sync\Tests\ModuleSimulator;
use Shoppingfeed\Sync\Tests\Shop;
use Shoppingfeed\Sync\Tests\Simulator;
use Shoppingfeed\Sync\Tests\TestDatabase;

require_once __DIR__ . '/Support/ModuleSimulator.php';

/**
 * The invoice upload, module side: the marketplaces field of the configuration page, the invoice
 * PDFs the module's CRON renders with PrestaShop's PDF class (the harness's stand-in) into the
 * cache directory before the extension's run uploads them to the API simulator, and the upgrade
 * that writes the setting's default. Real extension, real MariaDB, real simulator.
 *
 * Group module-install: installs the module from php/sql/install.sql (MySQL 5.7+ / MariaDB).
 *
 * @group module-install
 */
final class ModuleInvoiceTest extends TestCase
{
    private const KEY = 'SHOPPINGFEED_ORDER_INVOICE_SYNC_MARKETPLACES';
    private const UPLOAD_PATH = '/v1/store/1276/order/upload-documents';

    use ModuleSimulator;

    protected function setUp(): void
    {
        self::resetModuleAndSimulator();
        ModuleHarness::removeTree(ModuleHarness::cacheDir() . 'shoppingfeedsync');
    }

    protected function tearDown(): void
    {
        ModuleHarness::restoreModuleTables(); // the uninstall drops them
        ModuleHarness::forgetModule();
        Shop::reset();
        ModuleHarness::removeTree(ModuleHarness::cacheDir() . 'shoppingfeedsync');
    }

    private static function install(): void
    {
        $r = self::request(['action' => 'install'])['result'];
        self::assertTrue($r['result'], json_encode($r['errors']));
    }

    private static function page(array $post = []): string
    {
        return self::request(['action' => 'content', 'post' => $post])['result']['html'];
    }

    /** A complete valid submission (the marketplaces as typed), as ModuleTest's. */
    private static function submission(string $marketplaces): array
    {
        return [
            'submitShoppingfeedSync' => '1',
            'SHOPPINGFEED_ORDER_SYNC_ENABLED' => '1',
            'SHOPPINGFEED_SHIPPED_ORDERS' => [(string) Shop::SHIPPED],
            'SHOPPINGFEED_CANCELLED_ORDERS' => [(string) Shop::CANCELED],
            'SHOPPINGFEED_REFUNDED_ORDERS' => [(string) Shop::REFUNDED],
            'SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT' => '0',
            'SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS' => '100',
            self::KEY => $marketplaces,
        ];
    }

    private static function errorBlock(string $html): string
    {
        return preg_match('#<div class="module_error alert alert-danger">(.*?)</div></div>#s', $html, $m) ? $m[1] : '';
    }

    /** The value attribute of the marketplaces field. */
    private static function field(string $html): string
    {
        self::assertSame(1, preg_match('#<input type="text" name="' . self::KEY . '" id="' . self::KEY . '" value="([^"]*)"#', $html, $m), 'the marketplaces field');

        return html_entity_decode($m[1], ENT_QUOTES, 'UTF-8');
    }

    private static function setting(): ?string
    {
        return ModuleHarness::settings()[self::KEY] ?? null;
    }

    /** The order's invoice state, through the module's hook. */
    private static function paid(int $idOrder): void
    {
        self::request(['action' => 'status_update', 'id_order' => $idOrder, 'id_order_state' => Shop::PAYMENT_ACCEPTED]);
    }

    /** @return list<string> the order's task actions */
    private static function actions(int $idOrder): array
    {
        return array_map(static fn ($t) => $t['action'], Shop::tasks($idOrder));
    }

    /** @return list<array<string, mixed>> the upload-documents requests the simulator received */
    private static function uploads(): array
    {
        return array_values(array_filter(self::$sim->requests('order_op'), static fn ($r) => $r['method'] === 'POST' && $r['path'] === self::UPLOAD_PATH));
    }

    /** The JSON `body` part of a logged multipart request. */
    private static function bodyPart(array $request): array
    {
        self::assertSame(1, preg_match('/name="body"[^\r\n]*\r\n(?:[^\r\n]+\r\n)*\r\n(.*?)\r\n--/s', (string) $request['body'], $m), (string) $request['body']);

        return json_decode($m[1], true);
    }

    private static function pdfPath(int $idOrder): string
    {
        return ModuleHarness::invoiceDir() . "/$idOrder.pdf";
    }

    /** @return list<string> the files of the invoice directory, dot files included */
    private static function invoiceFiles(): array
    {
        return is_dir(ModuleHarness::invoiceDir()) ? array_values(array_diff(scandir(ModuleHarness::invoiceDir()), ['.', '..'])) : [];
    }

    /** @return list<array<string, mixed>> the harness's reports of one kind (pdf, hook, prestashop_log...) */
    private static function out(array $response, string $kind): array
    {
        return array_values(array_filter($response['out'], static fn ($o) => $o['kind'] === $kind));
    }

    private static function french(): void
    {
        TestDatabase::pdo()->exec("INSERT INTO ps_lang (id_lang, name, active, iso_code, language_code, locale, date_format_lite, date_format_full, is_rtl) VALUES (2, 'Français (French)', 1, 'fr', 'fr-fr', 'fr-FR', 'd/m/Y', 'd/m/Y H:i:s', 0)");
    }

    // ---- the configuration page ---------------------------------------------------------------

    public function testTheMarketplacesAreSavedAsAJsonListShownAgainAndEmptyMeansNone(): void
    {
        self::install();
        $this->assertSame('[]', self::setting());
        $this->assertSame('', self::field(self::page()));

        $html = self::page(self::submission(' Amazon, cdiscount ,, AMAZON ,La Redoute, '));
        $this->assertSame('', self::errorBlock($html));
        $this->assertStringContainsString('Settings updated.', $html);
        // Trimmed, empty items dropped, duplicates (as the extension compares names) once.
        $this->assertSame('["Amazon","cdiscount","La Redoute"]', self::setting());
        $this->assertSame('Amazon, cdiscount, La Redoute', self::field($html));
        $this->assertSame('Amazon, cdiscount, La Redoute', self::field(self::page()));
        $this->assertStringContainsString('Upload the invoices of these marketplaces', $html);

        // Non-ASCII names are kept as typed.
        self::page(self::submission('Galeries Lafayette, Rue du Commerce, Fnac Darty Élite'));
        $this->assertSame(['Galeries Lafayette', 'Rue du Commerce', 'Fnac Darty Élite'], json_decode((string) self::setting(), true));

        self::page(self::submission(''));
        $this->assertSame('[]', self::setting());
    }

    /** @return array<string, array{mixed}> */
    public static function invalidMarketplaces(): array
    {
        return [
            'control character' => ["Amazon, Cdis\x01count"],
            'line break' => ["Amazon\nCdiscount"],
            'name too long' => ['Amazon, ' . str_repeat('x', 256)],
            'an array' => [['Amazon']],
        ];
    }

    /**
     * @dataProvider invalidMarketplaces
     *
     * @param mixed $value
     */
    public function testInvalidMarketplacesAreRefusedWithAMessageAndNothingIsSaved($value): void
    {
        self::install();
        self::page(self::submission('Fnac'));
        $before = ModuleHarness::settings();
        $post = self::submission('');
        $post[self::KEY] = $value;
        $post['SHOPPINGFEED_ORDER_STATUS_MAX_ORDERS'] = '42'; // a valid change, refused with the rest
        $html = self::page($post);
        $this->assertStringContainsString('The marketplaces whose invoices are uploaded must be names separated by commas, each of at most 255 characters', self::errorBlock($html));
        $this->assertStringNotContainsString('Settings updated.', $html);
        $this->assertSame($before, ModuleHarness::settings());
        if (is_string($value)) {
            // The refused text is shown again for correction.
            $this->assertSame($value, self::field($html));
        }
    }

    public function testTheShoppingFeedModulesMapFormIsKeptAndTheExtensionReadsWhatThePageSaved(): void
    {
        self::install();
        // The Shopping Feed module's form (id => {name, isEnabled}), with a name => flag entry.
        Shop::config(self::KEY, '{"4a1c":{"name":"ManoMano","isEnabled":true},"77":{"name":"Cdiscount","isEnabled":false},"Fnac":1}');
        $this->assertSame('ManoMano, Fnac', self::field(self::page()));

        $html = self::page(self::submission('cdiscount, FNAC, Amazon'));
        $this->assertSame('', self::errorBlock($html));
        $this->assertSame([
            '4a1c' => ['name' => 'ManoMano', 'isEnabled' => false],
            '77' => ['name' => 'Cdiscount', 'isEnabled' => true],
            'Fnac' => true,
            'Amazon' => ['name' => 'Amazon', 'isEnabled' => true],
        ], json_decode((string) self::setting(), true));
        $this->assertSame('Cdiscount, Fnac, Amazon', self::field($html));

        // The hook, through the extension: the invoice state queues an upload for Amazon, not ManoMano.
        $amazon = Shop::order(Shop::PAYMENT_ACCEPTED);
        $manomano = Shop::order(Shop::PAYMENT_ACCEPTED, true, 'sfpayment', 'ManoMano');
        self::paid($amazon);
        self::paid($manomano);
        $this->assertSame(['UPLOAD_INVOICE'], self::actions($amazon));
        $this->assertSame([], self::actions($manomano));
    }

    public function testTheFrenchPageHasTheFieldInFrench(): void
    {
        self::install();
        self::french();
        $html = self::request(['action' => 'content', 'post' => self::submission("Amazon\x01")], ['lang' => 'fr'])['result']['html'];
        $this->assertStringContainsString('Envoyer les factures de ces marketplaces', $html);
        $this->assertStringContainsString('de 255 caractères au plus chacun', self::errorBlock($html));
    }

    // ---- the CRON: render, upload, delete -----------------------------------------------------

    public function testAnInvoiceIsRenderedByTheModulesCronUploadedAndDeletedOnceItsTicketSucceeded(): void
    {
        self::install();
        Shop::cronConfig(Simulator::TOKEN, Simulator::STORE);
        $this->assertStringContainsString('Settings updated.', self::page(self::submission('amazon')));
        self::french();
        $invoiced = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, 7301, 'MP-7301');
        $invoice = Shop::invoice($invoiced, 42);
        // The customer's language: the invoice is rendered in it, whatever the CRON URL's.
        TestDatabase::pdo()->exec("UPDATE ps_orders SET id_lang = 2 WHERE id_order = $invoiced");
        $noInvoice = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, 7302, 'MP-7302');
        $fnac = Shop::order(Shop::PAYMENT_ACCEPTED, true, 'sfpayment', 'Fnac');
        self::$sim->seedOrders([7301 => 'MP-7301', 7302 => 'MP-7302']);
        foreach ([$invoiced, $noInvoice, $fnac] as $id) {
            self::paid($id);
        }
        $this->assertSame(['UPLOAD_INVOICE'], self::actions($invoiced));
        $this->assertSame(['UPLOAD_INVOICE'], self::actions($noInvoice));
        $this->assertSame([], self::actions($fnac), 'a marketplace not in the list');

        $first = self::request(['action' => 'cron']);
        $report = $first['result']['report'];
        $this->assertSame(1, $report['invoices_rendered'], json_encode($report));
        $this->assertSame(0, $report['invoices_deferred'], json_encode($report));
        $this->assertSame(1, $report['shops'][1]['invoices_sent'], json_encode($report));
        $this->assertSame([], $report['shops'][1]['errors']);
        $this->assertSame([], self::out($first, 'prestashop_log'));
        // As PrestaShop renders an invoice: the hook first, then the invoice template.
        $this->assertSame([['kind' => 'hook', 'name' => 'actionPDFInvoiceRender', 'id_shop' => 1, 'modules' => [], 'invoices' => [$invoice]]], self::out($first, 'hook'));
        $pdfs = self::out($first, 'pdf');
        $this->assertCount(1, $pdfs);
        $this->assertSame(['Invoice 000042 of order ' . $invoiced, 'Language fr, locale fr-FR'], $pdfs[0]['lines']);

        // The file waits in PrestaShop's cache for the ticket; nothing else is there.
        $this->assertSame(["$invoiced.pdf"], self::invoiceFiles());
        $this->assertSame(0750, fileperms(ModuleHarness::invoiceDir()) & 0777);
        $pdf = (string) file_get_contents(self::pdfPath($invoiced));
        $this->assertStringStartsWith('%PDF-1.4', $pdf);
        $this->assertStringContainsString("(Invoice 000042 of order $invoiced) Tj", $pdf);
        $this->assertStringEndsWith("%%EOF\n", $pdf);

        $uploads = self::uploads();
        $this->assertCount(1, $uploads);
        $this->assertSame(202, $uploads[0]['status']);
        $this->assertStringStartsWith('multipart/form-data; boundary=', $uploads[0]['content_type']);
        $this->assertStringContainsString($pdf, $uploads[0]['body'], 'the rendered bytes are what was uploaded');
        $this->assertSame([['id' => 7301, 'reference' => null, 'channelName' => null, 'documents' => [['type' => 'invoice']]]], self::bodyPart($uploads[0])['order']);
        $this->assertSame(['CHECK_TICKET_UPLOAD_INVOICE'], self::actions($invoiced));
        $this->assertSame(['UPLOAD_INVOICE'], self::actions($noInvoice), 'waits for an invoice');

        // The ticket succeeds: task and file go; the order without invoice is still not rendered.
        $succeeded = 0;
        for ($run = 0; $run < 3 && self::actions($invoiced) !== []; ++$run) {
            $next = self::request(['action' => 'cron'])['result']['report'];
            $succeeded += $next['shops'][1]['tickets_succeeded'];
            $this->assertSame(0, $next['invoices_rendered']);
        }
        $this->assertSame(1, $succeeded);
        $this->assertSame([], self::actions($invoiced));
        $this->assertFileDoesNotExist(self::pdfPath($invoiced));
        $this->assertSame([], self::invoiceFiles());
        $this->assertCount(1, self::uploads(), 'uploaded once');

        // PrestaShop makes its invoice later: the next run renders and uploads it.
        Shop::invoice($noInvoice, 43);
        $late = self::request(['action' => 'cron'])['result']['report'];
        $this->assertSame(1, $late['invoices_rendered']);
        $this->assertSame(1, $late['shops'][1]['invoices_sent']);
        $this->assertCount(2, self::uploads());
        $this->assertSame(7302, self::bodyPart(self::uploads()[1])['order'][0]['id']);
    }

    public function testAFailedRenderingIsLoggedAndStopsNeitherTheOtherInvoicesNorTheRun(): void
    {
        self::install();
        Shop::cronConfig(Simulator::TOKEN, Simulator::STORE);
        Shop::config('SHOPPINGFEED_ORDER_SYNC_ENABLED', '1');
        Shop::config(self::KEY, '["Amazon"]');
        $broken = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, 7401, 'MP-7401');
        $ok = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, 7402, 'MP-7402');
        $canceled = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, 7403, 'MP-7403');
        Shop::invoice($broken, 51);
        Shop::invoice($ok, 52);
        self::$sim->seedOrders([7401 => 'MP-7401', 7402 => 'MP-7402', 7403 => 'MP-7403']);
        self::paid($broken);
        self::paid($ok);
        Shop::setState($canceled, Shop::CANCELED);
        self::request(['action' => 'status_update', 'id_order' => $canceled, 'id_order_state' => Shop::CANCELED]);

        $run = self::request(['action' => 'cron', 'pdf_fail' => [$broken]]);
        $report = $run['result']['report'];
        $this->assertSame(1, $report['invoices_rendered'], json_encode($report));
        $this->assertSame(1, $report['shops'][1]['invoices_sent'], json_encode($report));
        $this->assertSame(1, $report['shops'][1]['statuses_sent'], 'the run went on');
        $this->assertSame(["$ok.pdf"], self::invoiceFiles(), 'no file, not even a temporary one, for the failed order');
        $logs = self::out($run, 'prestashop_log');
        $this->assertCount(1, $logs, json_encode($run['out']));
        $this->assertSame(3, $logs[0]['severity']);
        $this->assertSame('Order', $logs[0]['object_type']);
        $this->assertSame($broken, $logs[0]['object_id']);
        $this->assertStringContainsString("invoice PDF, order $broken: TCPDF ERROR", $logs[0]['message']);
        $this->assertSame(['UPLOAD_INVOICE'], self::actions($broken), 'it waits for the next run');
        $this->assertSame([7402], array_map(static fn ($r) => self::bodyPart($r)['order'][0]['id'], self::uploads()));

        // Fixed: the next call of the CRON URL renders and uploads it, and answers JSON as always.
        preg_match('#value="(http[^"]+)"#', self::page(), $m);
        parse_str((string) parse_url(html_entity_decode($m[1]), PHP_URL_QUERY), $query);
        $front = self::request(['action' => 'front', 'controller' => $query['controller'], 'get' => $query])['result'];
        $this->assertSame(200, $front['status'], $front['raw']);
        $this->assertSame(1, $front['body']['report']['invoices_rendered'], $front['raw']);
        $this->assertSame(1, $front['body']['report']['shops'][1]['invoices_sent'], $front['raw']);
        $this->assertSame([7402, 7401], array_map(static fn ($r) => self::bodyPart($r)['order'][0]['id'], self::uploads()));
    }

    public function testRenderingStopsAfterItsBudgetAndLeavesTheRestForTheNextRun(): void
    {
        self::install();
        Shop::cronConfig(Simulator::TOKEN, Simulator::STORE);
        Shop::config('SHOPPINGFEED_ORDER_SYNC_ENABLED', '1');
        Shop::config(self::KEY, '["Amazon"]');
        $orders = [];
        foreach ([7501, 7502, 7503] as $i => $sfId) {
            $orders[$sfId] = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, $sfId, "MP-$sfId");
            Shop::invoice($orders[$sfId], 61 + $i);
        }
        self::$sim->seedOrders([7501 => 'MP-7501', 7502 => 'MP-7502', 7503 => 'MP-7503']);
        foreach ($orders as $id) {
            self::paid($id);
        }
        $sent = static fn () => array_map(static fn ($r) => self::bodyPart($r)['order'][0]['id'], self::uploads());

        // Each rendering takes longer than the whole budget: one PDF a run, oldest first.
        $slow = ['action' => 'cron', 'pdf_delay_ms' => 300, 'invoice_render_budget' => 0.2];
        $first = self::request($slow);
        $report = $first['result']['report'];
        $this->assertSame(1, $report['invoices_rendered'], json_encode($report));
        $this->assertSame(2, $report['invoices_deferred'], json_encode($report));
        $this->assertCount(1, self::out($first, 'pdf'));
        $this->assertSame(1, $report['shops'][1]['invoices_sent'], json_encode($report));
        $this->assertSame([], self::out($first, 'prestashop_log'), 'a deferred invoice is no failure');
        $this->assertSame([$orders[7501] . '.pdf'], self::invoiceFiles());
        $this->assertSame(['UPLOAD_INVOICE'], self::actions($orders[7503]), 'waits for the next run');

        $report = self::request($slow)['result']['report'];
        $this->assertSame([1, 1], [$report['invoices_rendered'], $report['invoices_deferred']], json_encode($report));

        // The default budget (INVOICE_RENDER_BUDGET) renders the last one at once.
        $report = self::request(['action' => 'cron', 'pdf_delay_ms' => 300])['result']['report'];
        $this->assertSame([1, 0], [$report['invoices_rendered'], $report['invoices_deferred']], json_encode($report));
        $this->assertSame([7501, 7502, 7503], $sent());
    }

    // ---- install, upgrade, uninstall ----------------------------------------------------------

    public function testUninstallingDeletesTheInvoicesWaitingForTheirUpload(): void
    {
        self::install();
        mkdir(ModuleHarness::invoiceDir(), 0750, true);
        file_put_contents(self::pdfPath(41), "%PDF-1.4\n");
        file_put_contents(ModuleHarness::invoiceDir() . '/.41.pdf.0a1b2c.tmp', '%PDF');
        $this->assertTrue(self::request(['action' => 'uninstall'])['result']['result']);
        $this->assertDirectoryDoesNotExist(ModuleHarness::invoiceDir());
        $this->assertDirectoryDoesNotExist(ModuleHarness::cacheDir() . 'shoppingfeedsync');
    }

    public function testTheUpgradeTo040WritesTheDefaultOnlyWhereTheSettingIsMissing(): void
    {
        self::install();
        $pdo = TestDatabase::pdo();
        $pdo->exec("UPDATE ps_module SET version = '0.3.0' WHERE name = 'shoppingfeedsync'");
        $pdo->exec("DELETE FROM ps_configuration WHERE name = '" . self::KEY . "'");
        $r = self::request(['action' => 'upgrade'])['result'];
        $this->assertTrue($r['needed']);
        $this->assertTrue($r['upgrade']['success'], json_encode($r));
        // 0.4.0, then 0.5.0.
        $this->assertSame(2, $r['upgrade']['number_upgraded']);
        $this->assertSame('0.5.0', $r['upgrade']['upgraded_to']);
        $this->assertSame('[]', self::setting());

        // A value already there (set by the Shopping Feed module) is kept.
        $pdo->exec("UPDATE ps_module SET version = '0.3.0' WHERE name = 'shoppingfeedsync'");
        Shop::config(self::KEY, '{"12":{"name":"Cdiscount","isEnabled":true}}');
        $r = self::request(['action' => 'upgrade'])['result'];
        $this->assertTrue($r['upgrade']['success'], json_encode($r));
        $this->assertSame('{"12":{"name":"Cdiscount","isEnabled":true}}', self::setting());

        // Uninstalling (or the Module Manager's Reset) keeps a value that is not the default.
        $this->assertTrue(self::request(['action' => 'uninstall'])['result']['result']);
        $this->assertSame('{"12":{"name":"Cdiscount","isEnabled":true}}', self::setting());
    }
}
