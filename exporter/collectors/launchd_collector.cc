#include "exporter/collectors/launchd_collector.h"

#include <cerrno>
#include <cstdlib>
#include <set>
#include <vector>

#include "exporter/text_parse.h"

namespace joelclaw {
namespace {

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

struct JobMemory {
  bool seen = false;
  bool running = false;
  long pid = 0;
  std::optional<long> runs;
  double restarts = 0;
};

class LaunchdCollector : public Collector {
 public:
  LaunchdCollector(std::string host, std::vector<std::string> jobs, std::string domain,
                   std::vector<std::string> list_argv, std::vector<std::string> print_argv)
      : host_(std::move(host)), jobs_(std::move(jobs)), domain_(std::move(domain)),
        list_argv_(std::move(list_argv)), print_argv_(std::move(print_argv)) {}

  Status Collect(const CollectContext& ctx, CollectOutput* out) override {
    Result<CommandResult> run = ctx.env->Run(list_argv_, ctx.Remaining(), ctx.cancel);
    if (!run.ok()) return run.status();
    if (run->exit_code != 0) {
      return Status::Error("'" + list_argv_[0] + "' exited with status " +
                           std::to_string(run->exit_code) + ": " + FirstLineOf(run->err));
    }
    Result<std::map<std::string, LaunchctlListEntry>> list = ParseLaunchctlList(run->out);
    if (!list.ok()) return list.status().WithPrefix("launchctl list");
    nlohmann::json details = nlohmann::json::array();
    std::string print_errors;
    for (const std::string& label : jobs_) {
      const Labels l = {{"host", host_}, {"label", label}};
      JobMemory& mem = memory_[label];
      auto it = list->find(label);
      const bool present = it != list->end();
      bool running = present && it->second.pid.has_value() && *it->second.pid > 0;
      long pid = running ? *it->second.pid : 0;
      std::optional<long> status = present ? it->second.last_status : std::nullopt;
      std::optional<long> runs;
      if (present && !domain_.empty()) {
        // `launchctl print` knows launchd's own launch counter, which
        // catches restarts that happen between two of our polls.
        std::vector<std::string> argv = print_argv_;
        argv.push_back(domain_ + "/" + label);
        Result<CommandResult> p = ctx.env->Run(argv, ctx.Remaining(), ctx.cancel);
        if (p.ok() && p->exit_code == 0) {
          Result<LaunchctlPrint> parsed = ParseLaunchctlPrint(p->out);
          if (parsed.ok()) {
            runs = parsed->runs;
          } else {
            print_errors += "; " + label + ": " + parsed.status().message();
          }
        } else {
          print_errors += "; " + label + ": " +
                          (p.ok() ? "launchctl print exited " + std::to_string(p->exit_code)
                                  : p.status().message());
        }
      }
      if (mem.seen) {
        double observed = 0;
        if (running && (!mem.running || mem.pid != pid)) observed = 1;
        double counted = 0;
        if (runs && mem.runs && *runs > *mem.runs) counted = static_cast<double>(*runs - *mem.runs);
        mem.restarts += std::max(observed, counted);
      }
      mem.seen = true;
      mem.running = running;
      mem.pid = pid;
      if (runs) mem.runs = runs;

      out->metrics.Gauge("joelclaw_launchd_job_present",
                         "1 if the configured job is loaded in launchd, 0 if it is missing.", l,
                         present ? 1 : 0);
      out->metrics.Gauge("joelclaw_launchd_job_running", "1 if the job has a running process.",
                         l, running ? 1 : 0);
      out->metrics.Gauge("joelclaw_launchd_job_pid",
                         "PID of the job's process, 0 when it is not running.", l, pid);
      if (status) {
        out->metrics.Gauge("joelclaw_launchd_job_last_exit_status",
                           "Last exit status of the job; negative is the signal that killed it.",
                           l, static_cast<double>(*status));
      }
      out->metrics.Counter("joelclaw_launchd_job_restarts_total",
                           "Restarts of the job the exporter observed (PID changes, down-to-up "
                           "transitions and launchd run counts between polls).",
                           l, mem.restarts);
      nlohmann::json job = {{"label", label},
                            {"present", present},
                            {"running", running},
                            {"restarts", mem.restarts}};
      job["pid"] = running ? nlohmann::json(pid) : nlohmann::json();
      job["last_exit_status"] = status ? nlohmann::json(*status) : nlohmann::json();
      details.push_back(std::move(job));
    }
    out->details = {{"jobs", details}};
    if (!print_errors.empty()) return Status::Error("launchctl print failed" + print_errors);
    return Status::Ok();
  }

  void InheritState(Collector& previous) override {
    memory_ = static_cast<LaunchdCollector&>(previous).memory_;
  }

 private:
  std::string host_;
  std::vector<std::string> jobs_;
  std::string domain_;
  std::vector<std::string> list_argv_, print_argv_;
  std::map<std::string, JobMemory> memory_;
};

}  // namespace

Result<std::map<std::string, LaunchctlListEntry>> ParseLaunchctlList(std::string_view text) {
  std::map<std::string, LaunchctlListEntry> jobs;
  if (TrimBlanks(text).empty()) return Status::Error("empty output");
  size_t start = 0;
  bool saw_header = false;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    std::vector<std::string_view> f = SplitFields(line);
    if (f.empty()) continue;
    if (f.size() >= 3 && f[0] == "PID" && f[1] == "Status") {
      saw_header = true;
      continue;
    }
    if (f.size() != 3) continue;  // Labels have no spaces; anything else is noise.
    LaunchctlListEntry e;
    long v;
    if (f[0] != "-") {
      if (!ParseSignedLong(f[0], &v)) continue;
      e.pid = v;
    }
    if (f[1] != "-") {
      if (!ParseSignedLong(f[1], &v)) continue;
      e.last_status = v;
    }
    jobs[std::string(f[2])] = e;
  }
  if (jobs.empty()) {
    return Status::Error(saw_header ? "no jobs listed after the header"
                                    : "no 'PID Status Label' lines found");
  }
  return jobs;
}

Result<LaunchctlPrint> ParseLaunchctlPrint(std::string_view text) {
  LaunchctlPrint p;
  int depth = 0;
  bool opened = false, saw_field = false;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = TrimBlanks(
        text.substr(start, nl == std::string_view::npos ? nl : nl - start));
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.empty()) continue;
    if (line.back() == '{') {
      ++depth;
      opened = true;
      continue;
    }
    if (line == "}") {
      --depth;
      continue;
    }
    if (depth != 1) continue;  // Nested blocks have their own "state =" lines.
    size_t eq = line.find(" = ");
    if (eq == std::string_view::npos) continue;
    std::string_view key = line.substr(0, eq);
    std::string_view value = TrimBlanks(line.substr(eq + 3));
    long v;
    if (key == "state") {
      p.state = std::string(value);
      saw_field = true;
    } else if (key == "pid" && ParseSignedLong(value, &v)) {
      p.pid = v;
    } else if (key == "runs" && ParseSignedLong(value, &v)) {
      p.runs = v;
      saw_field = true;
    } else if (key == "last exit code") {
      size_t colon = value.find(':');
      if (ParseSignedLong(TrimBlanks(value.substr(0, colon)), &v))
        p.last_exit_code = v;
    }
  }
  if (!opened) return Status::Error("not launchctl print output (no '<service> = {' line)");
  if (!saw_field) return Status::Error("no state or runs field at the service's top level");
  return p;
}

Result<std::unique_ptr<Collector>> ParseLaunchdCollector(const YAML::Node& node,
                                                         const ConfigContext& ctx,
                                                         const std::string& host) {
  const std::string what = "host '" + host + "': launchd";
  Status s = ctx.CheckMap(node, what, {"jobs", "domain"});
  if (!s.ok()) return s;
  std::vector<std::string> jobs;
  if (!(s = ctx.GetStringList(node, what, "jobs", &jobs)).ok()) return s;
  if (jobs.empty()) return ctx.Error(node, what + " has no jobs");
  std::set<std::string> seen;
  for (const std::string& j : jobs) {
    if (!seen.insert(j).second) return ctx.Error(node["jobs"], what + ": job '" + j + "' is listed twice");
    if (j.find_first_of(" \t/") != std::string::npos) {
      return ctx.Error(node["jobs"], what + ": job label '" + j + "' has spaces or slashes");
    }
  }
  std::string domain;
  if (!(s = ctx.GetString(node, what, "domain", false, &domain)).ok()) return s;
  if (!domain.empty() && domain != "system" && domain.rfind("gui/", 0) != 0 &&
      domain.rfind("user/", 0) != 0) {
    return ctx.Error(node["domain"], what + ": domain must be system, gui/<uid> or user/<uid>");
  }
  return std::unique_ptr<Collector>(new LaunchdCollector(
      host, std::move(jobs), domain, ctx.Command("launchctl", {"launchctl", "list"}),
      ctx.Command("launchctl_print", {"launchctl", "print"})));
}

}  // namespace joelclaw
