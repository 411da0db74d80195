// The shipped network, stood up on loopback as far as this machine allows:
//
//   deploy/panda/exporter.yaml and deploy/clanker-001/exporter.yaml, each run
//   by the real binary with its addresses pointed at loopback stand-ins (real
//   sshd and redis-server; HTTP, TCP and TLS servers for Inngest, Qdrant, the
//   worker, Caddy and pdf-brain; fakes that speak the real formats for
//   launchctl, systemctl, tailscale, the Kubernetes API, df over ssh and
//   Inngest's event API) and every interval cut by 30;
//   real Prometheus with deploy/monitoring/prometheus.yml and rules/ as
//   scripts/gen-deploy.py and gen-rules.py write them (loopback targets,
//   times cut by 30), real Alertmanager with the shipped routing (receivers
//   on loopback: the family's phone, the morning digest, the watchdog), and
//   panda's bridge posting to the fake Inngest.
//
// 1. Everything healthy: no page, no event, and the watchdog pings.
// 2. The worker crash-loops under launchd: the phone and Inngest each get
//    exactly one notification, within 3 minutes of simulated time.
// 3. Both exporters stop: the watchdog's pings stop, which is how the
//    receiver outside the network notices.

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/exporter_process.h"
#include "tests/support/fake_inngest.h"
#include "tests/support/fake_kube_api.h"
#include "tests/support/loopback_http_server.h"
#include "tests/support/monitoring.h"
#include "tests/support/real_servers.h"
#include "tests/support/recording_http_server.h"
#include "tests/support/test_util.h"
#include "yaml-cpp/yaml.h"

namespace joelclaw::testing {
namespace e2e_network_test {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Real time in the test is simulated time / kScale.
constexpr double kScale = 30;
constexpr char kEventKey[] = "network-event-key";
constexpr char kBridgeToken[] = "network-bridge-token";

RecordingHttpServer::Reply Json(const std::string& body) { return {200, body}; }

// A TCP listener that accepts and holds connections (the tcp checks only
// connect): the Inngest connect gateway and Qdrant's gRPC port.
struct TcpListener {
  int fd = -1;
  int port = 0;
  TcpListener() { fd = ListenLoopback(0, &port); }
  ~TcpListener() {
    if (fd >= 0) close(fd);
  }
  std::string Address() const { return "127.0.0.1:" + std::to_string(port); }
};

// The check named `name` of `host` in an exporter config.
YAML::Node Check(YAML::Node config, const std::string& host, const std::string& name) {
  for (YAML::Node check : config["hosts"][host]["checks"]) {
    if (check["name"].as<std::string>() == name) return check;
  }
  ADD_FAILURE() << "deploy config has no check " << name << " on " << host;
  return YAML::Node();
}

// Points a check's probe elsewhere and drops its own interval and timeout
// (the test's defaults are the shipped ones cut by kScale).
void Point(YAML::Node check, const std::string& kind, const YAML::Node& settings) {
  ASSERT_TRUE(check[kind]) << "the check is no longer a " << kind << " check: " << check;
  check[kind] = settings;
  check.remove("interval");
  check.remove("timeout");
}

YAML::Node Url(const std::string& url, const YAML::Node& rest = YAML::Node()) {
  YAML::Node n = rest.IsMap() ? YAML::Clone(rest) : YAML::Node(YAML::NodeType::Map);
  n["url"] = url;
  return n;
}

YAML::Node Address(const std::string& address) {
  YAML::Node n;
  n["address"] = address;
  return n;
}

std::string Emit(const YAML::Node& doc) {
  YAML::Emitter out;
  out << doc;
  return std::string(out.c_str()) + "\n";
}

// The Kubernetes API of a healthy cluster: the fixtures' Ready node, running
// pods and fully ready workloads only.
void ServeHealthyCluster(LoopbackHttpServer& api) {
  auto keep = [](const std::string& fixture, auto pred) {
    nlohmann::json doc = nlohmann::json::parse(ReadFileOrDie(TestData("kubernetes/" + fixture)));
    nlohmann::json items = nlohmann::json::array();
    for (const nlohmann::json& item : doc["items"]) {
      if (pred(item)) items.push_back(item);
    }
    doc["items"] = items;
    return doc.dump();
  };
  api.SetRoute("/api/v1/nodes", 200, keep("nodes.json", [](const nlohmann::json& n) {
    for (const nlohmann::json& c : n["status"]["conditions"]) {
      if (c["type"] == "Ready") return c["status"] == "True";
    }
    return false;
  }));
  api.SetRoute("/api/v1/namespaces/joelclaw/pods", 200,
               keep("pods-joelclaw.json", [](const nlohmann::json& p) {
                 const std::string name = p["metadata"]["name"];
                 return name == "inngest-0" || name == "redis-0";
               }));
  auto ready = [](const nlohmann::json& w) {
    return w["spec"].value("replicas", 1) == w["status"].value("readyReplicas", 0);
  };
  api.SetRoute("/apis/apps/v1/namespaces/joelclaw/deployments", 200,
               keep("deployments-joelclaw.json", ready));
  api.SetRoute("/apis/apps/v1/namespaces/joelclaw/statefulsets", 200,
               keep("statefulsets-joelclaw.json", ready));
}

// `tailscale status --json` (the fixture's shape) with every always-on peer
// of deploy/panda/exporter.yaml online.
std::string TailnetAllOnline() {
  nlohmann::json doc =
      nlohmann::json::parse(ReadFileOrDie(TestData("tailscale/status-running.json")));
  nlohmann::json& peers = doc["Peer"];
  nlohmann::json gpu_box;
  for (auto& [key, peer] : peers.items()) {
    const std::string dns = peer.value("DNSName", "");
    if (dns == "three-body.tail1234.ts.net.") peer["Online"] = true;
    if (dns == "clanker-001.tail1234.ts.net.") gpu_box = peer;
  }
  gpu_box["DNSName"] = "gpu-box.tail1234.ts.net.";
  gpu_box["HostName"] = "gpu-box";
  gpu_box["ID"] = "n4GPUbox5CNTRL";
  gpu_box["PublicKey"] = "nodekey:4b1d0e9a9f3c2e1d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f";
  peers["nodekey:4b1d0e9a9f3c2e1d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f"] = gpu_box;
  return doc.dump(1);
}

struct Notification {
  std::string alertname, host, status;
};

std::vector<Notification> Notifications(const RecordingHttpServer& server) {
  std::vector<Notification> out;
  for (const auto& req : server.Requests()) {
    nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded()) continue;
    for (const nlohmann::json& a : body.value("alerts", nlohmann::json::array())) {
      out.push_back({a["labels"].value("alertname", ""), a["labels"].value("host", ""),
                     a.value("status", "")});
    }
  }
  return out;
}

std::string Dump(const RecordingHttpServer& server) {
  std::string out;
  for (const auto& req : server.Requests()) out += req.target + " " + req.body + "\n";
  return out;
}

std::string Dump(const FakeInngest& inngest) {
  std::string out;
  for (const nlohmann::json& e : inngest.Events()) out += e.dump() + "\n";
  return out;
}

TEST(NetworkEndToEndTest, ACrashLoopingWorkerPagesOnceAndTheWatchdogNoticesMonitoringGoingDown) {
  const std::string prometheus = FindProgram("prometheus");
  const std::string alertmanager = FindProgram("prometheus-alertmanager");
  ASSERT_FALSE(prometheus.empty() || alertmanager.empty())
      << "prometheus and prometheus-alertmanager must be installed (scripts/setup-deps.sh)";
  TempDir dir, panda_dir, clanker_dir;

  // The stand-ins.
  Result<std::unique_ptr<SshdServer>> sshd = StartSshd(dir);
  ASSERT_TRUE(sshd.ok()) << sshd.status().message();
  Result<std::unique_ptr<RedisServer>> redis = StartRedis(dir);
  ASSERT_TRUE(redis.ok()) << redis.status().message();
  Result<TestPki> pki = MakeTestPki(dir, 90);
  ASSERT_TRUE(pki.ok()) << pki.status().message();
  FakeInngest inngest(kEventKey);
  RecordingHttpServer qdrant([](const auto&) { return Json(R"({"title":"qdrant"})"); });
  RecordingHttpServer worker([](const auto&) { return Json(R"({"functionCount":14})"); });
  RecordingHttpServer pdf_brain([](const auto&) { return Json(R"({"docs":1312})"); });
  LoopbackHttpServer caddy(LoopbackTls{pki->leaf_cert_path, pki->leaf_key_path, ""});
  TcpListener inngest_connect, qdrant_grpc;
  std::unique_ptr<LoopbackHttpServer> kube = StartFakeKubeApi(*pki, "unused-token");
  ASSERT_TRUE(inngest.ok() && qdrant.ok() && worker.ok() && pdf_brain.ok() && caddy.ok() &&
              kube->ok() && inngest_connect.fd >= 0 && qdrant_grpc.fd >= 0);
  ServeHealthyCluster(*kube);
  auto ok = [](const auto&) { return RecordingHttpServer::Reply{200, "{}"}; };
  RecordingHttpServer phone(ok), digest(ok), watchdog(ok);
  ASSERT_TRUE(phone.ok() && digest.ok() && watchdog.ok());

  const int panda_port = FreePort(), clanker_port = FreePort();
  const std::string panda_url = "http://127.0.0.1:" + std::to_string(panda_port);
  const std::string clanker_url = "http://127.0.0.1:" + std::to_string(clanker_port);
  const std::string defaults = "{interval: 1s, timeout: 800ms}";  // 30s and 5s, cut by 30.

  // panda: the shipped config, pointed at the stand-ins.
  YAML::Node panda = YAML::LoadFile(SourceDir() + "/deploy/panda/exporter.yaml");
  panda["defaults"] = YAML::Load(defaults);
  Point(Check(panda, "panda", "inngest"), "http", Url(inngest.BaseUrl() + "/health"));
  Point(Check(panda, "panda", "inngest-connect"), "tcp", Address(inngest_connect.Address()));
  Point(Check(panda, "panda", "qdrant"), "http", Url(qdrant.Url("/readyz")));
  Point(Check(panda, "panda", "qdrant-grpc"), "tcp", Address(qdrant_grpc.Address()));
  Point(Check(panda, "panda", "redis"), "redis", Address((*redis)->address));
  Point(Check(panda, "panda", "worker"), "http",
        Url(worker.Url("/"), Check(panda, "panda", "worker")["http"]));
  YAML::Node tls = Address("127.0.0.1:" + std::to_string(caddy.port()));
  tls["server_name"] = kTestServerName;
  tls["ca_file"] = pki->ca_cert_path;
  Point(Check(panda, "panda", "caddy"), "tls", tls);
  Point(Check(panda, "clanker-001", "pdf-brain"), "http",
        Url(pdf_brain.Url("/"), Check(panda, "clanker-001", "pdf-brain")["http"]));
  for (const char* host : {"clanker-001", "three-body", "gpu-box"}) {
    Point(Check(panda, host, "ssh"), "ssh", Address((*sshd)->address));
  }
  panda["kubernetes"]["kubeconfig"] = WriteTalosKubeconfig(dir, kube->Url(""), *pki);
  WriteFileOrDie(dir.File("tailscale.json"), TailnetAllOnline());
  // ssh to the NAS running `df -Pk -- /volume1`: the Synology fixture's row
  // for that path (tests/testdata/df/synology.txt).
  const std::string df = ReadFileOrDie(TestData("df/synology.txt"));
  std::string df_volume1 = df.substr(0, df.find('\n') + 1);
  for (size_t at = 0; at < df.size();) {
    const size_t nl = df.find('\n', at);
    const std::string line = df.substr(at, nl - at);
    if (line.size() > 9 && line.compare(line.size() - 9, 9, " /volume1") == 0) {
      df_volume1 += line + "\n";
    }
    at = nl == std::string::npos ? df.size() : nl + 1;
  }
  WriteFileOrDie(dir.File("df.txt"), df_volume1);
  WriteFileOrDie(dir.File("fake-ssh"), "#!/bin/sh\nexec cat " + dir.File("df.txt") + "\n", 0755);
  WriteFileOrDie(dir.File("bridge-token"), std::string(kBridgeToken) + "\n", 0600);
  WriteFileOrDie(dir.File("inngest-event-key"), std::string(kEventKey) + "\n", 0600);
  panda["bridge"]["token_file"] = dir.File("bridge-token");
  panda["bridge"]["inngest"]["event_key_file"] = dir.File("inngest-event-key");
  panda["bridge"]["inngest"]["url"] = inngest.BaseUrl();
  panda["bridge"]["spool_dir"] = dir.File("spool");
  panda["status"]["urls"] = YAML::Load("[\"" + clanker_url + "\"]");
  const std::string launchctl = TestData("e2e/launchd/fake-launchctl");
  std::filesystem::create_directories(dir.File("launchctl"));
  WriteFileOrDie(dir.File("launchctl/adr-exit"), "0\n");  // Its last run went well.
  panda["commands"] = YAML::Load(
      "{launchctl: [" + launchctl + ", " + dir.File("launchctl") + ", list], "
      "launchctl_print: [" + launchctl + ", " + dir.File("launchctl") + ", print], "
      "tailscale: [cat, " + dir.File("tailscale.json") + "], "
      "ssh: [" + dir.File("fake-ssh") + "]}");
  WriteFileOrDie(panda_dir.File("exporter.yaml"), Emit(panda));

  // clanker-001 likewise.
  YAML::Node clanker = YAML::LoadFile(SourceDir() + "/deploy/clanker-001/exporter.yaml");
  clanker["defaults"] = YAML::Load(defaults);
  Point(Check(clanker, "clanker-001", "pdf-brain"), "http",
        Url(pdf_brain.Url("/"), Check(clanker, "clanker-001", "pdf-brain")["http"]));
  Point(Check(clanker, "panda", "ssh"), "ssh", Address((*sshd)->address));
  clanker["status"]["urls"] = YAML::Load("[\"" + panda_url + "\"]");
  clanker["commands"] = YAML::Load("{systemctl: [" + TestData("systemd/fake-systemctl") + ", " +
                                   TestData("e2e/systemd-clanker-001.txt") + "]}");
  WriteFileOrDie(clanker_dir.File("exporter.yaml"), Emit(clanker));

  ExporterProcess panda_exporter(panda_dir, {"--config.file=" + panda_dir.File("exporter.yaml")});
  ExporterProcess clanker_exporter(clanker_dir,
                                   {"--config.file=" + clanker_dir.File("exporter.yaml")});
  ASSERT_TRUE(panda_exporter.Start(panda_port)) << panda_exporter.Log();
  ASSERT_TRUE(clanker_exporter.Start(clanker_port)) << clanker_exporter.Log();
  ASSERT_TRUE(panda_exporter.WaitReady() && clanker_exporter.WaitReady())
      << panda_exporter.Log() << clanker_exporter.Log();

  // The monitoring machine, from the shipped sources.
  const int am_port = FreePort();
  LoopbackMonitoring m;
  m.targets = {{"panda", "127.0.0.1:" + std::to_string(panda_port)},
               {"clanker-001", "127.0.0.1:" + std::to_string(clanker_port)}};
  m.alertmanager_address = "127.0.0.1:" + std::to_string(am_port);
  m.bridge_url = panda_url + "/alertmanager";
  m.bridge_token = kBridgeToken;
  m.phone_url = phone.Url("/joelclaw-family");
  m.digest_url = digest.Url("/joelclaw-digest");
  m.watchdog_url = watchdog.Url("/ping");
  m.time_scale = 1 / kScale;
  m.rules_time_scale = 1 / kScale;
  ASSERT_EQ(WriteLoopbackMonitoring(dir.path(), m), "");
  Subprocess am({alertmanager, "--config.file=" + dir.File("alertmanager.yml"),
                 "--storage.path=" + dir.File("am-data"),
                 "--web.listen-address=" + m.alertmanager_address, "--cluster.listen-address="},
                dir.File("alertmanager.log"));
  PrometheusProcess prom = StartPrometheusWithConfig(dir, dir.File("prometheus.yml"));

  // 1. Healthy: every check of both exporters succeeds, the watchdog pings,
  // and for longer than the longest `for:` of a page (5m) nothing is sent.
  ASSERT_TRUE(WaitFor([&] { return PromQuery(prom.port, "count(up == 1)") == 2.0; }, seconds(30)))
      << prom.Log();
  ASSERT_TRUE(WaitFor([&] { return watchdog.Requests().size() >= 2; }, seconds(30)))
      << am.Log();
  std::this_thread::sleep_for(seconds(12));
  ASSERT_EQ(PromQuery(prom.port, "min(joelclaw_probe_success)"), 1.0)
      << HttpGet(panda_url + "/api/v1/status").body;
  ASSERT_EQ(PromQuery(prom.port, "min(joelclaw_collector_success)"), 1.0)
      << HttpGet(panda_url + "/api/v1/status").body << HttpGet(clanker_url + "/api/v1/status").body;
  ASSERT_TRUE(Notifications(phone).empty()) << "a false page:\n" << Dump(phone);
  ASSERT_TRUE(inngest.Events().empty()) << "a false event:\n" << Dump(inngest);
  ASSERT_TRUE(Notifications(digest).empty()) << "a warning while healthy:\n" << Dump(digest);
  // The whole network at a glance from panda: its own hosts and, through
  // status.urls, clanker-001's exporter.
  {
    CommandOutput board = RunCommand(
        {JOELCLAW_BINARY, "status", "--url", panda_url, "--config.file=" + panda_dir.File("exporter.yaml")},
        30);
    EXPECT_EQ(board.exit_code, 0) << board.out;
    for (const char* host : {"panda", "clanker-001", "three-body", "gpu-box"}) {
      EXPECT_NE(board.out.find(host), std::string::npos) << host << " missing:\n" << board.out;
    }
  }

  // 2. The worker crash-loops; its HTTP check keeps answering between
  // crashes. One page, one event.
  const auto crash = std::chrono::steady_clock::now();
  WriteFileOrDie(dir.File("launchctl/crashloop"), "");
  ASSERT_TRUE(WaitFor([&] { return !Notifications(phone).empty(); }, seconds(60)))
      << Dump(phone) << am.Log();
  const double simulated_minutes =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - crash).count() * kScale /
      60;
  std::cout << "crash loop → family phone: " << simulated_minutes << " simulated minutes\n";
  EXPECT_LE(simulated_minutes, 3.0);
  ASSERT_TRUE(WaitFor([&] { return !inngest.Events().empty(); }, seconds(30)))
      << panda_exporter.Log();
  // A group interval (5m / 30) for anything else to show up.
  std::this_thread::sleep_for(seconds(12));
  const std::vector<Notification> pages = Notifications(phone);
  ASSERT_EQ(pages.size(), 1u) << Dump(phone);
  EXPECT_EQ(pages[0].alertname, "JoelclawLaunchdJobCrashLooping");
  EXPECT_EQ(pages[0].host, "panda");
  EXPECT_EQ(pages[0].status, "firing");
  ASSERT_EQ(inngest.Events().size(), 1u) << Dump(inngest);
  const nlohmann::json event = inngest.Events()[0];
  EXPECT_EQ(event.value("name", ""), "system/health.degraded");
  EXPECT_EQ(event["data"]["labels"].value("alertname", ""), "JoelclawLaunchdJobCrashLooping");
  EXPECT_TRUE(Notifications(digest).empty()) << Dump(digest);

  // 3. Both exporters stop. Within a scrape the watchdog's condition is
  // gone; Alertmanager stops repeating it (1m / 30 = 2 s). The receiver
  // sees no ping for many of its periods: monitoring is down.
  panda_exporter.process().Signal(SIGTERM);
  clanker_exporter.process().Signal(SIGTERM);
  panda_exporter.process().Wait(seconds(5));
  clanker_exporter.process().Wait(seconds(5));
  ASSERT_TRUE(WaitFor([&] { return PromQuery(prom.port, "count(up == 1)") == std::nullopt ||
                                   PromQuery(prom.port, "count(up == 1)") == 0.0; },
                      seconds(20)));
  std::this_thread::sleep_for(seconds(4));  // Whatever was in flight.
  const size_t pings = watchdog.Requests().size();
  std::this_thread::sleep_for(seconds(10));  // Five watchdog intervals.
  EXPECT_EQ(watchdog.Requests().size(), pings) << "the watchdog kept pinging:\n" << Dump(watchdog);
}

}  // namespace e2e_network_test
}  // namespace joelclaw::testing
