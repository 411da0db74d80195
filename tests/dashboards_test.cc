// The Grafana dashboards in dashboards/: well-formed for Grafana 10
// (schemaVersion 38), selectable by data source and host, units set, and every
// panel query parses as PromQL (promtool checks them as recording rules) and
// uses only documented metrics. The JSON is written by scripts/gen-dashboards.py.

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/monitoring.h"
#include "tests/support/test_util.h"
#include "yaml-cpp/yaml.h"

namespace joelclaw::testing {
namespace dashboards_test {

using nlohmann::json;

const json* Variable(const json& dashboard, const std::string& name) {
  for (const json& v : dashboard["templating"]["list"]) {
    if (v.value("name", "") == name) return &v;
  }
  return nullptr;
}

bool IsPromDatasource(const json& ds) {
  return ds.is_object() && ds.value("type", "") == "prometheus" &&
         ds.value("uid", "") == "${datasource}";
}

const std::set<std::string> kUnits = {"s",    "bytes", "percentunit", "dateTimeAsIso",
                                      "none", "short", "celsius",     "watt",
                                      "hertz"};

TEST(DashboardsTest, TheDashboardsArePresent) {
  // Other dashboards (systemd, tailscale, ...) may sit beside these.
  std::set<std::string> names;
  for (const Dashboard& d : LoadDashboards()) names.insert(d.file);
  for (const char* name : {"joelclaw-overview.json", "joelclaw-launchd.json",
                           "joelclaw-storage-hosts.json", "joelclaw-exporter.json"}) {
    EXPECT_EQ(names.count(name), 1u) << name;
  }
}

TEST(DashboardsTest, HaveStableUidsTitlesAndVariables) {
  std::set<std::string> uids;
  for (const Dashboard& d : LoadDashboards()) {
    SCOPED_TRACE(d.file);
    const std::string uid = d.doc.value("uid", "");
    EXPECT_EQ(uid + ".json", d.file) << "the uid is the file name, so links stay stable";
    EXPECT_LE(uid.size(), 40u) << "Grafana limits uids to 40 characters";
    EXPECT_TRUE(uids.insert(uid).second) << "duplicate uid";
    EXPECT_EQ(d.doc.value("title", "").rfind("joelclaw / ", 0), 0u) << d.doc.value("title", "");
    EXPECT_EQ(d.doc.value("schemaVersion", 0), 38);
    EXPECT_FALSE(d.doc.contains("id") && !d.doc["id"].is_null()) << "no instance-specific id";
    EXPECT_NE(d.doc.value("tags", json::array()).dump().find("\"joelclaw\""), std::string::npos);

    const json* ds = Variable(d.doc, "datasource");
    ASSERT_NE(ds, nullptr) << "no datasource variable";
    EXPECT_EQ(ds->value("type", ""), "datasource");
    EXPECT_EQ(ds->value("query", ""), "prometheus");

    const json* host = Variable(d.doc, "host");
    ASSERT_NE(host, nullptr) << "no host variable";
    EXPECT_EQ(host->value("type", ""), "query");
    EXPECT_TRUE(IsPromDatasource(host->value("datasource", json())));
    const json& q = (*host)["query"];
    const std::string query = q.is_string() ? q.get<std::string>() : q.value("query", "");
    // Every machine: hosts with checks only (the NAS) and hosts with
    // collectors only (the GPU box).
    EXPECT_EQ(query,
              "label_values({__name__=~\"joelclaw_probe_success|joelclaw_collector_success\"}, host)");
    EXPECT_EQ(host->value("allValue", ""), ".*");
  }
}

TEST(DashboardsTest, PanelsUseTheDatasourceVariableAndSetUnits) {
  std::set<std::string> units_used;
  for (const Dashboard& d : LoadDashboards()) {
    std::set<int> ids;
    for (const json& p : DashboardPanels(d.doc)) {
      const std::string where = d.file + ": " + p.value("title", "?");
      SCOPED_TRACE(where);
      EXPECT_TRUE(ids.insert(p.value("id", -1)).second) << "duplicate panel id";
      const json& g = p["gridPos"];
      EXPECT_LE(g.value("x", 99) + g.value("w", 99), 24);
      EXPECT_GT(g.value("h", 0), 0);
      if (p.value("type", "") == "row") continue;
      EXPECT_FALSE(p.value("title", "").empty());
      EXPECT_TRUE(IsPromDatasource(p.value("datasource", json())));
      ASSERT_FALSE(p.value("targets", json::array()).empty());
      for (const json& t : p["targets"]) {
        EXPECT_TRUE(IsPromDatasource(t.value("datasource", json())));
        EXPECT_FALSE(t.value("expr", "").empty());
      }
      const std::string unit = p["fieldConfig"]["defaults"].value("unit", "");
      EXPECT_EQ(kUnits.count(unit), 1u) << "unit '" << unit << "'";
      units_used.insert(unit);
      for (const json& o : p["fieldConfig"].value("overrides", json::array())) {
        for (const json& prop : o["properties"]) {
          if (prop.value("id", "") != "unit") continue;
          EXPECT_EQ(kUnits.count(prop.value("value", "")), 1u) << prop.dump();
          units_used.insert(prop.value("value", ""));
        }
      }
    }
  }
  for (const char* unit : {"s", "bytes", "percentunit", "dateTimeAsIso"}) {
    EXPECT_EQ(units_used.count(unit), 1u) << "no panel uses unit " << unit;
  }
}

// Every exported family a person looks at has a panel; these two were the
// last without one.
TEST(DashboardsTest, CheckResultsHavePanels) {
  std::set<std::string> queried;
  for (const Dashboard& d : LoadDashboards()) {
    for (const json& p : DashboardPanels(d.doc)) {
      for (const json& t : p.value("targets", json::array())) {
        for (const std::string& name : SeriesNames(t.value("expr", ""))) queried.insert(name);
      }
    }
  }
  for (const char* metric : {"joelclaw_http_status_code",
                             "joelclaw_tls_cert_not_after_timestamp_seconds",
                             "joelclaw_launchd_job_kind",
                             "joelclaw_launchd_job_last_run_timestamp_seconds"}) {
    EXPECT_EQ(queried.count(metric), 1u) << "no panel shows " << metric;
  }
}

// The job selector is rules/config.yml's exporterSelector, the same one the
// rules use: no dashboard names a job of its own.
TEST(DashboardsTest, UseTheRulesJobSelector) {
  const std::string selector =
      YAML::LoadFile(SourceDir() + "/rules/config.yml")["exporterSelector"].as<std::string>();
  int uses = 0;
  for (const Dashboard& d : LoadDashboards()) {
    const std::string text = d.doc.dump();
    for (size_t at = text.find("job="); at != std::string::npos; at = text.find("job=", at + 1)) {
      const std::string quoted = json(selector).dump();
      const std::string escaped = quoted.substr(1, quoted.size() - 2);  // As inside a JSON string.
      EXPECT_EQ(text.compare(at, escaped.size(), escaped), 0)
          << d.file << ": " << text.substr(at, 40);
      ++uses;
    }
  }
  EXPECT_GT(uses, 0);
}

TEST(DashboardsTest, QueriesUseDefinedVariablesAndDocumentedMetrics) {
  const std::set<std::string> documented = DocumentedMetrics();
  const std::regex var(R"(\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?)");
  for (const Dashboard& d : LoadDashboards()) {
    std::set<std::string> vars = {"__rate_interval", "__interval", "__range"};
    for (const json& v : d.doc["templating"]["list"]) vars.insert(v.value("name", ""));
    for (const json& p : DashboardPanels(d.doc)) {
      for (const json& t : p.value("targets", json::array())) {
        const std::string expr = t.value("expr", "");
        SCOPED_TRACE(d.file + ": " + p.value("title", "") + ": " + expr);
        for (auto it = std::sregex_iterator(expr.begin(), expr.end(), var);
             it != std::sregex_iterator(); ++it) {
          EXPECT_EQ(vars.count((*it)[1]), 1u) << "undefined variable " << (*it)[0];
        }
        for (const std::string& name : SeriesNames(expr)) {
          EXPECT_EQ(documented.count(name), 1u) << name << " is not in docs/metrics.md";
        }
      }
    }
  }
}

TEST(DashboardsTest, EveryPanelQueryParses) {
  const std::string promtool = FindProgram("promtool");
  if (promtool.empty())
    FAIL() << "promtool not installed (scripts/setup-deps.sh installs it)";
  // One recording rule per panel query; promtool parses each expression.
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq;
  int count = 0;
  for (const Dashboard& d : LoadDashboards()) {
    out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << d.file;
    out << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
    for (const json& p : DashboardPanels(d.doc)) {
      for (const json& t : p.value("targets", json::array())) {
        const std::string expr = PromqlForDashboardExpr(t.value("expr", ""));
        EXPECT_EQ(expr.find('$'), std::string::npos) << expr;
        out << YAML::BeginMap << YAML::Key << "record" << YAML::Value
            << "dashboard:panel_" + std::to_string(p.value("id", 0)) + "_" + t.value("refId", "") +
                   ":query"
            << YAML::Key << "expr" << YAML::Value << expr << YAML::EndMap;
        ++count;
      }
    }
    out << YAML::EndSeq << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  ASSERT_TRUE(out.good()) << out.GetLastError();
  TempDir dir;
  WriteFileOrDie(dir.File("panels.yml"), out.c_str());
  CommandOutput result =
      RunCommand({promtool, "check", "rules", "--lint=none", dir.File("panels.yml")}, 60);
  EXPECT_EQ(result.exit_code, 0) << result.out << "\n" << out.c_str();
  EXPECT_NE(result.out.find("SUCCESS: " + std::to_string(count) + " rules found"),
            std::string::npos)
      << result.out;
}

TEST(DashboardsTest, MatchTheirGenerator) {
  const std::string python = FindProgram("python3");
  if (python.empty()) FAIL() << "python3 not installed (scripts/setup-deps.sh installs it)";
  CommandOutput result =
      RunCommand({python, SourceDir() + "/scripts/gen-dashboards.py", "--check"}, 60);
  EXPECT_EQ(result.exit_code, 0) << result.out;
}

}  // namespace dashboards_test
}  // namespace joelclaw::testing
