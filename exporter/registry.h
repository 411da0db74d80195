#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "exporter/collector.h"
#include "exporter/config_node.h"
#include "exporter/probe.h"

namespace joelclaw {

/// A kind of network check: its config key inside a check ("http", "tcp", …)
/// and the parser that turns that key's value into a ready Probe.
struct ProbeKind {
  std::string_view name;
  Result<std::unique_ptr<Probe>> (*parse)(const YAML::Node& node,
                                          const ConfigContext& ctx);
};

/// Where a collector's config key lives: under a host, or at the top level.
enum class CollectorScope { kHost, kGlobal };

/// A kind of collector. `parse` gets the value of `key`; it returns nullptr
/// when the section disables the collector (e.g. `resources: false`). For
/// host-scoped collectors `host` is the host's name, for global ones "".
struct CollectorKind {
  std::string_view name;  ///< The `collector` label value.
  CollectorScope scope;
  std::string_view key;   ///< Config key.
  Result<std::unique_ptr<Collector>> (*parse)(const YAML::Node& node,
                                              const ConfigContext& ctx,
                                              const std::string& host);
};

/// The one table of probes (registry.cc). Static; thread-safe.
std::span<const ProbeKind> ProbeKinds();
/// The one table of collectors (registry.cc). Static; thread-safe.
std::span<const CollectorKind> CollectorKinds();

}  // namespace joelclaw
