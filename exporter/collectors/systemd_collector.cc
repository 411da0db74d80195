#include "exporter/collectors/systemd_collector.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <set>

#include "exporter/recent_events.h"
#include "exporter/text_parse.h"

namespace joelclaw {
namespace {

constexpr const char* kShowProperties =
    "--property=Id,LoadState,ActiveState,SubState,NRestarts,MainPID,ExecMainStatus,"
    "ExecMainStartTimestampMonotonic";

// Unit types systemctl recognises as a suffix; anything else gets ".service",
// as systemctl's own name mangling does.
constexpr std::string_view kUnitTypes[] = {"service", "socket", "target", "device",
                                           "mount",   "automount", "swap", "timer",
                                           "path",    "slice", "scope"};

bool ParseUnsigned(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string_view::npos) {
    return false;
  }
  std::string tmp(s);
  errno = 0;
  unsigned long long v = std::strtoull(tmp.c_str(), nullptr, 10);
  if (errno != 0) return false;
  *out = v;
  return true;
}

bool IsPropertyName(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

// One block being read. `number` counts blocks from 1 for messages.
struct Block {
  SystemdUnit unit;
  int number = 0;
  bool has_id = false, has_load = false, has_active = false, has_sub = false;

  std::string Name() const {
    return "unit block " + std::to_string(number) + (unit.id.empty() ? "" : " (" + unit.id + ")");
  }
  Status Finish() const {
    const char* missing = !has_id       ? "Id"
                          : !has_load   ? "LoadState"
                          : !has_active ? "ActiveState"
                          : !has_sub    ? "SubState"
                                        : nullptr;
    if (missing != nullptr) return Status::Error(Name() + " has no " + missing);
    return Status::Ok();
  }
};

struct UnitMemory {
  bool seen = false;
  std::optional<uint64_t> n_restarts;
  bool active = false;
  long pid = 0;
  uint64_t start_usec = 0;
  double restarts = 0;
  RecentEvents recent_restarts;
};

class SystemdCollector : public Collector {
 public:
  SystemdCollector(std::string host, std::vector<std::string> units,
                   std::vector<std::string> descriptions, std::vector<std::string> systemctl_argv)
      : host_(std::move(host)),
        units_(std::move(units)),
        descriptions_(std::move(descriptions)),
        argv_(std::move(systemctl_argv)) {
    argv_.push_back("show");
    argv_.push_back(kShowProperties);
    argv_.push_back("--no-pager");
    argv_.insert(argv_.end(), units_.begin(), units_.end());
  }

  Status Collect(const CollectContext& ctx, CollectOutput* out) override {
    Result<CommandResult> run = ctx.env->Run(argv_, ctx.Remaining(), ctx.cancel);
    if (!run.ok()) return run.status();
    if (run->exit_code != 0) {
      return Status::Error("'" + argv_[0] + "' exited with status " +
                           std::to_string(run->exit_code) + ": " + FirstLineOf(run->err));
    }
    Result<std::vector<SystemdUnit>> shown = ParseSystemctlShow(run->out);
    if (!shown.ok()) return shown.status().WithPrefix("systemctl show");

    // systemctl prints one block per named unit, in order, so position is
    // the match; the Id can differ (an alias shows its real unit's name).
    // Only when the count is off do we fall back to matching by Id.
    std::vector<const SystemdUnit*> match(units_.size(), nullptr);
    if (shown->size() == units_.size()) {
      for (size_t i = 0; i < units_.size(); ++i) match[i] = &(*shown)[i];
    } else {
      for (size_t i = 0; i < units_.size(); ++i) {
        for (const SystemdUnit& u : *shown) {
          if (u.id == units_[i]) match[i] = &u;
        }
      }
    }

    const double now = ctx.env->NowSeconds();
    nlohmann::json details = nlohmann::json::array();
    std::string unmatched;
    for (size_t i = 0; i < units_.size(); ++i) {
      const std::string& name = units_[i];
      if (match[i] == nullptr) {
        unmatched += (unmatched.empty() ? "" : ", ") + name;
        continue;
      }
      const SystemdUnit& u = *match[i];
      UnitMemory& mem = memory_[name];
      const bool seen_before = mem.seen;
      const double restarts_before = mem.restarts;
      Update(u, mem);
      // The first poll adopts systemd's lifetime count: not recent.
      if (seen_before) mem.recent_restarts.Add(now, mem.restarts - restarts_before);

      const Labels l = {{"host", host_}, {"unit", name}};
      const bool present = u.load_state != "not-found";
      out->metrics.Gauge("joelclaw_systemd_unit_present",
                         "1 if systemd knows the configured unit, 0 if it is not found.", l,
                         present ? 1 : 0);
      out->metrics.Gauge("joelclaw_systemd_unit_active", "1 if the unit's ActiveState is active.",
                         l, u.active_state == "active" ? 1 : 0);
      for (std::string_view state : kSystemdActiveStates) {
        Labels sl = l;
        sl.emplace_back("state", std::string(state));
        out->metrics.Gauge("joelclaw_systemd_unit_state",
                           "1 for the unit's current ActiveState, 0 for every other state.", sl,
                           u.active_state == state ? 1 : 0);
      }
      out->metrics.Counter("joelclaw_systemd_unit_restarts_total",
                           "Automatic restarts of the unit: systemd's NRestarts, kept monotonic "
                           "across resets (or, before systemd 235, restarts the exporter "
                           "observed).",
                           l, mem.restarts);

      nlohmann::json unit = {{"unit", name},
                             {"description", descriptions_[i]},
                             {"id", u.id},
                             {"present", present},
                             {"load_state", u.load_state},
                             {"active_state", u.active_state},
                             {"sub_state", u.sub_state},
                             {"restarts", mem.restarts},
                             {"recent_restarts", mem.recent_restarts.Count(now)}};
      unit["main_pid"] = u.main_pid && *u.main_pid > 0 ? nlohmann::json(*u.main_pid)
                                                       : nlohmann::json();
      unit["exec_main_status"] =
          u.exec_main_status ? nlohmann::json(*u.exec_main_status) : nlohmann::json();
      unit["n_restarts"] = u.n_restarts ? nlohmann::json(*u.n_restarts) : nlohmann::json();
      details.push_back(std::move(unit));
    }
    out->details = {{"units", details}};
    if (!unmatched.empty()) {
      return Status::Error("systemctl show printed " + std::to_string(shown->size()) +
                           " unit blocks for " + std::to_string(units_.size()) +
                           " units; no block for " + unmatched);
    }
    return Status::Ok();
  }

  void InheritState(Collector& previous) override {
    memory_ = static_cast<SystemdCollector&>(previous).memory_;
  }

  std::vector<std::string> ServiceNames() const override { return units_; }

 private:
  // Advances the unit's restart counter from what systemctl showed now.
  static void Update(const SystemdUnit& u, UnitMemory& mem) {
    const bool active = u.active_state == "active" || u.active_state == "reloading";
    const long pid = u.main_pid.value_or(0);
    const uint64_t start = u.exec_main_start_monotonic_usec.value_or(0);
    if (u.n_restarts) {
      const uint64_t n = *u.n_restarts;
      if (!mem.seen) {
        mem.restarts = static_cast<double>(n);  // Adopt systemd's count.
      } else if (mem.n_restarts) {
        // NRestarts goes back to 0 on `systemctl reset-failed` and on a
        // manual start; the n after such a reset are all new restarts.
        mem.restarts += static_cast<double>(n >= *mem.n_restarts ? n - *mem.n_restarts : n);
      }
      mem.n_restarts = n;
    } else {
      // systemd < 235 has no NRestarts: count what changed between polls.
      if (mem.seen && ((active && !mem.active) || (pid > 0 && mem.pid > 0 && pid != mem.pid) ||
                       (start > 0 && mem.start_usec > 0 && start != mem.start_usec))) {
        mem.restarts += 1;
      }
      mem.n_restarts.reset();
    }
    mem.seen = true;
    mem.active = active;
    mem.pid = pid;
    mem.start_usec = start;
  }

  std::string host_;
  std::vector<std::string> units_;
  std::vector<std::string> descriptions_;  // Parallel to units_; "" when not configured.
  std::vector<std::string> argv_;
  std::map<std::string, UnitMemory> memory_;
};

}  // namespace

Result<std::vector<SystemdUnit>> ParseSystemctlShow(std::string_view text) {
  if (TrimBlanks(text).empty()) return Status::Error("empty output");
  // systemctl ends every line with a newline; without one, the output was
  // cut off mid-line and the last value cannot be trusted.
  if (text.back() != '\n') return Status::Error("output is cut off (no newline at the end)");
  std::vector<SystemdUnit> units;
  Block block;
  bool in_block = false;
  int line_no = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl - start);
    start = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (TrimBlanks(line).empty()) {
      if (in_block) {
        if (Status s = block.Finish(); !s.ok()) return s;
        units.push_back(std::move(block.unit));
        in_block = false;
      }
      continue;
    }
    size_t eq = line.find('=');
    std::string_view key = line.substr(0, eq);
    if (eq == std::string_view::npos || !IsPropertyName(key)) {
      return Status::Error("line " + std::to_string(line_no) +
                           " is not KEY=VALUE: " + QuotedExcerpt(line));
    }
    std::string_view value = line.substr(eq + 1);
    if (!in_block) {
      const int number = block.number + 1;
      block = Block();
      block.number = number;
      in_block = true;
    }
    SystemdUnit& u = block.unit;
    auto bad_number = [&] {
      return Status::Error(block.Name() + ": " + std::string(key) +
                           " is not a number: " + QuotedExcerpt(value));
    };
    if (key == "Id") {
      u.id = std::string(value);
      block.has_id = !value.empty();
    } else if (key == "LoadState") {
      u.load_state = std::string(value);
      block.has_load = !value.empty();
    } else if (key == "ActiveState") {
      u.active_state = std::string(value);
      block.has_active = !value.empty();
    } else if (key == "SubState") {
      u.sub_state = std::string(value);
      block.has_sub = !value.empty();
    } else if (value.empty()) {
      continue;  // An unset number: leave it absent.
    } else if (key == "NRestarts") {
      uint64_t v;
      if (!ParseUnsigned(value, &v)) return bad_number();
      u.n_restarts = v;
    } else if (key == "MainPID") {
      long v;
      if (!ParseSignedLong(value, &v) || v < 0) return bad_number();
      u.main_pid = v;
    } else if (key == "ExecMainStatus") {
      long v;
      if (!ParseSignedLong(value, &v)) return bad_number();
      u.exec_main_status = v;
    } else if (key == "ExecMainStartTimestampMonotonic") {
      uint64_t v;
      if (!ParseUnsigned(value, &v)) return bad_number();
      u.exec_main_start_monotonic_usec = v;
    }
  }
  if (in_block) {
    if (Status s = block.Finish(); !s.ok()) return s;
    units.push_back(std::move(block.unit));
  }
  return units;
}

Result<std::unique_ptr<Collector>> ParseSystemdCollector(const YAML::Node& node,
                                                         const ConfigContext& ctx,
                                                         const std::string& host) {
  const std::string what = "host '" + host + "': systemd";
  Status s = ctx.CheckMap(node, what, {"units"});
  if (!s.ok()) return s;
  const YAML::Node list = node["units"];
  if (!list || list.IsNull()) return ctx.Error(node, what + " has no units");
  if (!list.IsSequence()) return ctx.Error(list, what + ": units must be a list");
  std::vector<std::string> units, descriptions;
  std::vector<YAML::Node> entries;
  for (const YAML::Node& entry : list) {
    std::string unit, description;
    if (entry.IsScalar()) {
      unit = entry.Scalar();
    } else if (entry.IsMap()) {
      if (!(s = ctx.CheckMap(entry, what + ": unit", {"unit", "description"})).ok()) return s;
      if (!(s = ctx.GetString(entry, what + ": unit", "unit", true, &unit)).ok()) return s;
      if (!(s = ctx.GetString(entry, what + ": unit '" + unit + "'", "description", false,
                              &description))
               .ok()) {
        return s;
      }
    } else {
      return ctx.Error(entry,
                       what + ": units entries must be a unit name or a mapping with a unit");
    }
    units.push_back(unit);
    descriptions.push_back(description);
    entries.push_back(entry);
  }
  if (units.empty()) return ctx.Error(list, what + " has no units");
  std::set<std::string> seen;
  for (size_t i = 0; i < units.size(); ++i) {
    std::string& u = units[i];
    const bool valid_chars =
        !u.empty() && u.size() <= 255 && u.front() != '-' && u.front() != '.' &&
        std::all_of(u.begin(), u.end(), [](char c) {
          return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == ':' || c == '_' || c == '.' || c == '@' || c == '-' || c == '\\';
        });
    if (!valid_chars) {
      return ctx.Error(entries[i], what + ": '" + u +
                                       "' is not a unit name (letters, digits and :_.@- "
                                       "only, no globs or paths)");
    }
    size_t dot = u.rfind('.');
    const std::string_view suffix =
        dot == std::string::npos ? std::string_view() : std::string_view(u).substr(dot + 1);
    if (std::find(std::begin(kUnitTypes), std::end(kUnitTypes), suffix) == std::end(kUnitTypes)) {
      u += ".service";
    }
    if (!seen.insert(u).second) {
      return ctx.Error(entries[i], what + ": unit '" + u + "' is listed twice");
    }
  }
  return std::unique_ptr<Collector>(new SystemdCollector(
      host, std::move(units), std::move(descriptions), ctx.Command("systemctl", {"systemctl"})));
}

}  // namespace joelclaw
