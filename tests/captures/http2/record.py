#!/usr/bin/python3
"""Records real HTTP/2 traffic for the decoder tests.

Puts a recording TCP proxy in front of a python3-grpcio server (service
demo.Echo, raw bytes, no protobuf) and a Node.js h2c server (h2_server.js),
and runs real clients through it: python3-grpcio, @grpc/grpc-js
(grpc_js_client.js), curl --http2-prior-knowledge and Node.js's http2 client
(h2_client.js). Each recorded connection becomes <name>.cap: the chunks as
the proxy received them, in order, each as one byte of direction (0: client
to server, 1: server to client), a 4-byte big-endian length and the bytes.
The fuzz target reads the same layout (tests/fuzz/http2_fuzz.cc). Run
through record.sh.
"""
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from concurrent import futures

OUT = os.path.dirname(os.path.abspath(__file__))

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import grpc  # noqa: E402  (Debian's python3-grpcio)


class Proxy:
    """Relays every accepted connection to `upstream` and keeps its chunks in order."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        self.conns = []  # [chunks, lock, threads]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.upstream))
            for s in (c, u):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            rec = [[], threading.Lock(), []]
            self.conns.append(rec)
            for src, dst, d in ((c, u, 0), (u, c, 1)):
                t = threading.Thread(target=self._pump, args=(src, dst, d, rec), daemon=True)
                rec[2].append(t)
                t.start()

    @staticmethod
    def _pump(src, dst, direction, rec):
        while True:
            try:
                d = src.recv(65536)
            except OSError:
                d = b""
            if not d:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            with rec[1]:
                rec[0].append((direction, d))
            try:
                dst.sendall(d)
            except OSError:
                return

    def finish(self, timeout=5.0):
        self.srv.close()
        for rec in self.conns:
            for t in rec[2]:
                t.join(timeout)
        return self.conns


def save(name, chunks):
    with open(os.path.join(OUT, name + ".cap"), "wb") as f:
        for direction, data in chunks:
            f.write(struct.pack(">BI", direction, len(data)) + data)
    sent = [sum(len(d) for k, d in chunks if k == w) for w in (0, 1)]
    print(f"  {name}: {len(chunks)} chunks, {sent[0]} bytes to the server, {sent[1]} back")


ONLY = set(sys.argv[1:])  # names to re-record; all when empty


def record(name, upstream, fn, keep=0):
    if ONLY and name not in ONLY:
        return
    p = Proxy(upstream)
    fn(p.port)
    time.sleep(0.3)
    conns = p.finish()
    if len(conns) <= keep:
        sys.exit(f"{name}: expected a connection #{keep}, got {len(conns)}")
    save(name, conns[keep][0])


# --- the gRPC server -----------------------------------------------------------

def ping(req, ctx):
    ctx.set_trailing_metadata((("x-served-by", "echo-1"),))
    return b"pong:" + req


def fail(req, ctx):
    ctx.abort(grpc.StatusCode.NOT_FOUND, "no such item")


def items(req, ctx):
    for i in range(5):
        yield b"item-%d" % i


def slow_items(req, ctx):
    for i in range(50):
        if not ctx.is_active():
            return
        yield b"slow-%d" % i
        time.sleep(0.1)


def upload(it, ctx):
    n = sum(len(x) for x in it)
    return b"total:%d" % n


def chat(it, ctx):
    for x in it:
        yield b"echo:" + x


def grpc_server():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    handlers = {
        "Ping": grpc.unary_unary_rpc_method_handler(ping),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
        "List": grpc.unary_stream_rpc_method_handler(items),
        "SlowList": grpc.unary_stream_rpc_method_handler(slow_items),
        "Upload": grpc.stream_unary_rpc_method_handler(upload),
        "Chat": grpc.stream_stream_rpc_method_handler(chat),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("demo.Echo", handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def channel(port):
    # No proxy from the environment, no retries: one plain connection.
    return grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.enable_http_proxy", 0),
                                                               ("grpc.enable_retries", 0)])


def grpc_unary(port):
    with channel(port) as ch:
        ch.unary_unary("/demo.Echo/Ping")(b"hello", metadata=(("x-user", "alice"),))


def grpc_error(port):
    with channel(port) as ch:
        try:
            ch.unary_unary("/demo.Echo/Fail")(b"missing")
        except grpc.RpcError:
            pass


def grpc_server_stream(port):
    with channel(port) as ch:
        list(ch.unary_stream("/demo.Echo/List")(b"list"))


def grpc_client_stream(port):
    with channel(port) as ch:
        ch.stream_unary("/demo.Echo/Upload")(iter([b"a" * 10, b"b" * 20, b"c" * 30, b"d" * 40]))


def grpc_bidi(port):
    def gen():
        for w in (b"one", b"two", b"three"):
            yield w
            time.sleep(0.05)
    with channel(port) as ch:
        list(ch.stream_stream("/demo.Echo/Chat")(gen()))


def grpc_many(port):
    with channel(port) as ch:
        ping_rpc = ch.unary_unary("/demo.Echo/Ping")
        for i in range(6):
            ping_rpc(b"call-%d" % i, metadata=(("x-user", "alice"), ("x-call", str(i))))
        try:
            ch.unary_unary("/demo.Echo/Fail")(b"last")
        except grpc.RpcError:
            pass


def grpc_cancel(port):
    with channel(port) as ch:
        call = ch.unary_stream("/demo.Echo/SlowList")(b"slow")
        next(call)
        next(call)
        call.cancel()
        time.sleep(0.3)
        ch.unary_unary("/demo.Echo/Ping")(b"after")


def grpcjs_unary(port):
    subprocess.run(["node", os.path.join(OUT, "grpc_js_client.js"), str(port)], check=True,
                   timeout=30)


# --- h2c -----------------------------------------------------------------------

def curl(args):
    subprocess.run(["curl", "-sS", "-o", "/dev/null", "--http2-prior-knowledge"] + args,
                   check=True, timeout=30)


def curl_get(port):
    curl([f"http://127.0.0.1:{port}/"])


def curl_post(port):
    curl(["--data-binary", "name=value&" + "z" * 3000, f"http://127.0.0.1:{port}/upload"])


def curl_big(port):
    curl([f"http://127.0.0.1:{port}/big"])


def node_client(scenario):
    def run(port):
        subprocess.run(["node", os.path.join(OUT, "h2_client.js"), str(port), scenario],
                       check=True, timeout=30)
    return run


def start_node_server(pad):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    args = ["node", os.path.join(OUT, "h2_server.js"), str(port)] + (["pad"] if pad else [])
    proc = subprocess.Popen(args, stdout=subprocess.PIPE)
    proc.stdout.readline()  # "listening"
    return proc, port


def main():
    server, gport = grpc_server()
    plain, hport = start_node_server(False)
    padded, pport = start_node_server(True)
    try:
        record("grpc_unary", gport, grpc_unary)
        record("grpc_error", gport, grpc_error)
        record("grpc_server_stream", gport, grpc_server_stream)
        record("grpc_client_stream", gport, grpc_client_stream)
        record("grpc_bidi", gport, grpc_bidi)
        record("grpc_many", gport, grpc_many)
        record("grpc_cancel", gport, grpc_cancel)
        record("grpcjs_unary", gport, grpcjs_unary)
        record("curl_get", hport, curl_get)
        record("curl_post", hport, curl_post)
        record("curl_big", hport, curl_big)
        record("node_padded", pport, node_client("padded"))
        record("node_bighdr", hport, node_client("bighdr"))
        record("node_cancel", hport, node_client("cancel"))
        record("node_push", hport, node_client("push"))
    finally:
        server.stop(None)
        plain.kill()
        padded.kill()


if __name__ == "__main__":
    main()
