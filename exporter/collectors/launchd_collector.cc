#include "exporter/collectors/launchd_collector.h"

#include <cerrno>
#include <cstdlib>
#include <set>
#include <vector>

#include "exporter/recent_events.h"
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

// One configured job: `jobs:` entries are a label or a map.
struct JobConfig {
  std::string label;
  std::optional<LaunchdJobKind> kind;      // Set by `kind:`; overrides print.
  std::optional<double> interval_seconds;  // `interval:`, periodic only.
  std::string description;
};

struct JobMemory {
  bool seen = false;
  bool running = false;
  long pid = 0;
  std::optional<long> runs;
  double restarts = 0;
  double watching_since = 0;  // When the exporter first polled the job.
  double last_run = 0;        // When it last saw the job run; 0 = never.
  LaunchdJobKindInfo learnt;  // From the last readable `launchctl print`.
  RecentEvents recent_restarts;
};

const char kKindHelp[] =
    "1 for the job's kind (keepalive: meant to run all the time; periodic: StartInterval or "
    "StartCalendarInterval; on_demand: started by an event; unknown: not configured and not "
    "learnt from launchctl print), 0 for the others.";

class LaunchdCollector : public Collector {
 public:
  LaunchdCollector(std::string host, std::vector<JobConfig> jobs, std::string domain,
                   std::vector<std::string> list_argv, std::vector<std::string> print_argv)
      : host_(std::move(host)),
        jobs_(std::move(jobs)),
        domain_(std::move(domain)),
        list_argv_(std::move(list_argv)),
        print_argv_(std::move(print_argv)) {}

  Status Collect(const CollectContext& ctx, CollectOutput* out) override {
    Result<CommandResult> run = ctx.env->Run(list_argv_, ctx.Remaining(), ctx.cancel);
    if (!run.ok()) return run.status();
    if (run->exit_code != 0) {
      return Status::Error("'" + list_argv_[0] + "' exited with status " +
                           std::to_string(run->exit_code) + ": " + FirstLineOf(run->err));
    }
    Result<std::map<std::string, LaunchctlListEntry>> list = ParseLaunchctlList(run->out);
    if (!list.ok()) return list.status().WithPrefix("launchctl list");
    const double now = ctx.env->NowSeconds();
    nlohmann::json details = nlohmann::json::array();
    std::string print_errors;
    for (const JobConfig& job : jobs_) {
      const std::string& label = job.label;
      const Labels l = {{"host", host_}, {"label", label}};
      JobMemory& mem = memory_[label];
      auto it = list->find(label);
      const bool present = it != list->end();
      bool running = present && it->second.pid.has_value() && *it->second.pid > 0;
      long pid = running ? *it->second.pid : 0;
      // Plain values, not optionals: GCC 12 -O2 misreads copies of
      // std::optional<long> as possibly uninitialized.
      const bool has_status = present && it->second.last_status.has_value();
      const long status = has_status ? *it->second.last_status : 0;
      std::optional<long> runs;
      if (present && !domain_.empty()) {
        // `launchctl print` knows launchd's own launch counter, which
        // catches restarts that happen between two of our polls, and what
        // kind of job this is.
        std::vector<std::string> argv = print_argv_;
        argv.push_back(domain_ + "/" + label);
        Result<CommandResult> p = ctx.env->Run(argv, ctx.Remaining(), ctx.cancel);
        if (p.ok() && p->exit_code == 0) {
          Result<LaunchctlPrint> parsed = ParseLaunchctlPrint(p->out);
          if (parsed.ok()) {
            runs = parsed->runs;
            mem.learnt = InferLaunchdJobKind(*parsed);
          } else {
            print_errors += "; " + label + ": " + parsed.status().message();
          }
        } else {
          print_errors += "; " + label + ": " +
                          (p.ok() ? "launchctl print exited " + std::to_string(p->exit_code)
                                  : p.status().message());
        }
      }
      if (!mem.seen && mem.watching_since == 0) mem.watching_since = now;
      bool ran = running;
      if (mem.seen) {
        double observed = 0;
        if (running && (!mem.running || mem.pid != pid)) observed = 1;
        double counted = 0;
        if (runs && mem.runs && *runs > *mem.runs) counted = static_cast<double>(*runs - *mem.runs);
        const double restarts = std::max(observed, counted);
        mem.restarts += restarts;
        mem.recent_restarts.Add(now, restarts);
        ran = ran || counted > 0;
      }
      if (ran) mem.last_run = now;
      mem.seen = true;
      mem.running = running;
      mem.pid = pid;
      if (runs) mem.runs = runs;

      // The configured kind wins; a periodic job configured without an
      // interval takes the one launchd reports.
      LaunchdJobKindInfo kind = mem.learnt;
      if (job.kind) {
        kind.kind = *job.kind;
        if (job.interval_seconds || kind.kind != mem.learnt.kind) {
          kind.interval_seconds = job.interval_seconds;
        }
      }
      if (kind.kind != LaunchdJobKind::kPeriodic) kind.interval_seconds.reset();
      const bool has_interval = kind.interval_seconds.has_value();
      const double interval = kind.interval_seconds.value_or(0);
      const double last_run = mem.last_run > 0 ? mem.last_run : mem.watching_since;

      out->metrics.Gauge("joelclaw_launchd_job_present",
                         "1 if the configured job is loaded in launchd, 0 if it is missing.", l,
                         present ? 1 : 0);
      out->metrics.Gauge("joelclaw_launchd_job_running", "1 if the job has a running process.",
                         l, running ? 1 : 0);
      out->metrics.Gauge("joelclaw_launchd_job_pid",
                         "PID of the job's process, 0 when it is not running.", l, pid);
      if (has_status) {
        out->metrics.Gauge("joelclaw_launchd_job_last_exit_status",
                           "Last exit status of the job; negative is the signal that killed it.", l,
                           static_cast<double>(status));
      }
      out->metrics.Counter("joelclaw_launchd_job_restarts_total",
                           "Restarts of the job the exporter observed (PID changes, down-to-up "
                           "transitions and launchd run counts between polls).",
                           l, mem.restarts);
      for (LaunchdJobKind k : kLaunchdJobKinds) {
        Labels kl = l;
        kl.emplace_back("kind", std::string(LaunchdJobKindName(k)));
        out->metrics.Gauge("joelclaw_launchd_job_kind", kKindHelp, kl, k == kind.kind ? 1 : 0);
      }
      if (has_interval) {
        out->metrics.Gauge("joelclaw_launchd_job_run_interval_seconds",
                           "How often a periodic job is meant to run (StartInterval, the period "
                           "of its StartCalendarInterval, or `interval` in the config).",
                           l, interval);
      }
      out->metrics.Gauge("joelclaw_launchd_job_last_run_timestamp_seconds",
                         "When the exporter last saw the job run (running, a new PID, or "
                         "launchd's runs counter rising), Unix seconds; before it saw any run, "
                         "when it started watching the job.",
                         l, last_run);
      if (runs) {
        out->metrics.Counter("joelclaw_launchd_job_runs_total",
                             "launchd's own count of the job's launches (`runs` in launchctl "
                             "print); resets when the job is loaded again.",
                             l, static_cast<double>(*runs));
      }
      nlohmann::json j = {{"label", label},
                          {"description", job.description},
                          {"kind", LaunchdJobKindName(kind.kind)},
                          {"present", present},
                          {"running", running},
                          {"restarts", mem.restarts},
                          {"recent_restarts", mem.recent_restarts.Count(now)},
                          {"last_run", last_run}};
      j["pid"] = running ? nlohmann::json(pid) : nlohmann::json();
      j["last_exit_status"] = has_status ? nlohmann::json(status) : nlohmann::json();
      j["run_interval_seconds"] = has_interval ? nlohmann::json(interval) : nlohmann::json();
      j["runs"] = runs ? nlohmann::json(*runs) : nlohmann::json();
      details.push_back(std::move(j));
    }
    out->details = {{"jobs", details}};
    if (!print_errors.empty()) return Status::Error("launchctl print failed" + print_errors);
    return Status::Ok();
  }

  void InheritState(Collector& previous) override {
    memory_ = static_cast<LaunchdCollector&>(previous).memory_;
  }

  std::vector<std::string> ServiceNames() const override {
    std::vector<std::string> labels;
    for (const JobConfig& j : jobs_) labels.push_back(j.label);
    return labels;
  }

 private:
  std::string host_;
  std::vector<JobConfig> jobs_;
  std::string domain_;
  std::vector<std::string> list_argv_, print_argv_;
  std::map<std::string, JobMemory> memory_;
};

// `name = {`, `name => {`, `"name" = {`, `[` … → name.
std::string BlockName(std::string_view head) {
  head = TrimBlanks(head.substr(0, head.size() - 1));  // Drop the { or [.
  for (std::string_view arrow : {std::string_view("=>"), std::string_view("=")}) {
    if (head.size() >= arrow.size() && head.substr(head.size() - arrow.size()) == arrow) {
      head = TrimBlanks(head.substr(0, head.size() - arrow.size()));
      break;
    }
  }
  if (head.size() >= 2 && head.front() == '"' && head.back() == '"') {
    head = head.substr(1, head.size() - 2);
  }
  return std::string(head);
}

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
  // The names of the open blocks, outermost (the service itself) first.
  std::vector<std::string> blocks;
  bool opened = false, saw_field = false;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = TrimBlanks(
        text.substr(start, nl == std::string_view::npos ? nl : nl - start));
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.empty()) continue;
    if (line.back() == '{' || line.back() == '[') {
      blocks.push_back(BlockName(line));
      opened = true;
      if (blocks.size() == 2 && blocks[1] == "sockets") p.has_sockets = true;
      if (blocks.size() == 2 && blocks[1] == "endpoints") p.has_endpoints = true;
      if (blocks.size() == 3 && blocks[1] == "event triggers") {
        p.event_triggers.push_back({blocks[2], "", {}});
      }
      // A descriptor key whose value is a list: `"WatchPaths" => [`.
      if (blocks.size() == 5 && blocks[1] == "event triggers" && blocks[3] == "descriptor" &&
          !p.event_triggers.empty()) {
        p.event_triggers.back().descriptor_keys.push_back(blocks[4]);
      }
      continue;
    }
    if (line == "}" || line == "]") {
      if (!blocks.empty()) blocks.pop_back();
      continue;
    }
    const bool in_trigger =
        blocks.size() >= 3 && blocks[1] == "event triggers" && !p.event_triggers.empty();
    if (in_trigger && blocks.size() == 3) {
      // A trigger's own fields: `stream = com.apple.launchd.calendarinterval`.
      size_t eq = line.find(" = ");
      if (eq != std::string_view::npos && line.substr(0, eq) == "stream") {
        p.event_triggers.back().stream = std::string(TrimBlanks(line.substr(eq + 3)));
      }
      continue;
    }
    if (in_trigger && blocks.size() == 4 && blocks[3] == "descriptor") {
      // `"Minute" => 17` (quoted in real output; accept it bare too).
      size_t arrow = line.find("=>");
      if (arrow == std::string_view::npos) continue;
      std::string_view key = TrimBlanks(line.substr(0, arrow));
      if (key.size() >= 2 && key.front() == '"' && key.back() == '"') {
        key = key.substr(1, key.size() - 2);
      }
      if (!key.empty()) p.event_triggers.back().descriptor_keys.emplace_back(key);
      continue;
    }
    if (blocks.size() != 1) continue;  // Nested blocks have their own "state =" lines.
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
    } else if (key == "run interval") {
      // "300 seconds".
      size_t space = value.find(' ');
      if (ParseSignedLong(value.substr(0, space), &v) && v > 0) p.run_interval_seconds = v;
    } else if (key == "properties") {
      while (!value.empty()) {
        size_t bar = value.find('|');
        std::string_view word = TrimBlanks(value.substr(0, bar));
        if (!word.empty()) p.properties.emplace(word);
        value = bar == std::string_view::npos ? std::string_view() : value.substr(bar + 1);
      }
    }
  }
  if (!opened) return Status::Error("not launchctl print output (no '<service> = {' line)");
  if (!saw_field) return Status::Error("no state or runs field at the service's top level");
  return p;
}

std::string_view LaunchdJobKindName(LaunchdJobKind kind) {
  switch (kind) {
    case LaunchdJobKind::kKeepAlive:
      return "keepalive";
    case LaunchdJobKind::kPeriodic:
      return "periodic";
    case LaunchdJobKind::kOnDemand:
      return "on_demand";
    case LaunchdJobKind::kUnknown:
      break;
  }
  return "unknown";
}

double CalendarPeriodSeconds(const std::vector<std::string>& descriptor_keys) {
  constexpr double kDay = 86400;
  // From the largest unit down: a descriptor that fixes the month fires
  // once a year, whatever else it fixes.
  constexpr std::pair<std::string_view, double> kPeriods[] = {{"Month", 366 * kDay},
                                                              {"Day", 31 * kDay},
                                                              {"Weekday", 7 * kDay},
                                                              {"Hour", kDay},
                                                              {"Minute", 3600}};
  for (const auto& [key, period] : kPeriods) {
    for (const std::string& k : descriptor_keys) {
      if (k == key) return period;
    }
  }
  return 60;  // Every key a wildcard: launchd fires it every minute.
}

LaunchdJobKindInfo InferLaunchdJobKind(const LaunchctlPrint& print) {
  if (print.properties.count("keepalive") > 0) return {LaunchdJobKind::kKeepAlive, std::nullopt};
  if (print.run_interval_seconds) {
    return {LaunchdJobKind::kPeriodic, static_cast<double>(*print.run_interval_seconds)};
  }
  std::optional<double> period;
  for (const LaunchctlEventTrigger& t : print.event_triggers) {
    const bool calendar = t.stream.empty() ? t.name.find("calendarinterval") != std::string::npos
                                           : t.stream == "com.apple.launchd.calendarinterval";
    if (!calendar) continue;
    const double p = CalendarPeriodSeconds(t.descriptor_keys);
    period = std::min(period.value_or(p), p);
  }
  if (period) return {LaunchdJobKind::kPeriodic, period};
  // Event triggers, sockets, Mach services, or nothing that starts it but
  // RunAtLoad or a person: none of these is meant to be running.
  return {LaunchdJobKind::kOnDemand, std::nullopt};
}

namespace {

bool ParseKindName(std::string_view name, LaunchdJobKind* kind) {
  for (LaunchdJobKind k :
       {LaunchdJobKind::kKeepAlive, LaunchdJobKind::kPeriodic, LaunchdJobKind::kOnDemand}) {
    if (LaunchdJobKindName(k) == name) {
      *kind = k;
      return true;
    }
  }
  return false;
}

Status ParseJob(const YAML::Node& node, const ConfigContext& ctx, const std::string& what,
                JobConfig* job) {
  if (node.IsScalar()) {
    job->label = node.Scalar();
  } else if (node.IsMap()) {
    Status s = ctx.CheckMap(node, what + ": job", {"label", "kind", "interval", "description"});
    if (!s.ok()) return s;
    if (!(s = ctx.GetString(node, what + ": job", "label", true, &job->label)).ok()) return s;
    const std::string jw = what + ": job '" + job->label + "'";
    std::string kind;
    if (!(s = ctx.GetString(node, jw, "kind", false, &kind)).ok()) return s;
    if (!kind.empty()) {
      LaunchdJobKind k;
      if (!ParseKindName(kind, &k)) {
        return ctx.Error(
            node["kind"],
            jw + ": kind must be keepalive, periodic or on_demand, not '" + kind + "'");
      }
      job->kind = k;
    }
    Duration interval{0};
    if (!(s = ctx.GetDuration(node, jw, "interval", &interval)).ok()) return s;
    if (interval.count() > 0) {
      if (job->kind != LaunchdJobKind::kPeriodic) {
        return ctx.Error(node["interval"], jw + ": interval needs kind: periodic");
      }
      job->interval_seconds = ToSeconds(interval);
    }
    if (!(s = ctx.GetString(node, jw, "description", false, &job->description)).ok()) return s;
  } else {
    return ctx.Error(node, what + ": jobs entries must be a label or a mapping with a label");
  }
  if (job->label.empty()) return ctx.Error(node, what + ": a job label is empty");
  if (job->label.find_first_of(" \t/") != std::string::npos) {
    return ctx.Error(node, what + ": job label '" + job->label + "' has spaces or slashes");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Collector>> ParseLaunchdCollector(const YAML::Node& node,
                                                         const ConfigContext& ctx,
                                                         const std::string& host) {
  const std::string what = "host '" + host + "': launchd";
  Status s = ctx.CheckMap(node, what, {"jobs", "domain"});
  if (!s.ok()) return s;
  const YAML::Node list = node["jobs"];
  if (!list || list.IsNull()) return ctx.Error(node, what + " has no jobs");
  if (!list.IsSequence()) return ctx.Error(list, what + ": jobs must be a list");
  std::vector<JobConfig> jobs;
  std::set<std::string> seen;
  for (const YAML::Node& entry : list) {
    JobConfig job;
    if (!(s = ParseJob(entry, ctx, what, &job)).ok()) return s;
    if (!seen.insert(job.label).second) {
      return ctx.Error(entry, what + ": job '" + job.label + "' is listed twice");
    }
    jobs.push_back(std::move(job));
  }
  if (jobs.empty()) return ctx.Error(list, what + " has no jobs");
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
