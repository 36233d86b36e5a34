"""The load generators of the overhead benchmark (bench/harness.py). Each
runs one bounded load against a port on 127.0.0.1 and returns a dict with
cmd, requests, throughput (/s), p50_us, p99_us and errors."""
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from common import ROOT, raise_nofile

def _wrk_time(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)", v)
    x, u = float(m.group(1)), m.group(2)
    return x * {"us": 1, "ms": 1e3, "s": 1e6, "m": 6e7}[u]


def wrk(port, seconds, conns, path="/"):
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", f"http://127.0.0.1:{port}{path}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    out = proc.stdout
    r = {"cmd": " ".join(cmd)}
    m = re.search(r"(\d+) requests in", out)
    if not m:
        raise RuntimeError(f"wrk gave no result (exit {proc.returncode}): {out.strip()} {proc.stderr.strip()}")
    r["requests"] = int(m.group(1))
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
    return _json_result(binary, cmd, out, err, samples)


def _json_result(binary, cmd, out, err, samples=None):
    """The result of bench_loadgen / bench_grpc_loadgen: one JSON line."""
    j = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
    if not j:
        raise RuntimeError(os.path.basename(binary) + " failed: " + err)
    shown = [os.path.relpath(binary, ROOT) if binary.startswith(ROOT) else binary] + cmd[1:]
    return {"cmd": " ".join(shown), "requests": j["completed"], "throughput": j["rps"], "p50_us": j["p50_us"],
            "p99_us": j["p99_us"], "errors": j["errors"] + j["unfinished"], "samples": samples or []}


def grpc_load(binary, port, seconds, channels, streams):
    """Closed-loop Unary calls of sonde.test.Echo (bench/grpc_loadgen.cc)."""
    cmd = [binary, "--port", str(port), "--channels", str(channels), "--streams", str(streams),
           "--duration", str(seconds)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    return _json_result(binary, cmd, p.stdout, p.stderr)


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

