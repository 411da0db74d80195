#include "exporter/probes/tls_probe.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/probe_runner.h"
#include "tests/support/real_servers.h"
#include "tests/support/scripted_server.h"
#include "tests/support/timed_probe.h"

namespace joelclaw {
namespace tls_probe_test {

using ::testing::HasSubstr;
using testing::ParseProbe;
using testing::ScriptedServer;
using testing::TimedResult;
using testing::TimedRun;
using namespace std::chrono_literals;

constexpr int kLeafDays = 10;

TimedResult ProbeTls(const std::string& yaml, std::chrono::milliseconds timeout = 5s) {
  auto probe = ParseProbe("tls", yaml);
  if (!probe.ok()) return {ProbeResult::Fail(FailureReason::kError, probe.status().message())};
  return TimedRun(**probe, timeout);
}

// A real TLS server (openssl s_server) with a leaf issued by a test CA.
class TlsProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pki = testing::MakeTestPki(dir_, kLeafDays);
    ASSERT_TRUE(pki.ok()) << pki.status().message();
    pki_ = *pki;
  }

  // Starts s_server with `cert` and returns its address.
  std::string Serve(const std::string& cert) {
    auto server = testing::StartTlsServer(dir_, cert, pki_.leaf_key_path);
    if (!server.ok()) {
      ADD_FAILURE() << server.status().message();
      return "127.0.0.1:1";
    }
    servers_.push_back(std::move(*server));
    return servers_.back()->address;
  }

  std::string Yaml(const std::string& address, const std::string& extra) {
    return "{address: \"" + address + "\"" + (extra.empty() ? "" : ", " + extra) + "}";
  }
  std::string CaFile() const { return "ca_file: \"" + pki_.ca_cert_path + "\""; }

  testing::TempDir dir_;
  testing::TestPki pki_;
  std::vector<std::unique_ptr<testing::TlsServer>> servers_;
};

TEST_F(TlsProbeTest, VerifiedHandshakeReportsNotAfter) {
  std::string address = Serve(pki_.leaf_cert_path);
  auto [r, took, since_cancel] = ProbeTls(Yaml(address, "server_name: panda.test, " + CaFile()));
  ASSERT_TRUE(r.success) << r.message;
  EXPECT_EQ(r.reason, FailureReason::kNone);
  auto not_after = testing::CertNotAfter(pki_.leaf_cert_path);
  ASSERT_TRUE(not_after.ok()) << not_after.status().message();
  ASSERT_TRUE(r.cert_not_after.has_value());
  EXPECT_NEAR(*r.cert_not_after, *not_after, 1.0);
  EXPECT_NEAR(*r.cert_not_after, Env::Default()->NowSeconds() + kLeafDays * 86400.0, 300);
  EXPECT_EQ(r.detail, "certificate valid " + std::to_string(kLeafDays - 1) + " more days");
}

TEST_F(TlsProbeTest, IpAddressMatchesTheIpSubjectAltName) {
  std::string address = Serve(pki_.leaf_cert_path);
  auto [r, took, since_cancel] = ProbeTls(Yaml(address, CaFile()));
  EXPECT_TRUE(r.success) << r.message;
}

TEST_F(TlsProbeTest, UnknownCaIsTls) {
  std::string address = Serve(pki_.leaf_cert_path);
  auto [r, took, since_cancel] = ProbeTls(Yaml(address, "server_name: panda.test"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, FailureReason::kTls) << r.message;
  EXPECT_THAT(r.message, HasSubstr("certificate"));
  EXPECT_FALSE(r.cert_not_after.has_value());
}

TEST_F(TlsProbeTest, WrongServerNameIsTls) {
  std::string address = Serve(pki_.leaf_cert_path);
  auto [r, took, since_cancel] = ProbeTls(Yaml(address, "server_name: other.test, " + CaFile()));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, FailureReason::kTls) << r.message;
  EXPECT_THAT(r.message, HasSubstr("other.test"));
}

TEST_F(TlsProbeTest, InsecureSkipVerifySucceedsWithoutCa) {
  std::string address = Serve(pki_.leaf_cert_path);
  auto [r, took, since_cancel] = ProbeTls(Yaml(address, "server_name: other.test, insecure_skip_verify: true"));
  EXPECT_TRUE(r.success) << r.message;
  auto not_after = testing::CertNotAfter(pki_.leaf_cert_path);
  ASSERT_TRUE(not_after.ok());
  ASSERT_TRUE(r.cert_not_after.has_value());
  EXPECT_NEAR(*r.cert_not_after, *not_after, 1.0);
}

TEST_F(TlsProbeTest, ExpiredCertificateIsTls) {
  std::string address = Serve(pki_.expired_cert_path);
  auto [r, took, since_cancel] = ProbeTls(Yaml(address, "server_name: panda.test, " + CaFile()));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, FailureReason::kTls) << r.message;
  EXPECT_THAT(r.message, HasSubstr("expired"));
}

TEST_F(TlsProbeTest, ExpiredCertificateUnderInsecureSkipVerifyStillReportsNotAfter) {
  std::string address = Serve(pki_.expired_cert_path);
  auto [r, took, since_cancel] = ProbeTls(Yaml(address, "insecure_skip_verify: true"));
  ASSERT_TRUE(r.success) << r.message;
  ASSERT_TRUE(r.cert_not_after.has_value());
  EXPECT_EQ(*r.cert_not_after, pki_.expired_not_after);
  EXPECT_THAT(r.detail, HasSubstr("expired"));
}

TEST_F(TlsProbeTest, SilentPlainTcpServerTimesOutOnTime) {
  ScriptedServer server({});
  auto [r, took, since_cancel] = ProbeTls(Yaml(server.address(), "server_name: panda.test"), 1s);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, FailureReason::kTimeout) << r.message;
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 2s);
}

TEST_F(TlsProbeTest, PlainHttpServerIsTls) {
  ScriptedServer server({.reply = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
                         .read_first = true,
                         .close_after = true});
  auto [r, took, since_cancel] = ProbeTls(Yaml(server.address(), "server_name: panda.test"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, FailureReason::kTls) << r.message;
  EXPECT_GE(server.connections(), 1);
}

TEST_F(TlsProbeTest, PeerClosingDuringHandshakeIsTls) {
  ScriptedServer server({.read_first = true, .close_after = true});
  auto [r, took, since_cancel] = ProbeTls(Yaml(server.address(), "server_name: panda.test"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reason, FailureReason::kTls) << r.message;
}

TEST_F(TlsProbeTest, ClosedPortIsRefused) {
  auto [r, took, since_cancel] = ProbeTls(Yaml("127.0.0.1:" + std::to_string(testing::FreePort()), ""));
  EXPECT_EQ(r.reason, FailureReason::kRefused) << r.message;
}

}  // namespace tls_probe_test
}  // namespace joelclaw
