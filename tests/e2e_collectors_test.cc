// The host-side collectors through the real binary and /metrics: systemd
// (fake systemctl printing a real-shaped fixture), Tailscale (the fixture
// JSON through `cat`), host resources and local filesystems. One collector
// breaking must show as joelclaw_collector_success 0 while the others keep
// reporting, and the exposition must pass promtool.
#include <signal.h>

#include "gtest/gtest.h"
#include "tests/support/exporter_process.h"
#include "tests/support/monitoring.h"
#include "tests/support/test_util.h"

namespace joelclaw::testing {
namespace e2e_collectors_test {

// -1 stands for "no such sample".
double Value(const std::string& metrics, const std::string& series) {
  return MetricSample(metrics, series).value_or(-1);
}

std::string Config(const std::string& systemctl_fixture) {
  return "defaults: {interval: 1s, timeout: 800ms}\n"
         "hosts:\n"
         "  clanker-001:\n"
         "    resources: true\n"
         "    filesystems: [\"/\"]\n"
         "    systemd: {units: [pdf-brain.service, pdf-brain-indexer.service, "
         "typesense.service, ollama.service]}\n"
         "tailscale: {enabled: true, always_on: [panda, three-body]}\n"
         "commands:\n"
         "  systemctl: [" + TestData("systemd/fake-systemctl") + ", " + systemctl_fixture + "]\n"
         "  tailscale: [cat, " + TestData("tailscale/status-running.json") + "]\n";
}

TEST(CollectorsEndToEndTest, SystemdTailscaleHostThroughMetrics) {
  TempDir dir;
  const std::string config = dir.File("config.yaml");
  WriteFileOrDie(config, Config(TestData("systemd/show-clanker.txt")));
  ExporterProcess exporter(dir, {"--config.file=" + config});
  exporter.SetEnv("JOELCLAW_HOST", "clanker-001");
  ASSERT_TRUE(exporter.Start() && exporter.WaitReady()) << exporter.Log();
  const std::string base = exporter.Url("");
  std::string m = HttpGet(base + "/metrics").body;

  EXPECT_EQ(Value(m, "joelclaw_systemd_unit_active{host=\"clanker-001\",unit=\"pdf-brain.service\"}"), 1);
  EXPECT_EQ(Value(m, "joelclaw_systemd_unit_state{host=\"clanker-001\",unit=\"pdf-brain-indexer.service\",state=\"failed\"}"), 1);
  EXPECT_EQ(Value(m, "joelclaw_systemd_unit_state{host=\"clanker-001\",unit=\"pdf-brain-indexer.service\",state=\"active\"}"), 0);
  EXPECT_EQ(Value(m, "joelclaw_systemd_unit_restarts_total{host=\"clanker-001\",unit=\"pdf-brain-indexer.service\"}"), 5);
  EXPECT_EQ(Value(m, "joelclaw_tailscale_peer_online{peer=\"three-body\"}"), 0);
  EXPECT_EQ(Value(m, "joelclaw_tailscale_peer_online{peer=\"clanker-001\"}"), 1);
  EXPECT_EQ(Value(m, "joelclaw_tailscale_peer_always_on{peer=\"three-body\"}"), 1);
  EXPECT_GT(Value(m, "joelclaw_host_memory_total_bytes{host=\"clanker-001\"}"), 0);
  EXPECT_GT(Value(m, "joelclaw_filesystem_size_bytes{host=\"clanker-001\",mountpoint=\"/\"}"), 0);
  // The tailscale collector's host is the exporter's machine: the
  // JOELCLAW_HOST the test set (see LocalHostName()).
  for (const char* c : {"systemd\",host=\"clanker-001", "tailscale\",host=\"clanker-001",
                        "host\",host=\"clanker-001", "filesystem\",host=\"clanker-001"}) {
    EXPECT_EQ(Value(m, std::string("joelclaw_collector_success{collector=\"") + c + "\"}"), 1) << c;
  }

  // promtool accepts the exposition of every collector.
  ExpectPromtoolAcceptsMetrics(dir, m);

  // systemctl breaks: only the systemd collector reports failure; the
  // others keep reporting fresh values.
  WriteFileOrDie(config, Config(dir.File("missing-fixture.txt")));
  exporter.process().Signal(SIGHUP);
  ASSERT_TRUE(WaitFor(
      [&] {
        m = HttpGet(base + "/metrics").body;
        return Value(m, "joelclaw_collector_success{collector=\"systemd\",host=\"clanker-001\"}") == 0;
      },
      std::chrono::seconds(10)))
      << m;
  EXPECT_EQ(Value(m, "joelclaw_collector_success{collector=\"tailscale\",host=\"clanker-001\"}"),
            1);
  EXPECT_EQ(Value(m, "joelclaw_collector_success{collector=\"host\",host=\"clanker-001\"}"), 1);
  EXPECT_EQ(Value(m, "joelclaw_tailscale_peer_online{peer=\"clanker-001\"}"), 1);
  const std::string status = HttpGet(base + "/api/v1/status").body;
  EXPECT_NE(status.find("\"state\":\"failed\""), std::string::npos) << status;
  EXPECT_TRUE(exporter.process().Running());
}

}  // namespace e2e_collectors_test
}  // namespace joelclaw::testing
