#include "exporter/config.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "exporter/config_node.h"
#include "exporter/registry.h"
#include "gtest/gtest.h"
#include "tests/support/test_util.h"

namespace joelclaw {
namespace config_test {

using std::chrono::milliseconds;
using testing::ReadFileOrDie;
using testing::TestData;

// The invalid-config cases, blackbox_exporter style: every
// tests/testdata/config/invalid-NAME.yaml has a sibling
// invalid-NAME.yaml.err holding the exact error sentence, with the literal
// "FILE" standing for the path the file was loaded from (the message must
// start with "PATH:LINE: "; the test swaps that path for "FILE" and compares
// the whole line). A case with several problems has one line for each, in
// line order. Lists that grow with the registry are written as
// {TOP_KEYS}, {HOST_KEYS}, {CHECK_KEYS} and {PROBES}, so that adding a
// collector or probe does not touch these files. Adding a case is adding
// those two files.
std::vector<std::string> Cases(const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(TestData("config"))) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && e.path().extension() == ".yaml") names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The registry-dependent lists, in the order the messages give them.
std::string ExpandLists(std::string text) {
  std::string probes, top = "defaults, hosts, commands, status, bridge",
                      host = "checks, description";
  for (const ProbeKind& k : ProbeKinds()) {
    probes += (probes.empty() ? "" : ", ") + std::string(k.name);
  }
  for (const CollectorKind& k : CollectorKinds()) {
    (k.scope == CollectorScope::kGlobal ? top : host) += ", " + std::string(k.key);
  }
  const std::pair<std::string, std::string> lists[] = {
      {"{TOP_KEYS}", top},
      {"{HOST_KEYS}", host},
      {"{CHECK_KEYS}", "name, interval, timeout, description, service, reachability, " + probes},
      {"{PROBES}", probes},
  };
  for (const auto& [placeholder, value] : lists) {
    for (size_t at; (at = text.find(placeholder)) != std::string::npos;) {
      text.replace(at, placeholder.size(), value);
    }
  }
  return text;
}

std::string Chomp(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

const CheckSpec* FindCheck(const Config& cfg, const std::string& host, const std::string& name) {
  for (const CheckSpec& c : cfg.checks) {
    if (c.host == host && c.name == name) return &c;
  }
  return nullptr;
}

const CollectorSpec* FindCollector(const Config& cfg, const std::string& host,
                                   const std::string& name) {
  for (const CollectorSpec& c : cfg.collectors) {
    if (c.host == host && c.name == name) return &c;
  }
  return nullptr;
}

TEST(ConfigTest, InvalidCasesFailWithTheirExactMessage) {
  const std::vector<std::string> cases = Cases("invalid-");
  ASSERT_GE(cases.size(), 25u) << "the invalid-*.yaml cases went missing";
  for (const std::string& name : cases) {
    SCOPED_TRACE(name);
    const std::string path = TestData("config/" + name);
    std::string want;
    ASSERT_NO_THROW(want = ExpandLists(Chomp(ReadFileOrDie(path + ".err"))))
        << name << " has no .err file with its expected message";
    auto cfg = LoadConfigFile(path);
    ASSERT_FALSE(cfg.ok()) << name << " loaded without error";
    // One problem a line, each starting with the path.
    std::string got;
    std::istringstream lines(cfg.status().message());
    for (std::string line; std::getline(lines, line);) {
      ASSERT_EQ(line.rfind(path + ":", 0), 0u) << "a problem does not start with the path: " << line;
      got += (got.empty() ? "" : "\n") + ("FILE" + line.substr(path.size()));
    }
    EXPECT_EQ(got, want);
  }
}

TEST(ConfigTest, EveryErrFileHasItsYaml) {
  for (const auto& e : std::filesystem::directory_iterator(TestData("config"))) {
    const std::string p = e.path().string();
    if (e.path().extension() != ".err") continue;
    EXPECT_TRUE(std::filesystem::exists(p.substr(0, p.size() - 4))) << p << " has no .yaml";
  }
}

TEST(ConfigTest, ValidExamplesLoad) {
  const std::vector<std::string> cases = Cases("valid-");
  ASSERT_GE(cases.size(), 3u);
  for (const std::string& name : cases) {
    SCOPED_TRACE(name);
    auto cfg = LoadConfigFile(TestData("config/" + name));
    ASSERT_TRUE(cfg.ok()) << cfg.status().message();
    EXPECT_FALSE((*cfg)->hosts.empty());
  }
}

TEST(ConfigTest, FullExampleHasItsHostsChecksAndTimings) {
  const std::string path = TestData("config/valid-full.yaml");
  auto loaded = LoadConfigFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const Config& cfg = **loaded;
  EXPECT_EQ(cfg.source, path);
  EXPECT_EQ(cfg.hosts, (std::vector<std::string>{"panda", "clanker-001", "three-body"}));
  EXPECT_EQ(cfg.default_interval, milliseconds(30000));
  EXPECT_EQ(cfg.default_timeout, milliseconds(5000));
  ASSERT_EQ(cfg.checks.size(), 9u);

  struct Want {
    const char* host;
    const char* name;
    const char* kind;
    int64_t interval_ms;
    int64_t timeout_ms;
    const char* describe;
    int port;
  };
  const Want want[] = {
      {"panda", "inngest", "http", 30000, 5000, "http://127.0.0.1:8288/health", 8288},
      {"panda", "qdrant", "http", 30000, 5000, "http://127.0.0.1:6333/healthz", 6333},
      // Per-check override of both.
      {"panda", "redis", "redis", 10000, 2000, "redis://127.0.0.1:6379", 6379},
      {"panda", "worker", "http", 30000, 5000, "http://127.0.0.1:3111/", 3111},
      // Interval overridden, timeout inherited.
      {"panda", "caddy", "tls", 300000, 5000, "tls://127.0.0.1:443 (panda.example.ts.net)", 443},
      {"clanker-001", "pdf-brain", "http", 30000, 5000, "http://clanker-001:3847/", 3847},
      {"clanker-001", "ssh", "ssh", 30000, 5000, "ssh://clanker-001:22", 22},
      // Timeout overridden, interval inherited.
      {"three-body", "ssh", "ssh", 30000, 10000, "ssh://three-body:22", 22},
      {"three-body", "dsm", "tcp", 30000, 5000, "tcp://[fd7a:115c:a1e0::1]:5001", 5001},
  };
  for (size_t i = 0; i < std::size(want); ++i) {
    const Want& w = want[i];
    SCOPED_TRACE(std::string(w.host) + "/" + w.name);
    const CheckSpec& c = cfg.checks[i];  // Config order is kept.
    EXPECT_EQ(c.host, w.host);
    EXPECT_EQ(c.name, w.name);
    EXPECT_EQ(c.kind, w.kind);
    EXPECT_EQ(c.interval.count(), w.interval_ms);
    EXPECT_EQ(c.timeout.count(), w.timeout_ms);
    ASSERT_NE(c.probe, nullptr);
    EXPECT_EQ(c.probe->Describe(), w.describe);
    EXPECT_EQ(c.probe->Port(), w.port);
  }

  // resources: true and filesystems on panda; resources: false on clanker.
  ASSERT_EQ(cfg.collectors.size(), 2u);
  const CollectorSpec* host = FindCollector(cfg, "panda", "host");
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->interval, milliseconds(30000));
  EXPECT_EQ(host->timeout, milliseconds(5000));
  EXPECT_NE(FindCollector(cfg, "panda", "filesystem"), nullptr);
  EXPECT_EQ(FindCollector(cfg, "clanker-001", "host"), nullptr);
}

TEST(ConfigTest, BlockStyleExampleInheritsPartialDefaults) {
  const std::string path = TestData("config/valid-block-style.yaml");
  auto loaded = LoadConfigFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const Config& cfg = **loaded;
  // defaults sets only the interval; the timeout stays the built-in 5s.
  EXPECT_EQ(cfg.default_interval, milliseconds(60000));
  EXPECT_EQ(cfg.default_timeout, milliseconds(5000));
  EXPECT_EQ(cfg.hosts, std::vector<std::string>{"panda"});
  ASSERT_EQ(cfg.checks.size(), 3u);
  const CheckSpec* api = FindCheck(cfg, "panda", "api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->kind, "http");
  EXPECT_EQ(api->interval, milliseconds(15000));
  EXPECT_EQ(api->timeout, milliseconds(5000));
  EXPECT_EQ(api->probe->Port(), 443);
  const CheckSpec* cache = FindCheck(cfg, "panda", "cache");
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->interval, milliseconds(60000));
  EXPECT_EQ(cache->probe->Describe(), "redis://[::1]:6379");
  EXPECT_EQ(cache->probe->Port(), 6379);
  const CheckSpec* tls = FindCheck(cfg, "panda", "web-tls");
  ASSERT_NE(tls, nullptr);
  EXPECT_EQ(tls->kind, "tls");
  EXPECT_EQ(tls->probe->Port(), 8443);
  EXPECT_EQ(cfg.collectors.size(), 2u);
}

TEST(ConfigTest, MinimalExampleUsesBuiltInDefaults) {
  auto loaded = LoadConfigFile(TestData("config/valid-minimal.yaml"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const Config& cfg = **loaded;
  EXPECT_EQ(cfg.default_interval, milliseconds(30000));
  EXPECT_EQ(cfg.default_timeout, milliseconds(5000));
  EXPECT_TRUE(cfg.checks.empty());
  ASSERT_EQ(cfg.collectors.size(), 1u);
  EXPECT_EQ(cfg.collectors[0].host, "localhost");
  EXPECT_EQ(cfg.collectors[0].name, "host");
  EXPECT_EQ(cfg.collectors[0].interval, milliseconds(30000));
}

TEST(ConfigTest, EmbeddedDefaultParses) {
  for (const std::string host : {"panda", "odd: name", "\"quoted\""}) {
    SCOPED_TRACE(host);
    auto cfg = ParseConfig(EmbeddedDefaultConfig(host), "<embedded>");
    ASSERT_TRUE(cfg.ok()) << cfg.status().message();
    EXPECT_EQ((*cfg)->source, "<embedded>");
    EXPECT_EQ((*cfg)->hosts, std::vector<std::string>{host});
    EXPECT_EQ((*cfg)->default_interval, milliseconds(15000));
    EXPECT_EQ((*cfg)->default_timeout, milliseconds(5000));
    EXPECT_TRUE((*cfg)->checks.empty());
    // At least the machine's resources and root filesystem; more local
    // collectors may join where they make sense.
    EXPECT_NE(FindCollector(**cfg, host, "host"), nullptr);
    EXPECT_NE(FindCollector(**cfg, host, "filesystem"), nullptr);
  }
}

TEST(ConfigTest, DescriptionsServicesAndReachability) {
  auto loaded = ParseConfig(
      "hosts:\n"
      "  panda:\n"
      "    description: \"Mac Mini M4 Pro, 64 GB\"\n"
      "    checks:\n"
      "      - {name: worker, description: Inngest functions, service: "
      "com.joel.system-bus-worker,\n"
      "         http: {url: \"http://127.0.0.1:3111/\"}}\n"
      "      - {name: ssh, ssh: {address: \"panda:22\"}}\n"
      "      - {name: ping, tcp: {address: \"panda:22\"}, reachability: true}\n"
      "      - {name: lan-ssh, ssh: {address: \"10.0.0.2:22\"}, reachability: false}\n"
      "    launchd: {jobs: [com.joel.system-bus-worker]}\n"
      "  clanker-001:\n"
      "    checks:\n"
      "      - {name: pdf-brain, service: pdf-brain, http: {url: \"http://clanker-001:3847/\"}}\n"
      "    systemd: {units: [{unit: pdf-brain, description: PDF search}]}\n",
      "inline.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const Config& cfg = **loaded;
  EXPECT_EQ(cfg.host_descriptions.at("panda"), "Mac Mini M4 Pro, 64 GB");
  EXPECT_EQ(cfg.host_descriptions.count("clanker-001"), 0u);
  const CheckSpec* worker = FindCheck(cfg, "panda", "worker");
  ASSERT_NE(worker, nullptr);
  EXPECT_EQ(worker->description, "Inngest functions");
  EXPECT_EQ(worker->service, "com.joel.system-bus-worker");
  EXPECT_FALSE(worker->reachability);
  EXPECT_TRUE(FindCheck(cfg, "panda", "ssh")->reachability);  // ssh: true by default.
  EXPECT_TRUE(FindCheck(cfg, "panda", "ping")->reachability);
  EXPECT_FALSE(FindCheck(cfg, "panda", "lan-ssh")->reachability);
  EXPECT_EQ(FindCheck(cfg, "panda", "ssh")->service, "");
  // The unit as systemd names it.
  EXPECT_EQ(FindCheck(cfg, "clanker-001", "pdf-brain")->service, "pdf-brain.service");
}

TEST(ConfigTest, GlobalCollectorsNameTheirHost) {
  // The GPU DaemonSet sets JOELCLAW_HOST from spec.nodeName.
  ASSERT_EQ(setenv("JOELCLAW_HOST", "gpu-node-7", 1), 0);
  EXPECT_EQ(LocalHostName(), "gpu-node-7");
  auto loaded = ParseConfig(
      "gpu: {enabled: true}\n"
      "tailscale: {host: panda}\n"
      "kubernetes: {kubeconfig: /k, namespaces: [joelclaw], cluster: joelclaw}\n",
      "inline.yaml");
  ASSERT_EQ(unsetenv("JOELCLAW_HOST"), 0);
  EXPECT_NE(LocalHostName(), "gpu-node-7");
  EXPECT_FALSE(LocalHostName().empty());
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const Config& cfg = **loaded;
  EXPECT_EQ(FindCollector(cfg, "", "gpu")->HostLabel(), "gpu-node-7");
  EXPECT_EQ(FindCollector(cfg, "", "tailscale")->HostLabel(), "panda");
  EXPECT_EQ(FindCollector(cfg, "", "kubernetes")->HostLabel(), "joelclaw");
  auto defaults = ParseConfig("kubernetes: {kubeconfig: /k, namespaces: [joelclaw]}\n", "i.yaml");
  ASSERT_TRUE(defaults.ok()) << defaults.status().message();
  EXPECT_EQ(FindCollector(**defaults, "", "kubernetes")->HostLabel(), "cluster");
  EXPECT_EQ(ParseConfig("kubernetes: {kubeconfig: /k, namespaces: [a], cluster: \"\"}\n", "i.yaml")
                .status()
                .message(),
            "i.yaml:1: kubernetes: cluster is empty");
  EXPECT_EQ(ParseConfig("tailscale: {host: \"\"}\n", "i.yaml").status().message(),
            "i.yaml:1: tailscale: host is empty");
}

TEST(ConfigTest, ParseConfigNamesTheGivenFile) {
  auto cfg = ParseConfig("hosts:\n  panda:\n    resources: 3\n", "inline.yaml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message(),
            "inline.yaml:3: host 'panda': resources must be true or false, not '3'");
}

// Parsing goes on after a problem, unit by unit (top-level key, host,
// check, collector section), and reports them all in line order.
TEST(ConfigTest, EveryProblemIsReportedInLineOrder) {
  const std::string yaml =
      "hosts:\n"                                                       // 1
      "  panda:\n"                                                     // 2
      "    checks:\n"                                                  // 3
      "      - {name: a, tcp: {address: \"127.0.0.1\"}}\n"             // 4: no port
      "      - {name: b, htpp: {url: \"http://x/\"}, tpc: {}}\n"       // 5: two unknown keys
      "      - {name: c, tcp: {address: \"127.0.0.1:1\"}}\n"           // fine
      "      - {name: c, tcp: {address: \"127.0.0.1:2\"}}\n"           // 7: repeated name
      "    filesystems: [relative]\n"                                  // 8
      "    resourcez: true\n"                                          // 9: unknown host key
      "  panda:\n"                                                     // 10: listed twice
      "    resources: true\n"
      "tailscale: {enabled: maybe}\n"                                  // 12
      "defaults: {interval: 30}\n";                                    // 13 (parsed before hosts)
  auto cfg = ParseConfig(yaml, "c.yaml");
  ASSERT_FALSE(cfg.ok());
  std::vector<std::string> lines;
  std::istringstream in(cfg.status().message());
  for (std::string line; std::getline(in, line);) lines.push_back(line.substr(0, line.find(": ", 7)));
  EXPECT_EQ(lines, (std::vector<std::string>{"c.yaml:4", "c.yaml:5", "c.yaml:5", "c.yaml:7",
                                             "c.yaml:8", "c.yaml:9", "c.yaml:10", "c.yaml:12",
                                             "c.yaml:13"}))
      << cfg.status().message();
}

TEST(ConfigTest, NothingToExportOnlyWhenThereIsNoOtherProblem) {
  auto cfg = ParseConfig("hosts:\n  panda:\n    resourcez: true\n", "c.yaml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message().find("nothing to export"), std::string::npos)
      << cfg.status().message();
  EXPECT_EQ(cfg.status().message().find('\n'), std::string::npos) << cfg.status().message();
}

TEST(ConfigTest, ConfigContextRecordsAndSortsProblems) {
  ConfigContext ctx("f.yaml");
  EXPECT_TRUE(ctx.Record(Status::Ok()));
  EXPECT_FALSE(ctx.has_problems());
  EXPECT_TRUE(ctx.Problems().ok());
  EXPECT_FALSE(ctx.Record(Status::Error("f.yaml:12: late")));
  // Copies share the list; a multi-line status is one problem a line.
  ctx.WithScope("check 'x'").Record(Status::Error("f.yaml:3: early\nf.yaml:12: same line"));
  ctx.Record(Status::Error("f.yaml: no line"));
  EXPECT_TRUE(ctx.has_problems());
  EXPECT_EQ(ctx.Problems().message(),
            "f.yaml: no line\nf.yaml:3: early\nf.yaml:12: late\nf.yaml:12: same line");
}

TEST(ConfigTest, MissingFileIsAClearError) {
  auto cfg = LoadConfigFile("/nonexistent/joelclaw.yaml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message(),
            "cannot read config file /nonexistent/joelclaw.yaml: No such file or directory");
}

}  // namespace config_test
}  // namespace joelclaw
