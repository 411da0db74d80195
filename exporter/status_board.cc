#include "exporter/status_board.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <set>

#include "exporter/probes/http_probe.h"
#include "exporter/thresholds.h"

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

// Host (and network) states from best to worst. A warning is a real problem
// that needs no one tonight, so it ranks above a check that has not run yet.
int HostRank(const std::string& state) {
  if (state == "healthy") return 0;
  if (state == "warning") return 2;
  if (state == "degraded") return 3;
  return 1;  // pending, or a state this client does not know.
}

std::string WorseHostState(const std::string& a, const std::string& b) {
  return HostRank(a) >= HostRank(b) ? a : b;
}

// A service's state as the host state it implies.
std::string HostStateOf(const std::string& service_state) {
  if (service_state == "down") return "degraded";
  if (service_state == "warning") return "warning";
  if (service_state == "pending") return "pending";
  return "healthy";
}

// Service states from best to worst, for merging two views of one service.
int ServiceRank(const std::string& state) {
  if (state == "idle") return 0;
  if (state == "up") return 1;
  if (state == "warning") return 3;
  if (state == "down") return 4;
  return 2;  // pending.
}

std::string WorseServiceState(const std::string& a, const std::string& b) {
  return ServiceRank(a) >= ServiceRank(b) ? a : b;
}

// "64 %": a ratio as a whole percentage.
std::string Percent(double ratio) { return FormatNum(std::round(ratio * 100)) + " %"; }

// "41 GiB used of 64 GiB (64 %)"; base 1024 for memory, 1000 for disks.
std::string UsedOf(double used, double total, int base) {
  std::string out = HumanBytes(used, base) + " used of " + HumanBytes(total, base);
  if (total > 0) out += " (" + Percent(used / total) + ")";
  return out;
}

// ---- Building services -------------------------------------------------------

struct Origin {
  std::string exporter;             // Redacted URL.
  std::optional<double> generated;  // The exporter's generated_at.
};

json Service(const std::string& name, const std::string& source, const std::string& state,
             const std::string& detail, const Origin& origin) {
  return {{"name", name},    {"description", ""},          {"source", source}, {"state", state},
          {"port", nullptr}, {"detail", detail},           {"reason", ""},     {"message", ""},
          {"service", ""},   {"exporter", origin.exporter}};
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
    std::string state = "up", detail;
    if (avail && size && *size > 0) {
      detail = UsedOf(*size - *avail, *size, 1000);
      if (*avail / *size < thresholds::kFilesystemAvailableWarningRatio) {
        state = "warning";
        detail += "; only " + Percent(*avail / *size) + " free";
      }
    } else if (avail) {
      detail = HumanBytes(*avail) + " free";
    }
    out->push_back(Service(mount, source, state, detail, origin));
  }
}

// The row of a launchd job or systemd unit, `name`. For one that should
// stay up, its restarts follow the detail ("…, 5 restarts; 4 restarts in
// the last 15m"), and restarting that often makes it a warning.
json SupervisedRow(const json& entry, const std::string& name, const std::string& source,
                   std::string state, std::string detail, bool should_stay_up,
                   const Origin& origin) {
  if (should_stay_up) {
    auto restarts = Num(entry, "restarts");
    if (restarts && *restarts > 0) detail += ", " + Plural(*restarts, "restart", "restarts");
    auto recent = Num(entry, "recent_restarts");
    if (recent && *recent >= thresholds::kRestartsWarning) {
      detail += "; " + Plural(*recent, "restart", "restarts") + " in the last " +
                HumanAge(thresholds::kRestartWindowSeconds);
      if (state == "up") state = "warning";
    }
  }
  json row = Service(name, source, state, detail, origin);
  row["description"] = Str(entry, "description");
  row["service"] = name;
  return row;
}

// How a launchd job reads on the board depends on its kind: only KeepAlive
// jobs (and jobs of unknown kind, which the alerts treat alike) are meant
// to be running.
void LaunchdEntries(const json& details, const Origin& origin, const std::string& source,
                    json* out) {
  for (const json& job : Arr(details, "jobs")) {
    std::string kind = Str(job, "kind");
    if (kind.empty()) kind = "unknown";  // An exporter from before job kinds.
    const bool always_up = kind != "periodic" && kind != "on_demand";
    std::string state, detail;
    auto status = Num(job, "last_exit_status");
    auto interval = Num(job, "run_interval_seconds");
    auto last_run = Num(job, "last_run");
    std::string failed;  // "exit 1", "killed by signal 9", or "".
    if (status && *status < 0) failed = "killed by signal " + FormatNum(-*status);
    if (status && *status > 0) failed = "exit " + FormatNum(*status);
    if (!Bool(job, "present")) {
      state = "down";
      detail = "not loaded in launchd";
    } else if (Bool(job, "running")) {
      state = "up";
      detail = "running";
      if (auto pid = Num(job, "pid")) detail += ", pid " + FormatNum(*pid);
    } else if (always_up) {
      state = "down";
      detail = "not running";
      if (!failed.empty()) detail += ", " + (status && *status < 0 ? failed : "last " + failed);
      if (status && *status == 0) detail += ", last exit 0";
      if (kind == "unknown") detail += " (kind unknown: set launchd domain or kind)";
    } else if (!failed.empty()) {
      state = "down";
      detail = "last run failed, " + failed;
    } else if (kind == "periodic" && interval && *interval > 0 && last_run && origin.generated &&
               *origin.generated - *last_run > thresholds::kPeriodicMissedRunsWarning * *interval) {
      state = "warning";
      detail = "no run seen for " + HumanAge(*origin.generated - *last_run) + ", every " +
               HumanAge(*interval);
    } else {
      // A periodic job between runs, an on-demand job waiting: all is well.
      state = "idle";
      detail = kind == "periodic" ? "idle" : "waiting";
      const std::string ago = Ago(last_run, origin);
      if (kind == "periodic" && !ago.empty()) detail += ", last run " + ago;
      if (interval && *interval > 0) detail += ", every " + HumanAge(*interval);
      if (status) detail += ", last exit 0";
    }
    out->push_back(
        SupervisedRow(job, Str(job, "label"), source, state, detail, always_up, origin));
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
    out->push_back(SupervisedRow(unit, Str(unit, "unit"), source, state, detail, true, origin));
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
  const json& devices = Arr(details, "devices");
  std::optional<double> count = Num(details, "gpus");
  if (!count && Field(details, "gpus").is_array()) {
    count = static_cast<double>(Arr(details, "gpus").size());
  }
  if (!count && !devices.empty()) count = static_cast<double>(devices.size());
  std::string state = "up", detail;
  if (count) detail = Plural(*count, "GPU", "GPUs");
  auto expected = Num(details, "expected_gpus");
  if (expected && count && *count < *expected) {
    state = "down";
    detail = FormatNum(*count) + " of " + Plural(*expected, "expected GPU", "expected GPUs");
  }
  if (auto t = Num(details, "max_temperature_celsius")) {
    detail += (detail.empty() ? "" : ", ") + FormatNum(std::round(*t)) + " °C";
  }
  double used = 0, total = 0;
  std::vector<std::string> warnings;
  for (const json& d : devices) {
    const std::string gpu = "GPU " + (Num(d, "gpu") ? FormatNum(*Num(d, "gpu")) : "?");
    auto t = Num(d, "temperature_celsius");
    if (t && *t > thresholds::kGpuTemperatureWarningCelsius) {
      warnings.push_back(gpu + " at " + FormatNum(std::round(*t)) + " °C");
    }
    auto u = Num(d, "memory_used_bytes");
    auto m = Num(d, "memory_total_bytes");
    if (u && m && *m > 0) {
      used += *u;
      total += *m;
      if (*u / *m > thresholds::kGpuMemoryUsedWarningRatio) {
        warnings.push_back(gpu + " memory " + Percent(*u / *m) + " used");
      }
    }
  }
  if (total > 0)
    detail += (detail.empty() ? "" : ", ") + std::string("memory ") + UsedOf(used, total, 1024);
  if (!warnings.empty()) {
    std::string list;
    for (const std::string& w : warnings) list += (list.empty() ? "" : ", ") + w;
    detail += "; " + list;
    if (state == "up") state = "warning";
  }
  if (detail.empty()) detail = GenericDetail(details);
  out->push_back(Service(source, source, state, detail, origin));
}

// ready/desired of a node or workload entry.
std::optional<double> EntryNum(const json& e, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    if (auto v = Num(e, key)) return v;
  }
  return std::nullopt;
}

// One row per node and one per Deployment or StatefulSet, so that a glance
// at the board shows which one is not ready; not-ready pods are named on
// their workload's row (a pod "qdrant-0" belongs to "qdrant"), the others
// on a row of their own.
void KubernetesEntries(const json& details, const Origin& origin, const std::string& source,
                       json* out) {
  if (!Field(details, "nodes").is_array() && !Field(details, "workloads").is_array()) {
    out->push_back(Service(source, source, "up", GenericDetail(details), origin));
    return;
  }
  for (const json& n : Arr(details, "nodes")) {
    std::string name = Str(n, "name");
    if (name.empty()) name = Str(n, "node");
    const bool ready = Bool(n, "ready");
    std::string state = ready ? "up" : "down";
    std::string detail = ready ? "node ready" : "node not ready";
    const std::string talos = Str(n, "talos_version"), kubelet = Str(n, "kubelet_version");
    if (!talos.empty()) {
      detail += ", Talos " + talos;
    } else if (!kubelet.empty()) {
      detail += ", kubelet " + kubelet;
    }
    std::string problems;
    for (const json& p : Arr(n, "problems")) {
      if (p.is_string()) problems += (problems.empty() ? "" : ", ") + p.get<std::string>();
    }
    if (Bool(n, "unschedulable"))
      problems += (problems.empty() ? "" : ", ") + std::string("cordoned");
    if (!problems.empty()) {
      detail += "; " + problems;
      if (state == "up") state = "warning";
    }
    out->push_back(Service(name.empty() ? "?" : name, source, state, detail, origin));
  }
  std::set<std::string> namespaces;
  for (const json& w : Arr(details, "workloads")) namespaces.insert(Str(w, "namespace"));
  std::vector<bool> pod_shown(Arr(details, "pods_not_ready").size(), false);
  auto pod_text = [](const json& pod) {
    std::string text = Str(pod, "pod");
    std::string reasons;
    for (const json& w : Arr(pod, "waiting")) {
      const std::string r = Str(w, "reason");
      if (!r.empty() && reasons.find(r) == std::string::npos) {
        reasons += (reasons.empty() ? "" : ", ") + r;
      }
    }
    if (reasons.empty()) reasons = Str(pod, "phase");
    if (!reasons.empty()) text += " " + reasons;
    auto restarts = Num(pod, "restarts");
    if (restarts && *restarts > 0) text += ", " + Plural(*restarts, "restart", "restarts");
    return text;
  };
  for (const json& w : Arr(details, "workloads")) {
    const std::string ns = Str(w, "namespace"), name = Str(w, "name");
    auto ready = EntryNum(w, {"ready", "ready_replicas"});
    auto desired = EntryNum(w, {"desired", "desired_replicas", "replicas"});
    std::string state = "up", detail;
    if (ready && desired) {
      detail = FormatNum(*ready) + "/" + FormatNum(*desired) + " ready";
      if (*desired == 0) {
        state = "idle";
        detail = "scaled to 0";
      } else if (*ready <= 0) {
        state = "down";
      } else if (*ready < *desired) {
        state = "warning";
      }
    }
    const json& pods = Arr(details, "pods_not_ready");
    for (size_t i = 0; i < pods.size(); ++i) {
      const std::string pod = Str(pods[i], "pod");
      if (pod_shown[i] || Str(pods[i], "namespace") != ns || pod.rfind(name + "-", 0) != 0) {
        continue;
      }
      pod_shown[i] = true;
      detail += "; " + pod_text(pods[i]);
    }
    json row = Service(namespaces.size() > 1 ? ns + "/" + name : (name.empty() ? "?" : name),
                       source, state, detail, origin);
    out->push_back(std::move(row));
  }
  std::string others;
  size_t other_count = 0;
  const json& pods = Arr(details, "pods_not_ready");
  for (size_t i = 0; i < pods.size(); ++i) {
    if (pod_shown[i]) continue;
    if (++other_count <= 3) {
      others += (others.empty() ? "" : "; ") + Str(pods[i], "namespace") + "/" + pod_text(pods[i]);
    }
  }
  if (other_count > 3) others += "; …";
  if (other_count > 0) {
    out->push_back(Service(
        "pods", source, "down",
        Plural(static_cast<double>(other_count), "pod", "pods") + " not ready: " + others, origin));
  }
}

void GenericSummary(const json& details, const Origin& origin, const std::string& source,
                    json* out) {
  out->push_back(Service(source, source, "up", GenericDetail(details), origin));
}

// Where a global collector (one not tied to a host in the exporter's
// config) appears: in the network-wide group, in the group of the machine
// it names (a GPU belongs to its machine), or in a group of its own named
// after the cluster it watches.
enum class Placement { kNetwork, kOwnHost, kCluster };

// How each known collector appears on the board. List views give one
// service per entry of their details; summary views give one service named
// after the collector. Collectors not in the table get GenericSummary.
struct CollectorView {
  std::string_view collector;
  std::string_view source;
  bool summary;
  Placement placement;
  void (*expand)(const json& details, const Origin& origin, const std::string& source,
                 json* out);
};

constexpr CollectorView kViews[] = {
    {"filesystem", "filesystem", false, Placement::kNetwork, FilesystemEntries},
    {"remote_filesystem", "nas", false, Placement::kNetwork, FilesystemEntries},
    {"launchd", "launchd", false, Placement::kNetwork, LaunchdEntries},
    {"systemd", "systemd", false, Placement::kNetwork, SystemdEntries},
    {"tailscale", "tailscale", false, Placement::kNetwork, TailscaleEntries},
    {"gpu", "gpu", true, Placement::kOwnHost, GpuSummary},
    {"kubernetes", "kubernetes", true, Placement::kCluster, KubernetesEntries},
};

CollectorView ViewOf(const std::string& name) {
  for (const CollectorView& v : kViews) {
    if (v.collector == name) return v;
  }
  return {name, name, true, Placement::kNetwork, GenericSummary};
}

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

void RaiseState(json& group, const std::string& service_state) {
  group["computed_state"] =
      WorseHostState(group["computed_state"].get<std::string>(), HostStateOf(service_state));
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
  s["description"] = Str(check, "description");
  s["service"] = Str(check, "service");
  s["_check"] = true;  // For MergeServiceRows; removed before the board is returned.
  group["services"].push_back(std::move(s));
  RaiseState(group, state);
  if (state != "up") AddFailures(group, check, name, source, origin);
}

json Resources(const json& details, const std::string& state, const std::string& message) {
  auto total = Num(details, "memory_total_bytes");
  auto avail = Num(details, "memory_available_bytes");
  auto load1 = Num(details, "load1");
  auto cpus = Num(details, "cpus");
  std::string summary, res_state = state;
  if (load1) summary = "load " + FormatNum(std::round(*load1 * 100) / 100);
  if (cpus) summary += (summary.empty() ? "" : " on ") + Plural(*cpus, "CPU", "CPUs");
  if (avail && total && *total > 0) {
    // Memory comes in powers of two: a 64 GiB machine should read "64 GiB".
    summary += (summary.empty() ? "" : ", ") + std::string("memory ") +
               UsedOf(*total - *avail, *total, 1024);
    if (*avail / *total < thresholds::kHostMemoryAvailableWarningRatio && state == "up") {
      res_state = "warning";
      summary += "; only " + Percent(*avail / *total) + " available";
    }
  }
  if (state == "down") summary = "unavailable: " + message;
  if (state == "pending") summary = "not collected yet";
  return {{"state", res_state},
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
  RaiseState(group, state);
  if (name == "host") {
    group["resources"] = Resources(details, state, message);
    RaiseState(group, group["resources"]["state"].get<std::string>());
    if (state != "up") AddFailures(group, collector, "resources", "host", origin);
    return;
  }
  const CollectorView view = ViewOf(name);
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
    RaiseState(group, item["state"].get<std::string>());
    group["services"].push_back(std::move(item));
  }
}

// Group kinds, in the order the board lists them.
constexpr const char* kGroupKinds[] = {"host", "cluster", "network"};

json& Group(json& hosts, const std::string& name, const std::string& kind) {
  for (json& h : hosts) {
    if (h["name"] == name && h["kind"] == kind) return h;
  }
  hosts.push_back({{"name", name},
                   {"description", ""},
                   {"global", kind != "host"},
                   {"kind", kind},
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

// A check that names the launchd job or systemd unit it belongs to
// (`service:`) and that job's or unit's row become one row, where the
// check's row was: the check's name, port and description (the job's when
// the check has none), both sources ("launchd+http"), the worse state, and
// both details ("running, pid 4188; 14 functionCount").
void MergeServiceRows(json& group) {
  json& rows = group["services"];
  std::vector<bool> drop(rows.size(), false);
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::string svc = Str(rows[i], "service");
    if (Bool(rows[i], "_check") || svc.empty()) continue;
    std::vector<size_t> checks;
    for (size_t j = 0; j < rows.size(); ++j) {
      if (!drop[j] && Bool(rows[j], "_check") && Str(rows[j], "service") == svc) {
        checks.push_back(j);
      }
    }
    if (checks.empty()) continue;
    const json job = rows[i];
    json merged = rows[checks[0]];
    std::string source = Str(job, "source"), state = Str(job, "state"), detail = Str(job, "detail"),
                reason, message;
    for (size_t j : checks) {
      const json& c = rows[j];
      if (source.find(Str(c, "source")) == std::string::npos) source += "+" + Str(c, "source");
      state = WorseServiceState(state, Str(c, "state"));
      std::string d = Str(c, "detail");
      if (checks.size() > 1) d = Str(c, "name") + ": " + d;
      if (!d.empty()) detail += (detail.empty() ? "" : "; ") + d;
      if (reason.empty() && Str(c, "state") == "down") {
        reason = Str(c, "reason");
        message = Str(c, "message");
      }
      if (j != checks[0]) drop[j] = true;
    }
    merged["source"] = source;
    merged["state"] = state;
    merged["detail"] = detail;
    merged["reason"] = reason;
    merged["message"] = message;
    if (Str(merged, "description").empty()) merged["description"] = Str(job, "description");
    rows[checks[0]] = std::move(merged);
    drop[i] = true;
  }
  json kept = json::array();
  for (size_t i = 0; i < rows.size(); ++i) {
    if (drop[i]) continue;
    rows[i].erase("_check");
    kept.push_back(std::move(rows[i]));
  }
  rows = std::move(kept);
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
      json& group = Group(hosts, Str(h, "name"), "host");
      NoteExporter(group, url);
      if (group["description"] == "") group["description"] = Str(h, "description");
      std::string reported = Str(h, "state");
      if (reported != "healthy" && reported != "degraded" && reported != "warning") {
        reported = "pending";
      }
      group["state"] = WorseHostState(group["state"].get<std::string>(), reported);
      for (const json& c : Arr(h, "checks")) AddCheck(group, c, origin);
      for (const json& c : Arr(h, "collectors")) AddCollector(group, c, origin);
    }
    for (const json& c : Arr(e.document, "collectors")) {
      const std::string host = Str(c, "host");
      const Placement placement = ViewOf(Str(c, "name")).placement;
      json* group = nullptr;
      if (placement == Placement::kOwnHost && !host.empty()) {
        group = &Group(hosts, host, "host");
      } else if (placement == Placement::kCluster) {
        group = &Group(hosts, host.empty() ? "cluster" : host, "cluster");
      } else {
        group = &Group(hosts, "network", "network");
      }
      NoteExporter(*group, url);
      AddCollector(*group, c, origin);
    }
  }
  std::string overall = hosts.empty() ? "pending" : "healthy";
  for (json& h : hosts) {
    MergeServiceRows(h);  // A merged row is as bad as its worse half: no change of state.
    // The exporter's own verdict stands; what it reported for each check and
    // collector can only make it worse (it is the same rule).
    h["state"] = WorseHostState(h["state"].get<std::string>(),
                                h["computed_state"].get<std::string>());
    h.erase("computed_state");
    overall = WorseHostState(overall, h["state"].get<std::string>());
  }
  // Machines first, as configured, then clusters, then the network.
  std::stable_sort(hosts.begin(), hosts.end(), [](const json& a, const json& b) {
    auto rank = [](const json& h) {
      for (size_t i = 0; i < std::size(kGroupKinds); ++i) {
        if (h["kind"] == kGroupKinds[i]) return i;
      }
      return std::size(kGroupKinds);
    };
    return rank(a) < rank(b);
  });
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
                                   {"warning", "WARN", "▲", kYellow},
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
    if (state == "warning") return Paint(kYellow, style_.color ? "warning" : "WARNING");
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

  size_t host_count = 0, degraded = 0, warning = 0, unreachable = 0;
  for (const json& h : hosts) {
    if (Bool(h, "global")) continue;
    ++host_count;
    degraded += Str(h, "state") == "degraded";
    warning += Str(h, "state") == "warning";
  }
  for (const json& e : exporters) unreachable += !Bool(e, "reachable");
  out += w.Paint(kBold, "joelclaw network:") + " " + w.StateWord(Str(board, "state")) + " (" +
         Plural(static_cast<double>(host_count), "host", "hosts") + ", " +
         std::to_string(degraded) + " degraded, " + std::to_string(warning) + " warning; " +
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

  // "caddy — TLS proxy": a service's name and what it is.
  auto service_name = [](const json& s) {
    const std::string d = Clean(Str(s, "description"));
    return Clean(Str(s, "name")) + (d.empty() ? "" : " — " + d);
  };
  // One set of column widths for the whole board, so hosts line up.
  size_t name_w = 0, source_w = 0, port_w = 0;
  for (const json& h : hosts) {
    for (const json& s : Arr(h, "services")) {
      name_w = std::max(name_w, Width(service_name(s)));
      source_w = std::max(source_w, Width(Clean(Str(s, "source"))));
      if (auto p = Num(s, "port")) port_w = std::max(port_w, FormatNum(*p).size());
    }
  }
  for (const json& h : hosts) {
    const std::string kind = Str(h, "kind"), description = Clean(Str(h, "description"));
    out += "\n" + w.Paint(kBold, Clean(Str(h, "name"))) +
           (description.empty() ? "" : " — " + description) +
           (kind == "network"   ? " (network-wide)"
            : kind == "cluster" ? " (Kubernetes cluster)"
                                : "") +
           "  " + w.StateWord(Str(h, "state")) + "\n";
    for (const json& s : Arr(h, "services")) {
      auto port = Num(s, "port");
      std::string line = "  " + w.Mark(Str(s, "state")) + " " + Pad(service_name(s), name_w) +
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
