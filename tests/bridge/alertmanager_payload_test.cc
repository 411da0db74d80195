#include "exporter/bridge/alertmanager_payload.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/test_util.h"

namespace joelclaw {
namespace alertmanager_payload_test {

using testing::ReadFileOrDie;
using testing::TestData;

std::string Fixture(const std::string& name) {
  return ReadFileOrDie(TestData("alertmanager/" + name));
}

std::string Chomp(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

TEST(AlertmanagerPayloadTest, ParsesAFiringNotification) {
  Result<AlertmanagerPayload> p =
      ParseAlertmanagerPayload(Fixture("firing.json"));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->status, "firing");
  EXPECT_EQ(p->receiver, "joelclaw-bridge");
  EXPECT_EQ(p->group_labels.at("alertname"), "JoelclawProbeFailing");
  EXPECT_EQ(p->common_labels.at("severity"), "warning");
  ASSERT_EQ(p->alerts.size(), 1u);
  const AlertmanagerAlert& a = p->alerts[0];
  EXPECT_EQ(a.status, "firing");
  EXPECT_EQ(a.labels.at("target"), "inngest");
  EXPECT_EQ(a.annotations.at("summary"), "A health check is failing.");
  EXPECT_EQ(a.starts_at, "2026-11-30T21:14:05.193Z");
  EXPECT_EQ(a.ends_at, "0001-01-01T00:00:00Z");
  EXPECT_EQ(a.generator_url,
            "http://panda:9090/"
            "graph?g0.expr=joelclaw_probe_success+%3D%3D+0&g0.tab=1");
  EXPECT_EQ(a.fingerprint, "5ab71b9a1e9f3c2d");
}

TEST(AlertmanagerPayloadTest, ParsesResolvedAndMultipleAlerts) {
  Result<AlertmanagerPayload> r =
      ParseAlertmanagerPayload(Fixture("resolved.json"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->alerts[0].status, "resolved");
  EXPECT_EQ(r->alerts[0].ends_at, "2026-11-30T21:31:50.193Z");

  Result<AlertmanagerPayload> m =
      ParseAlertmanagerPayload(Fixture("multiple.json"));
  ASSERT_TRUE(m.ok()) << m.status().message();
  ASSERT_EQ(m->alerts.size(), 3u);
  EXPECT_EQ(m->alerts[1].status, "resolved");
  EXPECT_EQ(m->alerts[1].labels.at("label"), "com.joel.caddy");
  EXPECT_EQ(m->alerts[2].labels.at("mountpoint"), "/volume1");
}

// Every tests/testdata/alertmanager/invalid-NAME.json fails with the
// sentence in invalid-NAME.json.err.
TEST(AlertmanagerPayloadTest, InvalidPayloadsFailWithTheirReason) {
  int cases = 0;
  for (const auto& e :
       std::filesystem::directory_iterator(TestData("alertmanager"))) {
    const std::string name = e.path().filename().string();
    if (name.rfind("invalid-", 0) != 0 || e.path().extension() != ".json")
      continue;
    SCOPED_TRACE(name);
    ++cases;
    Result<AlertmanagerPayload> p = ParseAlertmanagerPayload(Fixture(name));
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().message(), Chomp(Fixture(name + ".err")));
  }
  EXPECT_GE(cases, 20);
}

TEST(AlertmanagerPayloadTest, HostileBodiesFailCleanly) {
  for (const std::string& body :
       {std::string(""), std::string("null"), std::string("\"4\""),
        std::string(100000, '['),
        std::string("{\"version\":\"4\"") + std::string(100000, ' ')}) {
    Result<AlertmanagerPayload> p = ParseAlertmanagerPayload(body);
    EXPECT_FALSE(p.ok());
  }
}

TEST(AlertmanagerPayloadTest, AHugeNotificationParsesWhole) {
  // Alertmanager sends a whole group at once; thousands of alerts are legal.
  nlohmann::json doc = nlohmann::json::parse(Fixture("firing.json"));
  nlohmann::json alert = doc["alerts"][0];
  doc["alerts"] = nlohmann::json::array();
  for (int i = 0; i < 5000; ++i) {
    alert["fingerprint"] = "fp" + std::to_string(i);
    alert["annotations"]["description"] = std::string(500, 'x');
    doc["alerts"].push_back(alert);
  }
  const std::string body = doc.dump();
  ASSERT_GT(body.size(), 2u << 20);
  Result<AlertmanagerPayload> p = ParseAlertmanagerPayload(body);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->alerts.size(), 5000u);
  EXPECT_EQ(p->alerts[4999].fingerprint, "fp4999");
}

TEST(InngestEventTest, BuildsOneEventPerAlert) {
  Result<AlertmanagerPayload> m =
      ParseAlertmanagerPayload(Fixture("multiple.json"));
  ASSERT_TRUE(m.ok());
  std::vector<nlohmann::json> events = BuildInngestEvents(*m, 1764537245123);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["name"], "system/health.degraded");
  EXPECT_EQ(events[1]["name"], "system/health.recovered");
  EXPECT_EQ(events[2]["name"], "system/health.degraded");
  const nlohmann::json& e = events[1];
  EXPECT_EQ(e["ts"], 1764537245123);
  EXPECT_EQ(e["id"], InngestEventId(m->alerts[1]));
  EXPECT_EQ(e["data"]["status"], "resolved");
  EXPECT_EQ(e["data"]["labels"]["label"], "com.joel.caddy");
  EXPECT_EQ(e["data"]["annotations"]["summary"],
            "A launchd job is not running.");
  EXPECT_EQ(e["data"]["startsAt"], "2026-11-30T20:02:35.193Z");
  EXPECT_EQ(e["data"]["endsAt"], "2026-11-30T21:10:05.193Z");
  EXPECT_EQ(e["data"]["generatorURL"],
            "http://panda:9090/"
            "graph?g0.expr=joelclaw_launchd_job_running+%3D%3D+0&g0.tab=1");
  EXPECT_EQ(e["data"]["fingerprint"], "e0c1d4a52b7f8061");
  EXPECT_EQ(e["data"]["receiver"], "joelclaw-bridge");
}

TEST(InngestEventTest, IdIsStableForResendsAndDiffersByStatus) {
  Result<AlertmanagerPayload> f =
      ParseAlertmanagerPayload(Fixture("firing.json"));
  Result<AlertmanagerPayload> r =
      ParseAlertmanagerPayload(Fixture("resolved.json"));
  ASSERT_TRUE(f.ok() && r.ok());
  const std::string id = InngestEventId(f->alerts[0]);
  // sha256("5ab71b9a1e9f3c2d|2026-11-30T21:14:05.193Z|firing"), computed
  // independently with: printf %s '…' | sha256sum
  EXPECT_EQ(id,
            "joelclaw-"
            "da8bff20f8ddcb6d82e8895db49b359d6c99a6200b7aa5ed94cbfbf42f9e10e9");
  // A re-send of the same notification, later: same id, new ts.
  EXPECT_EQ(BuildInngestEvents(*f, 1)[0]["id"],
            BuildInngestEvents(*f, 99999)[0]["id"]);
  // Resolution is a new event; a new firing episode (new startsAt) too.
  EXPECT_NE(InngestEventId(r->alerts[0]), id);
  AlertmanagerAlert again = f->alerts[0];
  again.starts_at = "2026-12-01T08:00:00Z";
  EXPECT_NE(InngestEventId(again), id);
  // Annotations and labels other than the fingerprint do not matter.
  again = f->alerts[0];
  again.annotations["description"] = "changed";
  EXPECT_EQ(InngestEventId(again), id);
}

}  // namespace alertmanager_payload_test
}  // namespace joelclaw
