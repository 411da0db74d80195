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

std::string WriteLoopbackAlertmanagerConfig(const std::string& path, const std::string& bridge_url,
                                            const std::string& bridge_token,
                                            const std::string& phone_url) {
  try {
    YAML::Node doc = YAML::LoadFile(SourceDir() + "/rules/alertmanager.yml");
    const std::string dir = std::filesystem::path(path).parent_path().string();
    WriteFileOrDie(dir + "/bridge-token", bridge_token + "\n", 0600);
    WriteFileOrDie(dir + "/ntfy-token", "tk_test\n", 0600);
    doc["route"]["group_wait"] = "1s";
    doc["route"]["group_interval"] = "1s";
    int rewritten = 0;
    for (YAML::Node receiver : doc["receivers"]) {
      const std::string name = receiver["name"].as<std::string>();
      if (name != "inngest-bridge" && name != "family-phone") continue;
      YAML::Node hook = receiver["webhook_configs"][0];
      hook["url"] = name == "inngest-bridge" ? bridge_url : phone_url;
      hook["http_config"]["authorization"]["credentials_file"] =
          dir + (name == "inngest-bridge" ? "/bridge-token" : "/ntfy-token");
      ++rewritten;
    }
    if (rewritten != 2) return "rules/alertmanager.yml lacks the inngest-bridge or family-phone webhook";
    YAML::Emitter out;
    out << doc;
    WriteFileOrDie(path, std::string(out.c_str()) + "\n");
    return "";
  } catch (const std::exception& e) {
    return std::string("cannot rewrite rules/alertmanager.yml: ") + e.what();
  }
}

std::vector<std::string> WriteFastRuleFiles(const std::string& dir,
                                            const std::string& for_duration) {
  std::vector<std::string> written;
  for (const std::string& file : PrometheusRuleFiles()) {
    YAML::Node doc = YAML::LoadFile(file);
    for (YAML::Node group : doc["groups"]) {
      for (YAML::Node rule : group["rules"]) {
        if (rule["alert"] && rule["for"]) rule["for"] = for_duration;
      }
    }
    YAML::Emitter out;
    out << doc;
    const std::string path = dir + "/" + std::filesystem::path(file).filename().string();
    WriteFileOrDie(path, std::string(out.c_str()) + "\n");
    written.push_back(path);
  }
  return written;
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
