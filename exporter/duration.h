#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "exporter/status.h"

namespace joelclaw {

using Duration = std::chrono::milliseconds;

/// Parses a Prometheus-style duration: one or more number+unit pairs, units
/// ms, s, m, h, d, w ("30s", "1m30s", "500ms"). A bare number is an error:
/// every duration has a unit. Pure; thread-safe.
Result<Duration> ParseDuration(std::string_view text);

/// Formats the shortest equivalent form ("1m30s", "500ms", "0s").
std::string FormatDuration(Duration d);

/// Seconds as a double, for metrics.
inline double ToSeconds(Duration d) { return d.count() / 1000.0; }

}  // namespace joelclaw
