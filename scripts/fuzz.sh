#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang, ASan and UBSan, and runs
# each for FUZZ_SECONDS (default 60) on its corpus in fuzz/corpus/<name>/.
# New inputs go to a scratch directory, not into the repository; a crash
# leaves its input in build-asan/findings/ and makes the script exit 1.
#
#   ./scripts/fuzz.sh                 # every target, 60 s each, 2 at a time
#   FUZZ_SECONDS=10 ./scripts/fuzz.sh config_fuzz df_fuzz
#
# The build directory and its configuration are those of
# `scripts/sanitize.sh asan`, so after that script (as in scripts/test.sh)
# only the small fuzz target files are left to compile.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${FUZZ_BUILD_DIR:-build-asan}"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
JOBS="${FUZZ_JOBS:-$(nproc)}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Sanitize \
  -DCMAKE_CXX_COMPILER=clang++ -DJOELCLAW_SANITIZE=address,undefined -DJOELCLAW_FUZZ=ON >/dev/null
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  for f in fuzz/*_fuzz.cc; do targets+=("$(basename "$f" .cc)"); done
fi
cmake --build "$BUILD_DIR" -j"$(nproc)" --target "${targets[@]}"
mkdir -p "$BUILD_DIR/findings"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1
run_one() {
  local t="$1" scratch
  scratch="$(mktemp -d)"
  local corpus="fuzz/corpus/${t%_fuzz}"
  mkdir -p "$corpus"
  if "$BUILD_DIR/$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$BUILD_DIR/findings/$t-" \
      "$scratch" "$corpus" >"$BUILD_DIR/$t.log" 2>&1; then
    echo "$t: $(grep -E 'stat::number_of_executed_units' "$BUILD_DIR/$t.log" | awk '{print $2}') runs, no finding"
    rm -rf "$scratch"
  else
    echo "$t: FINDING — see $BUILD_DIR/$t.log and $BUILD_DIR/findings/"
    tail -40 "$BUILD_DIR/$t.log"
    rm -rf "$scratch"
    return 1
  fi
}
export -f run_one
export BUILD_DIR SECONDS_EACH
printf '%s\n' "${targets[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_one {}'
