#pragma once

#include <map>
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

/// The monitoring machine of deploy/ made runnable on loopback.
struct LoopbackMonitoring {
  /// Machine of deploy/network.yaml → address its exporter is scraped at
  /// instead.
  std::map<std::string, std::string> targets;
  /// Scrape only the machines in `targets` (else the others keep their
  /// Tailscale address, which does not resolve here: their `up` is 0).
  bool only_targets = true;
  std::string alertmanager_address;  ///< "127.0.0.1:PORT" Prometheus posts to.
  std::string bridge_url, bridge_token = "bridge-secret";
  std::string phone_url, digest_url, watchdog_url;  ///< "" = nobody listens.
  bool digest_all_day = true;  ///< The digest window open all day (UTC).
  /// Intervals and Alertmanager timings (scripts/gen-deploy.py --time-scale):
  /// 1/30 turns the 30 s scrape interval into 1 s.
  double time_scale = 1.0 / 30;
  /// `for:` and range selectors (scripts/gen-rules.py --time-scale).
  double rules_time_scale = 1.0 / 30;
  /// Extra `--set KEY=VALUE` for scripts/gen-rules.py.
  std::vector<std::string> rules_settings;
};

/// Writes `dir`/prometheus.yml and `dir`/alertmanager.yml with
/// scripts/gen-deploy.py (receivers at the given URLs, their credentials in
/// `dir`/secrets: the bridge token and "tk_test" for ntfy) and `dir`/rules/
/// with scripts/gen-rules.py, all from the shipped sources. Returns "" or a
/// problem.
std::string WriteLoopbackMonitoring(const std::string& dir, const LoopbackMonitoring& m);

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
