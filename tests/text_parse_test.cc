#include "exporter/text_parse.h"

#include <string>

#include "gtest/gtest.h"

namespace joelclaw {
namespace text_parse_test {

TEST(ParseSignedLongTest, WholeBase10IntegersOnly) {
  long v = 0;
  EXPECT_TRUE(ParseSignedLong("-9", &v));
  EXPECT_EQ(v, -9);
  EXPECT_TRUE(ParseSignedLong("4121", &v));
  EXPECT_EQ(v, 4121);
  for (const char* bad :
       {"", "-", "12x", " 12", "+5", "0x10", "99999999999999999999999"}) {
    EXPECT_FALSE(ParseSignedLong(bad, &v)) << bad;
  }
}

TEST(TrimBlanksTest, StripsAsciiWhitespaceAtBothEnds) {
  EXPECT_EQ(TrimBlanks(" \t a b \r\n"), "a b");
  EXPECT_EQ(TrimBlanks("   "), "");
  EXPECT_EQ(TrimBlanks(""), "");
  EXPECT_EQ(TrimBlanks("x"), "x");
}

TEST(ExcerptTest, PrintableCollapsedAndCut) {
  EXPECT_EQ(Excerpt("short"), "short");
  EXPECT_EQ(Excerpt(std::string(41, 'z')), std::string(40, 'z') + "...");
  EXPECT_EQ(Excerpt(std::string(40, 'z')), std::string(40, 'z'));
  // Control bytes and non-ASCII become '?'; whitespace runs one space.
  EXPECT_EQ(Excerpt(std::string("a\x01\x7f\xc3\xa9 \n\t b")), "a???? b");
  EXPECT_EQ(Excerpt("{\n  \"a\": 1,\n  \"b\": 2\n}"), "{ \"a\": 1, \"b\": 2 }");
  // No space left dangling before the ellipsis.
  EXPECT_EQ(Excerpt("abc   def", 4), "abc...");
  EXPECT_EQ(QuotedExcerpt("it's", 10), "'it's'");
  EXPECT_EQ(QuotedExcerpt("abcdef", 3), "'abc...'");
}

TEST(AsciiLowerTest, OnlyAsciiLettersChange) {
  EXPECT_EQ(AsciiLower("Content-Type: X-ÄB"), "content-type: x-Äb");
  EXPECT_EQ(AsciiLower(""), "");
}

TEST(NonEmptyLinesTest, SplitsAtNewlinesAndDropsEmptyLines) {
  EXPECT_EQ(NonEmptyLines("a.yaml:1: x\n\na.yaml:3: y\n"),
            (std::vector<std::string_view>{"a.yaml:1: x", "a.yaml:3: y"}));
  EXPECT_EQ(NonEmptyLines("one"), std::vector<std::string_view>{"one"});
  EXPECT_TRUE(NonEmptyLines("").empty());
  EXPECT_TRUE(NonEmptyLines("\n\n").empty());
}

}  // namespace text_parse_test
}  // namespace joelclaw
