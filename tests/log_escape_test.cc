// Log lines and label values from untrusted text: EscapeLogField and
// IsValidUtf8 (exporter/text_parse.h).
#include "exporter/text_parse.h"

#include "gtest/gtest.h"

namespace joelclaw {
namespace log_escape_test {

TEST(EscapeLogFieldTest, ANewlineCannotForgeALogLine) {
  EXPECT_EQ(EscapeLogField("alerts[0].labels.x\n2026-12-04T00:00:00 error forged"),
            "alerts[0].labels.x\\n2026-12-04T00:00:00 error forged");
  EXPECT_EQ(EscapeLogField("a\rb\tc\\d\"e"), "a\\rb\\tc\\\\d\\\"e");
  EXPECT_EQ(EscapeLogField(std::string("nul\0bell\x07", 9)), "nul\\x00bell\\x07");
  EXPECT_EQ(EscapeLogField("\x1b[31mred"), "\\x1b[31mred");
}

TEST(EscapeLogFieldTest, KeepsUtf8AndEscapesInvalidBytes) {
  EXPECT_EQ(EscapeLogField("caf\xc3\xa9 \xe2\x9c\x93"), "caf\xc3\xa9 \xe2\x9c\x93");
  EXPECT_EQ(EscapeLogField("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(EscapeLogField("\xc3"), "\\xc3");  // Cut short.
  EXPECT_EQ(EscapeLogField(std::string(600, 'a')), std::string(512, 'a') + "...");
}

TEST(IsValidUtf8Test, AcceptsUtf8AndRejectsTheRest) {
  for (const char* ok : {"", "panda", "caf\xc3\xa9", "\xf0\x9f\x90\xbc", "\xef\xbf\xbd"}) {
    EXPECT_TRUE(IsValidUtf8(ok)) << ok;
  }
  for (const char* bad : {"\xff\xfe", "\xc0\xaf" /* overlong */, "\xed\xa0\x80" /* surrogate */,
                          "\xf4\x90\x80\x80" /* past U+10FFFF */, "caf\xc3", "\x80"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << EscapeLogField(bad);
  }
}

}  // namespace log_escape_test
}  // namespace joelclaw
