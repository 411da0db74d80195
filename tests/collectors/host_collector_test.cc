#include "exporter/collectors/host_collector.h"

#include <functional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/fake_env.h"
#include "tests/support/test_util.h"
#include "yaml-cpp/yaml.h"

namespace joelclaw {
namespace host_collector_test {

using testing::FakeEnv;
using testing::ReadFileOrDie;
using testing::TestData;

std::string Proc(const std::string& name) { return ReadFileOrDie(TestData("proc/" + name)); }
std::string Mac(const std::string& name) { return ReadFileOrDie(TestData("macos/" + name)); }

// tests/testdata/macos/vm_stat.txt: (free 7163 + speculative 6942 +
// inactive 309877) pages of 16384 bytes.
constexpr double kMacAvailable = (7163.0 + 6942 + 309877) * 16384;

// ---- Parsers on fixtures ---------------------------------------------------

TEST(ProcMeminfoTest, ParsesARealFile) {
  HostResources r;
  Status s = ParseProcMeminfo(Proc("meminfo"), &r);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(r.memory_total_bytes, 65842528.0 * 1024);
  EXPECT_EQ(r.memory_available_bytes, 41276404.0 * 1024);
}

TEST(ProcMeminfoTest, OldKernelWithoutMemAvailableApproximatesIt) {
  // Before Linux 3.14: MemFree + Buffers + Cached.
  HostResources r;
  Status s = ParseProcMeminfo(Proc("meminfo-no-memavailable"), &r);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(r.memory_total_bytes, 8010440.0 * 1024);
  EXPECT_EQ(r.memory_available_bytes, (512344.0 + 204800 + 3072000) * 1024);
}

TEST(ProcMeminfoTest, BadInputIsAClearError) {
  struct Case {
    std::string name, text, error;
  };
  const Case cases[] = {
      {"empty", "", "file is empty"},
      {"blank", "\n\n", "file is empty"},
      {"truncated", Proc("meminfo-truncated"), "no MemAvailable or MemFree line"},
      {"no total", "MemFree: 10 kB\nMemAvailable: 20 kB\n", "no MemTotal line"},
      {"garbage", "\x7f" "ELF\x02\x01\x01\0\0\0 binary junk", "no MemTotal line"},
      {"not a number", "MemTotal: lots kB\n", "MemTotal is not a number: \"MemTotal: lots kB\""},
      {"negative", "MemTotal: -5 kB\n", "MemTotal is not a number: \"MemTotal: -5 kB\""},
      {"nan", "MemTotal: 10 kB\nMemAvailable: nan kB\n",
       "MemAvailable is not a number: \"MemAvailable: nan kB\""},
      {"no value", "MemTotal:\n", "MemTotal is not a number: \"MemTotal:\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    HostResources r;
    Status s = ParseProcMeminfo(c.text, &r);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.message(), c.error);
    // Nothing half-filled on error.
    EXPECT_EQ(r.memory_total_bytes, -1);
  }
}

TEST(ProcLoadavgTest, ParsesARealFile) {
  HostResources r;
  Status s = ParseProcLoadavg(Proc("loadavg"), &r);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_DOUBLE_EQ(r.load1, 1.73);
  // Without the trailing newline and the process fields it is still fine.
  ASSERT_TRUE(ParseProcLoadavg("0.00 0.01 0.05", &r).ok());
  EXPECT_EQ(r.load1, 0);
}

TEST(ProcLoadavgTest, BadInputIsAClearError) {
  struct Case {
    std::string name, text, error;
  };
  const std::string want = "expected \"LOAD1 LOAD5 LOAD15 RUNNING/TOTAL LASTPID\", got ";
  const Case cases[] = {
      {"empty", "", "file is empty"},
      {"blank", " \n", "file is empty"},
      {"truncated", Proc("loadavg-truncated"), want + "\"1.73 0.9\""},
      {"one field", "0.52\n", want + "\"0.52\""},
      {"garbage", "load is high today\n", want + "\"load is high today\""},
      {"number then junk", "0.5x 0.1 0.1 1/2 3",
       want + "\"0.5x 0.1 0.1 1/2 3\""},
      {"binary", std::string("\x01\x02\xff 1 2", 7), want + "\"??? 1 2\""},
      {"long", std::string(100, 'z'),
       want + "\"" + std::string(40, 'z') + "...\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    HostResources r;
    Status s = ParseProcLoadavg(c.text, &r);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.message(), c.error);
    EXPECT_EQ(r.load1, -1);
  }
}

TEST(ProcStatTest, ParsesARealFile) {
  HostResources r;
  Status s = ParseProcStat(Proc("stat"), &r);
  ASSERT_TRUE(s.ok()) << s.message();
  // cpu0..cpu15; the aggregate "cpu " line does not count.
  EXPECT_EQ(r.cpus, 16);
  EXPECT_EQ(r.boot_timestamp_seconds, 1731571200);
}

TEST(ProcStatTest, BadInputIsAClearError) {
  struct Case {
    std::string name, text, error;
  };
  const Case cases[] = {
      {"empty", "", "file is empty"},
      {"truncated before btime", Proc("stat-truncated"), "no btime line"},
      {"only the aggregate cpu line", "cpu  1 2 3 4\nbtime 1731571200\n", "no cpuN lines"},
      {"btime not a number", "cpu0 1 2 3\nbtime soon\n", "btime is not a number: \"btime soon\""},
      {"garbage", "\xde\xad\xbe\xef\n\n\n", "no btime line"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    HostResources r;
    Status s = ParseProcStat(c.text, &r);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.message(), c.error);
    EXPECT_EQ(r.cpus, -1);
  }
}

TEST(SysctlValuesTest, ParsesRealOutput) {
  HostResources r;
  Status s = ParseSysctlValues(Mac("sysctl.txt"), &r);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(r.memory_total_bytes, 17179869184.0);
  EXPECT_EQ(r.cpus, 10);
  EXPECT_EQ(r.page_size_bytes, 16384);
  EXPECT_DOUBLE_EQ(r.load1, 2.41);
  EXPECT_DOUBLE_EQ(r.boot_timestamp_seconds, 1731571200.25);
  // Order, unknown names and a missing final newline do not matter.
  const std::string reordered =
      "kern.boottime: { sec = 1700000000, usec = 0 } Tue Nov 14 22:13:20 2023\n"
      "kern.ostype: Darwin\n"
      "vm.loadavg: { 0.00 0.01 0.05 }\n"
      "hw.pagesize: 4096\nhw.ncpu: 4\nhw.memsize: 8589934592";
  ASSERT_TRUE(ParseSysctlValues(reordered, &r).ok());
  EXPECT_EQ(r.load1, 0);
  EXPECT_EQ(r.cpus, 4);
  EXPECT_EQ(r.page_size_bytes, 4096);
  EXPECT_EQ(r.boot_timestamp_seconds, 1700000000);
}

TEST(SysctlValuesTest, BadInputIsAClearError) {
  struct Case {
    std::string name, text, error;
  };
  const std::string head = "hw.memsize: 17179869184\nhw.ncpu: 10\nhw.pagesize: 16384\n";
  const std::string load = "vm.loadavg: { 2.41 2.07 1.96 }\n";
  const std::string want_load = "vm.loadavg: expected \"{ LOAD1 LOAD5 LOAD15 }\", got ";
  const std::string want_boot =
      "kern.boottime: expected \"{ sec = SECONDS, usec = MICROSECONDS } DATE\", got ";
  const Case cases[] = {
      {"empty", "", "output is empty"},
      {"blank", " \n\n", "output is empty"},
      {"truncated", Mac("sysctl-truncated.txt"), want_load + "\"{ 2.41 2.0\""},
      {"garbage", "\x7f" "ELF\x02\x01\x01\0\0\0 binary junk", "no hw.memsize line"},
      {"usage text", "usage: sysctl [-bdehiNnoqx] name[=value] ...\n", "no hw.memsize line"},
      {"no ncpu", "hw.memsize: 1\n", "no hw.ncpu line"},
      {"no pagesize", "hw.memsize: 1\nhw.ncpu: 1\n", "no hw.pagesize line"},
      {"no loadavg", head, "no vm.loadavg line"},
      {"no boottime", head + load, "no kern.boottime line"},
      {"values only (sysctl -n)", "17179869184\n10\n16384\n{ 2.41 2.07 1.96 }\n",
       "no hw.memsize line"},
      {"memsize not a number", "hw.memsize: lots\n",
       "hw.memsize is not a positive integer: \"hw.memsize: lots\""},
      {"memsize trailing junk", "hw.memsize: 16G\n",
       "hw.memsize is not a positive integer: \"hw.memsize: 16G\""},
      {"ncpu zero", "hw.ncpu: 0\n", "hw.ncpu is not a positive integer: \"hw.ncpu: 0\""},
      {"pagesize negative", "hw.pagesize: -4096\n",
       "hw.pagesize is not a positive integer: \"hw.pagesize: -4096\""},
      {"memsize empty", "hw.memsize:\n", "hw.memsize is not a positive integer: \"hw.memsize:\""},
      {"loadavg without braces", head + "vm.loadavg: 2.41 2.07 1.96\n",
       want_load + "\"2.41 2.07 1.96\""},
      {"loadavg two fields", head + "vm.loadavg: { 2.41 2.07 }\n", want_load + "\"{ 2.41 2.07 }\""},
      {"loadavg nan", head + "vm.loadavg: { nan 2.07 1.96 }\n",
       want_load + "\"{ nan 2.07 1.96 }\""},
      {"boottime old date-only form", head + load + "kern.boottime: Thu Jan 13 19:58:55 2011\n",
       want_boot + "\"Thu Jan 13 19:58:55 2011\""},
      {"boottime truncated", head + load + "kern.boottime: { sec = 1731571200, us",
       want_boot + "\"{ sec = 1731571200, us\""},
      {"boottime usec too big", head + load + "kern.boottime: { sec = 1, usec = 1000000 } x\n",
       want_boot + "\"{ sec = 1, usec = 1000000 } x\""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    HostResources r;
    Status s = ParseSysctlValues(c.text, &r);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.message(), c.error);
    // Nothing half-filled on error.
    EXPECT_EQ(r.memory_total_bytes, -1);
    EXPECT_EQ(r.cpus, -1);
    EXPECT_EQ(r.load1, -1);
  }
}

TEST(VmStatTest, ParsesRealOutput) {
  Result<double> a = ParseVmStat(Mac("vm_stat.txt"), 16384);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(*a, kMacAvailable);
}

TEST(VmStatTest, TheHeaderPageSizeWinsOverHwPagesize) {
  // An Intel Mac's header says 4096; a wrong or missing hw.pagesize does
  // not matter while the header is there.
  const std::string intel =
      "Mach Virtual Memory Statistics: (page size of 4096 bytes)\n"
      "Pages free:   100.\nPages active:  5.\nPages inactive:   20.\nPages speculative:  3.\n";
  Result<double> a = ParseVmStat(intel, 16384);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(*a, 123.0 * 4096);
  a = ParseVmStat(intel, -1);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(*a, 123.0 * 4096);
  // Without a header, hw.pagesize is used.
  a = ParseVmStat("Pages free: 1.\nPages inactive: 2.\nPages speculative: 3.\n", 16384);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(*a, 6.0 * 16384);
}

TEST(VmStatTest, BadInputIsAClearError) {
  struct Case {
    std::string name, text, error;
    double page_size = 16384;
  };
  const std::string header = "Mach Virtual Memory Statistics: (page size of 16384 bytes)\n";
  const Case cases[] = {
      {"empty", "", "output is empty"},
      {"blank", "\n \n", "output is empty"},
      {"truncated", Mac("vm_stat-truncated.txt"),
       "no \"Pages speculative\" line"},
      {"header only", header, "no \"Pages free\" line"},
      {"garbage", "\xde\xad\xbe\xef\n\n", "no \"Pages free\" line"},
      {"no inactive", header + "Pages free: 1.\n",
       "no \"Pages inactive\" line"},
      {"not a number", header + "Pages free: many.\n",
       "Pages free is not a number: \"Pages free: many.\""},
      {"negative", header + "Pages inactive: -3.\n",
       "Pages inactive is not a number: \"Pages inactive: -3.\""},
      {"no value", header + "Pages speculative:\n",
       "Pages speculative is not a number: \"Pages speculative:\""},
      {"cut mid-number", header + "Pages free: 12 34.\n",
       "Pages free is not a number: \"Pages free: 12 34.\""},
      {"bad header",
       "Mach Virtual Memory Statistics: (page size of lots bytes)\n",
       "expected \"(page size of N bytes)\" in the header, got \"Mach Virtual "
       "Memory Statistics: (page "
       "si...\""},
      {"no page size anywhere",
       "Pages free: 1.\nPages inactive: 2.\nPages speculative: 3.\n",
       "no \"(page size of N bytes)\" header and no hw.pagesize", -1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Result<double> a = ParseVmStat(c.text, c.page_size);
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.status().message(), c.error);
  }
}

// ---- The collector through FakeEnv -----------------------------------------

std::unique_ptr<Collector> MakeCollector(const std::string& yaml, const std::string& host) {
  ConfigContext ctx("test.yaml");
  auto c = ParseHostCollector(YAML::Load(yaml), ctx, host);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(c).value() : nullptr;
}

Status RunCollector(Collector& c, FakeEnv& env, CollectOutput* out) {
  CollectContext ctx;
  ctx.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  ctx.env = &env;
  return c.Collect(ctx, out);
}

void SetProcFixtures(FakeEnv& env) {
  env.SetFile("/proc/meminfo", Proc("meminfo"));
  env.SetFile("/proc/loadavg", Proc("loadavg"));
  env.SetFile("/proc/stat", Proc("stat"));
}

TEST(HostCollectorTest, ExportsEverySampleWithTheHostLabel) {
  FakeEnv env;
  SetProcFixtures(env);
  auto c = MakeCollector("true", "panda");
  ASSERT_NE(c, nullptr);
  CollectOutput out;
  Status s = RunCollector(*c, env, &out);
  ASSERT_TRUE(s.ok()) << s.message();
  const Labels l = {{"host", "panda"}};
  double v = 0;
  ASSERT_TRUE(out.metrics.Find("joelclaw_host_memory_total_bytes", l, &v));
  EXPECT_EQ(v, 65842528.0 * 1024);
  ASSERT_TRUE(out.metrics.Find("joelclaw_host_memory_available_bytes", l, &v));
  EXPECT_EQ(v, 41276404.0 * 1024);
  ASSERT_TRUE(out.metrics.Find("joelclaw_host_load1", l, &v));
  EXPECT_DOUBLE_EQ(v, 1.73);
  ASSERT_TRUE(out.metrics.Find("joelclaw_host_cpus", l, &v));
  EXPECT_EQ(v, 16);
  ASSERT_TRUE(out.metrics.Find("joelclaw_host_boot_timestamp_seconds", l, &v));
  EXPECT_EQ(v, 1731571200);
  EXPECT_EQ(out.metrics.SampleCount(), 5u);
  EXPECT_FALSE(out.metrics.Find("joelclaw_host_cpus", {{"host", "other"}}, &v));
  EXPECT_EQ(out.details["cpus"], 16);
  EXPECT_EQ(out.details["load1"], 1.73);
}

TEST(HostCollectorTest, OldKernelStillExportsAvailableMemory) {
  FakeEnv env;
  SetProcFixtures(env);
  env.SetFile("/proc/meminfo", Proc("meminfo-no-memavailable"));
  auto c = MakeCollector("true", "old-box");
  CollectOutput out;
  ASSERT_TRUE(RunCollector(*c, env, &out).ok());
  double v = 0;
  ASSERT_TRUE(
      out.metrics.Find("joelclaw_host_memory_available_bytes", {{"host", "old-box"}}, &v));
  EXPECT_EQ(v, (512344.0 + 204800 + 3072000) * 1024);
}

TEST(HostCollectorTest, UnreadableOrBadFileFailsWithItsPath) {
  {
    FakeEnv env;
    SetProcFixtures(env);
    env.RemoveFile("/proc/loadavg");
    auto c = MakeCollector("true", "panda");
    CollectOutput out;
    Status s = RunCollector(*c, env, &out);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.message(), "cannot read /proc/loadavg: No such file or directory");
  }
  {
    FakeEnv env;
    SetProcFixtures(env);
    env.SetFile("/proc/stat", Proc("stat-truncated"));
    auto c = MakeCollector("true", "panda");
    CollectOutput out;
    Status s = RunCollector(*c, env, &out);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.message(), "/proc/stat: no btime line");
    // No half-read host: nothing exported rather than a -1.
    double v;
    EXPECT_FALSE(out.metrics.Find("joelclaw_host_cpus", {{"host", "panda"}}, &v));
  }
  {
    FakeEnv env;
    SetProcFixtures(env);
    env.SetFile("/proc/meminfo", "");
    auto c = MakeCollector("true", "panda");
    CollectOutput out;
    Status s = RunCollector(*c, env, &out);
    EXPECT_EQ(s.message(), "/proc/meminfo: file is empty");
  }
}

const std::vector<std::string> kSysctlArgv = {"sysctl",     "hw.memsize",    "hw.ncpu",
                                              "hw.pagesize", "vm.loadavg",   "kern.boottime"};
const std::vector<std::string> kVmStatArgv = {"vm_stat"};

void SetMacFixtures(FakeEnv& env) {
  env.SetCommandOutput(kSysctlArgv, Mac("sysctl.txt"));
  env.SetCommandOutput(kVmStatArgv, Mac("vm_stat.txt"));
}

std::unique_ptr<Collector> MakeSysctlCollector(const std::string& host) {
  ConfigContext ctx("test.yaml");
  return NewHostCollector(host, HostSource::kSysctl, ctx);
}

TEST(HostCollectorTest, DefaultSourceIsThePlatforms) {
#ifdef __APPLE__
  EXPECT_EQ(kDefaultHostSource, HostSource::kSysctl);
#else
  EXPECT_EQ(kDefaultHostSource, HostSource::kProc);
#endif
}

TEST(HostCollectorTest, SysctlSourceExportsEverySample) {
  FakeEnv env;
  SetMacFixtures(env);
  auto c = MakeSysctlCollector("panda");
  CollectOutput out;
  Status s = RunCollector(*c, env, &out);
  ASSERT_TRUE(s.ok()) << s.message();
  // Both commands, argv exactly, and no /proc.
  EXPECT_EQ(env.calls(), (std::vector<std::vector<std::string>>{kSysctlArgv, kVmStatArgv}));
  const Labels l = {{"host", "panda"}};
  double v = 0;
  ASSERT_TRUE(out.metrics.Find("joelclaw_host_memory_total_bytes", l, &v));
  EXPECT_EQ(v, 17179869184.0);
  ASSERT_TRUE(out.metrics.Find("joelclaw_host_memory_available_bytes", l, &v));
  EXPECT_EQ(v, kMacAvailable);
  ASSERT_TRUE(out.metrics.Find("joelclaw_host_load1", l, &v));
  EXPECT_DOUBLE_EQ(v, 2.41);
  ASSERT_TRUE(out.metrics.Find("joelclaw_host_cpus", l, &v));
  EXPECT_EQ(v, 10);
  ASSERT_TRUE(out.metrics.Find("joelclaw_host_boot_timestamp_seconds", l, &v));
  EXPECT_DOUBLE_EQ(v, 1731571200.25);
  EXPECT_EQ(out.metrics.SampleCount(), 5u);
  // The same details as on Linux, and nothing more.
  EXPECT_EQ(out.details.size(), 5u);
  EXPECT_EQ(out.details["memory_total_bytes"], 17179869184.0);
  EXPECT_EQ(out.details["memory_available_bytes"], kMacAvailable);
  EXPECT_EQ(out.details["load1"], 2.41);
  EXPECT_EQ(out.details["cpus"], 10);
  EXPECT_EQ(out.details["boot_timestamp_seconds"], 1731571200.25);
}

TEST(HostCollectorTest, SysctlSourceUsesTheCommandsOverride) {
  FakeEnv env;
  const std::vector<std::string> sysctl = {"/usr/sbin/sysctl", "hw.memsize", "hw.ncpu",
                                           "hw.pagesize",      "vm.loadavg", "kern.boottime"};
  env.SetCommandOutput(sysctl, Mac("sysctl.txt"));
  env.SetCommandOutput({"/usr/bin/vm_stat"}, Mac("vm_stat.txt"));
  ConfigContext ctx("test.yaml");
  ctx.SetCommand("sysctl", sysctl);
  ctx.SetCommand("vm_stat", {"/usr/bin/vm_stat"});
  auto c = NewHostCollector("panda", HostSource::kSysctl, ctx);
  CollectOutput out;
  Status s = RunCollector(*c, env, &out);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(env.calls().size(), 2u);
}

TEST(HostCollectorTest, SysctlSourceFailuresAreCollectorErrors) {
  struct Case {
    std::string name;
    std::function<void(FakeEnv&)> setup;
    std::string error;
  };
  CommandResult failed;
  failed.exit_code = 1;
  failed.err = "sysctl: unknown oid 'vm.loadavg'\nmore\n";
  CommandResult killed;
  killed.exit_code = -1;
  killed.term_signal = 9;
  const Case cases[] = {
      {"sysctl missing", [](FakeEnv&) {}, "cannot run 'sysctl': No such file or directory"},
      {"vm_stat missing",
       [](FakeEnv& env) { env.SetCommandOutput(kSysctlArgv, Mac("sysctl.txt")); },
       "cannot run 'vm_stat': No such file or directory"},
      {"sysctl exits non-zero",
       [&](FakeEnv& env) {
         SetMacFixtures(env);
         env.SetCommand(kSysctlArgv, {failed});
       },
       "'sysctl' exited with status 1: sysctl: unknown oid 'vm.loadavg'"},
      {"vm_stat killed",
       [&](FakeEnv& env) {
         SetMacFixtures(env);
         env.SetCommand(kVmStatArgv, {killed});
       },
       "'vm_stat' was killed by signal 9"},
      {"sysctl run error (timeout)",
       [](FakeEnv& env) {
         SetMacFixtures(env);
         env.SetCommand(kSysctlArgv, {Result<CommandResult>::Error("'sysctl' timed out")});
       },
       "'sysctl' timed out"},
      {"sysctl truncated",
       [](FakeEnv& env) {
         SetMacFixtures(env);
         env.SetCommandOutput(kSysctlArgv, Mac("sysctl-truncated.txt"));
       },
       "sysctl: vm.loadavg: expected \"{ LOAD1 LOAD5 LOAD15 }\", got \"{ 2.41 2.0\""},
      {"vm_stat truncated",
       [](FakeEnv& env) {
         SetMacFixtures(env);
         env.SetCommandOutput(kVmStatArgv, Mac("vm_stat-truncated.txt"));
       },
       "vm_stat: no \"Pages speculative\" line"},
      {"vm_stat empty",
       [](FakeEnv& env) {
         SetMacFixtures(env);
         env.SetCommandOutput(kVmStatArgv, "");
       },
       "vm_stat: output is empty"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    FakeEnv env;
    c.setup(env);
    auto collector = MakeSysctlCollector("panda");
    CollectOutput out;
    Status s = RunCollector(*collector, env, &out);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.message(), c.error);
    // No half-read host: nothing exported rather than a -1.
    EXPECT_EQ(out.metrics.SampleCount(), 0u);
  }
}

TEST(HostCollectorTest, ConfigValue) {
  ConfigContext ctx("test.yaml");
  auto off = ParseHostCollector(YAML::Load("false"), ctx, "panda");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(*off, nullptr);
  for (const char* bad : {"yes", "1", "[true]", "{enabled: true}"}) {
    SCOPED_TRACE(bad);
    auto c = ParseHostCollector(YAML::Load(bad), ctx, "panda");
    ASSERT_FALSE(c.ok());
    const std::string want = "test.yaml:1: host 'panda': resources must be true or false";
    EXPECT_EQ(c.status().message().rfind(want, 0), 0u) << c.status().message();
  }
}

}  // namespace host_collector_test
}  // namespace joelclaw
