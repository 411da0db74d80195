// The exporter's `GET /` status page: escaping in the pure renderer, and the
// real binary's page in a real headless Chromium (the DOM it builds, and a
// phone-sized screenshot into tests/out/).
#include "exporter/status_page.h"

#include <filesystem>

#include "exporter/status_board.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/loopback_http_server.h"
#include "tests/support/test_util.h"

namespace joelclaw {
namespace status_page_test {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace joelclaw::testing;  // NOLINT: test helpers.

TEST(StatusPageTest, EscapesEverythingFromTheDocument) {
  ExporterStatus e;
  e.url = "http://evil:1";
  e.reachable = true;
  e.document = json::parse(ReadFileOrDie(TestData("status/hostile.json")));
  const std::string page = RenderStatusPage(BuildBoard({e}));
  EXPECT_THAT(page, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(page, Not(HasSubstr("<img")));
  EXPECT_THAT(page, HasSubstr("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
  EXPECT_THAT(page, HasSubstr("&lt;img src=x onerror=alert(1)&gt;"));
  // The only script is the page's own.
  size_t scripts = 0;
  for (size_t at = page.find("<script"); at != std::string::npos; at = page.find("<script", at + 1)) {
    ++scripts;
  }
  EXPECT_EQ(scripts, 1u);
  EXPECT_EQ(HtmlEscape("a&b<c>\"d'"), "a&amp;b&lt;c&gt;&quot;d&#39;");
}

TEST(StatusPageTest, SelfContainedWithViewportLinksAndFallback) {
  const std::string page =
      RenderStatusPageForDocument(ReadFileOrDie(TestData("status/degraded.json")));
  EXPECT_THAT(page, HasSubstr("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
  EXPECT_THAT(page, HasSubstr("<noscript><meta http-equiv=\"refresh\" content=\"10\"></noscript>"));
  EXPECT_THAT(page, HasSubstr("href=\"/metrics\""));
  EXPECT_THAT(page, HasSubstr("href=\"/api/v1/status\""));
  EXPECT_THAT(page, Not(HasSubstr("src=\"http")));
  EXPECT_THAT(page, Not(HasSubstr("<link")));
  EXPECT_THAT(page, HasSubstr("<title>joelclaw: degraded</title>"));
  EXPECT_THAT(page, HasSubstr("last config reload failed"));
  EXPECT_THAT(page, HasSubstr("generated 2026-11-23 17:30:00 UTC"));

  const std::string broken = RenderStatusPageForDocument("{not json");
  EXPECT_THAT(broken, HasSubstr("its status document could not be read"));
}

TEST(StatusPageTest, WarningsAreYellowAndDescriptionsShown) {
  const std::string page =
      RenderStatusPageForDocument(ReadFileOrDie(TestData("status/warning.json")));
  EXPECT_THAT(page, HasSubstr("<title>joelclaw: warning</title>"));
  EXPECT_THAT(page, HasSubstr("<span id=\"overall\" class=\"pill warning\">warning</span>"));
  EXPECT_THAT(page, HasSubstr("<section class=\"host warning\" data-host=\"gpubox\">\n<h2>gpubox "
                              "<span class=\"about\">Linux GPU box, 2× RTX PRO 4500</span> "));
  EXPECT_THAT(page, HasSubstr("<li class=\"svc warning\" data-state=\"warning\"><span "
                              "class=\"mark\" title=\"warning\">▲</span><span class=\"name\">gpu"
                              "</span>"));
  EXPECT_THAT(page, HasSubstr("<span class=\"name\">ollama<span class=\"desc\"> — Local models"
                              "</span></span><span class=\"meta\">systemd+http:11434</span>"));
  EXPECT_THAT(page, HasSubstr("--warning:"));
  EXPECT_THAT(page, HasSubstr("<p class=\"res warning\">▲ "));
}

// ---- The real page in a real browser ---------------------------------------

std::string Chromium() {
  for (const char* name : {"chromium", "chromium-browser"}) {
    std::string path = FindProgram(name);
    if (!path.empty()) return path;
  }
  return "";
}

TEST(StatusPageBrowserTest, ChromiumShowsTheFailingCheckAndTakesAPhoneScreenshot) {
  const std::string chromium = Chromium();
  ASSERT_FALSE(chromium.empty())
      << "chromium is not installed; run scripts/setup-deps.sh (it installs Debian's chromium)";
  TempDir dir;
  LoopbackHttpServer http;
  ASSERT_TRUE(http.ok());
  http.SetJsonBody(R"({"functionCount": 14})");
  const int closed = ClosedPort();
  const std::string config = dir.File("config.yaml");
  WriteFileOrDie(config,
                 "defaults: {interval: 1h, timeout: 2s}\n"
                 "hosts:\n"
                 "  panda:\n"
                 "    checks:\n"
                 "      - {name: worker, http: {url: \"" + http.Url("/json") +
                     "\", json: {field: functionCount, min: 1}}}\n"
                 "      - {name: typesense, tcp: {address: \"127.0.0.1:" + std::to_string(closed) +
                     "\"}}\n"
                 "    resources: true\n"
                 "    filesystems: [\"/\"]\n");
  const int port = FreePort();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  Subprocess exporter({ExporterBinary(), "--config.file=" + config,
                       "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                      dir.File("exporter.log"));
  ASSERT_TRUE(WaitFor([&] { return HttpGet(base + "/-/ready").status == 200; },
                      std::chrono::seconds(10)))
      << exporter.Log();

  HttpReply page = HttpGet(base + "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.headers["content-type"], HasSubstr("text/html"));
  EXPECT_THAT(page.headers["content-security-policy"], HasSubstr("default-src 'none'"));
  // The board is rendered on the server: without JavaScript (and for the
  // <noscript> meta refresh) the page already shows the failing check.
  EXPECT_THAT(page.body, HasSubstr("<span class=\"name\">typesense</span>"));
  EXPECT_THAT(page.body, HasSubstr("auto-refresh needs JavaScript; reloading every 10 s"));

  // Chromium needs a writable profile directory of its own; --no-sandbox
  // because tests may run as root.
  const std::vector<std::string> common = {chromium, "--headless", "--no-sandbox", "--disable-gpu",
                                           "--no-first-run", "--user-data-dir=" + dir.File("profile")};
  // The DOM after 12 s of virtual time: the script has re-fetched the page
  // and swapped the board in at least twice by then. The DOM goes to
  // stdout; Chromium's own log lines go to stderr.
  auto dump_dom = [&](const std::vector<std::string>& flags) {
    std::vector<std::string> argv = {"sh", "-c", "exec \"$@\" 2>/dev/null", "sh"};
    argv.insert(argv.end(), common.begin(), common.end());
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back("--dump-dom");
    argv.push_back(base + "/");
    return RunCommand(argv, 120);
  };
  CommandOutput dom = dump_dom({"--virtual-time-budget=12000"});
  ASSERT_EQ(dom.exit_code, 0) << dom.out;
  EXPECT_THAT(dom.out, HasSubstr("data-host=\"panda\""));
  EXPECT_THAT(dom.out, HasSubstr("<span id=\"overall\" class=\"pill degraded\">degraded</span>"));
  // The failing check is down with its reason; the passing one is up.
  EXPECT_THAT(dom.out, HasSubstr("<li class=\"svc down\" data-state=\"down\"><span class=\"mark\" "
                                 "title=\"down\">✖</span><span class=\"name\">typesense</span>"
                                 "<span class=\"meta\">tcp:" + std::to_string(closed) + "</span>"
                                 "<span class=\"detail\">refused: "));
  EXPECT_THAT(dom.out, HasSubstr("<li class=\"svc up\" data-state=\"up\"><span class=\"mark\" "
                                 "title=\"up\">✔</span><span class=\"name\">worker</span>"
                                 "<span class=\"meta\">http:" + std::to_string(http.port()) +
                                 "</span><span class=\"detail\">14 functionCount</span>"));
  EXPECT_THAT(dom.out, HasSubstr("Recent failures"));
  // The script ran and refreshed the board from the exporter.
  EXPECT_THAT(dom.out, HasSubstr("<span id=\"live\" class=\"\">live, updated "));


  const std::string out_dir = SourceDir() + "/tests/out";
  std::filesystem::create_directories(out_dir);
  const std::string png = out_dir + "/status_page_phone.png";
  std::filesystem::remove(png);
  std::vector<std::string> shot = common;
  shot.push_back("--hide-scrollbars");
  shot.push_back("--window-size=390,844");
  shot.push_back("--screenshot=" + png);
  shot.push_back(base + "/");
  CommandOutput taken = RunCommand(shot, 120);
  ASSERT_EQ(taken.exit_code, 0) << taken.out;
  ASSERT_TRUE(std::filesystem::exists(png)) << taken.out;
  const std::string bytes = ReadFileOrDie(png);
  ASSERT_GT(bytes.size(), 1000u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

}  // namespace status_page_test
}  // namespace joelclaw
