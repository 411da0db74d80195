#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "exporter/collector.h"
#include "exporter/config_node.h"

namespace joelclaw {

/// One row of `launchctl list`: "PID<TAB>Status<TAB>Label".
struct LaunchctlListEntry {
  std::optional<long> pid;          ///< Absent when the column is "-".
  std::optional<long> last_status;  ///< Negative = killed by that signal.
};

/// Parses `launchctl list` output (header line optional). Malformed lines
/// are skipped; output with no job line at all is an error. Pure.
Result<std::map<std::string, LaunchctlListEntry>> ParseLaunchctlList(std::string_view text);

/// The top-level fields of `launchctl print <domain>/<label>` we use.
struct LaunchctlPrint {
  std::string state;                ///< "running", "not running", "spawn scheduled", …
  std::optional<long> pid;
  std::optional<long> runs;         ///< launchd's own launch counter.
  std::optional<long> last_exit_code;  ///< Absent for "(never exited)".
};

/// Parses `launchctl print` output. Only lines at the service's top level
/// count: nested blocks (endpoints, event triggers, …) also contain
/// "state =" lines. "last exit code" reads "78: EX_CONFIG" or
/// "(never exited)". Pure.
Result<LaunchctlPrint> ParseLaunchctlPrint(std::string_view text);

/// Host section:
///   launchd:
///     jobs: [com.joel.system-bus-worker, …]
///     domain: gui/501      # optional; enables `launchctl print` run counts
/// Commands (overridable under `commands:`): launchctl → [launchctl, list],
/// launchctl_print → [launchctl, print] (the service target is appended).
Result<std::unique_ptr<Collector>> ParseLaunchdCollector(const YAML::Node& node,
                                                         const ConfigContext& ctx,
                                                         const std::string& host);

}  // namespace joelclaw
