#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nlohmann/json.hpp"

namespace joelclaw::testing {

/// Inngest's event API on 127.0.0.1, speaking its wire format (no Inngest
/// server can be installed here): `POST /e/{event_key}` with one JSON event
/// or an array of them. The right key gets 200 {"ids":[…],"status":200}
/// (one id per event); a wrong key 401 {"error":"Event key not found",
/// "status":401}; a body that is not an event or a list of events 400;
/// `GET /health` 200 {"status":200,"message":"OK"}; anything else 404. Every answer closes the connection. Like Inngest it
/// accepts duplicate event ids (deduplication happens downstream), so tests
/// count distinct ids themselves. Serves connections one at a time on one
/// thread; the accessors are thread-safe.
class FakeInngest {
 public:
  /// Listens on `port` (0 = the kernel picks; a fixed port lets a test stop
  /// "Inngest" and bring it back at the same address). Check ok().
  explicit FakeInngest(std::string event_key, int port = 0);
  ~FakeInngest();
  FakeInngest(const FakeInngest&) = delete;
  FakeInngest& operator=(const FakeInngest&) = delete;

  bool ok() const { return listen_fd_ >= 0; }
  int port() const { return port_; }
  /// "http://127.0.0.1:PORT", the bridge's inngest.url.
  std::string BaseUrl() const;

  /// Every event accepted so far, in arrival order (duplicates included).
  std::vector<nlohmann::json> Events() const;
  /// The number of distinct event ids among Events().
  size_t DistinctIds() const;
  /// POSTs answered 401 for a wrong key.
  int Unauthorized() const { return unauthorized_.load(); }
  /// Makes every later request to the right key answer `status` (e.g. 500)
  /// without accepting its events; 200 restores normal service.
  void SetStatus(int status) { status_ = status; }
  /// A request holding an event larger than `bytes` (as JSON) is answered
  /// 413 and none of its events is taken, like Inngest's size limit
  /// (0 = no limit, the default).
  void SetMaxEventBytes(size_t bytes) { max_event_bytes_ = bytes; }

  /// Stops listening and joins. Idempotent.
  void Stop();

 private:
  void Serve();
  void Handle(int fd);

  const std::string key_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> unauthorized_{0};
  std::atomic<int> status_{200};
  std::atomic<size_t> max_event_bytes_{0};
  mutable std::mutex mu_;
  std::vector<nlohmann::json> events_;  // GUARDED_BY(mu_)
  int next_id_ = 1;                     // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace joelclaw::testing
