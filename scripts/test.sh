#!/usr/bin/env bash
# From a bare Debian bookworm: installs the dependencies, builds, and runs the
# whole test suite (unit, loopback probes against real sshd/redis/TLS/HTTP
# servers, the real binary end to end, promtool and a real Prometheus).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-deps.sh
./scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 300 -j"$(nproc)"
