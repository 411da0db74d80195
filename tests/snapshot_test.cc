#include "exporter/snapshot.h"

#include "gtest/gtest.h"

namespace joelclaw {
namespace snapshot_test {

CheckState Done(const std::string& host, const std::string& name, bool ok) {
  CheckState c;
  c.host = host;
  c.name = name;
  c.kind = "http";
  c.target = "http://127.0.0.1:1/";
  c.has_result = true;
  c.runs = 1;
  c.last_run = 1700000000;
  c.last.success = ok;
  c.last.http_status = ok ? 200 : 503;
  if (!ok) {
    c.last.reason = FailureReason::kHttpStatus;
    c.last.message = "HTTP status 503";
    c.failures[5] = 1;  // kHttpStatus
    c.recent.push_back({1699999990, "timeout", "older"});
    c.recent.push_back({1700000000, "http_status", "HTTP status 503"});
  }
  return c;
}

TEST(SnapshotTest, EveryFailureReasonIsExportedFromTheFirstRun) {
  MetricSet m = BuildMetrics({Done("panda", "inngest", false)}, {}, ExporterInfo{});
  double v = -1;
  for (FailureReason r : kAllFailureReasons) {
    Labels l = {{"host", "panda"}, {"target", "inngest"}, {"kind", "http"},
                {"reason", std::string(ReasonName(r))}};
    ASSERT_TRUE(m.Find("joelclaw_probe_failures_total", l, &v)) << ReasonName(r);
    EXPECT_EQ(v, r == FailureReason::kHttpStatus ? 1 : 0) << ReasonName(r);
  }
  ASSERT_TRUE(m.Find("joelclaw_probe_success", {{"host", "panda"}, {"target", "inngest"},
                                                 {"kind", "http"}}, &v));
  EXPECT_EQ(v, 0);
  ASSERT_TRUE(m.Find("joelclaw_http_status_code", {{"host", "panda"}, {"target", "inngest"}}, &v));
  EXPECT_EQ(v, 503);
}

TEST(SnapshotTest, NoProbeSamplesBeforeTheFirstRun) {
  CheckState pending;
  pending.host = "panda";
  pending.name = "redis";
  pending.kind = "redis";
  MetricSet m = BuildMetrics({pending}, {}, ExporterInfo{});
  double v;
  EXPECT_FALSE(m.Find("joelclaw_probe_success", {{"host", "panda"}, {"target", "redis"},
                                                  {"kind", "redis"}}, &v));
  nlohmann::json status = BuildStatusJson({pending}, {}, ExporterInfo{});
  EXPECT_EQ(status["hosts"][0]["state"], "pending");
  EXPECT_EQ(status["hosts"][0]["checks"][0]["state"], "pending");
}

TEST(SnapshotTest, StatusGroupsByHostNewestFailureFirst) {
  ExporterInfo info;
  info.hosts = {"panda", "clanker-001", "three-body"};
  CollectorState fs;
  fs.host = "three-body";
  fs.name = "filesystem";
  fs.has_result = true;
  fs.success = false;
  fs.message = "ssh timed out";
  nlohmann::json s = BuildStatusJson(
      {Done("panda", "inngest", true), Done("clanker-001", "pdf-brain", false)}, {fs}, info);
  ASSERT_EQ(s["hosts"].size(), 3u);
  EXPECT_EQ(s["hosts"][0]["name"], "panda");
  EXPECT_EQ(s["hosts"][0]["state"], "healthy");
  EXPECT_EQ(s["hosts"][1]["state"], "degraded");
  EXPECT_EQ(s["hosts"][1]["checks"][0]["reason"], "http_status");
  EXPECT_EQ(s["hosts"][1]["checks"][0]["recent_failures"][0]["message"], "HTTP status 503");
  EXPECT_EQ(s["hosts"][1]["checks"][0]["recent_failures"][1]["message"], "older");
  EXPECT_EQ(s["hosts"][2]["state"], "degraded");
  EXPECT_EQ(s["hosts"][2]["collectors"][0]["message"], "ssh timed out");
  EXPECT_EQ(s["schema_version"], 1);
}

TEST(SnapshotTest, CheckInfoComesFromTheConfigBeforeAnyRun) {
  CheckState worker;  // Not run yet.
  worker.host = "panda";
  worker.name = "worker";
  worker.kind = "http";
  worker.service = "com.joel.system-bus-worker";
  worker.description = "Inngest functions";
  CheckState ssh = Done("three-body", "ssh", true);
  ssh.kind = "ssh";
  ssh.reachability = true;
  MetricSet m = BuildMetrics({worker, ssh}, {}, ExporterInfo{});
  double v = -1;
  EXPECT_TRUE(m.Find("joelclaw_check_info",
                     {{"host", "panda"},
                      {"target", "worker"},
                      {"kind", "http"},
                      {"service", "com.joel.system-bus-worker"},
                      {"reachability", "false"}},
                     &v));
  EXPECT_EQ(v, 1);
  // No service: no service label at all.
  EXPECT_TRUE(m.Find(
      "joelclaw_check_info",
      {{"host", "three-body"}, {"target", "ssh"}, {"kind", "ssh"}, {"reachability", "true"}}, &v));

  ExporterInfo info;
  info.hosts = {"panda", "three-body"};
  info.host_descriptions = {{"panda", "Mac Mini M4 Pro, 64 GB"}};
  nlohmann::json s = BuildStatusJson({worker, ssh}, {}, info);
  EXPECT_EQ(s["hosts"][0]["description"], "Mac Mini M4 Pro, 64 GB");
  EXPECT_EQ(s["hosts"][1]["description"], "");
  EXPECT_EQ(s["hosts"][0]["checks"][0]["description"], "Inngest functions");
  EXPECT_EQ(s["hosts"][0]["checks"][0]["service"], "com.joel.system-bus-worker");
  EXPECT_EQ(s["hosts"][0]["checks"][0]["reachability"], false);
  EXPECT_EQ(s["hosts"][1]["checks"][0]["reachability"], true);
}

TEST(SnapshotTest, GlobalCollectorsNameTheirHostAndEmptyLabelsAreLeftOut) {
  CollectorState kube;
  kube.name = "kubernetes";
  kube.label_host = "joelclaw";  // The cluster's name.
  kube.has_result = true;
  kube.success = true;
  CollectorState unnamed;
  unnamed.name = "frobnicator";
  unnamed.has_result = true;
  unnamed.metrics.Gauge("joelclaw_frob_info", "Frobs.", {{"host", ""}, {"mode", "fast"}}, 1);
  const std::string text = RenderText(BuildMetrics({}, {kube, unnamed}, ExporterInfo{}).Families());
  EXPECT_NE(text.find("joelclaw_collector_success{collector=\"kubernetes\",host=\"joelclaw\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("joelclaw_collector_success{collector=\"frobnicator\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("joelclaw_frob_info{mode=\"fast\"} 1\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("=\"\""), std::string::npos) << text;
  nlohmann::json s = BuildStatusJson({}, {kube, unnamed}, ExporterInfo{});
  EXPECT_EQ(s["collectors"][0]["host"], "joelclaw");
  EXPECT_EQ(s["collectors"][1]["host"], "");
}

TEST(SnapshotTest, RenderedTextHasTypesAndNoTimestamps) {
  auto snap = BuildSnapshot({Done("panda", "inngest", true)}, {}, ExporterInfo{});
  EXPECT_NE(snap->metrics_text.find("# TYPE joelclaw_probe_failures_total counter"),
            std::string::npos);
  EXPECT_NE(snap->metrics_text.find(
                "joelclaw_probe_success{host=\"panda\",target=\"inngest\",kind=\"http\"} 1\n"),
            std::string::npos);
}

TEST(SnapshotTest, BuildInfoHasBranchAndToolchain) {
  ExporterInfo info;
  info.version = "0.1.0";
  info.revision = "abc";
  info.branch = "main";
  info.compiler = "gcc";
  info.compiler_version = "12.2.0";
  double v = 0;
  EXPECT_TRUE(BuildMetrics({}, {}, info)
                  .Find("joelclaw_exporter_build_info",
                        {{"version", "0.1.0"}, {"revision", "abc"}, {"branch", "main"},
                         {"compiler", "gcc"}, {"compiler_version", "12.2.0"}},
                        &v));
  EXPECT_EQ(v, 1);
}

TEST(SnapshotTest, ProcessFamiliesAsClientGolangExportsThem) {
  ExporterInfo info;
  info.start_time = 1700000000;
  info.process.cpu_seconds = 1.5;
  info.process.resident_bytes = 1 << 20;
  info.process.virtual_bytes = 1 << 30;
  info.process.virtual_max_bytes = 18446744073709551615.0;
  info.process.open_fds = 9;
  info.process.max_fds = 1024;
  MetricSet m = BuildMetrics({}, {}, info);
  const std::pair<const char*, double> want[] = {
      {"process_cpu_seconds_total", 1.5},
      {"process_resident_memory_bytes", 1 << 20},
      {"process_virtual_memory_bytes", 1 << 30},
      {"process_virtual_memory_max_bytes", 18446744073709551615.0},
      {"process_open_fds", 9},
      {"process_max_fds", 1024},
      {"process_start_time_seconds", 1700000000},
  };
  for (const auto& [name, value] : want) {
    double v = -1;
    ASSERT_TRUE(m.Find(name, {}, &v)) << name;
    EXPECT_EQ(v, value) << name;
  }
  // Unknown on this platform: not exported rather than exported as 0.
  info.process = ProcessStats{};
  double v;
  EXPECT_FALSE(BuildMetrics({}, {}, info).Find("process_max_fds", {}, &v));
}

TEST(SnapshotTest, ReadProcessStatsReadsThisProcess) {
  ProcessStats p = ReadProcessStats();
  EXPECT_GT(p.cpu_seconds, 0);
  EXPECT_GT(p.max_fds, 0);
  EXPECT_GT(p.virtual_max_bytes, 0);
#ifdef __linux__
  EXPECT_GT(p.open_fds, 2);
  EXPECT_GT(p.resident_bytes, 0);
  EXPECT_GT(p.virtual_bytes, p.resident_bytes);
#endif
}

TEST(SnapshotTest, ParseStatm) {
  double vsize = 0, rss = 0;
  ASSERT_TRUE(ParseStatm("2611 476 402 1 0 224 0\n", 4096, &vsize, &rss));
  EXPECT_EQ(vsize, 2611.0 * 4096);
  EXPECT_EQ(rss, 476.0 * 4096);
  EXPECT_FALSE(ParseStatm("", 4096, &vsize, &rss));
  EXPECT_FALSE(ParseStatm("12", 4096, &vsize, &rss));
  EXPECT_FALSE(ParseStatm("x y", 4096, &vsize, &rss));
}

}  // namespace snapshot_test
}  // namespace joelclaw
