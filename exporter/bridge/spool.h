#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exporter/status.h"

namespace joelclaw {

/// A durable FIFO of outgoing events: an append-only, checksummed record log
/// in one directory (leveldb's log is the model). Files:
///   LOCK       flock(2)ed while open, so two exporters never share a spool.
///   spool.log  records, each [u32 length][u32 CRC-32 of payload][payload],
///              little-endian; the payload is JSON, either an event
///              {"seq":N,"spooled_at":T,"event":{…}} or an acknowledgement
///              {"ack":N} (every event up to seq N was delivered).
/// Append() and Ack() return only after write(2) + fdatasync(2). Open()
/// replays the log: a torn or corrupt record (a crash mid-write) ends the
/// replay there with a warning and is cut off, keeping every valid record
/// before it. When everything is acknowledged, or acknowledged records
/// dominate a large log, the log is rewritten with only the pending events
/// (write a temporary file, fsync, rename, fsync the directory).
///
/// The class is thread-safe: one mutex guards the file and the in-memory
/// queue; I/O happens under it, which serializes appends with acks.
class Spool {
 public:
  struct Options {
    size_t max_events = 100000;  ///< Append() fails beyond this many pending.
    size_t max_record_bytes = 1 << 20;  ///< Larger events are refused.
  };

  /// One pending event.
  struct Entry {
    uint64_t seq = 0;
    double spooled_at = 0;    ///< Unix seconds.
    std::string event;        ///< The event as JSON text.
    size_t record_bytes = 0;  ///< Size of its record in the log.
  };

  /// Creates `dir` (one level) when missing, locks it and replays the log.
  static Result<std::unique_ptr<Spool>> Open(const std::string& dir,
                                             Options options);
  static Result<std::unique_ptr<Spool>> Open(const std::string& dir) {
    return Open(dir, {});
  }
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  /// Appends `events` (JSON texts) in one write and syncs. All or nothing:
  /// on error none of them is pending, and the log is cut back.
  Status Append(const std::vector<std::string>& events, double now);
  /// The first `max` pending events, oldest first.
  std::vector<Entry> Pending(size_t max) const;
  /// Durably marks every event with seq <= `seq` delivered; compacts.
  Status Ack(uint64_t seq);

  size_t size() const;
  /// spooled_at of the oldest pending event; 0 when none.
  double OldestSpooledAt() const;
  /// Problems replay found (torn tail, …), for logging; cleared on read.
  std::vector<std::string> TakeWarnings();
  const std::string& dir() const { return dir_; }
  /// Bytes in spool.log now (for tests of compaction).
  uint64_t LogBytes() const;

 private:
  Spool(std::string dir, Options options)
      : dir_(std::move(dir)), options_(options) {}
  Status Replay();
  Status WriteRecords(const std::string& bytes);
  Status Rewrite();

  const std::string dir_;
  const Options options_;
  int lock_fd_ = -1;

  mutable std::mutex mu_;
  int fd_ = -1;                // GUARDED_BY(mu_); spool.log, O_APPEND.
  uint64_t log_bytes_ = 0;     // GUARDED_BY(mu_)
  uint64_t live_bytes_ = 0;    // GUARDED_BY(mu_); records of pending events.
  uint64_t next_seq_ = 1;      // GUARDED_BY(mu_)
  std::deque<Entry> pending_;  // GUARDED_BY(mu_)
  std::vector<std::string> warnings_;  // GUARDED_BY(mu_)
};

/// Encodes one record (header + payload). Pure; exposed for tests that
/// write torn and corrupt logs.
std::string EncodeSpoolRecord(const std::string& payload);

}  // namespace joelclaw
