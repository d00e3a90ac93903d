<?php
/*
 * Prints the PHP stub file of everything the shoppingfeed_sync extension registers (classes,
 * exception classes, interfaces, constants, functions, INI entries), read through Reflection from
 * the loaded extension. Used by `./dev stubs` (writes stubs/shoppingfeed_sync.stubs.php) and by
 * `./dev stubs --check` (diffs it), so the output must only depend on the extension itself:
 * everything is sorted, and INI defaults are read from a php started with `-n` (no php.ini).
 *
 *   php -d extension=target/debug/libshoppingfeed_sync.so stubs/generate.php > stubs/shoppingfeed_sync.stubs.php
 */
declare(strict_types=1);

const SFSYNC_EXTENSION = 'shoppingfeed_sync';
const SFSYNC_BODY = "throw new \\Error('Provided by the shoppingfeed_sync extension.');";
const SFSYNC_INDENT = '    ';

function fail(string $message): never
{
    fwrite(STDERR, "stubs/generate.php: $message\n");
    exit(1);
}

if (!extension_loaded(SFSYNC_EXTENSION)) {
    fail('the ' . SFSYNC_EXTENSION . ' extension is not loaded: run php -d extension=/path/to/libshoppingfeed_sync.so ' . $argv[0]);
}

/** Splits a fully qualified name into [namespace, short name]. */
function split_name(string $name): array
{
    $name = ltrim($name, '\\');
    $pos = strrpos($name, '\\');
    return $pos === false ? ['', $name] : [substr($name, 0, $pos), substr($name, $pos + 1)];
}

/** A class/interface/enum name as written in the stub: fully qualified. */
function class_ref(string $name): string
{
    return '\\' . ltrim($name, '\\');
}

function render_type(?ReflectionType $type): string
{
    if ($type === null) {
        return '';
    }
    if ($type instanceof ReflectionUnionType) {
        $parts = array_map(
            static fn (ReflectionType $t): string => $t instanceof ReflectionIntersectionType
                ? '(' . render_type($t) . ')'
                : render_type($t),
            $type->getTypes()
        );
        return implode('|', $parts);
    }
    if ($type instanceof ReflectionIntersectionType) {
        return implode('&', array_map('render_type', $type->getTypes()));
    }
    if ($type instanceof ReflectionNamedType) {
        $name = $type->getName();
        $lower = strtolower($name);
        $base = ($type->isBuiltin() || in_array($lower, ['self', 'static', 'parent'], true)) ? $name : class_ref($name);
        $nullable = $type->allowsNull() && !in_array($lower, ['mixed', 'null'], true);
        return ($nullable ? '?' : '') . $base;
    }
    return (string) $type;
}

/** A constant expression for a value (defaults, constants). */
function render_value(mixed $value): string
{
    if ($value === null) {
        return 'null';
    }
    if (is_bool($value)) {
        return $value ? 'true' : 'false';
    }
    if (is_int($value) || is_string($value)) {
        return var_export($value, true);
    }
    if (is_float($value)) {
        if (is_nan($value)) {
            return '\\NAN';
        }
        if (is_infinite($value)) {
            return $value > 0 ? '\\INF' : '-\\INF';
        }
        return var_export($value, true);
    }
    if (is_array($value)) {
        if ($value === []) {
            return '[]';
        }
        $items = [];
        $list = array_is_list($value);
        foreach ($value as $k => $v) {
            $items[] = ($list ? '' : render_value($k) . ' => ') . render_value($v);
        }
        return '[' . implode(', ', $items) . ']';
    }
    if ($value instanceof UnitEnum) {
        return class_ref(get_class($value)) . '::' . $value->name;
    }
    return 'null /* ' . get_debug_type($value) . ' */';
}

function render_parameter(ReflectionParameter $p): string
{
    $type = render_type($p->getType());
    $out = ($type === '' ? '' : $type . ' ')
        . ($p->isPassedByReference() ? '&' : '')
        . ($p->isVariadic() ? '...' : '')
        . '$' . $p->getName();
    if ($p->isVariadic() || !$p->isOptional()) {
        return $out;
    }
    if ($p->isDefaultValueAvailable()) {
        try {
            if ($p->isDefaultValueConstant()) {
                $const = (string) $p->getDefaultValueConstantName();
                $isClassConst = str_contains($const, '::');
                if ($isClassConst && preg_match('/^(self|static|parent)::/i', $const)) {
                    return $out . ' = ' . $const;
                }
                return $out . ' = ' . class_ref($const);
            }
            return $out . ' = ' . render_value($p->getDefaultValue());
        } catch (ReflectionException $e) {
            // Fall through: an internal default that Reflection cannot evaluate.
        }
    }
    return $out . ($p->allowsNull() ? ' = null' : ' /* = <unknown> */');
}

function render_signature(ReflectionFunctionAbstract $f, string $name): string
{
    $params = implode(', ', array_map('render_parameter', $f->getParameters()));
    $ret = $f->hasReturnType() ? $f->getReturnType()
        : ($f->hasTentativeReturnType() ? $f->getTentativeReturnType() : null);
    $retStr = render_type($ret);
    return 'function ' . ($f->returnsReference() ? '&' : '') . $name . '(' . $params . ')'
        . ($retStr === '' ? '' : ': ' . $retStr);
}

function visibility(Reflector $r): string
{
    /** @var ReflectionMethod|ReflectionProperty|ReflectionClassConstant $r */
    return $r->isPrivate() ? 'private' : ($r->isProtected() ? 'protected' : 'public');
}

function by_name(array $items): array
{
    usort($items, static fn ($a, $b): int => strcmp($a->getName(), $b->getName()));
    return $items;
}

/** Constructor first, then the other methods by name. */
function method_order(array $methods): array
{
    usort($methods, static function (ReflectionMethod $a, ReflectionMethod $b): int {
        $ac = $a->isConstructor() ? 0 : 1;
        $bc = $b->isConstructor() ? 0 : 1;
        return $ac <=> $bc ?: strcmp(strtolower($a->getName()), strtolower($b->getName())) ?: strcmp($a->getName(), $b->getName());
    });
    return $methods;
}

function render_class(ReflectionClass $c): string
{
    $name = $c->getName();
    [, $short] = split_name($name);
    $i = SFSYNC_INDENT;
    $parent = $c->getParentClass();

    // Only the interfaces this class adds: not those of its parent or implied by another one.
    $interfaces = $c->getInterfaceNames();
    $inherited = $parent ? $parent->getInterfaceNames() : [];
    foreach ($interfaces as $iface) {
        $inherited = array_merge($inherited, (new ReflectionClass($iface))->getInterfaceNames());
    }
    $own = array_values(array_diff($interfaces, $inherited));
    sort($own, SORT_STRING);
    $own = array_map('class_ref', $own);

    if ($c->isInterface()) {
        $head = 'interface ' . $short . ($own ? ' extends ' . implode(', ', $own) : '');
    } elseif ($c->isEnum()) {
        $backing = (new ReflectionEnum($name))->getBackingType();
        $own = array_values(array_diff($own, ['\\UnitEnum', '\\BackedEnum']));
        $head = 'enum ' . $short . ($backing ? ': ' . render_type($backing) : '')
            . ($own ? ' implements ' . implode(', ', $own) : '');
    } elseif ($c->isTrait()) {
        $head = 'trait ' . $short;
    } else {
        $mods = '';
        if ($c->isFinal()) {
            $mods .= 'final ';
        }
        if ($c->isAbstract()) {
            $mods .= 'abstract ';
        }
        if (method_exists($c, 'isReadOnly') && $c->isReadOnly()) {
            $mods .= 'readonly ';
        }
        $head = $mods . 'class ' . $short
            . ($parent ? ' extends ' . class_ref($parent->getName()) : '')
            . ($own ? ' implements ' . implode(', ', $own) : '');
    }

    $body = [];
    if ($c->isEnum()) {
        foreach ((new ReflectionEnum($name))->getCases() as $case) {
            $body[] = $i . 'case ' . $case->getName()
                . ($case instanceof ReflectionEnumBackedCase ? ' = ' . render_value($case->getBackingValue()) : '') . ';';
        }
    }
    $constants = array_filter(
        $c->getReflectionConstants(),
        static fn (ReflectionClassConstant $k): bool => $k->getDeclaringClass()->getName() === $name && !$k->isEnumCase()
    );
    foreach (by_name($constants) as $k) {
        $body[] = $i . ($k->isFinal() ? 'final ' : '') . visibility($k) . ' const ' . $k->getName()
            . ' = ' . render_value($k->getValue()) . ';';
    }
    $properties = array_filter(
        $c->getProperties(),
        static fn (ReflectionProperty $p): bool => $p->getDeclaringClass()->getName() === $name
    );
    foreach (by_name($properties) as $p) {
        $type = render_type($p->getType());
        $line = $i . visibility($p) . ($p->isStatic() ? ' static' : '') . ($p->isReadOnly() ? ' readonly' : '')
            . ($type === '' ? '' : ' ' . $type) . ' $' . $p->getName();
        if ($p->hasDefaultValue() && !($p->getDefaultValue() === null && $p->hasType() && !$p->getType()->allowsNull())) {
            $line .= ' = ' . render_value($p->getDefaultValue());
        }
        $body[] = $line . ';';
    }
    $methods = array_filter(
        $c->getMethods(),
        static fn (ReflectionMethod $m): bool => $m->getDeclaringClass()->getName() === $name
    );
    foreach (method_order($methods) as $m) {
        $mods = ($m->isFinal() && !$c->isFinal() ? 'final ' : '')
            . ($m->isAbstract() && !$c->isInterface() ? 'abstract ' : '')
            . visibility($m) . ($m->isStatic() ? ' static' : '');
        $sig = $i . $mods . ' ' . render_signature($m, $m->getName());
        if ($m->isAbstract() || $c->isInterface()) {
            $body[] = $sig . ';';
        } else {
            $body[] = $sig . "\n" . $i . "{\n" . $i . $i . SFSYNC_BODY . "\n" . $i . '}';
        }
    }

    if ($body === []) {
        return $head . "\n{\n}";
    }
    return $head . "\n{\n" . implode("\n\n", $body) . "\n}";
}

/** Depth in the extension's own inheritance chain, so that parents come before their children. */
function depth(ReflectionClass $c, array $own): int
{
    $d = 0;
    for ($p = $c->getParentClass(); $p !== false; $p = $p->getParentClass()) {
        if (isset($own[strtolower($p->getName())])) {
            $d++;
        }
    }
    return $d;
}

/** The INI entries with their built-in defaults, read from a php without php.ini (-n). */
function ini_entries(ReflectionExtension $ext): array
{
    $names = array_keys($ext->getINIEntries());
    sort($names, SORT_STRING);
    if ($names === []) {
        return [];
    }
    $defaults = null;
    $so = null;
    if (is_readable('/proc/self/maps')) {
        foreach (file('/proc/self/maps', FILE_IGNORE_NEW_LINES) ?: [] as $line) {
            if (preg_match('#\s(/\S*' . preg_quote(SFSYNC_EXTENSION, '#') . '\S*\.so)$#', $line, $m)) {
                $so = $m[1];
                break;
            }
        }
    }
    if ($so !== null) {
        $code = 'echo json_encode(ini_get_all(' . var_export(SFSYNC_EXTENSION, true) . ', true));';
        $cmd = [PHP_BINARY, '-n', '-d', 'extension=' . $so, '-r', $code];
        $proc = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        if (is_resource($proc)) {
            $json = stream_get_contents($pipes[1]);
            fclose($pipes[1]);
            fclose($pipes[2]);
            if (proc_close($proc) === 0) {
                $decoded = json_decode((string) $json, true);
                $defaults = is_array($decoded) ? $decoded : null;
            }
        }
    }
    if ($defaults === null) {
        fail('cannot read the built-in INI defaults (php -n with the extension failed)');
    }
    $access = static function (int $a): string {
        if (($a & INI_ALL) === INI_ALL) {
            return 'PHP_INI_ALL';
        }
        $names = [];
        foreach ([INI_USER => 'PHP_INI_USER', INI_PERDIR => 'PHP_INI_PERDIR', INI_SYSTEM => 'PHP_INI_SYSTEM'] as $bit => $n) {
            if ($a & $bit) {
                $names[] = $n;
            }
        }
        return $names ? implode('|', $names) : 'none';
    };
    $rows = [];
    foreach ($names as $n) {
        $d = $defaults[$n] ?? null;
        $rows[] = [$n, $d === null ? '?' : json_encode((string) $d['global_value'], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), $d === null ? '?' : $access((int) $d['access'])];
    }
    return $rows;
}

$ext = new ReflectionExtension(SFSYNC_EXTENSION);

// namespace => ['classes' => [...], 'functions' => [...], 'constants' => [...]]
$spaces = [];
$classes = $ext->getClasses();
$ownLower = [];
foreach ($classes as $c) {
    $ownLower[strtolower($c->getName())] = true;
}
foreach ($classes as $c) {
    [$ns] = split_name($c->getName());
    $spaces[$ns]['classes'][] = $c;
}
foreach ($ext->getFunctions() as $f) {
    [$ns] = split_name($f->getName());
    $spaces[$ns]['functions'][] = $f;
}
foreach ($ext->getConstants() as $name => $value) {
    [$ns, $short] = split_name($name);
    $spaces[$ns]['constants'][$short] = $value;
}
// Named namespaces by name, then the global one.
uksort($spaces, static fn ($a, $b): int => ((string) $a === '') <=> ((string) $b === '') ?: strcmp((string) $a, (string) $b));

$out = "<?php\n\n";
$out .= "// @generated by ./dev stubs (stubs/generate.php) from the " . SFSYNC_EXTENSION . " extension.\n";
$out .= "// Do not edit by hand: change the extension, rebuild, then run ./dev stubs.\n\n";
$out .= "/**\n * Stubs of the " . SFSYNC_EXTENSION . " PHP extension, for IDEs and static analysis only:\n"
    . " * never include this file at run time (the extension provides these declarations).\n";
$ini = ini_entries($ext);
if ($ini !== []) {
    $w = max(array_map(static fn (array $r): int => strlen($r[0] . ' = ' . $r[1]), $ini));
    $out .= " *\n * INI entries (php.ini; built-in default; where it may be changed):\n";
    foreach ($ini as [$n, $d, $a]) {
        $out .= ' *   ' . str_pad($n . ' = ' . $d, $w) . '  ; ' . $a . "\n";
    }
}
$out .= " */\n";

foreach ($spaces as $ns => $items) {
    $i = SFSYNC_INDENT;
    $blocks = [];
    $consts = $items['constants'] ?? [];
    ksort($consts, SORT_STRING);
    foreach ($consts as $short => $value) {
        $blocks[] = $i . 'const ' . $short . ' = ' . render_value($value) . ';';
    }
    foreach (by_name($items['functions'] ?? []) as $f) {
        [, $short] = split_name($f->getName());
        $blocks[] = $i . render_signature($f, $short) . "\n" . $i . "{\n" . $i . $i . SFSYNC_BODY . "\n" . $i . '}';
    }
    $cls = $items['classes'] ?? [];
    usort($cls, static fn (ReflectionClass $a, ReflectionClass $b): int => depth($a, $ownLower) <=> depth($b, $ownLower) ?: strcmp($a->getName(), $b->getName()));
    foreach ($cls as $c) {
        $blocks[] = implode("\n", array_map(
            static fn (string $l): string => $l === '' ? '' : $i . $l,
            explode("\n", render_class($c))
        ));
    }
    $out .= "\nnamespace" . ($ns === '' ? '' : ' ' . $ns) . " {\n" . implode("\n\n", $blocks) . "\n}\n";
}

echo $out;
