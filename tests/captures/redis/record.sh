#!/bin/sh
# Re-records the Redis captures (all, or the names given as arguments): real redis-server 7 behind a recording proxy,
# driven by real clients (redis-cli, redis-benchmark, python3-redis, ioredis,
# hiredis). Needs scripts/install-deps.sh (redis-server, redis-tools,
# python3-redis, libhiredis-dev, tests/node/node_modules) and Debian's
# /usr/bin/python3. Values that change between runs (TTLs, client ids, the
# benchmark's timing) only matter to tests that assert them exactly, so the
# tests are updated together with a new recording.
set -eu
cd "$(dirname "$0")"
exec /usr/bin/python3 ./record.py "$@"
