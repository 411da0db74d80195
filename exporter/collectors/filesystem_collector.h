#pragma once

#include <memory>
#include <string>

#include "exporter/collector.h"
#include "exporter/config_node.h"

namespace joelclaw {

/// `filesystems: ["/", "/data"]`: size and available bytes of local mount
/// points through statvfs(3).
Result<std::unique_ptr<Collector>> ParseFilesystemCollector(const YAML::Node& node,
                                                            const ConfigContext& ctx,
                                                            const std::string& host);

}  // namespace joelclaw
