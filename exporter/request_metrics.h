#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "exporter/metric_set.h"

namespace joelclaw {

/// Counts the answers of the exporter's HTTP routes, as the route handlers
/// give them (exporter/app.cc), for `joelclaw_http_requests_total{handler,
/// code}` — `handler` is the route's path, a fixed set — and, for the
/// telemetry path, client_golang's `promhttp_metric_handler_requests_total
/// {code}` and `promhttp_metric_handler_requests_in_flight`. Requests that
/// never reach a route (basic auth refused, unknown path, wrong method) are
/// not counted. The class is thread-safe; counting is one locked map update.
class RequestMetrics {
 public:
  explicit RequestMetrics(std::string telemetry_path);

  /// One answered request of the route at `handler`.
  void Count(const std::string& handler, int code);
  /// Brackets the serving of one scrape of the telemetry path.
  void ScrapeStarted();
  void ScrapeFinished();

  /// The families as they stand now. Cheap enough for each scrape: the
  /// telemetry handler appends them to the snapshot, so the counters are
  /// current rather than as old as the snapshot.
  MetricSet Metrics() const;

 private:
  const std::string telemetry_path_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> answered_;  // GUARDED_BY(mu_)
  std::map<int, uint64_t> scrapes_;                           // GUARDED_BY(mu_)
  int in_flight_ = 0;                                         // GUARDED_BY(mu_)
};

}  // namespace joelclaw
