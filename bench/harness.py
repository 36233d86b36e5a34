#!/usr/bin/python3
"""sonde overhead benchmark: runs every scenario without (A) and with (B)
sonde, interleaved A B A B, and writes docs/PERFORMANCE.md and a chart.

Started by bench/run.sh (which builds the binaries); see bench/README.md.
Every server listens on 127.0.0.1 only; every run is bounded in time.
"""
import argparse
import datetime
import glob
import json
import os
import platform
import pwd
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
TICK = os.sysconf("SC_CLK_TCK")
ADMIN_PORT = 19474

BUDGETS = {
    "bpf_ns_per_req": 1000.0,
    "sonde_cpu_us_per_req": 5.0,
    "throughput_loss_pct": 3.0,
    "lost_events": 0,
    "rss_mib_1000": 50.0,
}


def log(*a):
    print("[bench]", *a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))


# ---------------------------------------------------------------- /proc helpers

def proc_stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()
    # fields after comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return {"ppid": int(rest[1]), "utime": int(rest[11]), "stime": int(rest[12]),
            "cutime": int(rest[13]), "cstime": int(rest[14])}


def tree(root):
    """pids of root and its live descendants."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            children.setdefault(proc_stat(int(d))["ppid"], []).append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_cpu(root):
    """CPU seconds (user+sys) of root's live tree plus its reaped children."""
    total = 0
    for p in tree(root):
        try:
            st = proc_stat(p)
        except OSError:
            continue
        total += st["utime"] + st["stime"]
        if p == root:
            total += st["cutime"] + st["cstime"]
    return total / TICK


def cpu(pid):
    st = proc_stat(pid)
    return (st["utime"] + st["stime"]) / TICK


def rss_mib(pid, key="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0


# ---------------------------------------------------------------- sonde

class Sonde:
    def __init__(self, binary, pids, tmp):
        self.log_path = os.path.join(tmp, "sonde.err")
        self.err = open(self.log_path, "w")
        cmd = [binary, "--pid", ",".join(str(p) for p in pids), "--output", "jsonl:/dev/null",
               "--admin-address", f"127.0.0.1:{ADMIN_PORT}", "--log-level", "warn"]
        self.cmdline = " ".join(shlex.quote(c) for c in cmd)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.err, preexec_fn=raise_nofile)
        end = time.time() + 30
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("sonde exited: " + open(self.log_path).read())
            if "sonde ready" in open(self.log_path).read():
                break
            time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError("sonde not ready in 30 s: " + open(self.log_path).read())

    def metrics(self):
        text = urllib.request.urlopen(f"http://127.0.0.1:{ADMIN_PORT}/metrics", timeout=5).read().decode()
        m = {"progs": {}, "bpf_run_s": 0.0, "bpf_runs": 0.0, "lost": 0.0, "spans": 0.0, "captured": 0.0, "truncated": 0.0}
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name = line.split("{")[0].split()[0]
            val = float(line.rsplit(" ", 1)[1])
            key = {"sonde_bpf_run_time_seconds_total": "bpf_run_s", "sonde_bpf_runs_total": "bpf_runs",
                   "sonde_events_lost_total": "lost", "sonde_spans_created_total": "spans",
                   "sonde_events_captured_total": "captured", "sonde_events_truncated_total": "truncated"}.get(name)
            if key:
                m[key] += val
            if key in ("bpf_run_s", "bpf_runs"):
                prog = re.search(r'program="([^"]+)"', line)
                if prog:
                    m.setdefault("progs", {}).setdefault(prog.group(1), {"bpf_run_s": 0.0, "bpf_runs": 0.0})[key] += val
        return m

    def snapshot(self):
        m = self.metrics()
        m["cpu"] = cpu(self.proc.pid)
        return m

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()


# ---------------------------------------------------------------- load generators

def _wrk_time(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)", v)
    x, u = float(m.group(1)), m.group(2)
    return x * {"us": 1, "ms": 1e3, "s": 1e6, "m": 6e7}[u]


def wrk(port, seconds, conns, path="/"):
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    r = {"cmd": " ".join(cmd)}
    r["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    r["throughput"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    r["p50_us"] = _wrk_time(re.search(r"\s50%\s+(\S+)", out).group(1))
    r["p99_us"] = _wrk_time(re.search(r"\s99%\s+(\S+)", out).group(1))
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["errors"] = (int(errs.group(1)) if errs else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    return r


def loadgen(binary, port, seconds, rate, conns, hold=0, sampler=None):
    cmd = [binary, "--port", str(port), "--rate", str(rate), "--conns", str(conns), "--duration", str(seconds)]
    if hold:
        cmd += ["--hold", str(hold)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=raise_nofile)
    end = time.time() + seconds + hold + 30
    samples = []
    while p.poll() is None and time.time() < end:
        if sampler:
            samples.append(sampler())
        time.sleep(0.5)
    if p.poll() is None:
        p.kill()
    out, err = p.communicate()
    j = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
    if not j:
        raise RuntimeError("loadgen failed: " + err)
    shown = [os.path.relpath(binary, ROOT) if binary.startswith(ROOT) else binary] + cmd[1:]
    return {"cmd": " ".join(shown), "requests": j["completed"], "throughput": j["rps"], "p50_us": j["p50_us"],
            "p99_us": j["p99_us"], "errors": j["errors"] + j["unfinished"], "samples": samples}


def redis_bench(port, n, conns=50):
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(conns), "-n", str(n), "-t", "set,get", "--csv"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
    rows = [l.replace('"', "").split(",") for l in out.splitlines() if l.startswith('"SET"') or l.startswith('"GET"')]
    # columns: test,rps,avg,min,p50,p95,p99,max (ms)
    rps = [float(r[1]) for r in rows]
    return {"cmd": " ".join(cmd), "requests": 2 * n, "throughput": 2 / sum(1 / x for x in rps),
            "p50_us": max(float(r[4]) for r in rows) * 1e3, "p99_us": max(float(r[6]) for r in rows) * 1e3, "errors": 0}


def pg_bench(port, sock_dir, seconds, tmp, clients=4):
    logdir = tempfile.mkdtemp(dir=tmp)
    cmd = ["pgbench", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-M", "prepared", "-c", str(clients),
           "-j", "2", "-T", str(seconds), "-n", "-l", "--log-prefix", os.path.join(logdir, "pgbench_log"), "bench"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    out = res.stdout
    n = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    lat = []
    for fn in glob.glob(os.path.join(logdir, "pgbench_log*")):
        with open(fn) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3:
                    lat.append(int(parts[2]))
    shutil.rmtree(logdir, ignore_errors=True)
    lat.sort()
    pct = lambda q: lat[int(q * (len(lat) - 1))] if lat else 0
    shown = [c for c in cmd if not c.startswith(logdir)]
    shown = [c for c in shown if c != "--log-prefix"]
    return {"cmd": " ".join(shown), "requests": n, "throughput": tps, "p50_us": pct(0.5), "p99_us": pct(0.99),
            "errors": 0}


# ---------------------------------------------------------------- servers

class Server:
    name = ""
    title = ""
    unit = "req"

    def __init__(self, opts, tmp):
        self.opts, self.tmp, self.proc = opts, tmp, None
        self.port = free_port()

    def available(self):
        return None  # or the reason it is skipped

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def pids(self):
        return tree(self.proc.pid)

    def root(self):
        return self.proc.pid

    def _spawn(self, cmd, **kw):
        self.log = open(os.path.join(self.tmp, self.name + ".log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=raise_nofile, **kw)
        if not wait_port(self.port, 30):
            raise RuntimeError(f"{self.name} did not listen on {self.port}")


class CppHttp(Server):
    name, title = "cpp_http", "C++ keep-alive HTTP server (thread per connection)"

    def start(self):
        self._spawn([os.path.join(self.opts.build_dir, "bench", "bench_http_server"), str(self.port)])


class Nginx(Server):
    name, title = "nginx", "nginx 1.22 (Debian nginx-light, 1 worker)"

    def available(self):
        return None if shutil.which("nginx") else "nginx not installed (Debian package nginx-light)"

    def start(self):
        prefix = tempfile.mkdtemp(prefix="nginx-", dir=self.tmp)
        os.makedirs(os.path.join(prefix, "tmp"))
        conf = open(os.path.join(BENCH, "nginx.conf")).read().replace("@PREFIX@", prefix).replace("@PORT@", str(self.port))
        with open(os.path.join(prefix, "nginx.conf"), "w") as f:
            f.write(conf)
        self._spawn(["nginx", "-p", prefix, "-c", os.path.join(prefix, "nginx.conf")])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Express(Server):
    name, title = "node_express", "Node.js Express (tests/node/node_modules)"

    def available(self):
        if not shutil.which("node"):
            return "node not installed"
        if not os.path.isdir(os.path.join(ROOT, "tests/node/node_modules/express")):
            return "express missing: run scripts/install-deps.sh"
        return None

    def start(self):
        env = dict(os.environ, NODE_PATH=os.path.join(ROOT, "tests/node/node_modules"), NODE_ENV="production")
        self._spawn(["node", os.path.join(BENCH, "apps/express_app.js"), str(self.port)], env=env)


class FastAPI(Server):
    name, title = "python_fastapi", "Python FastAPI on uvicorn (Debian python3-fastapi, python3-uvicorn)"

    def available(self):
        r = subprocess.run(["/usr/bin/python3", "-c", "import fastapi, uvicorn"], capture_output=True)
        return None if r.returncode == 0 else "python3-fastapi / python3-uvicorn not installed"

    def start(self):
        self._spawn(["/usr/bin/python3", "-m", "uvicorn", "--app-dir", os.path.join(BENCH, "apps"), "fastapi_app:app",
                     "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning", "--no-access-log"])


class Redis(Server):
    name, title, unit = "redis", "redis-server 7.0 under redis-benchmark (SET+GET, 50 connections)", "cmd"

    def available(self):
        return None if shutil.which("redis-server") and shutil.which("redis-benchmark") else "redis-server/redis-tools missing"

    def start(self):
        self._spawn(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])


class Postgres(Server):
    name, title, unit = "postgres", "PostgreSQL 15 under pgbench (TPC-B-like, prepared, 4 clients)", "txn"

    def bindir(self):
        for d in sorted(glob.glob("/usr/lib/postgresql/*/bin")):
            if os.path.exists(d + "/initdb"):
                return d
        return None

    def available(self):
        if not self.bindir() or not shutil.which("pgbench"):
            return "PostgreSQL server/pgbench missing"
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "no postgres user"
        return None

    def start(self):
        pw = pwd.getpwnam("postgres")
        self.dir = tempfile.mkdtemp(prefix="pg-", dir=self.tmp)
        os.chmod(self.tmp, 0o755)
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        as_pg = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
        subprocess.run(as_pg + [self.bindir() + "/initdb", "-D", self.dir + "/data", "-A", "trust", "-U", "postgres",
                                "--no-sync"], check=True, capture_output=True, timeout=120)
        self._spawn(as_pg + [self.bindir() + "/postgres", "-D", self.dir + "/data", "-p", str(self.port), "-k", self.dir,
                             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                             "-c", "ssl=off"])
        time.sleep(1)
        psql = ["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        for _ in range(50):
            if subprocess.run(psql + ["-c", "select 1"], capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        subprocess.run(psql + ["-c", "CREATE DATABASE bench"], check=True, capture_output=True)
        subprocess.run(["pgbench", "-i", "-q", "-s", "1", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "bench"],
                       check=True, capture_output=True, timeout=120)

    def root(self):
        # setpriv execs postgres: the spawned pid is the postmaster.
        return self.proc.pid

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------- scenarios

def http_loads(opts, rate):
    d = opts.seconds
    return [
        ("wrk", f"saturation (wrk, 1 thread, 50 conns, {d} s)", lambda s: wrk(s.port, d, 50)),
        (f"rate{rate}", f"fixed {rate} req/s (bench_loadgen, 50 conns, {d} s)",
         lambda s: loadgen(opts.loadgen, s.port, d, rate, 50)),
    ]


def scenarios(opts):
    d = opts.seconds
    return [
        (CppHttp, http_loads(opts, 5000)),
        (Nginx, http_loads(opts, 5000)),
        (Redis, [("bench", "redis-benchmark SET+GET, 50 conns", lambda s: redis_bench(s.port, opts.redis_n))]),
        (Postgres, [("pgbench", f"pgbench -M prepared, 4 clients, {d} s", lambda s: pg_bench(s.port, s.dir, d, s.tmp))]),
        (Express, http_loads(opts, 2000)),
        (FastAPI, http_loads(opts, 1000)),
    ]


def hide_port(cmd, port):
    return cmd.replace(f" {port}", " <port>").replace(f":{port}", ":<port>")


def measure(server, load_fn, with_sonde, opts, tmp):
    pids = server.pids()
    sonde = Sonde(opts.sonde, pids, tmp) if with_sonde else None
    try:
        time.sleep(0.3)
        s0 = sonde.snapshot() if sonde else None
        c0 = tree_cpu(server.root())
        r = load_fn(server)
        time.sleep(0.3)  # let sonde drain its ring buffer; reap exited children
        c1 = tree_cpu(server.root())
        r["service_cpu_us_per_req"] = (c1 - c0) * 1e6 / max(1, r["requests"])
        if sonde:
            s1 = sonde.snapshot()
            req = max(1, r["requests"])
            r["sonde_cpu_us_per_req"] = (s1["cpu"] - s0["cpu"]) * 1e6 / req
            r["sonde_cpu_pct"] = None
            r["sonde_rss_mib"] = rss_mib(sonde.proc.pid)
            runs = s1["bpf_runs"] - s0["bpf_runs"]
            r["bpf_ns_per_event"] = (s1["bpf_run_s"] - s0["bpf_run_s"]) * 1e9 / max(1, runs)
            r["bpf_ns_per_req"] = (s1["bpf_run_s"] - s0["bpf_run_s"]) * 1e9 / req
            r["bpf_runs_per_req"] = runs / req
            r["lost"] = s1["lost"] - s0["lost"]
            r["spans_per_req"] = (s1["spans"] - s0["spans"]) / req
            r["sonde_cmd"] = sonde.cmdline
            r["bpf_progs"] = {p: {"runs_per_req": (v["bpf_runs"] - s0["progs"].get(p, {}).get("bpf_runs", 0)) / req,
                                  "ns_per_req": (v["bpf_run_s"] - s0["progs"].get(p, {}).get("bpf_run_s", 0)) * 1e9 / req}
                              for p, v in s1.get("progs", {}).items()}
    finally:
        if sonde:
            sonde.stop()
    r.pop("samples", None)
    r["cmd"] = hide_port(r["cmd"], server.port)
    return r


def run_ab(server_cls, loads, opts, tmp, results, skipped):
    probe = server_cls(opts, tmp)
    why = probe.available()
    if why:
        skipped.append((server_cls.name, server_cls.title, why))
        log("skip", server_cls.name, ":", why)
        return
    for load_name, load_title, fn in loads:
        key = f"{server_cls.name}.{load_name}"
        if opts.only and not any(key.startswith(o) for o in opts.only):
            continue
        server = server_cls(opts, tmp)
        try:
            server.start()
            log("start", key, "warm-up")
            try:
                fn(server)  # warm-up run, not counted
            except Exception as e:  # noqa: BLE001
                log("warm-up failed:", e)
            runs = {"A": [], "B": []}
            for i in range(opts.runs):
                for side in ("A", "B"):
                    r = measure(server, fn, side == "B", opts, tmp)
                    log(f"{key} run {i + 1}/{opts.runs} {side}: {r['throughput']:.0f}/s p50 {r['p50_us']:.0f}us "
                        f"p99 {r['p99_us']:.0f}us" + (f" sonde {r['sonde_cpu_us_per_req']:.2f}us/req "
                                                      f"bpf {r['bpf_ns_per_req']:.0f}ns/req lost {r['lost']:.0f}"
                                                      if side == "B" else ""))
                    runs[side].append(r)
            results.append({"key": key, "server": server_cls.name, "title": server_cls.title, "load": load_title,
                            "unit": server_cls.unit, "runs": runs})
        finally:
            server.stop()


def special_runs(opts, tmp):
    """Lost events at 20k req/s sustained, and sonde RSS with 1,000 connections."""
    out = {}
    if opts.only and not any(o.startswith("special") for o in opts.only):
        return out
    server = CppHttp(opts, tmp)
    server.start()
    try:
        sonde = Sonde(opts.sonde, server.pids(), tmp)
        try:
            s0 = sonde.snapshot()
            r = loadgen(opts.loadgen, server.port, opts.sustain_seconds, 20000, 50,
                        sampler=lambda: rss_mib(sonde.proc.pid))
            time.sleep(0.5)
            s1 = sonde.snapshot()
            out["sustain"] = {"cmd": hide_port(r["cmd"], server.port), "rate": r["throughput"], "requests": r["requests"],
                              "p50_us": r["p50_us"], "p99_us": r["p99_us"], "errors": r["errors"],
                              "lost": s1["lost"] - s0["lost"], "spans": s1["spans"] - s0["spans"],
                              "sonde_cpu_us_per_req": (s1["cpu"] - s0["cpu"]) * 1e6 / max(1, r["requests"]),
                              "seconds": opts.sustain_seconds, "sonde_cmd": sonde.cmdline}
            log("sustain 20k:", out["sustain"])
        finally:
            sonde.stop()
        sonde = Sonde(opts.sonde, server.pids(), tmp)
        try:
            r = loadgen(opts.loadgen, server.port, opts.rss_seconds, 2000, 1000, hold=3,
                        sampler=lambda: rss_mib(sonde.proc.pid))
            out["rss"] = {"cmd": hide_port(r["cmd"], server.port), "rss_mib": rss_mib(sonde.proc.pid), "rss_max_mib": max(r["samples"] or [0]),
                          "hwm_mib": rss_mib(sonde.proc.pid, "VmHWM"), "requests": r["requests"],
                          "lost": sonde.snapshot()["lost"], "sonde_cmd": sonde.cmdline}
            log("rss 1000 conns:", out["rss"])
        finally:
            sonde.stop()
    finally:
        server.stop()
    return out


# ---------------------------------------------------------------- report

def med(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return statistics.median(vals), min(vals), max(vals)


def fmt(t, digits=0, scale=1.0):
    if t is None:
        return "–"
    m, lo, hi = (x * scale for x in t)
    f = f"{{:,.{digits}f}}"
    return f"{f.format(m)} <sub>[{f.format(lo)}–{f.format(hi)}]</sub>"


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = open("/proc/meminfo").readline().split()[1]
    return {"nproc": os.cpu_count(), "kernel": platform.release(), "cpu": model, "mem_gib": int(mem) / 1048576,
            "os": open("/etc/debian_version").read().strip() if os.path.exists("/etc/debian_version") else "?"}


def summarize(results):
    rows = []
    for res in results:
        A, B = res["runs"]["A"], res["runs"]["B"]
        g = lambda runs, k: med([r.get(k) for r in runs])
        tA, tB = g(A, "throughput"), g(B, "throughput")
        loss = (1 - tB[0] / tA[0]) * 100 if tA and tB and tA[0] else None
        rows.append({**res, "tA": tA, "tB": tB, "loss": loss,
                     "p50A": g(A, "p50_us"), "p50B": g(B, "p50_us"), "p99A": g(A, "p99_us"), "p99B": g(B, "p99_us"),
                     "svcA": g(A, "service_cpu_us_per_req"), "svcB": g(B, "service_cpu_us_per_req"),
                     "sonde_cpu": g(B, "sonde_cpu_us_per_req"), "rss": g(B, "sonde_rss_mib"),
                     "bpf_ev": g(B, "bpf_ns_per_event"), "bpf_req": g(B, "bpf_ns_per_req"),
                     "bpf_runs": g(B, "bpf_runs_per_req"), "lost": g(B, "lost"), "spans": g(B, "spans_per_req"),
                     "cmd": A[0]["cmd"], "sonde_cmd": B[0].get("sonde_cmd", "")})
    return rows


def verdict(value, budget, lower_is_better=True):
    if value is None:
        return "not measured"
    ok = value <= budget if lower_is_better else value >= budget
    if ok:
        return "**met**"
    if budget == 0:
        return f"**missed** ({value:,.0f} lost)"
    return f"**missed** by {value - budget:,.2f} ({(value / budget - 1) * 100:,.0f}% over)"


def write_report(opts, rows, special, skipped, started, quiet_note, extra_notes, chart_rel):
    m = machine()
    cmd = "sudo bench/run.sh" + (" --quick" if opts.quick else "")
    L = []
    L.append("# sonde — overhead benchmark\n")
    L.append(f"Generated by `{cmd}` (bench/harness.py) on {started:%Y-%m-%d %H:%M} UTC; "
             f"{'QUICK mode (fewer/shorter runs): not the reference figures. ' if opts.quick else ''}"
             "do not edit by hand, re-run the command.\n")
    L.append(f"**Machine:** {m['nproc']} CPUs ({m['cpu']}), {m['mem_gib']:.1f} GiB RAM, Linux {m['kernel']}, "
             f"Debian {m['os']}. Everything (load generator, server, sonde) shares these {m['nproc']} CPUs; "
             "all traffic is on 127.0.0.1.\n")
    L.append(f"**Method:** every scenario starts its server once, makes one uncounted warm-up run, then alternates "
             f"A (no sonde) and B (sonde attached with `--pid <server's pids>` and `--output jsonl:/dev/null`, started "
             f"fresh for each B run) {opts.runs} times each, {opts.seconds} s per run, so slow drift of the machine "
             "cancels out. Figures are medians with [min–max] over the runs. `kernel.bpf_stats_enabled=1` during the "
             "whole run (both A and B), BPF figures from sonde's `/metrics` (`sonde_bpf_run_time_seconds_total`, "
             "`sonde_bpf_runs_total`, all of sonde's programs summed). Service CPU: utime+stime deltas of the server's "
             "process tree from /proc/<pid>/stat; sonde CPU likewise for sonde; RSS is sonde's VmRSS at the end of "
             "the run. wrk latency is closed-loop; bench_loadgen latency is open-loop (counted from each request's "
             "due time, no coordinated omission).\n")
    if quiet_note:
        L.append(f"**Note:** {quiet_note}\n")

    # budgets
    cpp_sat = next((r for r in rows if r["key"] == "cpp_http.wrk"), None)
    cpp_rate = next((r for r in rows if r["key"].startswith("cpp_http.rate")), None)
    L.append("## Budgets\n")
    L.append("| budget | target | measured | verdict | how to reproduce |")
    L.append("|---|---|---|---|---|")
    def budget_row(label, target, tup, budget, digits, unit, cmdline):
        v = tup[0] if tup else None
        L.append(f"| {label} | {target} | {fmt(tup, digits)} {unit if tup else ''} | {verdict(v, budget)} | `{cmdline}` |")
    if cpp_rate:
        budget_row("BPF time per HTTP request (C++ server, fixed rate)", "≤ 1 µs", cpp_rate["bpf_req"] and tuple(
            x / 1000 for x in cpp_rate["bpf_req"]), 1.0, 2, "µs", f"sudo bench/run.sh --only {cpp_rate['key']}")
        budget_row("sonde user+sys CPU per HTTP request (C++ server, fixed rate)", "≤ 5 µs", cpp_rate["sonde_cpu"], 5.0, 2,
                   "µs", f"sudo bench/run.sh --only {cpp_rate['key']}")
    if cpp_sat:
        budget_row("BPF time per HTTP request (C++ server, saturation)", "≤ 1 µs", cpp_sat["bpf_req"] and tuple(
            x / 1000 for x in cpp_sat["bpf_req"]), 1.0, 2, "µs", "sudo bench/run.sh --only cpp_http.wrk")
        budget_row("sonde user+sys CPU per HTTP request (C++ server, saturation)", "≤ 5 µs", cpp_sat["sonde_cpu"], 5.0, 2,
                   "µs", "sudo bench/run.sh --only cpp_http.wrk")
        loss = cpp_sat["loss"]
        L.append(f"| throughput loss, C++ keep-alive server at saturation | ≤ 3% | "
                 f"{'–' if loss is None else f'{loss:.1f}%'} (median A {fmt(cpp_sat['tA'])} → B {fmt(cpp_sat['tB'])} req/s) | "
                 f"{verdict(loss, 3.0)} | `sudo bench/run.sh --only cpp_http.wrk` |")
    if "sustain" in special:
        s = special["sustain"]
        L.append(f"| lost events at 20,000 req/s sustained for {s['seconds']} s | 0 | {s['lost']:,.0f} lost "
                 f"(achieved {s['rate']:,.0f} req/s, {s['requests']:,} requests, {s['spans']:,.0f} spans, "
                 f"p50 {s['p50_us']:,.0f} µs, p99 {s['p99_us']:,.0f} µs) | {verdict(s['lost'], 0)}"
                 f"{'' if s['rate'] >= 19800 else ' (rate not reached on this machine)'} | `sudo bench/run.sh --only special` (`{s['cmd']}`, sonde attached) |")
    if "rss" in special:
        s = special["rss"]
        L.append(f"| sonde RSS, steady, 1,000 connections | ≤ 50 MiB | {s['rss_mib']:.1f} MiB (max sampled "
                 f"{s['rss_max_mib']:.1f}, VmHWM {s['hwm_mib']:.1f}) | {verdict(s['rss_mib'], 50.0)} | `sudo bench/run.sh --only special` (`{s['cmd']}`, sonde attached) |")
    L.append("")
    L.append("## All scenarios\n")
    L.append(f"![throughput and sonde CPU per request]({chart_rel})\n")
    L.append("A = without sonde, B = with sonde. Per-request figures divide by the requests completed in the run "
             "(Redis: commands; PostgreSQL: pgbench transactions of 7 statements each).\n")
    L.append("| scenario | load | throughput A /s | throughput B /s | Δ | p50 A µs | p50 B µs | p99 A µs | p99 B µs | "
             "service CPU A µs/req | service CPU B µs/req | sonde CPU µs/req | sonde RSS MiB | BPF ns/event | "
             "BPF ns/req | BPF runs/req | lost | spans/req | load command |")
    L.append("|" + "---|" * 19)
    for r in rows:
        loss = "–" if r["loss"] is None else f"{-r['loss']:+.1f}%"
        L.append(f"| {r['key']} | {r['load']} | {fmt(r['tA'])} | {fmt(r['tB'])} | {loss} | {fmt(r['p50A'])} | "
                 f"{fmt(r['p50B'])} | {fmt(r['p99A'])} | {fmt(r['p99B'])} | {fmt(r['svcA'], 1)} | {fmt(r['svcB'], 1)} | "
                 f"{fmt(r['sonde_cpu'], 2)} | {fmt(r['rss'], 1)} | {fmt(r['bpf_ev'])} | {fmt(r['bpf_req'])} | "
                 f"{fmt(r['bpf_runs'], 1)} | {fmt(r['lost'])} | {fmt(r['spans'], 2)} | "
                 f"`sudo bench/run.sh --only {r['key']}` (`{r['cmd']}`) |")
    L.append("")
    for r in rows:
        if not r["key"].startswith("cpp_http.rate"):
            continue
        progs = {}
        for run in r["runs"]["B"]:
            for p, v in run.get("bpf_progs", {}).items():
                progs.setdefault(p, []).append(v)
        L.append(f"BPF programs per request in `{r['key']}` (medians over the B runs; every process's read/write on the "
                 "machine runs the enter/exit programs, the load generator's included — the unselected ones stop at "
                 "the pid lookup):\n")
        L.append("| program | runs/req | ns/req | ns/run |")
        L.append("|---|---|---|---|")
        for p, vs in sorted(progs.items(), key=lambda kv: -statistics.median(x["ns_per_req"] for x in kv[1])):
            rr = statistics.median(x["runs_per_req"] for x in vs)
            nn = statistics.median(x["ns_per_req"] for x in vs)
            if rr < 0.005:
                continue
            L.append(f"| {p} | {rr:.2f} | {nn:,.0f} | {nn / rr if rr else 0:,.0f} |")
        L.append("")
    L.append("sonde command line of the B runs: `sonde --pid <pids> --output jsonl:/dev/null --admin-address "
             f"127.0.0.1:{ADMIN_PORT} --log-level warn`.\n")
    if skipped:
        L.append("## Skipped scenarios\n")
        for name, title, why in skipped:
            L.append(f"- **{name}** ({title}): {why}")
        L.append("")
    L.append("## Not done\n")
    L.append("- Comparison with the OpenTelemetry JS SDK (`@opentelemetry/sdk-node` + auto-instrumentations) on the "
             "Express app: not done.")
    L.append("")
    for n in extra_notes:
        L.append(n)
    L.append("## Decoder microbenchmarks\n")
    L.append("Google Benchmark, recorded captures of tests/captures fed through the ConnectionTracker (one core): "
             "`build-bench/bench/decoders_bench` (target `decoders_bench`), one connection per iteration (open, every "
             "captured write, close, drain). Bytes/s and messages/s per core; a message is one paired exchange "
             "(HTTP request+response, Redis command+reply, PostgreSQL statement+result):\n")
    L.append(opts.decoder_table or "(not run)")
    L.append("")
    L.append("## Reproduce\n")
    L.append("```sh\nsudo scripts/install-deps.sh      # wrk, nginx-light, python3-matplotlib, fastapi/uvicorn, redis, postgresql\n"
             "sudo bench/run.sh                  # everything, ~15 min; writes docs/PERFORMANCE.md and docs/performance.png\n"
             "sudo bench/run.sh --quick          # fewer, shorter runs\n"
             "sudo bench/run.sh --only nginx     # one scenario (prefix of the scenario key)\n```\n")
    return "\n".join(L) + "\n"


def chart(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing (python3-matplotlib): no chart")
        return False
    keys = [r["key"] for r in rows]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 5))
    x = range(len(keys))
    w = 0.38
    def bars(ax, vals_a, vals_b, la, lb):
        for off, vals, lab in ((-w / 2, vals_a, la), (w / 2, vals_b, lb)):
            if vals is None:
                continue
            med_ = [v[0] if v else 0 for v in vals]
            lo = [v[0] - v[1] if v else 0 for v in vals]
            hi = [v[2] - v[0] if v else 0 for v in vals]
            ax.bar([i + off for i in x], med_, w, yerr=[lo, hi], capsize=3, label=lab)
    # throughput normalised to A
    norm = lambda t, base: (t[0] / base[0] * 100, t[1] / base[0] * 100, t[2] / base[0] * 100) if t and base else None
    bars(a1, [norm(r["tA"], r["tA"]) for r in rows], [norm(r["tB"], r["tA"]) for r in rows], "without sonde", "with sonde")
    a1.set_ylabel("throughput, % of median without sonde")
    a1.set_title("Throughput (median, min–max)")
    a1.axhline(97, color="red", lw=0.8, ls="--", label="budget (−3%)")
    a1.set_ylim(0, 115)
    a1.legend(loc="lower left", fontsize=8)
    bars(a2, [r["sonde_cpu"] for r in rows], [r["bpf_req"] and tuple(v / 1000 for v in r["bpf_req"]) for r in rows],
         "sonde user+sys CPU", "BPF run time")
    a2.axhline(5, color="red", lw=0.8, ls="--", label="CPU budget 5 µs")
    a2.axhline(1, color="purple", lw=0.8, ls=":", label="BPF budget 1 µs")
    a2.set_ylabel("µs per request")
    a2.set_title("sonde cost per request (median, min–max)")
    a2.legend(fontsize=8)
    for ax in (a1, a2):
        ax.set_xticks(list(x))
        ax.set_xticklabels(keys, rotation=30, ha="right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def decoder_table(opts):
    binary = os.path.join(opts.build_dir, "bench", "decoders_bench")
    if not os.path.exists(binary):
        return None
    args = [binary, "--benchmark_format=json"]
    if opts.smoke:
        args.append("--benchmark_min_time=0.01")
    elif opts.quick:
        args.append("--benchmark_min_time=0.1")
    out = subprocess.run(args, capture_output=True, text=True, timeout=600).stdout
    try:
        j = json.loads(out)
    except ValueError:
        return None
    L = ["| benchmark | MB/s | messages/s | messages per iteration |", "|---|---|---|---|"]
    for b in j["benchmarks"]:
        L.append(f"| {b['name']} | {b.get('bytes_per_second', 0) / 1e6:,.1f} | {b.get('messages/s', 0):,.0f} | "
                 f"{b.get('msgs/iter', 0):.0f} |")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="3 runs of 4 s, shorter sustained run")
    ap.add_argument("--smoke", action="store_true", help="1 scenario, 1 short run each A/B; checks a table row is made")
    ap.add_argument("--only", action="append", help="run only scenarios whose key starts with this (repeatable)")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--seconds", type=int)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--sonde", required=True)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "PERFORMANCE.md"))
    ap.add_argument("--note", default="", help="a note printed at the top of the report")
    ap.add_argument("--from-json", help="rewrite the report and chart from a results.json of an earlier run (no load)")
    opts = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/run.sh must run as root (sonde loads BPF programs)")
    opts.loadgen = os.path.join(opts.build_dir, "bench", "bench_loadgen")
    opts.runs = opts.runs or (1 if opts.smoke else 3 if opts.quick else 5)
    opts.seconds = opts.seconds or (2 if opts.smoke else 4 if opts.quick else 6)
    opts.redis_n = 20000 if opts.smoke else 100000 if opts.quick else 200000
    opts.sustain_seconds = 10 if opts.quick else 60
    opts.rss_seconds = 5 if opts.quick else 10
    if opts.smoke:
        opts.only = ["cpp_http.wrk"]
    if opts.from_json:
        saved = json.load(open(opts.from_json))
        opts.runs, opts.seconds, opts.quick = saved["opts"]["runs"], saved["opts"]["seconds"], saved["opts"]["quick"]
        opts.decoder_table = decoder_table(opts)
        chart_path = os.path.join(os.path.dirname(opts.out), "performance.png")
        chart(saved["rows"], chart_path)
        notes_file = os.path.join(BENCH, "findings.md")
        notes = [open(notes_file).read()] if os.path.exists(notes_file) else []
        with open(opts.out, "w") as f:
            f.write(write_report(opts, saved["rows"], saved["special"], saved["skipped"],
                                 datetime.datetime.fromisoformat(saved["started"]), opts.note, notes,
                                 os.path.basename(chart_path)))
        log("rewrote", opts.out, "from", opts.from_json)
        return
    started = datetime.datetime.utcnow()
    tmp = tempfile.mkdtemp(prefix="sonde-bench-")
    stats_path = "/proc/sys/kernel/bpf_stats_enabled"
    old_stats = open(stats_path).read().strip()
    with open(stats_path, "w") as f:
        f.write("1")
    results, skipped, special = [], [], {}
    try:
        for cls, loads in scenarios(opts):
            if opts.only and not any(o.split(".")[0] == cls.name or o.startswith(cls.name) for o in opts.only):
                continue
            run_ab(cls, loads, opts, tmp, results, skipped)
        if not opts.smoke:
            special = special_runs(opts, tmp)
    finally:
        with open(stats_path, "w") as f:
            f.write(old_stats)
    rows = summarize(results)
    with open(os.path.join(tmp, "results.json"), "w") as f:
        json.dump({"rows": rows, "special": special, "skipped": skipped, "opts": {"runs": opts.runs, "seconds": opts.seconds,
                   "quick": opts.quick}, "started": started.isoformat()}, f, default=str, indent=1)
    if opts.smoke:
        ok = rows and rows[0]["tA"] and rows[0]["tB"] and rows[0]["sonde_cpu"] is not None
        print(f"bench smoke: {'OK' if ok else 'FAILED'}: {len(rows)} row(s)")
        for r in rows:
            print(f"  {r['key']}: A {r['tA'][0]:.0f}/s B {r['tB'][0]:.0f}/s sonde {r['sonde_cpu'][0]:.2f} us/req")
        shutil.rmtree(tmp, ignore_errors=True)
        sys.exit(0 if ok else 1)
    opts.decoder_table = decoder_table(opts)
    chart_path = os.path.join(os.path.dirname(opts.out), "performance.png")
    chart(rows, chart_path)
    notes = []
    notes_file = os.path.join(BENCH, "findings.md")
    if os.path.exists(notes_file):
        notes.append(open(notes_file).read())
    report = write_report(opts, rows, special, skipped, started, opts.note, notes, os.path.basename(chart_path))
    with open(opts.out, "w") as f:
        f.write(report)
    log("wrote", opts.out, "and", chart_path, "; raw results in", os.path.join(tmp, "results.json"))
    # keep results.json; remove the rest
    for p in os.listdir(tmp):
        if p != "results.json":
            shutil.rmtree(os.path.join(tmp, p), ignore_errors=True) if os.path.isdir(os.path.join(tmp, p)) else os.remove(os.path.join(tmp, p))


if __name__ == "__main__":
    main()
