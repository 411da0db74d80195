// The kubernetes collector through the real binary and /metrics, against a
// fake API server on loopback over TLS with a Talos-shaped kubeconfig
// (client certificate, everything inline). The exposition must pass
// promtool; an API that goes away must show as joelclaw_collector_success 0
// with its reason in /api/v1/status while the exporter keeps serving.
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/exporter_process.h"
#include "tests/support/fake_kube_api.h"
#include "tests/support/monitoring.h"
#include "tests/support/test_util.h"

namespace joelclaw::testing {
namespace e2e_kubernetes_test {

double Value(const std::string& metrics, const std::string& series) {
  return MetricSample(metrics, series).value_or(-1);  // -1: no such sample.
}

const nlohmann::json* KubeCollector(const nlohmann::json& status) {
  auto list = status.find("collectors");  // Global collectors.
  if (list == status.end() || !list->is_array()) return nullptr;
  for (const nlohmann::json& c : *list) {
    if (c.value("name", "") == "kubernetes") return &c;
  }
  return nullptr;
}

TEST(KubernetesEndToEndTest, TalosClusterThroughMetrics) {
  TempDir dir;
  Result<TestPki> pki = MakeTestPki(dir);
  ASSERT_TRUE(pki.ok()) << pki.status().message();
  std::unique_ptr<LoopbackHttpServer> api = StartFakeKubeApi(*pki, "unused-token");
  ASSERT_TRUE(api->ok());
  const std::string kubeconfig = WriteTalosKubeconfig(dir, api->Url(""), *pki);
  const std::string config = dir.File("config.yaml");
  WriteFileOrDie(config,
                 "defaults: {interval: 1s, timeout: 800ms}\n"
                 "kubernetes: {kubeconfig: " +
                     kubeconfig + ", namespaces: [joelclaw], cluster: joelclaw}\n");
  ExporterProcess exporter(dir, {"--config.file=" + config});
  ASSERT_TRUE(exporter.Start() && exporter.WaitReady()) << exporter.Log();
  const std::string base = exporter.Url("");
  std::string m = HttpGet(base + "/metrics").body;

  EXPECT_EQ(Value(m, "joelclaw_collector_success{collector=\"kubernetes\",host=\"joelclaw\"}"), 1)
      << m;
  EXPECT_EQ(api->LastClientCertName("/api/v1/nodes"), "admin");
  EXPECT_EQ(Value(m, "joelclaw_kube_node_ready{host=\"joelclaw-cp-1\",node=\"joelclaw-cp-1\"}"), 1);
  EXPECT_EQ(
      Value(m, "joelclaw_kube_node_ready{host=\"joelclaw-worker-1\",node=\"joelclaw-worker-1\"}"),
      0);
  EXPECT_EQ(Value(m,
                  "joelclaw_kube_node_info{host=\"joelclaw-cp-1\",node=\"joelclaw-cp-1\",os_image="
                  "\"Talos (v1.12.4)\","
                  "kubelet_version=\"v1.35.0\",talos_version=\"v1.12.4\"}"),
            1);
  EXPECT_EQ(Value(m,
                  "joelclaw_kube_node_condition{host=\"joelclaw-worker-1\",node=\"joelclaw-worker-"
                  "1\",condition=\"Ready\","
                  "status=\"unknown\"}"),
            1);
  EXPECT_EQ(Value(m,
                  "joelclaw_kube_pod_ready{host=\"joelclaw-cp-1\",namespace=\"joelclaw\",pod="
                  "\"qdrant-0\"}"),
            0);
  EXPECT_EQ(
      Value(m,
            "joelclaw_kube_container_restarts_total{host=\"joelclaw-cp-1\",namespace=\"joelclaw\","
            "pod=\"qdrant-0\",container=\"qdrant\"}"),
      14);
  EXPECT_EQ(Value(m,
                  "joelclaw_kube_container_waiting{host=\"joelclaw-cp-1\",namespace=\"joelclaw\","
                  "pod=\"qdrant-0\","
                  "container=\"qdrant\",reason=\"CrashLoopBackOff\"}"),
            1);
  EXPECT_EQ(Value(m,
                  "joelclaw_kube_container_waiting{host=\"joelclaw-cp-1\",namespace=\"joelclaw\","
                  "pod=\"qdrant-0\","
                  "container=\"qdrant\",reason=\"other\"}"),
            0);
  EXPECT_EQ(Value(m,
                  "joelclaw_kube_workload_replicas{host=\"joelclaw\",namespace=\"joelclaw\",kind="
                  "\"StatefulSet\","
                  "name=\"qdrant\",state=\"ready\"}"),
            0);
  EXPECT_EQ(Value(m,
                  "joelclaw_kube_workload_replicas{host=\"joelclaw\",namespace=\"joelclaw\",kind="
                  "\"StatefulSet\","
                  "name=\"redis\",state=\"desired\"}"),
            1);

  // A pod not scheduled on any node belongs to the cluster.
  EXPECT_EQ(Value(m,
                  "joelclaw_kube_pod_ready{host=\"joelclaw\",namespace=\"joelclaw\","
                  "pod=\"gpu-embedder-5b6c7d8e9f-h8j2m\"}"),
            0);
  // No label with an empty value anywhere (a global collector's host
  // included).
  EXPECT_EQ(m.find("=\"\""), std::string::npos) << m;
  ExpectPromtoolAcceptsMetrics(dir, m);

  nlohmann::json status = nlohmann::json::parse(HttpGet(base + "/api/v1/status").body);
  const nlohmann::json* kube = KubeCollector(status);
  ASSERT_NE(kube, nullptr) << status.dump();
  EXPECT_EQ((*kube)["details"]["nodes"][0]["talos_version"], "v1.12.4") << kube->dump();
  EXPECT_EQ((*kube)["host"], "joelclaw") << kube->dump();

  // The API server goes away: the collector fails with the reason, the
  // exporter keeps serving.
  const std::string url = api->Url("");
  api.reset();
  ASSERT_TRUE(WaitFor(
      [&] {
        m = HttpGet(base + "/metrics").body;
        return Value(m, "joelclaw_collector_success{collector=\"kubernetes\",host=\"joelclaw\"}") ==
               0;
      },
      std::chrono::seconds(10)))
      << m;
  status = nlohmann::json::parse(HttpGet(base + "/api/v1/status").body);
  kube = KubeCollector(status);
  ASSERT_NE(kube, nullptr);
  EXPECT_NE(kube->dump().find("the Kubernetes API at " + url + " is unreachable"),
            std::string::npos)
      << kube->dump();
  EXPECT_TRUE(exporter.process().Running());
}

}  // namespace e2e_kubernetes_test
}  // namespace joelclaw::testing
