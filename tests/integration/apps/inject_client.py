"""Writes HTTP/1.1 requests the way real clients do, for the traceparent
injection test: keep-alive sequences, pipelined batches, 1 MiB bodies,
requests split into several writes at odd boundaries, requests that carry
their own traceparent, and many short connections. Every byte it sends on a
connection is also written to OUT_DIR/<local port>.sent, and each request is
listed in OUT_DIR/manifest as

    REQ <local port> <offset in .sent> <path> <inject|has_tp|split>

(what sonde must do with it: insert a traceparent, leave it alone because it
has one, or leave it alone because its header block spans several writes).
It starts when a line arrives on stdin (after sonde is attached) and prints
"done <requests>" at the end.

usage: inject_client.py PORT OUT_DIR SCALE [stops]   (SCALE 1 = 10012 requests)

With "stops", it sends instead the requests after which sonde must stop
injecting on a connection (expect "stopped" for the requests after them): a
chunked body, an Upgrade request, and bytes that are not an HTTP/1 request;
and one write holding more requests than sonde's default capture of 4096
bytes (expect "beyond" for those past it)."""
import os
import random
import socket
import sys

port = int(sys.argv[1])
out_dir = sys.argv[2]
scale = float(sys.argv[3])
rng = random.Random(20261121)
manifest = open(os.path.join(out_dir, "manifest"), "w")
count = 0


class Conn:
    def __init__(self, nodelay=False):
        self.s = socket.create_connection(("127.0.0.1", port))
        if nodelay:
            self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.lport = self.s.getsockname()[1]
        self.sent = open(os.path.join(out_dir, "%d.sent" % self.lport), "wb")
        self.offset = 0
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)
        self.sent.write(data)
        self.offset += len(data)

    def note(self, offset, path, expect):
        global count
        count += 1
        manifest.write("REQ %d %d %s %s\n" % (self.lport, offset, path, expect))

    def read_responses(self, n):
        # The server answers every request with exactly this.
        want = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" * n
        while len(self.buf) < len(want):
            d = self.s.recv(65536)
            if not d:
                raise SystemExit("connection closed early")
            self.buf += d
        assert self.buf[: len(want)] == want, self.buf[:200]
        self.buf = self.buf[len(want):]

    def close(self):
        self.s.close()
        self.sent.close()


def tp_header(i):
    name = ["traceparent", "TraceParent", "TRACEPARENT"][i % 3]
    return "%s: 00-%032x-%016x-01\r\n" % (name, 0xABC0000 + i, 0xDEF000 + i)


def request(path, i, body=b"", own_tp=False, extra=""):
    """One request: Host always first, so an inserted line is the only
    traceparent that can follow the request line directly."""
    method = "POST" if body else ["GET", "GET", "DELETE", "OPTIONS"][i % 4]
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % (method, path, port)
    if own_tp:
        head += tp_header(i)
    head += extra
    if body or i % 7 == 0:
        cl = ["Content-Length", "content-length", "CONTENT-LENGTH"][i % 3]
        head += "%s: %d\r\n" % (cl, len(body))
    if i % 5 == 1:
        head += "User-Agent: inject-client/1.0\r\nAccept: */*\r\nX-Padding: %s\r\n" % ("p" * (i % 300))
    head += "\r\n"
    return head.encode(), body


def keep_alive(n):
    c = Conn()
    for i in range(n):
        own = i % 5 == 3
        body = b"b" * (i % 211) if i % 4 == 0 else b""
        head, body = request("/seq/%d" % i, i, body, own_tp=own)
        c.note(c.offset, "/seq/%d" % i, "has_tp" if own else "inject")
        c.send(head + body)
        c.read_responses(1)
    c.close()


def pipelined(batches, per_batch):
    c = Conn()
    k = 0
    for b in range(batches):
        data = b""
        for j in range(per_batch):
            own = k % 9 == 4
            body = b"q" * (k % 97) if k % 3 == 0 else b""
            head, body = request("/pipe/%d" % k, k, body, own_tp=own)
            c.note(c.offset + len(data), "/pipe/%d" % k, "has_tp" if own else "inject")
            data += head + body
            k += 1
        c.send(data)
        c.read_responses(per_batch)
    c.close()


def large_bodies(n):
    c = Conn()
    for i in range(n):
        body = bytes((i + j) % 251 for j in range(1 << 20))
        head, body = request("/large/%d" % i, i, body)
        c.note(c.offset, "/large/%d" % i, "inject")
        c.send(head + body)
        c.read_responses(1)
    c.close()


def split_writes(n):
    c = Conn(nodelay=True)
    for i in range(n):
        body = b"s" * rng.randrange(0, 300) if i % 2 == 0 else b""
        head, body = request("/split/%d" % i, i, body)
        data = head + body
        cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randrange(1, 5))))
        # The header block is inserted into only when it is all in the first write.
        c.note(c.offset, "/split/%d" % i, "inject" if cuts[0] >= len(head) else "split")
        prev = 0
        for cut in cuts + [len(data)]:
            c.send(data[prev:cut])
            prev = cut
        c.read_responses(1)
    c.close()


def short_connections(conns, per_conn):
    k = 0
    for _ in range(conns):
        c = Conn()
        for _ in range(per_conn):
            head, body = request("/short/%d" % k, k)
            c.note(c.offset, "/short/%d" % k, "inject")
            c.send(head + body)
            c.read_responses(1)
            k += 1
        c.close()


def stops():
    def plain(c, path, expect):
        head, body = request(path, 1)
        c.note(c.offset, path, expect)
        c.send(head + body)
        c.read_responses(1)

    # A chunked request body is not followed: injection stops after it.
    c = Conn()
    for i in range(3):
        plain(c, "/before-chunked/%d" % i, "inject")
    head = "POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    c.note(c.offset, "/chunked", "inject")
    c.send(head + b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    c.read_responses(1)
    for i in range(3):
        plain(c, "/after-chunked/%d" % i, "stopped")
    c.close()
    # After an Upgrade request the connection may stop speaking HTTP/1.
    c = Conn()
    for i in range(2):
        plain(c, "/before-upgrade/%d" % i, "inject")
    head = "GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n".encode()
    c.note(c.offset, "/upgrade", "inject")
    c.send(head)
    c.read_responses(1)
    for i in range(2):
        plain(c, "/after-upgrade/%d" % i, "stopped")
    c.close()
    # Not an HTTP/1 request line at a request boundary.
    c = Conn()
    c.note(c.offset, "/lowercase", "stopped")
    c.send(b"get /lowercase HTTP/1.1\r\nHost: x\r\n\r\n")
    c.read_responses(1)
    for i in range(2):
        plain(c, "/after-garbage/%d" % i, "stopped")
    c.close()
    # One write of 80 requests, beyond sonde's default 4096 captured bytes:
    # only requests whose header block is within them are injected into.
    c = Conn()
    data = b""
    for i in range(80):
        head = ("GET /cap/%d HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n" % (i, "p" * 50)).encode()
        c.note(c.offset + len(data), "/cap/%d" % i, "inject" if len(data) + len(head) <= 4096 else "beyond")
        data += head
    c.send(data)
    c.read_responses(80)
    c.close()


sys.stdin.readline()
if len(sys.argv) > 4 and sys.argv[4] == "stops":
    stops()
    manifest.close()
    print("done %d" % count, flush=True)
    sys.exit(0)
keep_alive(int(3000 * scale))
pipelined(int(400 * scale), 10)
# Many requests in one write (about 10 KB: within sonde's largest capture, so
# the test's sonde decodes all of them too).
pipelined(max(1, int(3 * scale)), 60)
large_bodies(max(1, int(12 * scale)))
split_writes(int(2000 * scale))
short_connections(int(200 * scale), 5)
manifest.close()
print("done %d" % count, flush=True)
