// rules/alertmanager.yml: Alertmanager 0.25's own amtool accepts it, routes
// every alert of rules/ by severity (critical rings the family phone and
// reaches the bridge, warning only the bridge), and a real Alertmanager
// applies the inhibit rules (a host that is down silences that host's other
// alerts). The whole path with Prometheus and the bridge is
// e2e_alert_path_test.cc.

#include <chrono>
#include <thread>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/monitoring.h"
#include "tests/support/recording_http_server.h"
#include "tests/support/test_util.h"
#include "yaml-cpp/yaml.h"

namespace joelclaw::testing {
namespace alertmanager_test {

std::string ConfigPath() { return SourceDir() + "/rules/alertmanager.yml"; }

std::string Amtool() {
  std::string amtool = FindProgram("amtool");
  if (amtool.empty()) ADD_FAILURE() << "amtool not installed (scripts/setup-deps.sh installs it)";
  return amtool;
}

// `amtool config routes test --verify.receivers=...`: exit 0 when the
// labels route to exactly `receivers`, in order.
CommandOutput VerifyRoute(const std::map<std::string, std::string>& labels,
                          const std::vector<std::string>& receivers) {
  std::string joined;
  for (const std::string& r : receivers) joined += (joined.empty() ? "" : ",") + r;
  std::vector<std::string> argv = {Amtool(), "config", "routes", "test",
                                   "--config.file=" + ConfigPath(),
                                   "--verify.receivers=" + joined};
  for (const auto& [k, v] : labels) argv.push_back(k + "=" + v);
  return RunCommand(argv, 30);
}

TEST(AlertmanagerConfigTest, AmtoolCheckConfigAccepts) {
  CommandOutput out = RunCommand({Amtool(), "check-config", ConfigPath()}, 30);
  EXPECT_EQ(out.exit_code, 0) << out.out;
  EXPECT_NE(out.out.find("SUCCESS"), std::string::npos) << out.out;
}

TEST(AlertmanagerConfigTest, EveryAlertRoutesBySeverity) {
  const std::map<std::string, std::vector<std::string>> by_severity = {
      {"critical", {"family-phone", "inngest-bridge"}},
      {"warning", {"inngest-bridge"}},
      {"info", {"null"}}};
  int checked = 0;
  for (const std::string& file : PrometheusRuleFiles()) {
    for (const YAML::Node& group : YAML::LoadFile(file)["groups"]) {
      for (const YAML::Node& rule : group["rules"]) {
        if (!rule["alert"]) continue;
        const std::string name = rule["alert"].as<std::string>();
        const std::string severity = rule["labels"]["severity"].as<std::string>();
        ASSERT_TRUE(by_severity.count(severity)) << name << " has severity " << severity;
        CommandOutput out = VerifyRoute({{"alertname", name}, {"severity", severity},
                                         {"host", "panda"}},
                                        by_severity.at(severity));
        EXPECT_EQ(out.exit_code, 0) << name << " (" << severity << "): " << out.out;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 20);
}

TEST(AlertmanagerConfigTest, RoutingCasesPass) {
  YAML::Node cases = YAML::LoadFile(SourceDir() + "/rules/tests/alertmanager-routes.yml");
  ASSERT_TRUE(cases.IsSequence());
  for (const YAML::Node& c : cases) {
    auto labels = c["labels"].as<std::map<std::string, std::string>>();
    auto receivers = c["receivers"].as<std::vector<std::string>>();
    CommandOutput out = VerifyRoute(labels, receivers);
    EXPECT_EQ(out.exit_code, 0) << c << "\n" << out.out;
  }
}

// The check above can fail: a wrong expectation is reported by amtool.
TEST(AlertmanagerConfigTest, AWrongExpectationFails) {
  CommandOutput out = VerifyRoute({{"alertname", "JoelclawProbeStale"}, {"severity", "warning"}},
                                  {"family-phone", "inngest-bridge"});
  EXPECT_NE(out.exit_code, 0) << out.out;
}

// Alert names and hosts in every webhook notification `server` received.
std::multiset<std::string> NotifiedAlerts(const RecordingHttpServer& server) {
  std::multiset<std::string> alerts;
  for (const auto& req : server.Requests()) {
    nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded()) continue;
    for (const nlohmann::json& a : body["alerts"]) {
      alerts.insert(a["labels"].value("alertname", "") + "/" + a["labels"].value("host", "") +
                    "/" + a.value("status", ""));
    }
  }
  return alerts;
}

TEST(AlertmanagerConfigTest, RealAlertmanagerInhibitsAHostsAlertsWhileItIsDown) {
  const std::string alertmanager = FindProgram("prometheus-alertmanager");
  ASSERT_FALSE(alertmanager.empty())
      << "prometheus-alertmanager not installed (scripts/setup-deps.sh installs it)";
  TempDir dir;
  RecordingHttpServer bridge([](const auto&) { return RecordingHttpServer::Reply{200, "{}"}; });
  RecordingHttpServer phone([](const auto&) { return RecordingHttpServer::Reply{200, "{}"}; });
  ASSERT_TRUE(bridge.ok() && phone.ok());
  const std::string config = dir.File("alertmanager.yml");
  ASSERT_EQ(WriteLoopbackAlertmanagerConfig(config, bridge.Url("/alertmanager"), "bridge-secret",
                                            phone.Url("/joelclaw-family")),
            "");
  const int port = FreePort();
  Subprocess am({alertmanager, "--config.file=" + config, "--storage.path=" + dir.File("data"),
                 "--web.listen-address=127.0.0.1:" + std::to_string(port),
                 "--cluster.listen-address="},
                dir.File("alertmanager.log"));
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  ASSERT_TRUE(WaitFor([&] { return HttpGet(base + "/-/ready").status == 200; },
                      std::chrono::seconds(20)))
      << am.Log();

  // panda is down entirely; clanker-001 has one failing check; a warning on
  // clanker-001 has a critical twin.
  const std::string alerts = R"([
    {"labels": {"alertname": "JoelclawHostDown", "severity": "critical", "host": "panda"}},
    {"labels": {"alertname": "JoelclawProbeFailing", "severity": "critical", "host": "panda",
                "target": "worker", "kind": "http"}},
    {"labels": {"alertname": "JoelclawLaunchdJobDown", "severity": "critical", "host": "panda",
                "label": "com.joel.system-bus-worker"}},
    {"labels": {"alertname": "JoelclawProbeFailing", "severity": "critical", "host": "clanker-001",
                "target": "pdf-brain", "kind": "http"}},
    {"labels": {"alertname": "JoelclawProbeValueOutOfRange", "severity": "warning",
                "host": "clanker-001", "target": "pdf-brain", "kind": "http"}}
  ])";
  HttpReply posted = HttpRequest("POST", base + "/api/v2/alerts", alerts,
                                 {"Content-Type: application/json"});
  ASSERT_EQ(posted.status, 200) << posted.body;

  const std::multiset<std::string> want_phone = {"JoelclawHostDown/panda/firing",
                                                 "JoelclawProbeFailing/clanker-001/firing"};
  ASSERT_TRUE(WaitFor([&] { return NotifiedAlerts(phone) == want_phone; },
                      std::chrono::seconds(20)))
      << "phone got: " << nlohmann::json(NotifiedAlerts(phone)).dump() << "\n"
      << am.Log();
  ASSERT_TRUE(WaitFor([&] { return NotifiedAlerts(bridge) == want_phone; },
                      std::chrono::seconds(20)))
      << "bridge got: " << nlohmann::json(NotifiedAlerts(bridge)).dump();
  // The bridge receiver authenticates with the token from its file.
  EXPECT_EQ(bridge.Requests().at(0).headers.at("authorization"), "Bearer bridge-secret");
  EXPECT_EQ(phone.Requests().at(0).headers.at("authorization"), "Bearer tk_test");
  // Several group intervals later, nothing inhibited has slipped through.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(NotifiedAlerts(phone), want_phone);
  EXPECT_EQ(NotifiedAlerts(bridge), want_phone);
}

}  // namespace alertmanager_test
}  // namespace joelclaw::testing
