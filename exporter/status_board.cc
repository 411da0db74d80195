#include "exporter/status_board.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "exporter/probes/http_probe.h"

namespace joelclaw {
namespace {

using nlohmann::json;

// ---- Reading untrusted documents -------------------------------------------
// An exporter's answer is read field by field; a field of the wrong type
// reads as absent instead of throwing out of nlohmann::json.

const json& Field(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string Str(const json& j, const char* key) {
  const json& v = Field(j, key);
  return v.is_string() ? v.get<std::string>() : "";
}

std::optional<double> Num(const json& j, const char* key) {
  const json& v = Field(j, key);
  if (!v.is_number()) return std::nullopt;
  double d = v.get<double>();
  return std::isfinite(d) ? std::optional<double>(d) : std::nullopt;
}

bool Bool(const json& j, const char* key) {
  const json& v = Field(j, key);
  return v.is_boolean() ? v.get<bool>() : (v.is_number() && v.get<double>() != 0);
}

const json& Arr(const json& j, const char* key) {
  static const json kEmpty = json::array();
  const json& v = Field(j, key);
  return v.is_array() ? v : kEmpty;
}

json NumOrNull(std::optional<double> v) { return v ? json(*v) : json(); }

// A number field passed through as the exporter wrote it (12 stays 12, not
// 12.0), or null.
json NumField(const json& j, const char* key) {
  return Num(j, key) ? Field(j, key) : json();
}

std::string FormatNum(double v) {
  char buf[64];
  if (std::fabs(v) < 1e15 && std::floor(v) == v) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  } else {
    std::snprintf(buf, sizeof(buf), "%.2f", v);
  }
  return buf;
}

std::string Plural(double n, const std::string& one, const std::string& many) {
  return FormatNum(n) + " " + (n == 1 ? one : many);
}

// ---- States ----------------------------------------------------------------

int HostRank(const std::string& state) {
  if (state == "degraded") return 2;
  if (state == "healthy") return 0;
  return 1;  // pending, or a state this client does not know.
}

std::string WorseHostState(const std::string& a, const std::string& b) {
  return HostRank(a) >= HostRank(b) ? a : b;
}

// A service's state as the host state it implies.
std::string HostStateOf(const std::string& service_state) {
  if (service_state == "down") return "degraded";
  if (service_state == "pending") return "pending";
  return "healthy";
}

// ---- Building services -------------------------------------------------------

struct Origin {
  std::string exporter;             // Redacted URL.
  std::optional<double> generated;  // The exporter's generated_at.
};

json Service(const std::string& name, const std::string& source, const std::string& state,
             const std::string& detail, const Origin& origin) {
  return {{"name", name},       {"source", source}, {"state", state},   {"port", nullptr},
          {"detail", detail},   {"reason", ""},     {"message", ""},    {"exporter", origin.exporter}};
}

std::string Ago(std::optional<double> t, const Origin& origin) {
  if (!t || !origin.generated) return "";
  return HumanAge(std::max(0.0, *origin.generated - *t)) + " ago";
}

void FilesystemEntries(const json& details, const Origin& origin, const std::string& source,
                       json* out) {
  for (const json& fs : Arr(details, "filesystems")) {
    const std::string mount = Str(fs, "mountpoint");
    auto size = Num(fs, "size_bytes");
    auto avail = Num(fs, "avail_bytes");
    std::string detail;
    if (avail) detail = HumanBytes(*avail) + " free";
    if (avail && size) detail += " of " + HumanBytes(*size);
    out->push_back(Service(mount, source, "up", detail, origin));
  }
}

void LaunchdEntries(const json& details, const Origin& origin, const std::string& source,
                    json* out) {
  for (const json& job : Arr(details, "jobs")) {
    std::string state, detail;
    auto status = Num(job, "last_exit_status");
    if (!Bool(job, "present")) {
      state = "down";
      detail = "not loaded in launchd";
    } else if (Bool(job, "running")) {
      state = "up";
      detail = "running";
      if (auto pid = Num(job, "pid")) detail += ", pid " + FormatNum(*pid);
    } else if (status && *status < 0) {
      state = "down";
      detail = "not running, killed by signal " + FormatNum(-*status);
    } else if (status && *status != 0) {
      state = "down";
      detail = "not running, last exit " + FormatNum(*status);
    } else {
      // A job that ran and exited 0 is how launchd periodic jobs look.
      state = "idle";
      detail = status ? "not running, last exit 0" : "not running";
    }
    auto restarts = Num(job, "restarts");
    if (restarts && *restarts > 0) detail += ", " + Plural(*restarts, "restart", "restarts");
    out->push_back(Service(Str(job, "label"), source, state, detail, origin));
  }
}

void SystemdEntries(const json& details, const Origin& origin, const std::string& source,
                    json* out) {
  for (const json& unit : Arr(details, "units")) {
    const std::string active = Str(unit, "active_state");
    const std::string sub = Str(unit, "sub_state");
    std::string state, detail = active + (sub.empty() || sub == active ? "" : " (" + sub + ")");
    if (!Bool(unit, "present")) {
      state = "down";
      detail = "unit not found";
    } else if (active == "active") {
      state = "up";
    } else if (active == "failed") {
      state = "down";
    } else if (active == "inactive") {
      state = "idle";
    } else {
      state = "pending";  // activating, deactivating, reloading.
    }
    auto restarts = Num(unit, "restarts");
    if (restarts && *restarts > 0) detail += ", " + Plural(*restarts, "restart", "restarts");
    out->push_back(Service(Str(unit, "unit"), source, state, detail, origin));
  }
}

void TailscaleEntries(const json& details, const Origin& origin, const std::string& source,
                      json* out) {
  for (const json& peer : Arr(details, "peers")) {
    const bool always_on = Bool(peer, "always_on");
    std::string state, detail;
    if (!Bool(peer, "present")) {
      state = "down";
      detail = "missing from the tailnet";
    } else if (Bool(peer, "online")) {
      state = "up";
      detail = "online";
    } else {
      // Only peers that should always be on count as down; a laptop asleep
      // is normal.
      state = always_on ? "down" : "idle";
      detail = "offline";
      std::string ago = Ago(Num(peer, "last_seen"), origin);
      if (!ago.empty()) detail += ", last seen " + ago;
    }
    const std::string os = Str(peer, "os");
    if (!os.empty()) detail += ", " + os;
    if (Bool(peer, "self")) detail += ", this machine";
    out->push_back(Service(Str(peer, "peer"), source, state, detail, origin));
  }
}

// Short generic rendering of a collector's details this client does not
// know: up to four top-level fields ("3 nodes", "version 1.2").
std::string GenericDetail(const json& details) {
  std::string out;
  int shown = 0;
  if (!details.is_object()) return out;
  for (const auto& [key, value] : details.items()) {
    std::string part;
    if (value.is_array()) {
      part = std::to_string(value.size()) + " " + key;
    } else if (value.is_number()) {
      double d = value.get<double>();
      if (std::isfinite(d)) part = key + " " + FormatNum(d);
    } else if (value.is_string()) {
      part = key + " " + value.get<std::string>();
    } else if (value.is_boolean()) {
      part = key + " " + (value.get<bool>() ? "yes" : "no");
    }
    if (part.empty()) continue;
    out += (out.empty() ? "" : ", ") + part;
    if (++shown == 4) break;
  }
  return out;
}

void GpuSummary(const json& details, const Origin& origin, const std::string& source,
                json* out) {
  std::string detail;
  if (Field(details, "gpus").is_array()) {
    detail = Plural(static_cast<double>(Arr(details, "gpus").size()), "GPU", "GPUs");
  }
  if (auto t = Num(details, "max_temperature_celsius")) {
    detail += (detail.empty() ? "" : ", ") + FormatNum(std::round(*t)) + " °C";
  }
  if (detail.empty()) detail = GenericDetail(details);
  out->push_back(Service(source, source, "up", detail, origin));
}

// Whether a node or workload entry says it is ready: a `ready` boolean, or
// ready replicas reaching the desired count.
bool EntryReady(const json& e) {
  if (Field(e, "ready").is_boolean()) return Bool(e, "ready");
  auto ready = Num(e, "ready");
  if (!ready) ready = Num(e, "ready_replicas");
  auto desired = Num(e, "desired");
  if (!desired) desired = Num(e, "desired_replicas");
  if (!desired) desired = Num(e, "replicas");
  return ready && desired && *ready >= *desired;
}

std::string EntryName(const json& e) {
  for (const char* key : {"name", "node"}) {
    std::string n = Str(e, key);
    if (!n.empty()) {
      std::string ns = Str(e, "namespace");
      return ns.empty() ? n : ns + "/" + n;
    }
  }
  return "?";
}

void KubernetesSummary(const json& details, const Origin& origin, const std::string& source,
                       json* out) {
  std::string detail;
  std::vector<std::string> not_ready;
  for (const char* key : {"nodes", "workloads"}) {
    if (!Field(details, key).is_array()) continue;
    size_t ready = 0;
    for (const json& e : Arr(details, key)) {
      if (EntryReady(e)) {
        ++ready;
      } else {
        not_ready.push_back(EntryName(e));
      }
    }
    detail += (detail.empty() ? "" : ", ") + std::to_string(ready) + "/" +
              std::to_string(Arr(details, key).size()) + " " + key + " ready";
  }
  if (detail.empty()) {
    out->push_back(Service(source, source, "up", GenericDetail(details), origin));
    return;
  }
  std::string names;
  for (size_t i = 0; i < not_ready.size() && i < 3; ++i) names += (i ? ", " : "") + not_ready[i];
  if (not_ready.size() > 3) names += ", …";
  if (!names.empty()) detail += "; not ready: " + names;
  out->push_back(Service(source, source, not_ready.empty() ? "up" : "down", detail, origin));
}

void GenericSummary(const json& details, const Origin& origin, const std::string& source,
                    json* out) {
  out->push_back(Service(source, source, "up", GenericDetail(details), origin));
}

// How each known collector appears on the board. List views give one
// service per entry of their details; summary views give one service named
// after the collector. Collectors not in the table get GenericSummary.
struct CollectorView {
  std::string_view collector;
  std::string_view source;
  bool summary;
  void (*expand)(const json& details, const Origin& origin, const std::string& source,
                 json* out);
};

constexpr CollectorView kViews[] = {
    {"filesystem", "filesystem", false, FilesystemEntries},
    {"remote_filesystem", "nas", false, FilesystemEntries},
    {"launchd", "launchd", false, LaunchdEntries},
    {"systemd", "systemd", false, SystemdEntries},
    {"tailscale", "tailscale", false, TailscaleEntries},
    {"gpu", "gpu", true, GpuSummary},
    {"kubernetes", "kubernetes", true, KubernetesSummary},
};

void AddFailures(json& group, const json& item, const std::string& name,
                 const std::string& source, const Origin& origin) {
  int n = 0;
  for (const json& f : Arr(item, "recent_failures")) {
    if (n++ == 3) break;  // The newest few say enough on a board.
    auto time = Num(f, "time");
    std::optional<double> age;
    if (time && origin.generated) age = std::max(0.0, *origin.generated - *time);
    group["recent_failures"].push_back({{"service", name},
                                        {"source", source},
                                        {"time", NumField(f, "time")},
                                        {"age_seconds", NumOrNull(age)},
                                        {"reason", Str(f, "reason")},
                                        {"message", Str(f, "message")}});
  }
}

void AddCheck(json& group, const json& check, const Origin& origin) {
  std::string state = Str(check, "state");
  if (state != "up" && state != "down") state = "pending";
  const std::string name = Str(check, "name"), source = Str(check, "kind");
  const std::string reason = Str(check, "reason"), message = Str(check, "message");
  std::string detail = Str(check, "detail");
  if (state == "up" && detail.empty()) detail = message;
  if (state == "down") detail = reason.empty() ? message : reason + ": " + message;
  if (state == "pending") detail = "not run yet";
  json s = Service(name, source, state, detail, origin);
  auto port = Num(check, "port");
  if (port && *port > 0 && *port < 65536) s["port"] = static_cast<int>(*port);
  s["reason"] = reason;
  s["message"] = message;
  group["services"].push_back(std::move(s));
  group["computed_state"] =
      WorseHostState(group["computed_state"].get<std::string>(), HostStateOf(state));
  if (state != "up") AddFailures(group, check, name, source, origin);
}

json Resources(const json& details, const std::string& state, const std::string& message) {
  auto total = Num(details, "memory_total_bytes");
  auto avail = Num(details, "memory_available_bytes");
  auto load1 = Num(details, "load1");
  auto cpus = Num(details, "cpus");
  std::string summary;
  if (load1) summary = "load " + FormatNum(std::round(*load1 * 100) / 100);
  if (cpus) summary += (summary.empty() ? "" : " on ") + Plural(*cpus, "CPU", "CPUs");
  if (avail && total) {
    // Memory comes in powers of two: a 64 GiB machine should read "64 GiB".
    summary += (summary.empty() ? "" : ", ") + std::string("memory ") + HumanBytes(*avail, 1024) +
               " free of " + HumanBytes(*total, 1024);
  }
  if (state == "down") summary = "unavailable: " + message;
  if (state == "pending") summary = "not collected yet";
  return {{"state", state},
          {"load1", NumField(details, "load1")},
          {"cpus", NumField(details, "cpus")},
          {"memory_total_bytes", NumField(details, "memory_total_bytes")},
          {"memory_available_bytes", NumField(details, "memory_available_bytes")},
          {"summary", summary},
          {"message", message}};
}

void AddCollector(json& group, const json& collector, const Origin& origin) {
  const std::string name = Str(collector, "name");
  const std::string cstate = Str(collector, "state");
  const std::string state = cstate == "ok" ? "up" : (cstate == "failed" ? "down" : "pending");
  const std::string message = Str(collector, "message");
  const json& details = Field(collector, "details");
  group["computed_state"] =
      WorseHostState(group["computed_state"].get<std::string>(), HostStateOf(state));
  if (name == "host") {
    group["resources"] = Resources(details, state, message);
    if (state != "up") AddFailures(group, collector, "resources", "host", origin);
    return;
  }
  CollectorView view = {name, name, true, GenericSummary};
  for (const CollectorView& v : kViews) {
    if (v.collector == name) view = v;
  }
  const std::string source(view.source);
  json items = json::array();
  view.expand(details, origin, source, &items);
  if (state != "up") {
    // A failed or pending collector is a service of its own, whose detail is
    // the collector's message; a summary's numbers are stale then.
    json self = Service(name, source, state, state == "down" ? message : "not run yet", origin);
    self["message"] = message;
    if (view.summary) items = json::array();
    items.insert(items.begin(), std::move(self));
    AddFailures(group, collector, name, source, origin);
  }
  for (json& item : items) {
    // An entry that is down (a failed unit, a missing always-on peer) makes
    // the board degraded even while its collector ran fine.
    group["computed_state"] = WorseHostState(group["computed_state"].get<std::string>(),
                                             HostStateOf(item["state"].get<std::string>()));
    group["services"].push_back(std::move(item));
  }
}

json& Group(json& hosts, const std::string& name, bool global) {
  for (json& h : hosts) {
    if (h["name"] == name && h["global"] == global) return h;
  }
  hosts.push_back({{"name", name},
                   {"global", global},
                   {"state", "healthy"},
                   {"computed_state", "healthy"},
                   {"exporters", json::array()},
                   {"services", json::array()},
                   {"resources", nullptr},
                   {"recent_failures", json::array()}});
  return hosts.back();
}

void NoteExporter(json& group, const std::string& url) {
  for (const json& u : group["exporters"]) {
    if (u == url) return;
  }
  group["exporters"].push_back(url);
}

}  // namespace

bool IsStatusDocument(const json& document, std::string* error) {
  if (!document.is_object()) {
    *error = "the answer is not a JSON object";
    return false;
  }
  const json& version = Field(document, "schema_version");
  if (!version.is_number_integer()) {
    *error = "the answer has no schema_version; is this a joelclaw exporter?";
    return false;
  }
  if (version.get<int64_t>() != 1) {
    *error = "the answer has schema_version " + version.dump() +
             ", and this client understands version 1";
    return false;
  }
  if (!Field(document, "hosts").is_array()) {
    *error = "the answer has no hosts list";
    return false;
  }
  return true;
}

json BuildBoard(const std::vector<ExporterStatus>& exporters) {
  json out_exporters = json::array();
  json hosts = json::array();
  bool unreachable = false;
  for (const ExporterStatus& e : exporters) {
    const std::string url = RedactUrl(e.url);
    std::string error = e.error;
    if (e.reachable && !IsStatusDocument(e.document, &error)) error = url + ": " + error;
    if (!e.reachable || !error.empty()) {
      unreachable = true;
      out_exporters.push_back({{"url", url}, {"reachable", false}, {"error", error},
                               {"version", ""}, {"revision", ""}, {"ready", false},
                               {"config_source", ""}, {"generated_at", nullptr},
                               {"last_reload_successful", nullptr}, {"last_reload_error", ""}});
      continue;
    }
    const json& info = Field(e.document, "exporter");
    const Origin origin{url, Num(info, "generated_at")};
    const json& reload_ok = Field(info, "last_reload_successful");
    out_exporters.push_back(
        {{"url", url}, {"reachable", true}, {"error", ""},
         {"version", Str(info, "version")}, {"revision", Str(info, "revision")},
         {"ready", Bool(info, "ready")}, {"config_source", Str(info, "config_source")},
         {"generated_at", NumField(info, "generated_at")},
         {"last_reload_successful", reload_ok.is_boolean() ? reload_ok : json()},
         {"last_reload_error", Str(info, "last_reload_error")}});
    for (const json& h : Arr(e.document, "hosts")) {
      if (!h.is_object()) continue;
      json& group = Group(hosts, Str(h, "name"), false);
      NoteExporter(group, url);
      std::string reported = Str(h, "state");
      if (reported != "healthy" && reported != "degraded") reported = "pending";
      group["state"] = WorseHostState(group["state"].get<std::string>(), reported);
      for (const json& c : Arr(h, "checks")) AddCheck(group, c, origin);
      for (const json& c : Arr(h, "collectors")) AddCollector(group, c, origin);
    }
    if (!Arr(e.document, "collectors").empty()) {
      json& group = Group(hosts, "network", true);
      NoteExporter(group, url);
      for (const json& c : Arr(e.document, "collectors")) AddCollector(group, c, origin);
    }
  }
  std::string overall = hosts.empty() ? "pending" : "healthy";
  for (json& h : hosts) {
    // The exporter's own verdict stands; what it reported for each check and
    // collector can only make it worse (it is the same rule).
    h["state"] = WorseHostState(h["state"].get<std::string>(),
                                h["computed_state"].get<std::string>());
    h.erase("computed_state");
    overall = WorseHostState(overall, h["state"].get<std::string>());
  }
  // The network group goes last: hosts first, as configured.
  std::stable_partition(hosts.begin(), hosts.end(),
                        [](const json& h) { return !h["global"].get<bool>(); });
  return {{"schema_version", 1},
          {"state", unreachable ? "unreachable" : overall},
          {"exporters", out_exporters},
          {"hosts", hosts}};
}

int BoardExitCode(const json& board) {
  const std::string state = Str(board, "state");
  if (state == "healthy") return 0;
  if (state == "unreachable") return 2;
  return 1;
}

std::string HumanBytes(double bytes, int base) {
  static const char* kSi[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  static const char* kIec[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  const char* const* units = base == 1024 ? kIec : kSi;
  const double step = base == 1024 ? 1024 : 1000;
  size_t unit = 0;
  double v = bytes;
  // Switch units just below the next one, so 999.7 kB reads "1.0 MB".
  while (std::fabs(v) >= step - 0.5 && unit + 1 < std::size(kSi)) {
    v /= step;
    ++unit;
  }
  char buf[32];
  if (unit == 0 || std::fabs(v) >= 9.95) {
    std::snprintf(buf, sizeof(buf), "%.0f %s", v, units[unit]);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f %s", v, units[unit]);
  }
  return buf;
}

std::string HumanAge(double seconds) {
  const long s = static_cast<long>(std::max(0.0, seconds));
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

// ---- Text ------------------------------------------------------------------

namespace {

constexpr char kReset[] = "\033[0m";
constexpr char kBold[] = "\033[1m";
constexpr char kDim[] = "\033[2m";
constexpr char kRed[] = "\033[31m";
constexpr char kGreen[] = "\033[32m";
constexpr char kYellow[] = "\033[33m";

// Replaces C0 and C1 control characters (ESC, CSI, newlines, …) so that a
// name or message from an exporter cannot move the cursor or recolour the
// terminal, and cannot break a line of the board.
std::string Clean(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else if (c == 0xc2 && i + 1 < s.size() &&
               static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(s[i + 1]) <= 0x9f) {
      out += '?';
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Display columns of UTF-8 text: one per code point (the board has no wide
// characters of its own).
size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

std::string Pad(const std::string& s, size_t width) {
  size_t w = Width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

class TextWriter {
 public:
  explicit TextWriter(const TextStyle& style) : style_(style) {}

  std::string Paint(const char* code, const std::string& text) const {
    return style_.color ? std::string(code) + text + kReset : text;
  }

  // A service state as a fixed-width mark.
  std::string Mark(const std::string& state) const {
    struct M {
      const char* state;
      const char* plain;
      const char* symbol;
      const char* color;
    };
    static constexpr M kMarks[] = {{"up", "ok  ", "✔", kGreen},
                                   {"down", "DOWN", "✖", kRed},
                                   {"pending", "wait", "…", kYellow},
                                   {"idle", "idle", "○", kDim}};
    for (const M& m : kMarks) {
      if (state == m.state) return Paint(m.color, style_.symbols ? m.symbol : m.plain);
    }
    return style_.symbols ? "?" : "?   ";
  }

  // A host or network state as a word.
  std::string StateWord(const std::string& state) const {
    if (state == "healthy") return Paint(kGreen, "healthy");
    if (state == "degraded") return Paint(kRed, style_.color ? "degraded" : "DEGRADED");
    if (state == "unreachable") return Paint(kRed, style_.color ? "unreachable" : "UNREACHABLE");
    return Paint(kYellow, "pending");
  }

 private:
  TextStyle style_;
};

}  // namespace

std::string RenderBoardText(const json& board, const TextStyle& style) {
  const TextWriter w(style);
  std::string out;
  const json& hosts = Arr(board, "hosts");
  const json& exporters = Arr(board, "exporters");

  size_t host_count = 0, degraded = 0, unreachable = 0;
  for (const json& h : hosts) {
    if (Bool(h, "global")) continue;
    ++host_count;
    degraded += Str(h, "state") == "degraded";
  }
  for (const json& e : exporters) unreachable += !Bool(e, "reachable");
  out += w.Paint(kBold, "joelclaw network:") + " " + w.StateWord(Str(board, "state")) + " (" +
         Plural(static_cast<double>(host_count), "host", "hosts") + ", " +
         std::to_string(degraded) + " degraded; " +
         Plural(static_cast<double>(exporters.size()), "exporter", "exporters") + ", " +
         std::to_string(unreachable) + " unreachable)\n";

  size_t url_width = 0;
  for (const json& e : exporters) url_width = std::max(url_width, Width(Clean(Str(e, "url"))));
  for (const json& e : exporters) {
    const std::string url = Pad(Clean(Str(e, "url")), url_width);
    if (!Bool(e, "reachable")) {
      out += "  " + w.Mark("down") + " exporter " + url + "  unreachable: " +
             Clean(Str(e, "error")) + "\n";
      continue;
    }
    std::string about = "version " + Clean(Str(e, "version"));
    if (!Str(e, "revision").empty()) about += " (" + Clean(Str(e, "revision")) + ")";
    if (!Bool(e, "ready")) about += ", first round still running";
    if (Field(e, "last_reload_successful") == false) {
      about += ", last reload failed: " + Clean(Str(e, "last_reload_error"));
    }
    out += "  " + w.Mark("up") + " exporter " + url + "  " + about + "\n";
  }

  // One set of column widths for the whole board, so hosts line up.
  size_t name_w = 0, source_w = 0, port_w = 0;
  for (const json& h : hosts) {
    for (const json& s : Arr(h, "services")) {
      name_w = std::max(name_w, Width(Clean(Str(s, "name"))));
      source_w = std::max(source_w, Width(Clean(Str(s, "source"))));
      if (auto p = Num(s, "port")) port_w = std::max(port_w, FormatNum(*p).size());
    }
  }
  for (const json& h : hosts) {
    out += "\n" + w.Paint(kBold, Clean(Str(h, "name"))) + (Bool(h, "global") ? " (network-wide)" : "") +
           "  " + w.StateWord(Str(h, "state")) + "\n";
    for (const json& s : Arr(h, "services")) {
      auto port = Num(s, "port");
      std::string line = "  " + w.Mark(Str(s, "state")) + " " + Pad(Clean(Str(s, "name")), name_w) +
                         "  " + Pad(Clean(Str(s, "source")), source_w);
      if (port_w > 0) {
        const std::string p = port ? FormatNum(*port) : "";
        line += "  " + std::string(port_w - p.size(), ' ') + p;
      }
      const std::string detail = Clean(Str(s, "detail"));
      if (!detail.empty()) line += "  " + detail;
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
    const json& res = Field(h, "resources");
    if (res.is_object()) {
      out += "  " + w.Mark(Str(res, "state")) + " resources: " + Clean(Str(res, "summary")) + "\n";
    }
    const json& failures = Arr(h, "recent_failures");
    if (!failures.empty()) out += "  recent failures:\n";
    for (const json& f : failures) {
      std::string when;
      if (auto age = Num(f, "age_seconds")) when = HumanAge(*age) + " ago";
      const std::string reason = Clean(Str(f, "reason"));
      out += "    " + Clean(Str(f, "service")) + " (" + Clean(Str(f, "source")) + ")" +
             (when.empty() ? "" : "  " + when) + "  " + (reason.empty() ? "" : reason + ": ") +
             Clean(Str(f, "message")) + "\n";
    }
  }
  return out;
}

}  // namespace joelclaw
