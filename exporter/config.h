#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/bridge/bridge_config.h"
#include "exporter/collector.h"
#include "exporter/duration.h"
#include "exporter/probe.h"
#include "exporter/status.h"

namespace joelclaw {

/// One configured network check, ready to run.
struct CheckSpec {
  std::string host;
  std::string name;   ///< Unique per host; the `target` label.
  std::string kind;   ///< "http", "tcp", … (the `kind` label).
  Duration interval{0};
  Duration timeout{0};
  std::shared_ptr<Probe> probe;
  std::string description;  ///< One line for the status board ("TLS proxy"); "" if none.
  /// The launchd job label or systemd unit of the same host this check
  /// belongs to (`service:`, as the collector names it), or "".
  std::string service;
  /// Whether the check says the host itself is reachable (`reachability:`;
  /// default true for ssh checks, false for the others).
  bool reachability = false;
};

/// One configured collector instance, ready to run.
struct CollectorSpec {
  std::string host;   ///< "" for global collectors.
  std::string name;   ///< Collector kind name (the `collector` label).
  Duration interval{0};
  Duration timeout{0};
  std::shared_ptr<Collector> collector;
  /// For a global collector: the `host` label of the framework's series
  /// about it (joelclaw_collector_success, …), the machine or cluster it
  /// names (Collector::HostLabel()); "" = no label. A host collector's
  /// label is `host`.
  std::string global_host_label = "";

  /// The `host` label of the framework's series about this collector.
  const std::string& HostLabel() const { return host.empty() ? global_host_label : host; }
};

/// A loaded, validated configuration. Immutable once built; shared between
/// the scheduler and the HTTP handlers through shared_ptr<const Config>.
struct Config {
  std::string source;                 ///< File path, or "<embedded>".
  Duration default_interval{30000};
  Duration default_timeout{5000};
  std::vector<std::string> hosts;     ///< In config order.
  /// `description:` of each host that has one ("Mac Mini M4 Pro, 64 GB").
  std::map<std::string, std::string> host_descriptions;
  std::vector<CheckSpec> checks;
  std::vector<CollectorSpec> collectors;
  /// `status.urls`: more exporters for `joelclaw_exporter status` to ask.
  std::vector<std::string> status_urls;
  std::optional<BridgeConfig> bridge;  ///< The `bridge:` section, if any.
};

/// Parses YAML text. `filename` is used in error messages ("file:line: …").
/// Never throws. Pure apart from the bridge's secret files (token_file,
/// event_key_file), which are read here so that a missing one fails the
/// load; probe and collector parsers read no files.
Result<std::shared_ptr<const Config>> ParseConfig(std::string_view yaml,
                                                  const std::string& filename);

/// Reads and parses a config file.
Result<std::shared_ptr<const Config>> LoadConfigFile(const std::string& path);

/// The embedded default: host resources and the root filesystem of the
/// machine the exporter runs on, under the host name `hostname`.
std::string EmbeddedDefaultConfig(const std::string& hostname);

/// The name of the machine the exporter runs on, for the `host` label of
/// what global collectors (gpu, tailscale) see there: $JOELCLAW_HOST when
/// set and not empty (a Kubernetes DaemonSet passes spec.nodeName through
/// the downward API), else the short host name ("panda"), or "localhost".
std::string LocalHostName();

}  // namespace joelclaw
