# libFuzzer target for the PostgreSQL decoder (plus the span code its harness
# checks), built by sonde_add_fuzzer (CMakeLists.txt), and its seed corpus and ctest.
sonde_add_fuzzer(postgres_fuzz
  ${SONDE_SRC}/spans/span.cc
  ${SONDE_SRC}/spans/db_span.cc
  ${SONDE_SRC}/spans/id_generator.cc
  ${SONDE_SRC}/spans/postgres_span.cc
  ${SONDE_SRC}/spans/sql_sanitizer.cc)

# The seed corpus is made from the recorded captures (see the input format
# in postgres_fuzz.cc) in a fresh temp dir, so the source tree is never
# written. Crashing inputs are kept in $SONDE_FUZZ_ARTIFACTS when set.
set(PG_FUZZ_RUN ${CMAKE_BINARY_DIR}/tests/fuzz/postgres_fuzz_run.sh)
file(WRITE ${PG_FUZZ_RUN} [=[
#!/bin/sh
# Usage: postgres_fuzz_run.sh <fuzzer> <captures dir> <seconds>
set -eu
fuzzer=$1
captures=$2
seconds=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/corpus"
for fe in "$captures"/*.fe; do
  name=$(basename "$fe" .fe)
  be="$captures/$name.be"
  # Whole captures as a traced client and server, then with a few schedules
  # (chunking, holes, gaps) and through the tracker.
  for head in '\001\000\000' '\002\000\000' '\001\000\007' '\011\001\044' '\000\002\201' '\062\003\003' \
              '\004\000\005' '\005\001\001'; do
    { printf "$head"; cat "$fe"; printf '\n--backend--\n'; cat "$be"; } \
      > "$dir/corpus/$name-$(printf "$head" | od -An -tx1 | tr -d ' \n')"
  done
done
artifacts="$dir/"
if [ -n "${SONDE_FUZZ_ARTIFACTS:-}" ]; then
  mkdir -p "$SONDE_FUZZ_ARTIFACTS"
  artifacts="$SONDE_FUZZ_ARTIFACTS/"
fi
rc=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=131072 \
  -artifact_prefix="$artifacts" -print_final_stats=1 "$dir/corpus" || rc=$?
exit $rc
]=])

add_test(NAME fuzz.postgres
  COMMAND sh ${PG_FUZZ_RUN} ${postgres_fuzz_BIN} ${CMAKE_SOURCE_DIR}/tests/captures/postgres 15)
set_tests_properties(fuzz.postgres PROPERTIES TIMEOUT 180 LABELS fuzz)
