#include "tests/support/fake_kube_api.h"

namespace joelclaw::testing {
namespace {

std::string Base64File(const std::string& path) {
  CommandOutput out = RunCommand({"base64", "-w0", path});
  return out.exit_code == 0 ? out.out : "";
}

}  // namespace

std::unique_ptr<LoopbackHttpServer> StartFakeKubeApi(const TestPki& pki, const std::string& token) {
  auto server = std::make_unique<LoopbackHttpServer>(
      LoopbackTls{pki.leaf_cert_path, pki.leaf_key_path, pki.ca_cert_path});
  auto fixture = [](const std::string& name) {
    return ReadFileOrDie(TestData("kubernetes/" + name));
  };
  server->SetRoute("/api/v1/nodes", 200, fixture("nodes.json"));
  server->SetRoute("/api/v1/namespaces/joelclaw/pods", 200, fixture("pods-joelclaw.json"));
  server->SetRoute("/apis/apps/v1/namespaces/joelclaw/deployments", 200,
                   fixture("deployments-joelclaw.json"));
  server->SetRoute("/apis/apps/v1/namespaces/joelclaw/statefulsets", 200,
                   fixture("statefulsets-joelclaw.json"));
  server->RequireAuth(token);
  return server;
}

std::string WriteTalosKubeconfig(TempDir& dir, const std::string& server, const TestPki& pki) {
  const std::string path = dir.File("kubeconfig-talos");
  WriteFileOrDie(path, "apiVersion: v1\nkind: Config\nclusters:\n- name: joelclaw\n  cluster:\n"
                       "    server: " + server + "\n    certificate-authority-data: " +
                           Base64File(pki.ca_cert_path) +
                           "\nusers:\n- name: admin@joelclaw\n  user:\n"
                           "    client-certificate-data: " + Base64File(pki.client_cert_path) +
                           "\n    client-key-data: " + Base64File(pki.client_key_path) +
                           "\ncontexts:\n- context:\n    cluster: joelclaw\n"
                           "    namespace: default\n    user: admin@joelclaw\n"
                           "  name: admin@joelclaw\ncurrent-context: admin@joelclaw\n");
  return path;
}

}  // namespace joelclaw::testing
