#!/usr/bin/env bash
# The whole test suite from a bare Debian bookworm; CI (.ci/run) runs exactly
# this. Every stage prints its own time.
#
#  1. scripts/setup-deps.sh installs the packages.
#  2. scripts/sanitize.sh asan: clang build with ASan + UBSan, then every test
#     (unit, loopback probes against real sshd/redis/TLS/HTTP servers, the
#     real binary end to end, promtool, Prometheus, Alertmanager, chromium).
#  3. scripts/fuzz.sh: every libFuzzer target on the same build, FUZZ_SECONDS
#     each (default 60), FUZZ_JOBS at a time (default 3: on 2 cores each
#     target gets 60 s of wall time and about 40 s of CPU, which keeps the
#     whole run under 15 minutes there).
#  4. scripts/sanitize.sh tsan: g++ build with TSan, then every test again
#     except the end-to-end tests of the monitoring stack (real Prometheus and
#     Alertmanager evaluating the shipped rules and routing: what they prove
#     is timing of those daemons, which run uninstrumented; the exporter in
#     them ran under ASan+UBSan in stage 2, and its threads are under TSan in
#     every other end-to-end test). It keeps CI under 15 minutes.
#
# Any failed test, sanitizer report or fuzz finding fails the run.
# `./scripts/test.sh plain` is the quick loop instead: the uninstrumented
# build (scripts/build.sh, what scripts/run.sh runs) and its tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-deps.sh
if [ "${1:-}" = "plain" ]; then
  ./scripts/build.sh
  cd "${BUILD_DIR:-build}"
  exec ctest --output-on-failure --timeout 300 -j"$(nproc)"
fi
stage() {
  local name="$1" t0
  shift
  t0=$(date +%s)
  echo "=== test.sh: $name"
  "$@"
  echo "=== test.sh: $name done in $(($(date +%s) - t0)) s"
}
stage "ASan+UBSan build and suite" ./scripts/sanitize.sh asan
stage "fuzzing, ${FUZZ_SECONDS:-60} s per target, ${FUZZ_JOBS:-3} at a time" \
  env FUZZ_SECONDS="${FUZZ_SECONDS:-60}" FUZZ_JOBS="${FUZZ_JOBS:-3}" ./scripts/fuzz.sh
# The tests of the monitoring stack run once, in the ASan+UBSan stage.
MONITORING_E2E='^(AlertPath|Network|AlertScenario|Dashboards)EndToEndTest\.'
stage "TSan build and suite" env SANITIZE_EXCLUDE="$MONITORING_E2E" ./scripts/sanitize.sh tsan
