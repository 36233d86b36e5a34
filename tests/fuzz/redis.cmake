# libFuzzer target for the Redis decoder (plus the span code its harness
# checks), built by sonde_add_fuzzer (CMakeLists.txt), and its seed corpus and ctest.
sonde_add_fuzzer(redis_fuzz
  ${SONDE_SRC}/spans/span.cc
  ${SONDE_SRC}/spans/id_generator.cc
  ${SONDE_SRC}/spans/db_span.cc
  ${SONDE_SRC}/spans/redis_span.cc)

# Seeds (in a fresh temp dir, so the source tree is never written): every
# recorded connection as commands, 0xFF, replies (see redis_fuzz.cc), seen
# from the client, from the server, and with a capped write and a lost
# event. Captures over 50 KB would only slow each run down. Crashing inputs
# are kept in $SONDE_FUZZ_ARTIFACTS when set. No semicolons: CMake would
# split the script.
set(REDIS_FUZZ_RUN [=[
set -eu
fuzzer=$1
captures=$2
seconds=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/corpus"
for f in "$captures"/*.cmd
do
  n=$(basename "$f" .cmd)
  r="$captures/$n.reply"
  if [ "$(cat "$f" "$r" | wc -c)" -gt 50000 ]
  then
    continue
  fi
  { printf '\361'
    cat "$f"
    printf '\377\001'
    cat "$r"
  } > "$dir/corpus/client-$n"
  { printf '\362'
    cat "$f"
    printf '\377\001'
    cat "$r"
  } > "$dir/corpus/server-$n"
  { printf '\021'
    cat "$f"
    printf '\377\007\030\011'
    cat "$r"
  } > "$dir/corpus/lossy-$n"
done
cd "$dir"
artifacts="$dir/"
if [ -n "${SONDE_FUZZ_ARTIFACTS:-}" ]
then
  mkdir -p "$SONDE_FUZZ_ARTIFACTS"
  artifacts="$SONDE_FUZZ_ARTIFACTS/"
fi
rc=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$artifacts" -print_final_stats=1 corpus || rc=$?
exit $rc
]=])
add_test(NAME fuzz.redis
  COMMAND sh -c "${REDIS_FUZZ_RUN}" redis_fuzz ${redis_fuzz_BIN}
          ${CMAKE_SOURCE_DIR}/tests/captures/redis 15)
set_tests_properties(fuzz.redis PROPERTIES TIMEOUT 180 LABELS fuzz)
