#!/usr/bin/env bash
# sonde overhead benchmark: ONE command that runs every scenario without and
# with sonde (interleaved A B A B) and writes docs/PERFORMANCE.md and
# docs/performance.png.
#
# Scenarios (key: server, load):
#   cpp_http.wrk / .rate5000        C++ keep-alive server, wrk saturation / bench_loadgen 5,000 req/s
#   nginx.wrk / .rate5000           nginx, the same two loads
#   redis.bench                     redis-server under redis-benchmark (SET+GET)
#   postgres.pgbench                PostgreSQL under pgbench (TPC-B-like, prepared)
#   grpc_cpp.unary                  C++ gRPC echo server (tests/integration), closed-loop Unary calls
#                                   from bench_grpc_loadgen (4 channels x 8 streams)
#   node_express.wrk / .rate2000    Express; third arm C: the same app under the OpenTelemetry JS SDK
#                                   (auto-instrumentation, OTLP/HTTP to a local receiver), A B C interleaved
#   python_fastapi.wrk / .rate1000  FastAPI on uvicorn
#   special                         20,000 req/s for 60 s (lost events), 1,000 connections (sonde RSS)
#
#   sudo bench/run.sh            # full run (5 x A/B per scenario), ~20 min
#   sudo bench/run.sh --quick    # 3 x A/B of 4 s, 10 s sustained run
#   sudo bench/run.sh --smoke    # 1 scenario, 1 short A/B; the test suite runs this
#   sudo bench/run.sh --only nginx --only redis
#
# Options for the harness: --build-dir DIR (default build-bench, configured and
# built here), --sonde PATH (default DIR/sonde), --no-build, --runs N,
# --seconds S, --note TEXT. Packages: scripts/install-deps.sh; the OpenTelemetry
# JS SDK of arm C: bench/node/package.json, installed here with npm when the
# Express scenario runs (never by --smoke).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build_dir="$root/build-bench"
sonde=""
build=1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --sonde) sonde="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ "$(id -u)" != 0 ]; then
  echo "bench/run.sh: run as root (sudo bench/run.sh): sonde loads BPF programs" >&2
  exit 1
fi
targets=(bench_loadgen bench_http_server decoders_bench)
[ -z "$sonde" ] && targets+=(sonde)
if [ "$build" = 1 ]; then
  [ -f "$build_dir/CMakeCache.txt" ] || cmake -S "$root" -B "$build_dir" >/dev/null
  # the gRPC scenario's server and proto library live in tests/integration
  grep -q '^SONDE_BUILD_TESTS:BOOL=OFF' "$build_dir/CMakeCache.txt" || targets+=(grpc_echo_server bench_grpc_loadgen)
  cmake --build "$build_dir" --target "${targets[@]}" -j"$(nproc)" >/dev/null
fi
[ -n "$sonde" ] || sonde="$build_dir/sonde"
smoke=0
only=()
prev=""
for a in ${args[@]+"${args[@]}"}; do
  [ "$a" = --smoke ] && smoke=1
  [ "$prev" = --only ] && only+=("$a")
  prev="$a"
done
# Arm C of the Express scenario needs the OpenTelemetry JS SDK (bench/node),
# kept out of tests/node so the test suite's install stays small. Without it
# the harness runs A/B only and lists arm C as skipped.
otel=0
if [ "$smoke" = 0 ]; then
  [ ${#only[@]} = 0 ] && otel=1
  for o in ${only[@]+"${only[@]}"}; do
    case "node_express" in "$o"*) otel=1 ;; esac
    case "$o" in node_express*) otel=1 ;; esac
  done
fi
sdk="$here/node/node_modules/@opentelemetry/auto-instrumentations-node"
if [ "$otel" = 1 ] && [ ! -d "$sdk" ] && command -v npm >/dev/null; then
  echo "bench/run.sh: npm install in bench/node (OpenTelemetry JS SDK for the Express arm C)" >&2
  (cd "$here/node" && npm install --no-audit --no-fund >&2) || echo "bench/run.sh: npm install failed: arm C skipped" >&2
fi
for t in wrk /usr/bin/python3; do
  if ! command -v "$t" >/dev/null; then
    echo "bench/run.sh: $t missing (run scripts/install-deps.sh)" >&2
    exit 1
  fi
done
exec /usr/bin/python3 "$here/harness.py" --build-dir "$build_dir" --sonde "$sonde" ${args[@]+"${args[@]}"}
