#!/usr/bin/env python3
"""tests/data/mysql/record.py: a tiny recording TCP relay for golden MySQL/MariaDB captures.

Listens on 127.0.0.1:LISTEN_PORT, forwards each accepted connection to 127.0.0.1:UPSTREAM_PORT,
and writes the bytes of each direction to PREFIX-<n>.c2s (client to server) and PREFIX-<n>.s2c
(server to client), n counting connections from 0. Stops after MAX_CONNECTIONS connections have
closed, or when no connection is open and none arrives for IDLE_SECONDS (5). Python 3 standard library only; plain TCP (run clients with --ssl=0 / --skip-ssl).

Usage: record.py LISTEN_PORT UPSTREAM_PORT PREFIX [MAX_CONNECTIONS]
"""
import selectors
import socket
import sys
import threading


def relay(client, upstream_port, prefix):
    server = socket.create_connection(("127.0.0.1", upstream_port))
    files = {client: open(prefix + ".c2s", "wb"), server: open(prefix + ".s2c", "wb")}
    peer = {client: server, server: client}
    sel = selectors.DefaultSelector()
    sel.register(client, selectors.EVENT_READ)
    sel.register(server, selectors.EVENT_READ)
    open_count = 2
    while open_count > 0:
        for key, _ in sel.select():
            sock = key.fileobj
            data = sock.recv(65536)
            if not data:
                sel.unregister(sock)
                open_count -= 1
                try:
                    peer[sock].shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                continue
            files[sock].write(data)
            peer[sock].sendall(data)
    for f in files.values():
        f.close()
    client.close()
    server.close()


def main():
    listen_port, upstream_port, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    max_connections = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", listen_port))
    listener.listen(16)
    listener.settimeout(5.0)  # IDLE_SECONDS
    threads = []
    n = 0
    while n < max_connections:
        try:
            client, _ = listener.accept()
        except socket.timeout:
            if all(not t.is_alive() for t in threads):
                break
            continue
        client.settimeout(None)
        t = threading.Thread(target=relay, args=(client, upstream_port, "%s-%d" % (prefix, n)))
        t.start()
        threads.append(t)
        n += 1
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
