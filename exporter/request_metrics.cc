#include "exporter/request_metrics.h"

namespace joelclaw {

RequestMetrics::RequestMetrics(std::string telemetry_path)
    : telemetry_path_(std::move(telemetry_path)) {
  // As promhttp does: the codes a scrape can end with exist from the start,
  // so a rate over them never starts from an absent series.
  for (int code : {200, 500, 503}) scrapes_[code] = 0;
}

void RequestMetrics::Count(const std::string& handler, int code) {
  std::lock_guard<std::mutex> lock(mu_);
  answered_[{handler, code}]++;
  if (handler == telemetry_path_) scrapes_[code]++;
}

void RequestMetrics::ScrapeStarted() {
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_++;
}

void RequestMetrics::ScrapeFinished() {
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_--;
}

MetricSet RequestMetrics::Metrics() const {
  MetricSet m;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, n] : answered_) {
    m.Counter("joelclaw_http_requests_total",
              "Requests answered by the exporter's HTTP endpoints, by handler (the route's "
              "path) and status code.",
              {{"handler", key.first}, {"code", std::to_string(key.second)}},
              static_cast<double>(n));
  }
  for (const auto& [code, n] : scrapes_) {
    m.Counter("promhttp_metric_handler_requests_total",
              "Total number of scrapes by HTTP status code.", {{"code", std::to_string(code)}},
              static_cast<double>(n));
  }
  m.Gauge("promhttp_metric_handler_requests_in_flight", "Current number of scrapes being served.",
          {}, in_flight_);
  return m;
}

}  // namespace joelclaw
