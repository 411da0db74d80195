#pragma once

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace joelclaw {

/// What one exporter answered to `GET /api/v1/status`, or why it did not.
struct ExporterStatus {
  std::string url;          ///< Base URL as given; credentials are removed on output.
  bool reachable = false;
  std::string error;        ///< A sentence saying why it is unreachable; "" when reachable.
  nlohmann::json document;  ///< The status document (docs/api.md) when reachable.
};

/// Checks that `document` is a status document this client understands
/// (an object with `schema_version` 1 and a `hosts` array). Pure.
bool IsStatusDocument(const nlohmann::json& document, std::string* error);

/// Merges the answers of one or more exporters into the board: the
/// `joelclaw_exporter status --json` document (docs/status-json.md), which
/// the text and HTML renderings are made from. Hosts are grouped by name
/// across exporters, collectors become services with a short detail
/// ("412 GB used of 995 GB (41 %)", "2 GPUs, 41 °C"), a check that names
/// its launchd job or systemd unit (`service`) shares that job's row, and
/// recent failures are listed for everything not up. Services and hosts
/// cross the thresholds of exporter/thresholds.h into `warning`. The GPU
/// collector joins the group of the machine it names, the Kubernetes
/// collector forms a group named after its cluster (one row per node and
/// per workload), and other collectors not tied to a host form the group
/// named "network"; those two have `global` true. Every field of the input
/// is treated as untrusted: wrong types read as absent. Times are relative
/// to each exporter's `generated_at`, so the result depends only on the
/// input. Pure; thread-safe.
nlohmann::json BuildBoard(const std::vector<ExporterStatus>& exporters);

/// The process exit code for a board: 0 healthy, 1 warning, degraded or
/// pending, 2 when an exporter is unreachable. Pure.
int BoardExitCode(const nlohmann::json& board);

/// How RenderBoardText writes states.
struct TextStyle {
  bool color = false;    ///< ANSI colours and bold.
  bool symbols = false;  ///< ✔ ✖ ▲ … ○ instead of ok/DOWN/WARN/wait/idle.
};

/// The human rendering of a board (from BuildBoard), grouped by host with
/// aligned columns, a resources line per host and recent failures.
/// Control characters from the input are replaced, so an exporter cannot
/// drive the terminal. Pure; thread-safe.
std::string RenderBoardText(const nlohmann::json& board, const TextStyle& style);

/// "57 TB", "5.2 GB", "812 kB", "0 B": decimal SI units; with base 1024,
/// IEC units ("64 GiB"). Pure.
std::string HumanBytes(double bytes, int base = 1000);

/// "42s", "3m", "5h", "2d" for a non-negative number of seconds. Pure.
std::string HumanAge(double seconds);

}  // namespace joelclaw
