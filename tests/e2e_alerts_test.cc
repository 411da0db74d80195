// The alerts a family is woken for, end to end: the real exporter fed
// real-format launchctl (list and print), Kubernetes API and nvidia-smi
// output, real Prometheus scraping it with the shipped scrape config and
// evaluating the shipped rules (scripts/gen-deploy.py and gen-rules.py, with
// loopback targets and every `for:` and range cut by 60), and the exact set
// of alerts it raises, with their `host` labels:
//
//   - the KeepAlive worker crash-loops                → one critical, host panda
//   - Caddy (KeepAlive) runs                          → nothing
//   - vault-log-sync (periodic, hourly) idles after a
//     clean run                                       → nothing
//   - adr-sync-watcher (on demand) last exited 78     → one warning, host panda
//   - node joelclaw-worker-1 is NotReady              → warning, host = the node
//   - qdrant-0 crash-loops on joelclaw-cp-1           → warning, host = its node
//   - StatefulSet qdrant, Deployment system-bus-worker
//     have 0 of 1 ready                               → warnings, host = the cluster
//   - GPU 1 of the GPU box is at 91 °C                → warning, host gpu-box
//   - the watchdog                                    → always, host clanker-001
//
// and nothing else: no "down" for idle periodic or on-demand jobs, no
// HostDown for a machine whose exporter answers.

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/exporter_process.h"
#include "tests/support/fake_kube_api.h"
#include "tests/support/monitoring.h"
#include "tests/support/real_servers.h"
#include "tests/support/test_util.h"

namespace joelclaw::testing {
namespace e2e_alerts_test {

using std::chrono::seconds;

// Firing alerts as "alertname/host/detail" (detail: the job, workload, pod
// or GPU it is about), from Prometheus's /api/v1/alerts.
std::set<std::string> FiringAlerts(int prom_port) {
  std::set<std::string> out;
  HttpReply r = HttpGet("http://127.0.0.1:" + std::to_string(prom_port) + "/api/v1/alerts");
  nlohmann::json doc = nlohmann::json::parse(r.body, nullptr, false);
  if (doc.is_discarded()) return out;
  for (const nlohmann::json& a : doc["data"].value("alerts", nlohmann::json::array())) {
    if (a.value("state", "") != "firing") continue;
    const nlohmann::json& l = a["labels"];
    std::string detail;
    for (const char* key : {"label", "name", "pod", "gpu"}) {
      if (l.contains(key)) detail = l[key].get<std::string>();
    }
    out.insert(l.value("alertname", "") + "/" + l.value("host", "") + "/" + detail);
  }
  return out;
}

std::string Dump(const std::set<std::string>& s) { return nlohmann::json(s).dump(1); }

TEST(AlertScenarioEndToEndTest, RaisesExactlyTheAlertsAFamilyNeedsWithMachineHosts) {
  ASSERT_FALSE(FindProgram("prometheus").empty()) << "prometheus not installed";
  TempDir dir;
  Result<TestPki> pki = MakeTestPki(dir);
  ASSERT_TRUE(pki.ok()) << pki.status().message();
  std::unique_ptr<LoopbackHttpServer> api = StartFakeKubeApi(*pki, "unused-token");
  ASSERT_TRUE(api->ok());
  const std::string kubeconfig = WriteTalosKubeconfig(dir, api->Url(""), *pki);

  // nvidia-smi's CSV (tests/testdata/gpu/two-gpus.csv's shape): GPU 1 hot.
  WriteFileOrDie(dir.File("gpus.csv"),
                 "0, NVIDIA RTX PRO 4500 Blackwell, GPU-5d2e8c1a-7b3f-4e90-a1c6-2f8d9e0b4a71, "
                 "575.57.08, 41, 0, 512, 32623, 18.25, 200.00, 180, 405, 30, 0, 0, "
                 "0x0000000000000001\n"
                 "1, NVIDIA RTX PRO 4500 Blackwell, GPU-c0a9f3b2-61d4-4a8e-9c7b-e5f4d3c2b1a0, "
                 "575.57.08, 91, 97, 20480, 32623, 198.40, 200.00, 2430, 14001, 64, 0, 0, "
                 "0x0000000000000024\n");
  std::filesystem::create_directories(dir.File("launchctl"));
  WriteFileOrDie(dir.File("launchctl/crashloop"), "");
  const std::string launchctl = TestData("e2e/launchd/fake-launchctl");
  const std::string config = dir.File("exporter.yaml");
  WriteFileOrDie(config,
                 "defaults: {interval: 1s, timeout: 800ms}\n"
                 "hosts:\n"
                 "  panda:\n"
                 "    launchd:\n"
                 "      domain: gui/501\n"
                 "      jobs: [com.joel.system-bus-worker, com.joel.caddy, "
                 "com.joel.vault-log-sync, com.joel.adr-sync-watcher]\n"
                 "kubernetes: {kubeconfig: " + kubeconfig +
                     ", cluster: talos, namespaces: [joelclaw]}\n"
                     "gpu: {enabled: true, host: gpu-box, expected_gpus: 2, "
                     "nvml_library: /nonexistent/libnvidia-ml.so.1}\n"
                     "commands:\n"
                     "  launchctl: [" + launchctl + ", " + dir.File("launchctl") + ", list]\n"
                     "  launchctl_print: [" + launchctl + ", " + dir.File("launchctl") +
                     ", print]\n"
                     "  nvidia-smi: [" + TestData("gpu/fake-nvidia-smi") + ", " +
                     dir.File("gpus.csv") + "]\n");
  ExporterProcess exporter(dir, {"--config.file=" + config});
  ASSERT_TRUE(exporter.Start() && exporter.WaitReady()) << exporter.Log();

  LoopbackMonitoring m;
  m.targets = {{"panda", "127.0.0.1:" + std::to_string(exporter.port())}};
  m.alertmanager_address = "127.0.0.1:" + std::to_string(FreePort());  // Nobody listens.
  m.rules_time_scale = 1.0 / 60;
  ASSERT_EQ(WriteLoopbackMonitoring(dir.path(), m), "");
  PrometheusProcess prom = StartPrometheusWithConfig(dir, dir.File("prometheus.yml"));

  const std::set<std::string> want = {
      "JoelclawLaunchdJobCrashLooping/panda/com.joel.system-bus-worker",
      "JoelclawLaunchdJobExitedNonZero/panda/com.joel.adr-sync-watcher",
      "JoelclawKubeNodeNotReady/joelclaw-worker-1/",
      "JoelclawKubePodCrashLooping/joelclaw-cp-1/qdrant-0",
      "JoelclawKubeWorkloadReplicasNotReady/talos/qdrant",
      "JoelclawKubeWorkloadReplicasNotReady/talos/system-bus-worker",
      "JoelclawGpuTooHot/gpu-box/1",
      "JoelclawWatchdog/clanker-001/",
  };
  // The slowest of them needs 10 minutes / 60 of `for:` after the rule
  // first matches.
  const bool all = WaitFor([&] { return FiringAlerts(prom.port) == want; }, seconds(90));
  EXPECT_TRUE(all) << "firing: " << Dump(FiringAlerts(prom.port)) << "\nwant: " << Dump(want)
                   << "\n" << prom.Log();
  // A few more evaluations: nothing else joins (the idle periodic job's
  // "missed runs" would need 3 hours / 60).
  std::this_thread::sleep_for(seconds(5));
  EXPECT_EQ(FiringAlerts(prom.port), want);

  // The crash loop ends: its alert resolves once no restart is left in the
  // (scaled) 15-minute window; the other alerts stay.
  std::filesystem::remove(dir.File("launchctl/crashloop"));
  std::set<std::string> after = want;
  after.erase("JoelclawLaunchdJobCrashLooping/panda/com.joel.system-bus-worker");
  EXPECT_TRUE(WaitFor([&] { return FiringAlerts(prom.port) == after; }, seconds(60)))
      << Dump(FiringAlerts(prom.port));
}

}  // namespace e2e_alerts_test
}  // namespace joelclaw::testing
