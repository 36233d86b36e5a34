#!/usr/bin/env bash
# Installs everything sonde needs to build and test, from Debian's packages
# (and the npm registry for the Node.js test clients). Safe to run again.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  exec sudo -E "$0" "$@"
fi

export DEBIAN_FRONTEND=noninteractive
PKGS=(
  # build
  build-essential cmake pkg-config clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
  # libraries
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libspdlog-dev libfmt-dev libyaml-cpp-dev libcurl4-openssl-dev libnghttp2-dev nlohmann-json3-dev libabsl-dev
  # tcmalloc_minimal, the allocator the sonde binary links (src/agent/CMakeLists.txt)
  libgoogle-perftools-dev
  # OTLP/HTTP tests: TLS test receiver (OpenSSL) and test certificates (openssl tool)
  libssl-dev openssl
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev libclang-rt-14-dev
  curl python3 python3-flask python3-requests
  # gRPC tests: the Python echo server and client (the C++ ones use libgrpc++-dev above)
  python3-grpcio
  # Redis and PostgreSQL servers and real clients for the database tests
  redis-server redis-tools python3-redis libhiredis-dev
  postgresql postgresql-client postgresql-contrib python3-psycopg2 libpq-dev
  # asyncio in-process links test: FastAPI app's async clients (Redis: python3-redis above)
  python3-httpx python3-asyncpg
  # overhead benchmark (bench/run.sh): load generators, servers, chart
  wrk nginx-light python3-matplotlib python3-fastapi python3-uvicorn
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Node.js (with npm) is on the build machines already; Debian's packages are
# the fallback where it is missing.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt-get install -y -q --no-install-recommends nodejs npm
fi

# Node.js packages the tests drive (express, ioredis, pg, @grpc/grpc-js,
# @grpc/proto-loader), and the OpenTelemetry JS SDK of bench/node (the
# benchmark's arm C and the SDK interop test), from the npm registry.
root="$(cd "$(dirname "$0")/.." && pwd)"
for dir in "$root/tests/node" "$root/bench/node"; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package.json" -nt "$dir/node_modules" ]; then
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
    touch "$dir/node_modules"
  fi
done
