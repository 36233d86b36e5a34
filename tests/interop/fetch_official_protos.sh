#!/usr/bin/env bash
# Fetches the official OpenTelemetry protocol definitions (.proto files) for
# the interop test, from an npm package that ships them:
# @opentelemetry/otlp-grpc-exporter-base 0.36.1 carries opentelemetry-proto's
# files under build/protos/. They are unpacked into tests/interop/node_modules
# (ignored by git), never copied into the repository.
#
# Usage: fetch_official_protos.sh DEST_NODE_MODULES [--warn-only]
# Exits non-zero when npm or the registry is unavailable, or with
# --warn-only (the build's way) prints a warning and exits 0: the interop
# test then fails with a message saying what is missing.
set -euo pipefail

dest="$1"
if [ "${2:-}" = "--warn-only" ]; then
  "$0" "$dest" || echo "warning: the official OTLP .proto files could not be fetched; interop_test will fail" >&2
  exit 0
fi
pkg="@opentelemetry/otlp-grpc-exporter-base"
version="0.36.1"
out="$dest/$pkg"
marker="$out/build/protos/opentelemetry/proto/collector/trace/v1/trace_service.proto"

if [ -f "$marker" ] && grep -q "\"version\": \"$version\"" "$out/package.json" 2>/dev/null; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "fetch_official_protos: npm not found" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# npm pack downloads the published tarball only (no dependencies, no install
# scripts) and checks it against the registry's integrity hash.
(cd "$tmp" && npm pack --silent --no-fund --no-audit "$pkg@$version" >/dev/null)
rm -rf "$out"
mkdir -p "$out"
tar -xzf "$tmp"/*.tgz -C "$out" --strip-components=1
test -f "$marker"
echo "fetch_official_protos: $pkg@$version unpacked in $out"
