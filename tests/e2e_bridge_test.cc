// The Alertmanager → Inngest bridge through the real binary: POST
// /alertmanager with real-shaped webhook payloads, a fake Inngest event API
// on loopback (tests/support/fake_inngest.h), and the metrics on /metrics.
// Covers delivery, the token and payload checks, Inngest being down (the
// event waits in the spool), and kill -9 with an undelivered event (it
// arrives after the restart, once).
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "exporter/bridge/spool.h"

#include "gtest/gtest.h"
#include "tests/support/fake_inngest.h"
#include "tests/support/loopback_http_server.h"
#include "tests/support/monitoring.h"
#include "tests/support/test_util.h"

namespace joelclaw::testing {
namespace e2e_bridge_test {

using std::chrono::seconds;

constexpr char kToken[] = "am-bridge-token";
constexpr char kKey[] = "inngest-event-key-e2e";

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

double Value(const std::string& metrics, const std::string& series) {
  return MetricSample(metrics, series).value_or(-1);
}

// A config with the bridge pointing at 127.0.0.1:inngest_port, its secrets
// and spool in `dir`.
std::string WriteBridgeConfig(const TempDir& dir, int inngest_port,
                              const std::string& timeout = "2s",
                              const std::string& spool_dir = "") {
  WriteFileOrDie(dir.File("bridge-token"), std::string(kToken) + "\n", 0600);
  WriteFileOrDie(dir.File("inngest-event-key"), std::string(kKey) + "\n", 0600);
  const std::string path = dir.File("config.yaml");
  WriteFileOrDie(path,
                 "defaults: {interval: 1s, timeout: 800ms}\n"
                 "hosts:\n"
                 "  panda:\n"
                 "    filesystems: [\"/\"]\n"
                 "bridge:\n"
                 "  token_file: bridge-token\n"
                 "  inngest:\n"
                 "    url: http://127.0.0.1:" +
                     std::to_string(inngest_port) +
                     "\n"
                     "    event_key_file: inngest-event-key\n"
                     "    timeout: " +
                     timeout +
                     "\n"
                     "  spool_dir: " +
                     (spool_dir.empty() ? dir.File("spool") : spool_dir) +
                     "\n"
                     "  retry: {initial: 100ms, max: 500ms}\n");
  return path;
}

// The exporter binary on a free port with `config`. Other test binaries
// share the machine, so "up" means this process answers with this config,
// and a port taken meanwhile is retried.
class Exporter {
 public:
  Exporter(const TempDir& dir, std::string config)
      : dir_(dir), config_(std::move(config)) {}
  bool WaitUp() {
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = FreePort();
      process_ = std::make_unique<Subprocess>(
          std::vector<std::string>{
              ExporterBinary(), "--config.file=" + config_,
              "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
          dir_.File("exporter-" + std::to_string(port_) + ".log"));
      const std::string mine =
          "\"config_source\":" + nlohmann::json(config_).dump();
      if (WaitFor(
              [&] {
                return !process_->Running() ||
                       HttpGet(Url("/api/v1/status")).body.find(mine) !=
                           std::string::npos;
              },
              seconds(10)) &&
          process_->Running()) {
        return true;
      }
      if (Log().find("cannot listen") == std::string::npos) return false;
    }
    return false;
  }
  HttpReply Notify(const std::string& body, const std::string& token = kToken) {
    std::vector<std::string> headers = {"Content-Type: application/json"};
    if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
    return HttpRequest("POST", Url("/alertmanager"), body, headers);
  }
  std::string Metrics() { return HttpGet(Url("/metrics")).body; }
  // Waits until `series` reads `want` on /metrics.
  bool WaitMetric(const std::string& series, double want) {
    return WaitFor([&] { return Value(Metrics(), series) == want; },
                   seconds(15));
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  Subprocess& process() { return *process_; }
  std::string Log() const { return process_ ? process_->Log() : ""; }
  // A line of /proc/PID/status in KiB ("VmHWM", "VmRSS"), -1 when absent.
  long StatusKiB(const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(process_->pid()) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
    }
    return -1;
  }

 private:
  const TempDir& dir_;
  const std::string config_;
  int port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

std::string Payload(const std::string& name) {
  return ReadFileOrDie(TestData("alertmanager/" + name));
}

TEST(BridgeEndToEndTest, DeliversOnceAndRejectsBadTokensAndPayloads) {
  TempDir dir;
  FakeInngest inngest(kKey);
  ASSERT_TRUE(inngest.ok());
  Exporter exporter(dir, WriteBridgeConfig(dir, inngest.port()));
  ASSERT_TRUE(exporter.WaitUp()) << exporter.Log();
  // Every status value is exported before the first notification.
  std::string m = exporter.Metrics();
  for (const char* s : {"accepted", "bad_request", "unauthorized",
                        "unsupported_media_type", "too_large", "spool_error"}) {
    EXPECT_EQ(
        Value(m, std::string("joelclaw_bridge_notifications_total{status=\"") +
                     s + "\"}"),
        0)
        << s;
  }
  EXPECT_EQ(Value(m, "joelclaw_bridge_spool_events"), 0);
  EXPECT_EQ(Value(m, "joelclaw_bridge_spool_writable"), 1);
  for (const char* reason : {"rejected", "spool_full", "corrupt"}) {
    EXPECT_EQ(Value(m, std::string("joelclaw_bridge_events_dropped_total{reason=\"") +
                           reason + "\"}"),
              0)
        << reason;
  }

  HttpReply r = exporter.Notify(Payload("firing.json"));
  ASSERT_EQ(r.status, 200) << r.body << r.error << exporter.Log();
  ASSERT_TRUE(
      WaitFor([&] { return inngest.Events().size() == 1; }, seconds(10)))
      << exporter.Log();
  nlohmann::json event = inngest.Events()[0];
  EXPECT_EQ(event["name"], "system/health.degraded");
  EXPECT_EQ(event["id"], nlohmann::json::parse(r.body)["ids"][0]);
  EXPECT_EQ(event["data"]["labels"]["target"], "inngest");
  EXPECT_TRUE(event["ts"].is_number_integer());

  r = exporter.Notify(Payload("firing.json"), "not-the-token");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("the bearer token is wrong"), std::string::npos)
      << r.body;
  r = exporter.Notify(Payload("firing.json"), "");
  EXPECT_EQ(r.status, 401);
  r = exporter.Notify(Payload("invalid-missing-alerts.json"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("alerts is missing"), std::string::npos) << r.body;
  r = exporter.Notify(
      std::string(9 << 20, ' '));  // Over the bridge's body limit.
  EXPECT_EQ(r.status, 413);
  // Not JSON: a cross-site form post, say.
  r = HttpRequest("POST", exporter.Url("/alertmanager"), Payload("firing.json"),
                  {"Content-Type: text/plain", std::string("Authorization: Bearer ") + kToken});
  EXPECT_EQ(r.status, 415);

  // The last outcome counted: the snapshot has all of them once it has it.
  EXPECT_TRUE(exporter.WaitMetric(
      "joelclaw_bridge_notifications_total{status=\"unsupported_media_type\"}", 1));
  m = exporter.Metrics();
  EXPECT_EQ(Value(m, "joelclaw_bridge_notifications_total{status=\"unauthorized\"}"), 2);
  EXPECT_EQ(
      Value(m, "joelclaw_bridge_notifications_total{status=\"accepted\"}"), 1);
  EXPECT_EQ(
      Value(m, "joelclaw_bridge_notifications_total{status=\"bad_request\"}"),
      1);
  EXPECT_EQ(Value(m, "joelclaw_bridge_notifications_total{status=\"too_large\"}"), 1);
  EXPECT_EQ(Value(m, "joelclaw_bridge_notifications_total{status=\"unsupported_media_type\"}"),
            1);
  EXPECT_EQ(Value(m, "joelclaw_bridge_events_sent_total"), 1);
  EXPECT_EQ(Value(m, "joelclaw_bridge_send_failures_total"), 0);
  EXPECT_EQ(inngest.Events().size(), 1u);
  EXPECT_EQ(inngest.Unauthorized(), 0);

  // Every bridge family is documented, and all nine are there.
  const std::set<std::string> documented = DocumentedMetrics();
  int families = 0;
  for (size_t at = 0;
       (at = m.find("# TYPE joelclaw_bridge_", at)) != std::string::npos;
       ++at) {
    const std::string name = m.substr(at + 7, m.find(' ', at + 7) - at - 7);
    EXPECT_EQ(documented.count(name), 1u)
        << name << " is not in docs/metrics.md";
    ++families;
  }
  EXPECT_EQ(families, 9);

  // promtool accepts the exposition with the bridge's families.
  ExpectPromtoolAcceptsMetrics(dir, m);
}

TEST(BridgeEndToEndTest, InngestDownSpoolsThenDeliversWhenItReturns) {
  TempDir dir;
  const int inngest_port = FreePort();  // Nothing listens yet: refused.
  Exporter exporter(dir, WriteBridgeConfig(dir, inngest_port));
  ASSERT_TRUE(exporter.WaitUp()) << exporter.Log();
  HttpReply r = exporter.Notify(Payload("firing.json"));
  ASSERT_EQ(r.status, 200) << r.body << exporter.Log();
  ASSERT_TRUE(exporter.WaitMetric("joelclaw_bridge_spool_events", 1))
      << exporter.Metrics();
  ASSERT_TRUE(WaitFor(
      [&] {
        return Value(exporter.Metrics(),
                     "joelclaw_bridge_send_failures_total") >= 2;
      },
      seconds(10)));
  EXPECT_EQ(Value(exporter.Metrics(), "joelclaw_bridge_events_sent_total"), 0);

  FakeInngest inngest(kKey, inngest_port);
  ASSERT_TRUE(inngest.ok());
  ASSERT_TRUE(
      WaitFor([&] { return inngest.Events().size() == 1; }, seconds(10)))
      << exporter.Log();
  EXPECT_TRUE(exporter.WaitMetric("joelclaw_bridge_spool_events", 0));
  EXPECT_EQ(Value(exporter.Metrics(), "joelclaw_bridge_events_sent_total"), 1);
  EXPECT_EQ(
      Value(exporter.Metrics(), "joelclaw_bridge_spool_oldest_age_seconds"), 0);
}

TEST(BridgeEndToEndTest, ASpooledEventSurvivesKillNineAndArrivesOnce) {
  TempDir dir;
  const int inngest_port = FreePort();
  const std::string config = WriteBridgeConfig(dir, inngest_port);
  std::string ids;
  {
    Exporter first(dir, config);
    ASSERT_TRUE(first.WaitUp()) << first.Log();
    HttpReply r = first.Notify(Payload("resolved.json"));
    ASSERT_EQ(r.status, 200) << r.body << first.Log();
    ids = r.body;
    first.process().Signal(SIGKILL);
    ASSERT_NE(first.process().Wait(seconds(5)), -1);
  }
  FakeInngest inngest(kKey, inngest_port);
  ASSERT_TRUE(inngest.ok());
  Exporter second(dir, config);
  ASSERT_TRUE(second.WaitUp()) << second.Log();
  ASSERT_TRUE(
      WaitFor([&] { return inngest.Events().size() >= 1; }, seconds(10)))
      << second.Log();
  // Alertmanager re-sends the same notification (it never saw the first
  // answer, say): same id, so Inngest would run its functions once.
  ASSERT_EQ(second.Notify(Payload("resolved.json")).status, 200);
  ASSERT_TRUE(
      WaitFor([&] { return inngest.Events().size() >= 2; }, seconds(10)))
      << second.Log();
  EXPECT_EQ(inngest.DistinctIds(), 1u);
  EXPECT_EQ(inngest.Events()[0]["name"], "system/health.recovered");
  EXPECT_EQ(inngest.Events()[0]["id"], nlohmann::json::parse(ids)["ids"][0]);
}

TEST(BridgeEndToEndTest,
     AReloadTakesTheNewTokenAndAMissingSecretKeepsTheOldConfig) {
  TempDir dir;
  FakeInngest inngest(kKey);
  ASSERT_TRUE(inngest.ok());
  const std::string config = WriteBridgeConfig(dir, inngest.port());
  Exporter exporter(dir, config);
  ASSERT_TRUE(exporter.WaitUp()) << exporter.Log();
  HttpReply first = exporter.Notify(Payload("firing.json"));
  ASSERT_EQ(first.status, 200) << first.body << exporter.Log();

  WriteFileOrDie(dir.File("bridge-token"), "rotated-token\n", 0600);
  HttpReply reload = HttpRequest("POST", exporter.Url("/-/reload"));
  ASSERT_EQ(reload.status, 200) << reload.body;
  EXPECT_EQ(exporter.Notify(Payload("resolved.json")).status, 401);
  ASSERT_EQ(exporter.Notify(Payload("resolved.json"), "rotated-token").status,
            200);
  ASSERT_TRUE(
      WaitFor([&] { return inngest.Events().size() == 2; }, seconds(10)))
      << exporter.Log();

  // A secret that went missing fails the reload, naming the file; the
  // bridge keeps running with what it had.
  std::remove(dir.File("inngest-event-key").c_str());
  reload = HttpRequest("POST", exporter.Url("/-/reload"));
  EXPECT_EQ(reload.status, 500);
  EXPECT_NE(reload.body.find(dir.File("inngest-event-key") + " cannot be read"),
            std::string::npos)
      << reload.body;
  ASSERT_EQ(exporter.Notify(Payload("multiple.json"), "rotated-token").status,
            200);
  ASSERT_TRUE(
      WaitFor([&] { return inngest.Events().size() == 5; }, seconds(10)))
      << exporter.Log();
  EXPECT_EQ(inngest.DistinctIds(),
            4u);  // firing.json's alert is also in multiple.json.
}

TEST(BridgeEndToEndTest, SigtermDuringAHungSendExitsPromptlyAndKeepsTheEvent) {
  TempDir dir;
  BlackholeListener hung;  // Connections to it never complete.
  ASSERT_TRUE(hung.ok());
  // A long send timeout: only Stop() cancelling the send ends it early.
  const std::string config = WriteBridgeConfig(dir, hung.port(), "30s");
  {
    Exporter exporter(dir, config);
    ASSERT_TRUE(exporter.WaitUp()) << exporter.Log();
    ASSERT_EQ(exporter.Notify(Payload("firing.json")).status, 200);
    std::this_thread::sleep_for(
        std::chrono::milliseconds(300));  // The send is under way.
    const auto stop = std::chrono::steady_clock::now();
    exporter.process().Signal(SIGTERM);
    const int status = exporter.process().Wait(seconds(10));
    const auto took = std::chrono::steady_clock::now() - stop;
    ASSERT_NE(status, -1);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << exporter.Log();
    EXPECT_LT(took, seconds(2));
  }
  // The event is still spooled: the next run reports it.
  Exporter again(dir, config);
  ASSERT_TRUE(again.WaitUp()) << again.Log();
  EXPECT_TRUE(again.WaitMetric("joelclaw_bridge_spool_events", 1))
      << again.Metrics();
}

TEST(BridgeEndToEndTest, WithoutABridgeSectionTheRouteIs404) {
  TempDir dir;
  const std::string config = dir.File("config.yaml");
  WriteFileOrDie(config, "hosts:\n  panda:\n    filesystems: [\"/\"]\n");
  Exporter exporter(dir, config);
  ASSERT_TRUE(exporter.WaitUp()) << exporter.Log();
  HttpReply r = exporter.Notify(Payload("firing.json"));
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("bridge is not configured"), std::string::npos)
      << r.body;
  EXPECT_EQ(exporter.Metrics().find("joelclaw_bridge_"), std::string::npos);
}

TEST(BridgeEndToEndTest, AnUnwritableSpoolKeepsTheExporterServingAndIsRetried) {
  TempDir dir;
  FakeInngest inngest(kKey);
  ASSERT_TRUE(inngest.ok());
  // The spool's parent is a file: its directory cannot be created (as on a
  // read-only filesystem, which root could write to anyway).
  WriteFileOrDie(dir.File("state"), "not a directory");
  Exporter exporter(dir, WriteBridgeConfig(dir, inngest.port(), "2s",
                                           dir.File("state") + "/spool"));
  ASSERT_TRUE(exporter.WaitUp()) << exporter.Log();
  std::string m = exporter.Metrics();
  EXPECT_EQ(Value(m, "joelclaw_bridge_spool_writable"), 0) << m;
  EXPECT_NE(m.find("joelclaw_exporter_build_info{"), std::string::npos);  // Still serving.
  HttpReply r = exporter.Notify(Payload("firing.json"));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("cannot be opened"), std::string::npos) << r.body;
  // The directory becomes possible: the bridge opens its spool by itself.
  std::remove(dir.File("state").c_str());
  ASSERT_EQ(mkdir(dir.File("state").c_str(), 0700), 0);
  ASSERT_TRUE(exporter.WaitMetric("joelclaw_bridge_spool_writable", 1)) << exporter.Log();
  ASSERT_EQ(exporter.Notify(Payload("firing.json")).status, 200);
  ASSERT_TRUE(WaitFor([&] { return inngest.Events().size() == 1; }, seconds(10)));
  EXPECT_TRUE(exporter.WaitMetric(
      "joelclaw_bridge_notifications_total{status=\"spool_error\"}", 1));
}

TEST(BridgeEndToEndTest, UnauthenticatedHugePostsAreNotRead) {
  TempDir dir;
  FakeInngest inngest(kKey);
  Exporter exporter(dir, WriteBridgeConfig(dir, inngest.port()));
  ASSERT_TRUE(exporter.WaitUp()) << exporter.Log();
  const long before = exporter.StatusKiB("VmRSS");
  ASSERT_GT(before, 0);
  const std::string body(8 << 20, '{');
  std::vector<std::thread> posts;
  std::atomic<int> unauthorized{0};
  for (int i = 0; i < 16; ++i) {
    posts.emplace_back([&, i] {
      std::vector<std::string> headers = {"Content-Type: application/json"};
      // Half let curl wait for 100-continue, half send the body at once.
      if (i % 2 == 1) headers.push_back("Expect:");
      HttpReply r = HttpRequest("POST", exporter.Url("/alertmanager"), body, headers, 10000);
      if (r.status == 401) ++unauthorized;
    });
  }
  for (std::thread& t : posts) t.join();
  EXPECT_GE(unauthorized.load(), 8);
  const long peak = exporter.StatusKiB("VmHWM");
  // 16 bodies of 8 MiB would be 128 MiB; none is read.
  EXPECT_LT(peak - before, 32 << 10) << "peak " << peak << " KiB, before " << before << " KiB";
  EXPECT_EQ(exporter.Metrics().find("status=\"accepted\"} 1"), std::string::npos);
  EXPECT_TRUE(exporter.process().Running());
}

TEST(BridgeEndToEndTest, ALargeSpoolIsReplayedWithoutLoadingIt) {
  TempDir dir;
  const int inngest_port = FreePort();  // Down: the spool stays full.
  // 24 MiB of pending events, as a long Inngest outage leaves them.
  {
    auto spool = Spool::Open(dir.File("spool"));
    ASSERT_TRUE(spool.ok()) << spool.status().message();
    const std::string event =
        "{\"name\":\"system/health.degraded\",\"id\":\"x\",\"data\":{\"pad\":\"" +
        std::string(4000, 'p') + "\"}}";
    std::vector<std::string> batch(100, event);
    for (int i = 0; i < 60; ++i) ASSERT_TRUE((*spool)->Append(batch, 1e9).ok());
  }
  TempDir empty_dir;
  Exporter empty(empty_dir, WriteBridgeConfig(empty_dir, inngest_port));
  ASSERT_TRUE(empty.WaitUp()) << empty.Log();
  Exporter full(dir, WriteBridgeConfig(dir, inngest_port));
  ASSERT_TRUE(full.WaitUp()) << full.Log();
  ASSERT_TRUE(full.WaitMetric("joelclaw_bridge_spool_events", 6000)) << full.Metrics();
  if (kSanitized) {
    // ASan keeps freed memory in quarantine (256 MiB by default): peak RSS
    // says nothing about what the replay holds there.
    GTEST_SKIP() << "memory comparison skipped in a sanitizer build";
  }
  const long with = full.StatusKiB("VmHWM");
  const long without = empty.StatusKiB("VmHWM");
  EXPECT_LT(with - without, 12 << 10) << with << " KiB vs " << without << " KiB";
}

}  // namespace e2e_bridge_test
}  // namespace joelclaw::testing
