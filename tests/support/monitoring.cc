#include "tests/support/monitoring.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <regex>
#include <sstream>

#include "gtest/gtest.h"
#include "tests/support/test_util.h"
#include "yaml-cpp/yaml.h"

namespace joelclaw::testing {

std::vector<std::string> SourceFiles(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(SourceDir() + "/" + dir, ec)) {
    const std::string path = entry.path().string();
    if (entry.is_regular_file() && path.size() >= suffix.size() &&
        path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
      files.push_back(path);
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> PrometheusRuleFiles() {
  std::vector<std::string> files;
  for (const std::string& path : SourceFiles("rules", ".yml")) {
    if (std::filesystem::path(path).filename().string().rfind("joelclaw-", 0) == 0) {
      files.push_back(path);
    }
  }
  return files;
}

std::string SystemPython3() {
  if (access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  return FindProgram("python3");
}

bool GenerateRules(const std::vector<std::string>& args) {
  const std::string python = SystemPython3();
  if (python.empty()) {
    ADD_FAILURE() << "python3 not installed (scripts/setup-deps.sh installs it)";
    return false;
  }
  std::vector<std::string> argv = {python, SourceDir() + "/scripts/gen-rules.py"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandOutput out = RunCommand(argv, 60);
  if (out.exit_code != 0) {
    ADD_FAILURE() << "scripts/gen-rules.py failed: " << out.out;
    return false;
  }
  return true;
}

std::string WriteLoopbackMonitoring(const std::string& dir, const LoopbackMonitoring& m) {
  const std::string python = SystemPython3();
  if (python.empty()) return "python3 not installed (scripts/setup-deps.sh installs it)";
  std::error_code ec;
  std::filesystem::create_directories(dir + "/secrets", ec);
  WriteFileOrDie(dir + "/secrets/joelclaw-bridge-token", m.bridge_token + "\n", 0600);
  WriteFileOrDie(dir + "/secrets/ntfy-token", "tk_test\n", 0600);
  auto url_or_unused = [](const std::string& url) {
    // A receiver the test does not watch still needs a valid URL; nothing
    // listens on port 9 (discard) of loopback.
    return url.empty() ? std::string("http://127.0.0.1:9/unused") : url;
  };
  std::vector<std::string> argv = {
      python, SourceDir() + "/scripts/gen-deploy.py", "--out", dir,
      "--time-scale", std::to_string(m.time_scale),
      "--set", "monitoring.prometheus.rules_dir=" + dir + "/rules",
      "--set", "monitoring.prometheus.alertmanager=" + m.alertmanager_address,
      "--set", "monitoring.alertmanager.secrets_dir=" + dir + "/secrets",
      "--set", "monitoring.alertmanager.bridge_url=" + url_or_unused(m.bridge_url),
      "--set", "monitoring.alertmanager.phone_url=" + url_or_unused(m.phone_url),
      "--set", "monitoring.alertmanager.digest_url=" + url_or_unused(m.digest_url),
      "--set", "monitoring.alertmanager.watchdog_url=" + url_or_unused(m.watchdog_url)};
  if (m.digest_all_day) {
    argv.insert(argv.end(), {"--set", "monitoring.alertmanager.digest_window.start=00:00",
                             "--set", "monitoring.alertmanager.digest_window.end=24:00",
                             "--set", "monitoring.alertmanager.digest_window.location=UTC"});
  }
  for (const auto& [machine, address] : m.targets) {
    argv.insert(argv.end(), {"--target", machine + "=" + address});
  }
  if (m.only_targets) argv.push_back("--only-targets");
  CommandOutput out = RunCommand(argv, 60);
  if (out.exit_code != 0) return "scripts/gen-deploy.py failed: " + out.out;
  std::vector<std::string> rules = {python, SourceDir() + "/scripts/gen-rules.py", "--out",
                                    dir + "/rules", "--time-scale",
                                    std::to_string(m.rules_time_scale)};
  for (const std::string& s : m.rules_settings) rules.insert(rules.end(), {"--set", s});
  out = RunCommand(rules, 60);
  if (out.exit_code != 0) return "scripts/gen-rules.py failed: " + out.out;
  return "";
}

std::vector<Dashboard> LoadDashboards() {
  std::vector<Dashboard> out;
  for (const std::string& path : SourceFiles("dashboards", ".json")) {
    out.push_back({std::filesystem::path(path).filename().string(),
                   nlohmann::json::parse(ReadFileOrDie(path))});
  }
  return out;
}

std::vector<nlohmann::json> DashboardPanels(const nlohmann::json& dashboard) {
  std::vector<nlohmann::json> out;
  for (const nlohmann::json& p : dashboard.value("panels", nlohmann::json::array())) {
    out.push_back(p);
    for (const nlohmann::json& child : p.value("panels", nlohmann::json::array())) {
      out.push_back(child);
    }
  }
  return out;
}

std::string PromqlForDashboardExpr(std::string expr) {
  const std::vector<std::pair<std::string, std::string>> fixed = {
      {"$__rate_interval", "5m"}, {"${__rate_interval}", "5m"}, {"$__interval", "1m"},
      {"${__interval}", "1m"},    {"$__range", "1h"},           {"${__range}", "1h"}};
  for (const auto& [from, to] : fixed) {
    for (size_t pos; (pos = expr.find(from)) != std::string::npos;)
      expr.replace(pos, from.size(), to);
  }
  static const std::regex var(R"(\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*)");
  return std::regex_replace(expr, var, ".*");
}

void ExpectPromtoolAcceptsMetrics(const TempDir& dir, const std::string& metrics) {
  const std::string promtool = FindProgram("promtool");
  ASSERT_FALSE(promtool.empty()) << "promtool not installed (scripts/setup-deps.sh installs it)";
  const std::string path = dir.File("metrics.txt");
  WriteFileOrDie(path, metrics);
  CommandOutput check =
      RunCommand({"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", promtool, path}, 30);
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_EQ(check.out, "") << "promtool check metrics complained";
}

std::set<std::string> SeriesNames(const std::string& expr) {
  auto ident_start = [](char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
  };
  auto ident_char = [&](char c) {
    return ident_start(c) || std::isdigit(static_cast<unsigned char>(c));
  };
  std::set<std::string> names;
  size_t i = 0;
  while (i < expr.size()) {
    const char c = expr[i];
    if (c == '"' || c == '\'' || c == '`') {  // Skip a string literal.
      for (++i; i < expr.size() && expr[i] != c; ++i) {
        if (expr[i] == '\\' && c != '`') ++i;
      }
      ++i;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {  // 5m, 0.1, 1e3
      while (i < expr.size() &&
             (std::isalnum(static_cast<unsigned char>(expr[i])) || expr[i] == '.'))
        ++i;
    } else if (ident_start(c)) {
      size_t start = i;
      while (i < expr.size() && ident_char(expr[i])) ++i;
      std::string id = expr.substr(start, i - start);
      if (id.rfind("joelclaw_", 0) == 0 || id.find(':') != std::string::npos) names.insert(id);
    } else {
      ++i;
    }
  }
  return names;
}

std::set<std::string> DocumentedMetrics() {
  std::set<std::string> names;
  std::istringstream in(ReadFileOrDie(SourceDir() + "/docs/metrics.md"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("| `", 0) != 0) continue;
    size_t end = line.find('`', 3);
    if (end != std::string::npos) names.insert(line.substr(3, end - 3));
  }
  return names;
}

}  // namespace joelclaw::testing
