#!/usr/bin/env bash
# Installs every Debian bookworm package the exporter needs to build, run and
# test. Idempotent: packages already present are left as they are.
set -euo pipefail
# What building joelclaw_exporter needs. The Dockerfile's build stage installs
# exactly these: scripts/check-image.py (CTest image_packages) fails when the
# two lists differ, so change both together.
BUILD_PKGS=(
  build-essential cmake pkg-config
  # libcivetweb-dev and civetweb: only because prometheus-cpp's CMake config
  # looks them up. The HTTP server is Boost.Beast: libboost-dev, header-only.
  prometheus-cpp-dev libcivetweb-dev civetweb libssl-dev libboost-dev
  libyaml-cpp-dev libcurl4-openssl-dev libspdlog-dev nlohmann-json3-dev
  zlib1g-dev
)
# What the tests, the sanitizer builds and the fuzzers need besides.
TEST_PKGS=(
  libgtest-dev libgmock-dev
  prometheus prometheus-alertmanager openssh-server openssh-client redis-server
  openssl curl ca-certificates python3 procps
  python3-yaml systemd
  chromium
  clang libclang-rt-dev llvm
)
PKGS=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}")
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup-deps: all packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# Debian's daemons must not start from the package scripts: tests start their
# own instances on loopback.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
