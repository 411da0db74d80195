#include "exporter/duration.h"

#include "gtest/gtest.h"

namespace joelclaw {
namespace duration_test {

TEST(DurationTest, ParsesUnitsAndCombinations) {
  EXPECT_EQ(ParseDuration("30s")->count(), 30000);
  EXPECT_EQ(ParseDuration("500ms")->count(), 500);
  EXPECT_EQ(ParseDuration("1m30s")->count(), 90000);
  EXPECT_EQ(ParseDuration("2h")->count(), 7200000);
  EXPECT_EQ(ParseDuration("1d")->count(), 86400000);
  EXPECT_EQ(ParseDuration("1w")->count(), 604800000);
}

TEST(DurationTest, RejectsMissingOrUnknownUnits) {
  EXPECT_EQ(ParseDuration("30").status().message(),
            "invalid duration '30': missing unit (use ms, s, m, h, d or w)");
  EXPECT_EQ(ParseDuration("3y").status().message(), "invalid duration '3y': unknown unit 'y'");
  EXPECT_EQ(ParseDuration("").status().message(), "empty duration");
  EXPECT_EQ(ParseDuration("s").status().message(), "invalid duration 's': expected a number");
  EXPECT_EQ(ParseDuration("1.5s").status().message(),
            "invalid duration '1.5s': no fractions; combine units instead (1s500ms, 1m30s)");
  EXPECT_EQ(ParseDuration("30 s").status().message(),
            "invalid duration '30 s': unexpected ' ' after 30");
  EXPECT_FALSE(ParseDuration("-5s").ok());
  EXPECT_FALSE(ParseDuration("9999999999999s").ok());
}

TEST(DurationTest, FormatsShortest) {
  EXPECT_EQ(FormatDuration(Duration(90000)), "1m30s");
  EXPECT_EQ(FormatDuration(Duration(500)), "500ms");
  EXPECT_EQ(FormatDuration(Duration(0)), "0s");
}

}  // namespace duration_test
}  // namespace joelclaw
