#include "exporter/collectors/host_collector.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <utility>
#include <vector>

#include "exporter/text_parse.h"

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

// A whole field that is a non-negative decimal integer and nothing else.
bool ParseWholeInteger(std::string_view s, double* out) {
  s = TrimBlanks(s);
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos &&
         ParseNumber(s, out);
}

// A whole field that is a non-negative decimal number ("1.23") and nothing else.
bool ParseWholeDecimal(std::string_view s, double* out) {
  s = TrimBlanks(s);
  return !s.empty() && s.find_first_not_of("0123456789.") == std::string_view::npos &&
         std::count(s.begin(), s.end(), '.') <= 1 && ParseNumber(s, out);
}

// Blank-separated words of `s`, with commas read as blanks.
std::vector<std::string> Words(std::string_view s) {
  std::string text(s);
  std::replace(text.begin(), text.end(), ',', ' ');
  std::istringstream in(text);
  std::vector<std::string> words;
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

// The first line of a command's stderr, for an error message.
class HostCollector : public Collector {
 public:
  HostCollector(std::string host, HostSource source, std::vector<std::string> sysctl_argv,
                std::vector<std::string> vm_stat_argv)
      : host_(std::move(host)),
        source_(source),
        sysctl_argv_(std::move(sysctl_argv)),
        vm_stat_argv_(std::move(vm_stat_argv)) {}

  Status Collect(const CollectContext& ctx, CollectOutput* out) override {
    HostResources r;
    Status read = source_ == HostSource::kSysctl ? ReadSysctl(ctx, &r) : ReadProc(ctx, &r);
    if (!read.ok()) return read;
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
  // Linux: /proc/meminfo, /proc/loadavg, /proc/stat.
  static Status ReadProc(const CollectContext& ctx, HostResources* r) {
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
      Status s = src.parse(*text, r);
      if (!s.ok()) return s.WithPrefix(src.path);
    }
    return Status::Ok();
  }

  // macOS: `sysctl …` for total memory, CPUs, page size, load and boot
  // time, then `vm_stat` for available memory.
  Status ReadSysctl(const CollectContext& ctx, HostResources* r) const {
    Result<std::string> sysctl = RunCommand(ctx, sysctl_argv_);
    if (!sysctl.ok()) return sysctl.status();
    Status s = ParseSysctlValues(*sysctl, r);
    if (!s.ok()) return s.WithPrefix("sysctl");
    Result<std::string> vm_stat = RunCommand(ctx, vm_stat_argv_);
    if (!vm_stat.ok()) return vm_stat.status();
    Result<double> available = ParseVmStat(*vm_stat, r->page_size_bytes);
    if (!available.ok()) return available.status().WithPrefix("vm_stat");
    r->memory_available_bytes = *available;
    return Status::Ok();
  }

  // Its stdout, or an error when it could not run or did not exit 0.
  static Result<std::string> RunCommand(const CollectContext& ctx,
                                        const std::vector<std::string>& argv) {
    Result<CommandResult> run = ctx.env->Run(argv, ctx.Remaining(), ctx.cancel);
    if (!run.ok()) return run.status();
    if (run->term_signal != 0) {
      return Result<std::string>::Error("'" + argv[0] + "' was killed by signal " +
                                        std::to_string(run->term_signal));
    }
    if (run->exit_code != 0) {
      return Result<std::string>::Error("'" + argv[0] + "' exited with status " +
                                        std::to_string(run->exit_code) + ": " +
                                        FirstLineOf(run->err));
    }
    return std::move(run->out);
  }

  std::string host_;
  HostSource source_;
  std::vector<std::string> sysctl_argv_;
  std::vector<std::string> vm_stat_argv_;
};

}  // namespace

Status ParseProcMeminfo(std::string_view text, HostResources* out) {
  if (TrimBlanks(text).empty()) return Status::Error("file is empty");
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
  if (TrimBlanks(text).empty()) return Status::Error("file is empty");
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
  if (TrimBlanks(text).empty()) return Status::Error("file is empty");
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

Status ParseSysctlValues(std::string_view text, HostResources* out) {
  if (TrimBlanks(text).empty()) return Status::Error("output is empty");
  double memsize = -1, ncpu = -1, pagesize = -1, load1 = -1, boot = -1;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string_view key = TrimBlanks(std::string_view(line).substr(0, colon));
    std::string_view value =
        TrimBlanks(std::string_view(line).substr(colon + 1));
    if (key == "hw.memsize" || key == "hw.ncpu" || key == "hw.pagesize") {
      double* dest = key == "hw.memsize" ? &memsize : key == "hw.ncpu" ? &ncpu : &pagesize;
      if (!ParseWholeInteger(value, dest) || *dest <= 0) {
        return Status::Error(std::string(key) + " is not a positive integer: \"" +
                             Excerpt(line) + "\"");
      }
    } else if (key == "vm.loadavg") {
      // "{ 1.23 1.45 1.67 }": all three must be numbers, so that a
      // truncated line is not half-read.
      std::vector<std::string> w = Words(value);
      double loads[3];
      if (w.size() != 5 || w[0] != "{" || w[4] != "}" || !ParseWholeDecimal(w[1], &loads[0]) ||
          !ParseWholeDecimal(w[2], &loads[1]) || !ParseWholeDecimal(w[3], &loads[2])) {
        return Status::Error("vm.loadavg: expected \"{ LOAD1 LOAD5 LOAD15 }\", got \"" +
                             Excerpt(value) + "\"");
      }
      load1 = loads[0];
    } else if (key == "kern.boottime") {
      // "{ sec = 1700000000, usec = 123456 } Mon Nov 13 22:13:20 2023"; the
      // date after the braces is the same instant in local time, ignored.
      std::vector<std::string> w = Words(value);
      double sec = -1, usec = -1;
      if (w.size() < 8 || w[0] != "{" || w[1] != "sec" || w[2] != "=" ||
          !ParseWholeInteger(w[3], &sec) || w[4] != "usec" || w[5] != "=" ||
          !ParseWholeInteger(w[6], &usec) || usec >= 1e6 || w[7] != "}") {
        return Status::Error(
            "kern.boottime: expected \"{ sec = SECONDS, usec = MICROSECONDS } DATE\", got \"" +
            Excerpt(value) + "\"");
      }
      boot = sec + usec / 1e6;
    }
  }
  if (memsize < 0) return Status::Error("no hw.memsize line");
  if (ncpu < 0) return Status::Error("no hw.ncpu line");
  if (pagesize < 0) return Status::Error("no hw.pagesize line");
  if (load1 < 0) return Status::Error("no vm.loadavg line");
  if (boot < 0) return Status::Error("no kern.boottime line");
  out->memory_total_bytes = memsize;
  out->cpus = ncpu;
  out->page_size_bytes = pagesize;
  out->load1 = load1;
  out->boot_timestamp_seconds = boot;
  return Status::Ok();
}

Result<double> ParseVmStat(std::string_view text, double page_size) {
  if (TrimBlanks(text).empty()) return Result<double>::Error("output is empty");
  static constexpr std::string_view kHeader = "Mach Virtual Memory Statistics:";
  static constexpr std::string_view kPageSizeOf = "(page size of ";
  double header_page_size = -1, free_pages = -1, inactive = -1, speculative = -1;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::string_view view(line);
    if (view.substr(0, kHeader.size()) == kHeader) {
      // "Mach Virtual Memory Statistics: (page size of 16384 bytes)"
      size_t at = view.find(kPageSizeOf);
      size_t end = at == std::string_view::npos ? at : view.find(" bytes)", at);
      if (end == std::string_view::npos ||
          !ParseWholeInteger(view.substr(at + kPageSizeOf.size(), end - at - kPageSizeOf.size()),
                             &header_page_size) ||
          header_page_size <= 0) {
        return Result<double>::Error("expected \"(page size of N bytes)\" in the header, got \"" +
                                     Excerpt(line) + "\"");
      }
      continue;
    }
    size_t colon = view.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = TrimBlanks(view.substr(0, colon));
    double* dest = key == "Pages free"          ? &free_pages
                   : key == "Pages inactive"    ? &inactive
                   : key == "Pages speculative" ? &speculative
                                                : nullptr;
    if (dest == nullptr) continue;
    // "Pages free:                              123456." (a trailing dot).
    std::string_view value = TrimBlanks(view.substr(colon + 1));
    if (!value.empty() && value.back() == '.') value.remove_suffix(1);
    if (!ParseWholeInteger(value, dest)) {
      return Result<double>::Error(std::string(key) + " is not a number: \"" + Excerpt(line) +
                                   "\"");
    }
  }
  if (free_pages < 0) return Result<double>::Error("no \"Pages free\" line");
  if (inactive < 0) return Result<double>::Error("no \"Pages inactive\" line");
  if (speculative < 0) return Result<double>::Error("no \"Pages speculative\" line");
  const double page = header_page_size > 0 ? header_page_size : page_size;
  if (!(page > 0)) {
    return Result<double>::Error("no \"(page size of N bytes)\" header and no hw.pagesize");
  }
  return (free_pages + speculative + inactive) * page;
}

std::unique_ptr<Collector> NewHostCollector(const std::string& host, HostSource source,
                                            const ConfigContext& ctx) {
  return std::unique_ptr<Collector>(new HostCollector(
      host, source,
      ctx.Command("sysctl",
                  {"sysctl", "hw.memsize", "hw.ncpu", "hw.pagesize", "vm.loadavg", "kern.boottime"}),
      ctx.Command("vm_stat", {"vm_stat"})));
}

Result<std::unique_ptr<Collector>> ParseHostCollector(const YAML::Node& node,
                                                      const ConfigContext& ctx,
                                                      const std::string& host) {
  if (!node.IsScalar() || (node.Scalar() != "true" && node.Scalar() != "false")) {
    return ctx.Error(node, "host '" + host + "': resources must be true or false" +
                               (node.IsScalar() ? ", not '" + node.Scalar() + "'" : ""));
  }
  if (node.Scalar() == "false") return std::unique_ptr<Collector>();
  return NewHostCollector(host, kDefaultHostSource, ctx);
}

}  // namespace joelclaw
