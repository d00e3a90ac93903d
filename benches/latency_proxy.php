<?php
/**
 * A TCP proxy that delays what it forwards, in each direction: a database "across a network" for
 * the hook benchmark (hook.php --db-delay-us), where this VM's kernel has no `tc netem`. Each chunk
 * read is written to the other side N µs after it arrived, like a link's propagation delay: chunks
 * that follow each other closely (a result set, then the OK of a CALL) stay close. One process; the
 * last 300 µs before a deadline are spent polling, because usleep()/select() overshoot by 50-100 µs
 * here. Both the extension and the PHP baseline go through it; hook.php reports the round trip it
 * measures through it (which includes the proxy's own hops).
 *
 *   php benches/latency_proxy.php <listen port> <upstream port> <delay µs, each way>
 *
 * Prints "ready" once listening; runs until killed. Needs the sockets extension (TCP_NODELAY:
 * without it Nagle's algorithm would hold a response's second packet for the client's delayed ACK).
 */

declare(strict_types=1);

[$listenPort, $upstreamPort, $delayUs] = array_map('intval', array_slice($argv, 1, 3)) + [0, 0, 0];
if ($listenPort <= 0 || $upstreamPort <= 0 || $delayUs < 0) {
    fwrite(STDERR, "usage: php latency_proxy.php <listen port> <upstream port> <delay µs>\n");
    exit(2);
}

function no_delay($stream): void
{
    $socket = socket_import_stream($stream);
    if ($socket === false || !socket_set_option($socket, SOL_TCP, TCP_NODELAY, 1)) {
        fwrite(STDERR, "latency_proxy: cannot set TCP_NODELAY\n");
        exit(1);
    }
}

function write_all($stream, string $data): bool
{
    while ($data !== '') {
        $n = fwrite($stream, $data);
        if ($n === false || $n === 0) {
            return false;
        }
        $data = substr($data, $n);
    }
    return true;
}

$server = stream_socket_server("tcp://127.0.0.1:$listenPort", $errno, $error);
if ($server === false) {
    fwrite(STDERR, "latency_proxy: cannot listen on $listenPort: $error\n");
    exit(1);
}
echo "ready\n";
flush();

$other = []; // socket id => the socket at the other end
$sockets = [];
$queue = []; // [deadline ns, socket id of the destination, destination, data], in arrival order
$delayNs = $delayUs * 1000;
while (true) {
    $now = hrtime(true);
    while ($queue !== [] && $queue[0][0] <= $now) {
        [, $id, $to, $data] = array_shift($queue);
        if (isset($sockets[$id])) {
            write_all($to, $data);
        }
    }
    $read = array_values($sockets);
    $read[] = $server;
    $write = $except = null;
    if ($queue === []) {
        $ready = stream_select($read, $write, $except, null);
    } else {
        $waitUs = intdiv($queue[0][0] - $now, 1000) - 300;
        $ready = stream_select($read, $write, $except, 0, max(0, $waitUs));
    }
    if ($ready === false) {
        break;
    }
    foreach ($read as $s) {
        if ($s === $server) {
            $client = @stream_socket_accept($server, 5);
            $upstream = @stream_socket_client("tcp://127.0.0.1:$upstreamPort", $errno, $error, 5);
            if ($client === false || $upstream === false) {
                fwrite(STDERR, "latency_proxy: connection failed: $error\n");
                continue;
            }
            no_delay($client);
            no_delay($upstream);
            // select() must see every byte: no data may wait in PHP's stream buffer.
            stream_set_read_buffer($client, 0);
            stream_set_read_buffer($upstream, 0);
            $sockets[(int) $client] = $client;
            $sockets[(int) $upstream] = $upstream;
            $other[(int) $client] = $upstream;
            $other[(int) $upstream] = $client;
            continue;
        }
        $data = fread($s, 1 << 16);
        $peer = $other[(int) $s] ?? null;
        if ($data === false || $data === '' || $peer === null) {
            foreach ([$s, $peer] as $x) {
                if ($x !== null) {
                    unset($sockets[(int) $x], $other[(int) $x]);
                    fclose($x);
                }
            }
            continue;
        }
        $queue[] = [hrtime(true) + $delayNs, (int) $peer, $peer, $data];
    }
}
