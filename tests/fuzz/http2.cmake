# libFuzzer target for the HTTP/2 decoder (included from CMakeLists.txt;
# SONDE_CLANGXX and SONDE_SRC are set there). The tracker runs every
# registered protocol, so every decoder source is compiled in, with
# nghttp2 (HPACK).
file(GLOB H2_FUZZ_SOURCES CONFIGURE_DEPENDS ${SONDE_SRC}/decoders/*.cc ${SONDE_SRC}/decoders/*/*.cc)
list(APPEND H2_FUZZ_SOURCES ${SONDE_SRC}/common/types.cc ${CMAKE_CURRENT_SOURCE_DIR}/http2_fuzz.cc)
file(GLOB H2_FUZZ_HEADERS CONFIGURE_DEPENDS ${SONDE_SRC}/common/*.h ${SONDE_SRC}/decoders/*.h
     ${SONDE_SRC}/decoders/*/*.h)
set(H2_FUZZ_BIN ${CMAKE_BINARY_DIR}/tests/fuzz/http2_fuzz)

add_custom_command(
  OUTPUT ${H2_FUZZ_BIN}
  COMMAND ${SONDE_CLANGXX} -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined
          -fno-sanitize-recover=undefined -I${SONDE_SRC} ${H2_FUZZ_SOURCES} -o ${H2_FUZZ_BIN}
          ${SONDE_FUZZ_LIBS}
  DEPENDS ${H2_FUZZ_SOURCES} ${H2_FUZZ_HEADERS} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_input.h
  COMMENT "Building libFuzzer target http2_fuzz with clang"
  VERBATIM)
add_custom_target(http2_fuzz ALL DEPENDS ${H2_FUZZ_BIN})

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
  COMMAND sh -c "${H2_FUZZ_RUN}" http2_fuzz ${H2_FUZZ_BIN}
          ${CMAKE_SOURCE_DIR}/tests/captures/http2 15)
set_tests_properties(fuzz.http2 PROPERTIES TIMEOUT 180 LABELS fuzz)
