// End to end: the real joelclaw_exporter binary, started as a child process
// on a free loopback port and talked to over HTTP(S) the way Prometheus, an
// operator and a deployment would. The checks it runs point at loopback
// servers the tests start themselves.
//
// UPDATE_GOLDEN=1 rewrites tests/testdata/e2e/metrics.golden.

#include <arpa/inet.h>
#include <crypt.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/exporter_process.h"
#include "tests/support/loopback_http_server.h"
#include "tests/support/monitoring.h"
#include "tests/support/test_util.h"

namespace joelclaw::testing {
namespace e2e_test {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

// A loopback HTTP server whose /json answers like the worker's health
// endpoint.
std::unique_ptr<LoopbackHttpServer> StartWorkerServer() {
  auto http = std::make_unique<LoopbackHttpServer>();
  http->SetJsonBody(R"({"functionCount": 14, "status": "ok"})");
  return http;
}

// tests/testdata/e2e/config.yaml with its ports filled in, in `dir`.
std::string WriteFixtureConfig(const TempDir& dir, const LoopbackHttpServer& http,
                               const RefusingPort& closed) {
  const std::string path = dir.File("config.yaml");
  WriteFileOrDie(path, Substitute(ReadFileOrDie(TestData("e2e/config.yaml")),
                                  {{"HTTP_PORT", std::to_string(http.port())},
                                   {"CLOSED_PORT", std::to_string(closed.port())}}));
  return path;
}

bool IsVolatile(const std::string& name) {
  for (const char* prefix : {"process_", "joelclaw_host_", "joelclaw_filesystem_", "promhttp_"}) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  for (const std::string suffix : {"_timestamp_seconds", "_duration_seconds", "_time_seconds"}) {
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return true;
    }
  }
  return false;
}

// Replaces what differs from run to run (times, durations, this machine's
// resources, the build's revision) with placeholders; everything else —
// success bits, failure counters by reason, status codes, JSON values,
// HELP/TYPE lines, label sets — stays exact.
std::string MaskVolatile(const std::string& text) {
  static const std::regex kBuildLabels(
      R"re((version|revision|branch|compiler|compiler_version)="[^"]*")re");
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#') {
      const std::string name = line.substr(0, line.find_first_of("{ "));
      // Which codes /-/ready answered depends on how often the test polled.
      if (name == "joelclaw_http_requests_total") continue;
      if (IsVolatile(name)) line = line.substr(0, line.rfind(' ')) + " <volatile>";
      line = std::regex_replace(line, kBuildLabels, "$1=\"<$1>\"");
    }
    out += line + "\n";
  }
  return out;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// "-line" for each line only in `want`, "+line" for each only in `got`, in
// order (a longest-common-subsequence diff; the files are small).
std::string LineDiff(const std::string& want, const std::string& got) {
  const std::vector<std::string> a = Lines(want), b = Lines(got);
  std::vector<std::vector<int>> lcs(a.size() + 1, std::vector<int>(b.size() + 1, 0));
  for (size_t i = a.size(); i-- > 0;) {
    for (size_t j = b.size(); j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::string out;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      ++i, ++j;
    } else if (j < b.size() && (i == a.size() || lcs[i][j + 1] >= lcs[i + 1][j])) {
      out += "+" + b[j++] + "\n";
    } else {
      out += "-" + a[i++] + "\n";
    }
  }
  return out;
}

// A bcrypt hash of `password` (cost 5: fast, still real bcrypt).
std::string Bcrypt(const std::string& password) { return BcryptHash(password); }

TEST(E2eTest, MetricsMatchGoldenAndPassPromtool) {
  TempDir dir;
  auto http = StartWorkerServer();
  RefusingPort closed;
  ExporterProcess exporter(dir, {"--config.file=" + WriteFixtureConfig(dir, *http, closed)});
  ASSERT_TRUE(exporter.Start()) << exporter.Log();
  ASSERT_TRUE(exporter.WaitReady()) << exporter.Log();

  HttpReply reply = exporter.Get("/metrics");
  ASSERT_EQ(reply.status, 200) << reply.error;
  EXPECT_EQ(reply.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  const std::string masked = MaskVolatile(reply.body);
  const std::string golden_path = TestData("e2e/metrics.golden");
  const char* update = std::getenv("UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    WriteFileOrDie(golden_path, masked);
    std::cout << "rewrote " << golden_path << "\n";
  }
  const std::string golden = ReadFileOrDie(golden_path);
  EXPECT_TRUE(masked == golden)
      << "/metrics (masked) differs from " << golden_path << ":\n"
      << LineDiff(golden, masked)
      << "if the change is intended, rerun with UPDATE_GOLDEN=1 and review the diff";

  ExpectPromtoolAcceptsMetrics(dir, reply.body);
}

TEST(E2eTest, StatusDocumentHasHostsChecksAndRecentFailures) {
  TempDir dir;
  auto http = StartWorkerServer();
  RefusingPort closed;
  ExporterProcess exporter(dir, {"--config.file=" + WriteFixtureConfig(dir, *http, closed)});
  ASSERT_TRUE(exporter.Start()) << exporter.Log();
  ASSERT_TRUE(exporter.WaitReady()) << exporter.Log();

  HttpReply reply = exporter.Get("/api/v1/status");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.headers["content-type"], "application/json");
  nlohmann::json doc = nlohmann::json::parse(reply.body);
  EXPECT_EQ(doc["schema_version"], 1);
  EXPECT_EQ(doc["exporter"]["ready"], true);
  ASSERT_EQ(doc["hosts"].size(), 1u) << doc.dump(2);
  const nlohmann::json& host = doc["hosts"][0];
  EXPECT_EQ(host["name"], "e2e-host");
  EXPECT_EQ(host["state"], "degraded");
  std::map<std::string, nlohmann::json> checks;
  for (const nlohmann::json& c : host["checks"]) checks[c["name"]] = c;
  ASSERT_EQ(checks.size(), 3u) << host.dump(2);

  EXPECT_EQ(checks["worker"]["state"], "up");
  EXPECT_EQ(checks["worker"]["reason"], "");
  EXPECT_EQ(checks["worker"]["values"]["functionCount"], 14);
  EXPECT_EQ(checks["worker"]["http_status"], 200);
  EXPECT_TRUE(checks["worker"]["recent_failures"].empty());

  EXPECT_EQ(checks["unavailable"]["state"], "down");
  EXPECT_EQ(checks["unavailable"]["reason"], "http_status");
  EXPECT_EQ(checks["unavailable"]["http_status"], 503);
  ASSERT_EQ(checks["unavailable"]["recent_failures"].size(), 1u);
  EXPECT_EQ(checks["unavailable"]["recent_failures"][0]["reason"], "http_status");
  EXPECT_EQ(checks["unavailable"]["recent_failures"][0]["message"], "HTTP status 503");

  EXPECT_EQ(checks["closed"]["state"], "down");
  EXPECT_EQ(checks["closed"]["reason"], "refused");
  EXPECT_EQ(checks["closed"]["kind"], "tcp");
  ASSERT_EQ(checks["closed"]["recent_failures"].size(), 1u);
  EXPECT_EQ(checks["closed"]["recent_failures"][0]["reason"], "refused");

  std::map<std::string, std::string> collectors;
  for (const nlohmann::json& c : host["collectors"]) collectors[c["name"]] = c["state"];
  EXPECT_EQ(collectors, (std::map<std::string, std::string>{{"filesystem", "ok"}, {"host", "ok"}}));
}

TEST(E2eTest, RealPrometheusScrapesTheExporter) {
  const std::string prometheus = FindProgram("prometheus");
  if (prometheus.empty()) FAIL() << "prometheus not installed (scripts/setup-deps.sh installs it)";
  TempDir dir;
  auto http = StartWorkerServer();
  RefusingPort closed;
  ExporterProcess exporter(dir, {"--config.file=" + WriteFixtureConfig(dir, *http, closed)});
  ASSERT_TRUE(exporter.Start()) << exporter.Log();

  PrometheusProcess prom = StartPrometheus(dir, exporter.port(), "joelclaw");
  ASSERT_TRUE(prom.process->started());
  const int prom_port = prom.port;

  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitFor([&] { return PromQuery(prom_port, "up{job=\"joelclaw\"}") == 1.0; },
                      seconds(30)))
      << prom.Log();
  EXPECT_TRUE(WaitFor(
      [&] {
        return PromQuery(prom_port, "joelclaw_probe_success{job=\"joelclaw\",target=\"worker\"}") ==
               1.0;
      },
      seconds(30)))
      << prom.Log();
  EXPECT_EQ(PromQuery(prom_port, "joelclaw_probe_success{target=\"unavailable\"}"), 0.0);
  EXPECT_EQ(PromQuery(prom_port, "joelclaw_probe_value{target=\"worker\",field=\"functionCount\"}"),
            14.0);
  // Prometheus's own view of the scrape: no samples were rejected.
  EXPECT_EQ(PromQuery(prom_port, "scrape_samples_post_metric_relabeling{job=\"joelclaw\"} > 0")
                .has_value(),
            true);
  std::cout << "Prometheus saw up==1 after "
            << std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start)
                   .count()
            << " ms\n";

  // Prometheus keeps its scrape connection open between scrapes; shutdown
  // must not wait for that idle connection.
  const auto stop = std::chrono::steady_clock::now();
  exporter.process().Signal(SIGTERM);
  const int status = exporter.process().Wait(seconds(10));
  const auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - stop);
  std::cout << "SIGTERM to exit while Prometheus scrapes: " << took.count() << " ms\n";
  ASSERT_NE(status, -1);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << exporter.Log();
  EXPECT_LT(took, milliseconds(2000));
}

TEST(E2eTest, ReadyOnlyAfterTheFirstRoundAndRoutingAnswers) {
  TempDir dir;
  LoopbackHttpServer http;
  const std::string config = dir.File("config.yaml");
  WriteFileOrDie(config, "defaults: {interval: 1h, timeout: 3s}\n"
                         "hosts:\n"
                         "  e2e-host:\n"
                         "    checks:\n"
                         "      - {name: worker, http: {url: \"" + http.Url("/ok") + "\"}}\n"
                         "      - {name: stuck, http: {url: \"" + http.Url("/hang") + "\"}}\n");
  ExporterProcess exporter(dir, {"--config.file=" + config});
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(exporter.Start()) << exporter.Log();

  EXPECT_EQ(exporter.Get("/-/healthy").status, 200);
  HttpReply not_ready = exporter.Get("/-/ready");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_THAT(not_ready.body, HasSubstr("first round"));
  // /metrics answers at once, from the snapshot, without waiting for the
  // hung check.
  HttpReply early = exporter.Get("/metrics");
  EXPECT_EQ(early.status, 200);
  EXPECT_EQ(MetricSample(early.body, "joelclaw_exporter_ready"), 0.0);

  ASSERT_TRUE(exporter.WaitReady()) << exporter.Log();
  const auto ready_after = std::chrono::steady_clock::now() - start;
  EXPECT_GE(ready_after, milliseconds(2500)) << "ready before the 3 s check had timed out";
  const std::string metrics = exporter.Metrics();
  EXPECT_EQ(MetricSample(metrics, "joelclaw_exporter_ready"), 1.0);
  EXPECT_EQ(MetricSample(metrics,
                        "joelclaw_probe_failures_total{host=\"e2e-host\",target=\"stuck\",kind="
                        "\"http\",reason=\"timeout\"}"),
            1.0);
  EXPECT_EQ(MetricSample(metrics,
                        "joelclaw_probe_success{host=\"e2e-host\",target=\"worker\",kind=\"http\"}"),
            1.0);

  HttpReply get_reload = exporter.Get("/-/reload");
  EXPECT_EQ(get_reload.status, 405);
  EXPECT_EQ(get_reload.headers["allow"], "POST");
  EXPECT_EQ(exporter.Get("/no/such/page").status, 404);
  EXPECT_EQ(HttpRequest("POST", exporter.Url("/metrics")).status, 405);
  EXPECT_EQ(HttpRequest("HEAD", exporter.Url("/-/healthy")).status, 200);
  EXPECT_EQ(exporter.Get("/").status, 200);
}

TEST(E2eTest, ReloadOverHttpAndSighup) {
  TempDir dir;
  LoopbackHttpServer http;
  const std::string port = std::to_string(http.port());
  const std::string base = "defaults: {interval: 1h, timeout: 2s}\n"
                           "hosts:\n"
                           "  e2e-host:\n"
                           "    checks:\n"
                           "      - {name: worker, http: {url: \"" + http.Url("/ok") + "\"}}\n";
  const std::string grown = base + "      - {name: added, tcp: {address: \"127.0.0.1:" + port + "\"}}\n";
  const std::string config = dir.File("config.yaml");
  WriteFileOrDie(config, base);
  ExporterProcess exporter(dir, {"--config.file=" + config});
  ASSERT_TRUE(exporter.Start()) << exporter.Log();
  ASSERT_TRUE(exporter.WaitReady()) << exporter.Log();
  const std::string added =
      "joelclaw_probe_success{host=\"e2e-host\",target=\"added\",kind=\"tcp\"}";
  const std::string worker =
      "joelclaw_probe_success{host=\"e2e-host\",target=\"worker\",kind=\"http\"}";
  EXPECT_EQ(MetricSample(exporter.Metrics(), added), std::nullopt);

  // A valid, changed config: swapped in, the new check runs.
  WriteFileOrDie(config, grown);
  HttpReply ok = HttpRequest("POST", exporter.Url("/-/reload"));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(WaitFor([&] { return MetricSample(exporter.Metrics(), added) == 1.0; }, seconds(5)))
      << exporter.Metrics();
  EXPECT_EQ(MetricSample(exporter.Metrics(), "joelclaw_config_last_reload_successful"), 1.0);

  // An invalid config: refused with the reason, the running checks stay.
  WriteFileOrDie(config, grown + "bogus_section: 1\n");
  HttpReply bad = HttpRequest("POST", exporter.Url("/-/reload"));
  EXPECT_GE(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr(config + ":7: "));
  EXPECT_THAT(bad.body, HasSubstr("'bogus_section'"));
  std::string metrics = exporter.Metrics();
  EXPECT_EQ(MetricSample(metrics, "joelclaw_config_last_reload_successful"), 0.0);
  EXPECT_EQ(MetricSample(metrics, added), 1.0);
  EXPECT_EQ(MetricSample(metrics, worker), 1.0);
  nlohmann::json status = nlohmann::json::parse(exporter.Get("/api/v1/status").body);
  EXPECT_EQ(status["exporter"]["last_reload_successful"], false);
  EXPECT_THAT(status["exporter"]["last_reload_error"].get<std::string>(),
              HasSubstr("bogus_section"));

  // Fixed on disk, reloaded by SIGHUP.
  WriteFileOrDie(config, grown);
  exporter.process().Signal(SIGHUP);
  EXPECT_TRUE(WaitFor(
      [&] {
        return MetricSample(exporter.Metrics(), "joelclaw_config_last_reload_successful") == 1.0;
      },
      seconds(5)))
      << exporter.Log();
  metrics = exporter.Metrics();
  EXPECT_EQ(MetricSample(metrics, added), 1.0);
  EXPECT_EQ(MetricSample(metrics, worker), 1.0);
  EXPECT_TRUE(exporter.process().Running()) << exporter.Log();
}

TEST(E2eTest, SigtermExitsPromptlyWithACheckInFlight) {
  TempDir dir;
  LoopbackHttpServer http;
  const std::string config = dir.File("config.yaml");
  WriteFileOrDie(config, "defaults: {interval: 1h, timeout: 30s}\n"
                         "hosts:\n"
                         "  e2e-host:\n"
                         "    checks:\n"
                         "      - {name: stuck, http: {url: \"" + http.Url("/hang") + "\"}}\n");
  ExporterProcess exporter(dir, {"--config.file=" + config});
  ASSERT_TRUE(exporter.Start()) << exporter.Log();
  ASSERT_TRUE(WaitFor([&] { return http.RequestCount("/hang") >= 1; }, seconds(5)));
  std::this_thread::sleep_for(milliseconds(200));  // The request is on the wire.
  ASSERT_EQ(exporter.Get("/-/ready").status, 503) << "the check should still be in flight";

  const auto start = std::chrono::steady_clock::now();
  exporter.process().Signal(SIGTERM);
  const int status = exporter.process().Wait(seconds(10));
  const auto took =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  std::cout << "SIGTERM to exit: " << took.count() << " ms\n";
  ::testing::Test::RecordProperty("sigterm_exit_ms", static_cast<int>(took.count()));
  ASSERT_NE(status, -1) << "still running 10 s after SIGTERM";
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status) << "\n"
                                 << exporter.Log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << exporter.Log();
  EXPECT_LT(took, milliseconds(2000));
  EXPECT_THAT(exporter.Log(), HasSubstr("stopped"));
}

TEST(E2eTest, TakenPortExitsOneNamingTheAddress) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  CommandOutput out = RunCommand({ExporterBinary(), "--web.listen-address=" + address}, 20);
  close(fd);
  EXPECT_EQ(out.exit_code, 1) << out.out;
  EXPECT_THAT(out.out, HasSubstr("level=error msg=\"cannot start the exporter\" "
                                 "err=\"cannot listen on " + address));
  // Reported once, not once by the logger and again on stderr.
  const size_t first = out.out.find("cannot listen on");
  EXPECT_EQ(out.out.find("cannot listen on", first + 1), std::string::npos) << out.out;
}

// A self-signed certificate for 127.0.0.1 made with the openssl CLI.
bool MakeCert(const TempDir& dir, std::string* error) {
  const std::string openssl = FindProgram("openssl");
  if (openssl.empty()) {
    *error = "openssl not installed";
    return false;
  }
  CommandOutput out = RunCommand({openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                                  dir.File("key.pem"), "-out", dir.File("cert.pem"), "-days", "2",
                                  "-subj", "/CN=127.0.0.1", "-addext",
                                  "subjectAltName=IP:127.0.0.1"},
                                 30);
  *error = out.out;
  return out.exit_code == 0;
}

TEST(E2eTest, TlsAndBasicAuthThroughTheWebConfig) {
  TempDir dir;
  std::string error;
  ASSERT_TRUE(MakeCert(dir, &error)) << error;
  const std::string hash = Bcrypt("s3cret pass");
  ASSERT_EQ(hash.rfind("$2b$05$", 0), 0u) << hash;
  // Relative paths resolve against the web config's directory.
  WriteFileOrDie(dir.File("web.yml"), "tls_server_config:\n"
                                      "  cert_file: cert.pem\n"
                                      "  key_file: key.pem\n"
                                      "basic_auth_users:\n"
                                      "  prometheus: " + hash + "\n");
  ExporterProcess exporter(dir, {"--web.config.file=" + dir.File("web.yml")}, "https");
  ASSERT_TRUE(exporter.Start()) << exporter.Log();
  const std::string ca = dir.File("cert.pem");
  const std::string metrics = exporter.Url("/metrics");

  HttpReply ok = HttpRequest("GET", metrics, "", {}, 5000, ca, "prometheus:s3cret pass");
  EXPECT_EQ(ok.status, 200) << ok.error << "\n" << exporter.Log();
  EXPECT_THAT(ok.body, HasSubstr("joelclaw_exporter_build_info{"));
  // Cached verification answers the same on the second request.
  EXPECT_EQ(HttpRequest("GET", metrics, "", {}, 5000, ca, "prometheus:s3cret pass").status, 200);

  HttpReply wrong = HttpRequest("GET", metrics, "", {}, 5000, ca, "prometheus:s3cret");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_THAT(wrong.headers["www-authenticate"], HasSubstr("Basic realm="));
  EXPECT_THAT(wrong.body, Not(HasSubstr("joelclaw_")));
  HttpReply stranger = HttpRequest("GET", metrics, "", {}, 5000, ca, "root:s3cret pass");
  EXPECT_EQ(stranger.status, 401);
  HttpReply anonymous = HttpRequest("GET", metrics, "", {}, 5000, ca);
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_THAT(anonymous.headers["www-authenticate"], HasSubstr("Basic realm="));
  HttpReply health = HttpRequest("GET", exporter.Url("/-/healthy"), "", {}, 5000, ca);
  EXPECT_EQ(health.status, 401);

  // Plain HTTP to the TLS port gets no HTTP answer.
  HttpReply plain = HttpRequest("GET", "http://127.0.0.1:" + std::to_string(exporter.port()) +
                                           "/metrics", "", {}, 3000, "", "prometheus:s3cret pass");
  EXPECT_NE(plain.status, 200);
  EXPECT_THAT(plain.body, Not(HasSubstr("joelclaw_")));

  // A rotated password takes effect on reload, without a restart.
  WriteFileOrDie(dir.File("web.yml"), "tls_server_config:\n"
                                      "  cert_file: cert.pem\n"
                                      "  key_file: key.pem\n"
                                      "basic_auth_users:\n"
                                      "  prometheus: " + Bcrypt("rotated") + "\n");
  HttpReply reload =
      HttpRequest("POST", exporter.Url("/-/reload"), "", {}, 5000, ca, "prometheus:s3cret pass");
  EXPECT_EQ(reload.status, 200) << reload.body;
  EXPECT_EQ(HttpRequest("GET", metrics, "", {}, 5000, ca, "prometheus:rotated").status, 200);
  EXPECT_EQ(HttpRequest("GET", metrics, "", {}, 5000, ca, "prometheus:s3cret pass").status, 401);
  EXPECT_TRUE(exporter.process().Running()) << exporter.Log();
}

TEST(E2eTest, InvalidWebConfigsExitOneWithFileAndLine) {
  TempDir dir;
  std::string error;
  ASSERT_TRUE(MakeCert(dir, &error)) << error;
  const std::string hash = Bcrypt("pw");
  struct Case {
    std::string name, yaml, message;
  };
  const std::vector<Case> cases = {
      {"unknown-key.yml",
       "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  cipher_suites: []\n",
       ":4: unknown key 'cipher_suites'"},
      {"plain-password.yml", "basic_auth_users:\n  prometheus: hunter2\n",
       ":2: basic_auth_users: the password of 'prometheus' must be a bcrypt hash"},
      {"missing-cert.yml", "tls_server_config:\n  cert_file: nowhere.pem\n  key_file: key.pem\n",
       ":2: cannot read cert_file " + dir.File("nowhere.pem")},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir.File(c.name);
    WriteFileOrDie(path, c.yaml);
    CommandOutput out = RunCommand({ExporterBinary(), "--web.config.file=" + path,
                                    "--web.listen-address=127.0.0.1:" + std::to_string(FreePort())},
                                   20);
    EXPECT_EQ(out.exit_code, 1) << out.out;
    EXPECT_THAT(out.out, HasSubstr(path + c.message));
  }
}

}  // namespace e2e_test
}  // namespace joelclaw::testing
