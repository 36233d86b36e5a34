"""The report of the overhead benchmark (bench/harness.py): medians over the
runs, docs/PERFORMANCE.md and its chart."""
import json
import os
import platform
import statistics
import subprocess

from common import ADMIN_PORT, log


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
        C = res["runs"].get("C")
        if C:
            tC = g(C, "throughput")
            rows[-1].update(tC=tC, lossC=(1 - tC[0] / tA[0]) * 100 if tA and tC and tA[0] else None,
                            p50C=g(C, "p50_us"), p99C=g(C, "p99_us"), svcC=g(C, "service_cpu_us_per_req"),
                            spansC=g(C, "spans_per_req"), recvC=g(C, "receiver_cpu_us_per_req"))
    return rows


def otel_section(rows):
    """Arm C: the OpenTelemetry JS SDK in the service instead of sonde beside it."""
    rows = [r for r in rows if r.get("tC")]
    if not rows:
        return []
    L = ["## sonde vs the OpenTelemetry JS SDK (Node.js Express)\n",
         f"Arm C runs the same Express app in a second process, `{rows[0].get('c_cmd', '')}`, with the OpenTelemetry "
         "JS SDK's zero-code auto-instrumentation (`@opentelemetry/auto-instrumentations-node` of bench/node/package.json) "
         "exporting traces as OTLP/HTTP protobuf to a local receiver (bench/otlp_sink.py: counts the spans, discards "
         "them); `OTEL_METRICS_EXPORTER=none`, `OTEL_LOGS_EXPORTER=none`, the SDK's defaults otherwise (batch span "
         "processor: 5 s delay, 512 spans per export, queue of 2,048). No sonde in C; the runs are interleaved "
         "A B C A B C with the same load. The SDK's span creation and export run inside the service, so they are in "
         "C's service CPU; each C run's figures are read 5.5 s after its load so its last batch is exported and counted. "
         "Outside the service: sonde's CPU (B; its BPF run time is already in the service's CPU) and the local "
         "receiver's CPU (C). Spans/req: the spans sonde built (B), the spans the receiver got (C; the SDK makes one "
         "per Express middleware besides the HTTP server span, and drops spans when its queue is full).\n",
         "| scenario | arm | throughput /s | Δ vs A | p50 µs | p99 µs | service CPU µs/req | outside the service µs/req | "
         "spans/req |",
         "|" + "---|" * 9]
    pct = lambda loss: "–" if loss is None else f"{-loss:+.1f}%"
    for r in rows:
        L.append(f"| {r['key']} | A: no instrumentation | {fmt(r['tA'])} | | {fmt(r['p50A'])} | {fmt(r['p99A'])} | "
                 f"{fmt(r['svcA'], 1)} | | |")
        L.append(f"| {r['key']} | B: sonde | {fmt(r['tB'])} | {pct(r['loss'])} | {fmt(r['p50B'])} | {fmt(r['p99B'])} | "
                 f"{fmt(r['svcB'], 1)} | {fmt(r['sonde_cpu'], 2)} (sonde) | {fmt(r['spans'], 2)} |")
        L.append(f"| {r['key']} | C: OTel JS SDK | {fmt(r['tC'])} | {pct(r['lossC'])} | {fmt(r['p50C'])} | "
                 f"{fmt(r['p99C'])} | {fmt(r['svcC'], 1)} | {fmt(r['recvC'], 2)} (receiver) | {fmt(r['spansC'], 2)} |")
    L.append("")
    return L


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
             "the run. wrk and bench_grpc_loadgen latency is closed-loop; bench_loadgen latency is open-loop (counted "
             "from each request's due time, no coordinated omission). The Express scenario has a third arm C, the "
             "OpenTelemetry JS SDK in the service instead of sonde (see its section).\n")
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
             "(Redis: commands; PostgreSQL: pgbench transactions of 7 statements each; gRPC: Unary calls).\n")
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
    L.extend(otel_section(rows))
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
             "sudo bench/run.sh                  # everything, ~20 min; writes docs/PERFORMANCE.md and docs/performance.png\n"
             "sudo bench/run.sh --quick          # fewer, shorter runs\n"
             "sudo bench/run.sh --only nginx     # one scenario (prefix of the scenario key)\n"
             "sudo bench/run.sh --only node_express   # A B C with the OpenTelemetry JS SDK (npm install in bench/node)\n```\n")
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

    def bars(ax, series):
        """series: (label, colour, values per row); a row's bars share 0.76 of its slot."""
        done = set()
        for i in x:
            present = [(lab, col, vals[i]) for lab, col, vals in series if vals[i]]
            w = 0.76 / max(1, len(present))
            for j, (lab, col, v) in enumerate(present):
                ax.bar(i - 0.38 + w * (j + 0.5), v[0], w, yerr=[[v[0] - v[1]], [v[2] - v[0]]], capsize=3, color=col,
                       label=None if lab in done else lab)
                done.add(lab)
    # throughput normalised to A
    norm = lambda t, base: (t[0] / base[0] * 100, t[1] / base[0] * 100, t[2] / base[0] * 100) if t and base else None
    bars(a1, [("without sonde", "C0", [norm(r["tA"], r["tA"]) for r in rows]),
              ("with sonde", "C1", [norm(r["tB"], r["tA"]) for r in rows]),
              ("OTel JS SDK, no sonde", "C2", [norm(r.get("tC"), r["tA"]) for r in rows])])
    a1.set_ylabel("throughput, % of median without sonde")
    a1.set_title("Throughput (median, min–max)")
    a1.axhline(97, color="red", lw=0.8, ls="--", label="budget (−3%)")
    a1.set_ylim(0, 115)
    a1.legend(loc="lower left", fontsize=8)
    bars(a2, [("sonde user+sys CPU", "C0", [r["sonde_cpu"] for r in rows]),
              ("BPF run time", "C1", [r["bpf_req"] and tuple(v / 1000 for v in r["bpf_req"]) for r in rows])])
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

