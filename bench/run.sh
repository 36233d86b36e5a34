#!/usr/bin/env bash
# sonde overhead benchmark: ONE command that runs every scenario without and
# with sonde (interleaved A B A B) and writes docs/PERFORMANCE.md and
# docs/performance.png.
#
#   sudo bench/run.sh            # full run (5 x A/B per scenario), ~15-20 min
#   sudo bench/run.sh --quick    # 3 x A/B of 4 s, 10 s sustained run
#   sudo bench/run.sh --smoke    # 1 scenario, 1 short A/B; the test suite runs this
#   sudo bench/run.sh --only nginx --only redis
#
# Options for the harness: --build-dir DIR (default build-bench, configured and
# built here), --sonde PATH (default DIR/sonde), --no-build, --runs N,
# --seconds S, --note TEXT. Packages: scripts/install-deps.sh.
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
  cmake --build "$build_dir" --target "${targets[@]}" -j"$(nproc)" >/dev/null
fi
[ -n "$sonde" ] || sonde="$build_dir/sonde"
smoke=0
for a in ${args[@]+"${args[@]}"}; do [ "$a" = --smoke ] && smoke=1; done
for t in wrk /usr/bin/python3; do
  if ! command -v "$t" >/dev/null; then
    echo "bench/run.sh: $t missing (run scripts/install-deps.sh)" >&2
    exit 1
  fi
done
exec /usr/bin/python3 "$here/harness.py" --build-dir "$build_dir" --sonde "$sonde" ${args[@]+"${args[@]}"}
