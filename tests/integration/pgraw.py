#!/usr/bin/env python3
"""pgraw: a scriptable raw PostgreSQL v3 protocol client for the integration tests.

Usage: python3 pgraw.py [-t] [-x] [-w SECONDS] CONNINFO < SCRIPT
Sends exactly the messages the script says and prints every backend message decoded, one a
line. Standard library only. See tests/integration/pgraw.md.
"""
import base64, collections, hashlib, hmac, os, re, socket, struct, sys, threading, time

USAGE = "usage: pgraw.py [-t] [-x] [-w SECONDS] CONNINFO < SCRIPT  (see pgraw.md)"
MAX_MSG = 1 << 30
T0 = time.monotonic()
OPT = {"t": False, "x": False, "w": 60.0}
OUT_LOCK = threading.Lock()


class Lost(Exception):
    pass


def out(line):
    with OUT_LOCK:
        if OPT["t"]:
            line = "t=%d %s" % ((time.monotonic() - T0) * 1000, line)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def die(code, line):
    out(line) if code == 1 else sys.stderr.write("pgraw: " + line + "\n")
    sys.exit(code)


SAFE = bytes(c for c in range(0x20, 0x7F) if c not in b"'\\")


def esc(b, extra=b""):
    """Printable ASCII as is, everything else (and ' \\ and EXTRA) as \\xHH."""
    if not extra and not b.translate(None, SAFE):
        return b.decode("ascii")
    return "".join(chr(c) if 0x20 <= c < 0x7F and c not in b"'\\" + extra else "\\x%02x" % c
                   for c in b)


def flat(b):
    return " ".join(b.decode("utf-8", "replace").split())


def value(b, binary=False):
    if b is None:
        return "NULL"
    return "x'%s'" % b.hex() if binary or OPT["x"] else "'%s'" % esc(b)


CONNINFO_RE = re.compile(r"\s*([A-Za-z_]+)\s*=\s*"
                         r"(?:'((?:\\.|[^'\\])*)'|((?:\\.|[^\s'\\])*))(?=\s|$)")
CONNINFO_KEYS = ("host", "hostaddr", "port", "user", "dbname", "password", "sslmode",
                 "application_name", "options", "connect_timeout")


def parse_conninfo(s):
    """libpq keyword=value string; a value may be single-quoted, \\ escapes the next char."""
    kv, pos = {}, 0
    while s[pos:].strip():
        m = CONNINFO_RE.match(s, pos)
        if not m:
            die(2, "conninfo: cannot parse at %r" % s[pos:])
        if m.group(1) not in CONNINFO_KEYS:
            die(2, "conninfo: unsupported keyword %r" % m.group(1))
        kv[m.group(1)] = re.sub(r"\\(.)", r"\1", m.group(2) if m.group(2) is not None
                                else m.group(3))
        pos = m.end()
    return kv


def cstrings(body):
    return body.split(b"\0")


def fields(body):
    """ErrorResponse / NoticeResponse fields as {code: bytes}."""
    return {f[:1].decode("latin-1"): f[1:] for f in body.split(b"\0") if f}


class Conn:
    def __init__(self, sock):
        self.sock, self.buf, self.send_lock = sock, bytearray(), threading.Lock()

    def send(self, typ, body=b""):
        data = (typ.encode() if typ else b"") + struct.pack("!I", len(body) + 4) + body
        try:
            with self.send_lock:
                self.sock.sendall(data)
        except OSError as e:
            raise Lost(str(e))

    def read_exact(self, n):
        while len(self.buf) < n and len(self.buf) < 65536:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Lost("eof")
            self.buf += chunk
        if len(self.buf) >= n:
            data = bytes(self.buf[:n])
            del self.buf[:n]
            return data
        data, got = bytearray(n), len(self.buf)  # a big frame: recv straight into place
        data[:got], self.buf = self.buf, bytearray()
        view = memoryview(data)
        while got < n:
            k = self.sock.recv_into(view[got:], n - got)
            if not k:
                raise Lost("eof")
            got += k
        return bytes(data)

    def read_msg(self):
        try:
            head = self.read_exact(5)
            length = struct.unpack("!I", head[1:])[0]
            if length < 4 or length > MAX_MSG + 4:
                raise Lost("bad message length %d for type %r" % (length, head[:1]))
            return head[:1].decode("latin-1"), self.read_exact(length - 4)
        except OSError as e:
            raise Lost(str(e))


def describe_msg(typ, body, formats):
    """One output line for a backend message; formats = result format codes for D."""
    if typ == "D":
        n, off, vals = struct.unpack("!H", body[:2])[0], 2, []
        for i in range(n):
            ln = struct.unpack("!i", body[off:off + 4])[0]
            off += 4
            v = None if ln < 0 else body[off:off + ln]
            off += max(ln, 0)
            f = formats[i] if len(formats) > 1 and i < len(formats) else (formats or [0])[0]
            vals.append(value(v, f == 1))
        return " ".join(["D"] + vals)
    if typ == "T":
        n, off, cols = struct.unpack("!H", body[:2])[0], 2, []
        for _ in range(n):
            z = body.index(b"\0", off)
            name = esc(body[off:z], b" ,:")
            tab, att, oid, _, _, fmt = struct.unpack("!IhIhih", body[z + 1:z + 19])
            off = z + 19
            cols.append("%s:%d:%d:%d:%d" % (name, oid, tab, att, fmt))
        return "T n=%d %s" % (n, ",".join(cols)) if cols else "T n=0"
    if typ in "EN":
        f = fields(body)
        line = "%s sqlstate=%s severity=%s message=%s" % (
            typ, f.get("C", b"").decode(), (f.get("V") or f.get("S", b"")).decode(),
            flat(f.get("M", b"")))
        return line + (" detail=" + flat(f["D"]) if "D" in f else "")
    if typ == "C":
        return "C " + body.rstrip(b"\0").decode("utf-8", "replace")
    if typ == "Z":
        return "Z " + body.decode("latin-1")
    if typ in "123nsIc":
        return typ
    if typ == "t":
        n = struct.unpack("!H", body[:2])[0]
        oids = struct.unpack("!%dI" % n, body[2:2 + 4 * n])
        return ("t n=%d " % n + ",".join(map(str, oids))).rstrip()
    if typ in "HGW":
        return "%s format=%d columns=%d" % (typ, body[0], struct.unpack("!H", body[1:3])[0])
    if typ == "d":
        return "d " + value(body)
    if typ == "A":
        pid = struct.unpack("!i", body[:4])[0]
        parts = cstrings(body[4:])
        return "A pid=%d channel=%s payload=%s" % (pid, esc(parts[0]), value(parts[1]))
    if typ == "S":
        k, v = cstrings(body)[:2]
        return "S %s=%s" % (k.decode("utf-8", "replace"), v.decode("utf-8", "replace"))
    if typ == "K":
        return "K pid=%d key=%d" % struct.unpack("!iI", body[:8])
    if typ == "v":
        minor, n = struct.unpack("!iI", body[:8])
        return "v minor=%d options=%s" % (minor, ",".join(
            x.decode() for x in cstrings(body[8:]) if x) or "-")
    return "? %s len=%d" % (esc(typ.encode("latin-1")), len(body) + 4)


def scram(conn, user, password, mechs):
    if "SCRAM-SHA-256" not in mechs:
        die(1, "error sqlstate=08001 message=pgraw: no supported SASL mechanism in %s" % mechs)
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = "n=,r=" + nonce
    msg = ("n,," + first_bare).encode()
    conn.send("p", b"SCRAM-SHA-256\0" + struct.pack("!i", len(msg)) + msg)
    typ, body = auth_msg(conn, 11)
    server_first = body[4:].decode()
    attrs = dict(a.split("=", 1) for a in server_first.split(","))
    if not attrs["r"].startswith(nonce):
        die(1, "error sqlstate=08001 message=pgraw: SCRAM server nonce does not extend ours")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]),
                                 int(attrs["i"]))
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    final_bare = "c=biws,r=" + attrs["r"]
    auth = ",".join([first_bare, server_first, final_bare]).encode()
    sig = hmac.digest(hashlib.sha256(client_key).digest(), auth, "sha256")
    proof = bytes(a ^ b for a, b in zip(client_key, sig))
    conn.send("p", (final_bare + ",p=" + base64.b64encode(proof).decode()).encode())
    typ, body = auth_msg(conn, 12)
    server_sig = hmac.digest(hmac.digest(salted, b"Server Key", "sha256"), auth, "sha256")
    if body[4:].decode() != "v=" + base64.b64encode(server_sig).decode():
        die(1, "error sqlstate=08001 message=pgraw: SCRAM server signature does not match")


def auth_msg(conn, want):
    typ, body = conn.read_msg()
    if typ == "E":
        startup_error(body)
    code = struct.unpack("!i", body[:4])[0] if typ == "R" else -1
    out("R %s" % {11: "sasl-continue", 12: "sasl-final"}.get(code, code))
    if code != want:
        die(1, "error sqlstate=08P01 message=pgraw: expected authentication %d, got %s %s"
            % (want, typ, code))
    return typ, body


def startup_error(body):
    out(describe_msg("E", body, []))
    f = fields(body)
    die(1, "error sqlstate=%s message=%s" % (f.get("C", b"").decode(), flat(f.get("M", b""))))


def connect(ci):
    if ci.get("sslmode", "disable") != "disable":
        die(2, "only sslmode=disable is supported (got sslmode=%s)" % ci["sslmode"])
    host = ci.get("hostaddr") or ci.get("host") or os.environ.get("PGHOST", "127.0.0.1")
    port = int(ci.get("port") or os.environ.get("PGPORT", "5432"))
    user = ci.get("user") or os.environ.get("PGUSER") or os.environ.get("USER", "postgres")
    password = ci.get("password", os.environ.get("PGPASSWORD"))
    timeout = float(ci.get("connect_timeout") or 30)
    try:
        if host.startswith("/"):
            sock = socket.socket(socket.AF_UNIX)
            sock.settimeout(timeout)
            sock.connect("%s/.s.PGSQL.%d" % (host, port))
        else:
            sock = socket.create_connection((host, port), timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as e:
        die(1, "error sqlstate=08001 message=could not connect to %s:%d: %s" % (host, port, e))
    conn = Conn(sock)
    params = {"user": user, "database": ci.get("dbname") or os.environ.get("PGDATABASE", user),
              "application_name": ci.get("application_name", "pgraw")}
    if "options" in ci:
        params["options"] = ci["options"]
    body = struct.pack("!i", 196608) + b"".join(
        k.encode() + b"\0" + v.encode() + b"\0" for k, v in params.items()) + b"\0"
    try:
        conn.send(None, body)
        while True:
            typ, body = conn.read_msg()
            if typ == "E":
                startup_error(body)
            if typ != "R":
                out(describe_msg(typ, body, []))
                if typ == "Z":
                    break
                continue
            code = struct.unpack("!i", body[:4])[0]
            name = {0: "ok", 3: "cleartext", 5: "md5", 10: "sasl"}.get(code, str(code))
            out("R " + name + (" " + ",".join(x.decode() for x in cstrings(body[4:]) if x)
                               if code == 10 else ""))
            if code == 0:
                continue
            if code not in (3, 5, 10):
                die(1, "error sqlstate=08001 message=pgraw: unsupported authentication %d" % code)
            if password is None:
                die(1, "error sqlstate=08001 message=pgraw: the server asked for a password"
                    " and CONNINFO has none")
            if code == 3:
                conn.send("p", password.encode() + b"\0")
            elif code == 5:
                inner = hashlib.md5((password + user).encode()).hexdigest().encode()
                conn.send("p", b"md5" + hashlib.md5(inner + body[4:8]).hexdigest().encode()
                          + b"\0")
            else:
                scram(conn, user, password, [x.decode() for x in cstrings(body[4:]) if x])
    except (Lost, socket.timeout) as e:
        die(1, "error sqlstate=08006 message=connection lost during startup: %s" % e)
    sock.settimeout(None)
    out("ok connected")
    return conn


class Session:
    """Sends script commands; a reader thread prints replies and follows what is outstanding.

    pending: the sent messages whose replies have not all arrived, in order, as (kind, formats)
    with kind P B D(escribe) E(xecute) C(lose) S(ync) Q(uery)."""

    def __init__(self, conn):
        self.conn, self.pending, self.portals = conn, collections.deque(), {}
        self.cond, self.lost, self.done, self.formats = threading.Condition(), False, False, []
        threading.Thread(target=self.reader, daemon=True).start()

    def outstanding(self):
        return sum(1 for k, _ in self.pending if k in "SQ")

    def send(self, kind, typ, body=b"", formats=()):
        with self.cond:
            if kind:
                self.pending.append((kind, list(formats)))
        self.conn.send(typ, body)

    def reader(self):
        try:
            while True:
                typ, body = self.conn.read_msg()
                with self.cond:
                    self.on_msg(typ, body)
                    self.cond.notify_all()
        except (struct.error, ValueError, IndexError) as e:  # a malformed message
            with self.cond:
                out("error cannot decode a %r message: %s" % (typ, e))
                self.lost = True
                self.cond.notify_all()
        except Lost:
            with self.cond:
                if not self.done:
                    out("error connection lost")
                self.lost = True
                self.cond.notify_all()

    def on_msg(self, typ, body):
        p = self.pending
        head = p[0][0] if p else ""
        # an Execute's rows have its Bind's formats; a Query's those of the T before them
        out(describe_msg(typ, body, p[0][1] if typ == "D" and head == "E" else self.formats))
        if typ == "T" and head == "Q":
            self.formats = list(struct.unpack("!h", body[o - 2:o])[0]
                                for o in self.field_ends(body))
        if typ in "12" and head in "PB" or typ in "3" and head == "C":
            p.popleft()
        elif typ in "Tn" and head == "D":
            p.popleft()
        elif typ in "CsI":
            self.formats = []
            if head == "E":
                p.popleft()
        elif typ == "G":  # pgraw never sends COPY data: refuse it so the server moves on
            self.conn.send("f", b"pgraw sends no COPY data\0")
            if head == "E":  # the server ignored any Sync sent during the copy: send another
                self.conn.send("S")
                if not self.outstanding():
                    p.append(("S", []))
        elif typ == "E" and head and head not in "QS":
            self.formats = []
            while p and p[0][0] not in "SQ":
                p.popleft()
        elif typ == "Z":
            self.formats = []
            while p and p.popleft()[0] not in "SQ":
                pass

    @staticmethod
    def field_ends(body):
        off = 2
        for _ in range(struct.unpack("!H", body[:2])[0]):
            off = body.index(b"\0", off) + 19
            yield off

    def wait(self):
        with self.cond:
            if not self.cond.wait_for(lambda: self.lost or not self.outstanding(), OPT["w"]):
                out("error timeout: no ReadyForQuery within %g s" % OPT["w"])
                sys.exit(1)
            if self.lost:
                sys.exit(1)

    def sleep(self, secs):
        with self.cond:
            self.cond.wait_for(lambda: self.lost, secs)
            if self.lost:
                sys.exit(1)


def name(s):
    return b"" if s == "-" else s.encode()


def run_line(sess, line, lineno):
    words = line.split()
    cmd, args = words[0], words[1:]

    def rest(k):  # the text after the first k words, spacing kept ("" if none)
        parts = line.strip().split(None, k)
        return parts[k].encode() if len(parts) > k else b""

    def want(lo, hi=None):
        if len(args) < lo or (hi is not None and len(args) > hi):
            raise ValueError("wrong number of arguments")

    if cmd == "query":
        sess.send("Q", "Q", rest(1) + b"\0")
    elif cmd == "parse":
        want(2)
        sess.send("P", "P", name(args[0]) + b"\0" + rest(2) + b"\0" + b"\0\0")
    elif cmd in ("bind", "bindp"):
        want(2)
        portal, stmt, extra = args[0], args[1], args[2:]
        if cmd == "bind":
            fmts, params = [int(f) for f in extra], []
            if any(f not in (0, 1) for f in fmts):
                raise ValueError("format codes are 0 or 1")
        else:
            want(3)
            fmts, params = [], [None if v == "\\N" else v.encode() for v in extra]
        body = name(portal) + b"\0" + name(stmt) + b"\0" + struct.pack("!hh", 0, len(params))
        for v in params:
            body += struct.pack("!i", -1) if v is None else struct.pack("!i", len(v)) + v
        body += struct.pack("!h%dh" % len(fmts), len(fmts), *fmts)
        sess.portals[name(portal)] = fmts
        sess.send("B", "B", body)
    elif cmd in ("describe", "close"):
        want(2, 2)
        if args[0] not in ("S", "P"):
            raise ValueError("S or P expected")
        sess.send(cmd[0].upper(), cmd[0].upper(), args[0].encode() + name(args[1]) + b"\0")
    elif cmd == "execute":
        want(1, 2)
        rows = int(args[1]) if len(args) > 1 else 0
        sess.send("E", "E", name(args[0]) + b"\0" + struct.pack("!i", rows),
                  sess.portals.get(name(args[0]), []))
    elif cmd == "sync":
        want(0, 0)
        sess.send("S", "S")
    elif cmd == "flush":
        want(0, 0)
        sess.send(None, "H")
    elif cmd == "wait":
        want(0, 0)
        sess.wait()
    elif cmd == "sleep":
        want(1, 1)
        sess.sleep(float(args[0]))
    else:
        raise ValueError("unknown command %r" % cmd)


def main(argv):
    args = argv[1:]
    while args and args[0].startswith("-") and len(args) > 1:
        a = args.pop(0)
        if a in ("-t", "-x"):
            OPT[a[1]] = True
        elif a == "-w" and re.fullmatch(r"[0-9]+(\.[0-9]*)?", args[0]):
            OPT["w"] = float(args.pop(0))
        else:
            die(2, "unknown option %s\n%s" % (a, USAGE))
    if len(args) != 1:
        die(2, USAGE)
    sess = Session(connect(parse_conninfo(args[0])))
    try:
        for lineno, line in enumerate(sys.stdin, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                run_line(sess, line.rstrip("\n"), lineno)
            except ValueError as e:
                die(2, "script line %d: %s: %s" % (lineno, e, line.strip()))
        sess.wait()
        sess.done = True
        sess.conn.send("X")
    except Lost:
        with sess.cond:
            sess.done = True
            if not sess.lost:
                out("error connection lost")
        sys.exit(1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
