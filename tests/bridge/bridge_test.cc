#include "exporter/bridge/bridge.h"

#include <chrono>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/fake_inngest.h"
#include "tests/support/test_util.h"

namespace joelclaw {
namespace bridge_test {

using std::chrono::seconds;
using testing::FakeInngest;
using testing::ReadFileOrDie;
using testing::TempDir;
using testing::TestData;
using testing::WaitFor;

constexpr char kKey[] = "test-event-key";

BridgeConfig ConfigFor(const TempDir& dir, const FakeInngest& inngest,
                       std::string token = "") {
  BridgeConfig c;
  c.token = std::move(token);
  c.inngest_url = inngest.BaseUrl();
  c.event_key = kKey;
  c.timeout = Duration(2000);
  c.spool_dir = dir.File("spool");
  c.retry_initial = Duration(50);
  c.retry_max = Duration(200);
  return c;
}

HttpRequest Post(std::string body, std::string authorization = "") {
  HttpRequest r;
  r.method = "POST";
  r.path = "/alertmanager";
  r.body = std::move(body);
  if (!authorization.empty()) r.headers["authorization"] = authorization;
  return r;
}

std::unique_ptr<Bridge> OpenOrDie(const BridgeConfig& c,
                                  Bridge::Options o = {}) {
  auto b = Bridge::Open(c, std::move(o));
  EXPECT_TRUE(b.ok()) << b.status().message();
  return b.ok() ? std::move(b).value() : nullptr;
}

TEST(BridgeTest, DeliversEachAlertOnceAndCounts) {
  TempDir dir;
  FakeInngest inngest(kKey);
  ASSERT_TRUE(inngest.ok());
  auto bridge = OpenOrDie(ConfigFor(dir, inngest));
  bridge->Start();
  HttpResponse r = bridge->HandleNotification(
      Post(ReadFileOrDie(TestData("alertmanager/multiple.json"))));
  EXPECT_EQ(r.status, 200) << r.body;
  nlohmann::json answer = nlohmann::json::parse(r.body);
  EXPECT_EQ(answer["events"], 3);
  ASSERT_TRUE(
      WaitFor([&] { return bridge->Stats(0).events_sent == 3; }, seconds(10)));
  std::vector<nlohmann::json> got = inngest.Events();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0]["id"], answer["ids"][0]);
  EXPECT_EQ(got[1]["name"], "system/health.recovered");
  BridgeStats st = bridge->Stats(0);
  EXPECT_EQ(st.notifications[0], 1);  // accepted
  EXPECT_EQ(st.spool_events, 0);
  EXPECT_EQ(st.send_failures, 0);
}

TEST(BridgeTest, RejectsMissingOrWrongTokensInConstantForm) {
  TempDir dir;
  FakeInngest inngest(kKey);
  auto bridge = OpenOrDie(ConfigFor(dir, inngest, "s3cret"));
  const std::string body = ReadFileOrDie(TestData("alertmanager/firing.json"));
  struct Case {
    std::string header;
    std::string reason;
  };
  for (const Case& c : {Case{"", "needs an Authorization: Bearer header"},
                        Case{"Basic dXNlcjpwYXNz", "is not a bearer token"},
                        Case{"Bearer s3cre", "the bearer token is wrong"},
                        Case{"Bearer s3cret2", "the bearer token is wrong"}}) {
    SCOPED_TRACE(c.header);
    HttpResponse r = bridge->HandleNotification(Post(body, c.header));
    EXPECT_EQ(r.status, 401);
    EXPECT_NE(r.body.find(c.reason), std::string::npos) << r.body;
  }
  EXPECT_EQ(bridge->HandleNotification(Post(body, "Bearer s3cret")).status,
            200);
  EXPECT_EQ(bridge->HandleNotification(Post(body, "bearer s3cret")).status,
            200);
  BridgeStats st = bridge->Stats(0);
  EXPECT_EQ(st.notifications[2], 4);  // unauthorized
  EXPECT_EQ(st.notifications[0], 2);
  EXPECT_EQ(st.spool_events, 2);  // Not started: nothing sent.
}

TEST(BridgeTest, ABadPayloadIs400WithTheReason) {
  TempDir dir;
  FakeInngest inngest(kKey);
  auto bridge = OpenOrDie(ConfigFor(dir, inngest));
  HttpResponse r = bridge->HandleNotification(
      Post(ReadFileOrDie(TestData("alertmanager/invalid-wrong-version.json"))));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("only webhook payload version '4'"), std::string::npos)
      << r.body;
  EXPECT_EQ(bridge->Stats(0).notifications[1], 1);
  EXPECT_EQ(bridge->Stats(0).spool_events, 0);
}

TEST(BridgeTest, ASpoolThatCannotTakeTheEventsIs503) {
  TempDir dir;
  FakeInngest inngest(kKey);
  Bridge::Options o;
  o.spool.max_events = 2;
  auto bridge = OpenOrDie(ConfigFor(dir, inngest), o);
  HttpResponse r = bridge->HandleNotification(
      Post(ReadFileOrDie(TestData("alertmanager/multiple.json"))));
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("could not be spooled"), std::string::npos) << r.body;
  EXPECT_EQ(bridge->Stats(0).notifications[3], 1);
}

TEST(BridgeTest, RetriesWithBackoffUntilInngestAcceptsThenStopsPromptly) {
  TempDir dir;
  FakeInngest inngest(kKey);
  inngest.SetStatus(500);
  auto bridge = OpenOrDie(ConfigFor(dir, inngest));
  bridge->Start();
  ASSERT_EQ(bridge
                ->HandleNotification(
                    Post(ReadFileOrDie(TestData("alertmanager/firing.json"))))
                .status,
            200);
  ASSERT_TRUE(WaitFor([&] { return bridge->Stats(0).send_failures >= 3; },
                      seconds(10)));
  BridgeStats st = bridge->Stats(1e10);
  EXPECT_EQ(st.spool_events, 1);
  EXPECT_GT(st.spool_oldest_age_seconds, 0);
  inngest.SetStatus(200);
  ASSERT_TRUE(
      WaitFor([&] { return bridge->Stats(0).events_sent == 1; }, seconds(10)));
  EXPECT_EQ(bridge->Stats(0).spool_events, 0);
  EXPECT_EQ(bridge->Stats(0).spool_oldest_age_seconds, 0);

  // A wrong key (401) is a failure like any other; Stop() ends the backoff.
  BridgeConfig wrong = ConfigFor(dir, inngest);
  wrong.event_key = "wrong";
  wrong.retry_initial = wrong.retry_max = Duration(60000);
  bridge->Update(wrong);
  ASSERT_EQ(bridge
                ->HandleNotification(
                    Post(ReadFileOrDie(TestData("alertmanager/resolved.json"))))
                .status,
            200);
  ASSERT_TRUE(
      WaitFor([&] { return inngest.Unauthorized() >= 1; }, seconds(10)));
  auto start = std::chrono::steady_clock::now();
  bridge->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(2));
  EXPECT_EQ(bridge->Stats(0).spool_events, 1);
}

}  // namespace bridge_test
}  // namespace joelclaw
