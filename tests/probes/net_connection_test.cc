// Connection and the curl plumbing of net.h against a real loopback server;
// the pure helpers are in net_test.cc.
#include <cerrno>

#include "exporter/probes/net.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/loopback_http_server.h"

namespace joelclaw {
namespace net_connection_test {

using ::testing::HasSubstr;
using testing::LoopbackHttpServer;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

bool HasBody(const std::string& s) { return s.find("\r\n\r\nok\n") != std::string::npos; }

TEST(CurlReasonTest, MapsCodesToReasons) {
  EXPECT_EQ(ReasonForCurlCode(CURLE_OK), FailureReason::kNone);
  EXPECT_EQ(ReasonForCurlCode(CURLE_OPERATION_TIMEDOUT), FailureReason::kTimeout);
  EXPECT_EQ(ReasonForCurlCode(CURLE_COULDNT_RESOLVE_HOST), FailureReason::kDns);
  EXPECT_EQ(ReasonForCurlCode(CURLE_PEER_FAILED_VERIFICATION), FailureReason::kTls);
  EXPECT_EQ(ReasonForCurlCode(CURLE_TOO_MANY_REDIRECTS), FailureReason::kHttpStatus);
  EXPECT_EQ(ReasonForCurlCode(CURLE_FILESIZE_EXCEEDED), FailureReason::kBodyTooLarge);
  EXPECT_EQ(ReasonForCurlCode(CURLE_PARTIAL_FILE), FailureReason::kConnection);
  EXPECT_EQ(ReasonForCurlCode(CURLE_GOT_NOTHING), FailureReason::kConnection);
  EXPECT_EQ(ReasonForCurlCode(CURLE_OUT_OF_MEMORY), FailureReason::kError);
}

TEST(CurlReasonTest, CouldntConnectIsRefusedOnlyWhenRefused) {
  EXPECT_EQ(ReasonForCurlCode(CURLE_COULDNT_CONNECT), FailureReason::kRefused);
  EXPECT_EQ(ReasonForCurlCode(CURLE_COULDNT_CONNECT, ECONNREFUSED), FailureReason::kRefused);
  EXPECT_EQ(ReasonForCurlCode(CURLE_COULDNT_CONNECT, ENETUNREACH), FailureReason::kConnection);
  EXPECT_EQ(ReasonForCurlCode(CURLE_COULDNT_CONNECT, EHOSTUNREACH), FailureReason::kConnection);
}

TEST(ConnectionTest, SendsAndReceivesOverTheDialledConnection) {
  LoopbackHttpServer server;
  ASSERT_TRUE(server.ok());
  ProbeContext ctx{Clock::now() + 5s, nullptr, Env::Default()};
  ProbeResult failure;
  auto conn = Connection::Dial("127.0.0.1", server.port(), TlsOptions{}, ctx, &failure);
  ASSERT_NE(conn, nullptr) << failure.message;
  ASSERT_TRUE(conn->Send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n", ctx, &failure)) << failure.message;
  std::string reply;
  ASSERT_TRUE(conn->ReadUntil(HasBody, 4096, ctx, &reply, &failure)) << failure.message;
  EXPECT_THAT(reply, ::testing::StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(server.RequestCount("/ok"), 1);
  EXPECT_LT(conn->PeerCertNotAfter(), 0);  // Plain TCP.
}

TEST(ConnectionTest, SilentPeerTimesOutAtTheDeadline) {
  LoopbackHttpServer server;
  ASSERT_TRUE(server.ok());
  auto start = Clock::now();
  ProbeContext ctx{start + 400ms, nullptr, Env::Default()};
  ProbeResult failure;
  auto conn = Connection::Dial("127.0.0.1", server.port(), TlsOptions{}, ctx, &failure);
  ASSERT_NE(conn, nullptr) << failure.message;
  ASSERT_TRUE(conn->Send("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n", ctx, &failure));
  std::string reply;
  EXPECT_FALSE(conn->ReadUntil(HasBody, 4096, ctx, &reply, &failure));
  EXPECT_EQ(failure.reason, FailureReason::kTimeout) << failure.message;
  EXPECT_LT(Clock::now() - start, 400ms + 1s);
}

TEST(ConnectionTest, PeerClosingMidAnswerFails) {
  LoopbackHttpServer server;
  ASSERT_TRUE(server.ok());
  ProbeContext ctx{Clock::now() + 5s, nullptr, Env::Default()};
  ProbeResult failure;
  auto conn = Connection::Dial("127.0.0.1", server.port(), TlsOptions{}, ctx, &failure);
  ASSERT_NE(conn, nullptr) << failure.message;
  ASSERT_TRUE(conn->Send("GET /close-mid HTTP/1.1\r\nHost: x\r\n\r\n", ctx, &failure));
  std::string reply;
  EXPECT_FALSE(conn->ReadUntil(HasBody, 4096, ctx, &reply, &failure));
  EXPECT_NE(failure.reason, FailureReason::kNone);
  EXPECT_THAT(reply, HasSubstr("0123456789"));
}

TEST(ConnectionTest, CancelWhileReadingReturnsPromptly) {
  LoopbackHttpServer server;
  ASSERT_TRUE(server.ok());
  std::atomic<bool> cancel{false};
  ProbeContext ctx{Clock::now() + 10s, &cancel, Env::Default()};
  ProbeResult failure;
  auto conn = Connection::Dial("127.0.0.1", server.port(), TlsOptions{}, ctx, &failure);
  ASSERT_NE(conn, nullptr) << failure.message;
  ASSERT_TRUE(conn->Send("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n", ctx, &failure));
  Clock::time_point cancelled_at;
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    cancelled_at = Clock::now();
    cancel = true;
  });
  std::string reply;
  EXPECT_FALSE(conn->ReadUntil(HasBody, 4096, ctx, &reply, &failure));
  Clock::time_point returned_at = Clock::now();
  canceller.join();
  EXPECT_EQ(failure.message, "cancelled");
  EXPECT_LT(returned_at - cancelled_at, 300ms);
}

TEST(ConnectionTest, RefusedDialSaysRefused) {
  ProbeContext ctx{Clock::now() + 2s, nullptr, Env::Default()};
  ProbeResult failure;
  auto conn = Connection::Dial("127.0.0.1", testing::ClosedPort(), TlsOptions{}, ctx, &failure);
  EXPECT_EQ(conn, nullptr);
  EXPECT_EQ(failure.reason, FailureReason::kRefused) << failure.message;
}

}  // namespace net_connection_test
}  // namespace joelclaw
