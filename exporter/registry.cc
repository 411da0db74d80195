#include "exporter/registry.h"

#include "exporter/collectors/filesystem_collector.h"
#include "exporter/collectors/gpu_collector.h"
#include "exporter/collectors/host_collector.h"
#include "exporter/collectors/kubernetes_collector.h"
#include "exporter/collectors/launchd_collector.h"
#include "exporter/collectors/remote_filesystem_collector.h"
#include "exporter/collectors/systemd_collector.h"
#include "exporter/collectors/tailscale_collector.h"
#include "exporter/probes/http_probe.h"
#include "exporter/probes/redis_probe.h"
#include "exporter/probes/ssh_probe.h"
#include "exporter/probes/tcp_probe.h"
#include "exporter/probes/tls_probe.h"

namespace joelclaw {
namespace {

// Adding a probe or collector: its file, its row here, its fixture, its test.
constexpr ProbeKind kProbeKinds[] = {
    {"http", ParseHttpProbe},
    {"tcp", ParseTcpProbe},
    {"ssh", ParseSshProbe},
    {"redis", ParseRedisProbe},
    {"tls", ParseTlsProbe},
};

constexpr CollectorKind kCollectorKinds[] = {
    {"host", CollectorScope::kHost, "resources", ParseHostCollector},
    {"filesystem", CollectorScope::kHost, "filesystems", ParseFilesystemCollector},
    {"launchd", CollectorScope::kHost, "launchd", ParseLaunchdCollector},
    {"remote_filesystem", CollectorScope::kHost, "remote_filesystems",
     ParseRemoteFilesystemCollector},
    {"systemd", CollectorScope::kHost, "systemd", ParseSystemdCollector},
    {"tailscale", CollectorScope::kGlobal, "tailscale", ParseTailscaleCollector},
    {"kubernetes", CollectorScope::kGlobal, "kubernetes", ParseKubernetesCollector},
    {"gpu", CollectorScope::kGlobal, "gpu", ParseGpuCollector},
};

}  // namespace

std::span<const ProbeKind> ProbeKinds() { return kProbeKinds; }
std::span<const CollectorKind> CollectorKinds() { return kCollectorKinds; }

}  // namespace joelclaw
