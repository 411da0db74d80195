#pragma once

#include <memory>

#include "exporter/config_node.h"
#include "exporter/probe.h"

namespace joelclaw {

/// Parses the `redis:` section of a check (docs/configuration.md).
Result<std::unique_ptr<Probe>> ParseRedisProbe(const YAML::Node& node,
                                              const ConfigContext& ctx);

}  // namespace joelclaw
