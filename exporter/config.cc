#include "exporter/config.h"

#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "exporter/config_node.h"
#include "exporter/registry.h"
#include "yaml-cpp/yaml.h"

namespace joelclaw {
namespace {

using ConfigResult = Result<std::shared_ptr<const Config>>;

Status ParseDefaults(const YAML::Node& node, ConfigContext& ctx, Config* cfg) {
  if (!node) return Status::Ok();
  Status s = ctx.CheckMap(node, "defaults", {"interval", "timeout"});
  if (!s.ok()) return s;
  if (!(s = ctx.GetDuration(node, "defaults", "interval", &cfg->default_interval)).ok()) return s;
  if (!(s = ctx.GetDuration(node, "defaults", "timeout", &cfg->default_timeout)).ok()) return s;
  if (cfg->default_timeout >= cfg->default_interval) {
    return ctx.Error(node, "defaults: timeout " + FormatDuration(cfg->default_timeout) +
                               " must be shorter than interval " +
                               FormatDuration(cfg->default_interval));
  }
  ctx.SetDefaults(cfg->default_interval, cfg->default_timeout);
  return Status::Ok();
}

Status ParseCommands(const YAML::Node& node, ConfigContext& ctx) {
  if (!node) return Status::Ok();
  if (!node.IsMap()) return ctx.Error(node, "commands must be a mapping of name to argv list");
  for (const auto& kv : node) {
    const std::string name = kv.first.Scalar();
    if (!kv.second.IsSequence() || kv.second.size() == 0) {
      return ctx.Error(kv.second, "commands: " + name + " must be a non-empty argv list");
    }
    std::vector<std::string> argv;
    for (const auto& a : kv.second) {
      if (!a.IsScalar()) return ctx.Error(a, "commands: " + name + ": argv entries must be strings");
      argv.push_back(a.Scalar());
    }
    if (argv[0].empty()) return ctx.Error(kv.second, "commands: " + name + ": empty program");
    ctx.SetCommand(name, std::move(argv));
  }
  return Status::Ok();
}

Status ParseCheck(const YAML::Node& node, const std::string& host,
                  const ConfigContext& ctx, std::set<std::string>* names,
                  Config* cfg) {
  std::vector<std::string_view> allowed = {"name", "interval", "timeout"};
  for (const ProbeKind& k : ProbeKinds()) allowed.push_back(k.name);
  if (!node.IsMap()) return ctx.Error(node, "host '" + host + "': each check must be a mapping");
  CheckSpec spec;
  spec.host = host;
  Status s = ctx.GetString(node, "host '" + host + "': check", "name", true, &spec.name);
  if (!s.ok()) return s;
  const std::string what = "check '" + spec.name + "'";
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) {
      std::string kinds;
      for (const ProbeKind& k : ProbeKinds()) kinds += (kinds.empty() ? "" : ", ") + std::string(k.name);
      return ctx.Error(kv.first, "unknown key '" + key + "' in " + what +
                                     " (known keys: name, interval, timeout, " + kinds + ")");
    }
  }
  if (!names->insert(spec.name).second) {
    return ctx.Error(node["name"], "host '" + host + "' has two checks named '" + spec.name + "'");
  }
  spec.interval = ctx.default_interval();
  spec.timeout = ctx.default_timeout();
  if (!(s = ctx.GetDuration(node, what, "interval", &spec.interval)).ok()) return s;
  if (!(s = ctx.GetDuration(node, what, "timeout", &spec.timeout)).ok()) return s;
  if (spec.timeout >= spec.interval) {
    return ctx.Error(node, what + ": timeout " + FormatDuration(spec.timeout) +
                               " must be shorter than interval " +
                               FormatDuration(spec.interval));
  }
  const ProbeKind* kind = nullptr;
  for (const ProbeKind& k : ProbeKinds()) {
    if (!node[std::string(k.name)]) continue;
    if (kind != nullptr) {
      return ctx.Error(node, what + " has both " + std::string(kind->name) + " and " +
                                 std::string(k.name) + "; give each check one probe");
    }
    kind = &k;
  }
  if (kind == nullptr) {
    std::string kinds;
    for (const ProbeKind& k : ProbeKinds()) kinds += (kinds.empty() ? "" : ", ") + std::string(k.name);
    return ctx.Error(node, what + " has no probe (one of: " + kinds + ")");
  }
  spec.kind = std::string(kind->name);
  YAML::Node probe_node = node[spec.kind];
  Result<std::unique_ptr<Probe>> probe = kind->parse(probe_node, ctx);
  if (!probe.ok()) {
    // Probe parsers report "file:line: problem"; name the check too when
    // they did not.
    return probe.status();
  }
  spec.probe = std::shared_ptr<Probe>(std::move(probe).value());
  cfg->checks.push_back(std::move(spec));
  return Status::Ok();
}

Status ParseHost(const std::string& host, const YAML::Node& node,
                 const ConfigContext& ctx, Config* cfg) {
  if (node.IsNull()) return Status::Ok();
  if (!node.IsMap()) return ctx.Error(node, "host '" + host + "' must be a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (key == "checks") continue;
    bool known = false;
    for (const CollectorKind& k : CollectorKinds()) {
      known = known || (k.scope == CollectorScope::kHost && k.key == key);
    }
    if (!known) {
      std::string list = "checks";
      for (const CollectorKind& k : CollectorKinds()) {
        if (k.scope == CollectorScope::kHost) list += ", " + std::string(k.key);
      }
      return ctx.Error(kv.first, "unknown key '" + key + "' in host '" + host +
                                     "' (known keys: " + list + ")");
    }
  }
  YAML::Node checks = node["checks"];
  if (checks && !checks.IsNull()) {
    if (!checks.IsSequence()) return ctx.Error(checks, "host '" + host + "': checks must be a list");
    std::set<std::string> names;
    for (const auto& c : checks) {
      Status s = ParseCheck(c, host, ctx, &names, cfg);
      if (!s.ok()) return s;
    }
  }
  for (const CollectorKind& k : CollectorKinds()) {
    if (k.scope != CollectorScope::kHost) continue;
    YAML::Node section = node[std::string(k.key)];
    if (!section) continue;
    Result<std::unique_ptr<Collector>> c = k.parse(section, ctx, host);
    if (!c.ok()) return c.status();
    if (*c == nullptr) continue;
    cfg->collectors.push_back({host, std::string(k.name), ctx.default_interval(),
                               ctx.default_timeout(),
                               std::shared_ptr<Collector>(std::move(c).value())});
  }
  return Status::Ok();
}

ConfigResult ParseRoot(const YAML::Node& root, const std::string& filename) {
  ConfigContext ctx(filename);
  auto cfg = std::make_shared<Config>();
  cfg->source = filename;
  if (root.IsNull()) return ctx.Error(root, "the config is empty");
  std::vector<std::string_view> top = {"defaults", "hosts", "commands"};
  for (const CollectorKind& k : CollectorKinds()) {
    if (k.scope == CollectorScope::kGlobal) top.push_back(k.key);
  }
  if (!root.IsMap()) return ctx.Error(root, "the config must be a mapping");
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    bool known = false;
    for (std::string_view t : top) known = known || t == key;
    if (!known) {
      std::string list;
      for (std::string_view t : top) list += (list.empty() ? "" : ", ") + std::string(t);
      return ctx.Error(kv.first, "unknown top-level key '" + key + "' (known keys: " + list + ")");
    }
  }
  Status s = ParseDefaults(root["defaults"], ctx, cfg.get());
  if (!s.ok()) return s;
  if (!(s = ParseCommands(root["commands"], ctx)).ok()) return s;
  YAML::Node hosts = root["hosts"];
  if (hosts && !hosts.IsNull()) {
    if (!hosts.IsMap()) return ctx.Error(hosts, "hosts must be a mapping of host name to its checks");
    for (const auto& kv : hosts) {
      const std::string host = kv.first.Scalar();
      if (host.empty()) return ctx.Error(kv.first, "host name is empty");
      for (const std::string& seen : cfg->hosts) {
        if (seen == host) return ctx.Error(kv.first, "host '" + host + "' is listed twice");
      }
      cfg->hosts.push_back(host);
      if (!(s = ParseHost(host, kv.second, ctx, cfg.get())).ok()) return s;
    }
  }
  for (const CollectorKind& k : CollectorKinds()) {
    if (k.scope != CollectorScope::kGlobal) continue;
    YAML::Node section = root[std::string(k.key)];
    if (!section) continue;
    Result<std::unique_ptr<Collector>> c = k.parse(section, ctx, "");
    if (!c.ok()) return c.status();
    if (*c == nullptr) continue;
    cfg->collectors.push_back({"", std::string(k.name), ctx.default_interval(),
                               ctx.default_timeout(),
                               std::shared_ptr<Collector>(std::move(c).value())});
  }
  if (cfg->checks.empty() && cfg->collectors.empty()) {
    return ctx.Error(root, "the config has no checks and no collectors; nothing to export");
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
                         ": invalid YAML: " + e.msg);
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
  if (!in) return Status::Error("cannot read config file " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return Status::Error("cannot read config file " + path);
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
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string name(buf);
  // "panda.local" → "panda": the configured host names are short.
  size_t dot = name.find('.');
  if (dot != std::string::npos && dot > 0) name.resize(dot);
  return name;
}

}  // namespace joelclaw
