#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exporter/bridge/bridge.h"
#include "exporter/process_stats.h"
#include "exporter/scheduler.h"

namespace joelclaw {

/// Facts about the exporter itself that go into every snapshot.
struct ExporterInfo {
  std::string version;
  std::string revision;
  std::string branch;            ///< Git branch the build came from.
  std::string compiler;          ///< "gcc", "clang" or "appleclang".
  std::string compiler_version;  ///< "12.2.0".
  std::string config_source;   ///< Path or "<embedded>".
  std::vector<std::string> hosts;  ///< Configured hosts, in config order.
  /// `status.urls` of the config: the other exporters of the network, which
  /// `joelclaw_exporter status` asks too. Published with credentials removed.
  std::vector<std::string> peers;
  std::map<std::string, std::string> host_descriptions;  ///< Config `description:` by host.
  bool ready = false;
  bool last_reload_successful = true;
  double last_reload_success_time = 0;
  std::string last_reload_error;
  double start_time = 0;       ///< Unix seconds.
  double now = 0;              ///< Unix seconds the snapshot was built.
  ProcessStats process;        ///< The `process_*` families.
  std::optional<BridgeStats> bridge;  ///< Set when the bridge is configured.
};

/// An immutable rendering of everything the HTTP endpoints serve. Built off
/// the scrape path, shared read-only between request threads.
struct Snapshot {
  std::string metrics_text;   ///< Prometheus text format 0.0.4.
  std::string status_json;    ///< /api/v1/status document (docs/api.md).
  bool ready = false;
};

/// Builds the families for every check, collector and the exporter itself.
/// Pure; thread-safe.
MetricSet BuildMetrics(const std::vector<CheckState>& checks,
                       const std::vector<CollectorState>& collectors,
                       const ExporterInfo& info);

/// Builds the /api/v1/status document. Pure; thread-safe.
nlohmann::json BuildStatusJson(const std::vector<CheckState>& checks,
                               const std::vector<CollectorState>& collectors,
                               const ExporterInfo& info);

/// Both of the above, rendered.
std::shared_ptr<const Snapshot> BuildSnapshot(const std::vector<CheckState>& checks,
                                              const std::vector<CollectorState>& collectors,
                                              const ExporterInfo& info);

}  // namespace joelclaw
