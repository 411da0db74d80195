#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

#include "exporter/bridge/bridge_config.h"
#include "exporter/bridge/spool.h"
#include "exporter/env.h"
#include "exporter/http_server.h"

namespace joelclaw {

/// Outcomes of POST /alertmanager: the `status` label of
/// joelclaw_bridge_notifications_total, every one exported from the start.
inline constexpr std::array<std::string_view, 4> kBridgeNotificationStatuses = {
    "accepted", "bad_request", "unauthorized", "spool_error"};

/// The bridge's counters and spool state, copied into each snapshot.
struct BridgeStats {
  std::array<double, kBridgeNotificationStatuses.size()> notifications{};
  double events_sent = 0;    ///< Events Inngest acknowledged.
  double send_failures = 0;  ///< Failed delivery attempts.
  double spool_events = 0;   ///< Events spooled and not yet delivered.
  double spool_oldest_age_seconds = 0;  ///< 0 when the spool is empty.
};

/// The Alertmanager → Inngest bridge: HandleNotification() turns each alert
/// of a webhook notification into one Inngest event and answers 2xx only
/// once they are all in the durable spool; a sender thread delivers spooled
/// events in order with exponential backoff and acknowledges them in the
/// spool. Delivery is at least once with stable event ids: a crash between
/// a send and its ack re-sends, and Inngest drops the duplicate by id.
///
/// The class is thread-safe: HandleNotification() runs on HTTP threads,
/// Update() on the reloading thread, Stats() on the publisher.
class Bridge {
 public:
  struct Options {
    Env* env = nullptr;  ///< nullptr = Env::Default().
    std::function<void()>
        on_change;  ///< Called when Stats() changed; may be empty.
    Spool::Options spool;
  };

  /// Opens the spool (replaying what a previous run left). Logs replay
  /// warnings. Does not start sending: call Start().
  static Result<std::unique_ptr<Bridge>> Open(const BridgeConfig& config,
                                              Options options);
  ~Bridge();  ///< Stop()s.
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  /// Starts the sender thread.
  void Start();
  /// Stops the sender within about a second (an in-flight send is
  /// cancelled; its events stay spooled). Idempotent.
  void Stop();
  /// Takes a reloaded config's token, Inngest settings and retry policy,
  /// and retries at once. REQUIRES: config.spool_dir == the open spool's.
  void Update(const BridgeConfig& config);
  const std::string& spool_dir() const { return spool_->dir(); }

  /// POST /alertmanager: 401 (token), 400 (payload), 503 (spool) or 200.
  HttpResponse HandleNotification(const HttpRequest& request);

  BridgeStats Stats(double now) const;

 private:
  Bridge(const BridgeConfig& config, Options options,
         std::unique_ptr<Spool> spool);
  void SenderLoop();
  void Count(size_t status_index);
  void Changed() const;

  Options options_;
  Env* env_;
  std::unique_ptr<Spool> spool_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  BridgeConfig config_;     // GUARDED_BY(mu_)
  bool wake_ = false;       // GUARDED_BY(mu_); new events or new config.
  bool retry_now_ = false;  // GUARDED_BY(mu_); new config ends a backoff.
  bool stopping_ = false;   // GUARDED_BY(mu_)
  BridgeStats stats_;       // GUARDED_BY(mu_); spool fields unused.
  std::atomic<bool> cancel_{false};
  std::thread sender_;
};

}  // namespace joelclaw
