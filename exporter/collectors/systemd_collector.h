#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/collector.h"
#include "exporter/config_node.h"

namespace joelclaw {

/// One unit's block of `systemctl show --property=…` output.
struct SystemdUnit {
  std::string id;            ///< "pdf-brain.service"; for an alias, the real unit's name.
  std::string load_state;    ///< "loaded", "not-found", "masked", "bad-setting", …
  std::string active_state;  ///< "active", "failed", "activating", … (kept as printed).
  std::string sub_state;     ///< "running", "dead", "auto-restart", …
  /// systemd's own restart counter; absent before systemd 235, which does
  /// not know the property and so does not print it.
  std::optional<uint64_t> n_restarts;
  std::optional<long> main_pid;          ///< 0 when no main process.
  std::optional<long> exec_main_status;  ///< Exit status (or signal) of the last main process.
  /// When the current (or last) main process started, µs since boot; 0 when
  /// it never started.
  std::optional<uint64_t> exec_main_start_monotonic_usec;
};

/// Parses `systemctl show` output: blocks of KEY=VALUE lines separated by
/// blank lines, one block per unit in the order the units were named.
/// Properties may come in any order; unknown ones are ignored. Every block
/// needs Id, LoadState, ActiveState and SubState. Errors (with a sentence)
/// on empty output, output that does not end in a newline (cut off), lines
/// that are not KEY=VALUE, non-numeric numbers and blocks missing a required
/// property. Pure.
Result<std::vector<SystemdUnit>> ParseSystemctlShow(std::string_view text);

/// The ActiveState values exported as joelclaw_systemd_unit_state{state}
/// (each 0/1 on every run). Other values (e.g. "maintenance") set all to 0.
inline constexpr std::string_view kSystemdActiveStates[] = {
    "active", "reloading", "inactive", "failed", "activating", "deactivating"};

/// Host section:
///   systemd:
///     units: [pdf-brain.service, redis-server, …]
/// An entry is a unit name or a mapping {unit: NAME, description: "…"}; the
/// description goes into the details for the status board.
/// A name without a unit-type suffix (.service, .socket, .timer, …) gets
/// ".service" appended, as systemctl itself does, so labels always carry the
/// full unit name. Command (overridable under `commands:`): systemctl →
/// [systemctl]; the collector appends `show --property=… --no-pager UNIT…`
/// (use [systemctl, --user] for user units).
Result<std::unique_ptr<Collector>> ParseSystemdCollector(const YAML::Node& node,
                                                         const ConfigContext& ctx,
                                                         const std::string& host);

}  // namespace joelclaw
