#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
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

/// An open file of the bridge's spool: appends at its end, reads anywhere.
/// Not thread-safe (the spool serializes its use).
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  /// Writes all of `data` at the end of the file.
  virtual Status Append(std::string_view data) = 0;
  /// fdatasync(2): the data appended so far is on disk.
  virtual Status Sync() = 0;
  /// Cuts the file to `size` bytes.
  virtual Status Truncate(uint64_t size) = 0;
  /// Reads up to `n` bytes at `offset` into `buf`; fewer only at the end of
  /// the file. Returns the count.
  virtual Result<size_t> ReadAt(uint64_t offset, char* buf, size_t n) = 0;
  virtual Result<uint64_t> Size() = 0;
};

/// Held while a directory is locked (flock(2)); the lock ends with it.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

/// Everything a collector, probe or the bridge's spool needs from the
/// outside world that is not a socket: commands, files, the disk and the
/// clock. Collectors take an Env& so tests can hand them a FakeEnv
/// (tests/support/fake_env.h); the spool's disk faults are injected with an
/// EnvWrapper (tests/support/fault_injection_env.h), as leveldb does.
/// Implementations must be thread-safe: the scheduler calls them from many
/// workers at once.
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

  // The disk, for the spool. The base class implements these on the real
  // filesystem (so FakeEnv and friends need not); errors name the path and
  // the system's reason.

  /// Opens (creating, mode 0600) `path` for appending and reading;
  /// `truncate` empties it first.
  virtual Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path,
                                                             bool truncate);
  /// mkdir(2) of one level, mode 0700; Ok when it is a directory already.
  virtual Status CreateDir(const std::string& path);
  /// fsync(2) of a directory, so entries created or renamed in it last.
  virtual Status SyncDir(const std::string& path);
  virtual Status RenameFile(const std::string& from, const std::string& to);
  virtual Status DeleteFile(const std::string& path);
  /// Takes an exclusive flock(2) on `path` (created when missing) without
  /// waiting; an error when another process holds it.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path);

  /// The process-wide real Env. Never null; lives for the whole process.
  static Env* Default();
};

/// An Env that passes every call to `target` (leveldb's EnvWrapper): derive
/// from it to change a few calls, as the fault-injecting test Env does.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}
  Env* target() const { return target_; }

  Result<CommandResult> Run(const std::vector<std::string>& argv, Duration timeout,
                            const std::atomic<bool>* cancel,
                            size_t max_output_bytes) override {
    return target_->Run(argv, timeout, cancel, max_output_bytes);
  }
  Result<std::string> ReadFile(const std::string& path, size_t max_bytes) override {
    return target_->ReadFile(path, max_bytes);
  }
  Result<FsStats> StatFs(const std::string& path) override { return target_->StatFs(path); }
  double NowSeconds() override { return target_->NowSeconds(); }
  Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path,
                                                     bool truncate) override {
    return target_->OpenWritable(path, truncate);
  }
  Status CreateDir(const std::string& path) override { return target_->CreateDir(path); }
  Status SyncDir(const std::string& path) override { return target_->SyncDir(path); }
  Status RenameFile(const std::string& from, const std::string& to) override {
    return target_->RenameFile(from, to);
  }
  Status DeleteFile(const std::string& path) override { return target_->DeleteFile(path); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return target_->LockFile(path);
  }

 private:
  Env* const target_;
};

/// Makes this process a child subreaper (Linux PR_SET_CHILD_SUBREAPER):
/// what a command run through Env::Run leaves behind when its parent exits
/// (a grandchild that called setsid(2) and so escaped the process-group
/// kill) becomes our child instead of init's. Such adopted processes are
/// then killed (with their process group) and reaped by a thread that looks
/// once a second. Children that a Run() is waiting
/// for are never touched. For the serving process only: a test binary
/// that forks children of its own must not call it. On systems without
/// subreapers (macOS) it returns Ok and does nothing: process groups are
/// all there is. Idempotent.
Status EnableChildSubreaper();

/// Kills and reaps adopted children now (what the reaper thread does each
/// second); returns how many it killed. No-op unless
/// EnableChildSubreaper() ran. Thread-safe.
int ReapOrphans();

/// The first line of a command's output, at most `max` bytes, for error
/// messages ("exited with status 1: <first line of stderr>"). Pure.
std::string FirstLineOf(const std::string& text, size_t max = 200);

/// Splits "host:port" or "[v6]:port". Pure.
Result<std::pair<std::string, int>> SplitHostPort(const std::string& address);

}  // namespace joelclaw
