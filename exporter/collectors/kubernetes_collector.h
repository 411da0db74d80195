#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporter/collector.h"
#include "exporter/collectors/kubernetes_client.h"
#include "exporter/config_node.h"

namespace joelclaw {

/// One item of GET /api/v1/nodes (a v1 NodeList).
struct KubeNode {
  std::string name;
  bool ready = false;  ///< The Ready condition is "True".
  /// status.conditions in API order: (type, status) with status "True",
  /// "False" or "Unknown".
  std::vector<std::pair<std::string, std::string>> conditions;
  std::string os_image;         ///< status.nodeInfo.osImage, "Talos (v1.12.4)".
  std::string kubelet_version;  ///< status.nodeInfo.kubeletVersion, "v1.35.0".
  std::string talos_version;    ///< From os_image (TalosVersion); "" when not Talos.
  bool unschedulable = false;   ///< spec.unschedulable (cordoned).
};

/// One container (or init container) status of a pod.
struct KubeContainer {
  std::string name;
  bool init = false;     ///< From initContainerStatuses.
  bool ready = false;
  int64_t restarts = 0;  ///< restartCount.
  /// "running", "waiting", "terminated", or "" when the status has no state.
  std::string state;
  std::string waiting_reason;  ///< state.waiting.reason; may be "" while waiting.
};

/// One item of GET /api/v1/namespaces/{ns}/pods (a v1 PodList).
struct KubePod {
  std::string namespace_name;
  std::string name;
  std::string phase;  ///< Pending, Running, Succeeded, Failed, Unknown.
  std::string node_name;  ///< spec.nodeName; "" while unscheduled.
  bool ready = false; ///< The Ready condition is "True".
  std::vector<KubeContainer> containers;  ///< Init containers first.
};

/// One Deployment or StatefulSet.
struct KubeWorkload {
  std::string namespace_name;
  std::string kind;  ///< "Deployment" or "StatefulSet".
  std::string name;
  int64_t desired = 0;  ///< spec.replicas (the API default 1 when absent).
  /// status.readyReplicas; absent (0) in StatefulSet and Deployment status
  /// while no replica is ready, because the API omits zero values.
  int64_t ready = 0;
};

/// Parsers for the JSON the API server sends. Each checks the list `kind`
/// when present ("NodeList", …) so that a non-Kubernetes JSON answer is an
/// error, ignores unknown fields, and errors naming the item on a known
/// field of the wrong type. Never throw. Pure.
Result<std::vector<KubeNode>> ParseKubeNodeList(std::string_view json);
Result<std::vector<KubePod>> ParseKubePodList(std::string_view json);
/// `kind` is "Deployment" or "StatefulSet"; the list is a `kind`List.
Result<std::vector<KubeWorkload>> ParseKubeWorkloadList(std::string_view json,
                                                        std::string_view kind);

/// The Talos release in a node's osImage: "Talos (v1.12.4)" → "v1.12.4";
/// "" for any other OS image ("Debian GNU/Linux 12 (bookworm)"). Pure.
std::string TalosVersion(std::string_view os_image);

/// The container waiting reasons exported as joelclaw_kube_container_waiting
/// states, each 0/1; any other reason counts as "other".
inline constexpr std::string_view kKubeWaitingReasons[] = {
    "CrashLoopBackOff",   "ImagePullBackOff", "ErrImagePull",
    "CreateContainerConfigError", "CreateContainerError", "InvalidImageName",
    "RunContainerError",  "ContainerCreating", "PodInitializing",
    "other"};

/// Where the collector gets its API server and credentials.
struct KubernetesOptions {
  std::string kubeconfig;  ///< Absolute path; "" with in_cluster.
  std::string context;     ///< "" = the kubeconfig's current-context.
  bool in_cluster = false;
  /// In-cluster only: the service account directory (ca.crt, token).
  std::string service_account_dir = kKubeServiceAccountDir;
  std::vector<std::string> namespaces;  ///< Pods and workloads come from these.
  /// The `host` label of cluster-wide series (workloads, unscheduled pods,
  /// the collector's own success): the cluster's name in the network.
  std::string cluster = "cluster";
  size_t max_body_bytes = 16 << 20;     ///< Per API answer.
};

/// The collector itself, for tests that set options the config does not
/// offer (service_account_dir).
std::unique_ptr<Collector> NewKubernetesCollector(KubernetesOptions options);

/// Top-level section (docs/configuration.md):
///   kubernetes:
///     kubeconfig: ~/.kube/config   # or in_cluster: true
///     context: admin@joelclaw      # optional
///     namespaces: [joelclaw]
///     max_body_bytes: 16777216     # optional
///     cluster: joelclaw            # optional; `host` of cluster-wide series, default "cluster"
///     interval: 1m, timeout: 10s   # optional, read by the config loader
/// The kubeconfig is read on every run (not at config load), so a broken
/// one fails the collector with a sentence, not the config. `host` is "".
/// Series carry a `host` label naming a machine: the node for node series,
/// the node a pod is scheduled on for pod and container series, the
/// cluster name for workloads and pods not scheduled yet.
Result<std::unique_ptr<Collector>> ParseKubernetesCollector(const YAML::Node& node,
                                                            const ConfigContext& ctx,
                                                            const std::string& host);

}  // namespace joelclaw
