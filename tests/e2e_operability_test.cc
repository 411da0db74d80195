// End to end, the operator's view of the real binary: its log lines in
// --log.format=json, one line per state change of a check, the log file
// followed across a rotation, and the metrics under --web.telemetry-path
// with the request counters, checked by promtool.

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/exporter_process.h"
#include "tests/support/loopback_http_server.h"
#include "tests/support/monitoring.h"
#include "tests/support/test_util.h"

namespace joelclaw::testing {
namespace e2e_operability_test {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

// Every line of `log` parsed as JSON; a line that is not JSON fails the
// test.
std::vector<nlohmann::json> JsonLines(const std::string& log) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << "not a JSON line: " << line;
    if (!j.is_discarded()) lines.push_back(std::move(j));
  }
  return lines;
}

size_t Count(const std::vector<nlohmann::json>& lines, const std::string& level,
             const std::string& msg, const std::string& target) {
  size_t n = 0;
  for (const nlohmann::json& j : lines) {
    n += j.value("level", "") == level && j.value("msg", "") == msg &&
         j.value("target", "") == target;
  }
  return n;
}

TEST(E2eOperabilityTest, JsonLogsOneWarnAndOneInfoForACheckThatGoesDownAndBack) {
  TempDir dir;
  LoopbackHttpServer http;
  http.SetRoute("/flap", 503, "down\n");
  const std::string config = dir.File("config.yaml");
  WriteFileOrDie(config, "defaults: {interval: 150ms, timeout: 100ms}\n"
                         "hosts:\n"
                         "  e2e-host:\n"
                         "    checks:\n"
                         "      - {name: flappy, http: {url: \"" + http.Url("/flap") + "\"}}\n");
  ExporterProcess exporter(dir, {"--config.file=" + config, "--log.format=json"});
  ASSERT_TRUE(exporter.Start()) << exporter.Log();
  auto lines = [&] { return JsonLines(exporter.Log()); };
  ASSERT_TRUE(WaitFor([&] { return http.RequestCount("/flap") >= 4; }, seconds(10)));
  http.SetRoute("/flap", 200, "up\n");
  ASSERT_TRUE(WaitFor([&] { return Count(lines(), "info", "check is up again", "flappy") > 0; },
                      seconds(10)))
      << exporter.Log();
  // A few more good runs: still no further line.
  const int seen = http.RequestCount("/flap");
  ASSERT_TRUE(WaitFor([&] { return http.RequestCount("/flap") >= seen + 3; }, seconds(10)));
  exporter.process().Signal(SIGTERM);
  ASSERT_NE(exporter.process().Wait(seconds(10)), -1);

  const std::vector<nlohmann::json> all = lines();
  ASSERT_FALSE(all.empty());
  for (const nlohmann::json& j : all) {
    EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << j.dump();
    EXPECT_THAT(j.value("ts", ""), ::testing::MatchesRegex(
                                       "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z"));
  }
  EXPECT_EQ(Count(all, "warn", "check is down", "flappy"), 1u) << exporter.Log();
  EXPECT_EQ(Count(all, "info", "check is up again", "flappy"), 1u) << exporter.Log();
  for (const nlohmann::json& j : all) {
    if (j.value("target", "") != "flappy") continue;
    // The labels of the check's metrics.
    EXPECT_EQ(j["host"], "e2e-host");
    EXPECT_EQ(j["kind"], "http");
    if (j["msg"] == "check is down") {
      EXPECT_EQ(j["reason"], "http_status");
      EXPECT_EQ(j["err"], "HTTP status 503");
    }
    if (j["msg"] == "check is up again") EXPECT_TRUE(j.contains("down_for"));
  }
  EXPECT_EQ(Count(all, "info", "stopped", ""), 1u);
}

// newsyslog renames the log and makes a new one; the exporter's next line
// goes to the new file.
TEST(E2eOperabilityTest, LogFileIsFollowedAcrossARotation) {
  TempDir dir;
  const std::string config = dir.File("config.yaml");
  WriteFileOrDie(config, "hosts:\n  e2e-host:\n    resources: true\n");
  const std::string log = dir.File("joelclaw-exporter.log");
  const int port = FreePort();
  Subprocess exporter({ExporterBinary(), "--config.file=" + config,
                       "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                      log);
  ASSERT_TRUE(WaitFor([&] { return exporter.Log().find("msg=listening") != std::string::npos; },
                      seconds(10)))
      << exporter.Log();
  ASSERT_EQ(std::rename(log.c_str(), (log + ".0").c_str()), 0);
  WriteFileOrDie(log, "");
  EXPECT_EQ(HttpRequest("POST", "http://127.0.0.1:" + std::to_string(port) + "/-/reload").status,
            200);
  EXPECT_TRUE(WaitFor([&] { return exporter.Log().find("msg=\"config reloaded\"") !=
                                   std::string::npos; },
                      seconds(5)))
      << "new file: " << exporter.Log() << "\nrotated file: " << ReadFileOrDie(log + ".0");
  const std::string rotated = ReadFileOrDie(log + ".0");
  EXPECT_THAT(rotated, HasSubstr("msg=listening"));
  EXPECT_THAT(rotated, ::testing::Not(HasSubstr("config reloaded")));
}

TEST(E2eOperabilityTest, TelemetryPathServesMetricsWithRequestCountersThatPromtoolAccepts) {
  TempDir dir;
  const std::string config = dir.File("config.yaml");
  WriteFileOrDie(config, "hosts:\n  e2e-host:\n    resources: true\n");
  ExporterProcess exporter(dir, {"--config.file=" + config, "--web.telemetry-path=/prom"});
  ASSERT_TRUE(exporter.Start()) << exporter.Log();
  ASSERT_TRUE(exporter.WaitReady()) << exporter.Log();
  EXPECT_EQ(exporter.Get("/metrics").status, 404);
  EXPECT_EQ(HttpRequest("POST", exporter.Url("/alertmanager"), "{}").status, 404);
  EXPECT_EQ(exporter.Get("/prom").status, 200);
  HttpReply reply = exporter.Get("/prom");
  ASSERT_EQ(reply.status, 200);
  const std::string& m = reply.body;
  // Counted by the route handlers: the earlier scrape, and the bridge
  // route's 404 (no bridge: section), which the bridge's own counters
  // cannot see.
  EXPECT_EQ(MetricSample(m, "promhttp_metric_handler_requests_total{code=\"200\"}"), 1.0) << m;
  EXPECT_EQ(MetricSample(m, "promhttp_metric_handler_requests_total{code=\"503\"}"), 0.0);
  EXPECT_EQ(MetricSample(m, "promhttp_metric_handler_requests_in_flight"), 1.0);
  EXPECT_EQ(MetricSample(m, "joelclaw_http_requests_total{handler=\"/prom\",code=\"200\"}"), 1.0);
  EXPECT_EQ(
      MetricSample(m, "joelclaw_http_requests_total{handler=\"/alertmanager\",code=\"404\"}"),
      1.0);
  EXPECT_GE(MetricSample(m, "joelclaw_http_requests_total{handler=\"/-/ready\",code=\"200\"}"),
            1.0);
  for (const char* family : {"process_max_fds", "process_virtual_memory_bytes",
                             "process_virtual_memory_max_bytes", "process_resident_memory_bytes",
                             "process_open_fds", "process_cpu_seconds_total"}) {
    EXPECT_TRUE(MetricSample(m, family).has_value()) << family;
  }
  EXPECT_THAT(m, ::testing::ContainsRegex(
                     "joelclaw_exporter_build_info\\{version=\"[^\"]+\",revision=\"[^\"]+\","
                     "branch=\"[^\"]+\",compiler=\"(gcc|clang|appleclang)\","
                     "compiler_version=\"[0-9]+\\.[0-9]+\\.[0-9]+\"\\} 1\n"));
  ExpectPromtoolAcceptsMetrics(dir, m);
  // Every family served, the new ones included, has its row in
  // docs/metrics.md.
  const std::set<std::string> documented = DocumentedMetrics();
  for (size_t at = 0; (at = m.find("# TYPE ", at)) != std::string::npos; ++at) {
    const std::string name = m.substr(at + 7, m.find(' ', at + 7) - at - 7);
    EXPECT_EQ(documented.count(name), 1u) << name << " is not in docs/metrics.md";
  }
  // The status page links to where the metrics are.
  EXPECT_THAT(exporter.Get("/").body, HasSubstr("<a href=\"/prom\">/prom</a>"));
}

}  // namespace e2e_operability_test
}  // namespace joelclaw::testing
