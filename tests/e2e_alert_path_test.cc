// The alert path end to end, every piece real except Inngest and the phone
// service (stand-ins that speak their wire formats on loopback):
//
//   exporter (tcp checks) ← real Prometheus with deploy/monitoring's config
//   and rules/ (scripts/gen-deploy.py and gen-rules.py with loopback
//   targets and shortened times) → real Alertmanager 0.25 with the shipped
//   routing (receivers pointed at loopback) → the phone stand-in and the
//   exporter's POST /alertmanager bridge → fake Inngest.
//
// A target stops: exactly one system/health.degraded reaches Inngest and
// one firing page reaches the phone. It comes back: system/health.recovered.
// Then Inngest is down while the target fails again, the exporter is killed
// with SIGKILL after it answered Alertmanager, and both come back: the
// spooled event arrives, once by id.

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/exporter_process.h"
#include "tests/support/fake_inngest.h"
#include "tests/support/monitoring.h"
#include "tests/support/recording_http_server.h"
#include "tests/support/test_util.h"

namespace joelclaw::testing {
namespace e2e_alert_path_test {

using std::chrono::seconds;

constexpr char kEventKey[] = "test-event-key";
constexpr char kBridgeToken[] = "bridge-secret";

RecordingHttpServer::Reply Ok(const RecordingHttpServer::Request&) { return {200, "{}"}; }

struct Event {
  std::string id, name, alertname, target, status, starts_at;
};

std::vector<Event> ParseEvents(const std::vector<nlohmann::json>& raw) {
  std::vector<Event> events;
  for (const nlohmann::json& e : raw) {
    if (!e.is_object()) continue;
    const nlohmann::json& data = e.value("data", nlohmann::json::object());
    const nlohmann::json& labels = data.value("labels", nlohmann::json::object());
    events.push_back({e.value("id", ""), e.value("name", ""), labels.value("alertname", ""),
                      labels.value("target", ""), data.value("status", ""),
                      data.value("startsAt", "")});
  }
  return events;
}

// Events for the `worker` check's JoelclawProbeFailing named `name`.
std::vector<Event> WorkerEvents(const FakeInngest& inngest, const std::string& name) {
  std::vector<Event> out;
  for (const Event& e : ParseEvents(inngest.Events())) {
    if (e.name == name && e.alertname == "JoelclawProbeFailing" && e.target == "worker") {
      out.push_back(e);
    }
  }
  return out;
}

struct Page {
  std::string alertname, status, starts_at;
};

std::vector<Page> Pages(const RecordingHttpServer& phone) {
  std::vector<Page> pages;
  for (const auto& req : phone.Requests()) {
    nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded()) continue;
    for (const nlohmann::json& a : body["alerts"]) {
      pages.push_back({a["labels"].value("alertname", ""), a.value("status", ""),
                       a.value("startsAt", "")});
    }
  }
  return pages;
}

std::set<std::string> Ids(const std::vector<Event>& events) {
  std::set<std::string> ids;
  for (const Event& e : events) ids.insert(e.id);
  return ids;
}

std::string EventsDump(const FakeInngest& inngest) {
  std::string out;
  for (const nlohmann::json& e : inngest.Events()) out += e.dump() + "\n";
  return out;
}

TEST(AlertPathEndToEndTest, TargetDownPagesOnceRecoversAndSurvivesKillNine) {
  const std::string prometheus = FindProgram("prometheus");
  const std::string alertmanager = FindProgram("prometheus-alertmanager");
  ASSERT_FALSE(prometheus.empty()) << "prometheus not installed (scripts/setup-deps.sh)";
  ASSERT_FALSE(alertmanager.empty()) << "prometheus-alertmanager not installed (scripts/setup-deps.sh)";
  TempDir dir;

  auto worker = std::make_unique<RecordingHttpServer>(Ok);
  RecordingHttpServer caddy(Ok);  // A second check on the host, so the host is not "down".
  auto inngest = std::make_unique<FakeInngest>(kEventKey);
  RecordingHttpServer phone(Ok);
  ASSERT_TRUE(worker->ok() && caddy.ok() && inngest->ok() && phone.ok());
  const int worker_port = worker->port();
  const int inngest_port = inngest->port();

  WriteFileOrDie(dir.File("bridge-token"), std::string(kBridgeToken) + "\n", 0600);
  WriteFileOrDie(dir.File("inngest-key"), std::string(kEventKey) + "\n", 0600);
  const std::string config = dir.File("exporter.yaml");
  WriteFileOrDie(config,
                 "defaults: {interval: 1s, timeout: 800ms}\n"
                 "hosts:\n"
                 "  panda:\n"
                 "    checks:\n"
                 "      - {name: worker, tcp: {address: \"127.0.0.1:" +
                     std::to_string(worker_port) + "\"}}\n"
                     "      - {name: caddy, tcp: {address: \"127.0.0.1:" +
                     std::to_string(caddy.port()) + "\"}}\n"
                     "bridge:\n"
                     "  token_file: " + dir.File("bridge-token") + "\n"
                     "  inngest: {url: \"" + inngest->BaseUrl() + "\", event_key_file: " +
                     dir.File("inngest-key") + ", timeout: 2s}\n"
                     "  spool_dir: " + dir.File("spool") + "\n"
                     "  retry: {initial: 200ms, max: 1s}\n");
  ExporterProcess exporter(dir, {"--config.file=" + config});
  ASSERT_TRUE(exporter.Start()) << exporter.Log();
  ASSERT_TRUE(exporter.WaitReady()) << exporter.Log();

  const int am_port = FreePort();
  LoopbackMonitoring m;
  m.targets = {{"panda", "127.0.0.1:" + std::to_string(exporter.port())}};
  m.alertmanager_address = "127.0.0.1:" + std::to_string(am_port);
  m.bridge_url = exporter.Url("/alertmanager");
  m.bridge_token = kBridgeToken;
  m.phone_url = phone.Url("/joelclaw-family");
  // `for:` of a minute or more becomes 1-2 s (5m → 2s), as fast as the
  // 1 s scrapes allow; Alertmanager waits 1 s before a group's first message.
  m.rules_time_scale = 1.0 / 150;
  ASSERT_EQ(WriteLoopbackMonitoring(dir.path(), m), "");
  Subprocess am({alertmanager, "--config.file=" + dir.File("alertmanager.yml"),
                 "--storage.path=" + dir.File("am-data"),
                 "--web.listen-address=127.0.0.1:" + std::to_string(am_port),
                 "--cluster.listen-address="},
                dir.File("alertmanager.log"));

  PrometheusProcess prom = StartPrometheusWithConfig(dir, dir.File("prometheus.yml"));
  const int prom_port = prom.port;
  ASSERT_TRUE(WaitFor(
      [&] { return PromQuery(prom_port, "joelclaw_probe_success{target=\"worker\"}") == 1.0; },
      seconds(30)))
      << prom.Log();
  ASSERT_TRUE(WaitFor(
      [&] { return HttpGet("http://127.0.0.1:" + std::to_string(am_port) + "/-/ready").status == 200; },
      seconds(20)))
      << am.Log();
  // Everything healthy: a few evaluations later nothing has paged.
  std::this_thread::sleep_for(seconds(3));
  ASSERT_TRUE(Pages(phone).empty()) << phone.Requests().at(0).body;
  ASSERT_TRUE(inngest->Events().empty()) << EventsDump(*inngest);

  // 1. The worker stops: one degraded event, one page.
  const auto stopped = std::chrono::steady_clock::now();
  worker->Stop();
  ASSERT_TRUE(WaitFor([&] { return !WorkerEvents(*inngest, "system/health.degraded").empty(); },
                      seconds(60)))
      << EventsDump(*inngest) << "\n" << exporter.Log() << am.Log();
  std::cout << "target stopped → system/health.degraded at Inngest: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - stopped).count()
            << " ms\n";
  ASSERT_TRUE(WaitFor([&] { return !Pages(phone).empty(); }, seconds(20)));
  const std::string first_start = WorkerEvents(*inngest, "system/health.degraded")[0].starts_at;
  std::this_thread::sleep_for(seconds(3));  // Room for any duplicate to show up.
  {
    std::vector<Event> all = ParseEvents(inngest->Events());
    ASSERT_EQ(all.size(), 1u) << "exactly one event reaches Inngest:\n" << EventsDump(*inngest);
    EXPECT_EQ(all[0].name, "system/health.degraded");
    EXPECT_EQ(all[0].status, "firing");
    EXPECT_FALSE(all[0].id.empty());
    std::vector<Page> pages = Pages(phone);
    ASSERT_EQ(pages.size(), 1u) << phone.Requests().back().body;
    EXPECT_EQ(pages[0].alertname, "JoelclawProbeFailing");
    EXPECT_EQ(pages[0].status, "firing");
    EXPECT_EQ(pages[0].starts_at, first_start);
  }

  // 2. It comes back: system/health.recovered for the same alert.
  worker = std::make_unique<RecordingHttpServer>(Ok, worker_port);
  ASSERT_TRUE(worker->ok());
  ASSERT_TRUE(WaitFor([&] { return !WorkerEvents(*inngest, "system/health.recovered").empty(); },
                      seconds(60)))
      << EventsDump(*inngest);
  const Event recovered = WorkerEvents(*inngest, "system/health.recovered")[0];
  EXPECT_EQ(recovered.status, "resolved");
  EXPECT_EQ(recovered.starts_at, first_start);
  EXPECT_NE(recovered.id, WorkerEvents(*inngest, "system/health.degraded")[0].id);
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const Page& p : Pages(phone)) if (p.status == "resolved") return true;
        return false;
      },
      seconds(20)));

  // 3. Inngest goes down, the worker fails again; the bridge must take the
  // notification into its spool (Alertmanager got a 2xx: it will not retry).
  inngest->Stop();
  worker->Stop();
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const Page& p : Pages(phone)) {
          if (p.status == "firing" && p.starts_at != first_start) return true;
        }
        return false;
      },
      seconds(60)));
  std::string second_start;
  for (const Page& p : Pages(phone)) {
    if (p.status == "firing" && p.starts_at != first_start) second_start = p.starts_at;
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        return MetricSample(exporter.Metrics(), "joelclaw_bridge_spool_events").value_or(0) >= 1;
      },
      seconds(30)))
      << exporter.Metrics();

  // kill -9, then both come back on their old ports.
  exporter.process().Signal(SIGKILL);
  ASSERT_NE(exporter.process().Wait(seconds(5)), -1);
  inngest = std::make_unique<FakeInngest>(kEventKey, inngest_port);
  ASSERT_TRUE(inngest->ok());
  ASSERT_TRUE(exporter.Start(exporter.port())) << exporter.Log();

  auto second_episode = [&] {
    std::vector<Event> out;
    for (const Event& e : WorkerEvents(*inngest, "system/health.degraded")) {
      if (e.starts_at == second_start) out.push_back(e);
    }
    return out;
  };
  ASSERT_TRUE(WaitFor([&] { return !second_episode().empty(); }, seconds(60)))
      << EventsDump(*inngest) << "\n" << exporter.Log();
  std::this_thread::sleep_for(seconds(3));  // Room for any re-delivery to show up.
  const std::vector<Event> delivered = second_episode();
  EXPECT_EQ(Ids(delivered).size(), 1u) << "the spooled event arrives once by id:\n"
                                       << EventsDump(*inngest);
  std::cout << "after kill -9: " << delivered.size() << " delivery(ies) of "
            << Ids(delivered).size() << " event id\n";
  ASSERT_TRUE(WaitFor(
      [&] {
        return MetricSample(exporter.Metrics(), "joelclaw_bridge_spool_events").value_or(-1) == 0;
      },
      seconds(30)))
      << exporter.Metrics();
}

}  // namespace e2e_alert_path_test
}  // namespace joelclaw::testing
