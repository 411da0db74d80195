#!/usr/bin/env bash
# Installs the peers the benchmarks compare against (wrk, node_exporter,
# blackbox_exporter) from Debian. Not part of scripts/setup-deps.sh: a host
# that only runs the exporter should not get two more exporters enabled at
# boot. Their services are stopped and disabled; the scripts start their own
# instances on loopback ports.
set -euo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends wrk prometheus-node-exporter \
  prometheus-blackbox-exporter
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now prometheus-node-exporter prometheus-blackbox-exporter || true
fi
