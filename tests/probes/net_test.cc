#include "exporter/probes/net.h"

#include "gtest/gtest.h"

namespace joelclaw {
namespace net_test {

TEST(NetTest, PeerTextKeepsTheFirstLineAndEscapesBytes) {
  EXPECT_EQ(PeerText("HTTP/1.1 400 Bad Request\r\nServer: x\r\n"), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(PeerText(std::string("\x15\x03\x03\x00\x02", 5)), "\\x15\\x03\\x03\\x00\\x02");
  EXPECT_EQ(PeerText("\xff\xfe ok"), "\\xff\\xfe ok");
  EXPECT_EQ(PeerText("abcdefgh", 5), "abcde...");
  EXPECT_EQ(PeerText("abcde", 5), "abcde");
  EXPECT_EQ(PeerText(""), "");
}

TEST(NetTest, ParsesBothCertInfoDateForms) {
  // OpenSSL backend (ASN1_TIME_print), with its space-padded day.
  EXPECT_EQ(ParseCertInfoTime("Jan  2 00:00:00 2020 GMT"), 1577923200);
  EXPECT_EQ(ParseCertInfoTime("Dec 13 17:32:57 2026 GMT"), 1797183177);
  // curl's own ASN.1 decoder (GnuTLS, Schannel, Secure Transport, ...).
  EXPECT_EQ(ParseCertInfoTime("2020-01-02 00:00:00 GMT"), 1577923200);
  EXPECT_LT(ParseCertInfoTime(""), 0);
  EXPECT_LT(ParseCertInfoTime("   "), 0);
  EXPECT_LT(ParseCertInfoTime("soon"), 0);
  EXPECT_LT(ParseCertInfoTime("Jan  2 00:00:00 2020 GMT trailing"), 0);
}

}  // namespace net_test
}  // namespace joelclaw
