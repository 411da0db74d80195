#include "exporter/bridge/bridge.h"

#include <chrono>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/fault_injection_env.h"
#include "tests/support/fake_inngest.h"
#include "tests/support/test_util.h"

namespace joelclaw {
namespace bridge_test {

using std::chrono::seconds;
using testing::FakeInngest;
using testing::FaultInjectionEnv;
using testing::ReadFileOrDie;
using testing::TempDir;
using testing::TestData;
using testing::WaitFor;

constexpr char kKey[] = "test-event-key";
constexpr char kToken[] = "bridge-token";

BridgeConfig ConfigFor(const TempDir& dir, const FakeInngest& inngest,
                       std::string token = kToken) {
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

HttpRequest Post(std::string body,
                 std::string authorization = std::string("Bearer ") + kToken) {
  HttpRequest r;
  r.method = "POST";
  r.path = "/alertmanager";
  r.body = std::move(body);
  r.headers["content-type"] = "application/json";
  if (!authorization.empty()) r.headers["authorization"] = authorization;
  return r;
}

std::unique_ptr<Bridge> OpenOrDie(const BridgeConfig& c,
                                  Bridge::Options o = {}) {
  return Bridge::Open(c, std::move(o));
}

// A firing notification whose one alert carries an annotation (and, with
// `in_label`, a label) of `bytes` bytes.
std::string BigAlert(size_t bytes, bool in_label = false,
                     const std::string& fingerprint = "f1") {
  nlohmann::json doc = nlohmann::json::parse(
      ReadFileOrDie(TestData("alertmanager/firing.json")));
  nlohmann::json& alert = doc["alerts"][0];
  alert["fingerprint"] = fingerprint;
  (in_label ? alert["labels"] : alert["annotations"])["description"] =
      std::string(bytes, 'd');
  return doc.dump();
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
  // The route's precheck gives the same answer before any body is read.
  EXPECT_EQ(bridge->CheckHeaders(Post("", "Bearer nope"))->status, 401);
  EXPECT_FALSE(bridge->CheckHeaders(Post("", "Bearer s3cret")).has_value());
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
  EXPECT_EQ(st.notifications[2], 5);  // unauthorized
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
  BridgeConfig c = ConfigFor(dir, inngest);
  c.spool_max_events = 2;  // multiple.json has 3 alerts.
  auto bridge = OpenOrDie(c);
  HttpResponse r = bridge->HandleNotification(
      Post(ReadFileOrDie(TestData("alertmanager/multiple.json"))));
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("could not be spooled"), std::string::npos) << r.body;
  EXPECT_EQ(bridge->Stats(0).notifications[5], 1);  // spool_error
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

  // A wrong key (401) is the config's fault, not the events': retried,
  // never dropped; Stop() ends the backoff.
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
  EXPECT_EQ(bridge->Stats(0).events_dropped[0], 0);
}

TEST(BridgeTest, APermanentRejectionDropsOnlyThatEventAndCountsIt) {
  TempDir dir;
  FakeInngest inngest(kKey);
  inngest.SetMaxEventBytes(8 << 10);  // Inngest answers 413 for bigger ones.
  auto bridge = OpenOrDie(ConfigFor(dir, inngest));
  // Queued before the sender starts, so all go in one batch: the big one
  // sits between two that Inngest takes.
  ASSERT_EQ(bridge->HandleNotification(Post(BigAlert(100, false, "a"))).status, 200);
  ASSERT_EQ(bridge->HandleNotification(Post(BigAlert(20000, false, "big"))).status, 200);
  ASSERT_EQ(bridge->HandleNotification(Post(BigAlert(100, false, "c"))).status, 200);
  bridge->Start();
  ASSERT_TRUE(WaitFor(
      [&] {
        BridgeStats s = bridge->Stats(0);
        return s.events_sent == 2 && s.events_dropped[0] == 1;
      },
      seconds(10)));
  std::vector<nlohmann::json> got = inngest.Events();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]["data"]["fingerprint"], "a");
  EXPECT_EQ(got[1]["data"]["fingerprint"], "c");
  EXPECT_EQ(bridge->Stats(0).spool_events, 0);
  // Later events are not stuck behind it.
  ASSERT_EQ(bridge->HandleNotification(Post(BigAlert(100, false, "d"))).status, 200);
  ASSERT_TRUE(WaitFor([&] { return inngest.Events().size() == 3; }, seconds(10)));
}

TEST(BridgeTest, AnOversizedEventIsTrimmedOrAnswered413NeverSpooled) {
  TempDir dir;
  FakeInngest inngest(kKey);
  auto bridge = OpenOrDie(ConfigFor(dir, inngest));  // max_event_bytes: 256 KiB.
  bridge->Start();
  HttpResponse r = bridge->HandleNotification(Post(BigAlert(300 << 10)));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(WaitFor([&] { return inngest.Events().size() == 1; }, seconds(10)));
  const nlohmann::json event = inngest.Events()[0];
  EXPECT_LE(event.dump().size(), 256u << 10);
  EXPECT_EQ(event["data"]["trimmed"]["what"], "annotations shortened");
  EXPECT_LT(event["data"]["annotations"]["description"].get<std::string>().size(), 2000u);
  EXPECT_EQ(bridge->Stats(0).events_trimmed, 1);

  r = bridge->HandleNotification(Post(BigAlert(300 << 10, /*in_label=*/true)));
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(bridge->Stats(0).notifications[4], 1);  // too_large
  EXPECT_EQ(bridge->Stats(0).spool_events, 0);
}

TEST(BridgeTest, ContentTypeMustBeJsonAndSizeIsCheckedOnTheHeaders) {
  TempDir dir;
  FakeInngest inngest(kKey);
  auto bridge = OpenOrDie(ConfigFor(dir, inngest));
  const std::string body = ReadFileOrDie(TestData("alertmanager/firing.json"));
  for (const char* type : {"", "text/plain", "application/x-www-form-urlencoded",
                           "multipart/form-data; boundary=x"}) {
    SCOPED_TRACE(type);
    HttpRequest req = Post(body);
    req.headers["content-type"] = type;
    EXPECT_EQ(bridge->HandleNotification(req).status, 415);
  }
  HttpRequest ok = Post(body);
  ok.headers["content-type"] = "Application/JSON; charset=utf-8";
  EXPECT_EQ(bridge->HandleNotification(ok).status, 200);
  EXPECT_EQ(bridge->Stats(0).notifications[3], 4);  // unsupported_media_type

  HttpRequest huge = Post("");
  huge.headers["content-length"] = std::to_string(8 << 20);
  std::optional<HttpResponse> early = bridge->CheckHeaders(huge);
  ASSERT_TRUE(early.has_value());
  EXPECT_EQ(early->status, 413);
}

TEST(BridgeTest, AnUnopenableSpoolAnswers503AndIsRetriedUntilItOpens) {
  TempDir dir;
  FakeInngest inngest(kKey);
  FaultInjectionEnv env;
  env.Set(FaultInjectionEnv::Fault::kCreate, true);  // A read-only filesystem.
  Bridge::Options o;
  o.env = &env;
  auto bridge = OpenOrDie(ConfigFor(dir, inngest), o);
  ASSERT_TRUE(bridge);
  bridge->Start();
  const std::string body = ReadFileOrDie(TestData("alertmanager/firing.json"));
  HttpResponse r = bridge->HandleNotification(Post(body));
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("Read-only file system"), std::string::npos) << r.body;
  EXPECT_EQ(bridge->Stats(0).spool_writable, 0);
  env.ClearAll();  // Remounted read-write.
  ASSERT_TRUE(WaitFor([&] { return bridge->Stats(0).spool_writable == 1; }, seconds(10)));
  EXPECT_EQ(bridge->HandleNotification(Post(body)).status, 200);
  ASSERT_TRUE(WaitFor([&] { return inngest.Events().size() == 1; }, seconds(10)));
}

TEST(BridgeTest, AStickyWriteErrorReopensTheSpool) {
  TempDir dir;
  FakeInngest inngest(kKey);
  FaultInjectionEnv env;
  Bridge::Options o;
  o.env = &env;
  auto bridge = OpenOrDie(ConfigFor(dir, inngest), o);
  bridge->Start();
  const std::string body = ReadFileOrDie(TestData("alertmanager/firing.json"));
  env.Set(FaultInjectionEnv::Fault::kAppend, true);  // The disk is full.
  EXPECT_EQ(bridge->HandleNotification(Post(body)).status, 503);
  env.ClearAll();
  // The sender notices the sticky error and reopens the spool.
  ASSERT_TRUE(WaitFor(
      [&] { return bridge->HandleNotification(Post(body)).status == 200; }, seconds(10)));
  ASSERT_TRUE(WaitFor([&] { return !inngest.Events().empty(); }, seconds(10)));
  EXPECT_EQ(bridge->Stats(0).spool_writable, 1);
}

TEST(BridgeTest, TheSpoolDropsTheOldestWhenFullAndCountsIt) {
  TempDir dir;
  FakeInngest inngest(kKey);
  BridgeConfig c = ConfigFor(dir, inngest);
  c.spool_max_events = 3;
  auto bridge = OpenOrDie(c);  // Not started: nothing leaves the spool.
  for (const char* f : {"a", "b", "c", "d", "e"}) {
    ASSERT_EQ(bridge->HandleNotification(Post(BigAlert(10, false, f))).status, 200);
  }
  BridgeStats st = bridge->Stats(0);
  EXPECT_EQ(st.spool_events, 3);
  EXPECT_EQ(st.events_dropped[1], 2);  // spool_full
  bridge->Start();
  ASSERT_TRUE(WaitFor([&] { return inngest.Events().size() == 3; }, seconds(10)));
  EXPECT_EQ(inngest.Events()[0]["data"]["fingerprint"], "c");
}

TEST(BridgeTest, TrimKeepsUtf8Whole) {
  nlohmann::json event = {
      {"id", "x"},
      {"data", {{"annotations", {{"d", std::string(5000, 'a') + "\xc3\xa9"}}}}}};
  event["data"]["annotations"]["e"] = std::string(1023, 'b') + "\xc3\xa9" + std::string(3000, 'c');
  ASSERT_TRUE(TrimInngestEvent(&event, 4000));
  const std::string e = event["data"]["annotations"]["e"].get<std::string>();
  EXPECT_EQ(e, std::string(1023, 'b') + " [trimmed]");
}

}  // namespace bridge_test
}  // namespace joelclaw
