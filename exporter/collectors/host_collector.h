#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "exporter/collector.h"
#include "exporter/config_node.h"

namespace joelclaw {

/// Host resources read from /proc on Linux: memory, load, CPUs, boot time.
struct HostResources {
  double memory_total_bytes = -1;
  double memory_available_bytes = -1;
  double load1 = -1;
  double cpus = -1;
  double boot_timestamp_seconds = -1;
};

/// Parsers (pure; tested on fixtures). Each returns an error naming what is
/// missing or malformed.
Status ParseProcMeminfo(std::string_view text, HostResources* out);
Status ParseProcLoadavg(std::string_view text, HostResources* out);
/// /proc/stat: "btime" and the number of "cpuN" lines.
Status ParseProcStat(std::string_view text, HostResources* out);

/// `resources: true|false`.
Result<std::unique_ptr<Collector>> ParseHostCollector(const YAML::Node& node,
                                                      const ConfigContext& ctx,
                                                      const std::string& host);

}  // namespace joelclaw
