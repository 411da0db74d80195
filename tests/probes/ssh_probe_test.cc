#include "exporter/probes/ssh_probe.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/probe_runner.h"
#include "tests/support/real_servers.h"
#include "tests/support/scripted_server.h"
#include "tests/support/timed_probe.h"

namespace joelclaw {
namespace ssh_probe_test {

using ::testing::HasSubstr;
using testing::ParseProbe;
using testing::ScriptedServer;
using ::testing::StartsWith;
using testing::TimedResult;
using testing::TimedRun;
using namespace std::chrono_literals;

TimedResult ProbeSsh(const std::string& address, std::chrono::milliseconds timeout = 5s) {
  auto probe = ParseProbe("ssh", "{address: \"" + address + "\"}");
  if (!probe.ok()) return {ProbeResult::Fail(FailureReason::kError, probe.status().message())};
  return TimedRun(**probe, timeout);
}

TimedResult ProbeScripted(ScriptedServer::Script script, std::chrono::milliseconds timeout = 5s) {
  ScriptedServer server(std::move(script));
  return ProbeSsh(server.address(), timeout);
}

TEST(SshProbeTest, RealSshdSucceedsWithItsBanner) {
  testing::TempDir dir;
  auto sshd = testing::StartSshd(dir);
  ASSERT_TRUE(sshd.ok()) << sshd.status().message();
  auto [r, took, since_cancel] = ProbeSsh((*sshd)->address);
  EXPECT_TRUE(r.success) << r.message;
  EXPECT_EQ(r.reason, FailureReason::kNone);
  EXPECT_THAT(r.message, StartsWith("SSH-2.0-OpenSSH"));
  EXPECT_THAT(r.detail, StartsWith("OpenSSH_"));
  EXPECT_LT(took, 2s);
}

// The helper's sshd is a working server, not just a banner: the generated
// client key logs in (the NAS df-over-ssh collector relies on this).
TEST(SshProbeTest, StartedSshdAcceptsTheGeneratedClientKey) {
  testing::TempDir dir;
  auto sshd = testing::StartSshd(dir);
  ASSERT_TRUE(sshd.ok()) << sshd.status().message();
  testing::CommandOutput out = testing::RunCommand((*sshd)->SshArgv("echo logged-in"), 15);
  EXPECT_EQ(out.exit_code, 0) << out.out << "\nsshd log:\n" << (*sshd)->process->Log();
  EXPECT_EQ(out.out, "logged-in\n");
}

TEST(SshProbeTest, HttpAnswerThenCloseIsProtocol) {
  auto [r, took, since_cancel] = ProbeScripted(
      {.reply = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", .close_after = true});
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, FailureReason::kProtocol) << r.message;
  EXPECT_THAT(r.message, HasSubstr("HTTP/1.1 400 Bad Request"));
}

TEST(SshProbeTest, HttpAnswerThenSilenceIsProtocolNotTimeout) {
  auto [r, took, since_cancel] = ProbeScripted({.reply = "HTTP/1.1 400 Bad Request\r\n\r\n"}, 1s);
  EXPECT_EQ(r.reason, FailureReason::kProtocol) << r.message;
  EXPECT_LT(took, 2s);
}

TEST(SshProbeTest, SshVersionOneIsProtocol) {
  auto [r, took, since_cancel] = ProbeScripted({.reply = "SSH-1.5-old\r\n"});
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, FailureReason::kProtocol);
  EXPECT_EQ(r.message, "unsupported SSH version: SSH-1.5-old");
}

TEST(SshProbeTest, SilentServerTimesOutOnTime) {
  ScriptedServer server({});
  auto [r, took, since_cancel] = ProbeSsh(server.address(), 1s);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, FailureReason::kTimeout) << r.message;
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 2s);
  EXPECT_EQ(server.connections(), 1);
}

TEST(SshProbeTest, LinesBeforeTheIdentificationAreSkipped) {
  auto [r, took, since_cancel] = ProbeScripted(
      {.reply = "Welcome to panda\r\nAuthorised use only\r\nSSH-2.0-OpenSSH_9.6 Ubuntu-3\r\n"});
  EXPECT_TRUE(r.success) << r.message;
  EXPECT_EQ(r.message, "SSH-2.0-OpenSSH_9.6 Ubuntu-3");
  EXPECT_EQ(r.detail, "OpenSSH_9.6");
}

TEST(SshProbeTest, Version199CountsAsTwo) {
  auto [r, took, since_cancel] = ProbeScripted({.reply = "SSH-1.99-Cisco-1.25\r\n"});
  EXPECT_TRUE(r.success) << r.message;
  EXPECT_EQ(r.detail, "Cisco-1.25");
}

TEST(SshProbeTest, BinaryGarbageIsQuotedSafely) {
  auto [r, took, since_cancel] =
      ProbeScripted({.reply = std::string("\x15\x03\x03\x00\x02\x02\x46", 7), .close_after = true});
  EXPECT_EQ(r.reason, FailureReason::kProtocol);
  EXPECT_THAT(r.message, HasSubstr("\\x15\\x03\\x03\\x00\\x02\\x02F"));
}

TEST(SshProbeTest, ClosedPortIsRefused) {
  auto [r, took, since_cancel] = ProbeSsh("127.0.0.1:" + std::to_string(testing::FreePort()));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, FailureReason::kRefused) << r.message;
}

}  // namespace ssh_probe_test
}  // namespace joelclaw
