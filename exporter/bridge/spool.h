#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exporter/env.h"
#include "exporter/status.h"

namespace joelclaw {

/// A durable FIFO of outgoing events: an append-only, checksummed record log
/// in one directory (leveldb's log is the model). Files:
///   LOCK       flock(2)ed while open, so two exporters never share a spool.
///   spool.log  records, each [u32 length][u32 CRC-32 of payload][payload],
///              little-endian; the payload is JSON, either an event
///              {"seq":N,"spooled_at":T,"event":{…}} or an acknowledgement
///              {"ack":N} (every event up to seq N is done with: delivered,
///              or dropped as the bridge's policy says).
///
/// Memory: only an index (sequence, time, offset, size) of the pending
/// events is kept; event texts are read back from the log when sent, and
/// Open() replays the log one record at a time, so memory does not grow
/// with the spool.
///
/// Durability: Append() and Ack() return only after write(2) + fdatasync(2).
/// Open() creates the directory and the log and fsyncs their directories.
///
/// Damage, as leveldb's log reader handles it: a torn record at the end (a
/// crash mid-write; it was never acknowledged) is cut off; a record whose
/// checksum or content is wrong is skipped up to the next valid record and
/// counted (corrupt_records()), every intact record after it kept, and the
/// log rewritten without it.
///
/// Limits: max_events pending events and max_bytes of their records. An
/// Append() that would go past either drops the oldest pending events to
/// make room (an acknowledgement record, written with the new events) and
/// reports how many.
///
/// Errors are sticky, like leveldb's background error: after a failed
/// write, sync or cut-back, every later Append() and Ack() fails with the
/// first error (error()), because what reached the disk is no longer known.
/// The owner recovers by closing the spool and opening it again, which
/// replays what the disk holds.
///
/// The class is thread-safe: one mutex guards the file and the index; I/O
/// happens under it, which serializes appends with acks.
class Spool {
 public:
  struct Options {
    Env* env = nullptr;                 ///< Disk access; nullptr = Env::Default().
    size_t max_events = 100000;         ///< Pending events kept at most.
    uint64_t max_bytes = 64ull << 20;   ///< Bytes of pending records kept at most.
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
  static Result<std::unique_ptr<Spool>> Open(const std::string& dir, Options options);
  static Result<std::unique_ptr<Spool>> Open(const std::string& dir) { return Open(dir, {}); }
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  /// Appends `events` (JSON texts) in one write and syncs, first dropping
  /// the oldest pending events when the limits call for it (their number in
  /// *dropped, which may be null). All or nothing: on error no event is
  /// added or dropped.
  Status Append(const std::vector<std::string>& events, double now, size_t* dropped = nullptr);
  /// The first `max` pending events, oldest first, read from the log. A
  /// record that no longer reads back intact is skipped, counted in
  /// corrupt_records() and acknowledged away.
  Result<std::vector<Entry>> Pending(size_t max);
  /// Durably marks every event with seq <= `seq` done; compacts.
  Status Ack(uint64_t seq);
  /// New limits for the next Append() (a reloaded config).
  void SetLimits(size_t max_events, uint64_t max_bytes);

  size_t size() const;
  /// Bytes of the pending events' records.
  uint64_t bytes() const;
  /// spooled_at of the oldest pending event; 0 when none.
  double OldestSpooledAt() const;
  /// Ok, or the sticky error (see the class comment).
  Status error() const;
  /// Damaged records skipped since Open(), at replay or when read back.
  uint64_t corrupt_records() const;
  /// Problems replay found (torn tail, skipped records), for logging;
  /// cleared on read.
  std::vector<std::string> TakeWarnings();
  const std::string& dir() const { return dir_; }
  /// Bytes in spool.log now (for tests of compaction).
  uint64_t LogBytes() const;

 private:
  struct Index {
    uint64_t seq;
    double spooled_at;
    uint64_t offset;
    size_t record_bytes;
  };
  Spool(std::string dir, Options options);
  Status Replay();
  Status WriteRecords(const std::string& bytes);
  Status Rewrite();
  // The payload of the record at `offset` when it is intact.
  bool ReadRecord(uint64_t offset, uint64_t file_size, std::string* payload);
  // The offset of the first intact record after `offset`, or file_size.
  uint64_t Resync(uint64_t offset, uint64_t file_size);
  void DropThrough(uint64_t seq);  // REQUIRES: mu_ held.

  const std::string dir_;
  const std::string log_path_;
  const Options options_;
  Env* const env_;
  std::unique_ptr<FileLock> lock_;

  mutable std::mutex mu_;
  std::unique_ptr<WritableFile> log_;  // GUARDED_BY(mu_)
  Status error_;                       // GUARDED_BY(mu_); sticky.
  uint64_t log_bytes_ = 0;             // GUARDED_BY(mu_)
  uint64_t live_bytes_ = 0;            // GUARDED_BY(mu_); records of pending events.
  uint64_t next_seq_ = 1;              // GUARDED_BY(mu_)
  uint64_t corrupt_records_ = 0;       // GUARDED_BY(mu_)
  std::deque<Index> pending_;          // GUARDED_BY(mu_)
  size_t max_events_;                  // GUARDED_BY(mu_)
  uint64_t max_bytes_;                 // GUARDED_BY(mu_)
  std::vector<std::string> warnings_;  // GUARDED_BY(mu_)
};

/// Encodes one record (header + payload). Pure; exposed for tests that
/// write torn and corrupt logs.
std::string EncodeSpoolRecord(const std::string& payload);

}  // namespace joelclaw
