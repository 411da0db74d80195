// The crash-loop story end to end: the real binary runs a fake `launchctl`
// (tests/testdata/launchd/fake-launchctl) whose worker PID changes on every
// call, and /metrics must show the restart counter rise, then hold once the
// job is stable. The alert side is proven by rules/tests (promtool).
#include <signal.h>
#include <sys/wait.h>

#include <regex>

#include "gtest/gtest.h"
#include "tests/support/test_util.h"

namespace joelclaw::testing {
namespace e2e_launchd_test {

// -1 stands for "no such sample".
double SampleValue(const std::string& metrics, const std::string& series) {
  return MetricSample(metrics, series).value_or(-1);
}

TEST(LaunchdEndToEndTest, RestartCountRisesWhilePidsChange) {
  TempDir dir;
  int port = FreePort();
  const std::string config = dir.File("config.yaml");
  WriteFileOrDie(config,
                 "defaults: {interval: 1s, timeout: 800ms}\n"
                 "hosts:\n"
                 "  panda:\n"
                 "    launchd: {jobs: [com.joel.system-bus-worker, com.joel.caddy, "
                 "com.joel.vault-log-sync]}\n"
                 "commands:\n"
                 "  launchctl: [" + TestData("launchd/fake-launchctl") + ", " + dir.path() +
                     ", list]\n");
  Subprocess exporter({ExporterBinary(), "--config.file=" + config,
                       "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                      dir.File("exporter.log"));
  ASSERT_TRUE(WaitFor([&] { return HttpGet("http://127.0.0.1:" + std::to_string(port) +
                                           "/-/ready").status == 200; },
                      std::chrono::seconds(10)))
      << exporter.Log();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
  const std::string worker =
      "joelclaw_launchd_job_restarts_total{host=\"panda\",label=\"com.joel.system-bus-worker\"}";
  std::string metrics;
  ASSERT_TRUE(WaitFor(
      [&] {
        metrics = HttpGet(url).body;
        return SampleValue(metrics, worker) >= 3;
      },
      std::chrono::seconds(15)))
      << metrics;
  EXPECT_EQ(SampleValue(metrics, "joelclaw_launchd_job_restarts_total{host=\"panda\",label="
                                 "\"com.joel.caddy\"}"),
            0);
  EXPECT_EQ(SampleValue(metrics, "joelclaw_launchd_job_present{host=\"panda\",label="
                                 "\"com.joel.vault-log-sync\"}"),
            0);
  EXPECT_EQ(SampleValue(metrics, "joelclaw_launchd_job_last_exit_status{host=\"panda\",label="
                                 "\"com.joel.system-bus-worker\"}"),
            -9);
  EXPECT_EQ(SampleValue(metrics, "joelclaw_collector_success{collector=\"launchd\",host=\"panda\"}"),
            1);

  // The job settles: the counter stops rising.
  WriteFileOrDie(dir.File("stable"), "");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  double settled = SampleValue(HttpGet(url).body, worker);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(SampleValue(HttpGet(url).body, worker), settled);

  // launchctl breaking is a collector failure, not a crash.
  WriteFileOrDie(config,
                 "defaults: {interval: 1s, timeout: 800ms}\n"
                 "hosts:\n"
                 "  panda:\n"
                 "    launchd: {jobs: [com.joel.system-bus-worker]}\n"
                 "commands:\n"
                 "  launchctl: [" + dir.File("no-such-launchctl") + ", list]\n");
  exporter.Signal(SIGHUP);
  ASSERT_TRUE(WaitFor(
      [&] {
        metrics = HttpGet(url).body;
        return SampleValue(metrics, "joelclaw_collector_success{collector=\"launchd\",host=\"panda\"}") == 0;
      },
      std::chrono::seconds(10)))
      << metrics;
  // Without launchctl there is nothing to report for the job.
  EXPECT_EQ(SampleValue(metrics, worker), -1);
  EXPECT_TRUE(exporter.Running());

  // launchctl comes back: the counter carries on from where it was (state
  // is handed over through both reloads), it does not restart at 0.
  WriteFileOrDie(config,
                 "defaults: {interval: 1s, timeout: 800ms}\n"
                 "hosts:\n"
                 "  panda:\n"
                 "    launchd: {jobs: [com.joel.system-bus-worker]}\n"
                 "commands:\n"
                 "  launchctl: [" + TestData("launchd/fake-launchctl") + ", " + dir.path() +
                     ", list]\n");
  exporter.Signal(SIGHUP);
  ASSERT_TRUE(WaitFor(
      [&] {
        metrics = HttpGet(url).body;
        return SampleValue(metrics, worker) >= 0;
      },
      std::chrono::seconds(10)))
      << metrics;
  EXPECT_EQ(SampleValue(metrics, worker), settled);
}

}  // namespace e2e_launchd_test
}  // namespace joelclaw::testing
