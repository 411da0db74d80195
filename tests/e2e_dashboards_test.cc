// Every Grafana panel query returns data: the real exporter runs every
// collector and probe kind on fixtures (fake launchctl, systemctl, ssh,
// tailscale, a fake Kubernetes API over TLS, the fake NVML library, the
// bridge with a fake Inngest), real Prometheus scrapes it and evaluates
// rules/ (recording rules included), and each panel's expression, with the
// dashboard variables set to "everything", is asked of Prometheus. A query
// that parses but returns nothing is a broken panel: wrong metric, wrong
// label, or a label the exporter never sets.

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/exporter_process.h"
#include "tests/support/fake_inngest.h"
#include "tests/support/fake_kube_api.h"
#include "tests/support/loopback_http_server.h"
#include "tests/support/monitoring.h"
#include "tests/support/real_servers.h"
#include "tests/support/test_util.h"

namespace joelclaw::testing {
namespace e2e_dashboards_test {

using std::chrono::seconds;

// The number of series Prometheus returns for `query` at this instant, or -1
// when the query fails.
int SeriesCount(int port, const std::string& query) {
  HttpReply r = HttpGet("http://127.0.0.1:" + std::to_string(port) +
                        "/api/v1/query?query=" + UrlEncode(query));
  nlohmann::json doc = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status != 200 || doc.is_discarded() || doc.value("status", "") != "success") return -1;
  const nlohmann::json& result = doc["data"]["result"];
  if (doc["data"].value("resultType", "") == "scalar") return 1;
  return result.is_array() ? static_cast<int>(result.size()) : -1;
}

TEST(DashboardsEndToEndTest, EveryPanelQueryReturnsDataFromARealPrometheus) {
  const std::string prometheus = FindProgram("prometheus");
  ASSERT_FALSE(prometheus.empty()) << "prometheus not installed (scripts/setup-deps.sh)";
  TempDir dir;

  // Targets: a worker answering JSON, a closed port, a TLS server.
  LoopbackHttpServer worker;
  worker.SetJsonBody(R"({"functionCount": 14, "docs": 700})");
  RefusingPort closed;
  Result<TestPki> pki = MakeTestPki(dir);
  ASSERT_TRUE(pki.ok()) << pki.status().message();
  auto tls = StartTlsServer(dir, pki->leaf_cert_path, pki->leaf_key_path);
  ASSERT_TRUE(tls.ok()) << tls.status().message();
  std::unique_ptr<LoopbackHttpServer> kube_api = StartFakeKubeApi(*pki, "unused-token");
  ASSERT_TRUE(kube_api->ok());
  const std::string kubeconfig = WriteTalosKubeconfig(dir, kube_api->Url(""), *pki);
  FakeInngest inngest("dash-key");
  ASSERT_TRUE(inngest.ok());
  WriteFileOrDie(dir.File("inngest-key"), "dash-key\n", 0600);
  WriteFileOrDie(dir.File("bridge-token"), "dash-token\n", 0600);
  std::filesystem::create_directories(dir.File("launchctl-state"));
  // A periodic job, idle after a clean run (its kind set in the config).
  WriteFileOrDie(dir.File("launchctl-state/list-extra"), "-\t0\tcom.joel.vault-log-sync\n");

  const std::string config = dir.File("exporter.yaml");
  WriteFileOrDie(
      config,
      "defaults: {interval: 1s, timeout: 800ms}\n"
      "hosts:\n"
      "  panda:\n"
      "    checks:\n"
      "      - {name: worker, http: {url: \"" + worker.Url("/json") +
          "\", json: {field: functionCount, min: 1}}}\n"
          "      - {name: closed, tcp: {address: \"127.0.0.1:" + std::to_string(closed.port()) +
          "\"}}\n"
          "      - {name: caddy, tls: {address: \"127.0.0.1:" + std::to_string((*tls)->port) +
          "\", server_name: " + std::string(kTestServerName) + ", ca_file: " + pki->ca_cert_path + "}}\n"
          "    resources: true\n"
          "    filesystems: [\"/\"]\n"
          "    launchd: {jobs: [com.joel.system-bus-worker, com.joel.caddy,\n"
          "                     {label: com.joel.vault-log-sync, kind: periodic, interval: 1h}]}\n"
          "  clanker-001:\n"
          "    systemd: {units: [pdf-brain.service, pdf-brain-indexer.service]}\n"
          "  three-body:\n"
          "    remote_filesystems: {ssh: three-body, paths: [/volume1]}\n"
          "tailscale: {enabled: true, always_on: [panda, three-body]}\n"
          "kubernetes: {kubeconfig: " + kubeconfig + ", namespaces: [joelclaw]}\n"
          "gpu: {enabled: true, host: gpubox, expected_gpus: 2, nvml_library: " +
          JOELCLAW_FAKE_NVML + "}\n"
          "bridge:\n"
          "  token_file: " + dir.File("bridge-token") + "\n"
          "  inngest: {url: \"" + inngest.BaseUrl() + "\", event_key_file: " +
          dir.File("inngest-key") + "}\n"
          "  spool_dir: " + dir.File("spool") + "\n"
          "commands:\n"
          "  launchctl: [" + TestData("launchd/fake-launchctl") + ", " +
          dir.File("launchctl-state") + ", list]\n"
          "  systemctl: [" + TestData("systemd/fake-systemctl") + ", " +
          TestData("systemd/show-clanker.txt") + "]\n"
          "  tailscale: [cat, " + TestData("tailscale/status-running.json") + "]\n"
          "  ssh: [" + TestData("df/fake-ssh") + "]\n");
  ExporterProcess exporter(dir, {"--config.file=" + config});
  ASSERT_TRUE(exporter.Start()) << exporter.Log();
  ASSERT_TRUE(exporter.WaitReady()) << exporter.Log();

  ASSERT_TRUE(GenerateRules({"--out", dir.File("rules"), "--time-scale", "0.01"}));
  PrometheusProcess prom = StartPrometheus(dir, exporter.port(), "joelclaw-exporter",
                                           dir.File("rules") + "/*.yml");
  const int prom_port = prom.port;
  // Enough scrapes for rate() and increase() over a few samples.
  ASSERT_TRUE(WaitFor([&] { return SeriesCount(prom_port, "up == 1") == 1; }, seconds(30)))
      << prom.Log();
  ASSERT_TRUE(WaitFor(
      [&] {
        return SeriesCount(prom_port, "count_over_time(joelclaw_exporter_build_info[1m]) >= 6") ==
               1;
      },
      seconds(30)));

  int queries = 0;
  std::vector<std::string> empty;
  for (const Dashboard& d : LoadDashboards()) {
    for (const nlohmann::json& panel : DashboardPanels(d.doc)) {
      for (const nlohmann::json& target : panel.value("targets", nlohmann::json::array())) {
        const std::string expr = PromqlForDashboardExpr(target.value("expr", ""));
        if (expr.empty()) continue;
        ++queries;
        const int n = SeriesCount(prom_port, expr);
        EXPECT_GE(n, 0) << d.file << " / " << panel.value("title", "") << ": query fails: "
                        << expr;
        if (n == 0) empty.push_back(d.file + " / " + panel.value("title", "") + ": " + expr);
      }
    }
  }
  std::cout << queries << " panel queries asked of Prometheus\n";
  std::string list;
  for (const std::string& e : empty) list += "  " + e + "\n";
  EXPECT_TRUE(empty.empty()) << empty.size() << " panel queries return no data:\n"
                             << list << exporter.Metrics();
}

}  // namespace e2e_dashboards_test
}  // namespace joelclaw::testing
