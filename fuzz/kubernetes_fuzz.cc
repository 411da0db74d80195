// Fuzzes the Kubernetes API answer parsers (NodeList, PodList, workload
// lists) and the kubeconfig parser the Talos kubeconfig goes through.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "exporter/collectors/kubernetes_client.h"
#include "exporter/collectors/kubernetes_collector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto nodes = joelclaw::ParseKubeNodeList(text);
  auto pods = joelclaw::ParseKubePodList(text);
  auto deployments = joelclaw::ParseKubeWorkloadList(text, "Deployment");
  auto statefulsets = joelclaw::ParseKubeWorkloadList(text, "StatefulSet");
  auto kubeconfig = joelclaw::ParseKubeconfig(text, "fuzz-kubeconfig", "/nonexistent", "");
  (void)nodes;
  (void)pods;
  (void)deployments;
  (void)statefulsets;
  (void)kubeconfig;
  return 0;
}
