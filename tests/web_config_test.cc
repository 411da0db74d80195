// The exporter-toolkit web config and the basic-auth checks.
#include "exporter/web_config.h"

#include <chrono>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_util.h"

namespace joelclaw {
namespace web_config_test {

using ::testing::HasSubstr;
using testing::BcryptHash;

std::string Basic(const std::string& credentials) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < credentials.size(); i += 3) {
    const uint32_t n = static_cast<unsigned char>(credentials[i]) << 16 |
                       static_cast<unsigned char>(credentials[i + 1]) << 8 |
                       static_cast<unsigned char>(credentials[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += kAlphabet[(n >> k) & 63];
  }
  if (i + 1 == credentials.size()) {
    const uint32_t n = static_cast<unsigned char>(credentials[i]) << 16;
    out += std::string{kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == credentials.size()) {
    const uint32_t n = static_cast<unsigned char>(credentials[i]) << 16 |
                       static_cast<unsigned char>(credentials[i + 1]) << 8;
    out += std::string{kAlphabet[n >> 18], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63],
                       '='};
  }
  return "Basic " + out;
}

TEST(WebConfigTest, HttpServerConfigHeadersAndHttp2) {
  auto wc = ParseWebConfig(
      "http_server_config:\n"
      "  http2: false\n"
      "  headers:\n"
      "    X-Frame-Options: deny\n"
      "    Strict-Transport-Security: max-age=31536000\n",
      "web.yml");
  ASSERT_TRUE(wc.ok()) << wc.status().message();
  EXPECT_FALSE(wc->http2);
  EXPECT_EQ(wc->headers.at("X-Frame-Options"), "deny");
  EXPECT_EQ(wc->headers.at("Strict-Transport-Security"), "max-age=31536000");

  struct Case {
    std::string yaml, message;
  };
  for (const Case& c : {
           Case{"http_server_config:\n  headers:\n    Set-Cookie: a=b\n",
                "web.yml:3: http_server_config: header 'Set-Cookie' cannot be configured"},
           Case{"http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
                "web.yml:3: http_server_config: header 'X-Frame-Options' must be one of deny, "
                "sameorigin, not 'allow'"},
           Case{"http_server_config:\n  http2: maybe\n",
                "web.yml:2: http_server_config: http2 must be true or false"},
           Case{"http_server_config:\n  idle_timeout: 1s\n", "web.yml:2: unknown key 'idle_timeout'"},
       }) {
    SCOPED_TRACE(c.yaml);
    auto bad = ParseWebConfig(c.yaml, "web.yml");
    ASSERT_FALSE(bad.ok());
    EXPECT_THAT(bad.status().message(), HasSubstr(c.message));
  }
}

TEST(WebConfigTest, EveryExporterToolkitClientAuthType) {
  testing::TempDir dir;
  testing::WriteFileOrDie(dir.File("c.pem"), "x");
  for (const char* policy : {"NoClientCert", "RequestClientCert", "RequireAnyClientCert"}) {
    auto wc = ParseWebConfig(std::string("tls_server_config:\n  cert_file: c.pem\n  key_file: "
                                         "c.pem\n  client_auth_type: ") + policy + "\n",
                             dir.File("web.yml"));
    EXPECT_TRUE(wc.ok()) << policy << ": " << wc.status().message();
  }
  for (const char* policy : {"VerifyClientCertIfGiven", "RequireAndVerifyClientCert"}) {
    auto wc = ParseWebConfig(std::string("tls_server_config:\n  cert_file: c.pem\n  key_file: "
                                         "c.pem\n  client_auth_type: ") + policy + "\n",
                             dir.File("web.yml"));
    ASSERT_FALSE(wc.ok()) << policy;
    EXPECT_THAT(wc.status().message(), HasSubstr("needs client_ca_file"));
  }
  auto old = ParseWebConfig("tls_server_config:\n  cert_file: c.pem\n  key_file: c.pem\n"
                            "  min_version: TLS11\n",
                            dir.File("web.yml"));
  ASSERT_FALSE(old.ok());
  EXPECT_THAT(old.status().message(), HasSubstr(":4: min_version must be TLS12 or TLS13"));
}

TEST(DecodeBase64Test, StrictStandardBase64) {
  std::string out;
  EXPECT_TRUE(DecodeBase64("cHJvbWV0aGV1czpwdw==", &out));
  EXPECT_EQ(out, "prometheus:pw");
  EXPECT_TRUE(DecodeBase64("YWI=", &out));
  EXPECT_EQ(out, "ab");
  EXPECT_TRUE(DecodeBase64("YWJj", &out));
  EXPECT_EQ(out, "abc");
  EXPECT_TRUE(DecodeBase64("", &out));
  EXPECT_EQ(out, "");
  for (const char* bad : {"YWJ", "YW=j", "YWJj====", "Y===", " YWJj", "YWJj\n", "YW_j", "YW-j"}) {
    EXPECT_FALSE(DecodeBase64(bad, &out)) << bad;
  }
}

TEST(BasicAuthenticatorTest, ChecksCachesAndRejectsNul) {
  BasicAuthenticator auth({{"prometheus", BcryptHash("hunter2")}});
  EXPECT_EQ(auth.CheckFast(Basic("prometheus:hunter2")),
            BasicAuthenticator::Verdict::kNeedsBcrypt);
  EXPECT_TRUE(auth.Check(Basic("prometheus:hunter2")));
  // Cached now: no bcrypt needed.
  EXPECT_EQ(auth.CheckFast(Basic("prometheus:hunter2")), BasicAuthenticator::Verdict::kAllowed);
  EXPECT_TRUE(auth.Check("basic " + Basic("prometheus:hunter2").substr(6)));  // Any case.
  EXPECT_FALSE(auth.Check(Basic("prometheus:hunter3")));
  EXPECT_EQ(auth.CheckFast(Basic("prometheus:hunter3")),
            BasicAuthenticator::Verdict::kNeedsBcrypt);  // Failures are not cached.
  // crypt(3) stops at a NUL: without the check this would pass.
  EXPECT_EQ(auth.CheckFast(Basic(std::string("prometheus:hunter2\0garbage", 26))),
            BasicAuthenticator::Verdict::kDenied);
  EXPECT_FALSE(auth.Check(Basic(std::string("prometheus:hunter2\0garbage", 26))));
  EXPECT_FALSE(auth.Check(Basic(std::string("prome\0theus:hunter2", 19))));
  for (const std::string& bad : {std::string(""), std::string("Bearer x"),
                                 std::string("Basic !!!!"), Basic("no-colon")}) {
    EXPECT_EQ(auth.CheckFast(bad), BasicAuthenticator::Verdict::kDenied) << bad;
  }
}

// An unknown user costs what a known one does: the decoy is a bcrypt at
// the configured cost, not a cheaper fixed one. Compared on the same
// machine in the same test, with a wide margin (cost 10 vs cost 6 would be
// 16 times apart).
TEST(BasicAuthenticatorTest, UnknownUsersCostAsMuchAsKnownOnes) {
  BasicAuthenticator auth({{"prometheus", BcryptHash("hunter2", 10)}});
  auto time = [&](const std::string& header) {
    auto best = std::chrono::steady_clock::duration::max();
    for (int i = 0; i < 3; ++i) {
      const auto start = std::chrono::steady_clock::now();
      EXPECT_FALSE(auth.Check(header));
      best = std::min(best, std::chrono::steady_clock::now() - start);
    }
    return best;
  };
  const auto known = time(Basic("prometheus:wrong"));
  const auto unknown = time(Basic("root:wrong"));
  EXPECT_GT(unknown * 3, known) << "unknown " << unknown.count() << " known " << known.count();
}

}  // namespace web_config_test
}  // namespace joelclaw
