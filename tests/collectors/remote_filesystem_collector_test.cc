#include "exporter/collectors/remote_filesystem_collector.h"

#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_env.h"
#include "tests/support/real_servers.h"
#include "tests/support/scripted_server.h"
#include "tests/support/test_util.h"

namespace joelclaw {
namespace remote_filesystem_collector_test {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::FakeEnv;
using testing::ReadFileOrDie;
using testing::TestData;

std::string Fixture(const std::string& name) { return ReadFileOrDie(TestData("df/" + name)); }

constexpr uint64_t kKiB = 1024;

TEST(ParseDfPortableTest, SynologyShapedOutput) {
  auto rows = ParseDfPortable(Fixture("synology.txt"));
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].filesystem, "/dev/mapper/cachedev_0");
  EXPECT_EQ((*rows)[0].mountpoint, "/volume1");
  EXPECT_EQ((*rows)[0].size_bytes, 15119769984ull * kKiB);
  EXPECT_EQ((*rows)[0].avail_bytes, 5249404672ull * kKiB);
  EXPECT_EQ((*rows)[1].mountpoint, "/volume2");
  EXPECT_EQ((*rows)[1].size_bytes, 3748905728ull * kKiB);
}

TEST(ParseDfPortableTest, MacosShapeWithSpacesInFilesystemName) {
  auto rows = ParseDfPortable(Fixture("macos.txt"));
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].filesystem, "/dev/disk3s1s1");
  EXPECT_EQ((*rows)[0].mountpoint, "/");
  EXPECT_EQ((*rows)[1].mountpoint, "/System/Volumes/Data");
  EXPECT_EQ((*rows)[1].avail_bytes, 560392088ull * kKiB);
  EXPECT_EQ((*rows)[2].filesystem, "map auto_home");
  EXPECT_EQ((*rows)[2].mountpoint, "/System/Volumes/Data/home");
  EXPECT_EQ((*rows)[2].size_bytes, 0u);
}

TEST(ParseDfPortableTest, MountPointWithSpaces) {
  auto rows = ParseDfPortable(Fixture("mount-with-space.txt"));
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].filesystem, "//joel@three-body/backup");
  EXPECT_EQ((*rows)[0].mountpoint, "/Volumes/Backup Disk");
  EXPECT_EQ((*rows)[0].size_bytes, 976762584ull * kKiB);
  // A mount point that itself looks like numbers is still the mount point.
  auto odd = ParseDfPortable("Filesystem 1024-blocks Used Available Capacity Mounted on\n"
                             "tmpfs 10 5 5 50% /mnt/1 2 3 4%\n");
  ASSERT_TRUE(odd.ok()) << odd.status().message();
  EXPECT_EQ((*odd)[0].mountpoint, "/mnt/1 2 3 4%");
}

TEST(ParseDfPortableTest, BlockSizeFromHeaderAndCrlf) {
  auto rows = ParseDfPortable("Filesystem 512-blocks Used Available Capacity Mounted on\r\n"
                              "/dev/sda1 2000 1000 1000 50% /data\r\n");
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_EQ((*rows)[0].size_bytes, 2000u * 512u);
  EXPECT_EQ((*rows)[0].mountpoint, "/data");
  // GNU df without -P says "1K-blocks"; zero-size pseudo filesystems say "-".
  auto gnu = ParseDfPortable("Filesystem 1K-blocks Used Available Use% Mounted on\n"
                             "proc 0 0 0 - /proc\n");
  ASSERT_TRUE(gnu.ok()) << gnu.status().message();
  EXPECT_EQ((*gnu)[0].mountpoint, "/proc");
}

TEST(ParseDfPortableTest, EmptyTruncatedAndGarbageAreErrors) {
  EXPECT_EQ(ParseDfPortable(Fixture("empty.txt")).status().message(), "empty output");
  EXPECT_EQ(ParseDfPortable(" \n\n").status().message(), "empty output");
  EXPECT_EQ(ParseDfPortable(Fixture("truncated.txt")).status().message(),
            "line 3: truncated or not a df -P row: '/dev/mapper/cachedev_1 "
            "3748905728 12060'");
  EXPECT_EQ(ParseDfPortable(Fixture("garbage.txt")).status().message(),
            "line 1: no 'Filesystem 1024-blocks Used Available Capacity Mounted on' header: "
            "'Welcome to DiskStation three-body!'");
  EXPECT_EQ(ParseDfPortable("Filesystem 1024-blocks Used Available Capacity Mounted on\n")
                .status()
                .message(),
            "no filesystem rows after the header");
  EXPECT_EQ(ParseDfPortable("Filesystem 1024-blocks Used Available Capacity Mounted on\n"
                            "/dev/md0 10 5 5 50%\n")
                .status()
                .message(),
            "line 2: row has no mount point: '/dev/md0 10 5 5 50%'");
  EXPECT_EQ(ParseDfPortable("Filesystem KB-blocks Used Available Capacity Mounted on\n")
                .status()
                .message(),
            "line 1: unknown block size 'KB-blocks'");
  EXPECT_THAT(ParseDfPortable("Filesystem 1024-blocks Used Available Capacity Mounted on\n"
                              "x 99999999999999999999 1 1 1% /\n")
                  .status()
                  .message(),
              StartsWith("line 2: "));
  EXPECT_FALSE(ParseDfPortable(std::string("\x01\x02\xff\0zz", 6)).ok());
}

std::unique_ptr<Collector> MakeCollector(const std::string& yaml, const ConfigContext& ctx) {
  auto c = ParseRemoteFilesystemCollector(YAML::Load(yaml), ctx, "three-body");
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(c).value() : nullptr;
}

double Sample(const CollectOutput& out, const std::string& name, const std::string& mountpoint) {
  double v = -12345;
  out.metrics.Find(name, {{"host", "three-body"}, {"mountpoint", mountpoint}}, &v);
  return v;
}

// A deadline already passed: Remaining() is 0 and ConnectTimeout is its
// floor of 1 second, so the argv is exact.
CollectContext PastDeadline(Env* env) {
  return CollectContext{std::chrono::steady_clock::now() - std::chrono::seconds(1), nullptr, env};
}

const std::vector<std::string> kNasArgv = {
    "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=1", "-p", "2222", "-i", "/etc/joelclaw/nas_key",
    "-l", "joel", "three-body", "df", "-Pk", "--", "/volume1", "/volume2"};

TEST(RemoteFilesystemCollectorTest, BuildsArgvAndExportsRowsInOrder) {
  FakeEnv env;
  ConfigContext cfg("/etc/joelclaw/config.yaml");
  auto collector = MakeCollector(
      "{ssh: three-body, paths: [/volume1, /volume2], user: joel, port: 2222, "
      "identity_file: nas_key}",
      cfg);
  ASSERT_NE(collector, nullptr);
  env.SetCommandOutput(kNasArgv, Fixture("synology.txt"));
  CollectContext ctx = PastDeadline(&env);
  CollectOutput out;
  Status s = collector->Collect(ctx, &out);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(env.calls().size(), 1u);
  EXPECT_EQ(env.calls()[0], kNasArgv);
  EXPECT_EQ(Sample(out, "joelclaw_filesystem_size_bytes", "/volume1"), 15119769984.0 * kKiB);
  EXPECT_EQ(Sample(out, "joelclaw_filesystem_avail_bytes", "/volume1"), 5249404672.0 * kKiB);
  EXPECT_EQ(Sample(out, "joelclaw_filesystem_size_bytes", "/volume2"), 3748905728.0 * kKiB);
  EXPECT_EQ(Sample(out, "joelclaw_filesystem_avail_bytes", "/volume2"), 2542871296.0 * kKiB);
  EXPECT_EQ(out.details["filesystems"][1]["remote_mountpoint"], "/volume2");
}

TEST(RemoteFilesystemCollectorTest, MinimalConfigUsesCommandOverrideAndRemainingTime) {
  FakeEnv env;
  ConfigContext cfg("c.yaml");
  cfg.SetCommand("ssh", {"/opt/bin/ssh", "-F", "/dev/null"});
  auto collector = MakeCollector("{ssh: nas.tail, paths: [/]}", cfg);
  ASSERT_NE(collector, nullptr);
  CollectContext ctx{std::chrono::steady_clock::now() + std::chrono::milliseconds(5900), nullptr,
                     &env};
  CollectOutput out;
  EXPECT_FALSE(collector->Collect(ctx, &out).ok());  // Unknown command in FakeEnv.
  ASSERT_EQ(env.calls().size(), 1u);
  const std::vector<std::string> argv = env.calls()[0];
  ASSERT_EQ(argv.size(), 12u);
  EXPECT_EQ(std::vector<std::string>(argv.begin(), argv.begin() + 5),
            (std::vector<std::string>{"/opt/bin/ssh", "-F", "/dev/null", "-o", "BatchMode=yes"}));
  EXPECT_EQ(argv[5], "-o");
  ASSERT_THAT(argv[6], StartsWith("ConnectTimeout="));
  int secs = std::stoi(argv[6].substr(15));
  EXPECT_GE(secs, 1);
  EXPECT_LE(secs, 5);
  EXPECT_EQ(std::vector<std::string>(argv.begin() + 7, argv.end()),
            (std::vector<std::string>{"nas.tail", "df", "-Pk", "--", "/"}));
}

TEST(RemoteFilesystemCollectorTest, MapsFailures) {
  FakeEnv env;
  ConfigContext cfg("/etc/joelclaw/config.yaml");
  auto collector = MakeCollector(
      "{ssh: three-body, paths: [/volume1, /volume2], user: joel, port: 2222, "
      "identity_file: nas_key}",
      cfg);
  ASSERT_NE(collector, nullptr);
  CollectContext ctx = PastDeadline(&env);
  CollectOutput out;

  CommandResult unreachable;
  unreachable.exit_code = 255;
  unreachable.err = "ssh: connect to host three-body port 2222: Connection refused\r\nmore\n";
  env.SetCommand(kNasArgv, {unreachable});
  EXPECT_EQ(collector->Collect(ctx, &out).message(),
            "ssh to three-body failed: ssh: connect to host three-body port 2222: Connection "
            "refused");

  env.SetCommand(kNasArgv, {Result<CommandResult>::Error("'ssh' timed out after 10s")});
  EXPECT_EQ(collector->Collect(ctx, &out).message(),
            "ssh to three-body failed: 'ssh' timed out after 10s");

  CommandResult silent255;
  silent255.exit_code = 255;
  env.SetCommand(kNasArgv, {silent255});
  EXPECT_EQ(collector->Collect(ctx, &out).message(), "ssh to three-body failed: exit status 255");

  CommandResult killed;
  killed.exit_code = -1;
  killed.term_signal = 9;
  env.SetCommand(kNasArgv, {killed});
  EXPECT_EQ(collector->Collect(ctx, &out).message(), "ssh to three-body failed: killed by signal 9");

  // One path missing on the NAS: df prints the other row and exits 1; the
  // rows cannot be matched to paths, so nothing is exported.
  CommandResult missing;
  missing.exit_code = 1;
  missing.out = "Filesystem 1024-blocks Used Available Capacity Mounted on\n"
                "/dev/mapper/cachedev_0 15119769984 9870365312 5249404672 66% /volume1\n";
  missing.err = "df: /volume2: No such file or directory\n";
  env.SetCommand(kNasArgv, {missing});
  CollectOutput partial;
  EXPECT_EQ(collector->Collect(ctx, &partial).message(),
            "df on three-body returned 1 rows for 2 paths: df: /volume2: No such file or "
            "directory");
  EXPECT_EQ(Sample(partial, "joelclaw_filesystem_size_bytes", "/volume1"), -12345);

  CommandResult nodf;
  nodf.exit_code = 127;
  nodf.err = "sh: df: command not found\n";
  env.SetCommand(kNasArgv, {nodf});
  EXPECT_EQ(collector->Collect(ctx, &out).message(),
            "df on three-body exited with status 127: sh: df: command not found");

  CommandResult banner;
  banner.out = Fixture("garbage.txt");
  env.SetCommand(kNasArgv, {banner});
  EXPECT_THAT(collector->Collect(ctx, &out).message(),
              StartsWith("df on three-body: line 1: no 'Filesystem 1024-blocks"));
}

TEST(RemoteFilesystemCollectorTest, ConfigErrors) {
  ConfigContext ctx("c.yaml");
  auto err = [&](const std::string& yaml) {
    return ParseRemoteFilesystemCollector(YAML::Load(yaml), ctx, "three-body").status().message();
  };
  EXPECT_EQ(err("{ssh: three-body, paths: [/volume1, \"/volume1/My Files\"]}"),
            "c.yaml:1: host 'three-body': remote_filesystems: path '/volume1/My Files' contains a "
            "space; ssh hands paths to the remote shell, so only letters, digits and /._-+,@%:= "
            "are allowed");
  EXPECT_EQ(err("{ssh: three-body,\n paths: [/volume1,\n  \"/x;reboot\"]}"),
            "c.yaml:3: host 'three-body': remote_filesystems: path '/x;reboot' contains ';'; ssh "
            "hands paths to the remote shell, so only letters, digits and /._-+,@%:= are allowed");
  for (const char* bad : {"$(id)", "a`b`", "x|y", "a&b", "a>b", "*", "a'b", "a\\\"b", "a\\tb"}) {
    EXPECT_THAT(err(std::string("{ssh: nas, paths: [\"/") + bad + "\"]}"),
                HasSubstr("ssh hands paths to the remote shell"))
        << bad;
  }
  EXPECT_EQ(err("{ssh: three-body, paths: [volume1]}"),
            "c.yaml:1: host 'three-body': remote_filesystems: path 'volume1' is not an absolute "
            "path");
  EXPECT_EQ(err("{ssh: three-body, paths: [/a, /a]}"),
            "c.yaml:1: host 'three-body': remote_filesystems: path '/a' is listed twice");
  EXPECT_EQ(err("{ssh: three-body, paths: []}"),
            "c.yaml:1: host 'three-body': remote_filesystems: paths is empty");
  EXPECT_EQ(err("{ssh: three-body}"), "c.yaml:1: host 'three-body': remote_filesystems has no paths");
  EXPECT_EQ(err("{paths: [/]}"), "c.yaml:1: host 'three-body': remote_filesystems has no ssh");
  EXPECT_THAT(err("{ssh: -oProxyCommand=x, paths: [/]}"), HasSubstr("must not start with '-'"));
  EXPECT_THAT(err("{ssh: nas, user: -x, paths: [/]}"), HasSubstr("user '-x' must not"));
  EXPECT_THAT(err("{ssh: nas, port: 70000, paths: [/]}"), HasSubstr("port must be between 1"));
  EXPECT_THAT(err("{ssh: nas, paths: [/], extra: 1}"), HasSubstr("extra"));
  EXPECT_TRUE(ParseRemoteFilesystemCollector(
                  YAML::Load("{ssh: nas, paths: [/volume1/@appstore, /volume1/a_b-c.d+e]}"), ctx,
                  "three-body")
                  .ok());
}

// The sshd test server accepts the client key for the current user (root on
// the test machines).
std::string CurrentUser() {
  const struct passwd* pw = getpwuid(getuid());
  return pw != nullptr ? pw->pw_name : "root";
}

TEST(RemoteFilesystemCollectorRealTest, ReadsDfOverRealSshConsistentWithStatvfs) {
  testing::TempDir dir;
  auto sshd = testing::StartSshd(dir);
  ASSERT_TRUE(sshd.ok()) << sshd.status().message();
  const testing::SshdServer& server = **sshd;
  ConfigContext cfg("c.yaml");
  cfg.SetCommand("ssh", {"ssh", "-F", "/dev/null", "-o",
                         "UserKnownHostsFile=" + server.known_hosts_path, "-o",
                         "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes"});
  const std::string yaml = "{ssh: 127.0.0.1, paths: [/, " + dir.path() + "], user: " +
                           CurrentUser() + ", port: " + std::to_string(server.port) +
                           ", identity_file: " + server.client_key_path + "}";
  auto collector = MakeCollector(yaml, cfg);
  ASSERT_NE(collector, nullptr);
  Env* env = Env::Default();
  CollectContext ctx{std::chrono::steady_clock::now() + std::chrono::seconds(10), nullptr, env};
  CollectOutput out;
  Status s = collector->Collect(ctx, &out);
  ASSERT_TRUE(s.ok()) << s.message() << "\nsshd log:\n" << server.process->Log();
  for (const std::string& path : {std::string("/"), dir.path()}) {
    auto local = env->StatFs(path);
    ASSERT_TRUE(local.ok()) << local.status().message();
    double size = -1, avail = -1;
    ASSERT_TRUE(out.metrics.Find("joelclaw_filesystem_size_bytes",
                                 {{"host", "three-body"}, {"mountpoint", path}}, &size))
        << path;
    ASSERT_TRUE(out.metrics.Find("joelclaw_filesystem_avail_bytes",
                                 {{"host", "three-body"}, {"mountpoint", path}}, &avail))
        << path;
    EXPECT_GT(size, 0) << path;
    EXPECT_GT(avail, 0) << path;
    const double local_size = static_cast<double>(local->size_bytes);
    const double local_avail = static_cast<double>(local->avail_bytes);
    EXPECT_LE(std::fabs(size - local_size), 0.05 * local_size) << path;
    EXPECT_LE(std::fabs(avail - local_avail), 0.05 * local_avail) << path;
  }
}

TEST(RemoteFilesystemCollectorRealTest, SilentListenerIsACollectorErrorWithinTheTimeout) {
  testing::ScriptedServer silent({});  // Accepts, never speaks.
  ConfigContext cfg("c.yaml");
  cfg.SetCommand("ssh", {"ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=yes", "-o",
                         "UserKnownHostsFile=/dev/null"});
  auto collector = MakeCollector(
      "{ssh: 127.0.0.1, paths: [/], port: " + std::to_string(silent.port()) + "}", cfg);
  ASSERT_NE(collector, nullptr);
  const auto timeout = std::chrono::seconds(2);
  const auto start = std::chrono::steady_clock::now();
  CollectContext ctx{start + timeout, nullptr, Env::Default()};
  CollectOutput out;
  Status s = collector->Collect(ctx, &out);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), StartsWith("ssh to 127.0.0.1 failed: "));
  EXPECT_LT(took, timeout + std::chrono::seconds(2));
  EXPECT_GE(silent.connections(), 1);
}

}  // namespace remote_filesystem_collector_test
}  // namespace joelclaw
