#include "exporter/collectors/kubernetes_collector.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include "exporter/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_kube_api.h"
#include "tests/support/loopback_http_server.h"
#include "tests/support/real_servers.h"
#include "tests/support/test_util.h"

namespace joelclaw {
namespace kubernetes_collector_test {

using testing::ClosedPort;
using testing::LoopbackHttpServer;
using testing::MakeTestPki;
using testing::ReadFileOrDie;
using testing::TempDir;
using testing::TestData;
using testing::TestPki;
using testing::WriteFileOrDie;
using ::testing::HasSubstr;

std::string Fixture(const std::string& name) {
  return ReadFileOrDie(TestData("kubernetes/" + name));
}

// ---- Pure parsers on fixtures ----------------------------------------------

TEST(KubeParseTest, TalosVersionFromOsImage) {
  EXPECT_EQ(TalosVersion("Talos (v1.12.4)"), "v1.12.4");
  EXPECT_EQ(TalosVersion("Talos (v1.13.0-alpha.1-13-gfdd80a12-dirty)"),
            "v1.13.0-alpha.1-13-gfdd80a12-dirty");
  EXPECT_EQ(TalosVersion("Debian GNU/Linux 12 (bookworm)"), "");
  EXPECT_EQ(TalosVersion("Talos"), "");
  EXPECT_EQ(TalosVersion(""), "");
}

TEST(KubeParseTest, NodeList) {
  Result<std::vector<KubeNode>> nodes = ParseKubeNodeList(Fixture("nodes.json"));
  ASSERT_TRUE(nodes.ok()) << nodes.status().message();
  ASSERT_EQ(nodes->size(), 2u);
  const KubeNode& cp = (*nodes)[0];
  EXPECT_EQ(cp.name, "joelclaw-cp-1");
  EXPECT_TRUE(cp.ready);
  EXPECT_FALSE(cp.unschedulable);
  EXPECT_EQ(cp.os_image, "Talos (v1.12.4)");
  EXPECT_EQ(cp.talos_version, "v1.12.4");
  EXPECT_EQ(cp.kubelet_version, "v1.35.0");
  ASSERT_EQ(cp.conditions.size(), 4u);
  EXPECT_EQ(cp.conditions[0], (std::pair<std::string, std::string>{"MemoryPressure", "False"}));
  const KubeNode& worker = (*nodes)[1];
  EXPECT_EQ(worker.name, "joelclaw-worker-1");
  EXPECT_FALSE(worker.ready);  // Ready is Unknown: the kubelet stopped posting.
  EXPECT_TRUE(worker.unschedulable);
  EXPECT_EQ(worker.talos_version, "");
  EXPECT_EQ(worker.conditions[3], (std::pair<std::string, std::string>{"Ready", "Unknown"}));
}

TEST(KubeParseTest, PodList) {
  Result<std::vector<KubePod>> pods = ParseKubePodList(Fixture("pods-joelclaw.json"));
  ASSERT_TRUE(pods.ok()) << pods.status().message();
  ASSERT_EQ(pods->size(), 6u);
  const KubePod& inngest = (*pods)[0];
  EXPECT_EQ(inngest.namespace_name, "joelclaw");
  EXPECT_EQ(inngest.name, "inngest-0");
  EXPECT_TRUE(inngest.ready);
  EXPECT_EQ(inngest.node_name, "joelclaw-cp-1");
  EXPECT_EQ((*pods)[5].node_name, "");  // gpu-embedder: not scheduled.
  ASSERT_EQ(inngest.containers.size(), 1u);
  EXPECT_EQ(inngest.containers[0].state, "running");

  const KubePod& qdrant = (*pods)[1];
  EXPECT_FALSE(qdrant.ready);
  EXPECT_EQ(qdrant.phase, "Running");
  ASSERT_EQ(qdrant.containers.size(), 1u);
  EXPECT_EQ(qdrant.containers[0].restarts, 14);
  EXPECT_EQ(qdrant.containers[0].state, "waiting");
  EXPECT_EQ(qdrant.containers[0].waiting_reason, "CrashLoopBackOff");

  const KubePod& worker = (*pods)[3];
  EXPECT_EQ(worker.phase, "Pending");
  ASSERT_EQ(worker.containers.size(), 3u);  // Init container first.
  EXPECT_EQ(worker.containers[0].name, "migrate");
  EXPECT_TRUE(worker.containers[0].init);
  EXPECT_EQ(worker.containers[0].state, "terminated");
  EXPECT_EQ(worker.containers[0].restarts, 1);
  EXPECT_EQ(worker.containers[1].waiting_reason, "ImagePullBackOff");
  EXPECT_EQ(worker.containers[2].waiting_reason, "ContainerCreating");

  EXPECT_EQ((*pods)[4].phase, "Succeeded");
  const KubePod& unscheduled = (*pods)[5];
  EXPECT_EQ(unscheduled.phase, "Pending");
  EXPECT_FALSE(unscheduled.ready);
  EXPECT_TRUE(unscheduled.containers.empty());  // No containerStatuses before scheduling.
}

TEST(KubeParseTest, WorkloadLists) {
  Result<std::vector<KubeWorkload>> sts =
      ParseKubeWorkloadList(Fixture("statefulsets-joelclaw.json"), "StatefulSet");
  ASSERT_TRUE(sts.ok()) << sts.status().message();
  ASSERT_EQ(sts->size(), 3u);
  EXPECT_EQ((*sts)[0].name, "inngest");
  EXPECT_EQ((*sts)[0].kind, "StatefulSet");
  EXPECT_EQ((*sts)[0].desired, 1);
  EXPECT_EQ((*sts)[0].ready, 1);
  // qdrant's status has no readyReplicas at all while none is ready.
  EXPECT_EQ((*sts)[1].name, "qdrant");
  EXPECT_EQ((*sts)[1].desired, 1);
  EXPECT_EQ((*sts)[1].ready, 0);

  Result<std::vector<KubeWorkload>> deps =
      ParseKubeWorkloadList(Fixture("deployments-joelclaw.json"), "Deployment");
  ASSERT_TRUE(deps.ok()) << deps.status().message();
  ASSERT_EQ(deps->size(), 3u);
  EXPECT_EQ((*deps)[0].name, "system-bus-worker");
  EXPECT_EQ((*deps)[0].ready, 0);
  EXPECT_EQ((*deps)[1].desired, 2);
  EXPECT_EQ((*deps)[1].ready, 2);
  EXPECT_EQ((*deps)[2].name, "docs-preview");  // Scaled to zero.
  EXPECT_EQ((*deps)[2].desired, 0);
}

TEST(KubeParseTest, RejectsWhatIsNotTheExpectedList) {
  auto nodes = ParseKubeNodeList("<html><body>502 Bad Gateway</body></html>");
  ASSERT_FALSE(nodes.ok());
  EXPECT_EQ(nodes.status().message(),
            "the answer is not valid JSON: \"<html><body>502 Bad Gateway</body></html>\"");
  nodes = ParseKubeNodeList(Fixture("pods-joelclaw.json"));
  ASSERT_FALSE(nodes.ok());
  EXPECT_EQ(nodes.status().message(), "expected a NodeList, got a PodList");
  nodes = ParseKubeNodeList(R"({"paths": ["/api", "/apis"]})");
  ASSERT_FALSE(nodes.ok());
  EXPECT_EQ(nodes.status().message(), "the answer has no items; not a Kubernetes NodeList");
  nodes = ParseKubeNodeList(R"({"kind": "NodeList", "items": {}})");
  ASSERT_FALSE(nodes.ok());
  EXPECT_EQ(nodes.status().message(), "items is not a list");
  // Empty lists: "items": [] and, from some servers, null.
  EXPECT_TRUE(ParseKubeNodeList(R"({"kind":"NodeList","items":null})").ok());
  EXPECT_TRUE(ParseKubeNodeList(R"({"kind":"NodeList","items":[]})")->empty());

  auto pods = ParseKubePodList(
      R"({"kind":"PodList","items":[{"metadata":{"name":"p","namespace":"joelclaw"},)"
      R"("status":{"containerStatuses":[{"name":"c","restartCount":"3"}]}}]})");
  ASSERT_FALSE(pods.ok());
  EXPECT_EQ(pods.status().message(), "pod joelclaw/p: container c: restartCount is not an integer");
  pods = ParseKubePodList(R"({"kind":"PodList","items":[{"metadata":{}}]})");
  ASSERT_FALSE(pods.ok());
  EXPECT_EQ(pods.status().message(), "pod 0 has no metadata.name");
  pods = ParseKubePodList(
      R"({"kind":"PodList","items":[{"metadata":{"name":"p","namespace":"n"},)"
      R"("spec":{"nodeName":7}}]})");
  ASSERT_FALSE(pods.ok());
  EXPECT_EQ(pods.status().message(), "pod n/p: spec: nodeName is not a string");
  auto sts = ParseKubeWorkloadList(
      R"({"kind":"StatefulSetList","items":[{"metadata":{"name":"s"},"spec":{"replicas":1.5}}]})",
      "StatefulSet");
  ASSERT_FALSE(sts.ok());
  EXPECT_EQ(sts.status().message(), "StatefulSet /s: spec: replicas is not an integer");
}

// ---- kubeconfig ------------------------------------------------------------

TEST(KubeconfigTest, TalosGeneratedKubeconfig) {
  Result<KubeClientConfig> c = ParseKubeconfig(Fixture("kubeconfig-talos.yaml"),
                                               "/root/.kube/config", "/root/.kube", "");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->context, "admin@joelclaw");
  EXPECT_EQ(c->server, "https://192.168.64.5:6443");
  EXPECT_EQ(c->ca_pem.rfind("-----BEGIN CERTIFICATE-----\n", 0), 0u);
  EXPECT_EQ(c->cert_pem.rfind("-----BEGIN CERTIFICATE-----\n", 0), 0u);
  EXPECT_EQ(c->key_pem.rfind("-----BEGIN EC PRIVATE KEY-----\n", 0), 0u);
  EXPECT_EQ(c->ca_file, "");
  EXPECT_EQ(c->token, "");
  EXPECT_EQ(c->token_file, "");
  EXPECT_FALSE(c->insecure_skip_tls_verify);
}

TEST(KubeconfigTest, ContextsFilesAndTokens) {
  const std::string text = Fixture("kubeconfig-multi.yaml");
  Result<KubeClientConfig> lab = ParseKubeconfig(text, "/home/j/kc", "/home/j", "");
  ASSERT_TRUE(lab.ok()) << lab.status().message();
  EXPECT_EQ(lab->context, "lab");  // current-context
  EXPECT_EQ(lab->server, "https://10.0.0.9:6443");
  EXPECT_TRUE(lab->insecure_skip_tls_verify);
  EXPECT_EQ(lab->token, "eyJhbGciOiJSUzI1NiIsImtpZCI6ImxhYiJ9.payload.signature");

  Result<KubeClientConfig> panda = ParseKubeconfig(text, "/home/j/kc", "/home/j", "panda-exporter");
  ASSERT_TRUE(panda.ok()) << panda.status().message();
  EXPECT_EQ(panda->server, "https://panda.example.ts.net:6443");  // Trailing slash dropped.
  EXPECT_EQ(panda->tls_server_name, "kubernetes.default.svc");
  EXPECT_EQ(panda->ca_file, "/home/j/pki/ca.crt");  // Relative to the kubeconfig.
  EXPECT_EQ(panda->cert_file, "/etc/joelclaw/exporter.crt");
  EXPECT_EQ(panda->key_file, "/home/j/pki/exporter.key");
  EXPECT_EQ(panda->token_file, "/home/j/tokens/exporter");

  const std::map<std::string, std::string> errors = {
      {"plugin",
       "kubeconfig /home/j/kc: user 'gke-style' gets its credentials from an exec plugin, which "
       "the exporter does not run; give it a token, tokenFile or client certificate"},
      {"dangling",
       "kubeconfig /home/j/kc: cluster 'nowhere' of context 'dangling' is not defined"},
      {"missing", "kubeconfig /home/j/kc: context 'missing' is not defined"},
  };
  for (const auto& [context, message] : errors) {
    Result<KubeClientConfig> c = ParseKubeconfig(text, "/home/j/kc", "/home/j", context);
    ASSERT_FALSE(c.ok()) << context;
    EXPECT_EQ(c.status().message(), message);
  }
}

TEST(KubeconfigTest, BrokenKubeconfigsGetOneSentence) {
  auto parse = [](const std::string& yaml) {
    return ParseKubeconfig(yaml, "/k", "/", "").status().message();
  };
  EXPECT_EQ(parse("clusters: [\n"), "kubeconfig /k is not valid YAML (line 2: end of sequence flow not found)");
  EXPECT_EQ(parse("just text"), "kubeconfig /k is not a kubeconfig (no clusters, users, contexts)");
  EXPECT_EQ(parse("apiVersion: v1\nkind: Config\n"),
            "kubeconfig /k has no current-context; set kubernetes.context in the config");
  EXPECT_EQ(parse("current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
                  "clusters: [{name: c, cluster: {server: 'https://h:6443', "
                  "certificate-authority-data: 'not base64!'}}]\n"),
            "kubeconfig /k: cluster 'c' certificate-authority-data is not valid base64");
  EXPECT_EQ(parse("current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
                  "clusters: [{name: c, cluster: {server: 'https://h:6443'}}]\n"
                  "users: [{name: u, user: {client-certificate: /c.pem}}]\n"),
            "kubeconfig /k: user 'u' has a client certificate but no key");
  EXPECT_EQ(parse("current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
                  "clusters: [{name: c, cluster: {server: 'h:6443'}}]\n"),
            "kubeconfig /k: cluster 'c': server 'h:6443' is not an https:// (or http://) URL");
}

TEST(KubeconfigTest, InCluster) {
  Result<KubeClientConfig> c = InClusterKubeConfig("10.96.0.1", "443", "/sa");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->server, "https://10.96.0.1:443");
  EXPECT_EQ(c->ca_file, "/sa/ca.crt");
  EXPECT_EQ(c->token_file, "/sa/token");
  EXPECT_EQ(InClusterKubeConfig("fd00:10:96::1", "443", "/sa")->server, "https://[fd00:10:96::1]:443");
  EXPECT_THAT(InClusterKubeConfig("", "443", "/sa").status().message(),
              HasSubstr("not running in a Kubernetes pod"));
}

// ---- Against a fake API server on loopback, over TLS -----------------------

constexpr char kToken[] = "s3cr3t-exporter-token";

class KubeApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<TestPki> pki = MakeTestPki(dir_);
    ASSERT_TRUE(pki.ok()) << pki.status().message();
    pki_ = *pki;
    server_ = testing::StartFakeKubeApi(pki_, kToken);
    ASSERT_TRUE(server_->ok());
  }

  // A kubeconfig with a token user and the CA as a file, like
  // `kubectl config set-credentials --token` writes.
  std::string TokenKubeconfig(const std::string& server, const std::string& token,
                              const std::string& ca_path) {
    const std::string path = dir_.File("kubeconfig-token");
    WriteFileOrDie(path, "apiVersion: v1\nkind: Config\ncurrent-context: exporter\n"
                         "clusters:\n- name: joelclaw\n  cluster:\n    server: " + server +
                             "\n    certificate-authority: " + ca_path +
                             "\ncontexts:\n- name: exporter\n  context: {cluster: joelclaw, user: "
                             "exporter}\nusers:\n- name: exporter\n  user:\n    token: " + token +
                             "\n");
    return path;
  }

  Status Collect(KubernetesOptions opts, CollectOutput* out,
                 std::chrono::milliseconds timeout = std::chrono::seconds(5),
                 const std::atomic<bool>* cancel = nullptr) {
    if (opts.namespaces.empty()) opts.namespaces = {"joelclaw"};
    std::unique_ptr<Collector> c = NewKubernetesCollector(std::move(opts));
    CollectContext ctx;
    ctx.deadline = std::chrono::steady_clock::now() + timeout;
    ctx.cancel = cancel;
    ctx.env = Env::Default();
    return c->Collect(ctx, out);
  }

  KubernetesOptions WithKubeconfig(const std::string& path) {
    KubernetesOptions o;
    o.kubeconfig = path;
    return o;
  }

  double Value(const CollectOutput& out, const std::string& name, const Labels& labels) {
    double v = -1;
    EXPECT_TRUE(out.metrics.Find(name, labels, &v)) << name;
    return v;
  }

  TempDir dir_;
  TestPki pki_;
  std::unique_ptr<LoopbackHttpServer> server_;
};

TEST_F(KubeApiTest, BearerTokenKubeconfig) {
  CollectOutput out;
  Status s = Collect(WithKubeconfig(TokenKubeconfig(server_->Url(""), kToken, pki_.ca_cert_path)),
                     &out);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(server_->LastAuthorization("/api/v1/nodes"), std::string("Bearer ") + kToken);

  EXPECT_EQ(Value(out, "joelclaw_kube_node_ready",
                  {{"host", "joelclaw-cp-1"}, {"node", "joelclaw-cp-1"}}),
            1);
  EXPECT_EQ(Value(out, "joelclaw_kube_node_ready",
                  {{"host", "joelclaw-worker-1"}, {"node", "joelclaw-worker-1"}}),
            0);
  EXPECT_EQ(Value(out, "joelclaw_kube_node_info",
                  {{"host", "joelclaw-cp-1"},
                   {"node", "joelclaw-cp-1"},
                   {"os_image", "Talos (v1.12.4)"},
                   {"kubelet_version", "v1.35.0"},
                   {"talos_version", "v1.12.4"}}),
            1);
  EXPECT_EQ(Value(out, "joelclaw_kube_node_info",
                  {{"host", "joelclaw-worker-1"},
                   {"node", "joelclaw-worker-1"},
                   {"os_image", "Debian GNU/Linux 12 (bookworm)"},
                   {"kubelet_version", "v1.34.2"},
                   {"talos_version", ""}}),
            1);
  for (const auto& [status, want] : {std::pair<const char*, double>{"true", 0}, {"false", 0},
                                     {"unknown", 1}}) {
    EXPECT_EQ(Value(out, "joelclaw_kube_node_condition",
                    {{"host", "joelclaw-worker-1"},
                     {"node", "joelclaw-worker-1"},
                     {"condition", "Ready"},
                     {"status", status}}),
              want)
        << status;
  }
  EXPECT_EQ(Value(out, "joelclaw_kube_node_unschedulable",
                  {{"host", "joelclaw-worker-1"}, {"node", "joelclaw-worker-1"}}),
            1);

  EXPECT_EQ(Value(out, "joelclaw_kube_pod_ready",
                  {{"host", "joelclaw-cp-1"}, {"namespace", "joelclaw"}, {"pod", "inngest-0"}}),
            1);
  EXPECT_EQ(Value(out, "joelclaw_kube_pod_ready",
                  {{"host", "joelclaw-cp-1"}, {"namespace", "joelclaw"}, {"pod", "qdrant-0"}}),
            0);
  const Labels qdrant = {{"host", "joelclaw-cp-1"},
                         {"namespace", "joelclaw"},
                         {"pod", "qdrant-0"},
                         {"container", "qdrant"}};
  EXPECT_EQ(Value(out, "joelclaw_kube_container_restarts_total", qdrant), 14);
  // Not scheduled on a node: the pod is the cluster's.
  EXPECT_EQ(Value(out, "joelclaw_kube_pod_ready",
                  {{"host", "cluster"},
                   {"namespace", "joelclaw"},
                   {"pod", "gpu-embedder-5b6c7d8e9f-h8j2m"}}),
            0);
  for (std::string_view reason : kKubeWaitingReasons) {
    Labels l = qdrant;
    l.emplace_back("reason", std::string(reason));
    EXPECT_EQ(Value(out, "joelclaw_kube_container_waiting", l), reason == "CrashLoopBackOff" ? 1 : 0)
        << reason;
  }
  Labels worker = {{"host", "joelclaw-cp-1"},
                   {"namespace", "joelclaw"},
                   {"pod", "system-bus-worker-7d9f8c6b5-x2k4p"},
                   {"container", "worker"},
                   {"reason", "ImagePullBackOff"}};
  EXPECT_EQ(Value(out, "joelclaw_kube_container_waiting", worker), 1);
  Labels init = {{"host", "joelclaw-cp-1"},
                 {"namespace", "joelclaw"},
                 {"pod", "system-bus-worker-7d9f8c6b5-x2k4p"},
                 {"container", "migrate"}};
  EXPECT_EQ(Value(out, "joelclaw_kube_container_restarts_total", init), 1);

  auto replicas = [&](const char* kind, const char* name, const char* state) {
    return Value(out, "joelclaw_kube_workload_replicas",
                 {{"host", "cluster"},
                  {"namespace", "joelclaw"},
                  {"kind", kind},
                  {"name", name},
                  {"state", state}});
  };
  EXPECT_EQ(replicas("StatefulSet", "qdrant", "desired"), 1);
  EXPECT_EQ(replicas("StatefulSet", "qdrant", "ready"), 0);
  EXPECT_EQ(replicas("StatefulSet", "redis", "ready"), 1);
  EXPECT_EQ(replicas("Deployment", "docs-site", "ready"), 2);
  EXPECT_EQ(replicas("Deployment", "system-bus-worker", "ready"), 0);

  // The status board's view.
  const nlohmann::json& d = out.details;
  EXPECT_EQ(d["server"], server_->Url(""));
  EXPECT_EQ(d["context"], "exporter");
  ASSERT_EQ(d["nodes"].size(), 2u);
  EXPECT_EQ(d["nodes"][0]["talos_version"], "v1.12.4");
  EXPECT_EQ(d["nodes"][1]["ready"], false);
  EXPECT_EQ(d["nodes"][1]["problems"],
            nlohmann::json({"MemoryPressure=Unknown", "DiskPressure=Unknown", "PIDPressure=Unknown",
                            "Ready=Unknown"}));
  EXPECT_EQ(d["pods_total"], 6);
  std::vector<std::string> not_ready;
  for (const auto& p : d["pods_not_ready"]) not_ready.push_back(p["pod"]);
  // The finished Job pod is not listed.
  EXPECT_EQ(not_ready, (std::vector<std::string>{"qdrant-0", "system-bus-worker-7d9f8c6b5-x2k4p",
                                                 "gpu-embedder-5b6c7d8e9f-h8j2m"}));
  EXPECT_EQ(d["pods_not_ready"][0]["waiting"][0]["reason"], "CrashLoopBackOff");
  EXPECT_EQ(d["pods_not_ready"][0]["restarts"], 14);
  ASSERT_EQ(d["workloads"].size(), 6u);
  EXPECT_EQ(d["workloads"][4],
            nlohmann::json({{"namespace", "joelclaw"}, {"kind", "StatefulSet"}, {"name", "qdrant"},
                            {"desired", 1}, {"ready", 0}}));
}

TEST_F(KubeApiTest, TalosClientCertificateKubeconfig) {
  CollectOutput out;
  Status s = Collect(WithKubeconfig(testing::WriteTalosKubeconfig(dir_, server_->Url(""), pki_)), &out);
  ASSERT_TRUE(s.ok()) << s.message();
  // Authenticated by the certificate alone, like a Talos admin kubeconfig.
  EXPECT_EQ(server_->LastClientCertName("/api/v1/nodes"), "admin");
  EXPECT_EQ(server_->LastAuthorization("/api/v1/nodes"), "");
  EXPECT_EQ(out.details["context"], "admin@joelclaw");
  EXPECT_EQ(Value(out, "joelclaw_kube_node_ready",
                  {{"host", "joelclaw-cp-1"}, {"node", "joelclaw-cp-1"}}),
            1);
}

TEST_F(KubeApiTest, WrongTokenIsUnauthorized) {
  CollectOutput out;
  Status s = Collect(
      WithKubeconfig(TokenKubeconfig(server_->Url(""), "stale-token", pki_.ca_cert_path)), &out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "the Kubernetes API at " + server_->Url("") +
                             " rejected the credentials of context 'exporter' (HTTP 401 "
                             "Unauthorized): the token or client certificate is wrong, expired or "
                             "missing");
}

TEST_F(KubeApiTest, ForbiddenNamesTheRequestAndRbacMessage) {
  server_->SetRoute(
      "/api/v1/namespaces/joelclaw/pods", 403,
      R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \"system:serviceaccount:monitoring:joelclaw-exporter\" cannot list resource \"pods\" in API group \"\" in the namespace \"joelclaw\"","reason":"Forbidden","details":{"kind":"pods"},"code":403})");
  CollectOutput out;
  Status s = Collect(
      WithKubeconfig(TokenKubeconfig(server_->Url(""), kToken, pki_.ca_cert_path)), &out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "the Kubernetes API at " + server_->Url("") +
                " denied GET /api/v1/namespaces/joelclaw/pods (HTTP 403 Forbidden: pods is "
                "forbidden: User \"system:serviceaccount:monitoring:joelclaw-exporter\" cannot list "
                "resource \"pods\" in API group \"\" in the namespace \"joelclaw\"); the exporter's "
                "user needs list access to it");
  // The nodes came before the failure: a partial result the scheduler exports.
  EXPECT_EQ(Value(out, "joelclaw_kube_node_ready",
                  {{"host", "joelclaw-cp-1"}, {"node", "joelclaw-cp-1"}}),
            1);
}

TEST_F(KubeApiTest, UnreachableServer) {
  const std::string url = "https://127.0.0.1:" + std::to_string(ClosedPort());
  CollectOutput out;
  Status s = Collect(WithKubeconfig(TokenKubeconfig(url, kToken, pki_.ca_cert_path)), &out);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("the Kubernetes API at " + url + " is unreachable ("));
}

TEST_F(KubeApiTest, UntrustedServerCertificateIsATlsFailure) {
  TempDir other_dir;
  Result<TestPki> other = MakeTestPki(other_dir);
  ASSERT_TRUE(other.ok());
  CollectOutput out;
  Status s = Collect(
      WithKubeconfig(TokenKubeconfig(server_->Url(""), kToken, other->ca_cert_path)), &out);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("TLS with the Kubernetes API at " + server_->Url("") +
                                     " failed ("));
  EXPECT_THAT(s.message(), HasSubstr("check the cluster's certificate-authority"));
  EXPECT_EQ(server_->RequestCount("/api/v1/nodes"), 0);
}

TEST_F(KubeApiTest, GarbageJsonIsAClearFailure) {
  server_->SetRoute("/api/v1/nodes", 200, "<html>default backend - 404</html>");
  CollectOutput out;
  Status s = Collect(
      WithKubeconfig(TokenKubeconfig(server_->Url(""), kToken, pki_.ca_cert_path)), &out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "GET /api/v1/nodes: the answer is not valid JSON: \"<html>default backend - "
            "404</html>\"");
}

TEST_F(KubeApiTest, HungServerEndsAtTheDeadline) {
  // The server reads the request and never answers (any path under /hang).
  CollectOutput out;
  Status s = Collect(
      WithKubeconfig(TokenKubeconfig(server_->Url("/hang"), kToken, pki_.ca_cert_path)), &out,
      std::chrono::milliseconds(700));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(" did not answer GET /api/v1/nodes before the timeout ("));
  EXPECT_EQ(server_->RequestCount("/hang/api/v1/nodes"), 1);
}

TEST_F(KubeApiTest, CancelEndsAHungRequest) {
  std::atomic<bool> cancel{true};
  CollectOutput out;
  Status s = Collect(
      WithKubeconfig(TokenKubeconfig(server_->Url("/hang"), kToken, pki_.ca_cert_path)), &out,
      std::chrono::seconds(30), &cancel);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "cancelled");
}

TEST_F(KubeApiTest, HugeAnswerIsCappedNotDownloaded) {
  KubernetesOptions o =
      WithKubeconfig(TokenKubeconfig(server_->Url("/huge"), kToken, pki_.ca_cert_path));
  o.max_body_bytes = 64 << 10;
  CollectOutput out;
  Status s = Collect(o, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "the answer of the Kubernetes API at " + server_->Url("/huge") +
                             " to GET /api/v1/nodes is larger than 65536 bytes (max_body_bytes)");
  EXPECT_LT(server_->StreamedBytes(), size_t{100} << 20);
}

TEST_F(KubeApiTest, MissingOrBrokenKubeconfig) {
  CollectOutput out;
  Status s = Collect(WithKubeconfig(dir_.File("nope")), &out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "kubeconfig: cannot read " + dir_.File("nope") +
                             ": No such file or directory");
  WriteFileOrDie(dir_.File("broken"), "apiVersion: v1\nkind: Config\n");
  s = Collect(WithKubeconfig(dir_.File("broken")), &out);
  EXPECT_EQ(s.message(), "kubeconfig " + dir_.File("broken") +
                             " has no current-context; set kubernetes.context in the config");
}

TEST_F(KubeApiTest, InClusterServiceAccountWithRotatedToken) {
  const std::string sa = dir_.File("serviceaccount");
  ASSERT_EQ(testing::RunCommand({"mkdir", "-p", sa}).exit_code, 0);
  WriteFileOrDie(sa + "/ca.crt", ReadFileOrDie(pki_.ca_cert_path));
  WriteFileOrDie(sa + "/token", std::string(kToken) + "\n");
  setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", std::to_string(server_->port()).c_str(), 1);
  KubernetesOptions o;
  o.in_cluster = true;
  o.service_account_dir = sa;
  CollectOutput out;
  Status s = Collect(o, &out);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(out.details["context"], "in-cluster");
  // The kubelet rotates projected tokens; every run reads the file again.
  server_->RequireAuth("rotated-token");
  WriteFileOrDie(sa + "/token", "rotated-token");
  CollectOutput again;
  s = Collect(o, &again);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(server_->LastAuthorization("/api/v1/nodes"), "Bearer rotated-token");
  unsetenv("KUBERNETES_SERVICE_HOST");
  unsetenv("KUBERNETES_SERVICE_PORT");
  s = Collect(o, &again);
  EXPECT_THAT(s.message(), HasSubstr("the exporter is not running in a Kubernetes pod"));
}

// ---- Config ----------------------------------------------------------------

TEST(KubeConfigSectionTest, ParsesIntoOneGlobalCollector) {
  Result<std::shared_ptr<const Config>> cfg = ParseConfig(
      "kubernetes:\n  kubeconfig: ~/.kube/config\n  context: admin@joelclaw\n"
      "  namespaces: [joelclaw, monitoring]\n  max_body_bytes: 1048576\n",
      "c.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  ASSERT_EQ((*cfg)->collectors.size(), 1u);
  EXPECT_EQ((*cfg)->collectors[0].name, "kubernetes");
  EXPECT_EQ((*cfg)->collectors[0].host, "");
  EXPECT_EQ((*cfg)->collectors[0].interval, Duration(30000));  // The built-in defaults.
  EXPECT_EQ((*cfg)->collectors[0].timeout, Duration(5000));
  cfg = ParseConfig("kubernetes: {in_cluster: true, namespaces: [joelclaw], interval: 1m, "
                    "timeout: 10s}\n",
                    "c.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ((*cfg)->collectors[0].interval, Duration(60000));
  EXPECT_EQ((*cfg)->collectors[0].timeout, Duration(10000));
}

}  // namespace kubernetes_collector_test
}  // namespace joelclaw
