#!/usr/bin/env bash
# Builds the whole test suite with sanitizers and runs it (ctest), the real
# exporter binary the end-to-end tests start included.
#
#   ./scripts/sanitize.sh asan    # clang, ASan + UBSan (+ libFuzzer coverage,
#                                 # so scripts/fuzz.sh can reuse build-asan/)
#   ./scripts/sanitize.sh tsan    # g++, TSan
#
# SANITIZE_EXCLUDE (a ctest -E regex) leaves tests out of this run.
#
# Every instrumented process writes its reports to build-<kind>/sanitizer-logs/
# (log_path), so a report from an exporter that a test started, and whose
# exit status the test does not look at, still fails this script. Exits 1 on
# a failed test or any report. Build type Sanitize: -O1 -g1.
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-}"
case "$kind" in
  asan)
    compilers=(-DCMAKE_CXX_COMPILER=clang++)
    flags=(-DJOELCLAW_SANITIZE=address,undefined -DJOELCLAW_FUZZ=ON)
    ;;
  tsan)
    compilers=(-DCMAKE_CXX_COMPILER=g++)
    flags=(-DJOELCLAW_SANITIZE=thread)
    ;;
  *)
    echo "usage: $0 asan|tsan" >&2
    exit 2
    ;;
esac
BUILD_DIR="build-$kind"
LOG_DIR="$PWD/$BUILD_DIR/sanitizer-logs"
started=$(date +%s)
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Sanitize "${compilers[@]}" "${flags[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
built=$(date +%s)
rm -rf "$LOG_DIR"
mkdir -p "$LOG_DIR"
# halt_on_error: a UBSan finding stops the process like an ASan one does.
export ASAN_OPTIONS="detect_leaks=1:log_path=$LOG_DIR/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$LOG_DIR/ubsan"
export TSAN_OPTIONS="second_deadlock_stack=1:log_path=$LOG_DIR/tsan"
status=0
exclude=()
[ -n "${SANITIZE_EXCLUDE:-}" ] && exclude=(-E "$SANITIZE_EXCLUDE")
(cd "$BUILD_DIR" && ctest --output-on-failure --timeout 300 -j"$(nproc)" "${exclude[@]}") || status=1
if [ -n "$(ls -A "$LOG_DIR")" ]; then
  echo "sanitize.sh $kind: sanitizer reports:" >&2
  for f in "$LOG_DIR"/*; do
    echo "==== $f" >&2
    head -80 "$f" >&2
  done
  status=1
fi
echo "sanitize.sh $kind: build $((built - started)) s, tests $(($(date +%s) - built)) s," \
  "$([ "$status" -eq 0 ] && echo "passed, no sanitizer report" || echo FAILED)"
exit "$status"
