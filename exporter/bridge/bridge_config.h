#pragma once

#include <string>
#include <vector>

#include "exporter/config_node.h"
#include "exporter/duration.h"
#include "exporter/status.h"

namespace joelclaw {

/// The `bridge:` section (docs/configuration.md): Alertmanager webhook in,
/// Inngest events out. Plain value; the secrets are read when the config is
/// (re)loaded.
struct BridgeConfig {
  std::string token_file;  ///< Required: anyone could inject events without.
  std::string token;  ///< token_file's content, trailing whitespace trimmed.
  std::string inngest_url;  ///< Base URL without a trailing slash.
  std::string event_key_file;
  std::string event_key;   ///< event_key_file's content, trimmed likewise.
  Duration timeout{5000};  ///< Per request to Inngest.
  std::string spool_dir;
  Duration retry_initial{1000};
  Duration retry_max{300000};
  /// Largest webhook body read (the route's body limit); larger is 413.
  int64_t max_notification_bytes = 1 << 20;
  /// Largest event sent (Inngest's own limit is 256 KiB): larger events get
  /// their annotations trimmed, and when that is not enough the
  /// notification is answered 413.
  int64_t max_event_bytes = 256 << 10;
  int64_t spool_max_events = 100000;  ///< Beyond: the oldest are dropped.
  int64_t spool_max_bytes = 64 << 20;  ///< Beyond: the oldest are dropped.
  /// Problems that do not stop the config loading but will bite at run time
  /// ("file:line: …"), for --config.check and the reload log.
  std::vector<std::string> warnings;

  bool operator==(const BridgeConfig&) const = default;
};

/// Parses the value of the top-level `bridge:` key strictly (unknown keys
/// are errors naming file:line) and reads token_file (required) and
/// event_key_file, resolved against the config's directory; a missing,
/// unreadable or empty file is an error naming it. Never throws; not
/// thread-safe (ctx).
Result<BridgeConfig> ParseBridgeConfig(const YAML::Node& node,
                                       const ConfigContext& ctx);

}  // namespace joelclaw
