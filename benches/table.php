<?php
/** The plain text (Markdown) table of the benchmarks and of the reliability suite. */

declare(strict_types=1);

/** A plain text table. */
function table(array $head, array $rows): string {
    $w = array_map('mb_strlen', $head);
    foreach ($rows as $r) { foreach (array_values($r) as $i => $c) { $w[$i] = max($w[$i] ?? 0, mb_strlen((string) $c)); } }
    $fmt = static function (array $r) use ($w): string {
        $cells = [];
        foreach (array_values($r) as $i => $c) { $c = (string) $c; $cells[] = $c . str_repeat(' ', $w[$i] - mb_strlen($c)); }
        return '| ' . implode(' | ', $cells) . ' |';
    };
    $lines = [$fmt($head), '|' . implode('|', array_map(static fn ($x) => str_repeat('-', $x + 2), $w)) . '|'];
    foreach ($rows as $r) { $lines[] = $fmt($r); }
    return implode("\n", $lines);
}
