#!/usr/bin/python3
"""sonde overhead benchmark: runs every scenario without (A) and with (B)
sonde, interleaved A B A B (A B C A B C where a scenario has a third arm,
e.g. Express under the OpenTelemetry JS SDK), and writes docs/PERFORMANCE.md
and a chart.

Started by bench/run.sh (which builds the binaries); see bench/README.md.
Every server listens on 127.0.0.1 only; every run is bounded in time. This
file runs the scenarios; servers.py starts what they need, loads.py drives
them, report.py writes the results.
"""
import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no root-owned __pycache__ in the source tree

from common import BENCH, ROOT, hide_port, log, rss_mib, tree_cpu  # noqa: E402
from loads import grpc_load, loadgen, pg_bench, redis_bench, wrk  # noqa: E402
from report import chart, decoder_table, summarize, write_report  # noqa: E402
from servers import (CppHttp, Express, ExpressOtel, FastAPI, GrpcEcho, Nginx, Postgres, Redis,  # noqa: E402
                     Sonde)

# ---------------------------------------------------------------- scenarios

def http_loads(opts, rate):
    d = opts.seconds
    return [
        ("wrk", f"saturation (wrk, 1 thread, 50 conns, {d} s)", lambda s: wrk(s.port, d, 50)),
        (f"rate{rate}", f"fixed {rate} req/s (bench_loadgen, 50 conns, {d} s)",
         lambda s: loadgen(opts.loadgen, s.port, d, rate, 50)),
    ]


def scenarios(opts):
    """(server class, loads, server class of arm C or None) per scenario."""
    d = opts.seconds
    return [
        (CppHttp, http_loads(opts, 5000), None),
        (Nginx, http_loads(opts, 5000), None),
        (Redis, [("bench", "redis-benchmark SET+GET, 50 conns", lambda s: redis_bench(s.port, opts.redis_n))], None),
        (Postgres, [("pgbench", f"pgbench -M prepared, 4 clients, {d} s",
                     lambda s: pg_bench(s.port, s.dir, d, s.tmp))], None),
        (GrpcEcho, [("unary", f"closed loop, Unary calls (bench_grpc_loadgen, 4 channels x 8 streams, {d} s)",
                     lambda s: grpc_load(opts.grpc_loadgen, s.port, d, 4, 8))], None),
        (Express, http_loads(opts, 2000), ExpressOtel),
        (FastAPI, http_loads(opts, 1000), None),
    ]


def measure(server, load_fn, side, opts, tmp):
    """One run: A = the server alone, B = with sonde attached, C = arm C's
    server (instrumented in-process, no sonde)."""
    sonde = Sonde(opts.sonde, server.pids(), tmp) if side == "B" else None
    try:
        time.sleep(0.3)
        s0 = sonde.snapshot() if sonde else None
        e0 = server.exporter_snapshot()
        c0 = tree_cpu(server.root())
        r = load_fn(server)
        time.sleep(server.settle)  # let sonde drain its ring buffer (or the SDK export); reap exited children
        c1 = tree_cpu(server.root())
        req = max(1, r["requests"])
        r["service_cpu_us_per_req"] = (c1 - c0) * 1e6 / req
        if e0:
            e1 = server.exporter_snapshot()
            r["spans_per_req"] = (e1["spans"] - e0["spans"]) / req
            r["receiver_cpu_us_per_req"] = (e1["cpu"] - e0["cpu"]) * 1e6 / req
            r["exports"] = e1["exports"] - e0["exports"]
        if sonde:
            s1 = sonde.snapshot()
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


def run_line(key, i, opts, side, r):
    line = f"{key} run {i + 1}/{opts.runs} {side}: {r['throughput']:.0f}/s p50 {r['p50_us']:.0f}us p99 {r['p99_us']:.0f}us"
    line += f" service {r['service_cpu_us_per_req']:.1f}us/req"
    if side == "B":
        line += (f" sonde {r['sonde_cpu_us_per_req']:.2f}us/req bpf {r['bpf_ns_per_req']:.0f}ns/req "
                 f"lost {r['lost']:.0f} spans/req {r['spans_per_req']:.2f}")
    elif "receiver_cpu_us_per_req" in r:
        line += f" exported spans/req {r['spans_per_req']:.2f} ({r['exports']} exports)"
    return line


def run_ab(server_cls, loads, opts, tmp, results, skipped, c_cls=None):
    """A B A B ... per load, or A B C A B C ... when the scenario has an arm C."""
    why = server_cls(opts, tmp).available()
    if why:
        skipped.append((server_cls.name, server_cls.title, why))
        log("skip", server_cls.name, ":", why)
        return
    if c_cls:
        why = c_cls(opts, tmp).available()
        if why:
            skipped.append((c_cls.name, "arm C: " + c_cls.title, why))
            log("skip arm C", c_cls.name, ":", why)
            c_cls = None
    for load_name, load_title, fn in loads:
        key = f"{server_cls.name}.{load_name}"
        if opts.only and not any(key.startswith(o) for o in opts.only):
            continue
        server = server_cls(opts, tmp)
        sides = {"A": server, "B": server}
        try:
            server.start()
            if c_cls:
                sides["C"] = c_cls(opts, tmp)
                sides["C"].start()
            for s in {id(s): s for s in sides.values()}.values():
                log("start", key, s.name, "warm-up")
                try:
                    fn(s)  # warm-up run, not counted
                except Exception as e:  # noqa: BLE001
                    log("warm-up failed:", e)
            runs = {side: [] for side in sides}
            for i in range(opts.runs):
                for side, s in sides.items():
                    r = measure(s, fn, side, opts, tmp)
                    log(run_line(key, i, opts, side, r))
                    runs[side].append(r)
            res = {"key": key, "server": server_cls.name, "title": server_cls.title, "load": load_title,
                   "unit": server_cls.unit, "runs": runs}
            if "C" in sides:
                res.update(c_title=c_cls.title, c_cmd=sides["C"].cmdline)
            results.append(res)
        finally:
            for s in {id(s): s for s in sides.values()}.values():
                s.stop()


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
    opts.grpc_loadgen = os.path.join(opts.build_dir, "bench", "bench_grpc_loadgen")
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
        for cls, loads, c_cls in scenarios(opts):
            if opts.only and not any(cls.name.startswith(o) or o.startswith(cls.name) for o in opts.only):
                continue
            run_ab(cls, loads, opts, tmp, results, skipped, c_cls)
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
