#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "exporter/log_line.h"
#include "spdlog/common.h"
#include "spdlog/formatter.h"

namespace joelclaw {

/// Makes spdlog's default logger write `format` lines (logfmt or JSON, see
/// FormatLogLine) to standard error at `level` ("debug", "info", "warn" or
/// "error"). Plain `spdlog::info(…)` calls keep working and become lines
/// with only ts, level and msg; Log() adds fields. When standard error is a
/// regular file (launchd's StandardErrorPath), the file is reopened by name
/// once it has been rotated away (renamed by newsyslog), see
/// LogFileReopener. Call once, early in main, before other threads log.
void SetupLogging(std::string_view level, LogFormat format);

/// Logs `msg` with structured `fields` through spdlog's default logger. A
/// logger set up by SetupLogging (or any sink with MakeLogFormatter) writes
/// the fields; other formatters see only `msg`. Thread-safe.
void Log(spdlog::level::level_enum level, std::string_view msg, const LogFields& fields = {});

/// Log() once per line of `text` (empty lines skipped), each line under
/// `key`: a multi-line error, such as a config's list of problems, becomes
/// one log line per problem. Thread-safe.
void LogEachLine(spdlog::level::level_enum level, std::string_view msg, const std::string& key,
                 std::string_view text);

/// The spdlog formatter behind SetupLogging: renders each message with
/// FormatLogLine, adding the fields of the Log() call that produced it
/// (handed over in a thread-local variable, so the logger must be
/// synchronous, as spdlog's default is). For tests that capture lines
/// through their own sink.
std::unique_ptr<spdlog::formatter> MakeLogFormatter(LogFormat format);

/// "debug", "info", "warn" or "error" for spdlog's levels (trace counts as
/// debug, critical as error), as Prometheus exporters name them. Pure.
std::string_view LogLevelName(spdlog::level::level_enum level);

/// Follows a log file that is rotated by renaming: remembers the path and
/// identity (device, inode) of the file behind `fd`, and when asked,
/// reopens that path (appending, creating it if needed) onto `fd` — and
/// onto the other standard stream when it shared the file — once the path
/// names another file. Inactive (every call a no-op) when `fd` is not a
/// regular file or its path cannot be found. Not thread-safe: the sink calls
/// it under its own lock.
class LogFileReopener {
 public:
  explicit LogFileReopener(int fd);
  bool active() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  /// One stat(2) of the path; reopens when it names another file. Returns
  /// true when it reopened.
  bool MaybeReopen();

 private:
  int fd_;
  bool shares_stdout_ = false;
  std::string path_;
  unsigned long long dev_ = 0, ino_ = 0;
};

}  // namespace joelclaw
