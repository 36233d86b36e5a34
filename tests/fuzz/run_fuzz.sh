#!/bin/sh
# Usage: run_fuzz.sh <fuzzer> <captures dir> <seconds>
# Builds a seed corpus from the captures in a temp dir and fuzzes for <seconds>.
set -eu
fuzzer=$1
captures=$2
seconds=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/corpus"
for f in "$captures"/*.req "$captures"/*.resp; do
  name=$(basename "$f")
  # Each capture alone, from the server's and the client's side.
  { printf '\002'; cat "$f"; } > "$dir/corpus/server-$name"
  { printf '\001'; cat "$f"; } > "$dir/corpus/client-$name"
done
for f in "$captures"/*.resp; do
  name=$(basename "$f" .resp)
  # A request, then this response on the other direction.
  { printf '\001'; cat "$captures/curl_get.req"; printf '\377\001'; cat "$f"; } \
    > "$dir/corpus/pair-$name"
  # The same with a capped first write and a lost event in the response.
  { printf '\000'; cat "$captures/curl_post_form.req"; printf '\377\007\030\011'; cat "$f"; } \
    > "$dir/corpus/lossy-$name"
done
cd "$dir"
# Not exec: the trap must still remove the temp dir. Crashing inputs are
# kept in $SONDE_FUZZ_ARTIFACTS when set (libFuzzer also prints them).
artifacts="$dir/"
if [ -n "${SONDE_FUZZ_ARTIFACTS:-}" ]; then
  mkdir -p "$SONDE_FUZZ_ARTIFACTS"
  artifacts="$SONDE_FUZZ_ARTIFACTS/"
fi
rc=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$artifacts" -print_final_stats=1 corpus || rc=$?
exit $rc
