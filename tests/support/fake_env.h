#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "exporter/env.h"

namespace joelclaw::testing {

/// An in-memory Env: canned command results (by argv joined with spaces),
/// files and filesystem stats, and a settable clock. Unknown commands and
/// files are errors, like on a machine that lacks them. Thread-safe.
class FakeEnv : public Env {
 public:
  /// The next runs of `argv` return these results in turn; the last one
  /// repeats.
  void SetCommand(const std::vector<std::string>& argv, std::vector<Result<CommandResult>> results);
  void SetCommandOutput(const std::vector<std::string>& argv, const std::string& out,
                        int exit_code = 0);
  void SetFile(const std::string& path, const std::string& content);
  void RemoveFile(const std::string& path);
  void SetFs(const std::string& path, FsStats stats);
  void SetNow(double seconds);
  void Advance(double seconds);
  /// Every argv run so far.
  std::vector<std::vector<std::string>> calls() const;

  Result<CommandResult> Run(const std::vector<std::string>& argv, Duration timeout,
                            const std::atomic<bool>* cancel, size_t max_output_bytes) override;
  Result<std::string> ReadFile(const std::string& path, size_t max_bytes) override;
  Result<FsStats> StatFs(const std::string& path) override;
  double NowSeconds() override;

 private:
  static std::string Key(const std::vector<std::string>& argv);
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Result<CommandResult>>> commands_;
  std::map<std::string, size_t> command_pos_;
  std::map<std::string, std::string> files_;
  std::map<std::string, FsStats> fs_;
  std::vector<std::vector<std::string>> calls_;
  double now_ = 1700000000;
};

}  // namespace joelclaw::testing
