"""What the overhead benchmark (bench/harness.py) starts: sonde itself, the
servers under test, and the local OTLP receiver of the OpenTelemetry JS SDK
arm. Every server listens on 127.0.0.1 only."""
import glob
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

from common import ADMIN_PORT, BENCH, ROOT, cpu, free_port, raise_nofile, stop_proc, tree, wait_port

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
        stop_proc(self.proc, signal.SIGINT)
        self.err.close()


# ---------------------------------------------------------------- servers

class Server:
    name = ""
    title = ""
    unit = "req"
    settle = 0.3  # s after a load before the closing readings

    def __init__(self, opts, tmp):
        self.opts, self.tmp, self.proc = opts, tmp, None
        self.port = free_port()

    def available(self):
        return None  # or the reason it is skipped

    def stop(self):
        stop_proc(self.proc)

    def pids(self):
        return tree(self.proc.pid)

    def root(self):
        return self.proc.pid

    def exporter_snapshot(self):
        """Spans exported by in-process instrumentation and its receiver's CPU s, if it has any."""
        return None

    def _spawn(self, cmd, **kw):
        self.log = open(os.path.join(self.tmp, self.name + ".log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=raise_nofile, **kw)
        if not wait_port(self.port, 30):
            raise RuntimeError(f"{self.name} did not listen on {self.port}")


class CppHttp(Server):
    name, title = "cpp_http", "C++ keep-alive HTTP server (thread per connection)"

    def start(self):
        self._spawn([os.path.join(self.opts.build_dir, "bench", "bench_http_server"), str(self.port)])


class GrpcEcho(Server):
    name, title, unit = "grpc_cpp", "C++ gRPC echo server (grpc++ 1.51, synchronous API)", "call"

    def binary(self):
        return os.path.join(self.opts.build_dir, "tests", "integration", "grpc_echo_server")

    def available(self):
        for b in (self.binary(), self.opts.grpc_loadgen):
            if not os.path.exists(b):
                return f"{os.path.relpath(b, self.opts.build_dir)} not built (needs SONDE_BUILD_TESTS=ON)"
        return None

    def start(self):
        self._spawn([self.binary(), str(self.port)])


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
        stop_proc(self.proc, signal.SIGQUIT)


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


class OtlpSink:
    """bench/otlp_sink.py in its own process: counts and discards OTLP/HTTP exports."""

    def __init__(self, tmp):
        self.port = free_port()
        self.log = open(os.path.join(tmp, "otlp_sink.log"), "w")
        self.proc = subprocess.Popen(["/usr/bin/python3", "-B", os.path.join(BENCH, "otlp_sink.py"), str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_port(self.port, 10):
            self.stop()
            raise RuntimeError("otlp_sink.py did not listen")

    def stats(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=5) as r:
            s = json.loads(r.read())
        s["cpu"] = cpu(self.proc.pid)
        return s

    def stop(self):
        stop_proc(self.proc)
        self.log.close()


class ExpressOtel(Express):
    """Arm C: the same Express app under the OpenTelemetry JS SDK's zero-code
    auto-instrumentation, exporting OTLP/HTTP protobuf to an OtlpSink."""
    name, title = "node_express_otel", "Node.js Express with the OpenTelemetry JS SDK auto-instrumentation (bench/node)"
    sdk = "@opentelemetry/auto-instrumentations-node"
    # The BatchSpanProcessor exports a partial batch 5 s (its default delay)
    # after its first span: waiting that long after each run counts the run's
    # last spans and their export CPU in the run itself.
    settle = 5.5

    def available(self):
        why = super().available()
        if why:
            return why
        if not os.path.isdir(os.path.join(BENCH, "node/node_modules", self.sdk)):
            return "OpenTelemetry JS SDK not installed in bench/node (bench/run.sh runs npm install there)"
        return None

    def start(self):
        self.sink = OtlpSink(self.tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        env.update(NODE_PATH=os.path.join(BENCH, "node/node_modules") + ":" + os.path.join(ROOT, "tests/node/node_modules"),
                   NODE_ENV="production", OTEL_SERVICE_NAME="bench-express", OTEL_TRACES_EXPORTER="otlp",
                   OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
                   OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{self.sink.port}",
                   OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none",
                   # no cloud detectors: they query metadata endpoints at start
                   OTEL_NODE_RESOURCE_DETECTORS="env,host,os,process")
        self.cmdline = f"node --require {self.sdk}/register bench/apps/express_app.js <port>"
        self._spawn(["node", "--require", f"{self.sdk}/register", os.path.join(BENCH, "apps/express_app.js"),
                     str(self.port)], env=env, cwd=os.path.join(BENCH, "node"))

    def exporter_snapshot(self):
        return self.sink.stats()

    def stop(self):
        # The SDK's register turns SIGTERM into "flush and keep running".
        stop_proc(self.proc, signal.SIGINT)
        if getattr(self, "sink", None):
            self.sink.stop()


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
        stop_proc(self.proc, signal.SIGINT, 20)  # fast shutdown


