// The crash-loop story end to end: the real binary runs a fake `launchctl`
// (tests/testdata/launchd/fake-launchctl) whose worker PID changes on every
// call, and /metrics must show the restart counter rise, then hold once the
// job is stable. The alert side is proven by rules/tests (promtool).
#include <signal.h>
#include <sys/wait.h>

#include <regex>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/monitoring.h"
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

// Job kinds from `launchctl print` through the real binary: a KeepAlive
// worker crash-looping, a StartInterval job idle between runs, a WatchPaths
// job waiting, and a job whose kind only the config gives. /metrics carries
// the kind state set, the interval, the last run and launchd's run counter,
// and promtool accepts it.
TEST(LaunchdEndToEndTest, JobKindsFromPrintReachMetricsAndStatus) {
  TempDir dir;
  int port = FreePort();
  RunCommand({"mkdir", "-p", dir.File("print")});
  std::string worker = ReadFileOrDie(TestData("launchd/print-worker.txt"));
  worker.replace(worker.find("runs = 17"), 9, "runs = @COUNT@");
  worker.replace(worker.find("pid = 4188"), 10, "pid = @PID@");
  WriteFileOrDie(dir.File("print/com.joel.system-bus-worker"), worker);
  WriteFileOrDie(dir.File("print/com.joel.vault-log-sync"),
                 ReadFileOrDie(TestData("launchd/print-periodic-idle.txt")));
  WriteFileOrDie(dir.File("print/com.joel.adr-sync-watcher"),
                 ReadFileOrDie(TestData("launchd/print-watchpaths.txt")));
  // print says caddy is on demand; the config's kind: keepalive wins.
  WriteFileOrDie(dir.File("print/com.joel.caddy"),
                 ReadFileOrDie(TestData("launchd/print-never-exited.txt")));
  WriteFileOrDie(dir.File("list-extra"),
                 "-\t0\tcom.joel.vault-log-sync\n-\t0\tcom.joel.adr-sync-watcher\n");
  const std::string fake = TestData("launchd/fake-launchctl");
  const std::string config = dir.File("config.yaml");
  WriteFileOrDie(config,
                 "defaults: {interval: 1s, timeout: 800ms}\n"
                 "hosts:\n"
                 "  panda:\n"
                 "    launchd:\n"
                 "      domain: gui/501\n"
                 "      jobs:\n"
                 "        - com.joel.system-bus-worker\n"
                 "        - com.joel.vault-log-sync\n"
                 "        - {label: com.joel.adr-sync-watcher, description: ADR index sync}\n"
                 "        - {label: com.joel.caddy, kind: keepalive, description: TLS proxy}\n"
                 "commands:\n"
                 "  launchctl: [" +
                     fake + ", " + dir.path() +
                     ", list]\n"
                     "  launchctl_print: [" +
                     fake + ", " + dir.path() + ", print]\n");
  Subprocess exporter({ExporterBinary(), "--config.file=" + config,
                       "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                      dir.File("exporter.log"));
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  // Two rounds, so that the worker's run counter has moved once.
  std::string metrics;
  const std::string worker_runs =
      "joelclaw_launchd_job_runs_total{host=\"panda\",label=\"com.joel.system-bus-worker\"}";
  ASSERT_TRUE(WaitFor(
      [&] {
        metrics = HttpGet(base + "/metrics").body;
        return SampleValue(metrics, worker_runs) >= 2;
      },
      std::chrono::seconds(10)))
      << metrics << exporter.Log();
  auto kind = [&](const std::string& label, const std::string& k) {
    return SampleValue(metrics, "joelclaw_launchd_job_kind{host=\"panda\",label=\"" + label +
                                    "\",kind=\"" + k + "\"}");
  };
  EXPECT_EQ(kind("com.joel.system-bus-worker", "keepalive"), 1);
  EXPECT_EQ(kind("com.joel.system-bus-worker", "periodic"), 0);
  EXPECT_EQ(kind("com.joel.vault-log-sync", "periodic"), 1);
  EXPECT_EQ(kind("com.joel.adr-sync-watcher", "on_demand"), 1);
  EXPECT_EQ(kind("com.joel.caddy", "keepalive"), 1);
  EXPECT_EQ(kind("com.joel.caddy", "on_demand"), 0);
  EXPECT_EQ(SampleValue(metrics,
                        "joelclaw_launchd_job_run_interval_seconds{host=\"panda\","
                        "label=\"com.joel.vault-log-sync\"}"),
            300);
  EXPECT_EQ(SampleValue(metrics,
                        "joelclaw_launchd_job_runs_total{host=\"panda\","
                        "label=\"com.joel.vault-log-sync\"}"),
            12);
  EXPECT_GT(SampleValue(metrics,
                        "joelclaw_launchd_job_last_run_timestamp_seconds{host=\"panda\","
                        "label=\"com.joel.adr-sync-watcher\"}"),
            1.6e9);
  EXPECT_EQ(
      SampleValue(metrics, "joelclaw_collector_success{collector=\"launchd\",host=\"panda\"}"), 1);
  ExpectPromtoolAcceptsMetrics(dir, metrics);

  const nlohmann::json status = nlohmann::json::parse(HttpGet(base + "/api/v1/status").body);
  const nlohmann::json& jobs = status["hosts"][0]["collectors"][0]["details"]["jobs"];
  ASSERT_EQ(jobs.size(), 4u) << status.dump(2);
  EXPECT_EQ(jobs[1]["kind"], "periodic");
  EXPECT_EQ(jobs[1]["run_interval_seconds"], 300);
  EXPECT_EQ(jobs[2]["description"], "ADR index sync");
  EXPECT_GE(jobs[0]["recent_restarts"].get<double>(), 1);
  EXPECT_TRUE(jobs[0]["last_run"].is_number());
}

}  // namespace e2e_launchd_test
}  // namespace joelclaw::testing
