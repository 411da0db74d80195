#include "exporter/probes/redis_probe.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/probe_runner.h"
#include "tests/support/real_servers.h"
#include "tests/support/scripted_server.h"
#include "tests/support/timed_probe.h"

namespace joelclaw {
namespace redis_probe_test {

using ::testing::HasSubstr;
using testing::ParseProbe;
using testing::ScriptedServer;
using ::testing::StartsWith;
using testing::TempDir;
using testing::TimedResult;
using testing::TimedRun;
using namespace std::chrono_literals;

constexpr char kPing[] = "*1\r\n$4\r\nPING\r\n";

TimedResult ProbeRedis(const std::string& address, const std::string& password_file = "",
                       std::chrono::milliseconds timeout = 5s) {
  std::string yaml = "{address: \"" + address + "\"";
  if (!password_file.empty()) yaml += ", password_file: \"" + password_file + "\"";
  auto probe = ParseProbe("redis", yaml + "}");
  if (!probe.ok()) return {ProbeResult::Fail(FailureReason::kError, probe.status().message())};
  return TimedRun(**probe, timeout);
}

TEST(RedisProbeTest, RealRedisAnswersPong) {
  TempDir dir;
  auto redis = testing::StartRedis(dir);
  ASSERT_TRUE(redis.ok()) << redis.status().message();
  auto [r, took, since_cancel] = ProbeRedis((*redis)->address);
  EXPECT_TRUE(r.success) << r.message;
  EXPECT_EQ(r.reason, FailureReason::kNone);
  EXPECT_EQ(r.message, "PONG");
}

TEST(RedisProbeTest, RequirePassWithoutPasswordIsAuth) {
  TempDir dir;
  auto redis = testing::StartRedis(dir, "s3cret");
  ASSERT_TRUE(redis.ok()) << redis.status().message();
  auto [r, took, since_cancel] = ProbeRedis((*redis)->address);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, FailureReason::kAuth) << r.message;
  EXPECT_THAT(r.message, StartsWith("NOAUTH"));
}

TEST(RedisProbeTest, RequirePassWithPasswordFileSucceeds) {
  TempDir dir;
  auto redis = testing::StartRedis(dir, "s3cret");
  ASSERT_TRUE(redis.ok()) << redis.status().message();
  testing::WriteFileOrDie(dir.File("redis.pass"), "s3cret\n", 0600);
  auto [r, took, since_cancel] = ProbeRedis((*redis)->address, dir.File("redis.pass"));
  EXPECT_TRUE(r.success) << r.message;
  EXPECT_EQ(r.message, "PONG");
}

TEST(RedisProbeTest, WrongPasswordIsAuth) {
  TempDir dir;
  auto redis = testing::StartRedis(dir, "s3cret");
  ASSERT_TRUE(redis.ok()) << redis.status().message();
  testing::WriteFileOrDie(dir.File("redis.pass"), "not-the-password\n", 0600);
  auto [r, took, since_cancel] = ProbeRedis((*redis)->address, dir.File("redis.pass"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, FailureReason::kAuth) << r.message;
  EXPECT_THAT(r.message, HasSubstr("WRONGPASS"));
  EXPECT_THAT(r.message,
              ::testing::Not(HasSubstr("not-the-password")));  // Never echo the password.
}

TEST(RedisProbeTest, ErrorReplyIsProtocol) {
  ScriptedServer server({.reply = "-ERR unknown command 'PING'\r\n", .read_first = true});
  auto [r, took, since_cancel] = ProbeRedis(server.address());
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, FailureReason::kProtocol) << r.message;
  EXPECT_EQ(r.message, "expected +PONG, got: -ERR unknown command 'PING'");
  EXPECT_EQ(server.received(), kPing);
}

TEST(RedisProbeTest, HttpGarbageIsProtocol) {
  ScriptedServer server(
      {.reply = "HTTP/1.1 400 Bad Request\r\n\r\n", .read_first = true, .close_after = true});
  auto [r, took, since_cancel] = ProbeRedis(server.address());
  EXPECT_EQ(r.reason, FailureReason::kProtocol) << r.message;
  EXPECT_THAT(r.message, HasSubstr("HTTP/1.1 400"));
}

TEST(RedisProbeTest, GarbageWithoutLineEndIsProtocol) {
  ScriptedServer server({.reply = "SSH-2.0-OpenSSH_9.6\n", .read_first = true});
  auto [r, took, since_cancel] = ProbeRedis(server.address(), "", 1s);
  EXPECT_EQ(r.reason, FailureReason::kProtocol) << r.message;
  EXPECT_LT(took, 2s);
}

TEST(RedisProbeTest, GarbageAnswerToAuthIsProtocol) {
  TempDir dir;
  testing::WriteFileOrDie(dir.File("redis.pass"), "pw", 0600);
  ScriptedServer server({.reply = "HTTP/1.1 400 Bad Request\r\n\r\n", .read_first = true});
  auto [r, took, since_cancel] = ProbeRedis(server.address(), dir.File("redis.pass"));
  EXPECT_EQ(r.reason, FailureReason::kProtocol) << r.message;
  EXPECT_EQ(server.received(), "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n");
}

TEST(RedisProbeTest, SilentServerTimesOutOnTime) {
  ScriptedServer server({});
  auto [r, took, since_cancel] = ProbeRedis(server.address(), "", 1s);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, FailureReason::kTimeout) << r.message;
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 2s);
}

TEST(RedisProbeTest, MissingPasswordFileIsErrorNamingIt) {
  TempDir dir;
  ScriptedServer server({.reply = "+PONG\r\n", .read_first = true});
  const std::string missing = dir.File("no-such.pass");
  auto [r, took, since_cancel] = ProbeRedis(server.address(), missing);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, FailureReason::kError);
  EXPECT_THAT(r.message, HasSubstr(missing));
  EXPECT_EQ(server.connections(), 0);  // Nothing sent without the password.
}

TEST(RedisProbeTest, ClosedPortIsRefused) {
  auto [r, took, since_cancel] = ProbeRedis("127.0.0.1:" + std::to_string(testing::FreePort()));
  EXPECT_EQ(r.reason, FailureReason::kRefused) << r.message;
}

}  // namespace redis_probe_test
}  // namespace joelclaw
