#!/usr/bin/env bash
# From a bare Debian bookworm: installs the dependencies, builds, and starts
# the exporter on its embedded default config (this machine's resources and
# root filesystem) on :10042. Extra arguments go to the exporter.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup-deps.sh
./scripts/build.sh
exec ./build/joelclaw_exporter "$@"
