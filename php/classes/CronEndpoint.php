<?php
/**
 * What the CRON URL answers, apart from PrestaShop (the front controller only does HTTP), so that
 * it can be unit-tested. Bodies and wording are the reference module's CronController's.
 */

namespace ShoppingfeedSync;

final class CronEndpoint
{
    public const ERROR_AUTH = 'Authentication failed';
    public const ERROR_LOCKED = 'Lock return false. Process ID already in run.';

    /**
     * @param string|null $givenKey    the request's secure_key (null when missing)
     * @param string      $expectedKey the module's key
     * @param callable    $runCron     runs the CRON and returns OrderSync::runCron()'s report
     *
     * @return array{0: int, 1: array} HTTP status and JSON body
     */
    public static function handle(?string $givenKey, string $expectedKey, callable $runCron): array
    {
        // hash_equals: the comparison time must not tell how much of a guessed key is right.
        if ($expectedKey === '' || $givenKey === null || !hash_equals($expectedKey, $givenKey)) {
            return [403, ['success' => false, 'error' => self::ERROR_AUTH]];
        }
        try {
            $report = $runCron();
        } catch (\Throwable $e) {
            return [500, ['success' => false, 'error' => $e->getMessage()]];
        }
        if (!is_array($report)) {
            return [500, ['success' => false, 'error' => 'The CRON run returned no report.']];
        }
        if (!empty($report['locked'])) {
            // 409, not 200: a CRON service should show that this call did nothing.
            return [409, ['success' => false, 'error' => self::ERROR_LOCKED]];
        }

        return [200, ['success' => true, 'report' => $report]];
    }
}
