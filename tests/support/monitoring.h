#pragma once

#include <set>

#include "nlohmann/json.hpp"
#include "tests/support/test_util.h"
#include <string>
#include <vector>

namespace joelclaw::testing {

/// Absolute paths of the files directly in SourceDir()/`dir` whose names end
/// in `suffix`, sorted.
std::vector<std::string> SourceFiles(const std::string& dir, const std::string& suffix);

/// The Prometheus rule files: rules/joelclaw-*.yml, sorted (rules/ also
/// holds alertmanager.yml, which is not a rule file).
std::vector<std::string> PrometheusRuleFiles();

/// rules/alertmanager.yml made runnable on loopback, written to `path`: the
/// bridge receiver posts to `bridge_url` with `bridge_token`, the phone
/// receiver to `phone_url`; group_wait, group_interval become 1s and the
/// credentials files live next to `path`. Returns "" or a problem.
std::string WriteLoopbackAlertmanagerConfig(const std::string& path, const std::string& bridge_url,
                                            const std::string& bridge_token,
                                            const std::string& phone_url);

/// Every rules/joelclaw-*.yml copied into `dir` with each alert's `for:`
/// shortened to `for_duration`, so real Prometheus fires them in seconds.
/// Returns the written paths.
std::vector<std::string> WriteFastRuleFiles(const std::string& dir,
                                            const std::string& for_duration);

/// The python3 the repository's scripts run with: Debian's /usr/bin/python3
/// (python3-yaml installs PyYAML for it, not for a pyenv or venv python3
/// earlier in PATH), else python3 from PATH; "" when there is none.
std::string SystemPython3();

/// Runs scripts/gen-rules.py with `args` (e.g. {"--out", dir, "--time-scale",
/// "0.02"}). Adds a gtest failure and returns false when it fails.
bool GenerateRules(const std::vector<std::string>& args);

/// A Grafana dashboard of dashboards/ (file name and JSON).
struct Dashboard {
  std::string file;
  nlohmann::json doc;
};
/// Every dashboards/*.json, sorted by file name.
std::vector<Dashboard> LoadDashboards();
/// Every panel of a dashboard, rows' collapsed children included.
std::vector<nlohmann::json> DashboardPanels(const nlohmann::json& dashboard);
/// A panel expression with Grafana's variables replaced by something PromQL
/// accepts: $host and the other regex variables by ".*", the interval
/// variables by durations ($__rate_interval 5m, $__interval 1m, $__range 1h).
std::string PromqlForDashboardExpr(std::string expr);

/// Writes `metrics` (an exposition) into `dir` and expects
/// `promtool check metrics` to accept it without a word; adds gtest failures
/// otherwise (promtool missing included).
void ExpectPromtoolAcceptsMetrics(const TempDir& dir, const std::string& metrics);

/// The series names a PromQL expression refers to: identifiers outside
/// quotes that start with "joelclaw_" (exported metrics) or contain ':'
/// (recording rules). Label names and functions are not returned.
std::set<std::string> SeriesNames(const std::string& expr);

/// Metric names documented in docs/metrics.md (the first `code` cell of each
/// table row).
std::set<std::string> DocumentedMetrics();

}  // namespace joelclaw::testing
