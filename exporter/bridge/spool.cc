#include "exporter/bridge/spool.h"

#include <zlib.h>

#include <algorithm>

#include "nlohmann/json.hpp"

namespace joelclaw {
namespace {

constexpr size_t kHeaderBytes = 8;
// A rewrite is worth it once the log is this big and mostly acknowledged.
constexpr uint64_t kCompactBytes = 1 << 20;
// Bytes copied per read while rewriting or scanning for the next record.
constexpr size_t kChunk = 64 << 10;

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint32_t Crc(const std::string_view data) {
  return static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(data.data()),
                                     static_cast<uInt>(data.size())));
}

std::string EventPayload(uint64_t seq, double spooled_at, const std::string& event) {
  // The event is spliced in as text: it is already JSON and need not be
  // re-parsed on the request path.
  return "{\"seq\":" + std::to_string(seq) + ",\"spooled_at\":" +
         nlohmann::json(spooled_at).dump() + ",\"event\":" + event + "}";
}

std::string AckRecord(uint64_t seq) {
  return EncodeSpoolRecord("{\"ack\":" + std::to_string(seq) + "}");
}

std::string Parent(const std::string& dir) {
  const size_t slash = dir.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : dir.substr(0, slash);
}

}  // namespace

std::string EncodeSpoolRecord(const std::string& payload) {
  std::string out;
  out.reserve(kHeaderBytes + payload.size());
  PutU32(&out, static_cast<uint32_t>(payload.size()));
  PutU32(&out, Crc(payload));
  out += payload;
  return out;
}

Spool::Spool(std::string dir, Options options)
    : dir_(std::move(dir)),
      log_path_(dir_ + "/spool.log"),
      options_(options),
      env_(options.env != nullptr ? options.env : Env::Default()),
      max_events_(options.max_events),
      max_bytes_(options.max_bytes) {}

void Spool::SetLimits(size_t max_events, uint64_t max_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  max_events_ = max_events;
  max_bytes_ = max_bytes;
}

Result<std::unique_ptr<Spool>> Spool::Open(const std::string& dir, Options options) {
  std::unique_ptr<Spool> spool(new Spool(dir, options));
  Env* env = spool->env_;
  Status s = env->CreateDir(dir);
  if (!s.ok()) return s.WithPrefix("cannot create the spool directory");
  // The new directory entry, and below the new log's, last only once their
  // directories are synced: else a power cut can take the whole spool away
  // after Append() said it was safe. Cheap enough to do on every open.
  if (!(s = env->SyncDir(Parent(dir))).ok()) return s;
  Result<std::unique_ptr<FileLock>> lock = env->LockFile(dir + "/LOCK");
  if (!lock.ok()) {
    return Status::Error("spool directory " + dir + " is in use by another process (" +
                         lock.status().message() + ")");
  }
  spool->lock_ = std::move(lock).value();
  Result<std::unique_ptr<WritableFile>> log = env->OpenWritable(spool->log_path_, false);
  if (!log.ok()) return log.status();
  spool->log_ = std::move(log).value();
  if (!(s = env->SyncDir(dir)).ok()) return s;
  if (!(s = spool->Replay()).ok()) return s;
  return spool;
}

Spool::~Spool() = default;

bool Spool::ReadRecord(uint64_t offset, uint64_t file_size, std::string* payload) {
  if (file_size - offset < kHeaderBytes) return false;
  char header[kHeaderBytes];
  Result<size_t> got = log_->ReadAt(offset, header, kHeaderBytes);
  if (!got.ok() || *got != kHeaderBytes) return false;
  const uint32_t len = GetU32(header);
  const uint32_t crc = GetU32(header + 4);
  if (len > options_.max_record_bytes + 4096 || file_size - offset - kHeaderBytes < len) {
    return false;
  }
  payload->resize(len);
  got = log_->ReadAt(offset + kHeaderBytes, payload->data(), len);
  return got.ok() && *got == len && Crc(*payload) == crc;
}

uint64_t Spool::Resync(uint64_t offset, uint64_t file_size) {
  // Candidates are tried only where the length field is plausible, which
  // rules out nearly every offset inside JSON text at once.
  std::string window, payload;
  uint64_t window_at = 0;
  for (uint64_t pos = offset + 1; pos + kHeaderBytes <= file_size; ++pos) {
    if (pos < window_at || pos + kHeaderBytes > window_at + window.size()) {
      window_at = pos;
      window.resize(std::min<uint64_t>(kChunk, file_size - pos));
      Result<size_t> got = log_->ReadAt(pos, window.data(), window.size());
      if (!got.ok() || *got < kHeaderBytes) return file_size;
      window.resize(*got);
    }
    const uint32_t len = GetU32(window.data() + (pos - window_at));
    if (len < 2 || len > options_.max_record_bytes + 4096 ||
        file_size - pos - kHeaderBytes < len) {
      continue;
    }
    if (ReadRecord(pos, file_size, &payload)) return pos;
  }
  return file_size;
}

void Spool::DropThrough(uint64_t seq) {
  while (!pending_.empty() && pending_.front().seq <= seq) {
    live_bytes_ -= pending_.front().record_bytes;
    pending_.pop_front();
  }
}

Status Spool::Replay() {
  std::lock_guard<std::mutex> lock(mu_);
  Result<uint64_t> size = log_->Size();
  if (!size.ok()) return size.status();
  const uint64_t file_size = *size;
  uint64_t acked = 0;
  uint64_t off = 0;
  uint64_t skipped_bytes = 0;
  size_t skipped_records = 0;
  std::string payload;
  bool rewrite = false;
  while (off < file_size) {
    bool intact = ReadRecord(off, file_size, &payload);
    nlohmann::json j;
    if (intact) {
      j = nlohmann::json::parse(payload, nullptr, false);
      intact = j.is_object() &&
               ((j.contains("ack") && j["ack"].is_number_unsigned()) ||
                (j.contains("seq") && j["seq"].is_number_unsigned() && j.contains("event") &&
                 j["event"].is_object()));
    }
    if (!intact) {
      const uint64_t next = Resync(off, file_size);
      if (next == file_size) {
        // Nothing valid follows. A record cut short by the end of the file
        // is a crash mid-write (never acknowledged, so nothing is lost);
        // anything else is damage.
        char header[kHeaderBytes];
        Result<size_t> got = log_->ReadAt(off, header, std::min<uint64_t>(kHeaderBytes,
                                                                          file_size - off));
        const bool torn = !got.ok() || *got < kHeaderBytes ||
                          file_size - off - kHeaderBytes < GetU32(header);
        if (torn) {
          warnings_.push_back(log_path_ + ": a torn record at byte " + std::to_string(off) +
                              " (a crash mid-write?); cut off the last " +
                              std::to_string(file_size - off) + " bytes");
        } else {
          ++skipped_records;
          skipped_bytes += file_size - off;
          warnings_.push_back(log_path_ + ": a record whose checksum or content is wrong at byte " +
                              std::to_string(off) + "; dropped the last " +
                              std::to_string(file_size - off) + " bytes");
        }
        // Cut the damage off so later appends follow valid records.
        Status s = log_->Truncate(off);
        if (s.ok()) s = log_->Sync();
        if (!s.ok()) return s.WithPrefix("cannot cut the damaged tail off " + log_path_);
        break;
      }
      ++skipped_records;
      skipped_bytes += next - off;
      warnings_.push_back(log_path_ + ": skipped " + std::to_string(next - off) +
                          " damaged bytes at byte " + std::to_string(off) +
                          " (a record whose checksum or content is wrong); the records after "
                          "them are kept");
      rewrite = true;
      off = next;
      continue;
    }
    const size_t record_bytes = kHeaderBytes + payload.size();
    if (j.contains("ack")) {
      acked = std::max<uint64_t>(acked, j["ack"].get<uint64_t>());
      DropThrough(acked);
    } else {
      const uint64_t seq = j["seq"].get<uint64_t>();
      next_seq_ = std::max(next_seq_, seq + 1);
      if (seq > acked && (pending_.empty() || seq > pending_.back().seq)) {
        const nlohmann::json& at = j["spooled_at"];
        pending_.push_back({seq, at.is_number() ? at.get<double>() : 0.0, off, record_bytes});
        live_bytes_ += record_bytes;
      }
    }
    off += record_bytes;
  }
  next_seq_ = std::max(next_seq_, acked + 1);
  corrupt_records_ += skipped_records;
  Result<uint64_t> now = log_->Size();
  if (!now.ok()) return now.status();
  log_bytes_ = *now;
  if (skipped_records > 0) {
    warnings_.push_back(log_path_ + ": " + std::to_string(skipped_records) +
                        " damaged records (" + std::to_string(skipped_bytes) +
                        " bytes) skipped; kept " + std::to_string(pending_.size()) +
                        " pending events");
  }
  // Damage in the middle stays in the log until a rewrite: do it now, so
  // the next start does not count it again.
  if (rewrite) return Rewrite();
  return Status::Ok();
}

Status Spool::WriteRecords(const std::string& bytes) {
  if (!error_.ok()) return error_;
  Status s = log_->Append(bytes);
  if (s.ok()) s = log_->Sync();
  if (!s.ok()) {
    // A partial record would otherwise sit before later ones. Whether or
    // not the cut-back works, what the disk holds is unknown now: the
    // error sticks until the spool is opened again (replay's checksums sort
    // out the rest).
    Status cut = log_->Truncate(log_bytes_);
    error_ = cut.ok() ? s : Status::Error(s.message() + "; and cutting the log back failed: " +
                                          cut.message());
    return error_;
  }
  log_bytes_ += bytes.size();
  return Status::Ok();
}

Status Spool::Append(const std::vector<std::string>& events, double now, size_t* dropped) {
  std::lock_guard<std::mutex> lock(mu_);
  if (dropped != nullptr) *dropped = 0;
  if (!error_.ok()) return error_;
  std::string records;
  std::vector<Index> added;
  uint64_t seq = next_seq_;
  for (const std::string& ev : events) {
    if (ev.size() > options_.max_record_bytes) {
      return Status::Error("an event of " + std::to_string(ev.size()) +
                           " bytes is over the spool's record limit of " +
                           std::to_string(options_.max_record_bytes));
    }
    const std::string record = EncodeSpoolRecord(EventPayload(seq, now, ev));
    added.push_back({seq++, now, 0, record.size()});
    records += record;
  }
  if (events.size() > max_events_ || records.size() > max_bytes_) {
    return Status::Error("the notification's " + std::to_string(events.size()) + " events (" +
                         std::to_string(records.size()) + " bytes) do not fit the spool (" +
                         std::to_string(max_events_) + " events, " +
                         std::to_string(max_bytes_) + " bytes)");
  }
  // Oldest first out, as far as needed to fit the new events.
  size_t drop = 0;
  uint64_t kept_bytes = live_bytes_;
  while (drop < pending_.size() &&
         (pending_.size() - drop + events.size() > max_events_ ||
          kept_bytes + records.size() > max_bytes_)) {
    kept_bytes -= pending_[drop].record_bytes;
    ++drop;
  }
  std::string bytes = drop > 0 ? AckRecord(pending_[drop - 1].seq) : "";
  const uint64_t first_offset = log_bytes_ + bytes.size();
  bytes += records;
  Status s = WriteRecords(bytes);
  if (!s.ok()) return s;
  if (drop > 0) DropThrough(pending_[drop - 1].seq);
  uint64_t offset = first_offset;
  for (Index& e : added) {
    e.offset = offset;
    offset += e.record_bytes;
    live_bytes_ += e.record_bytes;
    pending_.push_back(e);
  }
  next_seq_ = seq;
  if (dropped != nullptr) *dropped = drop;
  return Status::Ok();
}

Result<std::vector<Spool::Entry>> Spool::Pending(size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Entry> out;
  std::string payload;
  uint64_t damaged_through = 0;
  for (size_t i = 0; i < pending_.size() && out.size() < max; ++i) {
    const Index& e = pending_[i];
    nlohmann::json j;
    if (ReadRecord(e.offset, log_bytes_, &payload)) {
      j = nlohmann::json::parse(payload, nullptr, false);
    }
    if (!j.is_object() || !j.contains("event") || !j["event"].is_object() ||
        !j.contains("seq") || j["seq"] != e.seq) {
      // Damaged since it was written. Only the oldest can be acknowledged
      // away (acks are a watermark): later damage waits its turn.
      if (!out.empty()) break;
      ++corrupt_records_;
      damaged_through = e.seq;
      warnings_.push_back(log_path_ + ": the record of event " + std::to_string(e.seq) +
                          " at byte " + std::to_string(e.offset) +
                          " no longer reads back intact; dropped");
      continue;
    }
    out.push_back({e.seq, e.spooled_at, j["event"].dump(), e.record_bytes});
  }
  if (damaged_through > 0) {
    Status s = WriteRecords(AckRecord(damaged_through));
    if (!s.ok()) return s;
    DropThrough(damaged_through);
  }
  return out;
}

Status Spool::Ack(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = WriteRecords(AckRecord(seq));
  if (!s.ok()) return s;
  DropThrough(seq);
  if (pending_.empty() || (log_bytes_ > kCompactBytes && live_bytes_ * 2 < log_bytes_)) {
    // The ack is durable already; a failed rewrite only leaves a longer
    // log (and is not sticky: the old log is intact).
    return Rewrite();
  }
  return Status::Ok();
}

Status Spool::Rewrite() {
  const std::string tmp = log_path_ + ".tmp";
  Result<std::unique_ptr<WritableFile>> out = env_->OpenWritable(tmp, true);
  if (!out.ok()) return out.status();
  // Pending records are copied as they are (their payload holds their seq
  // and time), one at a time.
  std::deque<Index> moved = pending_;
  uint64_t offset = 0;
  std::string record;
  Status s;
  for (Index& e : moved) {
    record.resize(e.record_bytes);
    Result<size_t> got = log_->ReadAt(e.offset, record.data(), record.size());
    if (!got.ok()) {
      s = got.status();
      break;
    }
    if (*got != record.size()) {
      s = Status::Error("cannot rewrite " + log_path_ + ": it ends early");
      break;
    }
    if (!(s = (*out)->Append(record)).ok()) break;
    e.offset = offset;
    offset += e.record_bytes;
  }
  if (s.ok()) s = (*out)->Sync();
  if (s.ok()) s = env_->RenameFile(tmp, log_path_);
  if (!s.ok()) {
    out->reset();
    (void)env_->DeleteFile(tmp);
    return s;
  }
  pending_ = std::move(moved);
  log_ = std::move(out).value();
  log_bytes_ = offset;
  live_bytes_ = offset;
  // The rename is durable only once the directory is synced; until then
  // the old log (a superset) may come back, which replay handles.
  return env_->SyncDir(dir_);
}

size_t Spool::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

uint64_t Spool::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_bytes_;
}

double Spool::OldestSpooledAt() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.empty() ? 0 : pending_.front().spooled_at;
}

Status Spool::error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

uint64_t Spool::corrupt_records() const {
  std::lock_guard<std::mutex> lock(mu_);
  return corrupt_records_;
}

std::vector<std::string> Spool::TakeWarnings() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(warnings_, {});
}

uint64_t Spool::LogBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return log_bytes_;
}

}  // namespace joelclaw
