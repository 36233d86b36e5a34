# libFuzzer target for the HTTP/2 decoder, built by sonde_add_fuzzer
# (CMakeLists.txt), and its seed corpus and ctest.
sonde_add_fuzzer(http2_fuzz)

# Seeds (in a fresh temp dir, so the source tree is never written): every
# recorded capture as a traced client, a traced server, a connection of
# unknown role, and one joined mid-stream. Crashing inputs are kept in
# $SONDE_FUZZ_ARTIFACTS when set. No semicolons: CMake would split the script.
set(H2_FUZZ_RUN [=[
set -eu
fuzzer=$1
captures=$2
seconds=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/corpus"
for f in "$captures"/*.cap
do
  n=$(basename "$f" .cap)
  for mode in 001 002 000 005 045 054
  do
    { printf "\\$mode"
      cat "$f"
    } > "$dir/corpus/$n-$mode"
  done
done
cd "$dir"
artifacts="$dir/"
if [ -n "${SONDE_FUZZ_ARTIFACTS:-}" ]
then
  mkdir -p "$SONDE_FUZZ_ARTIFACTS"
  artifacts="$SONDE_FUZZ_ARTIFACTS/"
fi
rc=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=131072 \
  -artifact_prefix="$artifacts" -print_final_stats=1 corpus || rc=$?
exit $rc
]=])
add_test(NAME fuzz.http2
  COMMAND sh -c "${H2_FUZZ_RUN}" http2_fuzz ${http2_fuzz_BIN}
          ${CMAKE_SOURCE_DIR}/tests/captures/http2 15)
set_tests_properties(fuzz.http2 PROPERTIES TIMEOUT 180 LABELS fuzz)
