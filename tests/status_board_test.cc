// The status board's pure half: status documents in, board JSON and text
// out. Golden files in tests/testdata/status/ hold the expected renderings;
// UPDATE_GOLDEN=1 rewrites them (review the diff before committing).
#include "exporter/status_board.h"

#include <cstdlib>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_util.h"

namespace joelclaw {
namespace status_board_test {

using nlohmann::json;
using testing::ReadFileOrDie;
using testing::TestData;
using ::testing::HasSubstr;
using ::testing::Not;

ExporterStatus Reachable(const std::string& url, const std::string& fixture) {
  ExporterStatus e;
  e.url = url;
  e.reachable = true;
  e.document = json::parse(ReadFileOrDie(TestData("status/" + fixture)));
  return e;
}

ExporterStatus Unreachable(const std::string& url, const std::string& error) {
  ExporterStatus e;
  e.url = url;
  e.error = error;
  return e;
}

struct Case {
  std::string name;
  std::vector<ExporterStatus> exporters;
  int exit_code;
};

std::vector<Case> Cases() {
  return {
      {"healthy", {Reachable("http://panda:10042", "healthy.json")}, 0},
      {"degraded", {Reachable("http://clanker-001:10042", "degraded.json")}, 1},
      {"unreachable",
       {Reachable("http://panda:10042", "healthy.json"),
        Unreachable("http://joel:s3cret@three-body:10042",
                    "http://three-body:10042/api/v1/status: Failed to connect to three-body port "
                    "10042 after 3 ms: Connection refused")},
       2},
      {"merged",
       {Reachable("http://panda:10042", "healthy.json"),
        Reachable("http://clanker-001:10042", "degraded.json")},
       1},
  };
}

void CompareGolden(const std::string& relative, const std::string& got) {
  const std::string path = TestData("status/" + relative);
  const char* update = std::getenv("UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    testing::WriteFileOrDie(path, got);
    return;
  }
  std::string want;
  ASSERT_NO_THROW(want = ReadFileOrDie(path)) << path << " is missing; run with UPDATE_GOLDEN=1";
  EXPECT_EQ(got, want) << "rendering differs from " << path;
}

TEST(StatusBoardTest, GoldenTextTtyAndJson) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    const json board = BuildBoard(c.exporters);
    CompareGolden(c.name + ".txt", RenderBoardText(board, TextStyle{}));
    CompareGolden(c.name + ".tty.txt", RenderBoardText(board, TextStyle{true, true}));
    CompareGolden(c.name + ".board.json", board.dump(2) + "\n");
    EXPECT_EQ(BoardExitCode(board), c.exit_code);
  }
}

TEST(StatusBoardTest, PlainTextHasNoEscapesOrSymbolsAndTtyHasBoth) {
  const json board = BuildBoard({Reachable("http://clanker-001:10042", "degraded.json")});
  const std::string plain = RenderBoardText(board, TextStyle{});
  EXPECT_THAT(plain, Not(HasSubstr("\033")));
  EXPECT_THAT(plain, Not(HasSubstr("✖")));
  EXPECT_THAT(plain, HasSubstr("DOWN typesense"));
  const std::string tty = RenderBoardText(board, TextStyle{true, true});
  EXPECT_THAT(tty, HasSubstr("\033[31m✖\033[0m typesense"));
  EXPECT_THAT(tty, HasSubstr("\033[32m✔\033[0m pdf-brain"));
}

TEST(StatusBoardTest, DegradedBoardExplainsEveryProblem) {
  const json board = BuildBoard({Reachable("http://clanker-001:10042", "degraded.json")});
  EXPECT_EQ(board["state"], "degraded");
  const json& clanker = board["hosts"][0];
  EXPECT_EQ(clanker["name"], "clanker-001");
  EXPECT_EQ(clanker["state"], "degraded");
  auto service = [](const json& host, const std::string& name) {
    for (const json& s : host["services"]) {
      if (s["name"] == name) return s;
    }
    return json();
  };
  EXPECT_EQ(service(clanker, "typesense")["state"], "down");
  EXPECT_EQ(service(clanker, "typesense")["port"], 8108);
  EXPECT_EQ(service(clanker, "typesense")["detail"], "timeout: no connection within 5s");
  EXPECT_EQ(service(clanker, "pdf-brain")["detail"], "700 docs");
  EXPECT_EQ(service(clanker, "ssh")["state"], "pending");
  EXPECT_EQ(service(clanker, "pdf-brain-indexer.service")["state"], "down");
  EXPECT_EQ(service(clanker, "ollama.service")["detail"], "unit not found");
  EXPECT_EQ(service(clanker, "gpu")["detail"], "2 GPUs, 41 °C");
  EXPECT_EQ(clanker["resources"]["summary"], "load 7.50 on 8 CPUs, memory 3.0 GiB free of 32 GiB");
  // The newest three failures of the down check, ages from generated_at.
  ASSERT_EQ(clanker["recent_failures"].size(), 3u);
  EXPECT_EQ(clanker["recent_failures"][0]["age_seconds"], 5);
  EXPECT_EQ(clanker["recent_failures"][2]["reason"], "refused");

  const json& three_body = board["hosts"][1];
  EXPECT_EQ(service(three_body, "remote_filesystem")["source"], "nas");
  EXPECT_EQ(service(three_body, "remote_filesystem")["state"], "down");
  EXPECT_THAT(service(three_body, "remote_filesystem")["detail"].get<std::string>(),
              HasSubstr("Permission denied"));

  const json& network = board["hosts"][2];
  EXPECT_EQ(network["name"], "network");
  EXPECT_TRUE(network["global"]);
  // Every collector ran fine, but a missing always-on peer and a workload
  // that is not ready are problems on the board.
  EXPECT_EQ(network["state"], "degraded");
  EXPECT_EQ(service(network, "three-body")["state"], "down");
  EXPECT_EQ(service(network, "joels-iphone")["state"], "idle");
  EXPECT_EQ(service(network, "kubernetes")["detail"],
            "2/2 nodes ready, 1/2 workloads ready; not ready: joelclaw/qdrant");
  EXPECT_EQ(service(network, "kubernetes")["state"], "down");
  EXPECT_EQ(service(network, "frobnicator")["detail"], "mode fast, 3 widgets");
}

TEST(StatusBoardTest, UnreachableExporterIsNamedWithoutItsPassword) {
  const json board = BuildBoard({Unreachable("http://joel:s3cret@three-body:10042", "refused")});
  EXPECT_EQ(board["state"], "unreachable");
  EXPECT_EQ(board["exporters"][0]["url"], "http://three-body:10042");
  EXPECT_EQ(BoardExitCode(board), 2);
  const std::string text = RenderBoardText(board, TextStyle{});
  EXPECT_THAT(text, HasSubstr("DOWN exporter http://three-body:10042  unreachable: refused"));
  EXPECT_THAT(text, Not(HasSubstr("s3cret")));
}

TEST(StatusBoardTest, HostileDocumentNeitherThrowsNorReachesTheTerminal) {
  json board;
  ASSERT_NO_THROW(board = BuildBoard({Reachable("http://evil:10042", "hostile.json")}));
  // An unknown host state is not trusted as healthy; a down check degrades.
  EXPECT_EQ(board["hosts"][0]["state"], "degraded");
  EXPECT_EQ(board["hosts"][0]["services"][0]["port"], nullptr);  // 99999 is no port.
  std::string text;
  ASSERT_NO_THROW(text = RenderBoardText(board, TextStyle{true, true}));
  // The only escapes are the board's own colours (ESC [ digit m).
  for (size_t at = text.find('\033'); at != std::string::npos; at = text.find('\033', at + 1)) {
    EXPECT_EQ(text.substr(at, 2), "\033[") << text;
    EXPECT_THAT(text.substr(at + 2, 1), ::testing::MatchesRegex("[0-9]"));
  }
  EXPECT_THAT(text, Not(HasSubstr("\a")));
  EXPECT_THAT(text, Not(HasSubstr("\xc2\x9b")));
  EXPECT_THAT(text, HasSubstr("line one?line two ?31m red"));
}

TEST(StatusBoardTest, DocumentsThisClientCannotReadAreUnreachable) {
  struct Doc {
    json doc;
    std::string error;
  };
  const Doc docs[] = {
      {json::array(), "the answer is not a JSON object"},
      {json{{"hosts", json::array()}}, "the answer has no schema_version; is this a joelclaw exporter?"},
      {json{{"schema_version", 2}, {"hosts", json::array()}},
       "the answer has schema_version 2, and this client understands version 1"},
      {json{{"schema_version", 1}}, "the answer has no hosts list"},
  };
  for (const Doc& d : docs) {
    std::string error;
    EXPECT_FALSE(IsStatusDocument(d.doc, &error));
    EXPECT_EQ(error, d.error);
    ExporterStatus e;
    e.url = "http://x:1";
    e.reachable = true;
    e.document = d.doc;
    const json board = BuildBoard({e});
    EXPECT_EQ(board["state"], "unreachable");
    EXPECT_EQ(board["exporters"][0]["error"], "http://x:1: " + d.error);
  }
}

TEST(StatusBoardTest, NoExportersAnsweringHostsIsPending) {
  ExporterStatus e;
  e.url = "http://x:1";
  e.reachable = true;
  e.document = {{"schema_version", 1}, {"hosts", json::array()}};
  const json board = BuildBoard({e});
  EXPECT_EQ(board["state"], "pending");
  EXPECT_EQ(BoardExitCode(board), 1);
}

TEST(StatusBoardTest, HumanUnits) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(999), "999 B");
  EXPECT_EQ(HumanBytes(812e3), "812 kB");
  EXPECT_EQ(HumanBytes(5.2e9), "5.2 GB");
  EXPECT_EQ(HumanBytes(57e12), "57 TB");
  EXPECT_EQ(HumanBytes(9.96e12), "10 TB");
  EXPECT_EQ(HumanBytes(68719476736, 1024), "64 GiB");
  EXPECT_EQ(HumanBytes(3221225472, 1024), "3.0 GiB");
  EXPECT_EQ(HumanBytes(1023, 1024), "1023 B");
  EXPECT_EQ(HumanAge(0), "0s");
  EXPECT_EQ(HumanAge(59.9), "59s");
  EXPECT_EQ(HumanAge(180), "3m");
  EXPECT_EQ(HumanAge(5 * 3600 + 10), "5h");
  EXPECT_EQ(HumanAge(2 * 86400), "2d");
  EXPECT_EQ(HumanAge(-5), "0s");
}

}  // namespace status_board_test
}  // namespace joelclaw
