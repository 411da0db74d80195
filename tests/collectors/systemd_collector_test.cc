#include "exporter/collectors/systemd_collector.h"

#include "gtest/gtest.h"
#include "tests/support/fake_env.h"
#include "tests/support/test_util.h"

namespace joelclaw {
namespace systemd_collector_test {

using testing::FakeEnv;
using testing::ReadFileOrDie;
using testing::TestData;

std::string Fixture(const std::string& name) { return ReadFileOrDie(TestData("systemd/" + name)); }

const std::vector<std::string> kClankerUnits = {"pdf-brain.service", "pdf-brain-indexer.service",
                                                "typesense.service", "ollama.service"};

// The argv the collector runs for `units` after the `prefix` from config.
std::vector<std::string> ShowArgv(const std::vector<std::string>& units,
                                  std::vector<std::string> prefix = {"systemctl"}) {
  prefix.insert(prefix.end(),
                {"show",
                 "--property=Id,LoadState,ActiveState,SubState,NRestarts,MainPID,ExecMainStatus,"
                 "ExecMainStartTimestampMonotonic",
                 "--no-pager"});
  prefix.insert(prefix.end(), units.begin(), units.end());
  return prefix;
}

TEST(SystemctlShowTest, ParsesRealShapedOutput) {
  auto units = ParseSystemctlShow(Fixture("show-clanker.txt"));
  ASSERT_TRUE(units.ok()) << units.status().message();
  ASSERT_EQ(units->size(), 4u);
  const SystemdUnit& healthy = (*units)[0];
  EXPECT_EQ(healthy.id, "pdf-brain.service");
  EXPECT_EQ(healthy.load_state, "loaded");
  EXPECT_EQ(healthy.active_state, "active");
  EXPECT_EQ(healthy.sub_state, "running");
  EXPECT_EQ(healthy.main_pid, 1187);
  EXPECT_EQ(healthy.n_restarts, 0u);
  EXPECT_EQ(healthy.exec_main_start_monotonic_usec, 14238771u);
  const SystemdUnit& failed = (*units)[1];
  EXPECT_EQ(failed.active_state, "failed");
  EXPECT_EQ(failed.sub_state, "failed");
  EXPECT_EQ(failed.n_restarts, 5u);
  EXPECT_EQ(failed.exec_main_status, 1);
  EXPECT_EQ(failed.main_pid, 0);
  const SystemdUnit& missing = (*units)[2];
  EXPECT_EQ(missing.load_state, "not-found");
  EXPECT_EQ(missing.active_state, "inactive");
  EXPECT_EQ(missing.sub_state, "dead");
  const SystemdUnit& looping = (*units)[3];
  EXPECT_EQ(looping.active_state, "activating");
  EXPECT_EQ(looping.sub_state, "auto-restart");
  EXPECT_EQ(looping.exec_main_status, 203);  // EXIT_EXEC: the binary could not be started.
}

TEST(SystemctlShowTest, OrderFreeUnknownKeysCrLfAndOldSystemd) {
  // systemctl does not promise to keep the order of --property names.
  auto units = ParseSystemctlShow(
      "Id=a.service\r\nSubState=running\r\nDescription=A = thing\r\nActiveState=active\r\n"
      "LoadState=loaded\r\nExecMainStatus=\r\n");
  ASSERT_TRUE(units.ok()) << units.status().message();
  ASSERT_EQ(units->size(), 1u);
  EXPECT_EQ((*units)[0].sub_state, "running");
  EXPECT_FALSE((*units)[0].exec_main_status.has_value());  // Empty: unset.
  // systemd < 235 does not know NRestarts and leaves it out.
  auto old = ParseSystemctlShow(Fixture("show-old-systemd.txt"));
  ASSERT_TRUE(old.ok()) << old.status().message();
  ASSERT_EQ(old->size(), 2u);
  EXPECT_FALSE((*old)[0].n_restarts.has_value());
  EXPECT_EQ((*old)[1].active_state, "failed");
  // Several blank lines between blocks are one separator.
  auto spaced = ParseSystemctlShow(
      "Id=a.service\nLoadState=loaded\nActiveState=active\nSubState=running\n\n\n"
      "Id=b.service\nLoadState=loaded\nActiveState=inactive\nSubState=dead\n\n");
  ASSERT_TRUE(spaced.ok());
  EXPECT_EQ(spaced->size(), 2u);
}

TEST(SystemctlShowTest, SurvivesEmptyTruncatedAndGarbageInput) {
  EXPECT_EQ(ParseSystemctlShow("").status().message(), "empty output");
  EXPECT_EQ(ParseSystemctlShow("\n \n").status().message(), "empty output");
  EXPECT_EQ(ParseSystemctlShow(Fixture("show-truncated.txt")).status().message(),
            "output is cut off (no newline at the end)");
  EXPECT_EQ(ParseSystemctlShow("\x01\x02 garbage\n{{{\n").status().message(),
            "line 1 is not KEY=VALUE: '?? garbage'");
  EXPECT_EQ(ParseSystemctlShow("Failed to connect to bus: No such file or directory\n")
                .status()
                .message(),
            "line 1 is not KEY=VALUE: 'Failed to connect to bus: No such file o...'");
  EXPECT_EQ(ParseSystemctlShow("=x\n").status().message(), "line 1 is not KEY=VALUE: '=x'");
  // A block cut short at a line boundary misses required properties.
  EXPECT_EQ(ParseSystemctlShow("Id=a.service\nLoadState=loaded\nActiveState=active\nSubState="
                               "running\n\nMainPID=0\nId=b.service\nLoadState=loaded\n")
                .status()
                .message(),
            "unit block 2 (b.service) has no ActiveState");
  EXPECT_EQ(ParseSystemctlShow("MainPID=4\n").status().message(), "unit block 1 has no Id");
  EXPECT_EQ(ParseSystemctlShow("Id=x.service\nNRestarts=many\n").status().message(),
            "unit block 1 (x.service): NRestarts is not a number: 'many'");
  EXPECT_EQ(ParseSystemctlShow("Id=x.service\nMainPID=-3\n").status().message(),
            "unit block 1 (x.service): MainPID is not a number: '-3'");
  EXPECT_FALSE(ParseSystemctlShow("Id=x.service\nNRestarts=99999999999999999999999\n").ok());
  // Arbitrary bytes never crash it.
  std::string noise;
  for (int i = 0; i < 4096; ++i) noise += static_cast<char>((i * 7919) % 256);
  EXPECT_FALSE(ParseSystemctlShow(noise).ok());
  EXPECT_FALSE(ParseSystemctlShow(noise + "\n").ok());
}

std::unique_ptr<Collector> MakeCollector(const std::string& yaml,
                                         const ConfigContext& ctx = ConfigContext("test.yaml")) {
  auto c = ParseSystemdCollector(YAML::Load(yaml), ctx, "clanker-001");
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(c).value() : nullptr;
}

const char* kClankerConfig =
    "{units: [pdf-brain.service, pdf-brain-indexer.service, typesense.service, ollama]}";

double Sample(const CollectOutput& out, const std::string& name, const std::string& unit) {
  double v = -12345;
  out.metrics.Find(name, {{"host", "clanker-001"}, {"unit", unit}}, &v);
  return v;
}

double State(const CollectOutput& out, const std::string& unit, const std::string& state) {
  double v = -12345;
  out.metrics.Find("joelclaw_systemd_unit_state",
                   {{"host", "clanker-001"}, {"unit", unit}, {"state", state}}, &v);
  return v;
}

CollectContext Context(Env* env) {
  return CollectContext{std::chrono::steady_clock::now() + std::chrono::seconds(5), nullptr, env};
}

TEST(SystemdCollectorTest, ExportsStatesPresenceAndSystemdRestartCounts) {
  FakeEnv env;
  auto collector = MakeCollector(kClankerConfig);
  ASSERT_NE(collector, nullptr);
  env.SetCommandOutput(ShowArgv(kClankerUnits), Fixture("show-clanker.txt"));
  CollectOutput out;
  Status s = collector->Collect(Context(&env), &out);
  ASSERT_TRUE(s.ok()) << s.message();

  EXPECT_EQ(Sample(out, "joelclaw_systemd_unit_active", "pdf-brain.service"), 1);
  EXPECT_EQ(Sample(out, "joelclaw_systemd_unit_present", "pdf-brain.service"), 1);
  EXPECT_EQ(Sample(out, "joelclaw_systemd_unit_active", "pdf-brain-indexer.service"), 0);
  EXPECT_EQ(Sample(out, "joelclaw_systemd_unit_present", "typesense.service"), 0);
  EXPECT_EQ(Sample(out, "joelclaw_systemd_unit_active", "typesense.service"), 0);
  // Every state of the fixed set, for every unit, at 0 or 1.
  const std::map<std::string, std::string> expected = {
      {"pdf-brain.service", "active"},
      {"pdf-brain-indexer.service", "failed"},
      {"typesense.service", "inactive"},
      {"ollama.service", "activating"}};
  for (const auto& [unit, current] : expected) {
    for (std::string_view state : kSystemdActiveStates) {
      EXPECT_EQ(State(out, unit, std::string(state)), state == current ? 1 : 0)
          << unit << " " << state;
    }
  }
  EXPECT_EQ(out.metrics.SampleCount(), 4u * (3 + 6));
  // systemd's own counts, from the first run on.
  EXPECT_EQ(Sample(out, "joelclaw_systemd_unit_restarts_total", "pdf-brain.service"), 0);
  EXPECT_EQ(Sample(out, "joelclaw_systemd_unit_restarts_total", "pdf-brain-indexer.service"), 5);
  EXPECT_EQ(Sample(out, "joelclaw_systemd_unit_restarts_total", "ollama.service"), 2);

  const auto& units = out.details["units"];
  ASSERT_EQ(units.size(), 4u);
  EXPECT_EQ(units[0]["main_pid"], 1187);
  EXPECT_EQ(units[1]["sub_state"], "failed");
  EXPECT_EQ(units[1]["exec_main_status"], 1);
  EXPECT_TRUE(units[1]["main_pid"].is_null());
  EXPECT_EQ(units[2]["present"], false);
  EXPECT_EQ(units[2]["load_state"], "not-found");
  EXPECT_EQ(units[3]["unit"], "ollama.service");  // "ollama" in the config.
  EXPECT_EQ(units[3]["sub_state"], "auto-restart");
}

// systemctl show for the clanker units: show-clanker.txt, then
// show-clanker-later.txt from the second run on.
void SetClankerShows(FakeEnv* env) {
  CommandResult first, later;
  first.out = Fixture("show-clanker.txt");
  later.out = Fixture("show-clanker-later.txt");
  env->SetCommand(ShowArgv(kClankerUnits), {first, later});
}

TEST(SystemdCollectorTest, RestartCounterStaysMonotonicWhenNRestartsResets) {
  FakeEnv env;
  auto collector = MakeCollector(kClankerConfig);
  ASSERT_NE(collector, nullptr);
  SetClankerShows(&env);
  CollectOutput a, b, c;
  ASSERT_TRUE(collector->Collect(Context(&env), &a).ok());
  ASSERT_TRUE(collector->Collect(Context(&env), &b).ok());
  // pdf-brain: NRestarts 0 -> 2.
  EXPECT_EQ(Sample(b, "joelclaw_systemd_unit_restarts_total", "pdf-brain.service"), 2);
  // The indexer was reset-failed and started by hand (NRestarts back to 0),
  // then restarted once more: 5 + 1, never down to 1.
  EXPECT_EQ(Sample(b, "joelclaw_systemd_unit_restarts_total", "pdf-brain-indexer.service"), 6);
  EXPECT_EQ(Sample(b, "joelclaw_systemd_unit_active", "pdf-brain-indexer.service"), 1);
  EXPECT_EQ(Sample(b, "joelclaw_systemd_unit_restarts_total", "ollama.service"), 4);
  EXPECT_EQ(Sample(b, "joelclaw_systemd_unit_restarts_total", "typesense.service"), 0);
  // Nothing changed: nothing counted.
  ASSERT_TRUE(collector->Collect(Context(&env), &c).ok());
  EXPECT_EQ(Sample(c, "joelclaw_systemd_unit_restarts_total", "pdf-brain.service"), 2);
  EXPECT_EQ(Sample(c, "joelclaw_systemd_unit_restarts_total", "pdf-brain-indexer.service"), 6);
}

TEST(SystemdCollectorTest, OldSystemdCountsObservedRestarts) {
  FakeEnv env;
  auto collector = MakeCollector("{units: [pdf-brain, pdf-brain-indexer]}");
  ASSERT_NE(collector, nullptr);
  CommandResult before, after;
  before.out = Fixture("show-old-systemd.txt");
  after.out = Fixture("show-old-systemd-restarted.txt");
  env.SetCommand(ShowArgv({"pdf-brain.service", "pdf-brain-indexer.service"}),
                 {before, after, after});
  CollectOutput a, b, c;
  ASSERT_TRUE(collector->Collect(Context(&env), &a).ok());
  EXPECT_EQ(Sample(a, "joelclaw_systemd_unit_restarts_total", "pdf-brain.service"), 0);
  EXPECT_EQ(Sample(a, "joelclaw_systemd_unit_restarts_total", "pdf-brain-indexer.service"), 0);
  ASSERT_TRUE(collector->Collect(Context(&env), &b).ok());
  // A new MainPID (and start time) while active; failed -> active.
  EXPECT_EQ(Sample(b, "joelclaw_systemd_unit_restarts_total", "pdf-brain.service"), 1);
  EXPECT_EQ(Sample(b, "joelclaw_systemd_unit_restarts_total", "pdf-brain-indexer.service"), 1);
  ASSERT_TRUE(collector->Collect(Context(&env), &c).ok());
  EXPECT_EQ(Sample(c, "joelclaw_systemd_unit_restarts_total", "pdf-brain.service"), 1);
}

TEST(SystemdCollectorTest, DescriptionsAndRecentRestarts) {
  FakeEnv env;
  env.SetNow(10000);
  auto collector = MakeCollector(
      "{units: [{unit: pdf-brain, description: PDF search}, pdf-brain-indexer.service,\n"
      "         typesense.service, {unit: ollama}]}");
  ASSERT_NE(collector, nullptr);
  EXPECT_EQ(collector->ServiceNames(),
            (std::vector<std::string>{"pdf-brain.service", "pdf-brain-indexer.service",
                                      "typesense.service", "ollama.service"}));
  SetClankerShows(&env);
  CollectOutput a, b, c;
  ASSERT_TRUE(collector->Collect(Context(&env), &a).ok());
  // systemd's lifetime count (5 for the indexer) is not recent.
  EXPECT_EQ(a.details["units"][1]["recent_restarts"], 0);
  EXPECT_EQ(a.details["units"][0]["description"], "PDF search");
  EXPECT_EQ(a.details["units"][1]["description"], "");
  env.Advance(60);
  ASSERT_TRUE(collector->Collect(Context(&env), &b).ok());
  EXPECT_EQ(b.details["units"][0]["recent_restarts"], 2);  // NRestarts 0 -> 2.
  EXPECT_EQ(b.details["units"][1]["recent_restarts"], 1);
  env.Advance(15 * 60);  // Out of the window.
  ASSERT_TRUE(collector->Collect(Context(&env), &c).ok());
  EXPECT_EQ(c.details["units"][0]["recent_restarts"], 0);
  EXPECT_EQ(Sample(c, "joelclaw_systemd_unit_restarts_total", "pdf-brain.service"), 2);
}

TEST(SystemdCollectorTest, ReloadInheritsCounters) {
  FakeEnv env;
  SetClankerShows(&env);
  auto old_collector = MakeCollector(kClankerConfig);
  ASSERT_NE(old_collector, nullptr);
  CollectOutput a, b;
  ASSERT_TRUE(old_collector->Collect(Context(&env), &a).ok());
  auto reloaded = MakeCollector(kClankerConfig);
  ASSERT_NE(reloaded, nullptr);
  reloaded->InheritState(*old_collector);
  ASSERT_TRUE(reloaded->Collect(Context(&env), &b).ok());
  // Without the inherited memory it would read NRestarts (1) afresh.
  EXPECT_EQ(Sample(b, "joelclaw_systemd_unit_restarts_total", "pdf-brain-indexer.service"), 6);
}

// Records the timeout each command got.
class TimeoutRecordingEnv : public FakeEnv {
 public:
  Result<CommandResult> Run(const std::vector<std::string>& argv, Duration timeout,
                            const std::atomic<bool>* cancel, size_t max_output_bytes) override {
    timeouts.push_back(timeout);
    return FakeEnv::Run(argv, timeout, cancel, max_output_bytes);
  }
  std::vector<Duration> timeouts;
};

TEST(SystemdCollectorTest, RunsConfiguredCommandWithinTheDeadline) {
  TimeoutRecordingEnv env;
  ConfigContext ctx("test.yaml");
  ctx.SetCommand("systemctl", {"ssh", "clanker-001", "systemctl"});
  auto collector = MakeCollector("{units: [pdf-brain.service, nightly-backup.timer]}", ctx);
  ASSERT_NE(collector, nullptr);
  const std::vector<std::string> argv =
      ShowArgv({"pdf-brain.service", "nightly-backup.timer"}, {"ssh", "clanker-001", "systemctl"});
  env.SetCommandOutput(argv,
                       "Id=pdf-brain.service\nLoadState=loaded\nActiveState=active\nSubState=running\n"
                       "\nId=nightly-backup.timer\nLoadState=loaded\nActiveState=active\n"
                       "SubState=waiting\n");
  CollectContext cc{std::chrono::steady_clock::now() + std::chrono::milliseconds(1500), nullptr,
                    &env};
  CollectOutput out;
  Status s = collector->Collect(cc, &out);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(env.calls().size(), 1u);
  EXPECT_EQ(env.calls()[0], argv);
  ASSERT_EQ(env.timeouts.size(), 1u);
  EXPECT_LE(env.timeouts[0].count(), 1500);
  EXPECT_GT(env.timeouts[0].count(), 0);
  // No NRestarts for a timer: the counter starts at 0 and is still exported.
  EXPECT_EQ(Sample(out, "joelclaw_systemd_unit_restarts_total", "nightly-backup.timer"), 0);
}

TEST(SystemdCollectorTest, CommandFailureIsACollectorError) {
  FakeEnv env;
  auto collector = MakeCollector("{units: [pdf-brain]}");
  ASSERT_NE(collector, nullptr);
  const auto argv = ShowArgv({"pdf-brain.service"});
  CollectOutput out;
  EXPECT_EQ(collector->Collect(Context(&env), &out).message(),
            "cannot run 'systemctl': No such file or directory");
  CommandResult no_systemd;
  no_systemd.exit_code = 1;
  no_systemd.err =
      "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
      "Failed to connect to bus: Host is down\n";
  env.SetCommand(argv, {no_systemd});
  EXPECT_EQ(collector->Collect(Context(&env), &out).message(),
            "'systemctl' exited with status 1: System has not been booted with systemd as init "
            "system (PID 1). Can't operate.");
  env.SetCommandOutput(argv, "garbage\n");
  EXPECT_EQ(collector->Collect(Context(&env), &out).message(),
            "systemctl show: line 1 is not KEY=VALUE: 'garbage'");
  env.SetCommandOutput(argv, "");
  EXPECT_EQ(collector->Collect(Context(&env), &out).message(), "systemctl show: empty output");
  env.SetCommandOutput(argv, "Id=pdf-brain.service\nLoadState=loaded\nActiveState=act");
  EXPECT_EQ(collector->Collect(Context(&env), &out).message(),
            "systemctl show: output is cut off (no newline at the end)");
}

TEST(SystemdCollectorTest, MissingBlocksAreMatchedByIdAndReported) {
  FakeEnv env;
  auto collector = MakeCollector("{units: [pdf-brain, typesense, ollama]}");
  ASSERT_NE(collector, nullptr);
  env.SetCommandOutput(ShowArgv({"pdf-brain.service", "typesense.service", "ollama.service"}),
                       "Id=pdf-brain.service\nLoadState=loaded\nActiveState=active\nSubState=running\n"
                       "\nId=ollama.service\nLoadState=loaded\nActiveState=failed\nSubState=failed\n");
  CollectOutput out;
  Status s = collector->Collect(Context(&env), &out);
  EXPECT_EQ(s.message(),
            "systemctl show printed 2 unit blocks for 3 units; no block for typesense.service");
  // What could be matched is still exported (a partial result).
  EXPECT_EQ(State(out, "ollama.service", "failed"), 1);
  EXPECT_EQ(Sample(out, "joelclaw_systemd_unit_active", "pdf-brain.service"), 1);
  EXPECT_EQ(Sample(out, "joelclaw_systemd_unit_present", "typesense.service"), -12345);
}

TEST(SystemdCollectorTest, ConfigErrors) {
  ConfigContext ctx("c.yaml");
  EXPECT_EQ(ParseSystemdCollector(YAML::Load("{units: [redis-server, redis-server.service]}"), ctx,
                                  "clanker-001")
                .status()
                .message(),
            "c.yaml:1: host 'clanker-001': systemd: unit 'redis-server.service' is listed twice");
  EXPECT_EQ(ParseSystemdCollector(YAML::Load("{units: []}"), ctx, "clanker-001").status().message(),
            "c.yaml:1: host 'clanker-001': systemd has no units");
  EXPECT_EQ(
      ParseSystemdCollector(YAML::Load("{units: ['pdf-*']}"), ctx, "clanker-001").status().message(),
      "c.yaml:1: host 'clanker-001': systemd: 'pdf-*' is not a unit name (letters, digits and "
      ":_.@- only, no globs or paths)");
  EXPECT_FALSE(ParseSystemdCollector(YAML::Load("{units: [/etc/fstab]}"), ctx, "h").ok());
  EXPECT_FALSE(ParseSystemdCollector(YAML::Load("{units: ['a b']}"), ctx, "h").ok());
  EXPECT_FALSE(ParseSystemdCollector(YAML::Load("{units: [--all]}"), ctx, "h").ok());
  EXPECT_FALSE(ParseSystemdCollector(YAML::Load("{units: pdf-brain}"), ctx, "h").ok());
  EXPECT_FALSE(ParseSystemdCollector(YAML::Load("{units: [a], user: true}"), ctx, "h").ok());
  EXPECT_FALSE(ParseSystemdCollector(YAML::Load("[a]"), ctx, "h").ok());
  EXPECT_EQ(
      ParseSystemdCollector(YAML::Load("{units: [{description: x}]}"), ctx, "h").status().message(),
      "c.yaml:1: host 'h': systemd: unit has no unit");
  EXPECT_EQ(ParseSystemdCollector(YAML::Load("{units: [{unit: a, state: on}]}"), ctx, "h")
                .status()
                .message(),
            "c.yaml:1: unknown key 'state' in host 'h': systemd: unit (known keys: unit, "
            "description)");
  EXPECT_EQ(ParseSystemdCollector(YAML::Load("{units: [a, {unit: a.service}]}"), ctx, "h")
                .status()
                .message(),
            "c.yaml:1: host 'h': systemd: unit 'a.service' is listed twice");
  // Unit types other than service keep their suffix; a dotted name that is
  // not a type gets ".service" like systemctl would give it.
  TimeoutRecordingEnv env;
  auto c = MakeCollector("{units: [sshd.socket, 'getty@tty1', pdf-brain.v2]}");
  ASSERT_NE(c, nullptr);
  CollectOutput out;
  (void)c->Collect(Context(&env), &out);
  ASSERT_EQ(env.calls().size(), 1u);
  EXPECT_EQ(env.calls()[0], ShowArgv({"sshd.socket", "getty@tty1.service", "pdf-brain.v2.service"}));
}

}  // namespace systemd_collector_test
}  // namespace joelclaw
