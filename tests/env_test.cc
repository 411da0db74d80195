// The real Env's process handling: the child subreaper that kills and reaps
// what a command leaves behind after escaping its process group.
#include "exporter/env.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"

namespace joelclaw {
namespace env_test {

// Pids of live (not zombie) processes whose command line holds `marker`.
std::vector<pid_t> ProcessesWith(const std::string& marker) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (d == nullptr) return out;
  while (struct dirent* e = readdir(d)) {
    const pid_t pid = static_cast<pid_t>(atoi(e->d_name));
    if (pid <= 0) continue;
    std::ifstream cmd(std::string("/proc/") + e->d_name + "/cmdline");
    std::string line((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    std::replace(line.begin(), line.end(), '\0', ' ');  // Arguments are NUL-separated.
    std::ifstream stat(std::string("/proc/") + e->d_name + "/stat");
    std::string stat_line;
    std::getline(stat, stat_line);
    const size_t paren = stat_line.rfind(')');
    const char state = paren != std::string::npos && paren + 2 < stat_line.size()
                           ? stat_line[paren + 2]
                           : '?';
    if (line.find(marker) != std::string::npos && state != 'Z') out.push_back(pid);
  }
  closedir(d);
  return out;
}

// Zombie children of this process.
int Zombies() {
  int n = 0;
  DIR* d = opendir("/proc");
  while (struct dirent* e = readdir(d)) {
    if (atoi(e->d_name) <= 0) continue;
    std::ifstream stat(std::string("/proc/") + e->d_name + "/stat");
    std::string line;
    std::getline(stat, line);
    const size_t paren = line.rfind(')');
    if (paren == std::string::npos || paren + 4 >= line.size()) continue;
    std::istringstream rest(line.substr(paren + 2));
    char state;
    pid_t ppid;
    rest >> state >> ppid;
    if (state == 'Z' && ppid == getpid()) ++n;
  }
  closedir(d);
  return n;
}

// A grandchild that calls setsid() leaves the command's process group, so
// the group kill misses it; as a subreaper the exporter gets it back and
// kills it. Runs in a child process (a death test): becoming a subreaper
// would take over the test binary's own children.
TEST(EnvDeathTest, TheSubreaperKillsAndReapsWhatEscapedTheProcessGroup) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::mt19937_64 rng(std::random_device{}());
  // A unique sleep length marks the leftover process.
  const std::string marker = "30" + std::to_string(rng() % 1000000) + ".5";
  EXPECT_EXIT(
      {
        if (!EnableChildSubreaper().ok()) _exit(3);
        for (int i = 0; i < 3; ++i) {
          auto r = Env::Default()->Run(
              {"sh", "-c", "setsid sleep " + marker + " </dev/null >/dev/null 2>&1 & sleep 0.3; echo started"},
              std::chrono::seconds(5));
          if (!r.ok() || r->out != "started\n") _exit(4);
        }
        // The reaper looks once a second.
        for (int i = 0; i < 50; ++i) {
          if (ProcessesWith("sleep " + marker).empty() && Zombies() == 0) _exit(0);
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        _exit(ProcessesWith("sleep " + marker).empty() ? 6 : 5);
      },
      ::testing::ExitedWithCode(0), "");
  // Nothing left behind, whatever the child did.
  for (pid_t pid : ProcessesWith("sleep " + marker)) kill(pid, SIGKILL);
}

// Runs a command that starts `sleep MARKER` in the background (in a new
// session when `setsid`) and exits; returns the pids of such sleeps left
// 300 ms later, killing them.
std::vector<pid_t> LeftAfterRun(const std::string& marker, bool setsid) {
  auto r = Env::Default()->Run(
      {"sh", "-c",
       std::string(setsid ? "setsid " : "") + "sleep " + marker +
           " </dev/null >/dev/null 2>&1 & sleep 0.3; echo started"},
      std::chrono::seconds(5));
  EXPECT_TRUE(r.ok() && r->out == "started\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<pid_t> left = ProcessesWith("sleep " + marker);
  for (pid_t pid : left) kill(pid, SIGKILL);
  return left;
}

// Without the subreaper the leftover outlives the command: what the test
// above proves is the subreaper's work, not Run()'s group kill.
TEST(EnvTest, WithoutTheSubreaperASetsidGrandchildEscapes) {
  std::mt19937_64 rng(std::random_device{}());
  EXPECT_EQ(LeftAfterRun("31" + std::to_string(rng() % 1000000) + ".5", true).size(), 1u);
}

TEST(EnvTest, ABackgroundJobInTheGroupEndsWithItsCommand) {
  std::mt19937_64 rng(std::random_device{}());
  EXPECT_TRUE(LeftAfterRun("32" + std::to_string(rng() % 1000000) + ".5", false).empty());
}

}  // namespace env_test
}  // namespace joelclaw
