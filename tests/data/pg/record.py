#!/usr/bin/env python3
"""tests/data/pg/record.py: a tiny recording TCP relay for golden PostgreSQL captures.

Listens on 127.0.0.1:LISTEN, relays each accepted connection to 127.0.0.1:UPSTREAM, and writes
the two byte streams of connection N to OUT.N.c2s (client -> server) and OUT.N.s2c (server ->
client), exactly as they crossed the relay. Clients must use sslmode=disable (and
gssencmode=disable) so the streams are plain protocol. Exits after --connections connections
have closed, or on SIGTERM/SIGINT. Python 3 standard library only.

Used by tests/data/pg/record.sh; the captures feed tests/parsers/pg/capture_test.cc and the
fuzz seeds in fuzz/corpus/pg_frontend and fuzz/corpus/pg_backend.
"""

import argparse
import selectors
import signal
import socket
import sys
import threading


def relay(client, upstream_port, prefix):
    """Copies bytes both ways until either side closes; records each direction."""
    server = socket.create_connection(("127.0.0.1", upstream_port))
    sel = selectors.DefaultSelector()
    files = {
        client: open(prefix + ".c2s", "wb"),
        server: open(prefix + ".s2c", "wb"),
    }
    peer = {client: server, server: client}
    for sock in (client, server):
        sel.register(sock, selectors.EVENT_READ)
    open_socks = 2
    try:
        while open_socks:
            for key, _ in sel.select():
                sock = key.fileobj
                data = sock.recv(65536)
                if not data:
                    sel.unregister(sock)
                    open_socks -= 1
                    try:
                        peer[sock].shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                files[sock].write(data)
                peer[sock].sendall(data)
    finally:
        for f in files.values():
            f.close()
        client.close()
        server.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--upstream", type=int, required=True)
    parser.add_argument("--out", required=True, help="path prefix of the capture files")
    parser.add_argument("--connections", type=int, default=0, help="exit after N (0: never)")
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.listen))
    listener.listen(16)
    print("record.py: listening on %d" % args.listen, flush=True)
    threads = []
    index = 0
    while args.connections == 0 or index < args.connections:
        client, _ = listener.accept()
        thread = threading.Thread(
            target=relay, args=(client, args.upstream, "%s.%d" % (args.out, index)))
        thread.start()
        threads.append(thread)
        index += 1
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
