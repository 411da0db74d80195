#pragma once

#include <memory>

#include "exporter/config_node.h"
#include "exporter/probe.h"

namespace joelclaw {

/// Parses the `tcp:` section of a check (docs/configuration.md).
Result<std::unique_ptr<Probe>> ParseTcpProbe(const YAML::Node& node,
                                              const ConfigContext& ctx);

}  // namespace joelclaw
