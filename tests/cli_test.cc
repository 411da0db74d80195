#include "exporter/cli.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "exporter/version.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/test_util.h"

extern char** environ;

namespace joelclaw {
namespace cli_test {

using testing::ExporterBinary;
using testing::ReadFileOrDie;
using testing::TempDir;
using testing::TestData;

// ---- ParseServeFlags -------------------------------------------------------

struct Parsed {
  bool ok;
  ServeFlags flags;
  std::string error;
};

Parsed Parse(const std::vector<std::string>& args) {
  Parsed p;
  p.ok = ParseServeFlags(args, &p.flags, &p.error);
  return p;
}

TEST(CliFlagsTest, DefaultsWithNoFlags) {
  Parsed p = Parse({});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.flags.config_file, "");
  EXPECT_EQ(p.flags.listen_address, ":10042");
  EXPECT_EQ(p.flags.web_config_file, "");
  EXPECT_EQ(p.flags.log_level, "info");
  EXPECT_FALSE(p.flags.config_check);
  EXPECT_EQ(p.flags.max_workers, 256);
  EXPECT_EQ(p.flags.log_format, "logfmt");
  EXPECT_EQ(p.flags.telemetry_path, "/metrics");
}

TEST(CliFlagsTest, LogFormatAndTelemetryPath) {
  Parsed p = Parse({"--log.format=json", "--web.telemetry-path", "/prom/metrics"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.flags.log_format, "json");
  EXPECT_EQ(p.flags.telemetry_path, "/prom/metrics");
  p = Parse({"--log.format=text"});
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.error, "--log.format must be logfmt or json");
  for (const char* bad : {"metrics", "", "/a b", "/m?x=1"}) {
    SCOPED_TRACE(bad);
    p = Parse({std::string("--web.telemetry-path=") + bad});
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error, std::string("--web.telemetry-path must be an absolute URL path such as "
                                   "/metrics, not '") + bad + "'");
  }
  for (const char* taken : {"/", "/-/healthy", "/api/v1/status", "/alertmanager"}) {
    SCOPED_TRACE(taken);
    p = Parse({std::string("--web.telemetry-path=") + taken});
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error, std::string("--web.telemetry-path ") + taken +
                           " is taken by another endpoint of the exporter");
  }
}

TEST(CliFlagsTest, ListenAddressSyntaxIsCheckedWithTheFlags) {
  for (const char* good : {":10042", "127.0.0.1:0", "0.0.0.0:65535", "[::1]:10042", "[::]:1",
                           "panda.example.ts.net:10042", "localhost:9"}) {
    EXPECT_TRUE(CheckListenAddress(good).ok()) << good << ": " << CheckListenAddress(good).message();
    EXPECT_TRUE(Parse({std::string("--web.listen-address=") + good}).ok) << good;
  }
  const std::pair<const char*, const char*> bad[] = {
      {"10042", "has no port; use HOST:PORT or :PORT"},
      {"", "has no port; use HOST:PORT or :PORT"},
      {":", "has an invalid port '' (want 0-65535)"},
      {":http", "has an invalid port 'http' (want 0-65535)"},
      {"127.0.0.1:65536", "has an invalid port '65536' (want 0-65535)"},
      {"127.0.0.1:-1", "has an invalid port '-1' (want 0-65535)"},
      {"::1:10042", "has an IPv6 host without brackets; use [::1]:PORT"},
      {"[::1]10042", "must be [IPv6]:PORT when it starts with '['"},
      {"[]:10042", "has no IPv6 address between the brackets"},
      {"my host:10042", "has an invalid host 'my host'"},
      {"http://127.0.0.1:10042", "is a URL; use HOST:PORT or :PORT"},
      {"127.0.0.1/24:10042", "has an invalid host '127.0.0.1/24'"},
  };
  for (const auto& [address, why] : bad) {
    SCOPED_TRACE(address);
    Parsed p = Parse({std::string("--web.listen-address=") + address});
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error, std::string("--web.listen-address '") + address + "' " + why);
  }
}

TEST(CliFlagsTest, EqualsForm) {
  Parsed p = Parse({"--config.file=/etc/joelclaw.yaml", "--web.listen-address=127.0.0.1:10100",
                    "--web.config.file=web.yml", "--log.level=debug",
                    "--checks.max-concurrency=8", "--config.check"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.flags.config_file, "/etc/joelclaw.yaml");
  EXPECT_EQ(p.flags.listen_address, "127.0.0.1:10100");
  EXPECT_EQ(p.flags.web_config_file, "web.yml");
  EXPECT_EQ(p.flags.log_level, "debug");
  EXPECT_EQ(p.flags.max_workers, 8);
  EXPECT_TRUE(p.flags.config_check);
}

TEST(CliFlagsTest, SpaceForm) {
  Parsed p = Parse({"--config.file", "/etc/joelclaw.yaml", "--web.listen-address", ":10101",
                    "--web.config.file", "web.yml", "--log.level", "warn",
                    "--checks.max-concurrency", "4096"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.flags.config_file, "/etc/joelclaw.yaml");
  EXPECT_EQ(p.flags.listen_address, ":10101");
  EXPECT_EQ(p.flags.web_config_file, "web.yml");
  EXPECT_EQ(p.flags.log_level, "warn");
  EXPECT_EQ(p.flags.max_workers, 4096);
}

TEST(CliFlagsTest, ValueMayContainEqualsAndLaterFlagsWin) {
  Parsed p = Parse({"--config.file=a=b.yaml", "--log.level=error", "--log.level", "info"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.flags.config_file, "a=b.yaml");
  EXPECT_EQ(p.flags.log_level, "info");
}

TEST(CliFlagsTest, UnknownFlagIsNamed) {
  Parsed p = Parse({"--config.file=x.yaml", "--web.listen=:1"});
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.error, "unknown flag or argument '--web.listen=:1'");
  p = Parse({"stray"});
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.error, "unknown flag or argument 'stray'");
  // Single-dash spellings are not accepted either.
  p = Parse({"-config.file=x.yaml"});
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.error, "unknown flag or argument '-config.file=x.yaml'");
}

TEST(CliFlagsTest, MissingValueIsNamed) {
  for (const char* flag : {"--config.file", "--web.listen-address", "--web.config.file",
                           "--log.level", "--log.format", "--web.telemetry-path",
                           "--checks.max-concurrency"}) {
    SCOPED_TRACE(flag);
    Parsed p = Parse({"--config.check", flag});
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error, std::string("flag ") + flag + " needs a value");
  }
}

TEST(CliFlagsTest, ConfigCheckTakesNoValue) {
  Parsed p = Parse({"--config.check=true"});
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.error, "--config.check takes no value");
}

TEST(CliFlagsTest, LogLevelMustBeKnown) {
  for (const char* level : {"debug", "info", "warn", "error"}) {
    EXPECT_TRUE(Parse({std::string("--log.level=") + level}).ok) << level;
  }
  for (const char* level : {"trace", "INFO", "warning", ""}) {
    SCOPED_TRACE(level);
    Parsed p = Parse({std::string("--log.level=") + level});
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error, "--log.level must be debug, info, warn or error");
  }
}

TEST(CliFlagsTest, MaxConcurrencyBounds) {
  EXPECT_EQ(Parse({"--checks.max-concurrency=1"}).flags.max_workers, 1);
  EXPECT_EQ(Parse({"--checks.max-concurrency=4096"}).flags.max_workers, 4096);
  for (const char* v : {"0", "4097", "-1", "", "ten", "8x", "99999999999999999999"}) {
    SCOPED_TRACE(v);
    Parsed p = Parse({std::string("--checks.max-concurrency=") + v});
    EXPECT_FALSE(p.ok);
    EXPECT_EQ(p.error, "--checks.max-concurrency must be between 1 and 4096");
  }
}

TEST(CliFlagsTest, WebServerLimits) {
  Parsed d = Parse({});
  EXPECT_EQ(d.flags.max_connections, 2048);
  EXPECT_EQ(d.flags.read_header_timeout, Duration(10000));
  Parsed p = Parse({"--web.max-connections=1000", "--web.read-header-timeout", "2s"});
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.flags.max_connections, 1000);
  EXPECT_EQ(p.flags.read_header_timeout, Duration(2000));
  for (const char* v : {"0", "-1", "lots", "1000001"}) {
    Parsed bad = Parse({std::string("--web.max-connections=") + v});
    EXPECT_FALSE(bad.ok) << v;
    EXPECT_EQ(bad.error, "--web.max-connections must be between 1 and 1000000");
  }
  for (const char* v : {"10", "0s", "soon"}) {
    Parsed bad = Parse({std::string("--web.read-header-timeout=") + v});
    EXPECT_FALSE(bad.ok) << v;
    EXPECT_EQ(bad.error, "--web.read-header-timeout must be a duration such as 10s");
  }
}

// ---- The real binary -------------------------------------------------------

struct RunOutput {
  int exit_code = -1;  ///< -1 when it did not exit normally in time.
  std::string out, err;
};

// Runs the built exporter with `args`, stdout and stderr kept apart. Kills
// it after `timeout`.
RunOutput RunExporter(const std::vector<std::string>& args,
                std::chrono::seconds timeout = std::chrono::seconds(30)) {
  TempDir dir;
  const std::string out_path = dir.File("stdout"), err_path = dir.File("stderr");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  const int flags = O_WRONLY | O_CREAT | O_TRUNC;
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), flags, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), flags, 0644);
  std::vector<std::string> argv = {ExporterBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  RunOutput run;
  pid_t pid = -1;
  int rc = posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    run.err = "cannot start " + argv[0];
    return run;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  bool exited = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  } else if (WIFEXITED(status)) {
    run.exit_code = WEXITSTATUS(status);
  }
  run.out = ReadFileOrDie(out_path);
  run.err = ReadFileOrDie(err_path);
  return run;
}

TEST(CliBinaryTest, ConfigCheckOnValidFile) {
  const std::string path = TestData("config/valid-full.yaml");
  RunOutput r = RunExporter({"--config.file=" + path, "--config.check"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, path + ": OK (3 hosts, 9 checks, 2 collectors)\n");
  EXPECT_EQ(r.err, "");
}

TEST(CliBinaryTest, ConfigCheckOnInvalidFile) {
  const std::string path = TestData("config/invalid-duplicate-check-name.yaml");
  RunOutput r = RunExporter({"--config.check", "--config.file", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, path + ":8: host 'panda' already has a check named 'redis' (line 4)\n");
}

TEST(CliBinaryTest, ConfigCheckOnMissingFile) {
  RunOutput r = RunExporter({"--config.check", "--config.file=/nonexistent/joelclaw.yaml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "cannot read config file /nonexistent/joelclaw.yaml: No such file or directory\n");
}

TEST(CliBinaryTest, ConfigCheckOnEmbeddedDefault) {
  RunOutput r = RunExporter({"--config.check"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_match(
      r.out, std::regex("<embedded>: OK \\(1 hosts, 0 checks, [0-9]+ collectors\\)\n")))
      << r.out;
}

TEST(CliBinaryTest, ConfigCheckAlsoChecksTheWebConfig) {
  TempDir dir;
  const std::string web = dir.File("web.yml");
  testing::WriteFileOrDie(web, "basic_auth_users:\n  joel: not-a-bcrypt-hash\n");
  RunOutput r = RunExporter({"--config.check", "--web.config.file=" + web});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind(web + ":", 0), 0u) << r.err;
}

TEST(CliBinaryTest, ConfigCheckWarnsAboutASpoolDirWithoutParent) {
  TempDir dir;
  testing::WriteFileOrDie(dir.File("token"), "t\n");
  testing::WriteFileOrDie(dir.File("key"), "k\n");
  const std::string path = dir.File("c.yaml");
  testing::WriteFileOrDie(path,
                          "hosts: {panda: {filesystems: [\"/\"]}}\n"
                          "bridge:\n"
                          "  token_file: token\n"
                          "  inngest: {url: \"http://127.0.0.1:8288\", event_key_file: key}\n"
                          "  spool_dir: missing/parent/spool\n");
  RunOutput r = RunExporter({"--config.check", "--config.file=" + path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "warning: " + path + ":5: bridge: spool_dir's parent directory " +
                       dir.File("missing/parent") + " does not exist; the exporter creates only " +
                       dir.File("missing/parent/spool") +
                       " itself, so /alertmanager will answer 503 until the parent is there\n");
}

TEST(CliBinaryTest, ServeSubcommandTakesTheSameFlags) {
  RunOutput r = RunExporter({"serve", "--config.check"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(": OK"), std::string::npos);
}

TEST(CliBinaryTest, BadFlagExitsTwoWithUsage) {
  RunOutput r = RunExporter({"--log.level=loud"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("joelclaw_exporter: --log.level must be debug, info, warn or error\n", 0),
            0u)
      << r.err;
  EXPECT_NE(r.err.find("usage: joelclaw_exporter"), std::string::npos);
}

// Three problems in three units of the file: all three, one a line, in
// file order.
TEST(CliBinaryTest, ConfigCheckReportsEveryProblemWithItsLine) {
  TempDir dir;
  const std::string path = dir.File("three.yaml");
  testing::WriteFileOrDie(path,
                          "defaults: {interval: 30, timeout: 5s}\n"
                          "hosts:\n"
                          "  panda:\n"
                          "    checks:\n"
                          "      - {name: redis, redis: {address: \"127.0.0.1\"}}\n"
                          "      - {name: ssh, ssh: {address: \"127.0.0.1:22\"}}\n"
                          "    filesystems: [relative]\n");
  RunOutput r = RunExporter({"--config.check", "--config.file=" + path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            path + ":1: defaults: interval: invalid duration '30': missing unit (use ms, s, m, h, "
                   "d or w)\n" +
                path + ":5: check 'redis': redis: address '127.0.0.1' has no port (want "
                       "host:port)\n" +
                path + ":7: host 'panda': filesystem 'relative' is not an absolute path\n");
}

TEST(CliBinaryTest, ConfigCheckReportsConfigAndWebConfigProblemsTogether) {
  TempDir dir;
  const std::string config = dir.File("bad.yaml"), web = dir.File("web.yml");
  testing::WriteFileOrDie(config, "hostz: {}\n");
  testing::WriteFileOrDie(web, "basic_auth_users:\n  joel: not-a-bcrypt-hash\n");
  RunOutput r = RunExporter({"--config.check", "--config.file=" + config, "--web.config.file=" + web});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind(config + ":1: unknown top-level key 'hostz'", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("\n" + web + ":2: "), std::string::npos) << r.err;
}

// Usage problems come before the config: a missing config file would exit
// 1, a bad flag exits 2 without reading it.
TEST(CliBinaryTest, BadListenAddressIsUsageErrorBeforeTheConfigLoads) {
  RunOutput r = RunExporter({"--config.file=/nonexistent/joelclaw.yaml",
                             "--web.listen-address=localhost"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("joelclaw_exporter: --web.listen-address 'localhost' has no port; use "
                        "HOST:PORT or :PORT\n\nusage: joelclaw_exporter",
                        0),
            0u)
      << r.err;
  EXPECT_EQ(r.err.find("nonexistent"), std::string::npos) << r.err;
}

// A config that fails at startup: each problem once, as a log line in the
// chosen format, exit 1.
TEST(CliBinaryTest, StartupErrorsAreLoggedOnceEachInTheLogFormat) {
  TempDir dir;
  const std::string path = dir.File("bad.yaml");
  testing::WriteFileOrDie(path, "hostz: {}\nhosts: {panda: {resources: 3}}\n");
  RunOutput r = RunExporter({"--config.file=" + path, "--log.format=json",
                             "--web.listen-address=127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  std::vector<nlohmann::json> lines;
  std::istringstream in(r.err);
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
    lines.push_back(j);
  }
  ASSERT_EQ(lines.size(), 2u) << r.err;
  for (const nlohmann::json& j : lines) {
    EXPECT_EQ(j["level"], "error");
    EXPECT_EQ(j["msg"], "cannot start the exporter");
    EXPECT_TRUE(j.contains("ts"));
  }
  EXPECT_EQ(lines[0]["err"].get<std::string>().rfind(path + ":1: unknown top-level key 'hostz'", 0),
            0u);
  EXPECT_EQ(lines[1]["err"], path + ":2: host 'panda': resources must be true or false, not '3'");
}

TEST(CliBinaryTest, VersionSubcommand) {
  RunOutput r = RunExporter({"version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out,
            std::string("joelclaw_exporter ") + kVersion + " (revision " + kRevision + ")\n");
  EXPECT_TRUE(std::regex_match(r.out, std::regex("joelclaw_exporter [0-9]+\\.[0-9]+\\.[0-9]+ "
                                                 "\\(revision ([0-9a-f]{12}|unknown)\\)\n")))
      << r.out;
  EXPECT_EQ(r.err, "");
  // --version is the same.
  EXPECT_EQ(RunExporter({"--version"}).out, r.out);
}

TEST(CliBinaryTest, UnknownSubcommandExitsTwo) {
  RunOutput r = RunExporter({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("joelclaw_exporter: unknown subcommand 'frobnicate'\n", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("usage: joelclaw_exporter"), std::string::npos);
}

TEST(CliBinaryTest, HelpListsSubcommands) {
  RunOutput r = RunExporter({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--config.check"), std::string::npos);
  EXPECT_NE(r.out.find("version"), std::string::npos);
}

}  // namespace cli_test
}  // namespace joelclaw
