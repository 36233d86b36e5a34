#!/usr/bin/python3
"""Records real Redis traffic for the decoder tests.

Starts redis-server on 127.0.0.1 (non-default ports, a throw-away dir), puts a
recording TCP proxy in front of it and runs real clients (redis-cli,
redis-benchmark, python3-redis, ioredis, hiredis) through the proxy. Each
recorded connection becomes <name>.cmd (client -> server bytes) and
<name>.reply (server -> client bytes). Run through record.sh.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

OUT = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(OUT, "..", "..", ".."))
NODE_MODULES = os.path.join(ROOT, "tests", "node", "node_modules")
PORT = 16391       # plain server
AUTH_PORT = 16392  # server with requirepass
PASSWORD = "s3cret-pass"

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import redis  # noqa: E402  (Debian's python3-redis)


class Proxy:
    """Relays every accepted connection to `upstream` and keeps both byte streams."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        self.conns = []  # [cmd bytearray, reply bytearray, threads]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.upstream))
            rec = [bytearray(), bytearray(), []]
            self.conns.append(rec)
            for src, dst, buf in ((c, u, rec[0]), (u, c, rec[1])):
                t = threading.Thread(target=self._pump, args=(src, dst, buf), daemon=True)
                rec[2].append(t)
                t.start()

    @staticmethod
    def _pump(src, dst, buf):
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
            buf += d
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


def save(name, rec):
    for ext, data in ((".cmd", rec[0]), (".reply", rec[1])):
        with open(os.path.join(OUT, name + ext), "wb") as f:
            f.write(bytes(data))
    print(f"  {name}: {len(rec[0])} command bytes, {len(rec[1])} reply bytes")


def direct(port=PORT, **kw):
    return redis.Redis(host="127.0.0.1", port=port, **kw)


ONLY = set(sys.argv[1:])  # names to re-record; all when empty


def record(name, fn, upstream=PORT, keep=0):
    """Runs fn(proxy_port) and saves the keep-th connection it made (-1: the busiest)."""
    if ONLY and name not in ONLY:
        return
    direct().flushall()
    p = Proxy(upstream)
    fn(p.port)
    conns = p.finish()
    if len(conns) <= keep:
        sys.exit(f"{name}: expected a connection #{keep}, got {len(conns)}")
    if keep < 0:  # the busiest connection (tools that open helper connections)
        keep = max(range(len(conns)), key=lambda i: len(conns[i][0]))
    save(name, conns[keep])


def cli(args, stdin=None, timeout=None, port=None):
    cmd = ["redis-cli", "-h", "127.0.0.1", "-p", str(port)] + args
    try:
        subprocess.run(cmd, input=stdin, stdout=subprocess.DEVNULL, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        pass  # subscribers never return by themselves


def script(lines):
    return ("\n".join(lines) + "\n").encode()


# --- redis-cli ---------------------------------------------------------------

def cli_basic(port):
    cli([], script([
        "SET greeting hello", "GET greeting", "INCR counter", "INCRBY counter 41",
        "DEL greeting", "GET greeting", "EXISTS greeting counter",
        "HSET user:1 name Ada lang en", "HGETALL user:1", "LPUSH queue a b c",
        "LRANGE queue 0 -1", "EXPIRE queue 100", "TTL queue", "PING",
        'ECHO "hello world"', "CLIENT SETNAME cli-basic", "CONFIG GET maxmemory",
    ]), port=port)


def cli_errors(port):
    cli([], script([
        "SET str value", "LPUSH str x", "NOSUCHCOMMAND a b", "GET", "INCR str",
        "GET str",
    ]), port=port)


def cli_select(port):
    cli(["-n", "3"], script(["SET k3 three", "GET k3", "SELECT 5", "GET k3", "SELECT 99"]),
        port=port)


def cli_auth(port):
    cli(["-a", PASSWORD, "--no-auth-warning"], script(["PING", "AUTH wrong-pass", "PING"]),
        port=port)


def cli_auth_resp3(port):
    cli(["-3", "-a", PASSWORD, "--no-auth-warning"], script(["PING", "SET a 1"]), port=port)


def cli_resp3(port):
    cli(["-3"], script([
        "HSET h f1 v1 f2 v2", "HGETALL h", "SADD s a b c", "SMEMBERS s", "ZADD z 1.5 m",
        "ZSCORE z m", "GET missing",
        "DEBUG PROTOCOL true", "DEBUG PROTOCOL false", "DEBUG PROTOCOL verbatim",
        "DEBUG PROTOCOL push", "DEBUG PROTOCOL double", "DEBUG PROTOCOL null",
        "DEBUG PROTOCOL map", "DEBUG PROTOCOL set", "CLIENT TRACKING ON", "SET tk 1",
        "GET tk", "SET tk 2", "PING",
    ]), port=port)


def cli_subscribe_resp3(port):
    def publish():
        time.sleep(0.7)
        d = direct()
        d.publish("news", "hello subscribers")
        d.publish("sport", "3-1")
    t = threading.Thread(target=publish)
    t.start()
    cli(["-3", "SUBSCRIBE", "news", "sport"], timeout=1.5, port=port)
    t.join()


def benchmark_pipeline(port):
    subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", "1",
                    "-n", "12", "-P", "4", "-t", "set", "-q"],
                   stdout=subprocess.DEVNULL, check=True)


# --- python3-redis -----------------------------------------------------------

def py_basic(port):
    r = redis.Redis(host="127.0.0.1", port=port)
    r.set("py:name", "redis-py")
    r.get("py:name")
    r.incr("py:count")
    r.hset("py:hash", mapping={"a": "1", "b": "2"})
    r.hgetall("py:hash")
    r.rpush("py:list", "x", "y", "z")
    r.lrange("py:list", 0, -1)
    r.mget("py:name", "py:nothing")
    r.exists("py:name")
    r.expire("py:name", 60)
    r.ttl("py:name")
    r.delete("py:name", "py:hash", "py:list")
    r.get("py:name")
    r.close()


def py_pipeline(port):
    r = redis.Redis(host="127.0.0.1", port=port)
    p = r.pipeline(transaction=False)
    for i in range(5):
        p.set(f"pl:{i}", i)
    p.incr("pl:0")
    p.get("pl:4")
    p.lpush("pl:4", "boom")  # WRONGTYPE inside a pipeline
    p.dbsize()
    p.execute(raise_on_error=False)
    r.close()


def py_multi(port):
    r = redis.Redis(host="127.0.0.1", port=port, db=2)
    p = r.pipeline(transaction=True)
    p.set("tx:a", "1").incr("tx:a").get("tx:a")
    p.execute()
    # An error at run time: EXEC still answers with the error inside its array.
    p = r.pipeline(transaction=True)
    p.set("tx:s", "text").incr("tx:s").get("tx:s")
    p.execute(raise_on_error=False)
    # A WATCHed key changed by someone else: EXEC answers null, redis-py retries.
    state = {"first": True}

    def update(pipe):
        pipe.get("tx:w")
        if state["first"]:
            state["first"] = False
            direct(db=2).set("tx:w", "other")
        pipe.multi()
        pipe.set("tx:w", "mine")
    r.transaction(update, "tx:w")
    # A command the server refuses while queueing: EXEC answers EXECABORT.
    p = r.pipeline(transaction=True)
    p.set("tx:b", "1")
    p.execute_command("NOSUCHCMD", "x")
    try:
        p.execute()
    except redis.exceptions.ResponseError:
        pass
    r.close()


def py_pubsub(port):
    r = redis.Redis(host="127.0.0.1", port=port)
    ps = r.pubsub()
    ps.subscribe("news", "sport")
    ps.psubscribe("user.*")
    for _ in range(3):
        ps.get_message(timeout=1.0)
    d = direct()
    d.publish("news", "breaking")
    d.publish("user.42", "hi 42")
    d.publish("sport", "goal")
    got = 0
    deadline = time.time() + 5
    while got < 3 and time.time() < deadline:
        m = ps.get_message(timeout=1.0)
        if m and m["type"] in ("message", "pmessage"):
            got += 1
    ps.ping()
    ps.get_message(timeout=1.0)
    ps.unsubscribe("news")
    ps.punsubscribe()
    ps.unsubscribe()
    for _ in range(4):
        ps.get_message(timeout=0.5)
    ps.close()
    r.close()


def py_auth(port):
    # AUTH with the password alone, then with an ACL user.
    r = redis.Redis(host="127.0.0.1", port=port, password=PASSWORD)
    r.set("secret:k", "v")
    r.close()
    r = redis.Redis(host="127.0.0.1", port=port, username="app", password="app-pass")
    r.get("secret:k")
    r.close()


# --- ioredis, hiredis, raw inline ---------------------------------------------

def node(scenario, port, *extra):
    env = dict(os.environ, NODE_PATH=NODE_MODULES)
    subprocess.run(["node", os.path.join(OUT, "ioredis_client.js"), scenario, str(port)]
                   + [str(e) for e in extra], env=env, check=True, timeout=30)


def hiredis_large(port, exe):
    subprocess.run([exe, str(port)], check=True, timeout=30)


def raw_resp3_attrib(port):
    # redis-cli's hiredis cannot read RESP3 attributes or big numbers, so a
    # raw client asks for them (the reply bytes are the server's).
    s = socket.create_connection(("127.0.0.1", port))
    for cmd in (b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n",
                b"*3\r\n$5\r\nDEBUG\r\n$8\r\nPROTOCOL\r\n$6\r\nattrib\r\n",
                b"*3\r\n$5\r\nDEBUG\r\n$8\r\nPROTOCOL\r\n$6\r\nbignum\r\n",
                b"*1\r\n$4\r\nPING\r\n"):
        s.sendall(cmd)
        time.sleep(0.1)
    s.shutdown(socket.SHUT_WR)
    while s.recv(4096):
        pass
    s.close()


def inline_raw(port):
    # Inline commands as a person types them (telnet); the replies are real.
    s = socket.create_connection(("127.0.0.1", port))
    for line in (b"PING\r\n", b"SET inl \"two words\"\r\n", b"GET inl\r\n",
                 b"EXISTS inl nothing\r\n", b"QUIT\r\n"):
        s.sendall(line)
        time.sleep(0.05)
    while s.recv(4096):
        pass
    s.close()


def main():
    for tool in ("redis-server", "redis-cli", "redis-benchmark", "node", "cc"):
        if not shutil.which(tool):
            sys.exit(f"missing {tool}: run scripts/install-deps.sh")
    tmp = tempfile.mkdtemp(prefix="sonde-redis-rec-")
    servers = []
    try:
        for port, extra in ((PORT, []), (AUTH_PORT, ["--requirepass", PASSWORD])):
            servers.append(subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", tmp, "--enable-debug-command", "yes",
                 "--loglevel", "warning"] + extra, stdout=subprocess.DEVNULL))
        for port in (PORT, AUTH_PORT):
            for _ in range(50):
                try:
                    socket.create_connection(("127.0.0.1", port)).close()
                    break
                except OSError:
                    time.sleep(0.1)
        direct(AUTH_PORT, password=PASSWORD).execute_command(
            "ACL", "SETUSER", "app", "on", ">app-pass", "~*", "+@all")
        # redis-cli asks for COMMAND DOCS (170 KB), then COMMAND, before
        # reading its script; refusing them keeps the captures small (and
        # records real NOPERM errors).
        for port, kw in ((PORT, {}), (AUTH_PORT, {"password": PASSWORD})):
            direct(port, **kw).execute_command("ACL", "SETUSER", "default", "-command")

        exe = os.path.join(tmp, "hiredis_client")
        subprocess.run(["cc", "-O1", "-o", exe, os.path.join(OUT, "hiredis_client.c"),
                        "-lhiredis"], check=True)

        record("cli_basic", cli_basic)
        record("cli_errors", cli_errors)
        record("cli_select", cli_select)
        record("cli_resp3", cli_resp3)
        record("cli_subscribe_resp3", cli_subscribe_resp3)
        record("cli_auth", cli_auth, upstream=AUTH_PORT)
        record("cli_auth_resp3", cli_auth_resp3, upstream=AUTH_PORT)
        record("benchmark_pipeline", benchmark_pipeline, keep=-1)
        record("py_basic", py_basic)
        record("py_pipeline", py_pipeline)
        record("py_multi", py_multi)
        record("py_pubsub", py_pubsub)
        record("py_auth", py_auth, upstream=AUTH_PORT)
        record("py_auth_acl", py_auth, upstream=AUTH_PORT, keep=1)
        record("ioredis_basic", lambda p: node("basic", p))
        record("ioredis_pipeline", lambda p: node("pipeline", p))
        record("ioredis_pubsub", lambda p: node("pubsub", p, PORT))
        record("hiredis_large", lambda p: hiredis_large(p, exe))
        record("raw_resp3_attrib", raw_resp3_attrib)
        record("inline_raw", inline_raw)
    finally:
        for s in servers:
            s.terminate()
            s.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
