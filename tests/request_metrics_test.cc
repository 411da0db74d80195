#include "exporter/request_metrics.h"

#include "gtest/gtest.h"

namespace joelclaw {
namespace request_metrics_test {

TEST(RequestMetricsTest, CountsByHandlerAndCodeAndScrapesLikePromhttp) {
  RequestMetrics r("/metrics");
  double v = -1;
  MetricSet fresh = r.Metrics();
  // promhttp's codes exist from the start; route counts only once seen.
  for (const char* code : {"200", "500", "503"}) {
    ASSERT_TRUE(fresh.Find("promhttp_metric_handler_requests_total", {{"code", code}}, &v));
    EXPECT_EQ(v, 0);
  }
  EXPECT_FALSE(fresh.Find("joelclaw_http_requests_total",
                          {{"handler", "/metrics"}, {"code", "200"}}, &v));

  r.Count("/metrics", 200);
  r.Count("/metrics", 200);
  r.Count("/alertmanager", 404);
  r.Count("/-/ready", 503);
  r.ScrapeStarted();
  MetricSet m = r.Metrics();
  ASSERT_TRUE(m.Find("joelclaw_http_requests_total", {{"handler", "/metrics"}, {"code", "200"}},
                     &v));
  EXPECT_EQ(v, 2);
  ASSERT_TRUE(m.Find("joelclaw_http_requests_total",
                     {{"handler", "/alertmanager"}, {"code", "404"}}, &v));
  EXPECT_EQ(v, 1);
  ASSERT_TRUE(m.Find("promhttp_metric_handler_requests_total", {{"code", "200"}}, &v));
  EXPECT_EQ(v, 2);
  // Only the telemetry path counts as a scrape.
  ASSERT_TRUE(m.Find("promhttp_metric_handler_requests_total", {{"code", "503"}}, &v));
  EXPECT_EQ(v, 0);
  ASSERT_TRUE(m.Find("promhttp_metric_handler_requests_in_flight", {}, &v));
  EXPECT_EQ(v, 1);
  r.ScrapeFinished();
  ASSERT_TRUE(r.Metrics().Find("promhttp_metric_handler_requests_in_flight", {}, &v));
  EXPECT_EQ(v, 0);
}

TEST(RequestMetricsTest, TheTelemetryPathIsConfigurable) {
  RequestMetrics r("/prom");
  r.Count("/prom", 200);
  r.Count("/metrics", 200);  // Not the telemetry path here.
  double v = -1;
  ASSERT_TRUE(r.Metrics().Find("promhttp_metric_handler_requests_total", {{"code", "200"}}, &v));
  EXPECT_EQ(v, 1);
}

}  // namespace request_metrics_test
}  // namespace joelclaw
