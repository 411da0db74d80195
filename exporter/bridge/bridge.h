#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "exporter/bridge/bridge_config.h"
#include "exporter/bridge/spool.h"
#include "exporter/env.h"
#include "exporter/http_server.h"
#include "exporter/metric_set.h"
#include "nlohmann/json.hpp"

namespace joelclaw {

/// Outcomes of POST /alertmanager: the `status` label of
/// joelclaw_bridge_notifications_total, every one exported from the start.
inline constexpr std::array<std::string_view, 6> kBridgeNotificationStatuses = {
    "accepted", "bad_request", "unauthorized", "unsupported_media_type", "too_large",
    "spool_error"};

/// Why events were given up on: the `reason` label of
/// joelclaw_bridge_events_dropped_total. `rejected`: Inngest answered a
/// permanent 4xx for the event; `spool_full`: the oldest pending events made
/// room for new ones; `corrupt`: a damaged spool record was skipped.
inline constexpr std::array<std::string_view, 3> kBridgeDropReasons = {"rejected", "spool_full",
                                                                       "corrupt"};

/// The bridge's counters and spool state, copied into each snapshot.
struct BridgeStats {
  std::array<double, kBridgeNotificationStatuses.size()> notifications{};
  std::array<double, kBridgeDropReasons.size()> events_dropped{};
  double events_sent = 0;     ///< Events Inngest acknowledged.
  double events_trimmed = 0;  ///< Events sent with their annotations trimmed.
  double send_failures = 0;   ///< Failed delivery attempts.
  double spool_events = 0;    ///< Events spooled and not yet delivered.
  double spool_bytes = 0;     ///< Bytes of those events' records.
  double spool_oldest_age_seconds = 0;  ///< 0 when the spool is empty.
  double spool_writable = 0;  ///< 1 while the spool is open without error.
};

/// Adds the joelclaw_bridge_* families (docs/metrics.md) to `m`.
void AddBridgeMetrics(const BridgeStats& stats, MetricSet* m);

/// The Alertmanager → Inngest bridge: HandleNotification() turns each alert
/// of a webhook notification into one Inngest event and answers 2xx only
/// once they are all in the durable spool; a sender thread delivers spooled
/// events in order with exponential backoff and acknowledges them in the
/// spool. Delivery is at least once with stable event ids: a crash between
/// a send and its ack re-sends, and Inngest drops the duplicate by id.
/// docs/alerting.md ("Delivery guarantees") lists what is dropped, when,
/// and how each drop is counted; every drop is also a warn log line.
///
/// The spool may be unavailable (its directory unwritable, the disk full or
/// read-only, a sticky write error): the bridge then answers 503, exports
/// spool_writable 0 and its sender keeps trying to (re)open the spool with
/// the retry backoff; the rest of the exporter is unaffected.
///
/// The class is thread-safe: CheckHeaders() and HandleNotification() run on
/// HTTP threads, Update() on the reloading thread, Stats() on the publisher.
class Bridge {
 public:
  struct Options {
    Env* env = nullptr;  ///< Clock and disk; nullptr = Env::Default().
    std::function<void()> on_change;  ///< Called when Stats() changed; may be empty.
    Spool::Options spool;  ///< Its limits are taken from the config.
  };

  /// Opens the spool (replaying what a previous run left); when that fails
  /// the error is logged and the sender retries. Does not start sending:
  /// call Start().
  static std::unique_ptr<Bridge> Open(const BridgeConfig& config, Options options);
  ~Bridge();  ///< Stop()s.
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  /// Starts the sender thread.
  void Start();
  /// Stops the sender within about a second (an in-flight send is
  /// cancelled; its events stay spooled). Idempotent.
  void Stop();
  /// Takes a reloaded config's token, Inngest settings, limits and retry
  /// policy, and retries at once. REQUIRES: config.spool_dir == spool_dir().
  void Update(const BridgeConfig& config);
  const std::string& spool_dir() const { return spool_dir_; }

  /// The checks that need only the headers, for the route's precheck (so a
  /// body is never read for them): 401 (token), 415 (Content-Type must be
  /// application/json), 413 (Content-Length over max_notification_bytes).
  /// nullopt when the request may go on. Counts what it answers.
  std::optional<HttpResponse> CheckHeaders(const HttpRequest& request);
  /// POST /alertmanager: CheckHeaders(), then 400 (payload), 413 (an event
  /// too large even trimmed), 503 (spool) or 200.
  HttpResponse HandleNotification(const HttpRequest& request);

  BridgeStats Stats(double now) const;

 private:
  Bridge(const BridgeConfig& config, Options options);
  // Opens the spool; on success it is the bridge's spool from now on.
  Status OpenSpool(const BridgeConfig& config);
  void SenderLoop();
  void Count(size_t status_index);
  void Changed() const;
  std::shared_ptr<Spool> CurrentSpool() const;
  void LogSpoolWarnings(Spool& spool);

  Options options_;
  Env* env_;
  const std::string spool_dir_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  BridgeConfig config_;            // GUARDED_BY(mu_)
  std::shared_ptr<Spool> spool_;   // GUARDED_BY(mu_); null while unavailable.
  std::string spool_problem_;      // GUARDED_BY(mu_); why it is unavailable.
  uint64_t corrupt_counted_ = 0;   // GUARDED_BY(mu_); of the open spool.
  bool wake_ = false;              // GUARDED_BY(mu_); new events or new config.
  bool retry_now_ = false;         // GUARDED_BY(mu_); new config ends a backoff.
  bool stopping_ = false;          // GUARDED_BY(mu_)
  BridgeStats stats_;              // GUARDED_BY(mu_); spool fields unused.
  std::atomic<bool> cancel_{false};
  std::thread sender_;
};

/// Makes `event` (an Inngest event from BuildInngestEvents) fit in
/// `max_bytes` of JSON by shortening, then removing, the alert's annotations
/// (data.annotations), marking it data.trimmed. True when it fits (it may
/// not have needed trimming). Pure.
bool TrimInngestEvent(nlohmann::json* event, size_t max_bytes);

}  // namespace joelclaw
