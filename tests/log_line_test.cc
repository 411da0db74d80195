#include "exporter/log_line.h"

#include <chrono>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace joelclaw {
namespace log_line_test {

using std::chrono::milliseconds;

// 2023-11-14T22:13:20.123Z
const std::chrono::system_clock::time_point kTs{milliseconds(1700000000123)};

TEST(LogLineTest, LogfmtLineHasTsLevelMsgAndFieldsInOrder) {
  EXPECT_EQ(FormatLogLine(LogFormat::kLogfmt, kTs, "warn", "check is down",
                          {{"host", "panda"}, {"target", "redis"}, {"kind", "redis"},
                           {"reason", "refused"}, {"err", "connect: refused"}}),
            "ts=2023-11-14T22:13:20.123Z level=warn msg=\"check is down\" host=panda "
            "target=redis kind=redis reason=refused err=\"connect: refused\"\n");
  EXPECT_EQ(FormatLogLine(LogFormat::kLogfmt, kTs, "info", "stopped", {}),
            "ts=2023-11-14T22:13:20.123Z level=info msg=stopped\n");
}

TEST(LogLineTest, LogfmtQuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(LogfmtValue("plain"), "plain");
  EXPECT_EQ(LogfmtValue("http://127.0.0.1:8288/health"), "http://127.0.0.1:8288/health");
  EXPECT_EQ(LogfmtValue("ünïcode"), "ünïcode");
  EXPECT_EQ(LogfmtValue(""), "");
  EXPECT_EQ(LogfmtValue("two words"), "\"two words\"");
  EXPECT_EQ(LogfmtValue("a=b"), "\"a=b\"");
  EXPECT_EQ(LogfmtValue("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(LogfmtValue("back\\slash"), "back\\slash");  // No quote needed, so no escape.
  EXPECT_EQ(LogfmtValue("back\\slash x"), "\"back\\\\slash x\"");
  EXPECT_EQ(LogfmtValue("null"), "\"null\"");
  EXPECT_EQ(LogfmtValue("tab\there"), "\"tab\\there\"");
  EXPECT_EQ(LogfmtValue(std::string("nul\0x", 5)), "\"nul\\u0000x\"");
  EXPECT_EQ(LogfmtValue("del\x7f"), "\"del\\u007f\"");
  // Invalid UTF-8 (a lone continuation byte, a truncated sequence, an
  // overlong slash) becomes U+FFFD.
  EXPECT_EQ(LogfmtValue("a\x80z"), "\"a\\ufffdz\"");
  EXPECT_EQ(LogfmtValue("\xe2\x82"), "\"\\ufffd\\ufffd\"");
  EXPECT_EQ(LogfmtValue("\xc0\xaf"), "\"\\ufffd\\ufffd\"");
}

// A value cannot forge a second line or a field of its own, in either format.
TEST(LogLineTest, ANewlineInAFieldCannotForgeALine) {
  const std::string hostile = "oops\nts=2023-01-01T00:00:00.000Z level=error msg=forged\r";
  for (LogFormat format : {LogFormat::kLogfmt, LogFormat::kJson}) {
    const std::string line =
        FormatLogLine(format, kTs, "warn", "check is down\nlevel=info", {{"err", hostile}});
    EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
  }
  EXPECT_EQ(FormatLogLine(LogFormat::kLogfmt, kTs, "warn", "m", {{"err", hostile}}),
            "ts=2023-11-14T22:13:20.123Z level=warn msg=m err=\"oops\\nts=2023-01-01T00:00:00.000Z "
            "level=error msg=forged\\r\"\n");
}

TEST(LogLineTest, JsonLineParsesBackToTheSameValues) {
  const std::string odd = "quote\" backslash\\ nl\n ctl\x01 ü";
  const std::string line = FormatLogLine(LogFormat::kJson, kTs, "info", "check is up again",
                                         {{"host", "three-body"}, {"err", odd}});
  ASSERT_EQ(line.back(), '\n');
  nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["ts"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "check is up again");
  EXPECT_EQ(j["host"], "three-body");
  EXPECT_EQ(j["err"], odd);
  // Keys in the order written: ts, level, msg, then the fields.
  EXPECT_EQ(line.rfind("{\"ts\":", 0), 0u);
  EXPECT_LT(line.find("\"msg\""), line.find("\"host\""));
  // Invalid UTF-8 still gives valid JSON.
  nlohmann::json bad = nlohmann::json::parse(
      FormatLogLine(LogFormat::kJson, kTs, "warn", "m", {{"err", "\xff\xfe"}}));
  EXPECT_EQ(bad["err"], "\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(LogLineTest, TimestampIsUtcWithMilliseconds) {
  const std::chrono::system_clock::time_point epoch{};
  EXPECT_EQ(FormatLogLine(LogFormat::kLogfmt, epoch, "info", "m", {}),
            "ts=1970-01-01T00:00:00.000Z level=info msg=m\n");
  const std::chrono::system_clock::time_point micro{std::chrono::microseconds(1700000000999999)};
  EXPECT_EQ(FormatLogLine(LogFormat::kLogfmt, micro, "info", "m", {}),
            "ts=2023-11-14T22:13:20.999Z level=info msg=m\n");
}

TEST(LogLineTest, ParseLogFormat) {
  EXPECT_EQ(*ParseLogFormat("logfmt"), LogFormat::kLogfmt);
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  for (const char* bad : {"", "JSON", "text", "logfmt "}) {
    EXPECT_EQ(ParseLogFormat(bad).status().message(), "--log.format must be logfmt or json")
        << bad;
  }
}

}  // namespace log_line_test
}  // namespace joelclaw
