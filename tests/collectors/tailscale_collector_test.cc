#include "exporter/collectors/tailscale_collector.h"

#include <chrono>
#include <memory>
#include <string>

#include "exporter/config.h"
#include "gtest/gtest.h"
#include "tests/support/fake_env.h"
#include "tests/support/test_util.h"
#include "yaml-cpp/yaml.h"

namespace joelclaw {
namespace tailscale_collector_test {

using testing::FakeEnv;
using testing::ReadFileOrDie;
using testing::TestData;

std::string Fixture(const std::string& name) { return ReadFileOrDie(TestData("tailscale/" + name)); }

const std::vector<std::string> kArgv = {"tailscale", "status", "--json"};

// ---- RFC 3339 --------------------------------------------------------------

TEST(Rfc3339Test, ParsesFractionsAndZones) {
  EXPECT_EQ(*ParseRfc3339("2024-04-29T22:10:00Z"), 1714428600.0);
  // Go's RFC3339Nano with a zone: 09:58:12 at -07:00 is 16:58:12 UTC.
  Result<double> t = ParseRfc3339("2024-05-01T09:58:12.123456789-07:00");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_NEAR(*t, 1714582692.123456789, 1e-6);
  EXPECT_NEAR(*ParseRfc3339("2024-05-01T22:28:12.5+05:30"), 1714582692.5, 1e-6);
  EXPECT_NEAR(*ParseRfc3339("2024-05-02T01:28:12.5+05:30"), 1714582692.5 + 3 * 3600, 1e-6);
  EXPECT_EQ(*ParseRfc3339("2024-02-29t23:59:59z"), 1709251199.0);  // Leap day, lower case.
  EXPECT_EQ(*ParseRfc3339("1970-01-01T00:00:00Z"), 0.0);
  // Go's zero time, which Tailscale sends for "not recorded".
  EXPECT_EQ(*ParseRfc3339("0001-01-01T00:00:00Z"), -62135596800.0);
}

TEST(Rfc3339Test, RejectsMalformedTimestamps) {
  for (const char* bad : {"", "yesterday", "2024-05-01", "2024-05-01T12:00:00",  // No zone.
                          "2024-05-01T12:00:00.Z", "2024-13-01T12:00:00Z", "2023-02-29T12:00:00Z",
                          "2024-05-01T24:00:00Z", "2024-05-01T12:00:00+0700",
                          "2024-05-01T12:00:00Zjunk", "2024-05-01T12:00:00+07:00:00"}) {
    SCOPED_TRACE(bad);
    Result<double> t = ParseRfc3339(bad);
    EXPECT_FALSE(t.ok());
    EXPECT_NE(t.status().message().find("not an RFC 3339 timestamp"), std::string::npos);
  }
}

// ---- Parser on fixtures ----------------------------------------------------

TEST(TailscaleStatusTest, ParsesRealShapedOutput) {
  Result<TailscaleStatus> st = ParseTailscaleStatus(Fixture("status-running.json"));
  ASSERT_TRUE(st.ok()) << st.status().message();
  EXPECT_EQ(st->backend_state, "Running");
  EXPECT_EQ(st->magic_dns_suffix, "tail1234.ts.net");
  ASSERT_TRUE(st->self.has_value());
  EXPECT_EQ(st->self->name, "panda");
  EXPECT_EQ(st->self->os, "macOS");
  EXPECT_TRUE(st->self->online);
  EXPECT_FALSE(st->self->last_seen_seconds.has_value());  // Zero time, not year 1.

  std::vector<std::string> names;
  for (const TailscalePeer& p : st->peers) names.push_back(p.name);
  // Sorted; the sharee-only guest-laptop is left out like `tailscale status` does.
  EXPECT_EQ(names, (std::vector<std::string>{"clanker-001", "localhost", "localhost-1",
                                             "panda.friends-tailnet.ts.net", "three-body"}));

  const TailscalePeer& clanker = st->peers[0];
  EXPECT_TRUE(clanker.online);
  EXPECT_TRUE(clanker.active);
  EXPECT_FALSE(clanker.last_seen_seconds.has_value());
  EXPECT_EQ(clanker.dns_name, "clanker-001.tail1234.ts.net.");
  EXPECT_EQ(clanker.tailscale_ips,
            (std::vector<std::string>{"100.88.12.7", "fd7a:115c:a1e0::a01:c07"}));

  // Two machines call themselves "localhost"; their MagicDNS names differ.
  EXPECT_EQ(st->peers[1].host_name, "localhost");
  EXPECT_EQ(st->peers[2].host_name, "localhost");
  EXPECT_FALSE(st->peers[1].online);
  EXPECT_EQ(st->peers[1].last_seen_seconds, 1714428600.0);
  EXPECT_TRUE(st->peers[2].exit_node);

  // A node shared in from another tailnet that is also called panda keeps
  // its whole name and cannot pose as our panda.
  EXPECT_EQ(st->peers[3].host_name, "panda");
  EXPECT_EQ(st->peers[3].os, "windows");

  const TailscalePeer& nas = st->peers[4];
  EXPECT_FALSE(nas.online);
  ASSERT_TRUE(nas.last_seen_seconds.has_value());
  EXPECT_NEAR(*nas.last_seen_seconds, 1714582692.123456789, 1e-6);
}

TEST(TailscaleStatusTest, NeedsLoginHasNoPeers) {
  Result<TailscaleStatus> st = ParseTailscaleStatus(Fixture("status-needs-login.json"));
  ASSERT_TRUE(st.ok()) << st.status().message();
  EXPECT_EQ(st->backend_state, "NeedsLogin");
  EXPECT_TRUE(st->peers.empty());  // "Peer": null
  ASSERT_TRUE(st->self.has_value());
  EXPECT_EQ(st->self->name, "panda");  // No DNSName yet: HostName.
  EXPECT_FALSE(st->self->online);
  EXPECT_FALSE(st->self->last_seen_seconds.has_value());
}

TEST(TailscaleStatusTest, NamesStayUniqueWithoutDnsNames) {
  // No MagicDNS names at all (very old releases): HostName, then the ID.
  Result<TailscaleStatus> st = ParseTailscaleStatus(R"({"BackendState": "Running",
      "Peer": {"nodekey:1": {"ID": "n1", "HostName": "localhost", "Online": true},
               "nodekey:2": {"ID": "n2", "HostName": "localhost"},
               "nodekey:3": {}}})");
  ASSERT_TRUE(st.ok()) << st.status().message();
  ASSERT_EQ(st->peers.size(), 3u);
  EXPECT_EQ(st->peers[0].name, "localhost");
  EXPECT_EQ(st->peers[1].name, "localhost-n2");
  EXPECT_EQ(st->peers[2].name, "nodekey:3");
  EXPECT_FALSE(st->self.has_value());
}

TEST(TailscaleStatusTest, BadInputIsAClearError) {
  struct Case {
    std::string name, text, error;
  };
  const Case cases[] = {
      {"empty", "", "empty output"},
      {"blank", " \n\t\n", "empty output"},
      {"truncated", Fixture("status-truncated.json"),
       "not valid JSON (truncated or garbage output): \"{ \"Version\": "
       "\"1.64.2-t1a3b5c7d9-g0f1e2d3c4\", \"TUN\": true, \"B...\""},
      {"garbage", "\x7f" "ELF\x02\x01 binary junk {{{",
       "not valid JSON (truncated or garbage output): \"?ELF?? binary junk {{{\""},
      {"daemon down", "failed to connect to local tailscaled; it doesn't appear to be running",
       "not valid JSON (truncated or garbage output): \"failed to connect to local tailscaled; "
       "it doesn't appear to...\""},
      {"array", "[1, 2]", "not a JSON object"},
      {"string", "\"Running\"", "not a JSON object"},
      {"no state", "{\"Peer\": {}}", "no BackendState field; not `tailscale status --json` output"},
      {"state not string", "{\"BackendState\": 6}", "BackendState is not a string"},
      {"peer not object", "{\"BackendState\": \"Running\", \"Peer\": [1]}",
       "Peer is not an object keyed by node key"},
      {"peer entry", "{\"BackendState\": \"Running\", \"Peer\": {\"nodekey:ab\": 5}}",
       "Peer nodekey:ab is not an object"},
      {"online type", "{\"BackendState\": \"Running\", \"Peer\": {\"nodekey:ab\": {\"Online\": \"yes\"}}}",
       "Peer nodekey:ab: Online is not a boolean"},
      {"dns type", "{\"BackendState\": \"Running\", \"Self\": {\"DNSName\": 1}}",
       "Self: DNSName is not a string"},
      {"self type", "{\"BackendState\": \"Running\", \"Self\": []}", "Self is not an object"},
      {"ips type", "{\"BackendState\": \"Running\", \"Self\": {\"TailscaleIPs\": \"100.1.2.3\"}}",
       "Self: TailscaleIPs is not a list"},
      {"ip entry", "{\"BackendState\": \"Running\", \"Self\": {\"TailscaleIPs\": [7]}}",
       "Self: TailscaleIPs has an entry that is not a string"},
      {"last seen", "{\"BackendState\": \"Running\", \"Peer\": {\"k\": {\"LastSeen\": \"yesterday\"}}}",
       "Peer k: LastSeen: not an RFC 3339 timestamp: \"yesterday\""},
      {"last seen type", "{\"BackendState\": \"Running\", \"Peer\": {\"k\": {\"LastSeen\": 0}}}",
       "Peer k: LastSeen is not a string"},
      {"suffix type", "{\"BackendState\": \"Running\", \"CurrentTailnet\": {\"MagicDNSSuffix\": []}}",
       "CurrentTailnet.MagicDNSSuffix is not a string"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Result<TailscaleStatus> st = ParseTailscaleStatus(c.text);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.status().message(), c.error);
  }
  // Deeply nested input neither crashes nor parses.
  EXPECT_FALSE(ParseTailscaleStatus(std::string(100000, '[')).ok());
}

// ---- Collector -------------------------------------------------------------

std::unique_ptr<Collector> MakeCollector(const std::string& yaml) {
  ConfigContext ctx("test.yaml");
  auto c = ParseTailscaleCollector(YAML::Load(yaml), ctx, "");
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(c).value() : nullptr;
}

double Sample(const CollectOutput& out, const std::string& name, const Labels& labels) {
  double v = -12345;
  out.metrics.Find(name, labels, &v);
  return v;
}

double Peer(const CollectOutput& out, const std::string& name, const std::string& peer) {
  return Sample(out, name, {{"peer", peer}});
}

CollectContext Context(Env* env) {
  return CollectContext{std::chrono::steady_clock::now() + std::chrono::seconds(5), nullptr, env};
}

constexpr char kAlwaysOn[] =
    "{enabled: true, always_on: [panda, clanker-001, three-body, pi-hole], host: panda}";

TEST(TailscaleCollectorTest, ExportsPeersAndReportsMissingAlwaysOnPeers) {
  FakeEnv env;
  env.SetNow(1714600000);
  env.SetCommandOutput(kArgv, Fixture("status-running.json"));
  auto collector = MakeCollector(kAlwaysOn);
  ASSERT_NE(collector, nullptr);
  CollectOutput out;
  Status s = collector->Collect(Context(&env), &out);
  ASSERT_TRUE(s.ok()) << s.message();

  EXPECT_EQ(Sample(out, "joelclaw_tailscale_self_online", {{"host", "panda"}}), 1);
  EXPECT_EQ(
      Sample(out, "joelclaw_tailscale_backend_state", {{"host", "panda"}, {"state", "Running"}}),
      1);
  EXPECT_EQ(
      Sample(out, "joelclaw_tailscale_backend_state", {{"host", "panda"}, {"state", "NeedsLogin"}}),
      0);

  // The exporter's own node (Self) is a peer like the others.
  EXPECT_EQ(Peer(out, "joelclaw_tailscale_peer_online", "panda"), 1);
  EXPECT_EQ(Peer(out, "joelclaw_tailscale_peer_always_on", "panda"), 1);
  // Online peers carry the zero time: they are seen now, never in year 1.
  EXPECT_EQ(Peer(out, "joelclaw_tailscale_peer_last_seen_timestamp_seconds", "panda"), 1714600000);
  EXPECT_EQ(Peer(out, "joelclaw_tailscale_peer_last_seen_timestamp_seconds", "clanker-001"),
            1714600000);
  EXPECT_EQ(Peer(out, "joelclaw_tailscale_peer_online", "three-body"), 0);
  EXPECT_NEAR(Peer(out, "joelclaw_tailscale_peer_last_seen_timestamp_seconds", "three-body"),
              1714582692.123456789, 1e-6);
  EXPECT_EQ(Sample(out, "joelclaw_tailscale_peer_info",
                   {{"peer", "clanker-001"}, {"os", "linux"}, {"hostname", "clanker-001"}}),
            1);
  EXPECT_EQ(Sample(out, "joelclaw_tailscale_peer_info",
                   {{"peer", "localhost-1"}, {"os", "linux"}, {"hostname", "localhost"}}),
            1);
  EXPECT_EQ(Sample(out, "joelclaw_tailscale_peer_info",
                   {{"peer", "localhost"}, {"os", "android"}, {"hostname", "localhost"}}),
            1);
  // Not configured as always on.
  EXPECT_EQ(Peer(out, "joelclaw_tailscale_peer_always_on", "localhost-1"), 0);
  EXPECT_EQ(Peer(out, "joelclaw_tailscale_peer_always_on", "panda.friends-tailnet.ts.net"), 0);

  // pi-hole is not in the status at all: reported offline, not dropped.
  EXPECT_EQ(Peer(out, "joelclaw_tailscale_peer_online", "pi-hole"), 0);
  EXPECT_EQ(Peer(out, "joelclaw_tailscale_peer_always_on", "pi-hole"), 1);
  double v;
  EXPECT_FALSE(out.metrics.Find("joelclaw_tailscale_peer_last_seen_timestamp_seconds",
                                {{"peer", "pi-hole"}}, &v));

  // 6 nodes (Self + 5 peers) + pi-hole; the sharee node is not exported.
  // self_online, 6 backend states; for Self and 5 peers online, always_on,
  // info and last seen; pi-hole's online and always_on.
  EXPECT_EQ(out.metrics.SampleCount(), 1u + 6 + 6 * 4 + 2);
  EXPECT_FALSE(out.metrics.Find("joelclaw_tailscale_peer_online", {{"peer", "guest-laptop"}}, &v));

  ASSERT_TRUE(out.details["peers"].is_array());
  EXPECT_EQ(out.details["backend_state"], "Running");
  EXPECT_EQ(out.details["peers"].size(), 7u);
  EXPECT_EQ(out.details["peers"][0]["peer"], "panda");
  EXPECT_EQ(out.details["peers"][0]["self"], true);
  EXPECT_EQ(out.details["peers"][6]["peer"], "pi-hole");
  EXPECT_EQ(out.details["peers"][6]["present"], false);
  // Renders as valid exposition text.
  EXPECT_NE(RenderText(out.metrics.Families()).find("joelclaw_tailscale_peer_online{peer=\"pi-hole\"} 0"),
            std::string::npos);
}

TEST(TailscaleCollectorTest, LoggedOutNodeMarksSelfDownAndAlwaysOnPeersOffline) {
  FakeEnv env;
  env.SetCommandOutput(kArgv, Fixture("status-needs-login.json"));
  auto collector = MakeCollector(kAlwaysOn);
  CollectOutput out;
  ASSERT_TRUE(collector->Collect(Context(&env), &out).ok());
  EXPECT_EQ(Sample(out, "joelclaw_tailscale_self_online", {{"host", "panda"}}), 0);
  EXPECT_EQ(
      Sample(out, "joelclaw_tailscale_backend_state", {{"host", "panda"}, {"state", "NeedsLogin"}}),
      1);
  EXPECT_EQ(
      Sample(out, "joelclaw_tailscale_backend_state", {{"host", "panda"}, {"state", "Running"}}),
      0);
  EXPECT_EQ(Peer(out, "joelclaw_tailscale_peer_online", "panda"), 0);
  EXPECT_EQ(Peer(out, "joelclaw_tailscale_peer_online", "clanker-001"), 0);
  EXPECT_EQ(Peer(out, "joelclaw_tailscale_peer_always_on", "three-body"), 1);
  // Offline with the zero time: no last-seen sample rather than year 1.
  double v;
  EXPECT_FALSE(out.metrics.Find("joelclaw_tailscale_peer_last_seen_timestamp_seconds",
                                {{"peer", "panda"}}, &v));
}

TEST(TailscaleCollectorTest, CommandFailureIsACollectorError) {
  FakeEnv env;
  auto collector = MakeCollector("{enabled: true}");
  CollectOutput out;
  EXPECT_EQ(collector->Collect(Context(&env), &out).message(),
            "cannot run 'tailscale': No such file or directory");

  CommandResult down;
  down.exit_code = 1;
  down.err = "failed to connect to local tailscaled; it doesn't appear to be running "
             "(sudo systemctl start tailscaled ?)\nmore\n";
  env.SetCommand(kArgv, {down});
  EXPECT_EQ(collector->Collect(Context(&env), &out).message(),
            "'tailscale' exited with status 1: failed to connect to local tailscaled; it doesn't "
            "appear to be running (sudo systemctl start tailscaled ?)");

  CommandResult killed;
  killed.exit_code = -1;
  killed.term_signal = 9;
  env.SetCommand(kArgv, {killed});
  EXPECT_EQ(collector->Collect(Context(&env), &out).message(),
            "'tailscale' was killed by signal 9");

  env.SetCommandOutput(kArgv, Fixture("status-truncated.json"));
  CollectOutput partial;
  Status s = collector->Collect(Context(&env), &partial);
  EXPECT_EQ(s.message().rfind("tailscale status: not valid JSON", 0), 0u) << s.message();
  EXPECT_TRUE(partial.metrics.empty());  // Nothing half-exported.
}

// Records the timeout the collector hands to Run.
class TimeoutRecordingEnv : public FakeEnv {
 public:
  Result<CommandResult> Run(const std::vector<std::string>& argv, Duration timeout,
                            const std::atomic<bool>* cancel, size_t max_output_bytes) override {
    last_timeout = timeout;
    return FakeEnv::Run(argv, timeout, cancel, max_output_bytes);
  }
  Duration last_timeout{-1};
};

TEST(TailscaleCollectorTest, RunsTheConfiguredCommandWithinTheDeadline) {
  ConfigContext ctx("test.yaml");
  ctx.SetCommand("tailscale", {"/opt/tailscale/bin/tailscale", "status", "--json", "--peers"});
  auto c = ParseTailscaleCollector(YAML::Load("{enabled: true}"), ctx, "");
  ASSERT_TRUE(c.ok());
  TimeoutRecordingEnv env;
  env.SetCommandOutput({"/opt/tailscale/bin/tailscale", "status", "--json", "--peers"},
                       Fixture("status-running.json"));
  CollectContext cctx{std::chrono::steady_clock::now() + std::chrono::milliseconds(1500), nullptr,
                      &env};
  CollectOutput out;
  ASSERT_TRUE((*c)->Collect(cctx, &out).ok());
  EXPECT_GT(env.last_timeout.count(), 1000);
  EXPECT_LE(env.last_timeout.count(), 1500);
}

TEST(TailscaleCollectorTest, AHungCommandIsKilledAtTheDeadline) {
  ConfigContext ctx("test.yaml");
  ctx.SetCommand("tailscale", {"sleep", "30"});
  auto c = ParseTailscaleCollector(YAML::Load("{enabled: true}"), ctx, "");
  ASSERT_TRUE(c.ok());
  CollectContext cctx{std::chrono::steady_clock::now() + std::chrono::milliseconds(300), nullptr,
                      Env::Default()};
  CollectOutput out;
  const auto start = std::chrono::steady_clock::now();
  Status s = (*c)->Collect(cctx, &out);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(s.ok());
  EXPECT_LT(took, std::chrono::seconds(3)) << s.message();
}

// ---- Config ----------------------------------------------------------------

TEST(TailscaleCollectorTest, ConfigErrors) {
  ConfigContext ctx("c.yaml");
  auto disabled = ParseTailscaleCollector(YAML::Load("{enabled: false, always_on: [panda]}"), ctx, "");
  ASSERT_TRUE(disabled.ok());
  EXPECT_EQ(*disabled, nullptr);
  EXPECT_NE(*ParseTailscaleCollector(YAML::Load("{}"), ctx, ""), nullptr);  // Enabled by default.

  EXPECT_EQ(ParseTailscaleCollector(YAML::Load("{always_on: [panda, panda]}"), ctx, "").status().message(),
            "c.yaml:1: tailscale: always_on: peer 'panda' is listed twice");
  EXPECT_EQ(ParseTailscaleCollector(YAML::Load("{always_on: [panda.tail1234.ts.net.]}"), ctx, "")
                .status()
                .message(),
            "c.yaml:1: tailscale: always_on: 'panda.tail1234.ts.net.' is not a peer name; use the "
            "first label of its MagicDNS name (panda for panda.tail1234.ts.net)");
  // The wording after this prefix is ConfigContext::GetBool's.
  EXPECT_EQ(ParseTailscaleCollector(YAML::Load("{enabled: yes please}"), ctx, "")
                .status()
                .message()
                .rfind("c.yaml:1: tailscale: enabled must be true or false", 0),
            0u);
  EXPECT_EQ(ParseTailscaleCollector(YAML::Load("{always_on: panda}"), ctx, "")
                .status()
                .message()
                .rfind("c.yaml:1: tailscale: always_on must be a list", 0),
            0u);
  EXPECT_FALSE(ParseTailscaleCollector(YAML::Load("{peers: [panda]}"), ctx, "").ok());
  EXPECT_FALSE(ParseTailscaleCollector(YAML::Load("true"), ctx, "").ok());
}

TEST(TailscaleCollectorTest, IsAGlobalCollectorInTheConfig) {
  auto cfg = ParseConfig(
      "hosts:\n"
      "  panda: {resources: true}\n"
      "tailscale: {enabled: true, always_on: [panda, clanker-001, three-body]}\n"
      "commands:\n"
      "  tailscale: [tailscale, status, --json]\n",
      "config.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  int found = 0;
  for (const CollectorSpec& spec : (*cfg)->collectors) {
    if (spec.name != "tailscale") continue;
    ++found;
    EXPECT_EQ(spec.host, "");
  }
  EXPECT_EQ(found, 1);

  auto off = ParseConfig("hosts:\n  panda: {resources: true}\ntailscale: {enabled: false}\n", "c.yaml");
  ASSERT_TRUE(off.ok()) << off.status().message();
  for (const CollectorSpec& spec : (*off)->collectors) EXPECT_NE(spec.name, "tailscale");

  auto bad = ParseConfig("hosts:\n  panda: {resources: true}\ntailscale: {always_on: [a, a]}\n", "c.yaml");
  EXPECT_EQ(bad.status().message(), "c.yaml:3: tailscale: always_on: peer 'a' is listed twice");
}

}  // namespace tailscale_collector_test
}  // namespace joelclaw
