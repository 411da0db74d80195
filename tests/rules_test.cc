// The Prometheus rules in rules/, their promtool unit tests in rules/tests/ and
// the runbooks in docs/runbooks/: promtool accepts the rules and passes the
// tests, and every alert follows the monitoring-mixins conventions
// (STYLE.md point 10). scripts/check-rules.sh runs the same checks.

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "exporter/thresholds.h"
#include "gtest/gtest.h"
#include "tests/support/monitoring.h"
#include "tests/support/test_util.h"
#include "yaml-cpp/yaml.h"

namespace joelclaw::testing {
namespace rules_test {

// rules/config.yml, the settings scripts/gen-rules.py fills into rules/src/.
YAML::Node RulesConfig() { return YAML::LoadFile(SourceDir() + "/rules/config.yml"); }

std::string Basename(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

std::vector<std::string> RuleTestFiles() { return SourceFiles("rules/tests", ".test.yml"); }

struct Rule {
  std::string file;
  std::string name;  ///< The alert or record name.
  YAML::Node node;
};

/// Every rule of every file in rules/, alerts or recording rules.
std::vector<Rule> LoadRules(bool alerts) {
  std::vector<Rule> rules;
  for (const std::string& file : PrometheusRuleFiles()) {
    YAML::Node doc = YAML::LoadFile(file);
    for (const YAML::Node& group : doc["groups"]) {
      for (const YAML::Node& rule : group["rules"]) {
        const char* key = alerts ? "alert" : "record";
        if (rule[key]) rules.push_back({Basename(file), rule[key].as<std::string>(), rule});
      }
    }
  }
  return rules;
}

std::string Get(const YAML::Node& node, const std::string& a, const std::string& b) {
  YAML::Node n = node[a][b];
  return n && n.IsScalar() ? n.as<std::string>() : "";
}

std::string Promtool() { return FindProgram("promtool"); }

TEST(RulesTest, FilesArePresent) {
  std::set<std::string> names;
  for (const std::string& f : PrometheusRuleFiles()) names.insert(Basename(f));
  EXPECT_EQ(names.count("joelclaw-alerts.yml"), 1u);
  EXPECT_EQ(names.count("joelclaw-recording.yml"), 1u);
  EXPECT_FALSE(RuleTestFiles().empty());
  EXPECT_FALSE(LoadRules(true).empty());
  EXPECT_FALSE(LoadRules(false).empty());
}

TEST(RulesTest, PromtoolCheckRulesAccepts) {
  const std::string promtool = Promtool();
  if (promtool.empty())
    FAIL() << "promtool not installed (scripts/setup-deps.sh installs it)";
  std::vector<std::string> argv = {promtool, "check", "rules", "--lint=all", "--lint-fatal"};
  for (const std::string& f : PrometheusRuleFiles()) argv.push_back(f);
  CommandOutput out = RunCommand(argv, 60);
  EXPECT_EQ(out.exit_code, 0) << out.out;
}

TEST(RulesTest, PromtoolUnitTestsPass) {
  const std::string promtool = Promtool();
  if (promtool.empty())
    FAIL() << "promtool not installed (scripts/setup-deps.sh installs it)";
  std::vector<std::string> argv = {promtool, "test", "rules"};
  for (const std::string& f : RuleTestFiles()) argv.push_back(f);
  CommandOutput out = RunCommand(argv, 60);
  EXPECT_EQ(out.exit_code, 0) << out.out;
}

TEST(RulesTest, GeneratedFilesMatchTheirSource) {
  // rules/joelclaw-*.yml are what scripts/gen-rules.py writes from
  // rules/src/ and rules/config.yml.
  EXPECT_TRUE(GenerateRules({"--check"}));
}

// The scrape job is one setting: with another selector no rule mentions the
// default job any more, every rule that needs the exporters' `up` uses the
// new one, and promtool accepts the result.
TEST(RulesTest, TheExporterSelectorIsOneSetting) {
  TempDir dir;
  ASSERT_TRUE(GenerateRules({"--out", dir.path(), "--set",
                             "exporterSelector=job=\"home-exporters\",env=\"prod\""}));
  std::vector<std::string> argv = {Promtool(), "check", "rules"};
  int selecting = 0;
  for (const std::string& f : PrometheusRuleFiles()) {
    const std::string out = dir.File(Basename(f));
    const std::string text = ReadFileOrDie(out);
    EXPECT_EQ(text.find("joelclaw-exporter\""), std::string::npos) << out;
    for (size_t at = text.find("up{"); at != std::string::npos; at = text.find("up{", at + 1)) {
      if (at > 0 && (std::isalnum(static_cast<unsigned char>(text[at - 1])) || text[at - 1] == '_'))
        continue;
      EXPECT_EQ(text.compare(at, 35, "up{job=\"home-exporters\",env=\"prod\"}"), 0)
          << out << ": " << text.substr(at, 40);
      ++selecting;
    }
    argv.push_back(out);
  }
  EXPECT_GE(selecting, 3) << "JoelclawHostDown, JoelclawExporterDown and JoelclawWatchdog select up";
  CommandOutput check = RunCommand(argv, 60);
  EXPECT_EQ(check.exit_code, 0) << check.out;
}

TEST(RulesTest, TheTimeScaleShortensForAndRanges) {
  TempDir dir;
  ASSERT_TRUE(GenerateRules({"--out", dir.path(), "--time-scale", "0.01"}));
  const YAML::Node doc = YAML::LoadFile(dir.File("joelclaw-alerts.yml"));
  std::map<std::string, std::string> fors;
  for (const YAML::Node& group : doc["groups"]) {
    for (const YAML::Node& rule : group["rules"]) {
      if (rule["alert"] && rule["for"]) fors[rule["alert"].as<std::string>()] = rule["for"].as<std::string>();
      if (rule["alert"] && rule["alert"].as<std::string>() == "JoelclawLaunchdJobCrashLooping") {
        EXPECT_NE(rule["expr"].as<std::string>().find("[9s]"), std::string::npos)
            << "15m scaled by 0.01: " << rule["expr"];
      }
    }
  }
  EXPECT_EQ(fors["JoelclawProbeFailing"], "3s");   // 5m
  EXPECT_EQ(fors["JoelclawHostDown"], "2s");       // 3m, rounded
  EXPECT_EQ(fors["JoelclawTlsCertExpiringSoon"], "36s");  // 1h
}

TEST(RulesTest, AlertsFollowTheMixinConventions) {
  const std::regex name_re("Joelclaw[A-Z][A-Za-z0-9]*");
  const std::set<std::string> severities = {"critical", "warning", "info"};
  for (const Rule& r : LoadRules(true)) {
    SCOPED_TRACE(r.file + ": " + r.name);
    EXPECT_TRUE(std::regex_match(r.name, name_re)) << "alert names are Joelclaw + CamelCase";
    EXPECT_FALSE(r.node["expr"].as<std::string>("").empty());
    EXPECT_EQ(severities.count(Get(r.node, "labels", "severity")), 1u)
        << "labels.severity must be critical, warning or info";

    const std::string summary = Get(r.node, "annotations", "summary");
    ASSERT_FALSE(summary.empty());
    EXPECT_EQ(summary.back(), '.') << "summary must end with a period: " << summary;
    EXPECT_EQ(summary.find(". "), std::string::npos) << "summary must be one sentence: " << summary;
    EXPECT_TRUE(std::isupper(static_cast<unsigned char>(summary[0]))) << summary;

    const std::string description = Get(r.node, "annotations", "description");
    EXPECT_TRUE(description.find("$labels") != std::string::npos ||
                description.find("$value") != std::string::npos)
        << "description must be templated: " << description;

    EXPECT_EQ(Get(r.node, "annotations", "runbook_url"),
              RulesConfig()["runbookUrlBase"].as<std::string>() + r.name + ".md");
    EXPECT_TRUE(std::filesystem::exists(SourceDir() + "/docs/runbooks/" + r.name + ".md"))
        << "no docs/runbooks/" << r.name << ".md";

    for (const auto& kv : r.node["annotations"]) {
      const std::string key = kv.first.as<std::string>();
      EXPECT_TRUE(key == "summary" || key == "description" || key == "runbook_url")
          << "unexpected annotation " << key;
    }
  }
}

TEST(RulesTest, AlertsWithOneNameAgree) {
  // Should an alert ever be written as two rules (two expressions for one
  // condition), they must read as one alert.
  std::map<std::string, Rule> first;
  for (const Rule& r : LoadRules(true)) {
    auto [it, inserted] = first.emplace(r.name, r);
    if (inserted) continue;
    SCOPED_TRACE(r.name);
    EXPECT_EQ(Get(r.node, "labels", "severity"), Get(it->second.node, "labels", "severity"));
    EXPECT_EQ(Get(r.node, "annotations", "summary"),
              Get(it->second.node, "annotations", "summary"));
  }
}

TEST(RulesTest, RecordingRulesAreNamedLevelMetricOperations) {
  const std::regex name_re("[a-z][a-z0-9_]*:joelclaw_[a-z0-9_]+:[a-z][a-z0-9_]*");
  std::set<std::string> seen;
  for (const Rule& r : LoadRules(false)) {
    SCOPED_TRACE(r.file + ": " + r.name);
    EXPECT_TRUE(std::regex_match(r.name, name_re)) << "want level:joelclaw_metric:operations";
    EXPECT_TRUE(seen.insert(r.name).second) << "recorded twice";
    const std::string metric = r.name.substr(r.name.find(':') + 1);
    EXPECT_EQ(metric.find("_total:"), std::string::npos)
        << "drop _total from the metric part once it is aggregated";
    EXPECT_FALSE(r.node["labels"]) << "recording rules keep their labels from the expression";
  }
}

TEST(RulesTest, SeriesNamesFindsMetricsAndRecordingRules) {
  EXPECT_EQ(SeriesNames(R"(increase(joelclaw_a_total{host=~"joelclaw_in_quotes"}[15m]) >= 3 )"
                        R"(and on (host) host:joelclaw_b:avg < 0.1 * time())"),
            (std::set<std::string>{"joelclaw_a_total", "host:joelclaw_b:avg"}));
  EXPECT_TRUE(DocumentedMetrics().count("joelclaw_launchd_job_restarts_total"));
}

TEST(RulesTest, RulesUseOnlyDocumentedMetrics) {
  const std::set<std::string> documented = DocumentedMetrics();
  ASSERT_GT(documented.count("joelclaw_probe_success"), 0u);
  std::set<std::string> recorded;
  for (const Rule& r : LoadRules(false)) recorded.insert(r.name);
  for (bool alerts : {true, false}) {
    for (const Rule& r : LoadRules(alerts)) {
      for (const std::string& name : SeriesNames(r.node["expr"].as<std::string>())) {
        EXPECT_TRUE(documented.count(name) || recorded.count(name))
            << r.name << " uses " << name << ", which is not in docs/metrics.md";
      }
    }
  }
}

// What the promtool unit tests cover, by alert name.
struct Coverage {
  int firing = 0;
  int quiet = 0;
  int with_annotations = 0;
};

TEST(RulesTest, EveryAlertIsTestedFiringAndQuiet) {
  std::map<std::string, Coverage> cover;
  std::set<std::string> tested_records;
  for (const std::string& file : RuleTestFiles()) {
    SCOPED_TRACE(Basename(file));
    YAML::Node doc = YAML::LoadFile(file);
    for (const YAML::Node& rf : doc["rule_files"]) {
      const std::string path =
          (std::filesystem::path(file).parent_path() / rf.as<std::string>()).string();
      EXPECT_TRUE(std::filesystem::exists(path)) << path;
    }
    for (const YAML::Node& test : doc["tests"]) {
      EXPECT_EQ(test["interval"].as<std::string>(""), "1m");
      for (const YAML::Node& t : test["alert_rule_test"]) {
        Coverage& c = cover[t["alertname"].as<std::string>()];
        const YAML::Node exp = t["exp_alerts"];
        if (!exp || exp.size() == 0) {
          ++c.quiet;
          continue;
        }
        ++c.firing;
        for (const YAML::Node& a : exp) {
          EXPECT_TRUE(a["exp_labels"]["severity"]) << t["alertname"];
          EXPECT_TRUE(a["exp_labels"]["host"])
              << t["alertname"] << ": every alert keeps a host label (inhibit rules match on it)";
          if (a["exp_annotations"]) ++c.with_annotations;
        }
      }
      for (const YAML::Node& t : test["promql_expr_test"]) {
        tested_records.insert(t["expr"].as<std::string>());
      }
    }
  }
  for (const Rule& r : LoadRules(true)) {
    SCOPED_TRACE(r.name);
    const Coverage& c = cover[r.name];
    EXPECT_GT(c.firing, 0) << "no test case where it fires";
    EXPECT_GT(c.quiet, 0) << "no test case where it does not fire";
    EXPECT_GT(c.with_annotations, 0) << "no test case checks its annotations";
  }
  for (const Rule& r : LoadRules(false)) {
    EXPECT_EQ(tested_records.count(r.name), 1u) << r.name << " has no promql_expr_test";
  }
  std::set<std::string> alerts;
  for (const Rule& r : LoadRules(true)) alerts.insert(r.name);
  for (const auto& [name, c] : cover) {
    EXPECT_EQ(alerts.count(name), 1u) << "rules/tests test an alert that does not exist: " << name;
  }
}

TEST(RulesTest, EveryAlertHasARunbookWithFourSections) {
  std::set<std::string> alerts;
  for (const Rule& r : LoadRules(true)) alerts.insert(r.name);
  const std::vector<std::string> runbooks = SourceFiles("docs/runbooks", ".md");
  EXPECT_EQ(runbooks.size(), alerts.size());
  for (const std::string& path : runbooks) {
    const std::string name = std::filesystem::path(path).stem().string();
    SCOPED_TRACE(name);
    EXPECT_EQ(alerts.count(name), 1u) << "a runbook for an alert that does not exist";
    const std::string text = ReadFileOrDie(path);
    EXPECT_EQ(text.rfind("# " + name + "\n", 0), 0u) << "the title must be the alert name";
    size_t at = 0;
    for (const char* heading :
         {"## Meaning\n", "## Impact\n", "## Diagnosis\n", "## Mitigation\n"}) {
      size_t pos = text.find(std::string("\n") + heading, at);
      EXPECT_NE(pos, std::string::npos) << "missing or out of order: " << heading;
      if (pos != std::string::npos) at = pos + 1;
    }
    const size_t diagnosis = text.find("\n## Diagnosis\n");
    const size_t mitigation = text.find("\n## Mitigation\n");
    if (diagnosis != std::string::npos && mitigation != std::string::npos) {
      EXPECT_NE(text.substr(diagnosis, mitigation - diagnosis).find('`'), std::string::npos)
          << "Diagnosis should give concrete commands";
    }
  }
}

// docs/alerting.md is the severity policy: its table lists every alert with
// the severity the rules give it, so a change of either shows up here.
TEST(RulesTest, AlertingDocListsEveryAlertWithItsSeverity) {
  const std::string doc = ReadFileOrDie(SourceDir() + "/docs/alerting.md");
  const std::regex row(R"(\n\| `(Joelclaw[A-Za-z0-9]+)` \| (critical|warning|info) \|)");
  std::map<std::string, std::string> documented;
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), row); it != std::sregex_iterator();
       ++it) {
    EXPECT_TRUE(documented.emplace((*it)[1], (*it)[2]).second) << "listed twice: " << (*it)[1];
  }
  std::set<std::string> alerts;
  int critical = 0;
  for (const Rule& r : LoadRules(true)) {
    alerts.insert(r.name);
    const std::string severity = Get(r.node, "labels", "severity");
    critical += severity == "critical";
    EXPECT_EQ(documented[r.name], severity) << r.name << " in docs/alerting.md";
  }
  for (const auto& [name, severity] : documented) {
    EXPECT_EQ(alerts.count(name), 1u) << "docs/alerting.md lists " << name << ", which is no alert";
  }
  // The policy: phones ring for a handful of things only.
  EXPECT_LE(critical, 6);
}

// `joelclaw_exporter status` turns yellow where the alerts fire: the
// thresholds of exporter/thresholds.h are the ones rules/config.yml gives the
// generated rules.
TEST(RulesTest, TheStatusBoardUsesTheAlertThresholds) {
  const YAML::Node th = RulesConfig()["thresholds"];
  EXPECT_EQ(th["gpuTemperatureCelsius"].as<double>(), thresholds::kGpuTemperatureWarningCelsius);
  EXPECT_EQ(th["gpuMemoryUsedRatio"].as<double>(), thresholds::kGpuMemoryUsedWarningRatio);
  EXPECT_EQ(th["filesystemAvailRatio"].as<double>(), thresholds::kFilesystemAvailableWarningRatio);
  EXPECT_EQ(th["hostMemoryAvailRatio"].as<double>(), thresholds::kHostMemoryAvailableWarningRatio);
  EXPECT_EQ(th["restartsIn15m"].as<double>(), thresholds::kRestartsWarning);
  EXPECT_EQ(thresholds::kRestartWindowSeconds, 15 * 60);
  // The same 3 intervals as JoelclawLaunchdJobMissedRuns's expression.
  bool found = false;
  for (const Rule& r : LoadRules(true)) {
    if (r.name != "JoelclawLaunchdJobMissedRuns") continue;
    found = true;
    EXPECT_NE(r.node["expr"].as<std::string>().find(
                  "> " + std::to_string(static_cast<int>(thresholds::kPeriodicMissedRunsWarning)) +
                  " * joelclaw_launchd_job_run_interval_seconds"),
              std::string::npos);
  }
  EXPECT_TRUE(found);
}

}  // namespace rules_test
}  // namespace joelclaw::testing
