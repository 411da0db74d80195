#include "exporter/collectors/host_collector.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/support/fake_env.h"
#include "tests/support/test_util.h"
#include "yaml-cpp/yaml.h"

namespace joelclaw {
namespace {

using testing::FakeEnv;
using testing::ReadFileOrDie;
using testing::TestData;

std::string Proc(const std::string& name) { return ReadFileOrDie(TestData("proc/" + name)); }

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
      {"number then junk", "0.5x 0.1 0.1 1/2 3", want + "\"0.5x 0.1 0.1 1/2 3\""},
      {"binary", std::string("\x01\x02\xff 1 2", 7), want + "\"??? 1 2\""},
      {"long", std::string(100, 'z'), want + "\"" + std::string(40, 'z') + "…\""},
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

}  // namespace
}  // namespace joelclaw
