#include "exporter/collectors/launchd_collector.h"

#include <set>

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

// The fixtures follow real `launchctl print` dumps (macOS 14/15): a
// StartInterval job idle between runs, a StartCalendarInterval job with two
// calendar entries, a WatchPaths job, and a KeepAlive job crash-looping
// ("spawn scheduled", thousands of runs).
TEST(LaunchctlPrintTest, ReadsPropertiesRunIntervalAndEventTriggers) {
  auto periodic = ParseLaunchctlPrint(Fixture("print-periodic-idle.txt"));
  ASSERT_TRUE(periodic.ok()) << periodic.status().message();
  EXPECT_EQ(periodic->state, "not running");
  EXPECT_EQ(periodic->run_interval_seconds, 300);
  EXPECT_EQ(periodic->properties, (std::set<std::string>{"runatload", "inferred program"}));
  EXPECT_TRUE(periodic->event_triggers.empty());
  // The guard-malloc block's "activation rate = 1/1000" is not a field.
  EXPECT_EQ(periodic->runs, 12);

  auto calendar = ParseLaunchctlPrint(Fixture("print-calendar.txt"));
  ASSERT_TRUE(calendar.ok()) << calendar.status().message();
  ASSERT_EQ(calendar->event_triggers.size(), 2u);
  EXPECT_EQ(calendar->event_triggers[0].name, "com.joel.nightly-backup.268435470");
  EXPECT_EQ(calendar->event_triggers[0].stream, "com.apple.launchd.calendarinterval");
  EXPECT_EQ(calendar->event_triggers[0].descriptor_keys,
            (std::vector<std::string>{"Minute", "Hour"}));
  EXPECT_EQ(calendar->event_triggers[1].descriptor_keys,
            (std::vector<std::string>{"Minute", "Hour", "Weekday"}));
  EXPECT_FALSE(calendar->run_interval_seconds.has_value());
  // "event channels" is not "event triggers".
  EXPECT_FALSE(calendar->has_endpoints);

  auto watch = ParseLaunchctlPrint(Fixture("print-watchpaths.txt"));
  ASSERT_TRUE(watch.ok()) << watch.status().message();
  ASSERT_EQ(watch->event_triggers.size(), 1u);
  EXPECT_EQ(watch->event_triggers[0].name, "com.apple.launchd.WatchPaths");
  EXPECT_EQ(watch->event_triggers[0].stream, "com.apple.fsevents.matching");
  EXPECT_EQ(watch->event_triggers[0].descriptor_keys, std::vector<std::string>{"WatchPaths"});
  EXPECT_EQ(watch->last_exit_code, 0);

  auto keepalive = ParseLaunchctlPrint(Fixture("print-keepalive-spawn-scheduled.txt"));
  ASSERT_TRUE(keepalive.ok()) << keepalive.status().message();
  EXPECT_EQ(keepalive->state, "spawn scheduled");
  EXPECT_EQ(keepalive->runs, 5282);
  EXPECT_EQ(keepalive->properties.count("keepalive"), 1u);

  // The worker's nested trigger says "keepalive = 1" and "state = waiting";
  // neither is the service's.
  auto worker = ParseLaunchctlPrint(Fixture("print-worker.txt"));
  ASSERT_TRUE(worker.ok());
  EXPECT_EQ(worker->state, "running");
  EXPECT_TRUE(worker->has_endpoints);
  ASSERT_EQ(worker->event_triggers.size(), 1u);
  EXPECT_EQ(worker->event_triggers[0].descriptor_keys, std::vector<std::string>{"Path"});
}

TEST(LaunchdJobKindTest, InfersTheKindFromPrint) {
  struct Case {
    const char* fixture;
    LaunchdJobKind kind;
    std::optional<double> interval;
  };
  const Case cases[] = {
      {"print-worker.txt", LaunchdJobKind::kKeepAlive, std::nullopt},
      {"print-keepalive-spawn-scheduled.txt", LaunchdJobKind::kKeepAlive, std::nullopt},
      {"print-periodic-idle.txt", LaunchdJobKind::kPeriodic, 300},
      // Daily at 02:00 and weekly on Sundays: the shorter period counts.
      {"print-calendar.txt", LaunchdJobKind::kPeriodic, 86400},
      {"print-watchpaths.txt", LaunchdJobKind::kOnDemand, std::nullopt},
      // Mach service endpoints and nothing else that starts it.
      {"print-config-error.txt", LaunchdJobKind::kOnDemand, std::nullopt},
      {"print-never-exited.txt", LaunchdJobKind::kOnDemand, std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.fixture);
    auto p = ParseLaunchctlPrint(Fixture(c.fixture));
    ASSERT_TRUE(p.ok()) << p.status().message();
    LaunchdJobKindInfo info = InferLaunchdJobKind(*p);
    EXPECT_EQ(LaunchdJobKindName(info.kind), LaunchdJobKindName(c.kind));
    EXPECT_EQ(info.interval_seconds, c.interval);
  }
  // KeepAlive wins over a run interval (StartInterval plus KeepAlive).
  LaunchctlPrint both;
  both.properties = {"keepalive"};
  both.run_interval_seconds = 60;
  EXPECT_EQ(InferLaunchdJobKind(both).kind, LaunchdJobKind::kKeepAlive);
  // A calendar trigger printed without a stream line still counts.
  LaunchctlPrint bare;
  bare.event_triggers.push_back({"com.apple.launchd.calendarinterval", "", {"Hour", "Minute"}});
  EXPECT_EQ(InferLaunchdJobKind(bare).interval_seconds, 86400);
  EXPECT_EQ(InferLaunchdJobKind(LaunchctlPrint{}).kind, LaunchdJobKind::kOnDemand);
}

TEST(LaunchdJobKindTest, CalendarPeriods) {
  EXPECT_EQ(CalendarPeriodSeconds({"Minute"}), 3600);
  EXPECT_EQ(CalendarPeriodSeconds({"Minute", "Hour"}), 86400);
  EXPECT_EQ(CalendarPeriodSeconds({"Hour", "Weekday"}), 7 * 86400);
  EXPECT_EQ(CalendarPeriodSeconds({"Day", "Hour"}), 31 * 86400);
  EXPECT_EQ(CalendarPeriodSeconds({"Minute", "Hour", "Day", "Month"}), 366 * 86400);
  EXPECT_EQ(CalendarPeriodSeconds({}), 60);
}

TEST(LaunchctlPrintTest, SurvivesUnbalancedAndTruncatedBlocks) {
  // Cut off inside the event triggers: what was read still counts.
  std::string text = Fixture("print-calendar.txt");
  text.resize(text.find("\"Hour\" => 2"));
  auto p = ParseLaunchctlPrint(text);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->runs, 4);
  ASSERT_EQ(p->event_triggers.size(), 1u);
  EXPECT_EQ(p->event_triggers[0].descriptor_keys, std::vector<std::string>{"Minute"});
  // Stray closers do not underflow or turn nested lines into fields.
  auto stray =
      ParseLaunchctlPrint("}\n]\ngui/501/x = {\n\tstate = running\n\t}\n\t}\n\tstate = bogus\n");
  ASSERT_TRUE(stray.ok());
  EXPECT_EQ(stray->state, "running");
  EXPECT_FALSE(ParseLaunchctlPrint("properties = keepalive\nrun interval = 5 seconds\n").ok());
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

double KindSample(const CollectOutput& out, const std::string& label, const std::string& kind) {
  double v = -12345;
  out.metrics.Find("joelclaw_launchd_job_kind",
                   {{"host", "panda"}, {"label", label}, {"kind", kind}}, &v);
  return v;
}

CommandResult Output(const std::string& text) {
  CommandResult r;
  r.out = text;
  return r;
}

TEST(LaunchdCollectorTest, KindsLastRunAndRunsFromPrint) {
  FakeEnv env;
  env.SetNow(1000);
  auto collector = MakeCollector(
      "{domain: gui/501, jobs: [com.joel.system-bus-worker, com.joel.vault-log-sync,\n"
      " {label: com.joel.adr-sync-watcher, description: ADR index sync},\n"
      " {label: com.joel.caddy, kind: keepalive, description: TLS proxy}]}");
  ASSERT_NE(collector, nullptr);
  env.SetCommand({"launchctl", "list"}, {Output(Fixture("list-healthy.txt"))});
  env.SetCommand({"launchctl", "print", "gui/501/com.joel.system-bus-worker"},
                 {Output(Fixture("print-worker.txt"))});
  std::string periodic = Fixture("print-periodic-idle.txt");
  std::string ran_once_more = periodic;
  ran_once_more.replace(ran_once_more.find("runs = 12"), 9, "runs = 13");
  env.SetCommand({"launchctl", "print", "gui/501/com.joel.vault-log-sync"},
                 {Output(periodic), Output(periodic), Output(ran_once_more)});
  env.SetCommand({"launchctl", "print", "gui/501/com.joel.adr-sync-watcher"},
                 {Output(Fixture("print-watchpaths.txt"))});
  // print says on demand here; the config says keepalive and wins.
  env.SetCommand({"launchctl", "print", "gui/501/com.joel.caddy"},
                 {Output(Fixture("print-never-exited.txt"))});
  CollectContext ctx{std::chrono::steady_clock::now() + std::chrono::seconds(5), nullptr, &env};

  CollectOutput first;
  ASSERT_TRUE(collector->Collect(ctx, &first).ok());
  EXPECT_EQ(KindSample(first, "com.joel.system-bus-worker", "keepalive"), 1);
  EXPECT_EQ(KindSample(first, "com.joel.system-bus-worker", "periodic"), 0);
  EXPECT_EQ(KindSample(first, "com.joel.system-bus-worker", "on_demand"), 0);
  EXPECT_EQ(KindSample(first, "com.joel.system-bus-worker", "unknown"), 0);
  EXPECT_EQ(KindSample(first, "com.joel.vault-log-sync", "periodic"), 1);
  EXPECT_EQ(KindSample(first, "com.joel.adr-sync-watcher", "on_demand"), 1);
  EXPECT_EQ(KindSample(first, "com.joel.caddy", "keepalive"), 1);
  EXPECT_EQ(KindSample(first, "com.joel.caddy", "on_demand"), 0);
  EXPECT_EQ(Sample(first, "joelclaw_launchd_job_run_interval_seconds", "com.joel.vault-log-sync"),
            300);
  EXPECT_EQ(Sample(first, "joelclaw_launchd_job_run_interval_seconds", "com.joel.caddy"), -12345);
  EXPECT_EQ(Sample(first, "joelclaw_launchd_job_runs_total", "com.joel.vault-log-sync"), 12);
  EXPECT_EQ(Sample(first, "joelclaw_launchd_job_runs_total", "com.joel.system-bus-worker"), 17);
  // The worker is running: it ran now. The idle jobs: watched since now.
  EXPECT_EQ(Sample(first, "joelclaw_launchd_job_last_run_timestamp_seconds",
                   "com.joel.system-bus-worker"),
            1000);
  EXPECT_EQ(
      Sample(first, "joelclaw_launchd_job_last_run_timestamp_seconds", "com.joel.vault-log-sync"),
      1000);
  const nlohmann::json& jobs = first.details["jobs"];
  EXPECT_EQ(jobs[1]["kind"], "periodic");
  EXPECT_EQ(jobs[1]["run_interval_seconds"], 300);
  EXPECT_EQ(jobs[1]["last_run"], 1000);
  EXPECT_EQ(jobs[2]["description"], "ADR index sync");
  EXPECT_EQ(jobs[3]["description"], "TLS proxy");
  EXPECT_EQ(jobs[3]["kind"], "keepalive");
  EXPECT_EQ(jobs[0]["recent_restarts"], 0);

  env.Advance(300);
  CollectOutput second;  // Nothing ran: the periodic job's last run stays.
  ASSERT_TRUE(collector->Collect(ctx, &second).ok());
  EXPECT_EQ(
      Sample(second, "joelclaw_launchd_job_last_run_timestamp_seconds", "com.joel.vault-log-sync"),
      1000);
  EXPECT_EQ(Sample(second, "joelclaw_launchd_job_last_run_timestamp_seconds",
                   "com.joel.system-bus-worker"),
            1300);

  env.Advance(300);
  CollectOutput third;  // launchd ran it between polls: runs went 12 → 13.
  ASSERT_TRUE(collector->Collect(ctx, &third).ok());
  EXPECT_EQ(
      Sample(third, "joelclaw_launchd_job_last_run_timestamp_seconds", "com.joel.vault-log-sync"),
      1600);
  EXPECT_EQ(Sample(third, "joelclaw_launchd_job_runs_total", "com.joel.vault-log-sync"), 13);
}

TEST(LaunchdCollectorTest, WithoutDomainOrKindTheKindIsUnknown) {
  FakeEnv env;
  auto collector = MakeCollector(
      "{jobs: [com.joel.caddy, {label: com.joel.vault-log-sync, kind: periodic, interval: 10m}]}");
  ASSERT_NE(collector, nullptr);
  env.SetCommand({"launchctl", "list"}, {Output(Fixture("list-healthy.txt"))});
  CollectContext ctx{std::chrono::steady_clock::now() + std::chrono::seconds(5), nullptr, &env};
  CollectOutput out;
  ASSERT_TRUE(collector->Collect(ctx, &out).ok());
  EXPECT_EQ(KindSample(out, "com.joel.caddy", "unknown"), 1);
  EXPECT_EQ(KindSample(out, "com.joel.caddy", "keepalive"), 0);
  EXPECT_EQ(KindSample(out, "com.joel.vault-log-sync", "periodic"), 1);
  EXPECT_EQ(Sample(out, "joelclaw_launchd_job_run_interval_seconds", "com.joel.vault-log-sync"),
            600);
  // No print, no launchd run counter.
  EXPECT_EQ(Sample(out, "joelclaw_launchd_job_runs_total", "com.joel.caddy"), -12345);
  for (const std::vector<std::string>& call : env.calls()) EXPECT_NE(call[1], "print");
}

TEST(LaunchdCollectorTest, RecentRestartsCountTheLastFifteenMinutes) {
  FakeEnv env;
  env.SetNow(5000);
  auto collector = MakeCollector("{jobs: [com.joel.system-bus-worker]}");
  ASSERT_NE(collector, nullptr);
  // A new PID on every poll: a restart each time.
  std::vector<Result<CommandResult>> lists;
  for (int i = 0; i < 6; ++i) {
    lists.push_back(Output("PID\tStatus\tLabel\n" + std::to_string(100 + i) +
                           "\t-9\tcom.joel.system-bus-worker\n"));
  }
  env.SetCommand({"launchctl", "list"}, lists);
  CollectContext ctx{std::chrono::steady_clock::now() + std::chrono::seconds(5), nullptr, &env};
  std::vector<double> recent;
  for (int i = 0; i < 6; ++i) {
    CollectOutput out;
    ASSERT_TRUE(collector->Collect(ctx, &out).ok());
    recent.push_back(out.details["jobs"][0]["recent_restarts"].get<double>());
    env.Advance(500);  // Polls at 0, 500, 1000, 1500, 2000, 2500 s.
  }
  // Restarts at 500, 1000, …; the window is 900 s, so from the third poll
  // on the oldest one has left it.
  EXPECT_EQ(recent, (std::vector<double>{0, 1, 2, 2, 2, 2}));
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
  struct Bad {
    const char* yaml;
    const char* error;
  };
  const Bad bad[] = {
      {"{jobs: [{label: a, kind: daemon}]}",
       "c.yaml:1: host 'panda': launchd: job 'a': kind must be keepalive, periodic or on_demand, "
       "not 'daemon'"},
      {"{jobs: [{label: a, kind: keepalive, interval: 5m}]}",
       "c.yaml:1: host 'panda': launchd: job 'a': interval needs kind: periodic"},
      {"{jobs: [{label: a, interval: 5m}]}",
       "c.yaml:1: host 'panda': launchd: job 'a': interval needs kind: periodic"},
      {"{jobs: [{kind: periodic}]}", "c.yaml:1: host 'panda': launchd: job has no label"},
      {"{jobs: [{label: a, colour: red}]}",
       "c.yaml:1: unknown key 'colour' in host 'panda': launchd: job (known keys: label, kind, "
       "interval, description)"},
      {"{jobs: [a, {label: a}]}", "c.yaml:1: host 'panda': launchd: job 'a' is listed twice"},
      {"{jobs: [[a]]}",
       "c.yaml:1: host 'panda': launchd: jobs entries must be a label or a mapping with a label"},
      {"{jobs: [a/b]}", "c.yaml:1: host 'panda': launchd: job label 'a/b' has spaces or slashes"},
  };
  for (const Bad& b : bad) {
    EXPECT_EQ(ParseLaunchdCollector(YAML::Load(b.yaml), ctx, "panda").status().message(), b.error)
        << b.yaml;
  }
  auto ok = ParseLaunchdCollector(
      YAML::Load("{jobs: [a, {label: b, kind: periodic, interval: 1h, description: x}]}"), ctx,
      "panda");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ((*ok)->ServiceNames(), (std::vector<std::string>{"a", "b"}));
}

}  // namespace launchd_collector_test
}  // namespace joelclaw
