#include "exporter/probes/tcp_probe.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/loopback_http_server.h"
#include "tests/support/probe_runner.h"
#include "tests/support/timed_probe.h"

namespace joelclaw {
namespace tcp_probe_test {

using testing::TimedResult;
using testing::TimedRun;
using namespace std::chrono_literals;

std::unique_ptr<Probe> ParseTcp(const std::string& address) {
  auto p = testing::ParseProbe("tcp", "{address: \"" + address + "\"}");
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? std::move(p).value() : nullptr;
}

std::string Loopback(int port) { return "127.0.0.1:" + std::to_string(port); }

TEST(TcpProbeTest, OpenListenerIsSuccess) {
  testing::LoopbackHttpServer server;
  ASSERT_TRUE(server.ok());
  auto probe = ParseTcp(Loopback(server.port()));
  ASSERT_NE(probe, nullptr);
  TimedResult t = TimedRun(*probe, 2s);
  EXPECT_TRUE(t.result.success) << t.result.message;
  EXPECT_EQ(t.result.reason, FailureReason::kNone);
  EXPECT_EQ(t.result.message, "connected");
  EXPECT_LT(t.took, 1s);
  EXPECT_EQ(probe->Describe(), "tcp://" + Loopback(server.port()));
  EXPECT_EQ(probe->Port(), server.port());
}

TEST(TcpProbeTest, ClosedPortIsRefused) {
  auto probe = ParseTcp(Loopback(testing::ClosedPort()));
  ASSERT_NE(probe, nullptr);
  TimedResult t = TimedRun(*probe, 2s);
  EXPECT_FALSE(t.result.success);
  EXPECT_EQ(t.result.reason, FailureReason::kRefused) << t.result.message;
  EXPECT_LT(t.took, 1s);
}

TEST(TcpProbeTest, NeverAcceptingListenerIsTimeoutWithinTheDeadline) {
  testing::BlackholeListener blackhole;
  ASSERT_TRUE(blackhole.ok());
  auto probe = ParseTcp(Loopback(blackhole.port()));
  ASSERT_NE(probe, nullptr);
  TimedResult t = TimedRun(*probe, 500ms);
  EXPECT_FALSE(t.result.success);
  EXPECT_EQ(t.result.reason, FailureReason::kTimeout) << t.result.message;
  EXPECT_GE(t.took, 450ms);
  EXPECT_LT(t.took, 500ms + 1s);
}

TEST(TcpProbeTest, CancelWhileConnectingReturnsPromptly) {
  testing::BlackholeListener blackhole;
  ASSERT_TRUE(blackhole.ok());
  auto probe = ParseTcp(Loopback(blackhole.port()));
  ASSERT_NE(probe, nullptr);
  TimedResult t = testing::RunAndCancelAfter(*probe, 200ms);
  EXPECT_FALSE(t.result.success);
  EXPECT_EQ(t.result.reason, FailureReason::kError);
  EXPECT_EQ(t.result.message, "cancelled");
  EXPECT_LT(t.since_cancel, 300ms);
}

TEST(TcpProbeTest, UnresolvableNameIsDns) {
  auto probe = ParseTcp(testing::kUnresolvableName + ":80");
  ASSERT_NE(probe, nullptr);
  TimedResult t = TimedRun(*probe, 3s);
  EXPECT_FALSE(t.result.success);
  EXPECT_EQ(t.result.reason, FailureReason::kDns) << t.result.message;
}

std::string TcpParseError(const std::string& yaml) {
  auto p = testing::ParseProbe("tcp", yaml);
  return p.ok() ? "" : p.status().message();
}

TEST(TcpProbeParseTest, RejectsBadAddresses) {
  EXPECT_EQ(TcpParseError("address: localhost"),
            "test.yaml:1: tcp: address 'localhost' has no port (want host:port)");
  EXPECT_EQ(TcpParseError("address: \"127.0.0.1:http\""),
            "test.yaml:1: tcp: address '127.0.0.1:http' has an invalid port");
  EXPECT_EQ(TcpParseError("address: \"127.0.0.1:70000\""),
            "test.yaml:1: tcp: address '127.0.0.1:70000' has a port out of range");
  EXPECT_EQ(TcpParseError("address: \"127.0.0.1:0\""),
            "test.yaml:1: tcp: address '127.0.0.1:0' has a port out of range");
  EXPECT_EQ(TcpParseError("address: \":22\""), "test.yaml:1: tcp: address ':22' has no host");
  EXPECT_EQ(TcpParseError("address: \"::1:22\""),
            "test.yaml:1: tcp: address '::1:22': put IPv6 hosts in brackets, [::1]:22");
  EXPECT_EQ(TcpParseError("address: \"[::1\""),
            "test.yaml:1: tcp: address '[::1' is not [host]:port");
}

TEST(TcpProbeParseTest, RejectsMissingAddressAndUnknownKeys) {
  EXPECT_EQ(TcpParseError("{}"), "test.yaml:1: tcp has no address");
  EXPECT_EQ(TcpParseError("address: \"127.0.0.1:22\"\nport: 22\n"),
            "test.yaml:2: unknown key 'port' in tcp (known keys: address)");
  EXPECT_EQ(TcpParseError("\"127.0.0.1:22\""), "test.yaml:1: tcp must be a mapping");
}

TEST(TcpProbeTest, IPv6LiteralParses) {
  auto probe = ParseTcp("[::1]:22");
  ASSERT_NE(probe, nullptr);
  EXPECT_EQ(probe->Describe(), "tcp://[::1]:22");
  EXPECT_EQ(probe->Port(), 22);
}

}  // namespace tcp_probe_test
}  // namespace joelclaw
