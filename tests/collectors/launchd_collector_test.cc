#include "exporter/collectors/launchd_collector.h"

#include "gtest/gtest.h"
#include "tests/support/fake_env.h"
#include "tests/support/test_util.h"

namespace joelclaw {
namespace launchd_collector_test {

using testing::FakeEnv;
using testing::ReadFileOrDie;
using testing::TestData;

std::string Fixture(const std::string& name) { return ReadFileOrDie(TestData("launchd/" + name)); }

TEST(LaunchctlListTest, ParsesRealShapedOutput) {
  auto jobs = ParseLaunchctlList(Fixture("list-healthy.txt"));
  ASSERT_TRUE(jobs.ok()) << jobs.status().message();
  EXPECT_EQ(jobs->size(), 7u);
  const auto& worker = jobs->at("com.joel.system-bus-worker");
  EXPECT_EQ(worker.pid, 4121);
  EXPECT_EQ(worker.last_status, 0);
  const auto& sync = jobs->at("com.joel.vault-log-sync");
  EXPECT_FALSE(sync.pid.has_value());
  EXPECT_EQ(sync.last_status, -9);  // SIGKILL.
  EXPECT_EQ(jobs->at("com.joel.adr-sync-watcher").last_status, 78);
}

TEST(LaunchctlListTest, SurvivesEmptyTruncatedAndGarbageInput) {
  EXPECT_EQ(ParseLaunchctlList("").status().message(), "empty output");
  EXPECT_EQ(ParseLaunchctlList("PID\tStatus\tLabel\n").status().message(),
            "no jobs listed after the header");
  EXPECT_EQ(ParseLaunchctlList("\x01\x02 garbage\n{{{\n").status().message(),
            "no 'PID Status Label' lines found");
  // A cut-off last line still yields the complete ones.
  auto truncated = ParseLaunchctlList(Fixture("list-truncated.txt"));
  ASSERT_TRUE(truncated.ok());
  EXPECT_EQ(truncated->size(), 1u);
  // Non-numeric PIDs are skipped, not misread.
  auto odd = ParseLaunchctlList("abc\t0\tcom.x\n12\t0\tcom.y\n");
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->count("com.x"), 0u);
  EXPECT_EQ(odd->at("com.y").pid, 12);
}

TEST(LaunchctlPrintTest, ReadsOnlyTopLevelFields) {
  auto p = ParseLaunchctlPrint(Fixture("print-worker.txt"));
  ASSERT_TRUE(p.ok()) << p.status().message();
  // The nested event trigger says "state = waiting"; the service is running.
  EXPECT_EQ(p->state, "running");
  EXPECT_EQ(p->runs, 17);
  EXPECT_EQ(p->pid, 4188);
  EXPECT_EQ(p->last_exit_code, 1);
}

TEST(LaunchctlPrintTest, NeverExitedAndNamedExitCodes) {
  auto never = ParseLaunchctlPrint(Fixture("print-never-exited.txt"));
  ASSERT_TRUE(never.ok());
  EXPECT_FALSE(never->last_exit_code.has_value());
  EXPECT_EQ(never->runs, 1);
  auto config_error = ParseLaunchctlPrint(Fixture("print-config-error.txt"));
  ASSERT_TRUE(config_error.ok());
  EXPECT_EQ(config_error->state, "not running");  // Not the endpoint's "active".
  EXPECT_EQ(config_error->last_exit_code, 78);
  EXPECT_FALSE(config_error->pid.has_value());
}

TEST(LaunchctlPrintTest, RejectsGarbage) {
  EXPECT_FALSE(ParseLaunchctlPrint("").ok());
  EXPECT_FALSE(ParseLaunchctlPrint("Could not find service \"x\" in domain").ok());
  EXPECT_EQ(ParseLaunchctlPrint("gui/501/x = {\n\tfoo = {\n\t\tstate = running\n\t}\n}\n")
                .status()
                .message(),
            "no state or runs field at the service's top level");
}

std::unique_ptr<Collector> MakeCollector(const std::string& yaml) {
  ConfigContext ctx("test.yaml");
  auto c = ParseLaunchdCollector(YAML::Load(yaml), ctx, "panda");
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(c).value() : nullptr;
}

double Sample(const CollectOutput& out, const std::string& name, const std::string& label) {
  double v = -12345;
  out.metrics.Find(name, {{"host", "panda"}, {"label", label}}, &v);
  return v;
}

TEST(LaunchdCollectorTest, CountsPidChangesAndReportsMissingJobs) {
  FakeEnv env;
  auto collector = MakeCollector(
      "{jobs: [com.joel.system-bus-worker, com.joel.vault-log-sync, com.joel.adr-sync-watcher]}");
  ASSERT_NE(collector, nullptr);
  CommandResult healthy, restarted;
  healthy.out = Fixture("list-healthy.txt");
  restarted.out = Fixture("list-worker-restarted.txt");
  env.SetCommand({"launchctl", "list"}, {healthy, restarted, restarted});
  CollectContext ctx{std::chrono::steady_clock::now() + std::chrono::seconds(5), nullptr, &env};

  CollectOutput first;
  ASSERT_TRUE(collector->Collect(ctx, &first).ok());
  EXPECT_EQ(Sample(first, "joelclaw_launchd_job_running", "com.joel.system-bus-worker"), 1);
  EXPECT_EQ(Sample(first, "joelclaw_launchd_job_restarts_total", "com.joel.system-bus-worker"), 0);
  EXPECT_EQ(Sample(first, "joelclaw_launchd_job_last_exit_status", "com.joel.vault-log-sync"), -9);
  EXPECT_EQ(Sample(first, "joelclaw_launchd_job_present", "com.joel.adr-sync-watcher"), 1);

  CollectOutput second;
  ASSERT_TRUE(collector->Collect(ctx, &second).ok());
  EXPECT_EQ(Sample(second, "joelclaw_launchd_job_pid", "com.joel.system-bus-worker"), 4188);
  EXPECT_EQ(Sample(second, "joelclaw_launchd_job_restarts_total", "com.joel.system-bus-worker"), 1);
  EXPECT_EQ(Sample(second, "joelclaw_launchd_job_last_exit_status", "com.joel.system-bus-worker"), -9);
  // adr-sync-watcher vanished from the list: reported missing, not dropped.
  EXPECT_EQ(Sample(second, "joelclaw_launchd_job_present", "com.joel.adr-sync-watcher"), 0);
  EXPECT_EQ(Sample(second, "joelclaw_launchd_job_running", "com.joel.adr-sync-watcher"), 0);
  EXPECT_EQ(second.details["jobs"][2]["present"], false);

  CollectOutput third;  // Same PID again: no new restart.
  ASSERT_TRUE(collector->Collect(ctx, &third).ok());
  EXPECT_EQ(Sample(third, "joelclaw_launchd_job_restarts_total", "com.joel.system-bus-worker"), 1);
}

TEST(LaunchdCollectorTest, RunCounterCatchesRestartsBetweenPolls) {
  FakeEnv env;
  auto collector = MakeCollector("{jobs: [com.joel.system-bus-worker], domain: gui/501}");
  ASSERT_NE(collector, nullptr);
  CommandResult list;
  list.out = Fixture("list-healthy.txt");  // Same PID both times.
  env.SetCommand({"launchctl", "list"}, {list});
  CommandResult print1, print2;
  print1.out = Fixture("print-worker.txt");  // runs = 17
  print2.out = print1.out;
  size_t pos = print2.out.find("runs = 17");
  print2.out.replace(pos, 9, "runs = 21");
  env.SetCommand({"launchctl", "print", "gui/501/com.joel.system-bus-worker"}, {print1, print2});
  CollectContext ctx{std::chrono::steady_clock::now() + std::chrono::seconds(5), nullptr, &env};
  CollectOutput a, b;
  ASSERT_TRUE(collector->Collect(ctx, &a).ok());
  ASSERT_TRUE(collector->Collect(ctx, &b).ok());
  // The PID looked unchanged, but launchd launched it 4 more times.
  EXPECT_EQ(Sample(b, "joelclaw_launchd_job_restarts_total", "com.joel.system-bus-worker"), 4);
}

TEST(LaunchdCollectorTest, CommandFailureIsACollectorError) {
  FakeEnv env;
  auto collector = MakeCollector("{jobs: [com.joel.caddy]}");
  CollectContext ctx{std::chrono::steady_clock::now() + std::chrono::seconds(5), nullptr, &env};
  CollectOutput out;
  Status s = collector->Collect(ctx, &out);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "cannot run 'launchctl': No such file or directory");
  env.SetCommandOutput({"launchctl", "list"}, "", 1);
  EXPECT_FALSE(collector->Collect(ctx, &out).ok());
  env.SetCommandOutput({"launchctl", "list"}, "garbage");
  EXPECT_EQ(collector->Collect(ctx, &out).message(),
            "launchctl list: no 'PID Status Label' lines found");
}

TEST(LaunchdCollectorTest, ConfigErrors) {
  ConfigContext ctx("c.yaml");
  auto node = YAML::Load("{jobs: [a, a]}");
  EXPECT_EQ(ParseLaunchdCollector(node, ctx, "panda").status().message(),
            "c.yaml:1: host 'panda': launchd: job 'a' is listed twice");
  EXPECT_FALSE(ParseLaunchdCollector(YAML::Load("{jobs: []}"), ctx, "panda").ok());
  EXPECT_FALSE(ParseLaunchdCollector(YAML::Load("{jobs: [a], domain: bogus}"), ctx, "panda").ok());
  EXPECT_FALSE(ParseLaunchdCollector(YAML::Load("{jobs: [a], extra: 1}"), ctx, "panda").ok());
}

}  // namespace launchd_collector_test
}  // namespace joelclaw
