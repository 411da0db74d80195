#include "exporter/snapshot.h"

#include "exporter/probes/http_probe.h"

namespace joelclaw {
namespace {

nlohmann::json FailuresJson(const std::deque<FailureRecord>& recent) {
  nlohmann::json out = nlohmann::json::array();
  // Newest first: that is what a person debugging wants to read.
  for (auto it = recent.rbegin(); it != recent.rend(); ++it) {
    out.push_back({{"time", it->time}, {"reason", it->reason}, {"message", it->message}});
  }
  return out;
}

nlohmann::json NullableTime(double t) { return t > 0 ? nlohmann::json(t) : nlohmann::json(); }

nlohmann::json Peers(const std::vector<std::string>& urls) {
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& u : urls) out.push_back(RedactUrl(u));
  return out;
}

// client_golang's process collector: the same names and help texts, so the
// usual dashboards and alerts work unchanged.
void AddProcessMetrics(const ProcessStats& p, MetricSet* m) {
  if (p.cpu_seconds >= 0) {
    m->Counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
               {}, p.cpu_seconds);
  }
  const struct {
    const char* name;
    const char* help;
    double value;
  } gauges[] = {
      {"process_resident_memory_bytes", "Resident memory size in bytes.", p.resident_bytes},
      {"process_virtual_memory_bytes", "Virtual memory size in bytes.", p.virtual_bytes},
      {"process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.",
       p.virtual_max_bytes},
      {"process_open_fds", "Number of open file descriptors.", p.open_fds},
      {"process_max_fds", "Maximum number of open file descriptors.", p.max_fds},
  };
  for (const auto& g : gauges) {
    if (g.value >= 0) m->Gauge(g.name, g.help, {}, g.value);
  }
}

}  // namespace

MetricSet BuildMetrics(const std::vector<CheckState>& checks,
                       const std::vector<CollectorState>& collectors,
                       const ExporterInfo& info) {
  MetricSet m;
  for (const CheckState& c : checks) {
    // From the config, so from the start: rules join on it before any run.
    Labels info_labels = {{"host", c.host}, {"target", c.name}, {"kind", c.kind}};
    if (!c.service.empty()) info_labels.emplace_back("service", c.service);
    info_labels.emplace_back("reachability", c.reachability ? "true" : "false");
    m.Gauge("joelclaw_check_info",
            "Always 1; the configured check: the launchd job or systemd unit it belongs to "
            "(service) and whether it says the host itself is reachable (reachability).",
            info_labels, 1);
    if (!c.has_result) continue;  // No sample before the first run: no false alarm.
    const Labels l = {{"host", c.host}, {"target", c.name}, {"kind", c.kind}};
    m.Gauge("joelclaw_probe_success", "1 if the last run of the check succeeded, else 0.", l,
            c.last.success ? 1 : 0);
    m.Gauge("joelclaw_probe_duration_seconds", "How long the last run of the check took.", l,
            c.last.duration_seconds);
    m.Gauge("joelclaw_probe_last_run_timestamp_seconds",
            "When the last run of the check finished, Unix seconds.", l, c.last_run);
    m.Gauge("joelclaw_probe_interval_seconds",
            "The check's configured interval, for staleness alerts.", l, ToSeconds(c.interval));
    for (size_t i = 0; i < kAllFailureReasons.size(); ++i) {
      Labels fl = l;
      fl.emplace_back("reason", std::string(ReasonName(kAllFailureReasons[i])));
      m.Counter("joelclaw_probe_failures_total", "Failed runs of the check, by reason.", fl,
                c.failures[i]);
    }
    const Labels hl = {{"host", c.host}, {"target", c.name}};
    if (c.last.http_status) {
      m.Gauge("joelclaw_http_status_code", "HTTP status of the check's last response.", hl,
              *c.last.http_status);
    }
    if (c.last.cert_not_after) {
      m.Gauge("joelclaw_tls_cert_not_after_timestamp_seconds",
              "When the served leaf certificate expires, Unix seconds.", hl,
              *c.last.cert_not_after);
    }
    for (const auto& [field, value] : c.last.values) {
      m.Gauge("joelclaw_probe_value", "A number pulled from the check's JSON body.",
              {{"host", c.host}, {"target", c.name}, {"field", field}}, value);
    }
  }
  for (const CollectorState& c : collectors) {
    if (!c.has_result) continue;
    // A global collector names the machine or cluster it watches; an
    // empty label is left out (MetricSet) for the scrape's target to fill.
    const Labels l = {{"collector", c.name}, {"host", c.label_host}};
    m.Gauge("joelclaw_collector_success", "1 if the collector's last run succeeded, else 0.", l,
            c.success ? 1 : 0);
    m.Gauge("joelclaw_collector_duration_seconds", "How long the collector's last run took.", l,
            c.duration_seconds);
    m.Merge(c.metrics);
  }
  m.Gauge("joelclaw_exporter_build_info",
          "Build of the exporter; the value is always 1.",
          {{"version", info.version},
           {"revision", info.revision},
           {"branch", info.branch},
           {"compiler", info.compiler},
           {"compiler_version", info.compiler_version}},
          1);
  m.Gauge("joelclaw_exporter_ready", "1 once every check and collector has run once.", {},
          info.ready ? 1 : 0);
  m.Gauge("joelclaw_exporter_start_time_seconds", "When the exporter started, Unix seconds.", {},
          info.start_time);
  m.Gauge("joelclaw_config_last_reload_successful",
          "1 if the last config load or reload succeeded, else 0.", {},
          info.last_reload_successful ? 1 : 0);
  m.Gauge("joelclaw_config_last_reload_success_timestamp_seconds",
          "When the config was last loaded successfully, Unix seconds.", {},
          info.last_reload_success_time);
  AddProcessMetrics(info.process, &m);
  if (info.bridge) AddBridgeMetrics(*info.bridge, &m);
  m.Gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
          {}, info.start_time);
  return m;
}

nlohmann::json BuildStatusJson(const std::vector<CheckState>& checks,
                               const std::vector<CollectorState>& collectors,
                               const ExporterInfo& info) {
  using nlohmann::json;
  json hosts = json::array();
  auto host_entry = [&](const std::string& name) -> json& {
    for (json& h : hosts) {
      if (h["name"] == name) return h;
    }
    auto d = info.host_descriptions.find(name);
    hosts.push_back({{"name", name},
                     {"description", d == info.host_descriptions.end() ? "" : d->second},
                     {"state", "pending"},
                     {"checks", json::array()},
                     {"collectors", json::array()}});
    return hosts.back();
  };
  for (const std::string& h : info.hosts) host_entry(h);
  json global = json::array();
  for (const CheckState& c : checks) {
    json values = json::object();
    for (const auto& [field, value] : c.last.values) values[field] = value;
    json j = {
        {"name", c.name},
        {"kind", c.kind},
        {"description", c.description},
        {"service", c.service},
        {"reachability", c.reachability},
        {"target", c.target},
        {"port", c.port > 0 ? json(c.port) : json()},
        {"state", !c.has_result ? "pending" : (c.last.success ? "up" : "down")},
        {"reason", std::string(ReasonName(c.last.reason))},
        {"message", c.last.message},
        {"detail", c.last.detail},
        {"duration_seconds", c.last.duration_seconds},
        {"interval_seconds", ToSeconds(c.interval)},
        {"timeout_seconds", ToSeconds(c.timeout)},
        {"last_run", NullableTime(c.last_run)},
        {"last_success", NullableTime(c.last_success)},
        {"last_failure", NullableTime(c.last_failure)},
        {"http_status", c.last.http_status ? json(*c.last.http_status) : json()},
        {"cert_not_after", c.last.cert_not_after ? json(*c.last.cert_not_after) : json()},
        {"values", values},
        {"recent_failures", FailuresJson(c.recent)},
    };
    host_entry(c.host)["checks"].push_back(std::move(j));
  }
  for (const CollectorState& c : collectors) {
    json j = {
        {"name", c.name},
        {"state", !c.has_result ? "pending" : (c.success ? "ok" : "failed")},
        {"message", c.message},
        {"duration_seconds", c.duration_seconds},
        {"interval_seconds", ToSeconds(c.interval)},
        {"last_run", NullableTime(c.last_run)},
        {"details", c.details},
        {"recent_failures", FailuresJson(c.recent)},
    };
    if (c.host.empty()) {
      j["host"] = c.label_host;  // The machine or cluster it watches; "" if none.
      global.push_back(std::move(j));
    } else {
      host_entry(c.host)["collectors"].push_back(std::move(j));
    }
  }
  for (json& h : hosts) {
    bool pending = false, bad = false, any = false;
    for (const json& c : h["checks"]) {
      any = true;
      pending = pending || c["state"] == "pending";
      bad = bad || c["state"] == "down";
    }
    for (const json& c : h["collectors"]) {
      any = true;
      pending = pending || c["state"] == "pending";
      bad = bad || c["state"] == "failed";
    }
    h["state"] = bad ? "degraded" : (pending || !any ? "pending" : "healthy");
  }
  return {
      {"schema_version", 1},
      {"exporter",
       {{"version", info.version},
        {"revision", info.revision},
        {"config_source", info.config_source},
        {"ready", info.ready},
        {"started_at", info.start_time},
        {"generated_at", info.now},
        {"last_reload_successful", info.last_reload_successful},
        {"last_reload_error", info.last_reload_error},
        {"peers", Peers(info.peers)}}},
      {"hosts", hosts},
      {"collectors", global},
  };
}

std::shared_ptr<const Snapshot> BuildSnapshot(const std::vector<CheckState>& checks,
                                              const std::vector<CollectorState>& collectors,
                                              const ExporterInfo& info) {
  auto snap = std::make_shared<Snapshot>();
  snap->metrics_text = RenderText(BuildMetrics(checks, collectors, info).Families());
  snap->status_json =
      BuildStatusJson(checks, collectors, info).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  snap->ready = info.ready;
  return snap;
}

}  // namespace joelclaw
