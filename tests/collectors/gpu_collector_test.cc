#include "exporter/collectors/gpu_collector.h"

#include <stdlib.h>

#include <chrono>
#include <memory>
#include <string>

#include "exporter/config.h"
#include "gtest/gtest.h"
#include "tests/support/fake_env.h"
#include "tests/support/test_util.h"
#include "yaml-cpp/yaml.h"

namespace joelclaw {
namespace gpu_collector_test {

using testing::FakeEnv;
using testing::ReadFileOrDie;
using testing::TestData;

std::string Fixture(const std::string& name) { return ReadFileOrDie(TestData("gpu/" + name)); }

constexpr double kMiB = 1024.0 * 1024.0;
constexpr char kMissingLibrary[] = "/nonexistent/libnvidia-ml.so.1";

// ---- nvidia-smi CSV parser on fixtures -------------------------------------

TEST(NvidiaSmiCsvTest, ParsesTwoGpus) {
  Result<std::vector<GpuReading>> gpus = ParseNvidiaSmiCsv(Fixture("two-gpus.csv"));
  ASSERT_TRUE(gpus.ok()) << gpus.status().message();
  ASSERT_EQ(gpus->size(), 2u);
  const GpuReading& a = (*gpus)[0];
  EXPECT_EQ(a.index, 0);
  EXPECT_EQ(a.name, "NVIDIA RTX PRO 4500 Blackwell");
  EXPECT_EQ(a.uuid, "GPU-5d2e8c1a-7b3f-4e90-a1c6-2f8d9e0b4a71");
  EXPECT_EQ(a.driver_version, "575.57.08");
  EXPECT_EQ(a.temperature_celsius, 41);
  EXPECT_EQ(a.utilization_ratio, 0);
  EXPECT_EQ(a.memory_used_bytes, 512 * kMiB);
  EXPECT_EQ(a.memory_total_bytes, 32623 * kMiB);
  EXPECT_DOUBLE_EQ(*a.power_watts, 18.25);
  EXPECT_DOUBLE_EQ(*a.power_limit_watts, 200);
  EXPECT_EQ(a.sm_clock_hertz, 180e6);
  EXPECT_EQ(a.memory_clock_hertz, 405e6);
  EXPECT_DOUBLE_EQ(*a.fan_ratio, 0.30);
  EXPECT_EQ(a.ecc_corrected, 0);
  EXPECT_EQ(a.ecc_uncorrected, 0);
  EXPECT_EQ(a.throttle_reasons, 0x1u);

  const GpuReading& b = (*gpus)[1];
  EXPECT_EQ(b.index, 1);
  EXPECT_EQ(b.temperature_celsius, 83);
  EXPECT_DOUBLE_EQ(*b.utilization_ratio, 0.97);
  EXPECT_DOUBLE_EQ(*b.power_watts, 198.4);
  EXPECT_EQ(b.ecc_corrected, 3);
  EXPECT_EQ(b.ecc_uncorrected, 1);
  EXPECT_EQ(b.throttle_reasons, 0x24u);  // sw_power_cap | sw_thermal_slowdown
}

TEST(NvidiaSmiCsvTest, NotAvailableFieldsStayEmpty) {
  Result<std::vector<GpuReading>> gpus = ParseNvidiaSmiCsv(Fixture("na-fields.csv"));
  ASSERT_TRUE(gpus.ok()) << gpus.status().message();
  ASSERT_EQ(gpus->size(), 2u);
  // A GeForce card: "[N/A]" for power, fan and ECC.
  const GpuReading& geforce = (*gpus)[0];
  EXPECT_EQ(geforce.temperature_celsius, 52);
  EXPECT_FALSE(geforce.power_watts.has_value());
  EXPECT_FALSE(geforce.power_limit_watts.has_value());
  EXPECT_FALSE(geforce.fan_ratio.has_value());
  EXPECT_FALSE(geforce.ecc_corrected.has_value());
  EXPECT_FALSE(geforce.ecc_uncorrected.has_value());
  EXPECT_EQ(geforce.throttle_reasons, 0u);  // Known, and nothing active.
  // "N/A" without brackets and "[Not Supported]".
  const GpuReading& t400 = (*gpus)[1];
  EXPECT_FALSE(t400.temperature_celsius.has_value());
  EXPECT_FALSE(t400.utilization_ratio.has_value());
  EXPECT_EQ(t400.memory_used_bytes, 0);  // A real 0 stays 0.
  EXPECT_FALSE(t400.sm_clock_hertz.has_value());
  EXPECT_FALSE(t400.memory_clock_hertz.has_value());
  EXPECT_FALSE(t400.throttle_reasons.has_value());
  EXPECT_DOUBLE_EQ(*t400.fan_ratio, 0.38);
}

TEST(NvidiaSmiCsvTest, BadInputIsAClearError) {
  struct Case {
    std::string name, text, error;
  };
  const Case cases[] = {
      {"driver complaint", Fixture("garbage.csv"),
       "line 1 has 1 fields, want 16 (the --query-gpu list): 'NVIDIA-SMI has failed because it "
       "couldn't communicate with t...'"},
      {"truncated", Fixture("truncated.csv"),
       "line 1 has 7 fields, want 16 (the --query-gpu list): '0, NVIDIA RTX PRO 4500 Blackwell, "
       "GPU-5d2e8c1a-7b3f-4e90-a1c...'"},
      {"bad number", Fixture("bad-number.csv"), "line 2: temperature.gpu is not a number: 'hot'"},
      {"header line", "index, name, uuid, driver_version, temperature.gpu, utilization.gpu [%], "
                      "a, b, c, d, e, f, g, h, i, j\n",
       "line 1: index is not a GPU index: 'index'"},
      {"negative", "0, n, u, d, -5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0\n",
       "line 1: temperature.gpu is not a number: '-5'"},
      {"nan", "0, n, u, d, nan, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0\n",
       "line 1: temperature.gpu is not a number: 'nan'"},
      {"bitmask", "0, n, u, d, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, Active\n",
       "line 1: clocks_throttle_reasons.active is not a hex bitmask: 'Active'"},
      {"repeated index",
       "0, n, u, d, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0\n0, n, u, d, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, "
       "0, 0x0\n",
       "line 2: GPU index 0 is listed twice"},
      {"binary", std::string("\x7f" "ELF\x02\x01\x01", 7),
       "line 1 has 1 fields, want 16 (the --query-gpu list): '?ELF??" "?'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Result<std::vector<GpuReading>> gpus = ParseNvidiaSmiCsv(c.text);
    ASSERT_FALSE(gpus.ok());
    EXPECT_EQ(gpus.status().message(), c.error);
  }
  Result<std::vector<GpuReading>> none = ParseNvidiaSmiCsv("\n");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// ---- Collector -------------------------------------------------------------

std::unique_ptr<Collector> MakeCollector(const std::string& yaml, const ConfigContext& ctx) {
  auto c = ParseGpuCollector(YAML::Load(yaml), ctx, "");
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(c).value() : nullptr;
}

std::unique_ptr<Collector> MakeCollector(const std::string& yaml) {
  return MakeCollector(yaml, ConfigContext("test.yaml"));
}

CollectContext Context(Env* env, std::chrono::milliseconds budget = std::chrono::seconds(5)) {
  return CollectContext{std::chrono::steady_clock::now() + budget, nullptr, env};
}

double Sample(const CollectOutput& out, const std::string& name, const Labels& labels) {
  double v = -12345;
  out.metrics.Find(name, labels, &v);
  return v;
}

bool Has(const CollectOutput& out, const std::string& name, const Labels& labels) {
  double v;
  return out.metrics.Find(name, labels, &v);
}

Labels Gpu(const std::string& index) { return {{"host", "gpubox"}, {"gpu", index}}; }

std::string NvmlConfig(const std::string& library, const std::string& extra = "") {
  return "{enabled: true, host: gpubox, nvml_library: " + library + extra + "}";
}

// nvidia-smi as the collector runs it, with the fixed query appended.
std::vector<std::string> SmiArgv(std::vector<std::string> argv) {
  argv.push_back(std::string("--query-gpu=") + kNvidiaSmiQueryFields);
  argv.push_back("--format=csv,noheader,nounits");
  return argv;
}

// Sets an environment variable (read by the fake NVML) for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};

TEST(GpuCollectorTest, ReadsNvmlThroughDlopen) {
  FakeEnv env;  // No nvidia-smi: every sample must come from NVML.
  auto c = MakeCollector(NvmlConfig(JOELCLAW_FAKE_NVML, ", expected_gpus: 2"));
  ASSERT_NE(c, nullptr);
  CollectOutput out;
  Status s = c->Collect(Context(&env), &out);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(env.calls().empty()) << "NVML worked; nvidia-smi must not run";

  EXPECT_EQ(Sample(out, "joelclaw_gpu_devices", {{"host", "gpubox"}}), 2);
  EXPECT_EQ(Sample(out, "joelclaw_gpu_devices_expected", {{"host", "gpubox"}}), 2);
  EXPECT_EQ(Sample(out, "joelclaw_gpu_info",
                   {{"host", "gpubox"}, {"gpu", "1"}, {"uuid", "GPU-c0a9f3b2-61d4-4a8e-9c7b-e5f4d3c2b1a0"},
                    {"name", "NVIDIA RTX PRO 4500 Blackwell"}, {"driver_version", "575.57.08"}}),
            1);
  EXPECT_EQ(Sample(out, "joelclaw_gpu_temperature_celsius", Gpu("0")), 41);
  EXPECT_EQ(Sample(out, "joelclaw_gpu_temperature_celsius", Gpu("1")), 83);
  EXPECT_DOUBLE_EQ(Sample(out, "joelclaw_gpu_utilization_ratio", Gpu("1")), 0.97);
  EXPECT_EQ(Sample(out, "joelclaw_gpu_memory_used_bytes", Gpu("1")), 30720 * kMiB);
  EXPECT_EQ(Sample(out, "joelclaw_gpu_memory_total_bytes", Gpu("1")), 32623 * kMiB);
  EXPECT_DOUBLE_EQ(Sample(out, "joelclaw_gpu_power_watts", Gpu("1")), 198.4);  // From mW.
  EXPECT_DOUBLE_EQ(Sample(out, "joelclaw_gpu_power_limit_watts", Gpu("1")), 200);
  EXPECT_EQ(Sample(out, "joelclaw_gpu_clock_hertz",
                   {{"host", "gpubox"}, {"gpu", "1"}, {"clock", "sm"}}),
            2430e6);
  EXPECT_EQ(Sample(out, "joelclaw_gpu_clock_hertz",
                   {{"host", "gpubox"}, {"gpu", "1"}, {"clock", "memory"}}),
            14001e6);
  EXPECT_DOUBLE_EQ(Sample(out, "joelclaw_gpu_fan_ratio", Gpu("0")), 0.30);
  // GPU 1's fan is NVML_ERROR_NOT_SUPPORTED: no series, never 0.
  EXPECT_FALSE(Has(out, "joelclaw_gpu_fan_ratio", Gpu("1")));
  EXPECT_EQ(Sample(out, "joelclaw_gpu_ecc_errors_total",
                   {{"host", "gpubox"}, {"gpu", "1"}, {"type", "uncorrected"}}),
            1);
  EXPECT_EQ(Sample(out, "joelclaw_gpu_ecc_errors_total",
                   {{"host", "gpubox"}, {"gpu", "1"}, {"type", "corrected"}}),
            3);
  // Every known reason, 0/1.
  auto throttle = [&](const char* gpu, const char* reason) {
    return Sample(out, "joelclaw_gpu_throttle_active",
                  {{"host", "gpubox"}, {"gpu", gpu}, {"reason", reason}});
  };
  EXPECT_EQ(throttle("0", "gpu_idle"), 1);
  EXPECT_EQ(throttle("0", "sw_power_cap"), 0);
  EXPECT_EQ(throttle("1", "gpu_idle"), 0);
  EXPECT_EQ(throttle("1", "sw_power_cap"), 1);
  EXPECT_EQ(throttle("1", "sw_thermal_slowdown"), 1);
  EXPECT_EQ(throttle("1", "hw_slowdown"), 0);
  EXPECT_EQ(throttle("1", "display_clock_setting"), 0);
  // count + expected; per GPU: info, temp, util, used, total, power, limit,
  // 2 clocks, 2 ECC, 9 reasons (+ fan on GPU 0 only).
  EXPECT_EQ(out.metrics.SampleCount(), 2u + 2 * (9 + 2 + 9) + 1);

  EXPECT_EQ(out.details["source"], "nvml");
  EXPECT_EQ(out.details["gpus"], 2);
  EXPECT_EQ(out.details["expected_gpus"], 2);
  EXPECT_EQ(out.details["max_temperature_celsius"], 83);
  EXPECT_EQ(out.details["driver_version"], "575.57.08");
  EXPECT_EQ(out.details["host"], "gpubox");
  ASSERT_EQ(out.details["devices"].size(), 2u);
  EXPECT_EQ(out.details["devices"][1]["power_watts"], 198.4);

  // The library stays open and initialized: a second run reads again.
  CollectOutput again;
  ASSERT_TRUE(c->Collect(Context(&env), &again).ok());
  EXPECT_EQ(again.metrics.SampleCount(), out.metrics.SampleCount());
}

TEST(GpuCollectorTest, OldDriverWithoutSomeEntryPointsSkipsThoseFields) {
  FakeEnv env;
  auto c = MakeCollector(NvmlConfig(JOELCLAW_FAKE_NVML_OLD));
  CollectOutput out;
  Status s = c->Collect(Context(&env), &out);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Sample(out, "joelclaw_gpu_temperature_celsius", Gpu("0")), 41);
  EXPECT_FALSE(Has(out, "joelclaw_gpu_fan_ratio", Gpu("0")));
  EXPECT_FALSE(Has(out, "joelclaw_gpu_throttle_active",
                   {{"host", "gpubox"}, {"gpu", "0"}, {"reason", "gpu_idle"}}));
  EXPECT_EQ(out.metrics.SampleCount(), 1u + 2 * (9 + 2));
}

TEST(GpuCollectorTest, LostGpuDropsTheCountAndFailsTheRun) {
  ScopedEnv lost("FAKE_NVML_LOST_GPU", "1");
  FakeEnv env;
  auto c = MakeCollector(NvmlConfig(JOELCLAW_FAKE_NVML, ", expected_gpus: 2"));
  CollectOutput out;
  Status s = c->Collect(Context(&env), &out);
  EXPECT_EQ(s.message(), "NVML: GPU 1: nvmlDeviceGetHandleByIndex_v2: GPU is lost");
  // The partial result is still exported: the count is what alerts.
  EXPECT_EQ(Sample(out, "joelclaw_gpu_devices", {{"host", "gpubox"}}), 1);
  EXPECT_EQ(Sample(out, "joelclaw_gpu_devices_expected", {{"host", "gpubox"}}), 2);
  EXPECT_EQ(Sample(out, "joelclaw_gpu_temperature_celsius", Gpu("0")), 41);
  EXPECT_FALSE(Has(out, "joelclaw_gpu_temperature_celsius", Gpu("1")));
}

TEST(GpuCollectorTest, AutoWithoutNvmlOrNvidiaSmiExportsNothingAndSucceeds) {
  ConfigContext ctx("test.yaml");
  ctx.SetCommand("nvidia-smi", {"/nonexistent/nvidia-smi"});
  auto c = MakeCollector(std::string("{host: gpubox, nvml_library: ") + kMissingLibrary + "}", ctx);
  ASSERT_NE(c, nullptr);  // `enabled` defaults to auto.
  CollectOutput out;
  Status s = c->Collect(Context(Env::Default()), &out);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(out.metrics.empty());
  EXPECT_EQ(out.details["source"], "none");
  EXPECT_EQ(out.details["gpus"], 0);

  // Expecting GPUs, the count is exported at 0 so JoelclawGpuMissing fires.
  auto expecting = MakeCollector(
      std::string("{host: gpubox, expected_gpus: 2, nvml_library: ") + kMissingLibrary + "}", ctx);
  CollectOutput counted;
  EXPECT_TRUE(expecting->Collect(Context(Env::Default()), &counted).ok());
  EXPECT_EQ(Sample(counted, "joelclaw_gpu_devices", {{"host", "gpubox"}}), 0);
  EXPECT_EQ(Sample(counted, "joelclaw_gpu_devices_expected", {{"host", "gpubox"}}), 2);
  EXPECT_EQ(counted.metrics.SampleCount(), 2u);
}

TEST(GpuCollectorTest, EnabledTrueWithoutGpuSupportFails) {
  ConfigContext ctx("test.yaml");
  ctx.SetCommand("nvidia-smi", {"/nonexistent/nvidia-smi"});
  auto c = MakeCollector(std::string("{enabled: true, nvml_library: ") + kMissingLibrary + "}", ctx);
  CollectOutput out;
  Status s = c->Collect(Context(Env::Default()), &out);
  EXPECT_EQ(s.message().rfind("no GPU support found (gpu.enabled is true): NVML: cannot load "
                              "/nonexistent/libnvidia-ml.so.1: ",
                              0),
            0u)
      << s.message();
  EXPECT_NE(s.message().find("; nvidia-smi: cannot run '/nonexistent/nvidia-smi': No such file "
                             "or directory"),
            std::string::npos)
      << s.message();
  EXPECT_TRUE(out.metrics.empty());
}

TEST(GpuCollectorTest, FallsBackToNvidiaSmiWhenNvmlIsMissing) {
  ConfigContext ctx("test.yaml");
  ctx.SetCommand("nvidia-smi", {TestData("gpu/fake-nvidia-smi"), TestData("gpu/two-gpus.csv")});
  auto c = MakeCollector(NvmlConfig(kMissingLibrary), ctx);
  CollectOutput out;
  Status s = c->Collect(Context(Env::Default()), &out);  // The real command path.
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(out.details["source"], "nvidia-smi");
  EXPECT_EQ(Sample(out, "joelclaw_gpu_devices", {{"host", "gpubox"}}), 2);
  EXPECT_EQ(Sample(out, "joelclaw_gpu_temperature_celsius", Gpu("1")), 83);
  EXPECT_DOUBLE_EQ(Sample(out, "joelclaw_gpu_fan_ratio", Gpu("1")), 0.64);
  EXPECT_EQ(Sample(out, "joelclaw_gpu_throttle_active",
                   {{"host", "gpubox"}, {"gpu", "1"}, {"reason", "sw_thermal_slowdown"}}),
            1);
}

TEST(GpuCollectorTest, FallsBackToNvidiaSmiWhenTheDriverIsNotLoaded) {
  // libnvidia-ml loads, but nvmlInit_v2 answers NVML_ERROR_DRIVER_NOT_LOADED.
  // A copy of the fake at its own path is a library of its own, not yet
  // initialized by another test (Open() keeps one instance per path).
  testing::TempDir dir;
  const std::string copy = dir.File("libnvidia-ml.so.1");
  testing::WriteFileOrDie(copy, ReadFileOrDie(JOELCLAW_FAKE_NVML), 0755);
  ScopedEnv init("FAKE_NVML_INIT_RESULT", "9");
  FakeEnv env;
  env.SetCommandOutput(SmiArgv({"nvidia-smi"}), Fixture("na-fields.csv"));
  auto c = MakeCollector(NvmlConfig(copy));
  CollectOutput out;
  Status s = c->Collect(Context(&env), &out);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(out.details["source"], "nvidia-smi");
  EXPECT_EQ(Sample(out, "joelclaw_gpu_temperature_celsius", Gpu("0")), 52);
  EXPECT_FALSE(Has(out, "joelclaw_gpu_power_watts", Gpu("0")));  // [N/A]
  EXPECT_FALSE(Has(out, "joelclaw_gpu_ecc_errors_total",
                   {{"host", "gpubox"}, {"gpu", "0"}, {"type", "corrected"}}));
  EXPECT_FALSE(Has(out, "joelclaw_gpu_temperature_celsius", Gpu("1")));  // N/A
  EXPECT_FALSE(Has(out, "joelclaw_gpu_throttle_active",
                   {{"host", "gpubox"}, {"gpu", "1"}, {"reason", "gpu_idle"}}));
  EXPECT_EQ(Sample(out, "joelclaw_gpu_throttle_active",
                   {{"host", "gpubox"}, {"gpu", "0"}, {"reason", "gpu_idle"}}),
            0);

  // Once the driver is loaded, the same library instance initializes and
  // NVML takes over from nvidia-smi.
  unsetenv("FAKE_NVML_INIT_RESULT");
  CollectOutput later;
  ASSERT_TRUE(c->Collect(Context(&env), &later).ok());
  EXPECT_EQ(later.details["source"], "nvml");
  EXPECT_EQ(Sample(later, "joelclaw_gpu_temperature_celsius", Gpu("1")), 83);
}

TEST(GpuCollectorTest, AutoWithABrokenNvmlAndNoNvidiaSmiFails) {
  // libnvidia-ml is installed but the driver is not loaded: not "no GPU".
  testing::TempDir dir;
  const std::string copy = dir.File("libnvidia-ml.so.1");
  testing::WriteFileOrDie(copy, ReadFileOrDie(JOELCLAW_FAKE_NVML), 0755);
  ScopedEnv init("FAKE_NVML_INIT_RESULT", "9");
  ConfigContext ctx("test.yaml");
  ctx.SetCommand("nvidia-smi", {"/nonexistent/nvidia-smi"});
  auto c = MakeCollector("{nvml_library: " + copy + "}", ctx);
  CollectOutput out;
  Status s = c->Collect(Context(Env::Default()), &out);
  EXPECT_EQ(s.message(),
            "NVIDIA's library is installed but unusable: NVML: nvmlInit_v2: Driver Not Loaded; "
            "nvidia-smi: cannot run '/nonexistent/nvidia-smi': No such file or directory");
  EXPECT_TRUE(out.metrics.empty());
}

TEST(GpuCollectorTest, NvidiaSmiFailuresAreCollectorErrors) {
  FakeEnv env;
  auto c = MakeCollector(NvmlConfig(kMissingLibrary));
  const auto argv = SmiArgv({"nvidia-smi"});
  CommandResult no_driver;
  no_driver.exit_code = 9;
  no_driver.out =
      "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure "
      "that the latest NVIDIA driver is installed and running.\n\n";
  env.SetCommand(argv, {no_driver});
  CollectOutput out;
  Status s = c->Collect(Context(&env), &out);
  EXPECT_EQ(s.message().rfind("'nvidia-smi' exited with status 9: NVIDIA-SMI has failed because "
                              "it couldn't communicate with the NVIDIA driver. ",
                              0),
            0u)
      << s.message();
  EXPECT_NE(s.message().find("(NVML: cannot load /nonexistent/libnvidia-ml.so.1: "),
            std::string::npos);

  env.SetCommandOutput(argv, Fixture("garbage.csv"));
  CollectOutput garbage;
  s = c->Collect(Context(&env), &garbage);
  EXPECT_EQ(s.message().rfind("nvidia-smi output: line 1 has 1 fields, want 16", 0), 0u)
      << s.message();
  EXPECT_TRUE(garbage.metrics.empty());  // Nothing half-exported.
}

TEST(GpuCollectorTest, AHungNvidiaSmiIsKilledAtTheDeadline) {
  ConfigContext ctx("test.yaml");
  // A stand-in that never answers; the appended query arguments land in
  // the shell's positional parameters and are ignored.
  ctx.SetCommand("nvidia-smi", {"sh", "-c", "exec sleep 30", "nvidia-smi"});
  // auto: a hung nvidia-smi is a failure, not "no GPU".
  auto c = MakeCollector(std::string("{nvml_library: ") + kMissingLibrary + "}", ctx);
  CollectOutput out;
  const auto start = std::chrono::steady_clock::now();
  Status s = c->Collect(Context(Env::Default(), std::chrono::milliseconds(300)), &out);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(s.message().rfind("'sh' timed out after ", 0), 0u) << s.message();
  EXPECT_LT(took, std::chrono::seconds(3)) << s.message();
  EXPECT_TRUE(out.metrics.empty());
}

// ---- Config ----------------------------------------------------------------

TEST(GpuCollectorTest, ConfigErrors) {
  ConfigContext ctx("c.yaml");
  auto off = ParseGpuCollector(YAML::Load("{enabled: false, expected_gpus: 2}"), ctx, "");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(*off, nullptr);
  EXPECT_NE(*ParseGpuCollector(YAML::Load("{}"), ctx, ""), nullptr);  // auto by default.

  auto error = [&](const std::string& yaml) {
    return ParseGpuCollector(YAML::Load(yaml), ctx, "").status().message();
  };
  EXPECT_EQ(error("{enabled: maybe}"), "c.yaml:1: gpu: enabled must be auto, true or false, not 'maybe'");
  EXPECT_EQ(error("{expected_gpus: 0}"), "c.yaml:1: gpu: expected_gpus must be between 1 and 64");
  EXPECT_EQ(error("{expected_gpus: two}"), "c.yaml:1: gpu: expected_gpus must be an integer");
  EXPECT_EQ(error("{host: ''}"), "c.yaml:1: gpu: host is empty");
  EXPECT_EQ(error("{nvml_library: ''}"), "c.yaml:1: gpu: nvml_library is empty");
  EXPECT_EQ(error("{gpus: 2}").rfind("c.yaml:1: unknown key 'gpus'", 0), 0u) << error("{gpus: 2}");
  EXPECT_FALSE(ParseGpuCollector(YAML::Load("true"), ctx, "").ok());
}

TEST(GpuCollectorTest, IsAGlobalCollectorLabelledWithTheLocalHost) {
  auto cfg = ParseConfig(
      "hosts:\n"
      "  panda: {resources: true}\n"
      "gpu: {enabled: auto}\n",
      "config.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  const CollectorSpec* gpu = nullptr;
  for (const CollectorSpec& spec : (*cfg)->collectors) {
    if (spec.name == "gpu") gpu = &spec;
  }
  ASSERT_NE(gpu, nullptr);
  EXPECT_EQ(gpu->host, "");
  // Without gpu.host the label is this machine's name.
  ConfigContext ctx("test.yaml");
  ctx.SetCommand("nvidia-smi", {TestData("gpu/fake-nvidia-smi"), TestData("gpu/two-gpus.csv")});
  auto c = MakeCollector(std::string("{nvml_library: ") + kMissingLibrary + "}", ctx);
  CollectOutput out;
  ASSERT_TRUE(c->Collect(Context(Env::Default()), &out).ok());
  EXPECT_EQ(Sample(out, "joelclaw_gpu_devices", {{"host", LocalHostName()}}), 2);
}

}  // namespace gpu_collector_test
}  // namespace joelclaw
