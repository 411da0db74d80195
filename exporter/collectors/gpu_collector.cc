#include "exporter/collectors/gpu_collector.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <set>

#include "exporter/config.h"
#include "exporter/text_parse.h"
#include "spdlog/spdlog.h"

namespace joelclaw {
namespace {

using Json = nlohmann::json;

constexpr size_t kFieldCount = 16;

// nvidia-smi's ways of saying a card lacks a field: "[N/A]", "N/A",
// "[Not Supported]", and other bracketed notes such as "[Unknown Error]".
bool IsNote(std::string_view v) {
  return v.empty() || v == "N/A" || (v.front() == '[' && v.back() == ']');
}

// A field of one CSV line, named for errors.
struct Field {
  std::string_view text;
  const char* name;
};

// A finite non-negative number times `scale`, or nothing for a note.
Status ReadNumber(const Field& f, size_t line, double scale, std::optional<double>* out) {
  if (IsNote(f.text)) return Status::Ok();
  const std::string tmp(f.text);
  char* end = nullptr;
  const double v = std::strtod(tmp.c_str(), &end);
  if (end == tmp.c_str() || *end != '\0' || !std::isfinite(v) || v < 0 ||
      !(std::isdigit(static_cast<unsigned char>(tmp[0])) || tmp[0] == '.')) {
    return Status::Error("line " + std::to_string(line) + ": " + f.name +
                         " is not a number: " + QuotedExcerpt(f.text, 60));
  }
  *out = v * scale;
  return Status::Ok();
}

Status ReadBitmask(const Field& f, size_t line, std::optional<uint64_t>* out) {
  if (IsNote(f.text)) return Status::Ok();
  const std::string tmp(f.text);
  char* end = nullptr;
  errno = 0;
  const unsigned long long v =
      tmp.size() > 2 && tmp[0] == '0' && (tmp[1] == 'x' || tmp[1] == 'X') && std::isxdigit(static_cast<unsigned char>(tmp[2]))
          ? std::strtoull(tmp.c_str() + 2, &end, 16)
          : 0;
  if (end == nullptr || *end != '\0' || errno != 0) {
    return Status::Error("line " + std::to_string(line) + ": " + f.name +
                         " is not a hex bitmask: " + QuotedExcerpt(f.text, 60));
  }
  *out = v;
  return Status::Ok();
}

std::string TextOrEmpty(std::string_view v) { return IsNote(v) ? "" : std::string(v); }

}  // namespace

Result<std::vector<GpuReading>> ParseNvidiaSmiCsv(std::string_view text) {
  static constexpr const char* kNames[kFieldCount] = {
      "index",        "name",          "uuid",         "driver_version",
      "temperature.gpu", "utilization.gpu", "memory.used", "memory.total",
      "power.draw",   "power.limit",   "clocks.sm",    "clocks.mem",
      "fan.speed",    "ecc.errors.corrected.volatile.total",
      "ecc.errors.uncorrected.volatile.total", "clocks_throttle_reasons.active"};
  constexpr double kMiB = 1024.0 * 1024.0;
  std::vector<GpuReading> gpus;
  std::set<long> seen;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (TrimBlanks(line).empty()) continue;
    std::vector<Field> f;
    for (size_t start = 0;;) {
      const size_t comma = line.find(',', start);
      f.push_back({TrimBlanks(line.substr(start, comma - start)), ""});
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    const std::string where = "line " + std::to_string(line_no);
    if (f.size() != kFieldCount) {
      return Status::Error(
          where + " has " + std::to_string(f.size()) + " fields, want " +
          std::to_string(kFieldCount) +
          " (the --query-gpu list): " + QuotedExcerpt(TrimBlanks(line), 60));
    }
    for (size_t i = 0; i < kFieldCount; ++i) f[i].name = kNames[i];
    GpuReading g;
    long index = -1;
    if (!ParseSignedLong(f[0].text, &index) || index < 0 || index > 1023) {
      return Status::Error(where + ": index is not a GPU index: " +
                           QuotedExcerpt(f[0].text, 60));
    }
    if (!seen.insert(index).second) {
      return Status::Error(where + ": GPU index " + std::to_string(index) + " is listed twice");
    }
    g.index = static_cast<int>(index);
    g.name = TextOrEmpty(f[1].text);
    g.uuid = TextOrEmpty(f[2].text);
    g.driver_version = TextOrEmpty(f[3].text);
    Status s;
    const std::pair<std::optional<double>*, double> numbers[] = {
        {&g.temperature_celsius, 1},  {&g.utilization_ratio, 0.01}, {&g.memory_used_bytes, kMiB},
        {&g.memory_total_bytes, kMiB}, {&g.power_watts, 1},          {&g.power_limit_watts, 1},
        {&g.sm_clock_hertz, 1e6},     {&g.memory_clock_hertz, 1e6}, {&g.fan_ratio, 0.01},
        {&g.ecc_corrected, 1},        {&g.ecc_uncorrected, 1}};
    for (size_t i = 0; i < std::size(numbers); ++i) {
      if (!(s = ReadNumber(f[4 + i], line_no, numbers[i].second, numbers[i].first)).ok()) return s;
    }
    if (!(s = ReadBitmask(f[15], line_no, &g.throttle_reasons)).ok()) return s;
    gpus.push_back(std::move(g));
  }
  std::sort(gpus.begin(), gpus.end(),
            [](const GpuReading& a, const GpuReading& b) { return a.index < b.index; });
  return gpus;
}

namespace {

enum class Mode { kAuto, kRequired };

class GpuCollector : public Collector {
 public:
  GpuCollector(Mode mode, std::string host, std::string library, std::optional<int64_t> expected,
               std::vector<std::string> smi_argv)
      : mode_(mode),
        host_(std::move(host)),
        library_(std::move(library)),
        expected_(expected),
        smi_argv_(std::move(smi_argv)) {}

  Status Collect(const CollectContext& ctx, CollectOutput* out) override {
    std::string nvml_problem;
    Result<std::shared_ptr<NvmlLibrary>> lib = NvmlLibrary::Open(library_);
    if (lib.ok()) {
      Result<NvmlSnapshot> snap = (*lib)->Read();
      if (snap.ok()) return Export(snap->gpus, "nvml", snap->errors, out);
      nvml_problem = "NVML: " + snap.status().message();
    } else {
      nvml_problem = "NVML: " + lib.status().message();
    }

    Result<CommandResult> run = ctx.env->Run(smi_argv_, ctx.Remaining(), ctx.cancel);
    if (!run.ok()) {
      const std::string msg = run.status().message();
      if (msg.rfind("cannot run '", 0) != 0) {
        // nvidia-smi is there but hung or was cancelled: a failure even in
        // auto mode, since the machine evidently has NVIDIA software.
        return Status::Error(msg + " (" + nvml_problem + ")");
      }
      const std::string why = nvml_problem + "; nvidia-smi: " + msg;
      if (mode_ == Mode::kRequired) {
        return Status::Error("no GPU support found (gpu.enabled is true): " + why);
      }
      if (lib.ok()) {
        // The library is installed but does not work (typically "Driver
        // Not Loaded" after a kernel update): a broken GPU stack, not a
        // machine without GPUs.
        return Status::Error("NVIDIA's library is installed but unusable: " + why);
      }
      if (!logged_none_) {
        spdlog::debug("gpu: no GPU on this machine ({}); nothing to export", why);
        logged_none_ = true;
      }
      if (expected_) {
        // GPUs are expected here: a driver that vanished must still alert.
        ExportCounts(0, out);
      }
      out->details = {{"host", host_}, {"gpus", 0}, {"source", "none"}, {"reason", why}};
      if (expected_) out->details["expected_gpus"] = *expected_;
      return Status::Ok();
    }
    logged_none_ = false;
    if (run->exit_code != 0) {
      // nvidia-smi prints its complaints ("NVIDIA-SMI has failed because it
      // couldn't communicate with the NVIDIA driver", "No devices were
      // found") on stdout.
      const std::string said = FirstLineOf(run->err.empty() ? run->out : run->err);
      return Status::Error(
          "'" + smi_argv_[0] + "' " +
          (run->term_signal != 0 ? "was killed by signal " + std::to_string(run->term_signal)
                                 : "exited with status " + std::to_string(run->exit_code)) +
          (said.empty() ? "" : ": " + said) + " (" + nvml_problem + ")");
    }
    Result<std::vector<GpuReading>> gpus = ParseNvidiaSmiCsv(run->out);
    if (!gpus.ok()) return gpus.status().WithPrefix("nvidia-smi output");
    return Export(*gpus, "nvidia-smi", {}, out);
  }

  std::string HostLabel() const override { return host_; }

 private:
  void ExportCounts(size_t count, CollectOutput* out) const {
    const Labels l = {{"host", host_}};
    out->metrics.Gauge("joelclaw_gpu_devices", "GPUs the exporter could read on this machine.", l,
                       static_cast<double>(count));
    if (expected_) {
      out->metrics.Gauge("joelclaw_gpu_devices_expected",
                         "GPUs this machine should have (gpu.expected_gpus in the config).", l,
                         static_cast<double>(*expected_));
    }
  }

  Status Export(const std::vector<GpuReading>& gpus, const std::string& source,
                const std::vector<std::string>& errors, CollectOutput* out) {
    logged_none_ = false;
    MetricSet& m = out->metrics;
    ExportCounts(gpus.size(), out);
    std::optional<double> max_temp;
    Json devices = Json::array();
    for (const GpuReading& g : gpus) {
      const std::string gpu = std::to_string(g.index);
      const Labels l = {{"host", host_}, {"gpu", gpu}};
      m.Gauge("joelclaw_gpu_info", "Always 1; the GPU's identity.",
              {{"host", host_}, {"gpu", gpu}, {"uuid", g.uuid}, {"name", g.name},
               {"driver_version", g.driver_version}},
              1);
      auto gauge = [&](const char* name, const char* help, const std::optional<double>& v) {
        if (v) m.Gauge(name, help, l, *v);
      };
      gauge("joelclaw_gpu_temperature_celsius", "GPU core temperature.", g.temperature_celsius);
      gauge("joelclaw_gpu_utilization_ratio",
            "Fraction of the last sample period in which a kernel ran on the GPU (0-1).",
            g.utilization_ratio);
      gauge("joelclaw_gpu_memory_used_bytes", "GPU memory in use.", g.memory_used_bytes);
      gauge("joelclaw_gpu_memory_total_bytes", "GPU memory installed.", g.memory_total_bytes);
      gauge("joelclaw_gpu_power_watts", "Power draw of the board.", g.power_watts);
      gauge("joelclaw_gpu_power_limit_watts", "Power limit the driver enforces.",
            g.power_limit_watts);
      gauge("joelclaw_gpu_fan_ratio", "Fan speed as a fraction of its maximum (may exceed 1).",
            g.fan_ratio);
      for (const auto& [clock, v] : {std::pair<const char*, const std::optional<double>&>{
                                         "sm", g.sm_clock_hertz},
                                     {"memory", g.memory_clock_hertz}}) {
        if (v) m.Gauge("joelclaw_gpu_clock_hertz", "Current clock speed.",
                       {{"host", host_}, {"gpu", gpu}, {"clock", clock}}, *v);
      }
      for (const auto& [type, v] : {std::pair<const char*, const std::optional<double>&>{
                                        "corrected", g.ecc_corrected},
                                    {"uncorrected", g.ecc_uncorrected}}) {
        if (v) m.Counter("joelclaw_gpu_ecc_errors_total",
                         "ECC memory errors since the driver loaded (volatile count).",
                         {{"host", host_}, {"gpu", gpu}, {"type", type}}, *v);
      }
      if (g.throttle_reasons) {
        for (const GpuThrottleReason& r : kGpuThrottleReasons) {
          m.Gauge("joelclaw_gpu_throttle_active",
                  "1 if this reason is currently holding the GPU's clocks down, else 0.",
                  {{"host", host_}, {"gpu", gpu}, {"reason", r.label}},
                  (*g.throttle_reasons & r.bit) != 0 ? 1 : 0);
        }
      }
      if (g.temperature_celsius) {
        max_temp = std::max(max_temp.value_or(*g.temperature_celsius), *g.temperature_celsius);
      }
      Json d = {{"gpu", g.index}, {"name", g.name}, {"uuid", g.uuid}};
      auto put = [&](const char* key, const std::optional<double>& v) {
        d[key] = v ? Json(*v) : Json();
      };
      put("temperature_celsius", g.temperature_celsius);
      put("utilization_ratio", g.utilization_ratio);
      put("memory_used_bytes", g.memory_used_bytes);
      put("memory_total_bytes", g.memory_total_bytes);
      put("power_watts", g.power_watts);
      devices.push_back(std::move(d));
    }
    out->details = {{"host", host_},
                    {"gpus", gpus.size()},
                    {"source", source},
                    {"driver_version", gpus.empty() ? "" : gpus.front().driver_version},
                    {"max_temperature_celsius", max_temp ? Json(*max_temp) : Json()},
                    {"devices", std::move(devices)}};
    if (expected_) out->details["expected_gpus"] = *expected_;
    if (errors.empty()) return Status::Ok();
    std::string msg = "NVML: " + errors.front();
    if (errors.size() > 1) msg += " (and " + std::to_string(errors.size() - 1) + " more)";
    return Status::Error(msg);
  }

  const Mode mode_;
  const std::string host_;
  const std::string library_;
  const std::optional<int64_t> expected_;
  const std::vector<std::string> smi_argv_;
  bool logged_none_ = false;  // Logs "no GPU" once per absence, not every run.
};

}  // namespace

Result<std::unique_ptr<Collector>> ParseGpuCollector(const YAML::Node& node,
                                                     const ConfigContext& ctx,
                                                     const std::string& host) {
  (void)host;  // Global: it watches the machine the exporter runs on.
  const std::string what = "gpu";
  Status s = ctx.CheckMap(node, what, {"enabled", "host", "nvml_library", "expected_gpus"});
  if (!s.ok()) return s;
  std::string enabled = "auto";
  if (!(s = ctx.GetString(node, what, "enabled", false, &enabled)).ok()) return s;
  if (enabled != "auto" && enabled != "true" && enabled != "false") {
    return ctx.Error(node["enabled"],
                     what + ": enabled must be auto, true or false, not '" + enabled + "'");
  }
  std::string label = LocalHostName();
  if (!(s = ctx.GetString(node, what, "host", false, &label)).ok()) return s;
  if (label.empty()) return ctx.Error(node["host"], what + ": host is empty");
  std::string library = "libnvidia-ml.so.1";
  if (!(s = ctx.GetString(node, what, "nvml_library", false, &library)).ok()) return s;
  if (library.empty()) return ctx.Error(node["nvml_library"], what + ": nvml_library is empty");
  if (library.find('/') != std::string::npos) library = ctx.ResolvePath(library);
  std::optional<int64_t> expected;
  if (node["expected_gpus"] && !node["expected_gpus"].IsNull()) {
    int64_t n = 0;
    if (!(s = ctx.GetInt(node, what, "expected_gpus", 1, 64, &n)).ok()) return s;
    expected = n;
  }
  if (enabled == "false") return std::unique_ptr<Collector>();
  std::vector<std::string> argv = ctx.Command("nvidia-smi", {"nvidia-smi"});
  // The query and format are the parser's contract, so they are always
  // appended: an override changes only the program and leading arguments.
  argv.push_back(std::string("--query-gpu=") + kNvidiaSmiQueryFields);
  argv.push_back("--format=csv,noheader,nounits");
  return std::unique_ptr<Collector>(new GpuCollector(enabled == "auto" ? Mode::kAuto : Mode::kRequired,
                                                     std::move(label), std::move(library), expected,
                                                     std::move(argv)));
}

}  // namespace joelclaw
