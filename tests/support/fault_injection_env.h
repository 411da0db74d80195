#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "exporter/env.h"

namespace joelclaw::testing {

/// An Env on the real disk whose disk calls can be made to fail, as
/// leveldb's fault-injection test Env does: a full disk (ENOSPC on write), a
/// failing device (EIO on sync), a read-only filesystem (EROFS on creating
/// directories and files), a write that stops half-way. Failures apply to
/// paths under a prefix ("" = every path) and last until cleared. Records
/// the directories synced, to check the spool's fsync of its directory.
/// Thread-safe.
class FaultInjectionEnv : public EnvWrapper {
 public:
  enum class Fault {
    kAppend,     ///< Append() fails with ENOSPC after writing nothing.
    kTornAppend, ///< Append() writes half of the data, then fails (EIO).
    kSync,       ///< WritableFile::Sync() fails with EIO.
    kTruncate,   ///< Truncate() fails with EIO.
    kCreate,     ///< CreateDir() and OpenWritable() fail with EROFS.
    kSyncDir,    ///< SyncDir() fails with EIO.
    kRename,     ///< RenameFile() fails with EIO.
  };

  explicit FaultInjectionEnv(Env* target = Env::Default()) : EnvWrapper(target) {}

  void Set(Fault fault, bool on, const std::string& path_prefix = "");
  void ClearAll();
  /// How often SyncDir(path) was called.
  int SyncDirCalls(const std::string& path) const;
  /// Failures injected so far.
  int injected() const { return injected_.load(); }

  Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path,
                                                     bool truncate) override;
  Status CreateDir(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;

  /// True (and counted) when `fault` is on for `path`.
  bool Fires(Fault fault, const std::string& path);

 private:
  mutable std::mutex mu_;
  std::map<Fault, std::string> on_;          // GUARDED_BY(mu_); fault → prefix.
  std::map<std::string, int> synced_dirs_;   // GUARDED_BY(mu_)
  std::atomic<int> injected_{0};
};

}  // namespace joelclaw::testing
