#!/usr/bin/env bash
# Checks the alerting and recording rules, their unit tests, the runbooks and
# the dashboards, without network:
#   0. rules/joelclaw-*.yml and deploy/monitoring/ are what scripts/gen-rules.py
#      and scripts/gen-deploy.py write
#   1. promtool check rules (with lint) on rules/joelclaw-*.yml
#   2. promtool test rules on rules/tests/*.test.yml
#   3. amtool check-config on deploy/monitoring/alertmanager.yml and promtool
#      check config on deploy/monitoring/prometheus.yml (routing cases and the
#      inhibit rules are AlertmanagerConfigTest.*, with amtool and a real
#      Alertmanager)
#   3b. dashboards/*.json are what scripts/gen-dashboards.py writes
#   4. the conventions (severity, summary, description, runbook_url, runbook
#      sections, recording rule names, test coverage, dashboard uids, variables,
#      units, every panel query parsing): the RulesTest.* and DashboardsTest.*
#      and AlertmanagerConfigTest.* cases of the test binary, built here if needed.
# Set SKIP_GTEST=1 to run only 1-3b (no compiler needed).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"

command -v promtool >/dev/null || { echo "promtool not found (scripts/setup-deps.sh installs it)" >&2; exit 1; }

# Debian's python3 has PyYAML (python3-yaml); a pyenv python3 may not.
py=/usr/bin/python3; [[ -x $py ]] || py=python3
echo "== generated rules and monitoring configs up to date"
"$py" scripts/gen-rules.py --check
"$py" scripts/gen-deploy.py --check

echo "== promtool check rules"
promtool check rules --lint=all --lint-fatal rules/joelclaw-*.yml

echo "== promtool test rules"
promtool test rules rules/tests/*.test.yml

echo "== amtool check-config deploy/monitoring/alertmanager.yml"
command -v amtool >/dev/null || { echo "amtool not found (scripts/setup-deps.sh installs it)" >&2; exit 1; }
amtool check-config deploy/monitoring/alertmanager.yml
echo "== promtool check config deploy/monitoring/prometheus.yml"
promtool check config --syntax-only deploy/monitoring/prometheus.yml

echo "== dashboards up to date"
python3 scripts/gen-dashboards.py --check
echo "  SUCCESS"

if [[ "${SKIP_GTEST:-0}" == 1 ]]; then
  exit 0
fi
echo "== conventions (RulesTest, DashboardsTest, AlertmanagerConfigTest)"
if [[ -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  cmake --build "$BUILD_DIR" --target joelclaw_tests -j"$(nproc)" >/dev/null
else
  BUILD_DIR="$BUILD_DIR" ./scripts/build.sh
fi
filter='RulesTest.*:DashboardsTest.*:AlertmanagerConfigTest.*'
if ! "$BUILD_DIR/joelclaw_tests" --gtest_list_tests --gtest_filter="$filter" | grep -q '^  '; then
  echo "$BUILD_DIR/joelclaw_tests has no RulesTest/DashboardsTest cases (built with JOELCLAW_TEST_FILTER?)" >&2
  exit 1
fi
"$BUILD_DIR/joelclaw_tests" --gtest_filter="$filter" --gtest_brief=1
