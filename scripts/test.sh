#!/usr/bin/env bash
# Installs, builds and runs the whole test suite: unit tests, fuzz targets
# (short budget) and the integration tests, which load the real BPF programs
# and so run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
if [ "$(id -u)" -ne 0 ]; then
  exec sudo -E ctest --test-dir build --output-on-failure -j2
fi
exec ctest --test-dir build --output-on-failure -j2
