#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "exporter/duration.h"
#include "exporter/status.h"

namespace joelclaw {

/// What a finished command left behind.
struct CommandResult {
  int exit_code = 0;     ///< Exit status when it exited normally, else -1.
  int term_signal = 0;   ///< The signal that ended it, else 0.
  std::string out;       ///< Standard output, capped at the Run() limit.
  std::string err;       ///< Standard error, capped likewise.
};

/// Filesystem capacity as statvfs(3) reports it, in bytes.
struct FsStats {
  uint64_t size_bytes = 0;
  uint64_t avail_bytes = 0;  ///< Available to unprivileged users.
  uint64_t free_bytes = 0;
  uint64_t files = 0;
  uint64_t files_free = 0;
};

/// Everything a collector or probe needs from the outside world that is not a
/// socket: commands, files and the clock. Collectors take an Env& so tests
/// can hand them a FakeEnv (tests/support/fake_env.h). Implementations must be
/// thread-safe: the scheduler calls them from many workers at once.
class Env {
 public:
  virtual ~Env() = default;

  /// Runs argv[0] (looked up in PATH when it has no slash) with argv, never
  /// through a shell, with stdin closed. Returns an error when it cannot be
  /// started, or when it runs past `timeout` or `cancel` turns true, in which
  /// case its whole process group is killed before returning. A non-zero exit
  /// is not an error here: the caller reads exit_code. Output beyond
  /// `max_output_bytes` per stream is dropped.
  virtual Result<CommandResult> Run(const std::vector<std::string>& argv,
                                    Duration timeout,
                                    const std::atomic<bool>* cancel = nullptr,
                                    size_t max_output_bytes = 4 << 20) = 0;

  /// Reads a whole (small) file, at most `max_bytes`.
  virtual Result<std::string> ReadFile(const std::string& path,
                                       size_t max_bytes = 4 << 20) = 0;

  /// statvfs(3) of the filesystem holding `path`.
  virtual Result<FsStats> StatFs(const std::string& path) = 0;

  /// Wall-clock time, seconds since the Unix epoch.
  virtual double NowSeconds() = 0;

  /// The process-wide real Env. Never null; lives for the whole process.
  static Env* Default();
};

/// The first line of a command's output, at most `max` bytes, for error
/// messages ("exited with status 1: <first line of stderr>"). Pure.
std::string FirstLineOf(const std::string& text, size_t max = 200);

/// Splits "host:port" or "[v6]:port". Pure.
Result<std::pair<std::string, int>> SplitHostPort(const std::string& address);

}  // namespace joelclaw
