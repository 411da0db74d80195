// The gpu collector through the real binary and /metrics: NVML from the
// fake libnvidia-ml (tests/fakes/fake_nvml.cc) loaded by the exporter's own
// dlopen, then nvidia-smi (a fake printing a real-shaped fixture) after a
// reload to a config whose library is missing, then a failing `enabled:
// true`. The exposition must pass promtool.
#include <signal.h>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/exporter_process.h"
#include "tests/support/monitoring.h"
#include "tests/support/test_util.h"

namespace joelclaw::testing {
namespace e2e_gpu_test {

// -1 stands for "no such sample".
double Value(const std::string& metrics, const std::string& series) {
  return MetricSample(metrics, series).value_or(-1);
}

std::string Config(const std::string& gpu, const std::string& smi_fixture) {
  return "defaults: {interval: 1s, timeout: 800ms}\n"
         "hosts:\n"
         "  gpubox:\n"
         "    resources: true\n"
         "gpu: " + gpu + "\n"
         "commands:\n"
         "  nvidia-smi: [" + TestData("gpu/fake-nvidia-smi") + ", " + smi_fixture + "]\n";
}

TEST(GpuEndToEndTest, NvmlThenNvidiaSmiThenMissingThroughMetrics) {
  TempDir dir;
  const std::string config = dir.File("config.yaml");
  WriteFileOrDie(config, Config(std::string("{enabled: true, host: gpubox, expected_gpus: 2, "
                                            "nvml_library: ") + JOELCLAW_FAKE_NVML + "}",
                                TestData("gpu/na-fields.csv")));
  ExporterProcess exporter(dir, {"--config.file=" + config});
  ASSERT_TRUE(exporter.Start() && exporter.WaitReady()) << exporter.Log();
  const std::string base = exporter.Url("");
  std::string m = HttpGet(base + "/metrics").body;

  EXPECT_EQ(Value(m, "joelclaw_collector_success{collector=\"gpu\",host=\"gpubox\"}"), 1) << m;
  EXPECT_EQ(Value(m, "joelclaw_gpu_devices{host=\"gpubox\"}"), 2);
  EXPECT_EQ(Value(m, "joelclaw_gpu_devices_expected{host=\"gpubox\"}"), 2);
  EXPECT_EQ(Value(m, "joelclaw_gpu_info{host=\"gpubox\",gpu=\"0\","
                     "uuid=\"GPU-5d2e8c1a-7b3f-4e90-a1c6-2f8d9e0b4a71\","
                     "name=\"NVIDIA RTX PRO 4500 Blackwell\",driver_version=\"575.57.08\"}"),
            1);
  EXPECT_EQ(Value(m, "joelclaw_gpu_temperature_celsius{host=\"gpubox\",gpu=\"1\"}"), 83);
  EXPECT_EQ(Value(m, "joelclaw_gpu_power_watts{host=\"gpubox\",gpu=\"1\"}"), 198.4);
  EXPECT_EQ(Value(m, "joelclaw_gpu_ecc_errors_total{host=\"gpubox\",gpu=\"1\",type=\"uncorrected\"}"), 1);
  EXPECT_EQ(Value(m, "joelclaw_gpu_throttle_active{host=\"gpubox\",gpu=\"1\",reason=\"sw_thermal_slowdown\"}"), 1);
  EXPECT_EQ(Value(m, "joelclaw_gpu_clock_hertz{host=\"gpubox\",gpu=\"1\",clock=\"sm\"}"), 2430e6);
  EXPECT_EQ(Value(m, "joelclaw_gpu_fan_ratio{host=\"gpubox\",gpu=\"0\"}"), 0.3);
  EXPECT_EQ(m.find("joelclaw_gpu_fan_ratio{host=\"gpubox\",gpu=\"1\"}"), std::string::npos)
      << "NOT_SUPPORTED must not be exported";
  ExpectPromtoolAcceptsMetrics(dir, m);

  const auto status = nlohmann::json::parse(HttpGet(base + "/api/v1/status").body, nullptr, false);
  ASSERT_FALSE(status.is_discarded());
  bool found = false;
  for (const auto& c : status.value("collectors", nlohmann::json::array())) {
    if (c.value("name", "") != "gpu" && c.value("collector", "") != "gpu") continue;
    found = true;
    EXPECT_EQ(c["details"]["source"], "nvml") << c.dump();
    EXPECT_EQ(c["details"]["gpus"], 2) << c.dump();
    EXPECT_EQ(c["details"]["max_temperature_celsius"], 83) << c.dump();
  }
  EXPECT_TRUE(found) << status.dump();

  // No NVML: the same GPUs come from nvidia-smi, "[N/A]" fields left out.
  WriteFileOrDie(config, Config("{enabled: true, host: gpubox, expected_gpus: 2, "
                                "nvml_library: /nonexistent/libnvidia-ml.so.1}",
                                TestData("gpu/na-fields.csv")));
  exporter.process().Signal(SIGHUP);
  ASSERT_TRUE(WaitFor(
      [&] {
        m = HttpGet(base + "/metrics").body;
        return Value(m, "joelclaw_gpu_temperature_celsius{host=\"gpubox\",gpu=\"0\"}") == 52;
      },
      std::chrono::seconds(10)))
      << m << exporter.Log();
  EXPECT_EQ(Value(m, "joelclaw_collector_success{collector=\"gpu\",host=\"gpubox\"}"), 1);
  EXPECT_EQ(m.find("joelclaw_gpu_power_watts{host=\"gpubox\",gpu=\"0\"}"), std::string::npos);
  EXPECT_EQ(m.find("joelclaw_gpu_temperature_celsius{host=\"gpubox\",gpu=\"1\"}"), std::string::npos);
  EXPECT_EQ(Value(m, "joelclaw_gpu_memory_total_bytes{host=\"gpubox\",gpu=\"1\"}"), 2048.0 * 1024 * 1024);
  ExpectPromtoolAcceptsMetrics(dir, m);

  // NVML missing and nvidia-smi failing: the gpu collector fails, the host
  // collector carries on.
  WriteFileOrDie(config, Config("{enabled: true, host: gpubox, "
                                "nvml_library: /nonexistent/libnvidia-ml.so.1}",
                                dir.File("no-such-fixture.csv")));
  exporter.process().Signal(SIGHUP);
  ASSERT_TRUE(WaitFor(
      [&] {
        m = HttpGet(base + "/metrics").body;
        return Value(m, "joelclaw_collector_success{collector=\"gpu\",host=\"gpubox\"}") == 0;
      },
      std::chrono::seconds(10)))
      << m << exporter.Log();
  EXPECT_EQ(Value(m, "joelclaw_collector_success{collector=\"host\",host=\"gpubox\"}"), 1);
  EXPECT_TRUE(exporter.process().Running());
}

}  // namespace e2e_gpu_test
}  // namespace joelclaw::testing
