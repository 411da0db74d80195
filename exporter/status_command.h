#pragma once

#include <optional>
#include <string>
#include <vector>

#include "exporter/duration.h"
#include "exporter/status_board.h"

namespace joelclaw {

/// The default exporter `joelclaw_exporter status` asks.
inline constexpr char kDefaultStatusUrl[] = "http://127.0.0.1:10042";

/// Parsed `status` flags.
struct StatusFlags {
  std::vector<std::string> urls;      ///< --url, in order; may carry user:password@.
  std::string config_file;            ///< --config.file: adds its `status.urls`.
  bool json = false;                  ///< --json
  std::optional<Duration> watch;      ///< --watch[=D]: redraw every D until SIGINT.
  Duration timeout{5000};             ///< --timeout=D: hard limit per exporter.
  bool help = false;
};

/// Parses the flags after `status`. Errors name the flag. Pure.
bool ParseStatusFlags(const std::vector<std::string>& args, StatusFlags* flags,
                      std::string* error);

/// The URL of the status document for an exporter base URL:
/// "http://h:10042" → "http://h:10042/api/v1/status"; a URL already ending
/// in /api/v1/status is kept. Pure.
std::string StatusEndpoint(const std::string& base_url);

/// GET /api/v1/status from one exporter with libcurl, within `timeout` from
/// start to end (connect, TLS, a silent or slow peer, a body of up to
/// 16 MiB): never longer. Basic auth comes from the URL's userinfo. Never
/// throws; an unreachable exporter, an HTTP error, a body that is not a
/// status document all give reachable=false with a sentence naming the URL
/// (without credentials). Thread-safe; REQUIRES curl_global_init.
ExporterStatus FetchExporterStatus(const std::string& base_url, Duration timeout);

/// FetchExporterStatus for every URL at once; results in `urls` order.
std::vector<ExporterStatus> FetchAllStatus(const std::vector<std::string>& urls,
                                           Duration timeout);

/// The peers (`exporter.peers`, the config's status.urls) the reachable
/// exporters in `answered` name, except those already `asked` (compared
/// without trailing slashes and credentials) and repeats; http(s) URLs only.
/// `answered` is untrusted. Pure.
std::vector<std::string> PeersToAsk(const std::vector<ExporterStatus>& answered,
                                    const std::vector<std::string>& asked);

/// FetchAllStatus for `urls`, then for their peers (PeersToAsk), once: the
/// whole network from one exporter that lists the others.
std::vector<ExporterStatus> FetchWithPeers(const std::vector<std::string>& urls,
                                           Duration timeout);

/// `joelclaw_exporter status …`: returns the exit code (0 healthy,
/// 1 warning, degraded or pending, 2 an exporter unreachable, 3 bad usage).
int RunStatusCommand(const std::vector<std::string>& args);

}  // namespace joelclaw
