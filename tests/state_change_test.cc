#include "exporter/state_change.h"

#include "gtest/gtest.h"

namespace joelclaw {
namespace state_change_test {

TEST(StateChangeTest, OnceWhenItGoesDownAndOnceWhenItComesBack) {
  UpDown s;
  double down_for = -1;
  EXPECT_EQ(ObserveRun(&s, true, 100, &down_for), StateChange::kNone);  // First run, up.
  EXPECT_EQ(ObserveRun(&s, true, 130, &down_for), StateChange::kNone);
  EXPECT_EQ(ObserveRun(&s, false, 160, &down_for), StateChange::kWentDown);
  EXPECT_EQ(s.down_since, 160);
  EXPECT_EQ(ObserveRun(&s, false, 190, &down_for), StateChange::kNone);
  EXPECT_EQ(ObserveRun(&s, false, 220, &down_for), StateChange::kNone);
  EXPECT_EQ(down_for, -1);
  EXPECT_EQ(ObserveRun(&s, true, 250, &down_for), StateChange::kCameBack);
  EXPECT_EQ(down_for, 90);
  EXPECT_EQ(ObserveRun(&s, true, 280, &down_for), StateChange::kNone);
}

TEST(StateChangeTest, AFirstRunThatFailsIsAChange) {
  UpDown s;
  double down_for = 0;
  EXPECT_EQ(ObserveRun(&s, false, 10, &down_for), StateChange::kWentDown);
  EXPECT_EQ(ObserveRun(&s, true, 25.5, &down_for), StateChange::kCameBack);
  EXPECT_DOUBLE_EQ(down_for, 15.5);
}

TEST(StateChangeTest, AClockThatStepsBackGivesZeroNotNegative) {
  UpDown s;
  double down_for = -1;
  ObserveRun(&s, false, 100, &down_for);
  EXPECT_EQ(ObserveRun(&s, true, 90, &down_for), StateChange::kCameBack);
  EXPECT_EQ(down_for, 0);
}

TEST(StateChangeTest, DownForReadsLikeAGoDuration) {
  EXPECT_EQ(FormatDownFor(0), "0ms");
  EXPECT_EQ(FormatDownFor(0.45), "450ms");
  EXPECT_EQ(FormatDownFor(1), "1s");
  EXPECT_EQ(FormatDownFor(59.6), "1m0s");
  EXPECT_EQ(FormatDownFor(150), "2m30s");
  EXPECT_EQ(FormatDownFor(3605), "1h0m5s");
  EXPECT_EQ(FormatDownFor(90000), "25h0m0s");
  EXPECT_EQ(FormatDownFor(-3), "0ms");
}

TEST(StateChangeTest, LinesCarryTheLabelsOfTheMetrics) {
  StateChangeLine down = CheckChangeLine(StateChange::kWentDown, "panda", "redis", "redis",
                                         "refused", "connection refused", 0);
  EXPECT_TRUE(down.warn);
  EXPECT_EQ(down.msg, "check is down");
  ASSERT_EQ(down.fields.size(), 5u);
  EXPECT_EQ(down.fields[0].key, "host");
  EXPECT_EQ(down.fields[1].key, "target");
  EXPECT_EQ(down.fields[1].value, "redis");
  EXPECT_EQ(down.fields[2].key, "kind");
  EXPECT_EQ(down.fields[3].value, "refused");
  EXPECT_EQ(down.fields[4].value, "connection refused");

  StateChangeLine up = CheckChangeLine(StateChange::kCameBack, "panda", "redis", "redis", "", "",
                                       150);
  EXPECT_FALSE(up.warn);
  EXPECT_EQ(up.msg, "check is up again");
  EXPECT_EQ(up.fields.back().key, "down_for");
  EXPECT_EQ(up.fields.back().value, "2m30s");

  StateChangeLine failing =
      CollectorChangeLine(StateChange::kWentDown, "launchd", "panda", "launchctl: exit 1", 0);
  EXPECT_TRUE(failing.warn);
  EXPECT_EQ(failing.msg, "collector is failing");
  EXPECT_EQ(failing.fields[0].key, "collector");
  EXPECT_EQ(failing.fields[0].value, "launchd");
  EXPECT_EQ(failing.fields[1].value, "panda");
  StateChangeLine working =
      CollectorChangeLine(StateChange::kCameBack, "launchd", "panda", "", 2);
  EXPECT_FALSE(working.warn);
  EXPECT_EQ(working.msg, "collector is working again");
  EXPECT_EQ(working.fields.back().value, "2s");
}

}  // namespace state_change_test
}  // namespace joelclaw
