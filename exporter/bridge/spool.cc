#include "exporter/bridge/spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "nlohmann/json.hpp"

namespace joelclaw {
namespace {

constexpr size_t kHeaderBytes = 8;
// A rewrite is worth it once the log is this big and mostly acknowledged.
constexpr uint64_t kCompactBytes = 1 << 20;

std::string Errno() { return std::strerror(errno); }

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint32_t Crc(const std::string_view data) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(data.data()),
            static_cast<uInt>(data.size())));
}

std::string EventPayload(uint64_t seq, double spooled_at,
                         const std::string& event) {
  // The event is spliced in as text: it is already JSON and need not be
  // re-parsed on the request path.
  return "{\"seq\":" + std::to_string(seq) +
         ",\"spooled_at\":" + nlohmann::json(spooled_at).dump() +
         ",\"event\":" + event + "}";
}

Status WriteAll(int fd, const std::string& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error("cannot write " + path + ": " + Errno());
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status SyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return Status::Error("cannot open directory " + dir + ": " + Errno());
  int rc = fsync(fd);
  std::string err = rc == 0 ? "" : Errno();
  close(fd);
  if (rc != 0)
    return Status::Error("cannot sync directory " + dir + ": " + err);
  return Status::Ok();
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

Result<std::unique_ptr<Spool>> Spool::Open(const std::string& dir,
                                           Options options) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::Error("cannot create spool directory " + dir + ": " +
                         Errno());
  }
  std::unique_ptr<Spool> spool(new Spool(dir, options));
  const std::string lock_path = dir + "/LOCK";
  spool->lock_fd_ = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (spool->lock_fd_ < 0)
    return Status::Error("cannot open " + lock_path + ": " + Errno());
  if (flock(spool->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Status::Error("spool directory " + dir +
                         " is in use by another process (" + lock_path +
                         " is locked)");
  }
  const std::string log = dir + "/spool.log";
  spool->fd_ = open(log.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (spool->fd_ < 0)
    return Status::Error("cannot open " + log + ": " + Errno());
  Status s = spool->Replay();
  if (!s.ok()) return s;
  return spool;
}

Spool::~Spool() {
  if (fd_ >= 0) close(fd_);
  if (lock_fd_ >= 0) close(lock_fd_);  // Releases the flock.
}

Status Spool::Replay() {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string log = dir_ + "/spool.log";
  std::string data;
  {
    char buf[65536];
    off_t at = 0;
    while (true) {
      ssize_t n = pread(fd_, buf, sizeof(buf), at);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::Error("cannot read " + log + ": " + Errno());
      if (n == 0) break;
      data.append(buf, static_cast<size_t>(n));
      at += n;
    }
  }
  uint64_t acked = 0;
  size_t off = 0;
  std::string problem;
  while (off < data.size()) {
    if (data.size() - off < kHeaderBytes) {
      problem = "a torn record header";
      break;
    }
    const uint32_t len = GetU32(data.data() + off);
    const uint32_t crc = GetU32(data.data() + off + 4);
    if (len > options_.max_record_bytes + 4096 ||
        data.size() - off - kHeaderBytes < len) {
      problem = "a torn record (length " + std::to_string(len) + ")";
      break;
    }
    std::string_view payload(data.data() + off + kHeaderBytes, len);
    if (Crc(payload) != crc) {
      problem = "a record whose checksum does not match";
      break;
    }
    nlohmann::json j = nlohmann::json::parse(payload, nullptr, false);
    const size_t record_bytes = kHeaderBytes + len;
    if (j.is_object() && j.contains("ack") && j["ack"].is_number_unsigned()) {
      acked = std::max<uint64_t>(acked, j["ack"].get<uint64_t>());
      while (!pending_.empty() && pending_.front().seq <= acked) {
        live_bytes_ -= pending_.front().record_bytes;
        pending_.pop_front();
      }
    } else if (j.is_object() && j.contains("seq") &&
               j["seq"].is_number_unsigned() && j.contains("event") &&
               j["event"].is_object()) {
      Entry e;
      e.seq = j["seq"].get<uint64_t>();
      e.spooled_at = j.value("spooled_at", 0.0);
      e.event = j["event"].dump();
      e.record_bytes = record_bytes;
      next_seq_ = std::max(next_seq_, e.seq + 1);
      if (e.seq > acked) {
        live_bytes_ += record_bytes;
        pending_.push_back(std::move(e));
      }
    } else {
      problem = "a record that is neither an event nor an acknowledgement";
      break;
    }
    off += record_bytes;
  }
  next_seq_ = std::max(next_seq_, acked + 1);
  log_bytes_ = off;
  if (!problem.empty()) {
    warnings_.push_back(
        log + ": " + problem + " at byte " + std::to_string(off) +
        " (a crash mid-write?); dropped the last " +
        std::to_string(data.size() - off) + " bytes, kept " +
        std::to_string(pending_.size()) + " pending events before it");
    // Cut the damage off so later appends follow valid records.
    if (ftruncate(fd_, static_cast<off_t>(off)) != 0 || fdatasync(fd_) != 0) {
      return Status::Error("cannot cut the damaged tail off " + log + ": " +
                           Errno());
    }
  }
  return Status::Ok();
}

Status Spool::WriteRecords(const std::string& bytes) {
  const std::string log = dir_ + "/spool.log";
  Status s = WriteAll(fd_, bytes, log);
  if (s.ok() && fdatasync(fd_) != 0)
    s = Status::Error("cannot sync " + log + ": " + Errno());
  if (!s.ok()) {
    // Best effort: a partial record would otherwise sit before later ones
    // (replay would stop at it). If this fails too, replay's checksum still
    // catches it.
    if (ftruncate(fd_, static_cast<off_t>(log_bytes_)) != 0) {
      s = s.WithPrefix("and cutting it back failed");
    }
    return s;
  }
  log_bytes_ += bytes.size();
  return Status::Ok();
}

Status Spool::Append(const std::vector<std::string>& events, double now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (pending_.size() + events.size() > options_.max_events) {
    return Status::Error("the spool in " + dir_ + " is full (" +
                         std::to_string(pending_.size()) +
                         " undelivered events, limit " +
                         std::to_string(options_.max_events) + ")");
  }
  std::string bytes;
  std::vector<Entry> added;
  uint64_t seq = next_seq_;
  for (const std::string& ev : events) {
    if (ev.size() > options_.max_record_bytes) {
      return Status::Error("an event of " + std::to_string(ev.size()) +
                           " bytes is over the spool's record limit of " +
                           std::to_string(options_.max_record_bytes));
    }
    const std::string record = EncodeSpoolRecord(EventPayload(seq, now, ev));
    bytes += record;
    added.push_back({seq++, now, ev, record.size()});
  }
  Status s = WriteRecords(bytes);
  if (!s.ok()) return s;
  next_seq_ = seq;
  live_bytes_ += bytes.size();
  for (Entry& e : added) pending_.push_back(std::move(e));
  return Status::Ok();
}

std::vector<Spool::Entry> Spool::Pending(size_t max) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Entry> out;
  for (size_t i = 0; i < pending_.size() && i < max; ++i)
    out.push_back(pending_[i]);
  return out;
}

Status Spool::Ack(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s =
      WriteRecords(EncodeSpoolRecord("{\"ack\":" + std::to_string(seq) + "}"));
  if (!s.ok()) return s;
  while (!pending_.empty() && pending_.front().seq <= seq) {
    live_bytes_ -= pending_.front().record_bytes;
    pending_.pop_front();
  }
  if (pending_.empty() ||
      (log_bytes_ > kCompactBytes && live_bytes_ * 2 < log_bytes_)) {
    // The ack is durable already; a failed rewrite only leaves a longer log.
    return Rewrite();
  }
  return Status::Ok();
}

Status Spool::Rewrite() {
  const std::string log = dir_ + "/spool.log";
  const std::string tmp = log + ".tmp";
  std::string bytes;
  for (Entry& e : pending_) {
    const std::string record =
        EncodeSpoolRecord(EventPayload(e.seq, e.spooled_at, e.event));
    e.record_bytes = record.size();
    bytes += record;
  }
  int fd = open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
                0600);
  if (fd < 0) return Status::Error("cannot create " + tmp + ": " + Errno());
  Status s = WriteAll(fd, bytes, tmp);
  if (s.ok() && fdatasync(fd) != 0)
    s = Status::Error("cannot sync " + tmp + ": " + Errno());
  if (s.ok() && rename(tmp.c_str(), log.c_str()) != 0) {
    s = Status::Error("cannot rename " + tmp + " to " + log + ": " + Errno());
  }
  if (!s.ok()) {
    close(fd);
    unlink(tmp.c_str());
    return s;
  }
  // The rename is durable only once the directory is synced; until then
  // the old log (a superset) may come back, which replay handles.
  s = SyncDir(dir_);
  close(fd_);
  fd_ = fd;
  log_bytes_ = bytes.size();
  live_bytes_ = bytes.size();
  return s;
}

size_t Spool::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

double Spool::OldestSpooledAt() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.empty() ? 0 : pending_.front().spooled_at;
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
