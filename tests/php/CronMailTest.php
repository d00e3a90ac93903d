<?php
use PHPUnit\Framework\TestCase;
use Shoppingfeed\Sync\ActionsHandler;
use Shoppingfeed\Sync\ConfigException;
use Shoppingfeed\Sync\OrderSync;
use Shoppingfeed\Sync\Tests\Shop;
use Shoppingfeed\Sync\Tests\SimulatorShop;

require_once __DIR__ . '/Support/SimulatorShop.php';

/**
 * The failure e-mail as a shop runs it: the mailer is PHP code (PrestaShop's Mail::Send runs other
 * hooks) that may call back into the extension, throw, or refuse. Nothing it does may panic, nest a
 * run or lose a notice (issue 13, issue 14 item 3).
 */
final class CronMailTest extends TestCase
{
    use SimulatorShop;

    private int $nextSfId = 9000;

    /** An order of a shop whose status is sent by the next run and whose ticket then fails. */
    private function failing(int $idShop = 1, string $reason = 'Carrier not accepted'): int
    {
        $sfId = $this->nextSfId++;
        $id = Shop::sfOrder(Shop::PAYMENT_ACCEPTED, $sfId, "MP-$sfId", $idShop);
        self::$sim->seedOrders([$sfId => "MP-$sfId"]);
        Shop::setState($id, Shop::SHIPPED);
        $this->assertTrue(OrderSync::onOrderStatusUpdate($id, Shop::SHIPPED));
        self::$sim->outcome($sfId, 'failed', $reason);
        return $id;
    }

    /** Sends what is due; the tickets fail at the next run's check. */
    private function send(): void
    {
        $report = OrderSync::runCron();
        $this->assertFalse($report['locked']);
        $this->assertSame([], $this->mails, 'nothing failed yet');
    }

    private function useMailer(callable $mailer): void
    {
        OrderSync::configure(['mailer' => $mailer]);
    }

    private function collectingMailer(): callable
    {
        return function (array $mail): bool {
            $this->mails[] = $mail;
            return true;
        };
    }

    public function testConfigureFromInsideTheMailerIsAllOrNothingAndNeverPanics(): void
    {
        $first = $this->failing();
        $this->send();
        $inside = [];
        $this->useMailer(function (array $mail) use (&$inside): bool {
            try {
                // One bad key: refused as a whole, the good one (table_prefix) not applied either.
                OrderSync::configure(['table_prefix' => 'zz_', 'no_such_option' => 1]);
                $inside[] = 'accepted';
            } catch (ConfigException $e) {
                $inside[] = 'refused: ' . $e->getMessage();
            }
            // Valid: applied, the mailer replacing itself while it runs.
            OrderSync::configure(['http_timeout_ms' => 3000, 'mailer' => $this->collectingMailer()]);
            $inside[] = 'replaced';
            return true;
        });

        $report = OrderSync::runCron();

        $this->assertCount(2, $inside);
        $this->assertStringStartsWith('refused: ', $inside[0]);
        $this->assertStringContainsString('no_such_option', $inside[0]);
        $this->assertSame('replaced', $inside[1]);
        $this->assertTrue($report['shops'][1]['mail_sent']);
        $this->assertSame([], $report['shops'][1]['errors']);
        // The prefix is still ps_: the hook works, and the next e-mail goes to the new mailer.
        $second = $this->failing();
        OrderSync::runCron();
        OrderSync::runCron();
        $this->assertCount(1, $this->mails);
        $this->assertStringContainsString(Shop::reference($second), $this->mails[0]['template_vars']['{list_order_sync_errors_txt}']);
        $this->assertStringNotContainsString(Shop::reference($first), $this->mails[0]['template_vars']['{list_order_sync_errors_txt}'], 'the first e-mail was accepted');
    }

    public function testAThrowingMailerIsReportedAndItsOrdersAreMailedAtTheNextRun(): void
    {
        $id = $this->failing();
        $this->send();
        $this->useMailer(static function (array $mail): bool {
            throw new \RuntimeException('SMTP server unreachable');
        });

        $report = OrderSync::runCron();

        $shop = $report['shops'][1];
        $this->assertFalse($report['locked']);
        $this->assertSame(1, $shop['tickets_failed'], 'the report of the run is complete');
        $this->assertCount(1, $shop['failures']);
        $this->assertFalse($shop['mail_sent']);
        $this->assertCount(1, $shop['errors']);
        $this->assertStringContainsString('the mailer threw RuntimeException: SMTP server unreachable', $shop['errors'][0]);
        $this->assertStringContainsString('mailed at the next run', $shop['errors'][0]);
        $errors = array_column(Shop::logs('error'), 'msg');
        $this->assertContains($shop['errors'][0], $errors, 'the mail failure is in the ProcessLogger');
        $this->assertNotEmpty(array_filter(Shop::logs('success'), static fn ($l) => str_contains($l['msg'], '1 tickets with failure')), 'the run summary is logged');
        $this->assertNull(\Shoppingfeed\Sync\Tests\TestDatabase::pdo()->query("SELECT pid FROM ps_shoppingfeed_processmonitor")->fetchColumn(), 'unlocked');
        $this->assertCount(1, Shop::notices(), 'the notice waits');

        $this->useMailer($this->collectingMailer());
        $next = OrderSync::runCron()['shops'][1];

        $this->assertSame([], $next['failures'], 'nothing new failed');
        $this->assertTrue($next['mail_sent']);
        $this->assertCount(1, $this->mails);
        $this->assertSame('- Order ' . Shop::reference($id) . " : Status Shipped : Carrier not accepted\n",
            $this->mails[0]['template_vars']['{list_order_sync_errors_txt}']);
        $this->assertSame([], Shop::notices());
        OrderSync::runCron();
        $this->assertCount(1, $this->mails, 'mailed once');
    }

    public function testAMailerRefusingOneShopDoesNotSkipTheOthers(): void
    {
        Shop::secondShop();
        $inFirst = $this->failing(1, 'Refused in shop 1');
        $inSecond = $this->failing(2, 'Refused in shop 2');
        $this->send();
        $this->useMailer(function (array $mail): bool {
            if ($mail['id_shop'] === 1) {
                return false;
            }
            $this->mails[] = $mail;
            return true;
        });

        $report = OrderSync::runCron();

        $this->assertFalse($report['shops'][1]['mail_sent']);
        $this->assertStringContainsString('the mailer returned false', $report['shops'][1]['errors'][0]);
        $this->assertTrue($report['shops'][2]['mail_sent']);
        $this->assertCount(1, $this->mails);
        $this->assertSame(2, $this->mails[0]['id_shop']);
        $this->assertStringContainsString(Shop::reference($inSecond), $this->mails[0]['template_vars']['{list_order_sync_errors_txt}']);

        $this->useMailer($this->collectingMailer());
        $next = OrderSync::runCron();

        $this->assertTrue($next['shops'][1]['mail_sent']);
        $this->assertNull($next['shops'][2]['mail'], 'shop 2 was mailed already');
        $this->assertCount(2, $this->mails);
        $this->assertSame(1, $this->mails[1]['id_shop']);
        $this->assertStringContainsString(Shop::reference($inFirst) . ' : Status Shipped : Refused in shop 1',
            $this->mails[1]['template_vars']['{list_order_sync_errors_txt}']);
    }

    public function testRunCronFromInsideTheMailerAnswersLocked(): void
    {
        $this->failing();
        $this->send();
        $nested = null;
        $this->useMailer(function (array $mail) use (&$nested): bool {
            $nested = OrderSync::runCron();
            $this->mails[] = $mail;
            return true;
        });

        $outer = OrderSync::runCron();

        $this->assertIsArray($nested);
        $this->assertTrue($nested['locked'], 'no nested run');
        $this->assertSame([], $nested['shops']);
        $this->assertFalse($outer['locked']);
        $this->assertTrue($outer['shops'][1]['mail_sent']);
        $this->assertSame(1, $outer['shops'][1]['tickets_failed']);
        $this->assertFalse(OrderSync::runCron()['locked'], 'the lock is released after the run');
    }

    public function testTheConveyorMailForgetsItsNoticesOnlyOnceAccepted(): void
    {
        $id = $this->failing();
        $this->send();
        $this->useMailer(static fn (array $mail): bool => false);
        OrderSync::runCron(); // the ticket fails, the e-mail is refused: the notice waits
        $this->assertCount(1, Shop::notices());
        $conveyor = ['id_shop' => 1, 'failedTaskOrders' => [['id_order' => $id, 'reason' => 'Carrier not accepted']]];

        $refused = (new ActionsHandler())->setConveyor($conveyor)->addActions('sendFailedTaskOrdersMail')->process('shoppingfeedOrderSync');
        $this->assertFalse($refused);
        $this->assertCount(1, Shop::notices(), 'kept: the mailer refused');

        $this->useMailer($this->collectingMailer());
        $accepted = (new ActionsHandler())->setConveyor($conveyor)->addActions('sendFailedTaskOrdersMail')->process('shoppingfeedOrderSync');
        $this->assertTrue($accepted);
        $this->assertCount(1, $this->mails);
        $this->assertSame([], Shop::notices(), 'forgotten once mailed');
        OrderSync::runCron();
        $this->assertCount(1, $this->mails, 'not mailed again by the next run');
    }
}
