#include "exporter/collectors/filesystem_collector.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/support/fake_env.h"
#include "yaml-cpp/yaml.h"

namespace joelclaw {
namespace filesystem_collector_test {

using testing::FakeEnv;

Result<std::unique_ptr<Collector>> Parse(const std::string& yaml) {
  ConfigContext ctx("test.yaml");
  return ParseFilesystemCollector(YAML::Load(yaml), ctx, "panda");
}

Status RunCollector(Collector& c, FakeEnv& env, CollectOutput* out) {
  CollectContext ctx;
  ctx.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  ctx.env = &env;
  return c.Collect(ctx, out);
}

FsStats Stats(uint64_t size, uint64_t avail) {
  FsStats s;
  s.size_bytes = size;
  s.avail_bytes = avail;
  s.free_bytes = avail + 1024;
  return s;
}

TEST(FilesystemCollectorTest, ExportsSizeAndAvailablePerMountPoint) {
  FakeEnv env;
  env.SetFs("/", Stats(500107862016, 123456789504));
  env.SetFs("/data", Stats(4000787030016, 57000000000000 / 1000));
  auto c = Parse(R"(["/", "/data"])");
  ASSERT_TRUE(c.ok()) << c.status().message();
  CollectOutput out;
  Status s = RunCollector(**c, env, &out);
  ASSERT_TRUE(s.ok()) << s.message();
  double v = 0;
  ASSERT_TRUE(out.metrics.Find("joelclaw_filesystem_size_bytes",
                               {{"host", "panda"}, {"mountpoint", "/"}}, &v));
  EXPECT_EQ(v, 500107862016.0);
  ASSERT_TRUE(out.metrics.Find("joelclaw_filesystem_avail_bytes",
                               {{"host", "panda"}, {"mountpoint", "/"}}, &v));
  EXPECT_EQ(v, 123456789504.0);
  ASSERT_TRUE(out.metrics.Find("joelclaw_filesystem_size_bytes",
                               {{"host", "panda"}, {"mountpoint", "/data"}}, &v));
  EXPECT_EQ(v, 4000787030016.0);
  ASSERT_TRUE(out.metrics.Find("joelclaw_filesystem_avail_bytes",
                               {{"host", "panda"}, {"mountpoint", "/data"}}, &v));
  EXPECT_EQ(v, 57000000000.0);
  EXPECT_EQ(out.metrics.SampleCount(), 4u);
  ASSERT_EQ(out.details["filesystems"].size(), 2u);
  EXPECT_EQ(out.details["filesystems"][1]["mountpoint"], "/data");
  EXPECT_EQ(out.details["filesystems"][1]["avail_bytes"], 57000000000u);
}

TEST(FilesystemCollectorTest, OneUnreadableMountFailsTheCollectorButKeepsTheOthers) {
  FakeEnv env;
  env.SetFs("/", Stats(1000, 400));
  env.SetFs("/backup", Stats(3000, 2000));
  // /mnt/nas is not mounted: statvfs fails.
  auto c = Parse(R"(["/", "/mnt/nas", "/backup"])");
  ASSERT_TRUE(c.ok());
  CollectOutput out;
  Status s = RunCollector(**c, env, &out);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "statvfs /mnt/nas: No such file or directory");
  double v = 0;
  EXPECT_TRUE(out.metrics.Find("joelclaw_filesystem_avail_bytes",
                               {{"host", "panda"}, {"mountpoint", "/"}}, &v));
  EXPECT_EQ(v, 400);
  EXPECT_TRUE(out.metrics.Find("joelclaw_filesystem_avail_bytes",
                               {{"host", "panda"}, {"mountpoint", "/backup"}}, &v));
  EXPECT_EQ(v, 2000);
  EXPECT_FALSE(out.metrics.Find("joelclaw_filesystem_size_bytes",
                                {{"host", "panda"}, {"mountpoint", "/mnt/nas"}}, &v));
  EXPECT_EQ(out.metrics.SampleCount(), 4u);
  EXPECT_EQ(out.details["filesystems"].size(), 2u);
}

TEST(FilesystemCollectorTest, EveryFailureIsListed) {
  FakeEnv env;
  auto c = Parse(R"(["/a", "/b"])");
  ASSERT_TRUE(c.ok());
  CollectOutput out;
  Status s = RunCollector(**c, env, &out);
  EXPECT_EQ(s.message(),
            "statvfs /a: No such file or directory; statvfs /b: No such file or directory");
  EXPECT_TRUE(out.metrics.empty());
}

TEST(FilesystemCollectorTest, ConfigErrors) {
  struct Case {
    const char* yaml;
    const char* error;
  };
  const Case cases[] = {
      {"[]", "test.yaml:1: host 'panda': filesystems must be a non-empty list of mount points"},
      {"/", "test.yaml:1: host 'panda': filesystems must be a non-empty list of mount points"},
      {"{path: /}",
       "test.yaml:1: host 'panda': filesystems must be a non-empty list of mount points"},
      {"[\"/\", data]", "test.yaml:1: host 'panda': filesystem 'data' is not an absolute path"},
      {"[\"/\", \"\"]", "test.yaml:1: host 'panda': filesystems entries must be absolute paths"},
      {"[[\"/\"]]", "test.yaml:1: host 'panda': filesystems entries must be absolute paths"},
      {"- /\n- /data\n- /\n", "test.yaml:3: host 'panda': filesystem '/' is listed twice"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.yaml);
    auto r = Parse(c.yaml);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), c.error);
  }
}

}  // namespace filesystem_collector_test
}  // namespace joelclaw
