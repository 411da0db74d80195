// deploy/monitoring/alertmanager.yml (scripts/gen-deploy.py): Alertmanager
// 0.25's own amtool accepts it, routes every alert of rules/ by severity
// (critical rings the family phone and reaches the bridge, warning goes to the
// morning digest and the bridge, the watchdog to its receiver), and a real
// Alertmanager applies the inhibit rules (a host that is down silences that
// host's other alerts; a job and the check of the same service page once).
// The whole path with Prometheus and the bridge is e2e_alert_path_test.cc
// and e2e_network_test.cc.

#include <chrono>
#include <cstdio>
#include <ctime>
#include <regex>
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

std::string ConfigPath() { return SourceDir() + "/deploy/monitoring/alertmanager.yml"; }

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

TEST(AlertmanagerConfigTest, MatchesItsGenerator) {
  const std::string python = SystemPython3();
  ASSERT_FALSE(python.empty()) << "python3 not installed";
  CommandOutput out =
      RunCommand({python, SourceDir() + "/scripts/gen-deploy.py", "--check"}, 60);
  EXPECT_EQ(out.exit_code, 0) << out.out;
}

TEST(AlertmanagerConfigTest, AmtoolCheckConfigAccepts) {
  CommandOutput out = RunCommand({Amtool(), "check-config", ConfigPath()}, 30);
  EXPECT_EQ(out.exit_code, 0) << out.out;
  EXPECT_NE(out.out.find("SUCCESS"), std::string::npos) << out.out;
}

TEST(AlertmanagerConfigTest, EveryAlertRoutesBySeverity) {
  const std::map<std::string, std::vector<std::string>> by_severity = {
      {"critical", {"family-phone", "inngest-bridge"}},
      {"warning", {"family-digest", "inngest-bridge"}},
      {"info", {"null"}}};
  int checked = 0;
  for (const std::string& file : PrometheusRuleFiles()) {
    for (const YAML::Node& group : YAML::LoadFile(file)["groups"]) {
      for (const YAML::Node& rule : group["rules"]) {
        if (!rule["alert"]) continue;
        const std::string name = rule["alert"].as<std::string>();
        const std::string severity = rule["labels"]["severity"].as<std::string>();
        ASSERT_TRUE(by_severity.count(severity)) << name << " has severity " << severity;
        const std::vector<std::string> want = name == "JoelclawWatchdog"
                                                  ? std::vector<std::string>{"watchdog"}
                                                  : by_severity.at(severity);
        CommandOutput out = VerifyRoute({{"alertname", name}, {"severity", severity},
                                         {"host", "panda"}},
                                        want);
        EXPECT_EQ(out.exit_code, 0) << name << " (" << severity << "): " << out.out;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 20);
}

TEST(AlertmanagerConfigTest, RoutingCasesPass) {
  YAML::Node cases = YAML::LoadFile(SourceDir() + "/deploy/monitoring/routes.test.yml");
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
  RecordingHttpServer digest([](const auto&) { return RecordingHttpServer::Reply{200, "{}"}; });
  RecordingHttpServer watchdog([](const auto&) { return RecordingHttpServer::Reply{200, "{}"}; });
  ASSERT_TRUE(bridge.ok() && phone.ok() && digest.ok() && watchdog.ok());
  const int port = FreePort();
  LoopbackMonitoring m;
  m.alertmanager_address = "127.0.0.1:" + std::to_string(port);
  m.bridge_url = bridge.Url("/alertmanager");
  m.phone_url = phone.Url("/joelclaw-family");
  m.digest_url = digest.Url("/joelclaw-digest");
  m.watchdog_url = watchdog.Url("/ping");
  ASSERT_EQ(WriteLoopbackMonitoring(dir.path(), m), "");
  const std::string config = dir.File("alertmanager.yml");
  Subprocess am({alertmanager, "--config.file=" + config, "--storage.path=" + dir.File("data"),
                 "--web.listen-address=127.0.0.1:" + std::to_string(port),
                 "--cluster.listen-address="},
                dir.File("alertmanager.log"));
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  ASSERT_TRUE(WaitFor([&] { return HttpGet(base + "/-/ready").status == 200; },
                      std::chrono::seconds(20)))
      << am.Log();

  // three-body (the NAS) is unreachable: its HostDown silences its other
  // alerts. panda's worker job is down and its check, which names the job,
  // fails: one page (the job's). clanker-001's pdf-brain check fails and its
  // unit is down: one page (the check's), the unit's warning is silenced,
  // and so is the check's value warning. The watchdog is never silenced.
  const std::string alerts = R"([
    {"labels": {"alertname": "JoelclawHostDown", "severity": "critical", "host": "three-body"}},
    {"labels": {"alertname": "JoelclawProbeFailing", "severity": "critical", "host": "three-body",
                "target": "ssh", "kind": "ssh"}},
    {"labels": {"alertname": "JoelclawNasUnreachable", "severity": "warning", "host": "three-body",
                "collector": "remote_filesystem"}},
    {"labels": {"alertname": "JoelclawProbeFailing", "severity": "critical", "host": "panda",
                "target": "worker", "kind": "http", "service": "com.joel.system-bus-worker"}},
    {"labels": {"alertname": "JoelclawLaunchdJobDown", "severity": "critical", "host": "panda",
                "label": "com.joel.system-bus-worker", "service": "com.joel.system-bus-worker"}},
    {"labels": {"alertname": "JoelclawProbeFailing", "severity": "critical", "host": "clanker-001",
                "target": "pdf-brain", "kind": "http", "service": "pdf-brain.service"}},
    {"labels": {"alertname": "JoelclawSystemdUnitDown", "severity": "warning",
                "host": "clanker-001", "unit": "pdf-brain.service", "service": "pdf-brain.service"}},
    {"labels": {"alertname": "JoelclawProbeValueOutOfRange", "severity": "warning",
                "host": "clanker-001", "target": "pdf-brain", "kind": "http"}},
    {"labels": {"alertname": "JoelclawWatchdog", "severity": "info", "host": "three-body"}}
  ])";
  HttpReply posted = HttpRequest("POST", base + "/api/v2/alerts", alerts,
                                 {"Content-Type: application/json"});
  ASSERT_EQ(posted.status, 200) << posted.body;

  const std::multiset<std::string> want_phone = {"JoelclawHostDown/three-body/firing",
                                                 "JoelclawLaunchdJobDown/panda/firing",
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
  ASSERT_TRUE(WaitFor([&] { return NotifiedAlerts(watchdog) == std::multiset<std::string>{
                                        "JoelclawWatchdog/three-body/firing"}; },
                      std::chrono::seconds(20)))
      << "watchdog got: " << nlohmann::json(NotifiedAlerts(watchdog)).dump();
  // Several group intervals later, nothing inhibited has slipped through
  // (the digest is open all day here, and no warning reached it).
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(NotifiedAlerts(phone), want_phone);
  EXPECT_EQ(NotifiedAlerts(bridge), want_phone);
  EXPECT_TRUE(NotifiedAlerts(digest).empty()) << nlohmann::json(NotifiedAlerts(digest)).dump();
}

// Warnings do not ring: they wait for the morning window and arrive there as
// one message with all of them. Outside the window nothing goes out (and
// nothing is lost: the group is muted, not flushed).
struct DigestRun {
  std::multiset<std::string> digest, phone;
};

DigestRun RunDigest(bool window_open) {
  const std::string alertmanager = FindProgram("prometheus-alertmanager");
  EXPECT_FALSE(alertmanager.empty()) << "prometheus-alertmanager not installed";
  TempDir dir;
  auto ok = [](const auto&) { return RecordingHttpServer::Reply{200, "{}"}; };
  RecordingHttpServer digest(ok), phone(ok), bridge(ok);
  const int port = FreePort();
  LoopbackMonitoring m;
  m.alertmanager_address = "127.0.0.1:" + std::to_string(port);
  m.bridge_url = bridge.Url("/alertmanager");
  m.phone_url = phone.Url("/family");
  m.digest_url = digest.Url("/digest");
  m.digest_all_day = window_open;
  EXPECT_EQ(WriteLoopbackMonitoring(dir.path(), m), "");
  if (!window_open) {
    // The shipped window, 07:30-08:00 in America/Los_Angeles, moved to
    // twelve hours from now so that it is certainly closed.
    const std::string config = ReadFileOrDie(dir.File("alertmanager.yml"));
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char start[8], end[8];
    std::snprintf(start, sizeof(start), "%02d:00", (utc.tm_hour + 12) % 24);
    std::snprintf(end, sizeof(end), "%02d:30", (utc.tm_hour + 12) % 24);
    std::string edited = std::regex_replace(
        config, std::regex(R"(start_time: "[0-9:]+", end_time: "[0-9:]+")"),
        std::string("start_time: \"") + start + "\", end_time: \"" + end + "\"");
    edited = std::regex_replace(edited, std::regex("location: America/Los_Angeles"),
                                "location: UTC");
    EXPECT_NE(edited, config);
    WriteFileOrDie(dir.File("alertmanager.yml"), edited);
  }
  Subprocess am({alertmanager, "--config.file=" + dir.File("alertmanager.yml"),
                 "--storage.path=" + dir.File("data"),
                 "--web.listen-address=127.0.0.1:" + std::to_string(port),
                 "--cluster.listen-address="},
                dir.File("alertmanager.log"));
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  EXPECT_TRUE(WaitFor([&] { return HttpGet(base + "/-/ready").status == 200; },
                      std::chrono::seconds(20)))
      << am.Log();
  HttpReply posted = HttpRequest("POST", base + "/api/v2/alerts", R"([
    {"labels": {"alertname": "JoelclawGpuTooHot", "severity": "warning", "host": "gpu-box", "gpu": "0"}},
    {"labels": {"alertname": "JoelclawFilesystemAlmostFull", "severity": "warning", "host": "three-body",
                "mountpoint": "/volume1"}}
  ])", {"Content-Type: application/json"});
  EXPECT_EQ(posted.status, 200) << posted.body;
  // The bridge gets warnings at once in both cases: wait for that, then a
  // few digest group intervals (15m scaled to 30s is too long: the digest's
  // first flush is its group_wait, 1s).
  EXPECT_TRUE(WaitFor([&] { return NotifiedAlerts(bridge).size() == 2; }, std::chrono::seconds(20)))
      << nlohmann::json(NotifiedAlerts(bridge)).dump() << am.Log();
  std::this_thread::sleep_for(std::chrono::seconds(4));
  DigestRun run{NotifiedAlerts(digest), NotifiedAlerts(phone)};
  if (window_open) EXPECT_EQ(digest.Requests().size(), 1u) << "one message with both warnings";
  return run;
}

TEST(AlertmanagerConfigTest, WarningsArriveAsOneMorningDigestNeverOnThePhone) {
  DigestRun open = RunDigest(true);
  EXPECT_EQ(open.digest, (std::multiset<std::string>{"JoelclawFilesystemAlmostFull/three-body/firing",
                                                     "JoelclawGpuTooHot/gpu-box/firing"}));
  EXPECT_TRUE(open.phone.empty());
  DigestRun closed = RunDigest(false);
  EXPECT_TRUE(closed.digest.empty()) << nlohmann::json(closed.digest).dump();
  EXPECT_TRUE(closed.phone.empty());
}

}  // namespace alertmanager_test
}  // namespace joelclaw::testing
