#include "exporter/config.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "exporter/config_node.h"
#include "exporter/probes/http_probe.h"
#include "exporter/registry.h"
#include "yaml-cpp/yaml.h"

namespace joelclaw {
namespace {

using ConfigResult = Result<std::shared_ptr<const Config>>;

std::string Join(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

std::vector<std::string_view> ProbeNames() {
  std::vector<std::string_view> names;
  for (const ProbeKind& k : ProbeKinds()) names.push_back(k.name);
  return names;
}

// The value of `key` in `map` together with the key node, which carries the
// right line even when the value is empty (see ConfigContext::Error).
struct Entry {
  bool found = false;
  YAML::Node key;
  YAML::Node value;
  explicit operator bool() const { return found; }
};

Entry Find(const YAML::Node& map, std::string_view key) {
  for (const auto& kv : map) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return {true, kv.first, kv.second};
  }
  return {};
}

// Errors on every key that is not in `allowed` or appears twice, one per
// line: "unknown key 'x' in host 'panda' (known keys: …)" / "host 'panda':
// key 'x' is repeated (first on line 3)". For the top level `what` is ""
// ("unknown top-level key 'x' (known keys: …)").
Status CheckKeys(const YAML::Node& map, const ConfigContext& ctx, const std::string& what,
                 const std::vector<std::string_view>& allowed) {
  const std::string unknown = what.empty() ? "unknown top-level key '" : "unknown key '";
  const std::string in_what = what.empty() ? "" : " in " + what;
  const std::string owner = what.empty() ? "the config" : what;
  std::map<std::string, int> seen;
  std::string problems;
  auto add = [&](const Status& s) { problems += (problems.empty() ? "" : "\n") + s.message(); };
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) {
      add(ctx.Error(kv.first, owner + " has a key that is not a string"));
      continue;
    }
    const std::string key = kv.first.Scalar();
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) {
      add(ctx.Error(kv.first,
                    unknown + key + "'" + in_what + " (known keys: " + Join(allowed) + ")"));
      continue;
    }
    auto [it, inserted] = seen.emplace(key, LineOf(kv.first));
    if (!inserted) {
      add(ctx.Error(kv.first, (what.empty() ? "top-level key '" : what + ": key '") + key +
                                  "' is repeated (first on line " + std::to_string(it->second) +
                                  ")"));
    }
  }
  return problems.empty() ? Status::Ok() : Status::Error(problems);
}

// Parses one unit of the config (a top-level section, a host's keys, a
// check, a collector section) and records its problems in `ctx`, so that
// the load carries on with the next unit and reports them all. A yaml-cpp
// exception (a wrong node type deep in a section) is that unit's problem.
template <typename Parse>
void ParseUnit(const ConfigContext& ctx, Parse&& parse) {
  try {
    ctx.Record(parse());
  } catch (const YAML::Exception& e) {
    ctx.Record(Status::Error(ctx.filename() + ":" + std::to_string(e.mark.line + 1) + ": " +
                             e.msg));
  }
}

Status ParseDefaults(const YAML::Node& node, ConfigContext& ctx, Config* cfg) {
  if (!node || node.IsNull()) return Status::Ok();
  Status s = ctx.CheckMap(node, "defaults", {"interval", "timeout"});
  if (!s.ok()) return s;
  if (!(s = ctx.GetDuration(node, "defaults", "interval", &cfg->default_interval)).ok()) return s;
  if (!(s = ctx.GetDuration(node, "defaults", "timeout", &cfg->default_timeout)).ok()) return s;
  if (cfg->default_timeout >= cfg->default_interval) {
    const bool has_timeout = node["timeout"] && !node["timeout"].IsNull();
    const bool has_interval = node["interval"] && !node["interval"].IsNull();
    return ctx.Error(has_timeout ? node["timeout"] : has_interval ? node["interval"] : node,
                     "defaults: timeout " + FormatDuration(cfg->default_timeout) +
                         (has_timeout ? "" : " (the built-in default)") +
                         " must be shorter than interval " +
                         FormatDuration(cfg->default_interval) +
                         (has_interval ? "" : " (the built-in default)"));
  }
  ctx.SetDefaults(cfg->default_interval, cfg->default_timeout);
  return Status::Ok();
}

Status ParseCommands(const YAML::Node& node, ConfigContext& ctx) {
  if (!node || node.IsNull()) return Status::Ok();
  if (!node.IsMap()) {
    return ctx.Error(node, "commands must be a mapping of command name to argv list");
  }
  std::map<std::string, int> seen;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      return ctx.Error(kv.first, "commands has a key that is not a string");
    }
    const std::string name = kv.first.Scalar();
    auto [it, inserted] = seen.emplace(name, LineOf(kv.first));
    if (!inserted) {
      return ctx.Error(kv.first, "commands: '" + name + "' is repeated (first on line " +
                                     std::to_string(it->second) + ")");
    }
    if (!kv.second.IsSequence() || kv.second.size() == 0) {
      return ctx.Error(kv.second.IsNull() ? kv.first : kv.second,
                       "commands: " + name + " must be a non-empty argv list such as [" + name +
                           ", --flag]");
    }
    std::vector<std::string> argv;
    for (const auto& a : kv.second) {
      if (!a.IsScalar()) return ctx.Error(a, "commands: " + name + ": argv entries must be strings");
      argv.push_back(a.Scalar());
    }
    if (argv[0].empty()) {
      return ctx.Error(kv.second, "commands: " + name + ": the program is empty");
    }
    ctx.SetCommand(name, std::move(argv));
  }
  return Status::Ok();
}

// `status: {urls: [...]}`: exporters that `joelclaw_exporter status` asks
// besides its --url flags. Nothing else reads it.
Status ParseStatusSection(const Entry& section, const ConfigContext& ctx, Config* cfg) {
  if (!section) return Status::Ok();
  if (section.value.IsNull()) return ctx.Error(section.key, "status has no value");
  Status s = ctx.CheckMap(section.value, "status", {"urls"});
  if (!s.ok()) return s;
  const Entry urls = Find(section.value, "urls");
  if (!urls) return ctx.Error(section.key, "status: urls is missing");
  if (!(s = ctx.GetStringList(section.value, "status", "urls", &cfg->status_urls)).ok()) return s;
  if (cfg->status_urls.empty()) return ctx.Error(urls.key, "status: urls is empty");
  for (size_t i = 0; i < cfg->status_urls.size(); ++i) {
    const std::string& url = cfg->status_urls[i];
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      return ctx.Error(urls.value[i], "status: url '" + RedactUrl(url) +
                                          "' must start with http:// or https://");
    }
  }
  return Status::Ok();
}

// `names` maps each check name seen in this host to its line.
// The optional `interval` and `timeout` of a check or a collector section
// (defaults from `defaults`); the timeout must be shorter than the interval.
Status ParseTiming(const YAML::Node& node, const ConfigContext& ctx, const std::string& what,
                   Duration* interval, Duration* timeout) {
  *interval = ctx.default_interval();
  *timeout = ctx.default_timeout();
  if (!node.IsMap()) return Status::Ok();
  Status s;
  if (!(s = ctx.GetDuration(node, what, "interval", interval)).ok()) return s;
  if (!(s = ctx.GetDuration(node, what, "timeout", timeout)).ok()) return s;
  if (*timeout >= *interval) {
    const bool has_timeout = node["timeout"] && !node["timeout"].IsNull();
    const bool has_interval = node["interval"] && !node["interval"].IsNull();
    return ctx.Error(has_timeout ? node["timeout"] : has_interval ? node["interval"] : node,
                     what + ": timeout " + FormatDuration(*timeout) +
                         (has_timeout ? "" : " (from defaults)") +
                         " must be shorter than interval " + FormatDuration(*interval) +
                         (has_interval ? "" : " (from defaults)"));
  }
  return Status::Ok();
}

Status ParseCheck(const YAML::Node& node, size_t index, const std::string& host,
                  const ConfigContext& ctx, std::map<std::string, int>* names, Config* cfg) {
  const std::string numbered = "host '" + host + "': check #" + std::to_string(index + 1);
  if (!node.IsMap()) {
    return ctx.Error(node, numbered + " must be a mapping with a name and one probe");
  }
  CheckSpec spec;
  spec.host = host;
  // The name first (if any), so that every later error can say which check.
  Status s = ctx.GetString(node, numbered, "name", false, &spec.name);
  if (!s.ok()) return s;
  const std::string what = spec.name.empty() ? numbered : "check '" + spec.name + "'";
  std::vector<std::string_view> allowed = {"name",        "interval", "timeout",
                                           "description", "service",  "reachability"};
  for (std::string_view k : ProbeNames()) allowed.push_back(k);
  if (!(s = CheckKeys(node, ctx, what, allowed)).ok()) return s;
  if (spec.name.empty()) return ctx.Error(node, numbered + " has no name");
  auto [seen, inserted] = names->emplace(spec.name, LineOf(node["name"]));
  if (!inserted) {
    return ctx.Error(node["name"], "host '" + host + "' already has a check named '" + spec.name +
                                       "' (line " + std::to_string(seen->second) + ")");
  }
  if (!(s = ParseTiming(node, ctx, what, &spec.interval, &spec.timeout)).ok()) return s;
  const ProbeKind* kind = nullptr;
  Entry probe_entry;
  for (const auto& kv : node) {  // In file order, to name the second one.
    const ProbeKind* k = nullptr;
    for (const ProbeKind& p : ProbeKinds()) {
      if (p.name == kv.first.Scalar()) k = &p;
    }
    if (k == nullptr) continue;
    if (kind != nullptr) {
      return ctx.Error(kv.first, what + " has two probes, " + std::string(kind->name) + " and " +
                                     std::string(k->name) + "; give each check exactly one");
    }
    kind = k;
    probe_entry = {true, kv.first, kv.second};
  }
  if (kind == nullptr) {
    return ctx.Error(node, what + " has no probe; add one of: " + Join(ProbeNames()));
  }
  spec.kind = std::string(kind->name);
  if (!(s = ctx.GetString(node, what, "description", false, &spec.description)).ok()) return s;
  // `service` is checked against the host's launchd jobs and systemd units
  // once they are parsed (CheckServices).
  if (!(s = ctx.GetString(node, what, "service", false, &spec.service)).ok()) return s;
  if (node["service"] && spec.service.empty()) {
    return ctx.Error(node["service"], what + ": service is empty");
  }
  // An ssh check answering means the machine itself is up; an HTTP check
  // says only that one service is.
  spec.reachability = spec.kind == "ssh";
  if (!(s = ctx.GetBool(node, what, "reachability", &spec.reachability)).ok()) return s;
  if (probe_entry.value.IsNull()) {
    return ctx.Error(probe_entry.key, what + ": " + spec.kind + " has no settings");
  }
  // Probe parsers do not know their check: the scope names it.
  Result<std::unique_ptr<Probe>> probe = kind->parse(probe_entry.value, ctx.WithScope(what));
  if (!probe.ok()) return probe.status();
  spec.probe = std::shared_ptr<Probe>(std::move(probe).value());
  cfg->checks.push_back(std::move(spec));
  return Status::Ok();
}

// A host-scoped collector section of `host`.
Status ParseHostSection(const CollectorKind& k, const Entry& section, const std::string& host,
                          const std::string& what, const ConfigContext& ctx, Config* cfg) {
  if (section.value.IsNull()) {
    return ctx.Error(section.key, what + ": " + std::string(k.key) + " has no value");
  }
  Result<std::unique_ptr<Collector>> c = k.parse(section.value, ctx, host);
  if (!c.ok()) return c.status();
  if (*c == nullptr) return Status::Ok();
  cfg->collectors.push_back({host, std::string(k.name), ctx.default_interval(),
                             ctx.default_timeout(),
                             std::shared_ptr<Collector>(std::move(c).value())});
  return Status::Ok();
}

// Resolves each `service:` of the host's checks (cfg->checks from index
// `first`; their items in `checks` are found by name, as checks with
// problems are left out) to a launchd job or systemd unit of the same host,
// as the collector names it: "pdf-brain" finds the unit pdf-brain.service.
// Records a problem for each service the host does not list.
void CheckServices(const YAML::Node& checks, size_t first, const std::string& host,
                   const ConfigContext& ctx, Config* cfg) {
  std::vector<std::string> known;
  for (const CollectorSpec& c : cfg->collectors) {
    if (c.host != host) continue;
    for (std::string& name : c.collector->ServiceNames()) known.push_back(std::move(name));
  }
  for (size_t i = first; i < cfg->checks.size(); ++i) {
    CheckSpec& spec = cfg->checks[i];
    if (spec.service.empty()) continue;
    std::string match;
    for (const std::string& k : known) {
      if (k == spec.service || k == spec.service + ".service") match = k;
    }
    if (!match.empty()) {
      spec.service = match;
      continue;
    }
    YAML::Node where = checks;
    for (const auto& item : checks) {
      if (item.IsMap() && item["name"] && item["name"].IsScalar() &&
          item["name"].Scalar() == spec.name) {
        where = item["service"];
      }
    }
    std::string list;
    for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
    ctx.Record(ctx.Error(where, "check '" + spec.name + "': service '" + spec.service +
                                    "' is not a launchd job or systemd unit of host '" + host +
                                    "' (" +
                                    (list.empty() ? "the host lists none" : "it lists " + list) +
                                    ")"));
  }
}

// Records the problems of the host's keys, of each check and of each
// collector section on their own.
void ParseHost(const std::string& host, const YAML::Node& node, const ConfigContext& ctx,
               Config* cfg) {
  if (node.IsNull()) return;
  if (!node.IsMap()) {
    ctx.Record(ctx.Error(node, "host '" + host +
                                   "' must be a mapping (checks, and collectors such as resources)"));
    return;
  }
  std::vector<std::string_view> allowed = {"checks", "description"};
  for (const CollectorKind& k : CollectorKinds()) {
    if (k.scope == CollectorScope::kHost) allowed.push_back(k.key);
  }
  const std::string what = "host '" + host + "'";
  // Unknown keys are reported and left out; the known ones still count.
  ParseUnit(ctx, [&] { return CheckKeys(node, ctx, what, allowed); });
  ParseUnit(ctx, [&] {
    std::string description;
    Status s = ctx.GetString(node, what, "description", false, &description);
    if (s.ok() && !description.empty()) cfg->host_descriptions[host] = description;
    return s;
  });
  const size_t first_check = cfg->checks.size();
  YAML::Node checks = node["checks"];
  if (checks && !checks.IsNull()) {
    if (!checks.IsSequence()) {
      ctx.Record(ctx.Error(checks, what + ": checks must be a list"));
    } else {
      std::map<std::string, int> names;
      for (size_t i = 0; i < checks.size(); ++i) {
        ParseUnit(ctx, [&] { return ParseCheck(checks[i], i, host, ctx, &names, cfg); });
      }
    }
  }
  for (const CollectorKind& k : CollectorKinds()) {
    if (k.scope != CollectorScope::kHost) continue;
    Entry section = Find(node, k.key);
    if (!section) continue;
    ParseUnit(ctx, [&] { return ParseHostSection(k, section, host, what, ctx, cfg); });
  }
  if (checks && checks.IsSequence()) CheckServices(checks, first_check, host, ctx, cfg);
}

// A global collector section. A collector whose parser accepts
// `interval`/`timeout` (the rest reject them as unknown keys) runs on its
// own schedule.
Status ParseGlobalSection(const CollectorKind& k, const Entry& section,
                            const ConfigContext& ctx, Config* cfg) {
  if (section.value.IsNull()) return ctx.Error(section.key, std::string(k.key) + " has no value");
  Result<std::unique_ptr<Collector>> c = k.parse(section.value, ctx, "");
  if (!c.ok()) return c.status();
  if (*c == nullptr) return Status::Ok();
  Duration interval, timeout;
  Status s = ParseTiming(section.value, ctx, std::string(k.key), &interval, &timeout);
  if (!s.ok()) return s;
  const std::string label = (*c)->HostLabel();
  cfg->collectors.push_back({"", std::string(k.name), interval, timeout,
                             std::shared_ptr<Collector>(std::move(c).value()), label});
  return Status::Ok();
}

Status ParseBridgeSection(const Entry& bridge, const ConfigContext& ctx, Config* cfg) {
  if (bridge.value.IsNull()) return ctx.Error(bridge.key, "bridge has no value");
  Result<BridgeConfig> b = ParseBridgeConfig(bridge.value, ctx);
  if (!b.ok()) return b.status();
  cfg->bridge = std::move(b).value();
  return Status::Ok();
}

// The hosts mapping: each host's name problems (empty, listed twice) are
// recorded and that host skipped; its contents are recorded by ParseHost.
void ParseHosts(const YAML::Node& hosts, const ConfigContext& ctx, Config* cfg) {
  if (!hosts || hosts.IsNull()) return;
  if (!hosts.IsMap()) {
    ctx.Record(ctx.Error(hosts, "hosts must be a mapping of host name to its checks"));
    return;
  }
  std::map<std::string, int> seen;
  for (const auto& kv : hosts) {
    if (!kv.first.IsScalar()) {
      ctx.Record(ctx.Error(kv.first, "host names must be strings"));
      continue;
    }
    const std::string host = kv.first.Scalar();
    if (host.empty()) {
      ctx.Record(ctx.Error(kv.first, "host name is empty"));
      continue;
    }
    auto [it, inserted] = seen.emplace(host, LineOf(kv.first));
    if (!inserted) {
      ctx.Record(ctx.Error(kv.first, "host '" + host + "' is listed twice (first on line " +
                                         std::to_string(it->second) + ")"));
      continue;
    }
    cfg->hosts.push_back(host);
    ParseHost(host, kv.second, ctx, cfg);
  }
}

ConfigResult ParseRoot(const YAML::Node& root, const std::string& filename) {
  ConfigContext ctx(filename);
  auto cfg = std::make_shared<Config>();
  cfg->source = filename;
  if (root.IsNull()) {
    // An empty (or comments-only) file has no position of its own.
    return Status::Error(filename + ":1: the config is empty; it needs at least one host");
  }
  std::vector<std::string_view> top = {"defaults", "hosts", "commands", "status", "bridge"};
  for (const CollectorKind& k : CollectorKinds()) {
    if (k.scope == CollectorScope::kGlobal) top.push_back(k.key);
  }
  if (!root.IsMap()) {
    return ctx.Error(root, "the config must be a mapping of top-level keys (" + Join(top) + ")");
  }
  // Each top-level section on its own: a problem in one does not hide the
  // problems of the others. Unknown keys are reported and left out.
  ParseUnit(ctx, [&] { return ctx.CheckUtf8(root); });
  ParseUnit(ctx, [&] { return CheckKeys(root, ctx, "", top); });
  ParseUnit(ctx, [&] { return ParseDefaults(root["defaults"], ctx, cfg.get()); });
  ParseUnit(ctx, [&] { return ParseCommands(root["commands"], ctx); });
  ParseUnit(ctx, [&] { return ParseStatusSection(Find(root, "status"), ctx, cfg.get()); });
  if (Entry bridge = Find(root, "bridge")) {
    ParseUnit(ctx, [&] { return ParseBridgeSection(bridge, ctx, cfg.get()); });
  }
  ParseUnit(ctx, [&] {
    ParseHosts(root["hosts"], ctx, cfg.get());
    return Status::Ok();
  });
  for (const CollectorKind& k : CollectorKinds()) {
    if (k.scope != CollectorScope::kGlobal) continue;
    Entry section = Find(root, k.key);
    if (!section) continue;
    ParseUnit(ctx, [&] { return ParseGlobalSection(k, section, ctx, cfg.get()); });
  }
  if (ctx.has_problems()) return ctx.Problems();
  if (cfg->checks.empty() && cfg->collectors.empty()) {
    Entry hosts_entry = Find(root, "hosts");
    return ctx.Error(hosts_entry ? hosts_entry.key : root,
                     "the config has no checks and no collectors; nothing to export");
  }
  return std::shared_ptr<const Config>(std::move(cfg));
}

}  // namespace

ConfigResult ParseConfig(std::string_view yaml, const std::string& filename) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    return Status::Error(filename + ":" + std::to_string(e.mark.line + 1) +
                         ": invalid YAML: " + e.msg + " (column " +
                         std::to_string(e.mark.column + 1) + ")");
  } catch (const std::exception& e) {
    return Status::Error(filename + ": invalid YAML: " + e.what());
  }
  try {
    return ParseRoot(root, filename);
  } catch (const YAML::Exception& e) {
    // A wrong node type deep in a section (a map where a list belongs).
    return Status::Error(filename + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  } catch (const std::exception& e) {
    return Status::Error(filename + ": " + e.what());
  }
}

ConfigResult LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::Error("cannot read config file " + path + ": " + std::strerror(errno));
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    return Status::Error("cannot read config file " + path + ": " + std::strerror(errno));
  }
  return ParseConfig(buf.str(), path);
}

std::string EmbeddedDefaultConfig(const std::string& hostname) {
  YAML::Emitter quoted;
  quoted << YAML::DoubleQuoted << hostname;
  return std::string(
             "# Embedded default: the machine the exporter runs on.\n"
             "defaults: {interval: 15s, timeout: 5s}\n"
             "hosts:\n  ") +
         quoted.c_str() +
         ":\n"
         "    resources: true\n"
         "    filesystems: [\"/\"]\n";
}

std::string LocalHostName() {
  // Set by the GPU DaemonSet from spec.nodeName: inside a pod the host name
  // is the pod's, which names no machine.
  const char* configured = std::getenv("JOELCLAW_HOST");
  if (configured != nullptr && configured[0] != '\0') return configured;
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string name(buf);
  // "panda.local" → "panda": the configured host names are short.
  size_t dot = name.find('.');
  if (dot != std::string::npos && dot > 0) name.resize(dot);
  return name;
}

}  // namespace joelclaw
