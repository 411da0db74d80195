#include "exporter/collectors/host_collector.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace joelclaw {
namespace {

// A finite, non-negative number at the start of `s` (after blanks), like
// "  16318412 kB" or "0.52". Rejects "nan", "inf" and an empty field.
bool ParseNumber(std::string_view s, double* out) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s.front())) || s.front() == '.')) {
    return false;
  }
  std::string tmp(s);
  char* end = nullptr;
  double v = std::strtod(tmp.c_str(), &end);
  if (end == tmp.c_str() || !std::isfinite(v) || v < 0) return false;
  *out = v;
  return true;
}

// The text for an error message: at most 40 bytes, printable ASCII only.
std::string Excerpt(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return s.size() > 40 ? out + "…" : out;
}

bool Blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
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
  if (Blank(text)) return Status::Error("file is empty");
  double total = -1, available = -1, free_kb = -1, buffers = -1, cached = -1;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string_view key(line.data(), colon);
    double* dest = key == "MemTotal"       ? &total
                   : key == "MemAvailable" ? &available
                   : key == "MemFree"      ? &free_kb
                   : key == "Buffers"      ? &buffers
                   : key == "Cached"       ? &cached
                                           : nullptr;
    if (dest == nullptr) continue;
    std::string_view value = std::string_view(line).substr(colon + 1);
    if (!ParseNumber(value, dest)) {
      return Status::Error(std::string(key) + " is not a number: \"" + Excerpt(line) + "\"");
    }
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
  if (Blank(text)) return Status::Error("file is empty");
  // "0.52 0.58 0.59 1/1234 5678": the three averages must all be numbers,
  // so that a truncated or foreign file is not half-read.
  std::istringstream in{std::string(text)};
  double loads[3];
  for (double& l : loads) {
    std::string field;
    if (!(in >> field) || !ParseNumber(field, &l) ||
        field.find_first_not_of("0123456789.") != std::string::npos) {
      return Status::Error("expected \"LOAD1 LOAD5 LOAD15 RUNNING/TOTAL LASTPID\", got \"" +
                           Excerpt(text.substr(0, text.find('\n'))) + "\"");
    }
  }
  out->load1 = loads[0];
  return Status::Ok();
}

Status ParseProcStat(std::string_view text, HostResources* out) {
  if (Blank(text)) return Status::Error("file is empty");
  std::istringstream in{std::string(text)};
  std::string line;
  int cpus = 0;
  double btime = -1;
  while (std::getline(in, line)) {
    if (line.size() > 3 && line.compare(0, 3, "cpu") == 0 &&
        std::isdigit(static_cast<unsigned char>(line[3]))) {
      ++cpus;
    } else if (line.compare(0, 6, "btime ") == 0) {
      if (!ParseNumber(std::string_view(line).substr(6), &btime)) {
        return Status::Error("btime is not a number: \"" + Excerpt(line) + "\"");
      }
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
    return ctx.Error(node, "host '" + host + "': resources must be true or false" +
                               (node.IsScalar() ? ", not '" + node.Scalar() + "'" : ""));
  }
  if (node.Scalar() == "false") return std::unique_ptr<Collector>();
  return std::unique_ptr<Collector>(new HostCollector(host));
}

}  // namespace joelclaw
