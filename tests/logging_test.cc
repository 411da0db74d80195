#include "exporter/logging.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "gtest/gtest.h"
#include "spdlog/spdlog.h"
#include "tests/support/log_capture.h"
#include "tests/support/test_util.h"

namespace joelclaw {
namespace logging_test {

using testing::LogCapture;
using testing::ReadFileOrDie;
using testing::TempDir;

TEST(LoggingTest, LogCarriesFieldsAndPlainSpdlogCallsDoNot) {
  LogCapture capture;
  Log(spdlog::level::warn, "check is down", {{"host", "panda"}, {"target", "redis"}});
  spdlog::info("plain {} call", "spdlog");
  Log(spdlog::level::debug, "quiet");
  const auto lines = capture.Lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["level"], "warn");
  EXPECT_EQ(lines[0]["msg"], "check is down");
  EXPECT_EQ(lines[0]["host"], "panda");
  EXPECT_EQ(lines[0]["target"], "redis");
  EXPECT_TRUE(lines[0].contains("ts"));
  // The fields of one call do not leak into the next line.
  EXPECT_EQ(lines[1]["msg"], "plain spdlog call");
  EXPECT_FALSE(lines[1].contains("host"));
  EXPECT_EQ(lines[2]["level"], "debug");
}

TEST(LoggingTest, BracesInAMessageAreNotFormatted) {
  LogCapture capture;
  Log(spdlog::level::info, "a {} b {0} c");
  ASSERT_EQ(capture.Lines().size(), 1u);
  EXPECT_EQ(capture.Lines()[0]["msg"], "a {} b {0} c");
}

TEST(LoggingTest, LogEachLineGivesOneLinePerProblem) {
  LogCapture capture;
  LogEachLine(spdlog::level::err, "cannot start the exporter", "err",
              "a.yaml:1: one\na.yaml:4: two\n\na.yaml:9: three\n");
  const auto lines = capture.Lines("error", "cannot start the exporter");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["err"], "a.yaml:1: one");
  EXPECT_EQ(lines[1]["err"], "a.yaml:4: two");
  EXPECT_EQ(lines[2]["err"], "a.yaml:9: three");
}

TEST(LoggingTest, LevelNamesAreThoseOfPrometheusExporters) {
  EXPECT_EQ(LogLevelName(spdlog::level::trace), "debug");
  EXPECT_EQ(LogLevelName(spdlog::level::debug), "debug");
  EXPECT_EQ(LogLevelName(spdlog::level::info), "info");
  EXPECT_EQ(LogLevelName(spdlog::level::warn), "warn");
  EXPECT_EQ(LogLevelName(spdlog::level::err), "error");
  EXPECT_EQ(LogLevelName(spdlog::level::critical), "error");
}

// newsyslog's rotation: the file is renamed to .0 and a fresh one is made
// under the old name; the writer must follow the name.
TEST(LoggingTest, ReopenerFollowsARenamedLogFile) {
  TempDir dir;
  const std::string log = dir.File("exporter.log");
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  LogFileReopener reopener(fd);
  ASSERT_TRUE(reopener.active());
  EXPECT_EQ(reopener.path(), log);
  EXPECT_FALSE(reopener.MaybeReopen());  // Same file: nothing to do.
  ASSERT_EQ(write(fd, "before\n", 7), 7);

  ASSERT_EQ(std::rename(log.c_str(), (log + ".0").c_str()), 0);
  testing::WriteFileOrDie(log, "");
  EXPECT_TRUE(reopener.MaybeReopen());
  ASSERT_EQ(write(fd, "after\n", 6), 6);
  EXPECT_FALSE(reopener.MaybeReopen());

  // Removed outright: the name is created again.
  ASSERT_EQ(unlink(log.c_str()), 0);
  EXPECT_TRUE(reopener.MaybeReopen());
  ASSERT_EQ(write(fd, "again\n", 6), 6);
  close(fd);
  EXPECT_EQ(ReadFileOrDie(log + ".0"), "before\n");
  EXPECT_EQ(ReadFileOrDie(log), "again\n");
}

TEST(LoggingTest, ReopenerIsInactiveOnAPipe) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  LogFileReopener reopener(fds[1]);
  EXPECT_FALSE(reopener.active());
  EXPECT_FALSE(reopener.MaybeReopen());
  close(fds[0]);
  close(fds[1]);
}

}  // namespace logging_test
}  // namespace joelclaw
