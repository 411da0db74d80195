#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/status.h"

namespace joelclaw {

/// The two line formats of `--log.format`, as node_exporter and every
/// exporter-toolkit binary write them.
enum class LogFormat {
  kLogfmt,  ///< `ts=… level=info msg="…" key=value …` (the default).
  kJson,    ///< `{"ts":"…","level":"info","msg":"…","key":"value",…}`.
};

/// "logfmt" or "json" → LogFormat; anything else is an error naming the flag.
Result<LogFormat> ParseLogFormat(std::string_view name);

/// One structured field of a log line: a fixed key chosen by the code
/// ("host", "target", "err", …) and a value that may be anything, a
/// newline included; the formats escape it.
struct LogField {
  std::string key;
  std::string value;
};
using LogFields = std::vector<LogField>;

/// Renders one log line, newline included: `ts` as UTC RFC 3339 with
/// milliseconds ("2024-05-01T12:00:00.123Z"), then `level` (debug, info,
/// warn or error), `msg` and the fields in order. Whatever the values hold
/// (quotes, backslashes, control characters, invalid UTF-8), the result is
/// exactly one line: logfmt quotes a value that needs it and escapes as
/// go-logfmt does (\" \\ \n \r \t \u00XX, invalid bytes as \ufffd); JSON
/// escapes as JSON requires. Pure; thread-safe.
std::string FormatLogLine(LogFormat format, std::chrono::system_clock::time_point ts,
                          std::string_view level, std::string_view msg,
                          const LogFields& fields);

/// A logfmt value as FormatLogLine writes it (quoted only when needed).
/// Pure; exposed for tests.
std::string LogfmtValue(std::string_view value);

}  // namespace joelclaw
