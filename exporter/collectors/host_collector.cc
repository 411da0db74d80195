#include "exporter/collectors/host_collector.h"

#include <charconv>
#include <sstream>

namespace joelclaw {
namespace {

bool ParseNumber(std::string_view s, double* out) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  if (s.empty()) return false;
  std::string tmp(s);
  char* end = nullptr;
  *out = std::strtod(tmp.c_str(), &end);
  return end != tmp.c_str();
}

class HostCollector : public Collector {
 public:
  explicit HostCollector(std::string host) : host_(std::move(host)) {}

  Status Collect(const CollectContext& ctx, CollectOutput* out) override {
    HostResources r;
    struct Source {
      const char* path;
      Status (*parse)(std::string_view, HostResources*);
    };
    static constexpr Source kSources[] = {{"/proc/meminfo", ParseProcMeminfo},
                                          {"/proc/loadavg", ParseProcLoadavg},
                                          {"/proc/stat", ParseProcStat}};
    for (const Source& src : kSources) {
      Result<std::string> text = ctx.env->ReadFile(src.path);
      if (!text.ok()) return text.status();
      Status s = src.parse(*text, &r);
      if (!s.ok()) return s.WithPrefix(src.path);
    }
    const Labels l = {{"host", host_}};
    out->metrics.Gauge("joelclaw_host_memory_total_bytes", "Total physical memory.", l,
                       r.memory_total_bytes);
    out->metrics.Gauge("joelclaw_host_memory_available_bytes",
                       "Memory available for new work without swapping.", l,
                       r.memory_available_bytes);
    out->metrics.Gauge("joelclaw_host_load1", "One-minute load average.", l, r.load1);
    out->metrics.Gauge("joelclaw_host_cpus", "Number of logical CPUs.", l, r.cpus);
    out->metrics.Gauge("joelclaw_host_boot_timestamp_seconds",
                       "When the host booted, Unix seconds.", l, r.boot_timestamp_seconds);
    out->details = {{"memory_total_bytes", r.memory_total_bytes},
                    {"memory_available_bytes", r.memory_available_bytes},
                    {"load1", r.load1},
                    {"cpus", r.cpus},
                    {"boot_timestamp_seconds", r.boot_timestamp_seconds}};
    return Status::Ok();
  }

 private:
  std::string host_;
};

}  // namespace

Status ParseProcMeminfo(std::string_view text, HostResources* out) {
  double total = -1, available = -1, free_kb = -1, buffers = -1, cached = -1;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string_view key(line.data(), colon);
    double v;
    if (!ParseNumber(std::string_view(line).substr(colon + 1), &v)) continue;
    if (key == "MemTotal") total = v;
    else if (key == "MemAvailable") available = v;
    else if (key == "MemFree") free_kb = v;
    else if (key == "Buffers") buffers = v;
    else if (key == "Cached") cached = v;
  }
  if (total < 0) return Status::Error("no MemTotal line");
  if (available < 0) {
    // Kernels before 3.14 have no MemAvailable; approximate it.
    if (free_kb < 0) return Status::Error("no MemAvailable or MemFree line");
    available = free_kb + std::max(0.0, buffers) + std::max(0.0, cached);
  }
  out->memory_total_bytes = total * 1024;
  out->memory_available_bytes = available * 1024;
  return Status::Ok();
}

Status ParseProcLoadavg(std::string_view text, HostResources* out) {
  double load1;
  size_t space = text.find(' ');
  if (text.empty() || space == std::string_view::npos || !ParseNumber(text.substr(0, space), &load1)) {
    return Status::Error("expected \"LOAD1 LOAD5 LOAD15 …\"");
  }
  out->load1 = load1;
  return Status::Ok();
}

Status ParseProcStat(std::string_view text, HostResources* out) {
  std::istringstream in{std::string(text)};
  std::string line;
  int cpus = 0;
  double btime = -1;
  while (std::getline(in, line)) {
    if (line.size() > 3 && line.compare(0, 3, "cpu") == 0 &&
        std::isdigit(static_cast<unsigned char>(line[3]))) {
      ++cpus;
    } else if (line.compare(0, 6, "btime ") == 0) {
      ParseNumber(std::string_view(line).substr(6), &btime);
    }
  }
  if (btime < 0) return Status::Error("no btime line");
  if (cpus == 0) return Status::Error("no cpuN lines");
  out->boot_timestamp_seconds = btime;
  out->cpus = cpus;
  return Status::Ok();
}

Result<std::unique_ptr<Collector>> ParseHostCollector(const YAML::Node& node,
                                                      const ConfigContext& ctx,
                                                      const std::string& host) {
  if (!node.IsScalar() || (node.Scalar() != "true" && node.Scalar() != "false")) {
    return ctx.Error(node, "host '" + host + "': resources must be true or false");
  }
  if (node.Scalar() == "false") return std::unique_ptr<Collector>();
  return std::unique_ptr<Collector>(new HostCollector(host));
}

}  // namespace joelclaw
