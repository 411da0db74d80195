#include "exporter/collectors/tailscale_collector.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "exporter/config.h"
#include "exporter/json_fields.h"
#include "exporter/text_parse.h"

namespace joelclaw {
namespace {

// ipn.State values; every one is exported (0/1) so that a change of state
// never leaves a stale series behind.
constexpr std::string_view kBackendStates[] = {"NoState",  "NeedsLogin", "NeedsMachineAuth",
                                               "Stopped",  "Starting",   "Running"};

using Json = nlohmann::json;

constexpr char kOnlineHelp[] =
    "1 if the Tailscale peer is connected to the coordination server, else 0 (also 0 for an "
    "always-on peer missing from the status).";
constexpr char kAlwaysOnHelp[] =
    "1 if the peer is listed in tailscale.always_on in the exporter config, else 0.";

// `name` is "Self" or "Peer <node key>".
Status ParseNode(const Json& node, const std::string& name, TailscalePeer* out) {
  if (!node.is_object()) return Status::Error(name + " is not an object");
  const std::string what = name + ": ";
  Status s;
  if (!(s = JsonString(node, "ID", what, &out->id)).ok()) return s;
  if (!(s = JsonString(node, "HostName", what, &out->host_name)).ok()) return s;
  if (!(s = JsonString(node, "DNSName", what, &out->dns_name)).ok()) return s;
  if (!(s = JsonString(node, "OS", what, &out->os)).ok()) return s;
  if (!(s = JsonBool(node, "Online", what, &out->online)).ok()) return s;
  if (!(s = JsonBool(node, "Active", what, &out->active)).ok()) return s;
  if (!(s = JsonBool(node, "ExitNode", what, &out->exit_node)).ok()) return s;
  std::string last_seen;
  if (!(s = JsonString(node, "LastSeen", what, &last_seen)).ok()) return s;
  if (!last_seen.empty()) {
    Result<double> t = ParseRfc3339(last_seen);
    if (!t.ok()) return t.status().WithPrefix(what + "LastSeen");
    // Go's zero time (year 1) means "not recorded": Tailscale sends it
    // while the node is online. Nothing real predates 1970.
    if (*t > 0) out->last_seen_seconds = *t;
  }
  auto ips = node.find("TailscaleIPs");
  if (ips != node.end() && !ips->is_null()) {
    if (!ips->is_array()) return Status::Error(what + "TailscaleIPs is not a list");
    for (const Json& ip : *ips) {
      if (!ip.is_string()) return Status::Error(what + "TailscaleIPs has an entry that is not a string");
      out->tailscale_ips.push_back(ip.get<std::string>());
    }
  }
  return Status::Ok();
}

// "panda.tail1234.ts.net." → "panda"; another tailnet's node keeps its whole
// name; no DNS name → HostName.
std::string NodeName(const TailscalePeer& p, const std::string& suffix) {
  std::string_view dns = p.dns_name;
  if (!dns.empty() && dns.back() == '.') dns.remove_suffix(1);
  if (dns.empty()) return p.host_name;
  const size_t dot = dns.find('.');
  if (dot == std::string_view::npos) return std::string(dns);
  if (!suffix.empty() && dns.substr(dot + 1) != suffix) return std::string(dns);
  return std::string(dns.substr(0, dot));
}

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil), so that no libc time zone state is involved.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

Result<double> ParseRfc3339(std::string_view text) {
  const std::string bad =
      "not an RFC 3339 timestamp: \"" + Excerpt(TrimBlanks(text), 60) + "\"";
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  int year, month, day, hour, minute, second;
  if (text.size() < 20 || !ParseDigits(text, 0, 4, &year) || text[4] != '-' ||
      !ParseDigits(text, 5, 2, &month) || text[7] != '-' || !ParseDigits(text, 8, 2, &day) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
      !ParseDigits(text, 11, 2, &hour) || text[13] != ':' ||
      !ParseDigits(text, 14, 2, &minute) || text[16] != ':' ||
      !ParseDigits(text, 17, 2, &second)) {
    return Status::Error(bad);
  }
  static constexpr int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 ||
      day > kDaysInMonth[month - 1] + (month == 2 && IsLeapYear(year) ? 1 : 0) || hour > 23 ||
      minute > 59 || second > 60) {
    return Status::Error(bad + " (a field is out of range)");
  }
  size_t pos = 19;
  double fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    double scale = 0.1;
    const size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      fraction += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return Status::Error(bad);
  }
  int offset_seconds = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh, om;
    if (!ParseDigits(text, pos + 1, 2, &oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !ParseDigits(text, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return Status::Error(bad);
    }
    offset_seconds = (text[pos] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return Status::Error(bad + " (no time zone)");
  }
  if (pos != text.size()) return Status::Error(bad);
  const int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  return static_cast<double>(seconds) + fraction;
}

Result<TailscaleStatus> ParseTailscaleStatus(std::string_view json) {
  if (TrimBlanks(json).empty()) return Status::Error("empty output");
  const Json root = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return Status::Error("not valid JSON (truncated or garbage output): \"" +
                         Excerpt(TrimBlanks(json), 60) + "\"");
  }
  if (!root.is_object()) return Status::Error("not a JSON object");
  TailscaleStatus st;
  auto state = root.find("BackendState");
  if (state == root.end() || state->is_null()) {
    return Status::Error("no BackendState field; not `tailscale status --json` output");
  }
  if (!state->is_string()) return Status::Error("BackendState is not a string");
  st.backend_state = state->get<std::string>();

  Status s;
  auto tailnet = root.find("CurrentTailnet");
  if (tailnet != root.end() && tailnet->is_object()) {
    if (!(s = JsonString(*tailnet, "MagicDNSSuffix", "CurrentTailnet.", &st.magic_dns_suffix)).ok()) {
      return s;
    }
  }
  if (st.magic_dns_suffix.empty() &&
      !(s = JsonString(root, "MagicDNSSuffix", "", &st.magic_dns_suffix)).ok()) {
    return s;
  }

  std::vector<std::pair<std::string, TailscalePeer>> nodes;  // (key, node), Self first
  bool has_self = false;
  auto self = root.find("Self");
  if (self != root.end() && !self->is_null()) {
    TailscalePeer p;
    if (!(s = ParseNode(*self, "Self", &p)).ok()) return s;
    if (st.magic_dns_suffix.empty()) {
      // Older releases: the suffix is what follows Self's first label.
      std::string_view dns = p.dns_name;
      if (!dns.empty() && dns.back() == '.') dns.remove_suffix(1);
      const size_t dot = dns.find('.');
      if (dot != std::string_view::npos) st.magic_dns_suffix = std::string(dns.substr(dot + 1));
    }
    nodes.emplace_back("Self", std::move(p));
    has_self = true;
  }
  auto peers = root.find("Peer");
  if (peers != root.end() && !peers->is_null()) {
    if (!peers->is_object()) return Status::Error("Peer is not an object keyed by node key");
    for (const auto& [key, value] : peers->items()) {
      if (value.is_object()) {
        auto sharee = value.find("ShareeNode");
        // Nodes shared *to* us only exist so they may connect; `tailscale
        // status` hides them too.
        if (sharee != value.end() && sharee->is_boolean() && sharee->get<bool>()) continue;
      }
      TailscalePeer p;
      if (!(s = ParseNode(value, "Peer " + key, &p)).ok()) return s;
      nodes.emplace_back(key, std::move(p));
    }
  }

  // Names become label values, so they must be unique. MagicDNS names are;
  // a clash is left only where DNSName was empty: the later node (in key
  // order, Self first) gets its ID appended, deterministically.
  std::set<std::string> taken;
  for (auto& [key, p] : nodes) {
    p.name = NodeName(p, st.magic_dns_suffix);
    if (p.name.empty() || taken.count(p.name) > 0) {
      p.name += (p.name.empty() ? "" : "-") + (p.id.empty() ? key : p.id);
    }
    taken.insert(p.name);
  }
  if (has_self) {
    st.self = std::move(nodes.front().second);
    nodes.erase(nodes.begin());
  }
  for (auto& [key, p] : nodes) st.peers.push_back(std::move(p));
  std::sort(st.peers.begin(), st.peers.end(),
            [](const TailscalePeer& a, const TailscalePeer& b) { return a.name < b.name; });
  return st;
}

namespace {

class TailscaleCollector : public Collector {
 public:
  TailscaleCollector(std::string host, std::vector<std::string> always_on,
                     std::vector<std::string> argv)
      : host_(std::move(host)),
        always_on_(always_on.begin(), always_on.end()),
        argv_(std::move(argv)) {}

  std::string HostLabel() const override { return host_; }

  Status Collect(const CollectContext& ctx, CollectOutput* out) override {
    Result<CommandResult> run = ctx.env->Run(argv_, ctx.Remaining(), ctx.cancel);
    if (!run.ok()) return run.status();
    if (run->exit_code != 0) {
      const std::string err = run->err.substr(0, run->err.find('\n')).substr(0, 200);
      return Status::Error("'" + argv_[0] + "' " +
                           (run->term_signal != 0
                                ? "was killed by signal " + std::to_string(run->term_signal)
                                : "exited with status " + std::to_string(run->exit_code)) +
                           (err.empty() ? "" : ": " + err));
    }
    Result<TailscaleStatus> st = ParseTailscaleStatus(run->out);
    if (!st.ok()) return st.status().WithPrefix("tailscale status");
    const double now = ctx.env->NowSeconds();

    MetricSet& m = out->metrics;
    const bool running = st->backend_state == "Running";
    m.Gauge("joelclaw_tailscale_self_online",
            "1 if tailscaled on the exporter's machine is Running (BackendState), else 0.",
            {{"host", host_}}, running ? 1 : 0);
    for (std::string_view state : kBackendStates) {
      m.Gauge(
          "joelclaw_tailscale_backend_state",
          "1 for tailscaled's current BackendState on the exporter's machine, 0 for the others.",
          {{"host", host_}, {"state", std::string(state)}}, st->backend_state == state ? 1 : 0);
    }

    std::vector<const TailscalePeer*> nodes;
    if (st->self) nodes.push_back(&*st->self);
    for (const TailscalePeer& p : st->peers) nodes.push_back(&p);
    std::set<std::string> seen;
    Json peers = Json::array();
    for (const TailscalePeer* p : nodes) {
      seen.insert(p->name);
      const Labels l = {{"peer", p->name}};
      const bool always_on = always_on_.count(p->name) > 0;
      m.Gauge("joelclaw_tailscale_peer_online", kOnlineHelp, l, p->online ? 1 : 0);
      m.Gauge("joelclaw_tailscale_peer_always_on", kAlwaysOnHelp, l, always_on ? 1 : 0);
      m.Gauge("joelclaw_tailscale_peer_info",
              "Always 1; the peer's operating system and self-reported (not unique) host name.",
              {{"peer", p->name}, {"os", p->os}, {"hostname", p->host_name}}, 1);
      // Tailscale reports the zero time while a peer is online: it is
      // seen now.
      std::optional<double> last_seen = p->online ? std::optional<double>(now) : p->last_seen_seconds;
      if (last_seen) {
        m.Gauge("joelclaw_tailscale_peer_last_seen_timestamp_seconds",
                "When the peer was last connected to the coordination server (Unix seconds); "
                "the time of the collector's run while it is online.",
                l, *last_seen);
      }
      Json j = {{"peer", p->name},         {"hostname", p->host_name}, {"dns_name", p->dns_name},
                {"os", p->os},             {"present", true},          {"online", p->online},
                {"always_on", always_on},  {"active", p->active},      {"exit_node", p->exit_node},
                {"self", st->self && p == &*st->self},
                {"tailscale_ips", p->tailscale_ips}};
      j["last_seen"] = last_seen ? Json(*last_seen) : Json();
      peers.push_back(std::move(j));
    }
    for (const std::string& name : always_on_) {
      if (seen.count(name) > 0) continue;
      // Missing from the status (removed, expired, renamed): reported as
      // offline, never silently dropped.
      const Labels l = {{"peer", name}};
      m.Gauge("joelclaw_tailscale_peer_online", kOnlineHelp, l, 0);
      m.Gauge("joelclaw_tailscale_peer_always_on", kAlwaysOnHelp, l, 1);
      peers.push_back({{"peer", name}, {"present", false}, {"online", false}, {"always_on", true}});
    }
    out->details = {{"backend_state", st->backend_state}, {"peers", std::move(peers)}};
    return Status::Ok();
  }

 private:
  std::string host_;
  std::set<std::string> always_on_;
  std::vector<std::string> argv_;
};

}  // namespace

Result<std::unique_ptr<Collector>> ParseTailscaleCollector(const YAML::Node& node,
                                                           const ConfigContext& ctx,
                                                           const std::string& host) {
  (void)host;  // Global: one tailnet view per exporter.
  const std::string what = "tailscale";
  Status s = ctx.CheckMap(node, what, {"enabled", "always_on", "host"});
  if (!s.ok()) return s;
  bool enabled = true;
  if (!(s = ctx.GetBool(node, what, "enabled", &enabled)).ok()) return s;
  std::vector<std::string> always_on;
  if (!(s = ctx.GetStringList(node, what, "always_on", &always_on)).ok()) return s;
  std::set<std::string> seen;
  for (const std::string& name : always_on) {
    if (!seen.insert(name).second) {
      return ctx.Error(node["always_on"], what + ": always_on: peer '" + name + "' is listed twice");
    }
    if (name.find_first_of(" \t") != std::string::npos || name.back() == '.') {
      return ctx.Error(node["always_on"],
                       what + ": always_on: '" + name +
                           "' is not a peer name; use the first label of its MagicDNS name "
                           "(panda for panda.tail1234.ts.net)");
    }
  }
  std::string label = LocalHostName();
  if (!(s = ctx.GetString(node, what, "host", false, &label)).ok()) return s;
  if (label.empty()) return ctx.Error(node["host"], what + ": host is empty");
  if (!enabled) return std::unique_ptr<Collector>();
  return std::unique_ptr<Collector>(
      new TailscaleCollector(std::move(label), std::move(always_on),
                             ctx.Command("tailscale", {"tailscale", "status", "--json"})));
}

}  // namespace joelclaw
