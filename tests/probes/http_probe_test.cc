#include "exporter/probes/http_probe.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/loopback_http_server.h"
#include "tests/support/probe_runner.h"
#include "tests/support/test_util.h"
#include "tests/support/timed_probe.h"

namespace joelclaw {
namespace http_probe_test {

using ::testing::Pair;
using ::testing::StartsWith;
using testing::LoopbackHttpServer;
using testing::TimedResult;
using testing::TimedRun;
using namespace std::chrono_literals;

// Slack allowed past a probe's timeout before Run() must have returned.
constexpr auto kSlack = 1000ms;

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

class HttpProbeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()); }

  // Parses `yaml` (the value of `http:`) and fails the test on an error.
  std::unique_ptr<Probe> Parse(const std::string& yaml) {
    auto p = testing::ParseProbe("http", yaml);
    EXPECT_TRUE(p.ok()) << p.status().message();
    return p.ok() ? std::move(p).value() : nullptr;
  }

  // Probes `path` on the server with `extra` config keys.
  TimedResult Get(const std::string& path, const std::string& extra = "",
                    std::chrono::milliseconds timeout = 5s) {
    auto probe = Parse("{url: " + Quote(server_.Url(path)) + (extra.empty() ? "" : ", ") +
                       extra + "}");
    if (probe == nullptr) return {};
    return TimedRun(*probe, timeout);
  }

  LoopbackHttpServer server_;
};

TEST_F(HttpProbeTest, OkIsSuccessWithStatus200) {
  TimedResult t = Get("/ok");
  EXPECT_TRUE(t.result.success) << t.result.message;
  EXPECT_EQ(t.result.reason, FailureReason::kNone);
  EXPECT_EQ(t.result.http_status, 200);
  EXPECT_EQ(t.result.message, "HTTP 200");
  EXPECT_EQ(t.result.detail, "HTTP 200");
  EXPECT_EQ(server_.RequestCount("/ok"), 1);
  EXPECT_LT(t.took, 1s);
}

TEST_F(HttpProbeTest, HeadRequestSucceeds) {
  TimedResult t = Get("/ok", "method: HEAD");
  EXPECT_TRUE(t.result.success) << t.result.message;
  EXPECT_EQ(t.result.http_status, 200);
}

TEST_F(HttpProbeTest, ServiceUnavailableIsHttpStatus) {
  TimedResult t = Get("/status/503");
  EXPECT_FALSE(t.result.success);
  EXPECT_EQ(t.result.reason, FailureReason::kHttpStatus);
  EXPECT_EQ(t.result.http_status, 503);
  EXPECT_EQ(t.result.message, "HTTP status 503");
}

TEST_F(HttpProbeTest, ListedStatusCodeIsAccepted) {
  TimedResult t = Get("/status/503", "valid_status_codes: [200, 503]");
  EXPECT_TRUE(t.result.success) << t.result.message;
  EXPECT_EQ(t.result.http_status, 503);

  // A listed set replaces "any 2xx".
  t = Get("/ok", "valid_status_codes: [503]");
  EXPECT_EQ(t.result.reason, FailureReason::kHttpStatus);
  EXPECT_EQ(t.result.http_status, 200);
}

TEST_F(HttpProbeTest, NotFoundIsHttpStatus) {
  TimedResult t = Get("/missing");
  EXPECT_EQ(t.result.reason, FailureReason::kHttpStatus);
  EXPECT_EQ(t.result.http_status, 404);
}

TEST_F(HttpProbeTest, SlowAnswerIsTimeoutWithinTheDeadline) {
  TimedResult t = Get("/slow", "", 500ms);
  EXPECT_FALSE(t.result.success);
  EXPECT_EQ(t.result.reason, FailureReason::kTimeout) << t.result.message;
  EXPECT_GE(t.took, 450ms);
  EXPECT_LT(t.took, 500ms + kSlack);
  EXPECT_EQ(server_.RequestCount("/slow"), 1);
}

TEST_F(HttpProbeTest, HangingServerIsTimeoutWithinTheDeadline) {
  TimedResult t = Get("/hang", "", 500ms);
  EXPECT_EQ(t.result.reason, FailureReason::kTimeout) << t.result.message;
  EXPECT_FALSE(t.result.http_status.has_value());
  EXPECT_GE(t.took, 450ms);
  EXPECT_LT(t.took, 500ms + kSlack);
  // The probe hung up: the server sees the connection close.
  EXPECT_TRUE(testing::WaitFor([&] { return server_.OpenConnections() == 0; }, 2s));
}

TEST_F(HttpProbeTest, BlackholedTargetIsTimeout) {
  testing::BlackholeListener blackhole;
  ASSERT_TRUE(blackhole.ok());
  auto probe = Parse("{url: \"http://127.0.0.1:" + std::to_string(blackhole.port()) + "/\"}");
  ASSERT_NE(probe, nullptr);
  TimedResult t = TimedRun(*probe, 500ms);
  EXPECT_EQ(t.result.reason, FailureReason::kTimeout) << t.result.message;
  EXPECT_LT(t.took, 500ms + kSlack);
}

TEST_F(HttpProbeTest, CancelMidRequestReturnsPromptly) {
  auto probe = Parse("{url: " + Quote(server_.Url("/hang")) + "}");
  ASSERT_NE(probe, nullptr);
  TimedResult t = testing::RunAndCancelAfter(*probe, 200ms);
  EXPECT_FALSE(t.result.success);
  EXPECT_EQ(t.result.reason, FailureReason::kError);
  EXPECT_EQ(t.result.message, "cancelled");
  EXPECT_LT(t.since_cancel, 300ms);
}

TEST_F(HttpProbeTest, CancelWhileConnectingReturnsPromptly) {
  testing::BlackholeListener blackhole;
  ASSERT_TRUE(blackhole.ok());
  auto probe = Parse("{url: \"http://127.0.0.1:" + std::to_string(blackhole.port()) + "/\"}");
  ASSERT_NE(probe, nullptr);
  TimedResult t = testing::RunAndCancelAfter(*probe, 200ms);
  EXPECT_EQ(t.result.message, "cancelled");
  EXPECT_LT(t.since_cancel, 300ms);
}

TEST_F(HttpProbeTest, HugeBodyStopsAtTheCap) {
  TimedResult t = Get("/huge", "max_body_bytes: 65536");
  EXPECT_FALSE(t.result.success);
  EXPECT_EQ(t.result.reason, FailureReason::kBodyTooLarge) << t.result.message;
  EXPECT_EQ(t.result.message, "body larger than max_body_bytes (65536)");
  EXPECT_EQ(t.result.http_status, 200);
  EXPECT_LT(t.took, 2s);
  // Far from the 100 MB on offer: the cap plus what the socket buffers hold.
  EXPECT_LT(server_.StreamedBytes(), 32u << 20);
}

TEST_F(HttpProbeTest, EndlessChunkedBodyStopsAtTheCap) {
  TimedResult t = Get("/huge-chunked", "max_body_bytes: 100000");
  EXPECT_EQ(t.result.reason, FailureReason::kBodyTooLarge) << t.result.message;
  EXPECT_EQ(t.result.message, "body larger than max_body_bytes (100000)");
  EXPECT_LT(t.took, 2s);
  EXPECT_LT(server_.StreamedBytes(), 32u << 20);
}

TEST_F(HttpProbeTest, HugeBodyStopsAtTheDefaultCap) {
  TimedResult t = Get("/huge-chunked");
  EXPECT_EQ(t.result.reason, FailureReason::kBodyTooLarge) << t.result.message;
  EXPECT_EQ(t.result.message, "body larger than max_body_bytes (1048576)");
  EXPECT_LT(t.took, 2s);
}

TEST_F(HttpProbeTest, ConnectionClosedMidBodyIsConnection) {
  TimedResult t = Get("/close-mid");
  EXPECT_FALSE(t.result.success);
  EXPECT_EQ(t.result.reason, FailureReason::kConnection) << t.result.message;
  EXPECT_EQ(t.result.http_status, 200);
  EXPECT_LT(t.took, 1s);
}

TEST_F(HttpProbeTest, RedirectIsFollowed) {
  TimedResult t = Get("/redirect");
  EXPECT_TRUE(t.result.success) << t.result.message;
  EXPECT_EQ(t.result.http_status, 200);
  EXPECT_EQ(server_.RequestCount("/redirect"), 1);
  EXPECT_EQ(server_.RequestCount("/ok"), 1);
}

TEST_F(HttpProbeTest, RedirectNotFollowedIsHttpStatus) {
  TimedResult t = Get("/redirect", "follow_redirects: false");
  EXPECT_EQ(t.result.reason, FailureReason::kHttpStatus);
  EXPECT_EQ(t.result.http_status, 302);
  EXPECT_EQ(t.result.message, "HTTP status 302");
  EXPECT_EQ(server_.RequestCount("/ok"), 0);

  // Unless 302 is what the check expects.
  t = Get("/redirect", "follow_redirects: false, valid_status_codes: [302]");
  EXPECT_TRUE(t.result.success) << t.result.message;
}

TEST_F(HttpProbeTest, RedirectLoopIsHttpStatus) {
  TimedResult t = Get("/redirect-loop", "max_redirects: 3");
  EXPECT_FALSE(t.result.success);
  EXPECT_EQ(t.result.reason, FailureReason::kHttpStatus) << t.result.message;
  EXPECT_EQ(t.result.http_status, 302);
  EXPECT_EQ(t.result.message, "more than 3 redirects");
  EXPECT_EQ(server_.RequestCount("/redirect-loop"), 4);
  EXPECT_LT(t.took, 1s);
}

TEST_F(HttpProbeTest, JsonFieldInRangeIsSuccessWithValue) {
  server_.SetJsonBody(R"({"functionCount": 14, "stats": {"docs": 3}})");
  TimedResult t = Get("/json", "json: {field: functionCount, min: 14, max: 20}");
  EXPECT_TRUE(t.result.success) << t.result.message;
  EXPECT_THAT(t.result.values, ::testing::ElementsAre(Pair("functionCount", 14.0)));
  EXPECT_EQ(t.result.detail, "14 functionCount");

  t = Get("/json", "json: {field: stats.docs, equals: 3}");
  EXPECT_TRUE(t.result.success) << t.result.message;
  EXPECT_THAT(t.result.values, ::testing::ElementsAre(Pair("stats.docs", 3.0)));
}

TEST_F(HttpProbeTest, JsonFieldBelowMinimum) {
  server_.SetJsonBody(R"({"functionCount": 12})");
  TimedResult t = Get("/json", "json: {field: functionCount, min: 14}");
  EXPECT_FALSE(t.result.success);
  EXPECT_EQ(t.result.reason, FailureReason::kValueOutOfRange);
  EXPECT_EQ(t.result.message, "functionCount is 12, below the minimum 14");
  // The value is still reported, for joelclaw_probe_value.
  EXPECT_THAT(t.result.values, ::testing::ElementsAre(Pair("functionCount", 12.0)));
}

TEST_F(HttpProbeTest, JsonFieldAboveMaximum) {
  server_.SetJsonBody(R"({"queue": {"depth": 250.5}})");
  TimedResult t = Get("/json", "json: {field: queue.depth, max: 100}");
  EXPECT_EQ(t.result.reason, FailureReason::kValueOutOfRange);
  EXPECT_EQ(t.result.message, "queue.depth is 250.5, above the maximum 100");
}

TEST_F(HttpProbeTest, JsonFieldNotEqual) {
  server_.SetJsonBody(R"({"ok": false})");
  TimedResult t = Get("/json", "json: {field: ok, equals: 1}");
  EXPECT_EQ(t.result.reason, FailureReason::kValueOutOfRange);
  EXPECT_EQ(t.result.message, "ok is 0, expected 1");
}

TEST_F(HttpProbeTest, JsonFieldMissingIsBodyMismatch) {
  server_.SetJsonBody(R"({"stats": {"docs": 3}})");
  TimedResult t = Get("/json", "json: {field: stats.pages}");
  EXPECT_EQ(t.result.reason, FailureReason::kBodyMismatch);
  EXPECT_EQ(t.result.message, "field 'stats.pages' not in body");
  EXPECT_EQ(t.result.http_status, 200);
  EXPECT_TRUE(t.result.values.empty());
}

TEST_F(HttpProbeTest, NonJsonBodyIsBodyMismatch) {
  TimedResult t = Get("/ok", "json: {field: docs}");
  EXPECT_EQ(t.result.reason, FailureReason::kBodyMismatch);
  EXPECT_EQ(t.result.message, "body is not valid JSON");
}

TEST_F(HttpProbeTest, JsonIsCheckedOnlyAfterTheStatus) {
  TimedResult t = Get("/status/500", "json: {field: docs}");
  EXPECT_EQ(t.result.reason, FailureReason::kHttpStatus);
}

TEST_F(HttpProbeTest, BearerTokenFileIsReadAndSent) {
  testing::TempDir dir;
  testing::WriteFileOrDie(dir.File("token"), "s3cret-token\n", 0600);
  // A relative path resolves against the config file's directory.
  ConfigContext cc(dir.File("config.yaml"));
  auto parsed = ParseHttpProbe(
      YAML::Load("{url: " + Quote(server_.Url("/headers")) +
                 ", bearer_token_file: token, json: {field: bearer, equals: 1}}"),
      cc);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  TimedResult t = TimedRun(**parsed, 5s);
  EXPECT_TRUE(t.result.success) << t.result.message;
  EXPECT_EQ(server_.LastAuthorization("/headers"), "Bearer s3cret-token");

  // Without a token no Authorization header goes out.
  t = Get("/headers", "json: {field: bearer, equals: 1}");
  EXPECT_EQ(t.result.reason, FailureReason::kValueOutOfRange);
  EXPECT_EQ(server_.LastAuthorization("/headers"), "");
}

TEST_F(HttpProbeTest, MissingBearerTokenFileIsError) {
  testing::TempDir dir;
  TimedResult t = Get("/headers", "bearer_token_file: " + Quote(dir.File("absent")));
  EXPECT_FALSE(t.result.success);
  EXPECT_EQ(t.result.reason, FailureReason::kError);
  EXPECT_THAT(t.result.message, StartsWith("cannot read " + dir.File("absent")));
  EXPECT_EQ(server_.RequestCount("/headers"), 0);
}

TEST_F(HttpProbeTest, EmptyOrMultiLineBearerTokenFileIsError) {
  testing::TempDir dir;
  testing::WriteFileOrDie(dir.File("empty"), " \n");
  TimedResult t = Get("/headers", "bearer_token_file: " + Quote(dir.File("empty")));
  EXPECT_EQ(t.result.reason, FailureReason::kError);
  EXPECT_EQ(t.result.message, "bearer token file " + dir.File("empty") + " is empty");

  // A second line would be sent as a header of its own.
  testing::WriteFileOrDie(dir.File("two"), "abc\nX-Injected: 1\n");
  t = Get("/headers", "bearer_token_file: " + Quote(dir.File("two")));
  EXPECT_EQ(t.result.reason, FailureReason::kError);
  EXPECT_EQ(t.result.message, "bearer token file " + dir.File("two") + " has more than one line");
  EXPECT_EQ(server_.RequestCount("/headers"), 0);
}

TEST_F(HttpProbeTest, ClosedPortIsRefused) {
  auto probe = Parse("{url: \"http://127.0.0.1:" + std::to_string(testing::ClosedPort()) + "/\"}");
  ASSERT_NE(probe, nullptr);
  TimedResult t = TimedRun(*probe, 2s);
  EXPECT_FALSE(t.result.success);
  EXPECT_EQ(t.result.reason, FailureReason::kRefused) << t.result.message;
  EXPECT_FALSE(t.result.http_status.has_value());
  EXPECT_LT(t.took, 1s);
}

TEST_F(HttpProbeTest, UnresolvableNameIsDns) {
  auto probe = Parse("{url: \"http://" + testing::kUnresolvableName + "/\"}");
  ASSERT_NE(probe, nullptr);
  TimedResult t = TimedRun(*probe, 3s);
  EXPECT_FALSE(t.result.success);
  EXPECT_EQ(t.result.reason, FailureReason::kDns) << t.result.message;
  EXPECT_FALSE(t.result.http_status.has_value());
}

TEST_F(HttpProbeTest, DescribeHidesCredentialsAndPortIsKnown) {
  auto probe = Parse("{url: \"http://joel:hunter2@127.0.0.1:8288/health\"}");
  ASSERT_NE(probe, nullptr);
  EXPECT_EQ(probe->Describe(), "http://127.0.0.1:8288/health");
  EXPECT_EQ(probe->Port(), 8288);
  probe = Parse("{url: \"https://example.com/\"}");
  ASSERT_NE(probe, nullptr);
  EXPECT_EQ(probe->Port(), 443);
}

// --- Parse errors -----------------------------------------------------------

std::string HttpParseError(const std::string& yaml) {
  auto p = testing::ParseProbe("http", yaml);
  return p.ok() ? "" : p.status().message();
}

TEST(HttpProbeParseTest, RejectsBadUrls) {
  EXPECT_EQ(HttpParseError("url: \"http://exa mple.com/\""),
            "test.yaml:1: http: url 'http://exa mple.com/' is not a valid URL "
            "(Bad hostname)");
  EXPECT_EQ(HttpParseError("url: \"127.0.0.1:8288/health\""),
            "test.yaml:1: http: url '127.0.0.1:8288/health' has no scheme; it must start with "
            "http:// or https://");
  EXPECT_EQ(HttpParseError("url: \"ftp://example.com/file\""),
            "test.yaml:1: http: url 'ftp://example.com/file' must start with http:// or https://");
  EXPECT_EQ(HttpParseError("method: GET"), "test.yaml:1: http has no url");
}

TEST(HttpProbeParseTest, RejectsUnknownKey) {
  EXPECT_EQ(HttpParseError("url: \"http://127.0.0.1/\"\ntimeout: 5s\n"),
            "test.yaml:2: unknown key 'timeout' in http (known keys: url, method, headers, body, "
            "valid_status_codes, follow_redirects, max_redirects, max_body_bytes, "
            "bearer_token_file, ca_file, insecure_skip_verify, json)");
  EXPECT_EQ(HttpParseError("url: \"http://127.0.0.1/\"\njson:\n  field: x\n  minimum: 1\n"),
            "test.yaml:4: unknown key 'minimum' in http: json (known keys: field, min, max, "
            "equals)");
}

TEST(HttpProbeParseTest, RejectsBadMethod) {
  EXPECT_EQ(HttpParseError("url: \"http://127.0.0.1/\"\nmethod: PUT\n"),
            "test.yaml:2: http: method must be GET, HEAD or POST");
  EXPECT_EQ(HttpParseError("url: \"http://127.0.0.1/\"\nbody: \"{}\"\n"),
            "test.yaml:2: http: body needs method POST");
}

TEST(HttpProbeParseTest, RejectsMinAboveMax) {
  EXPECT_EQ(HttpParseError("url: \"http://127.0.0.1/\"\njson:\n  field: docs\n  min: 5\n  max: 1\n"),
            "test.yaml:4: http: json: min 5 is greater than max 1");
}

TEST(HttpProbeParseTest, RejectsOtherBadValues) {
  EXPECT_EQ(HttpParseError("url: \"http://127.0.0.1/\"\nvalid_status_codes: [200, 999]\n"),
            "test.yaml:2: http: valid_status_codes: '999' is not an HTTP status code (100-599)");
  EXPECT_EQ(HttpParseError("url: \"http://127.0.0.1/\"\nmax_body_bytes: 0\n"),
            "test.yaml:2: http: max_body_bytes must be between 1 and 268435456");
  EXPECT_EQ(HttpParseError("url: \"http://127.0.0.1/\"\njson: {field: a..b}\n"),
            "test.yaml:2: http: json: field 'a..b' is not a dotted path");
  EXPECT_EQ(HttpParseError("url: \"http://127.0.0.1/\"\nmethod: HEAD\njson: {field: a}\n"),
            "test.yaml:3: http: json needs a body; method HEAD has none");
  EXPECT_EQ(HttpParseError("url: \"http://127.0.0.1/\"\nheaders: {\"X Bad\": v}\n"),
            "test.yaml:2: http: header 'X Bad' has forbidden characters");
}

// --- ExtractJsonNumber ------------------------------------------------------

TEST(ExtractJsonNumberTest, ReadsNestedPathsAndArrayIndexes) {
  const std::string body =
      R"({"functionCount": 14, "stats": {"docs": 3.5, "deep": {"n": -2}},
          "items": [{"n": 1}, {"n": 7}], "0": {"x": 9}})";
  EXPECT_EQ(*ExtractJsonNumber(body, "functionCount"), 14);
  EXPECT_EQ(*ExtractJsonNumber(body, "stats.docs"), 3.5);
  EXPECT_EQ(*ExtractJsonNumber(body, "stats.deep.n"), -2);
  EXPECT_EQ(*ExtractJsonNumber(body, "items.1.n"), 7);
  // A numeric key in an object is a key, not an index.
  EXPECT_EQ(*ExtractJsonNumber(body, "0.x"), 9);
  EXPECT_EQ(*ExtractJsonNumber("[10, 20, 30]", "2"), 30);
}

TEST(ExtractJsonNumberTest, CountsArraysAndObjects) {
  const std::string body = R"({"functions": ["a", "b", "c"], "empty": [], "map": {"a": 1, "b": 2}})";
  EXPECT_EQ(*ExtractJsonNumber(body, "functions"), 3);
  EXPECT_EQ(*ExtractJsonNumber(body, "empty"), 0);
  EXPECT_EQ(*ExtractJsonNumber(body, "map"), 2);
}

TEST(ExtractJsonNumberTest, BooleansAreZeroOrOne) {
  EXPECT_EQ(*ExtractJsonNumber(R"({"ok": true})", "ok"), 1);
  EXPECT_EQ(*ExtractJsonNumber(R"({"ok": false})", "ok"), 0);
}

TEST(ExtractJsonNumberTest, NumericStringsAreNumbers) {
  EXPECT_EQ(*ExtractJsonNumber(R"({"v": "42"})", "v"), 42);
  EXPECT_EQ(*ExtractJsonNumber(R"({"v": "-1.25e2"})", "v"), -125);
  EXPECT_EQ(ExtractJsonNumber(R"({"v": "42 apples"})", "v").status().message(),
            "field 'v' is not a number");
  EXPECT_EQ(ExtractJsonNumber(R"({"v": ""})", "v").status().message(),
            "field 'v' is not a number");
  EXPECT_EQ(ExtractJsonNumber(R"({"v": "nan"})", "v").status().message(),
            "field 'v' is not a number");
  EXPECT_EQ(ExtractJsonNumber(R"({"v": "inf"})", "v").status().message(),
            "field 'v' is not a number");
  EXPECT_EQ(ExtractJsonNumber(R"({"v": null})", "v").status().message(),
            "field 'v' is not a number");
}

TEST(ExtractJsonNumberTest, InvalidJson) {
  EXPECT_EQ(ExtractJsonNumber("ok\n", "a").status().message(), "body is not valid JSON");
  EXPECT_EQ(ExtractJsonNumber("", "a").status().message(), "body is not valid JSON");
  EXPECT_EQ(ExtractJsonNumber(R"({"a": 1)", "a").status().message(), "body is not valid JSON");
}

TEST(ExtractJsonNumberTest, MissingFieldsNameThePathWalked) {
  const std::string body = R"({"stats": {"docs": 3}, "items": [1, 2], "n": 5})";
  EXPECT_EQ(ExtractJsonNumber(body, "nope").status().message(), "field 'nope' not in body");
  EXPECT_EQ(ExtractJsonNumber(body, "stats.pages.x").status().message(),
            "field 'stats.pages' not in body");
  EXPECT_EQ(ExtractJsonNumber(body, "items.2").status().message(), "field 'items.2' not in body");
  EXPECT_EQ(ExtractJsonNumber(body, "items.x").status().message(), "field 'items.x' not in body");
  EXPECT_EQ(ExtractJsonNumber(body, "items.-1").status().message(),
            "field 'items.-1' not in body");
  EXPECT_EQ(ExtractJsonNumber(body, "items.99999999999999999999").status().message(),
            "field 'items.99999999999999999999' not in body");
  // Walking into a scalar.
  EXPECT_EQ(ExtractJsonNumber(body, "n.x").status().message(), "field 'n.x' not in body");
}

// --- RedactUrl --------------------------------------------------------------

TEST(RedactUrlTest, RemovesUserInfo) {
  EXPECT_EQ(RedactUrl("http://user:pass@host:8080/p?q=1"), "http://host:8080/p?q=1");
  EXPECT_EQ(RedactUrl("https://token@host"), "https://host");
  EXPECT_EQ(RedactUrl("http://user:p@ss@host/x"), "http://host/x");
  // A mistyped URL without a scheme still loses its password.
  EXPECT_EQ(RedactUrl("joel:s3cret@host:10042"), "host:10042");
}

TEST(RedactUrlTest, LeavesOtherUrlsAlone) {
  EXPECT_EQ(RedactUrl("http://127.0.0.1:8288/health"), "http://127.0.0.1:8288/health");
  EXPECT_EQ(RedactUrl("http://host/p?email=joel@example.com"),
            "http://host/p?email=joel@example.com");
  EXPECT_EQ(RedactUrl("http://host#frag@x"), "http://host#frag@x");
  EXPECT_EQ(RedactUrl("not a url"), "not a url");
}

}  // namespace http_probe_test
}  // namespace joelclaw
