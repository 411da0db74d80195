// `joelclaw_exporter status`: flag parsing, fetching from hostile loopback
// peers, and the real binary's subcommand against a real running exporter
// (and a closed port).
#include "exporter/status_command.h"

#include <curl/curl.h>

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/loopback_http_server.h"
#include "tests/support/test_util.h"

namespace joelclaw {
namespace status_command_test {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace joelclaw::testing;  // NOLINT: test helpers.

// ---- Flags -----------------------------------------------------------------

TEST(StatusFlagsTest, Parses) {
  StatusFlags f;
  std::string error;
  ASSERT_TRUE(ParseStatusFlags({"--url", "http://a:1", "--url=https://u:p@b:2/", "--json",
                                "--watch=2s", "--timeout", "1500ms", "--config.file=x.yaml"},
                               &f, &error))
      << error;
  EXPECT_EQ(f.urls, (std::vector<std::string>{"http://a:1", "https://u:p@b:2/"}));
  EXPECT_TRUE(f.json);
  ASSERT_TRUE(f.watch.has_value());
  EXPECT_EQ(f.watch->count(), 2000);
  EXPECT_EQ(f.timeout.count(), 1500);
  EXPECT_EQ(f.config_file, "x.yaml");

  StatusFlags d;
  ASSERT_TRUE(ParseStatusFlags({"--watch"}, &d, &error));
  EXPECT_EQ(d.watch->count(), 5000);
  EXPECT_EQ(d.timeout.count(), 5000);
  EXPECT_FALSE(d.json);
}

TEST(StatusFlagsTest, ErrorsNameTheFlag) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--url"}, "flag --url needs a value"},
      {{"--url", "ftp://x"}, "--url 'ftp://x' must start with http:// or https://"},
      {{"--url", "u:secret@x:1"}, "--url 'x:1' must start with http:// or https://"},
      {{"--timeout=0s"}, "--timeout must be more than 0s and at most 5m"},
      {{"--timeout=10"}, "--timeout: "},
      {{"--watch=1h"}, "--watch must be more than 0s and at most 5m"},
      {{"--json=yes"}, "unknown flag or argument '--json=yes'"},
      {{"panda"}, "unknown flag or argument 'panda'"},
  };
  for (const auto& [args, want] : cases) {
    StatusFlags f;
    std::string error;
    EXPECT_FALSE(ParseStatusFlags(args, &f, &error)) << args[0];
    EXPECT_EQ(error.rfind(want, 0), 0u) << error;
  }
}

TEST(StatusFlagsTest, Endpoint) {
  EXPECT_EQ(StatusEndpoint("http://a:1"), "http://a:1/api/v1/status");
  EXPECT_EQ(StatusEndpoint("http://a:1/"), "http://a:1/api/v1/status");
  EXPECT_EQ(StatusEndpoint("https://a/exporter/api/v1/status"), "https://a/exporter/api/v1/status");
}

// ---- Fetching from scripted peers ---------------------------------------
// The loopback server ignores query strings, so "BASE/path?" makes the
// fetch ask for /path (the status path lands in the query).

class FetchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_ALL); }
  LoopbackHttpServer server_;
};

TEST_F(FetchTest, StatusDocumentIsReadAndUserinfoIsBasicAuth) {
  ASSERT_TRUE(server_.ok());
  server_.SetJsonBody(ReadFileOrDie(TestData("status/healthy.json")));
  const std::string url = "http://joel:s3cret@127.0.0.1:" + std::to_string(server_.port()) + "/json?";
  ExporterStatus s = FetchExporterStatus(url, Duration(5000));
  EXPECT_TRUE(s.reachable) << s.error;
  EXPECT_EQ(s.document["hosts"][0]["name"], "panda");
  EXPECT_EQ(server_.LastAuthorization("/json"), "Basic am9lbDpzM2NyZXQ=");
}

TEST_F(FetchTest, HostilePeersGiveSentencesNotHangs) {
  ASSERT_TRUE(server_.ok());
  const std::string base = "http://u:pw@127.0.0.1:" + std::to_string(server_.port());
  struct Case {
    std::string path;
    std::string body;  // For /json.
    std::string error;
  };
  const Case cases[] = {
      {"/hang?", "", "/hang?/api/v1/status did not answer within 300ms"},
      {"/huge?", "", "/huge?/api/v1/status answered more than 16 MiB"},
      {"/status/401?", "", "answered HTTP 401 (put user:password@ in the URL for basic auth)"},
      {"/status/500?", "", "answered HTTP 500"},
      {"/json?", "{\"schema_version\": 1,", "answered something that is not JSON"},
      {"/json?", "{\"schema_version\": 2, \"hosts\": []}", "understands version 1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    if (!c.body.empty()) server_.SetJsonBody(c.body);
    ExporterStatus s = FetchExporterStatus(base + c.path, Duration(300));
    EXPECT_FALSE(s.reachable);
    EXPECT_THAT(s.error, HasSubstr(c.error));
    EXPECT_THAT(s.error, Not(HasSubstr("pw@")));
  }
  ExporterStatus refused =
      FetchExporterStatus("http://127.0.0.1:" + std::to_string(ClosedPort()), Duration(2000));
  EXPECT_FALSE(refused.reachable);
  EXPECT_THAT(refused.error, HasSubstr("Failed to connect to 127.0.0.1 port"));
}

// ---- The real binary against a real exporter --------------------------------

struct StatusRun {
  int exit_code = -1;
  std::string out, err;
};

// The binary's `status` with stdout and stderr kept apart (no shell
// parsing of the arguments: sh only redirects).
StatusRun RunStatusBinary(const TempDir& dir, std::vector<std::string> args) {
  std::vector<std::string> argv = {"sh", "-c", "exec \"$0\" status \"$@\" >\"$OUT\" 2>\"$ERR\""};
  argv.push_back(ExporterBinary());
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string out = dir.File("status.out"), err = dir.File("status.err");
  StatusRun r;
  Subprocess p(argv, dir.File("sh.log"), {{"OUT", out}, {"ERR", err}, {"NO_COLOR", ""}});
  const int st = p.Wait(std::chrono::seconds(30));
  if (st >= 0 && WIFEXITED(st)) r.exit_code = WEXITSTATUS(st);
  r.out = ReadFileOrDie(out);
  r.err = ReadFileOrDie(err);
  return r;
}

class StatusCommandTest : public ::testing::Test {
 protected:
  // An exporter whose host "panda" has a passing http check and a tcp check
  // to a closed port; `extra` is appended to its config.
  void StartExporter(bool with_failing_check, const std::string& extra = "") {
    ASSERT_TRUE(http_.ok());
    std::string config = "defaults: {interval: 1h, timeout: 2s}\n"
                         "hosts:\n"
                         "  panda:\n"
                         "    checks:\n"
                         "      - {name: web, http: {url: \"" + http_.Url("/ok") + "\"}}\n";
    if (with_failing_check) {
      config += "      - {name: typesense, tcp: {address: \"127.0.0.1:" +
                std::to_string(ClosedPort()) + "\"}}\n";
    }
    config_ = dir_.File("config.yaml");
    WriteFileOrDie(config_, config + extra);
    port_ = FreePort();
    exporter_ = std::make_unique<Subprocess>(
        std::vector<std::string>{ExporterBinary(), "--config.file=" + config_,
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
        dir_.File("exporter.log"));
    ASSERT_TRUE(WaitFor([&] { return HttpGet(Url() + "/-/ready").status == 200; },
                        std::chrono::seconds(10)))
        << exporter_->Log();
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  TempDir dir_;
  LoopbackHttpServer http_;
  std::string config_;
  int port_ = 0;
  std::unique_ptr<Subprocess> exporter_;
};

TEST_F(StatusCommandTest, HealthyExitsZero) {
  StartExporter(false);
  StatusRun r = RunStatusBinary(dir_, {"--url", Url()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("joelclaw network: healthy"));
  EXPECT_THAT(r.out, HasSubstr("ok   web"));
  EXPECT_THAT(r.out, HasSubstr("HTTP 200"));
  EXPECT_THAT(r.out, Not(HasSubstr("\033")));  // Not a TTY.
  EXPECT_EQ(r.err, "");
}

TEST_F(StatusCommandTest, FailingCheckIsDegradedWithItsReason) {
  StartExporter(true);
  StatusRun r = RunStatusBinary(dir_, {"--url", Url() + "/"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("joelclaw network: DEGRADED"));
  EXPECT_THAT(r.out, HasSubstr("DOWN typesense"));
  EXPECT_THAT(r.out, HasSubstr("refused: "));
  EXPECT_THAT(r.out, HasSubstr("recent failures:"));

  StatusRun j = RunStatusBinary(dir_, {"--json", "--url", Url()});
  EXPECT_EQ(j.exit_code, 1);
  json board = json::parse(j.out);
  EXPECT_EQ(board["schema_version"], 1);
  EXPECT_EQ(board["state"], "degraded");
  EXPECT_EQ(board["exporters"][0]["url"], Url());
  EXPECT_TRUE(board["exporters"][0]["reachable"]);
  EXPECT_EQ(board["hosts"][0]["name"], "panda");
  bool found = false;
  for (const json& s : board["hosts"][0]["services"]) {
    if (s["name"] != "typesense") continue;
    found = true;
    EXPECT_EQ(s["state"], "down");
    EXPECT_EQ(s["source"], "tcp");
    EXPECT_EQ(s["reason"], "refused");
  }
  EXPECT_TRUE(found) << j.out;
}

TEST_F(StatusCommandTest, WarningExitsOneAndSaysWhy) {
  // A peer answering with a status document whose GPU is hot and whose
  // disk is nearly full (the loopback server ignores the query string).
  ASSERT_TRUE(http_.ok());
  http_.SetJsonBody(ReadFileOrDie(TestData("status/warning.json")));
  StatusRun r = RunStatusBinary(dir_, {"--url", http_.Url("/json?")});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("joelclaw network: WARNING"));
  EXPECT_THAT(r.out, HasSubstr("gpubox — Linux GPU box, 2× RTX PRO 4500  WARNING"));
  EXPECT_THAT(r.out, HasSubstr("GPU 1 at 87 °C"));
  StatusRun j = RunStatusBinary(dir_, {"--json", "--url", http_.Url("/json?")});
  EXPECT_EQ(j.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(j.out)["state"], "warning");
}

TEST_F(StatusCommandTest, ClosedPortExitsTwoAndSaysWhich) {
  const std::string closed = "http://127.0.0.1:" + std::to_string(ClosedPort());
  StatusRun r = RunStatusBinary(dir_, {"--url", closed, "--timeout", "3s"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("UNREACHABLE"));
  EXPECT_THAT(r.out, HasSubstr("DOWN exporter " + closed));
  EXPECT_THAT(r.err, HasSubstr("exporter " + closed + " is unreachable"));
}

TEST_F(StatusCommandTest, ConfigUrlsAreMergedWithFlags) {
  const std::string closed = "http://127.0.0.1:" + std::to_string(ClosedPort());
  StartExporter(false, "status: {urls: [\"" + closed + "\"]}\n");
  StatusRun r = RunStatusBinary(dir_, {"--json", "--url", Url(), "--config.file", config_});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  json board = json::parse(r.out);
  ASSERT_EQ(board["exporters"].size(), 2u);
  EXPECT_TRUE(board["exporters"][0]["reachable"]);
  EXPECT_FALSE(board["exporters"][1]["reachable"]);
  EXPECT_EQ(board["exporters"][1]["url"], closed);
  EXPECT_EQ(board["hosts"][0]["name"], "panda");  // The reachable one still shows.
  EXPECT_THAT(r.err, HasSubstr(closed));
}

// The exporter asked names its peers (status.urls): they are asked too, so
// a plain `status` on panda shows every machine. Their own peers are not
// followed (they name the first exporter again, by another address).
TEST_F(StatusCommandTest, ThePeersAnExporterListsAreAskedToo) {
  TempDir other_dir;
  const int other_port = FreePort();
  const std::string other = "http://127.0.0.1:" + std::to_string(other_port);
  WriteFileOrDie(other_dir.File("config.yaml"),
                 "defaults: {interval: 1h, timeout: 2s}\n"
                 "hosts:\n  clanker-001:\n    checks:\n"
                 "      - {name: pdf-brain, http: {url: \"" + http_.Url("/ok") + "\"}}\n"
                 "status: {urls: [\"http://panda.example:10042\"]}\n");
  Subprocess clanker({ExporterBinary(), "--config.file=" + other_dir.File("config.yaml"),
                      "--web.listen-address=127.0.0.1:" + std::to_string(other_port)},
                     other_dir.File("exporter.log"));
  ASSERT_TRUE(WaitFor([&] { return HttpGet(other + "/-/ready").status == 200; },
                      std::chrono::seconds(10)))
      << clanker.Log();
  StartExporter(false, "status: {urls: [\"" + other + "/\"]}\n");
  StatusRun r = RunStatusBinary(dir_, {"--json", "--url", Url()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  json board = json::parse(r.out);
  ASSERT_EQ(board["exporters"].size(), 2u) << r.out;
  EXPECT_EQ(board["exporters"][1]["url"], other + "/");
  std::set<std::string> hosts;
  for (const json& h : board["hosts"]) hosts.insert(h["name"].get<std::string>());
  EXPECT_EQ(hosts, (std::set<std::string>{"panda", "clanker-001"}));
}

TEST(PeersToAskTest, OnlyNewHttpPeersOfReachableExporters) {
  auto answer = [](bool reachable, json peers) {
    ExporterStatus s;
    s.reachable = reachable;
    s.document = {{"schema_version", 1}, {"exporter", {{"peers", peers}}}, {"hosts", json::array()}};
    return s;
  };
  const std::vector<ExporterStatus> answered = {
      answer(true, {"http://clanker-001:10042", "http://127.0.0.1:10042/", "ftp://x", 42,
                    "http://clanker-001:10042/", "https://gpu-box:10042"}),
      answer(false, {"http://never-asked:10042"}),
      answer(true, "not a list")};
  EXPECT_EQ(PeersToAsk(answered, {"http://127.0.0.1:10042"}),
            (std::vector<std::string>{"http://clanker-001:10042", "https://gpu-box:10042"}));
  // A peer already asked with credentials is the same exporter.
  EXPECT_EQ(PeersToAsk({answer(true, {"http://gpu-box:10042"})}, {"http://u:p@gpu-box:10042"}),
            std::vector<std::string>{});
}

TEST_F(StatusCommandTest, BadUsageExitsThree) {
  StatusRun r = RunStatusBinary(dir_, {"--url", "localhost:10042"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("must start with http:// or https://"));
  StatusRun c = RunStatusBinary(dir_, {"--config.file", dir_.File("missing.yaml")});
  EXPECT_EQ(c.exit_code, 3);
  EXPECT_THAT(c.err, HasSubstr("cannot read config file"));
}

TEST_F(StatusCommandTest, WatchRedrawsUntilSigint) {
  StartExporter(false);
  const std::string out = dir_.File("watch.out");
  Subprocess watch({"sh", "-c", "exec \"$0\" status --watch=200ms --url \"$1\" >\"$2\"",
                    ExporterBinary(), Url(), out},
                   dir_.File("watch.log"));
  auto boards = [&] {
    std::string text;
    try {
      text = ReadFileOrDie(out);
    } catch (...) {
    }
    size_t n = 0;
    for (size_t at = text.find("joelclaw network:"); at != std::string::npos;
         at = text.find("joelclaw network:", at + 1)) {
      ++n;
    }
    return n;
  };
  ASSERT_TRUE(WaitFor([&] { return boards() >= 2; }, std::chrono::seconds(20))) << watch.Log();
  watch.Signal(SIGINT);
  const int st = watch.Wait(std::chrono::seconds(10));
  ASSERT_TRUE(st >= 0 && WIFEXITED(st)) << "status --watch did not exit on SIGINT";
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

}  // namespace status_command_test
}  // namespace joelclaw
