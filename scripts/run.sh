#!/usr/bin/env bash
# Installs, builds and runs sonde on its embedded default: every process on
# this machine, HTTP/1.x spans printed to the terminal. Extra arguments are
# passed to sonde (e.g. --pid 1234, --exe 'python3*').
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
if [ "$(id -u)" -ne 0 ]; then
  exec sudo -E build/sonde "$@"
fi
exec build/sonde "$@"
