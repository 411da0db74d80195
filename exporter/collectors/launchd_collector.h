#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

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

/// One entry of the `event triggers = { … }` block of `launchctl print`:
/// something that makes launchd start the job (StartCalendarInterval,
/// WatchPaths, QueueDirectories, LaunchEvents, …).
struct LaunchctlEventTrigger {
  std::string name;  ///< "com.apple.launchd.WatchPaths", "<label>.268435470", …
  /// "com.apple.launchd.calendarinterval" (StartCalendarInterval),
  /// "com.apple.fsevents.matching" (WatchPaths, QueueDirectories), …; "" when absent.
  std::string stream;
  /// The keys of its `descriptor = { … }` block without quotes, in order:
  /// "Minute", "Hour", … for a calendar interval.
  std::vector<std::string> descriptor_keys;
};

/// The top-level fields of `launchctl print <domain>/<label>` we use.
struct LaunchctlPrint {
  std::string state;                ///< "running", "not running", "spawn scheduled", …
  std::optional<long> pid;
  std::optional<long> runs;         ///< launchd's own launch counter.
  std::optional<long> last_exit_code;  ///< Absent for "(never exited)".
  /// The words of `properties = keepalive | runatload | inferred program`.
  std::set<std::string> properties;
  /// `run interval = 300 seconds`: the plist's StartInterval.
  std::optional<long> run_interval_seconds;
  std::vector<LaunchctlEventTrigger> event_triggers;
  bool has_sockets = false;    ///< A top-level `sockets = { … }` block (socket activation).
  bool has_endpoints = false;  ///< A top-level `endpoints = { … }` block (MachServices).
};

/// Parses `launchctl print` output. Only lines at the service's top level
/// count as its fields: nested blocks (endpoints, event triggers, …) also
/// contain "state =" and "keepalive =" lines. "last exit code" reads
/// "78: EX_CONFIG" or "(never exited)". Blocks open with a line ending in
/// `{` or `[` and close with `}` or `]`. Pure.
Result<LaunchctlPrint> ParseLaunchctlPrint(std::string_view text);

/// What a launchd job is meant to do, which decides whether "not running"
/// is a problem. Only KeepAlive jobs are meant to be running all the time.
enum class LaunchdJobKind {
  kKeepAlive,  ///< KeepAlive: launchd restarts it whenever it exits.
  kPeriodic,   ///< StartInterval or StartCalendarInterval.
  kOnDemand,   ///< Started by an event (WatchPaths, a socket, …), at load, or by hand.
  kUnknown,    ///< Not configured and not learnt (no `domain`, print unavailable).
};

/// Every kind, in the order joelclaw_launchd_job_kind exports them.
inline constexpr LaunchdJobKind kLaunchdJobKinds[] = {
    LaunchdJobKind::kKeepAlive, LaunchdJobKind::kPeriodic, LaunchdJobKind::kOnDemand,
    LaunchdJobKind::kUnknown};

/// "keepalive", "periodic", "on_demand", "unknown". Pure.
std::string_view LaunchdJobKindName(LaunchdJobKind kind);

/// A job's kind and, for a periodic job, how often it runs when known.
struct LaunchdJobKindInfo {
  LaunchdJobKind kind = LaunchdJobKind::kUnknown;
  std::optional<double> interval_seconds;
};

/// The kind `launchctl print` shows: `keepalive` among the properties →
/// keepalive; a `run interval` → periodic with that interval; a calendar
/// interval event trigger → periodic with the shortest period of its
/// descriptors (CalendarPeriodSeconds); anything else (other event
/// triggers, sockets, Mach services, or nothing that starts it) →
/// on_demand. Never kUnknown. Pure.
LaunchdJobKindInfo InferLaunchdJobKind(const LaunchctlPrint& print);

/// How often a StartCalendarInterval entry fires, from the keys its
/// descriptor sets (the others are wildcards): Month → 366 days, Day → 31
/// days, Weekday → 7 days, Hour → 1 day, Minute → 1 hour, none → 1 minute.
/// The largest key wins. Pure.
double CalendarPeriodSeconds(const std::vector<std::string>& descriptor_keys);

/// Host section:
///   launchd:
///     domain: gui/501      # optional; enables `launchctl print` (run counts, job kinds)
///     jobs:
///       - com.joel.system-bus-worker          # a label, or:
///       - {label: com.joel.vault-log-sync, kind: periodic, interval: 5m,
///          description: "Vault log sync"}
/// `kind` (keepalive, periodic, on_demand) overrides what `launchctl print`
/// says; `interval` is allowed only with kind periodic. Without `domain`
/// and `kind` a job's kind is unknown. Commands (overridable under
/// `commands:`): launchctl → [launchctl, list], launchctl_print →
/// [launchctl, print] (the service target is appended).
Result<std::unique_ptr<Collector>> ParseLaunchdCollector(const YAML::Node& node,
                                                         const ConfigContext& ctx,
                                                         const std::string& host);

}  // namespace joelclaw
