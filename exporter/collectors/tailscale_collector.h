#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/collector.h"
#include "exporter/config_node.h"

namespace joelclaw {

/// One node of `tailscale status --json` (ipnstate.PeerStatus): a peer, or
/// the node the exporter runs on (Self).
struct TailscalePeer {
  /// The `peer` label: the first label of DNSName ("panda.tail1234.ts.net."
  /// → "panda"), or HostName when DNSName is empty. HostName is not unique
  /// (two machines may both call themselves "localhost"); MagicDNS names
  /// are. A node of another tailnet (shared in) keeps its whole DNS name,
  /// without the trailing dot, so it can never take an own node's name.
  std::string name;
  std::string host_name;  ///< As the machine reports it; not unique.
  std::string dns_name;   ///< FQDN with its trailing dot, or "".
  std::string os;         ///< "linux", "macOS", "windows", …
  std::string id;         ///< Stable node ID, or "".
  bool online = false;    ///< Connected to the coordination server.
  bool active = false;    ///< Traffic in the last couple of minutes.
  bool exit_node = false; ///< The exit node this node currently uses.
  /// LastSeen in Unix seconds. Absent when Tailscale sent the zero time
  /// ("0001-01-01T00:00:00Z"), which it does while the node is online.
  std::optional<double> last_seen_seconds;
  std::vector<std::string> tailscale_ips;
};

/// The parts of `tailscale status --json` (ipnstate.Status) we use.
struct TailscaleStatus {
  std::string backend_state;  ///< "Running", "NeedsLogin", "Stopped", …
  std::string magic_dns_suffix;  ///< "tail1234.ts.net", or "" when unknown.
  std::optional<TailscalePeer> self;
  /// Every peer except sharee-only nodes (which `tailscale status` hides
  /// too), sorted by name; names are unique.
  std::vector<TailscalePeer> peers;
};

/// Parses `tailscale status --json`. Unknown fields are ignored (the format
/// changes between releases); a known field of the wrong type, a missing
/// BackendState or text that is not one JSON object is an error naming the
/// field. Never throws. Pure.
Result<TailscaleStatus> ParseTailscaleStatus(std::string_view json);

/// Parses an RFC 3339 timestamp ("2024-05-01T12:34:56.123456789-07:00",
/// "…Z") into Unix seconds, fraction kept. Pure.
Result<double> ParseRfc3339(std::string_view text);

/// Top-level section:
///   tailscale:
///     enabled: true          # false: no collector
///     always_on: [panda, clanker-001, three-body]
///     host: panda            # optional; default LocalHostName()
/// Peers named in always_on are exported even when absent from the status
/// (as offline), and get joelclaw_tailscale_peer_always_on 1 for alerts to
/// join on. `host` names the machine whose tailscaled is asked: the `host`
/// label of the self series and of the collector's own success. Command
/// (overridable under `commands:`): tailscale → [tailscale, status,
/// --json]. The `host` argument is "" (a global collector).
Result<std::unique_ptr<Collector>> ParseTailscaleCollector(const YAML::Node& node,
                                                           const ConfigContext& ctx,
                                                           const std::string& host);

}  // namespace joelclaw
