#include "exporter/scheduler.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"
#include "tests/support/fake_env.h"
#include "tests/support/log_capture.h"
#include "tests/support/test_util.h"

namespace joelclaw {
namespace scheduler_test {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Answers at once.
class FastProbe : public Probe {
 public:
  ProbeResult Run(const ProbeContext&) override {
    ProbeResult r;
    r.success = true;
    return r;
  }
  std::string Describe() const override { return "fast"; }
};

// A blackholed target: waits for the deadline or a cancel, like a real probe
// stuck in connect().
class HangingProbe : public Probe {
 public:
  ProbeResult Run(const ProbeContext& ctx) override {
    while (!ctx.cancelled() && Clock::now() < ctx.deadline) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    return ProbeResult::Fail(FailureReason::kTimeout, "no answer");
  }
  std::string Describe() const override { return "hang"; }
};

// Ignores both deadline and cancel: a thread stuck in a syscall.
class StuckProbe : public Probe {
 public:
  explicit StuckProbe(milliseconds d) : d_(d) {}
  ProbeResult Run(const ProbeContext&) override {
    std::this_thread::sleep_for(d_);
    ProbeResult r;
    r.success = true;
    return r;
  }
  std::string Describe() const override { return "stuck"; }

 private:
  milliseconds d_;
};

class ThrowingProbe : public Probe {
 public:
  ProbeResult Run(const ProbeContext&) override { throw std::runtime_error("boom"); }
  std::string Describe() const override { return "throws"; }
};

// Counts its runs and carries the count over a reload.
class CountingCollector : public Collector {
 public:
  Status Collect(const CollectContext&, CollectOutput* out) override {
    ++runs_;
    out->metrics.Gauge("test_runs", "runs", {}, runs_);
    return fail_ ? Status::Error("source unreadable") : Status::Ok();
  }
  void InheritState(Collector& previous) override {
    runs_ = static_cast<CountingCollector&>(previous).runs_;
    inherited_ = true;
  }
  int runs_ = 0;
  bool inherited_ = false;
  bool fail_ = false;
};

CheckSpec Check(const std::string& name, std::shared_ptr<Probe> probe, milliseconds interval,
                milliseconds timeout) {
  CheckSpec c;
  c.host = "h";
  c.name = name;
  c.kind = "test";
  c.interval = interval;
  c.timeout = timeout;
  c.probe = std::move(probe);
  return c;
}

const CheckState* Find(const std::vector<CheckState>& states, const std::string& name) {
  for (const CheckState& s : states) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

TEST(SchedulerTest, HungTargetsDoNotDelayHealthyOnes) {
  auto cfg = std::make_shared<Config>();
  cfg->hosts = {"h"};
  for (int i = 0; i < 30; ++i) {
    cfg->checks.push_back(Check("hang" + std::to_string(i), std::make_shared<HangingProbe>(),
                                milliseconds(400), milliseconds(350)));
    cfg->checks.push_back(Check("fast" + std::to_string(i), std::make_shared<FastProbe>(),
                                milliseconds(400), milliseconds(350)));
  }
  Scheduler::Options opts;
  Scheduler s(cfg, opts, nullptr);
  s.Start();
  std::this_thread::sleep_for(milliseconds(1700));
  std::vector<CheckState> states;
  s.CopyStates(&states, nullptr);
  s.Stop();
  for (const CheckState& st : states) {
    if (st.name.rfind("fast", 0) == 0) {
      // Due at 0, 400, 800, 1200, 1600 ms: 5 runs; allow one to be in flight.
      EXPECT_GE(st.runs, 4u) << st.name;
      EXPECT_TRUE(st.last.success) << st.name;
    } else {
      EXPECT_GE(st.runs, 3u) << st.name;
      EXPECT_EQ(st.last.reason, FailureReason::kTimeout) << st.name;
      EXPECT_EQ(st.failures[0], st.runs) << st.name;  // kTimeout is first.
      ASSERT_FALSE(st.recent.empty());
      EXPECT_EQ(st.recent.back().reason, "timeout");
    }
  }
}

TEST(SchedulerTest, StuckProbeIsSkippedNotPiledUpAndStopIsPrompt) {
  auto cfg = std::make_shared<Config>();
  cfg->hosts = {"h"};
  cfg->checks.push_back(Check("stuck", std::make_shared<StuckProbe>(milliseconds(3000)),
                              milliseconds(200), milliseconds(100)));
  cfg->checks.push_back(Check("fast", std::make_shared<FastProbe>(), milliseconds(200),
                              milliseconds(100)));
  Scheduler s(cfg, Scheduler::Options{}, nullptr);
  s.Start();
  std::this_thread::sleep_for(milliseconds(1100));
  std::vector<CheckState> states;
  s.CopyStates(&states, nullptr);
  auto t0 = Clock::now();
  s.Stop(milliseconds(300));
  auto stop_took = Clock::now() - t0;
  const CheckState* stuck = Find(states, "stuck");
  ASSERT_NE(stuck, nullptr);
  EXPECT_EQ(stuck->runs, 0u);        // Still in its first run.
  EXPECT_GE(stuck->overruns, 3u);    // Its later slots were skipped.
  EXPECT_GE(Find(states, "fast")->runs, 4u);
  // Stop abandons the stuck run instead of waiting 3 s for it.
  EXPECT_LT(stop_took, milliseconds(1000));
}

TEST(SchedulerTest, LateAnswerCountsAsTimeoutAndThrowIsError) {
  auto cfg = std::make_shared<Config>();
  cfg->hosts = {"h"};
  cfg->checks.push_back(Check("late", std::make_shared<StuckProbe>(milliseconds(300)),
                              milliseconds(10000), milliseconds(100)));
  cfg->checks.push_back(Check("throws", std::make_shared<ThrowingProbe>(), milliseconds(10000),
                              milliseconds(100)));
  Scheduler s(cfg, Scheduler::Options{}, nullptr);
  s.Start();
  ASSERT_TRUE(testing::WaitFor([&] { return s.FirstRoundDone(); }, milliseconds(3000)));
  std::vector<CheckState> states;
  s.CopyStates(&states, nullptr);
  s.Stop();
  EXPECT_FALSE(Find(states, "late")->last.success);
  EXPECT_EQ(Find(states, "late")->last.reason, FailureReason::kTimeout);
  EXPECT_EQ(Find(states, "throws")->last.reason, FailureReason::kError);
  EXPECT_EQ(Find(states, "throws")->last.message, "probe threw: boom");
}

TEST(SchedulerTest, ReadyOnlyAfterEveryTaskRan) {
  auto cfg = std::make_shared<Config>();
  cfg->hosts = {"h"};
  cfg->checks.push_back(Check("fast", std::make_shared<FastProbe>(), milliseconds(10000),
                              milliseconds(5000)));
  cfg->checks.push_back(Check("hang", std::make_shared<HangingProbe>(), milliseconds(10000),
                              milliseconds(600)));
  Scheduler s(cfg, Scheduler::Options{}, nullptr);
  s.Start();
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_FALSE(s.FirstRoundDone());
  EXPECT_TRUE(testing::WaitFor([&] { return s.FirstRoundDone(); }, milliseconds(3000)));
  s.Stop();
}

TEST(SchedulerTest, ReloadCarriesCountersAndCollectorState) {
  auto collector_a = std::make_shared<CountingCollector>();
  collector_a->fail_ = true;
  auto cfg1 = std::make_shared<Config>();
  cfg1->hosts = {"h"};
  cfg1->checks.push_back(Check("hang", std::make_shared<HangingProbe>(), milliseconds(10000),
                               milliseconds(50)));
  cfg1->collectors.push_back({"h", "counting", milliseconds(10000), milliseconds(1000), collector_a});
  Scheduler first(cfg1, Scheduler::Options{}, nullptr);
  first.Start();
  ASSERT_TRUE(testing::WaitFor([&] { return first.FirstRoundDone(); }, milliseconds(3000)));
  first.Stop();

  auto collector_b = std::make_shared<CountingCollector>();
  auto cfg2 = std::make_shared<Config>();
  cfg2->hosts = {"h"};
  cfg2->checks.push_back(Check("hang", std::make_shared<HangingProbe>(), milliseconds(10000),
                               milliseconds(50)));
  cfg2->checks.push_back(Check("new", std::make_shared<FastProbe>(), milliseconds(10000),
                               milliseconds(50)));
  cfg2->collectors.push_back({"h", "counting", milliseconds(10000), milliseconds(1000), collector_b});
  Scheduler second(cfg2, Scheduler::Options{}, &first);
  std::vector<CheckState> checks;
  std::vector<CollectorState> collectors;
  second.CopyStates(&checks, &collectors);
  // Before the new scheduler runs anything, the old results are there.
  EXPECT_EQ(Find(checks, "hang")->runs, 1u);
  EXPECT_EQ(Find(checks, "hang")->failures[0], 1);
  EXPECT_FALSE(Find(checks, "new")->has_result);
  ASSERT_EQ(collectors.size(), 1u);
  EXPECT_FALSE(collectors[0].success);
  EXPECT_EQ(collectors[0].message, "source unreadable");
  EXPECT_TRUE(collector_b->inherited_);
  second.Start();
  // Carried-over results count as a first round, so wait on run counts.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        second.CopyStates(&checks, &collectors);
        return Find(checks, "hang")->runs >= 2 && Find(checks, "new")->has_result &&
               collectors[0].runs >= 2;
      },
      milliseconds(3000)));
  second.Stop();
  second.CopyStates(&checks, &collectors);
  EXPECT_EQ(Find(checks, "hang")->failures[0], 2);
  EXPECT_TRUE(collectors[0].success);
  double v = 0;
  EXPECT_TRUE(collectors[0].metrics.Find("test_runs", {}, &v));
  EXPECT_EQ(v, 2);  // 1 before the reload + 1 after.
}


// Fails `failures` times, then succeeds; each run moves the fake clock on
// by 10 s, so the down time in the log is exact.
class FlappingProbe : public Probe {
 public:
  FlappingProbe(testing::FakeEnv* env, int failures) : env_(env), failures_(failures) {}
  ProbeResult Run(const ProbeContext&) override {
    env_->Advance(10);
    if (runs_++ < failures_) return ProbeResult::Fail(FailureReason::kRefused, "refused\nhere");
    ProbeResult r;
    r.success = true;
    return r;
  }
  std::string Describe() const override { return "flapping"; }
  std::atomic<int> runs_{0};

 private:
  testing::FakeEnv* env_;
  int failures_;
};

TEST(SchedulerTest, EachChangeIsLoggedOnceNotEachRun) {
  testing::LogCapture capture;
  testing::FakeEnv env;
  env.SetNow(1000);
  auto probe = std::make_shared<FlappingProbe>(&env, 3);
  auto cfg = std::make_shared<Config>();
  cfg->hosts = {"h"};
  cfg->checks.push_back(Check("flappy", probe, milliseconds(20), milliseconds(10)));
  Scheduler::Options opts;
  opts.env = &env;
  Scheduler s(cfg, opts, nullptr);
  s.Start();
  ASSERT_TRUE(testing::WaitFor([&] { return probe->runs_ >= 6; }, milliseconds(5000)));
  s.Stop();

  const auto down = capture.Lines("warn", "check is down");
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0]["host"], "h");
  EXPECT_EQ(down[0]["target"], "flappy");
  EXPECT_EQ(down[0]["kind"], "test");
  EXPECT_EQ(down[0]["reason"], "refused");
  EXPECT_EQ(down[0]["err"], "refused\nhere");
  const auto up = capture.Lines("info", "check is up again");
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0]["target"], "flappy");
  EXPECT_EQ(up[0]["down_for"], "30s");  // Down at the first run (+10 s), up at the fourth (+40 s).
  // The repeated failures between are debug lines only.
  EXPECT_EQ(capture.Lines("debug", "check failed again").size(), 2u);
}

// Fails while `fail` is set; both flags are read and written across threads.
class ToggledCollector : public Collector {
 public:
  Status Collect(const CollectContext&, CollectOutput*) override {
    ++runs;
    return fail ? Status::Error("source unreadable") : Status::Ok();
  }
  std::atomic<int> runs{0};
  std::atomic<bool> fail{true};
};

TEST(SchedulerTest, ACollectorThatStaysDownAcrossAReloadIsLoggedOnce) {
  testing::LogCapture capture;
  auto collector_a = std::make_shared<ToggledCollector>();
  auto cfg1 = std::make_shared<Config>();
  cfg1->hosts = {"h"};
  cfg1->collectors.push_back({"h", "toggled", milliseconds(20), milliseconds(10), collector_a});
  Scheduler first(cfg1, Scheduler::Options{}, nullptr);
  first.Start();
  ASSERT_TRUE(testing::WaitFor([&] { return collector_a->runs >= 2; }, milliseconds(3000)));
  first.Stop();

  // The reloaded scheduler inherits "down": still failing is no news.
  auto collector_b = std::make_shared<ToggledCollector>();
  auto cfg2 = std::make_shared<Config>();
  cfg2->hosts = {"h"};
  cfg2->collectors.push_back({"h", "toggled", milliseconds(20), milliseconds(10), collector_b});
  Scheduler second(cfg2, Scheduler::Options{}, &first);
  second.Start();
  ASSERT_TRUE(testing::WaitFor([&] { return collector_b->runs >= 3; }, milliseconds(3000)));
  collector_b->fail = false;
  ASSERT_TRUE(testing::WaitFor(
      [&] { return !capture.Lines("info", "collector is working again").empty(); },
      milliseconds(3000)));
  second.Stop();

  const auto failing = capture.Lines("warn", "collector is failing");
  ASSERT_EQ(failing.size(), 1u);
  EXPECT_EQ(failing[0]["collector"], "toggled");
  EXPECT_EQ(failing[0]["host"], "h");
  EXPECT_EQ(failing[0]["err"], "source unreadable");
  EXPECT_EQ(capture.Lines("info", "collector is working again").size(), 1u);
}

}  // namespace scheduler_test
}  // namespace joelclaw
