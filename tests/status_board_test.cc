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
      {"warning", {Reachable("http://gpubox:10042", "warning.json")}, 1},
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

json ServiceNamed(const json& host, const std::string& name) {
  for (const json& s : host["services"]) {
    if (s["name"] == name) return s;
  }
  return json();
}

const json& GroupNamed(const json& board, const std::string& name) {
  for (const json& h : board["hosts"]) {
    if (h["name"] == name) return h;
  }
  static const json kNone;
  return kNone;
}

TEST(StatusBoardTest, DegradedBoardExplainsEveryProblem) {
  const json board = BuildBoard({Reachable("http://clanker-001:10042", "degraded.json")});
  EXPECT_EQ(board["state"], "degraded");
  const json& clanker = board["hosts"][0];
  EXPECT_EQ(clanker["name"], "clanker-001");
  EXPECT_EQ(clanker["description"], "Linux box, 32 GB");
  EXPECT_EQ(clanker["state"], "degraded");
  EXPECT_EQ(ServiceNamed(clanker, "typesense")["state"], "down");
  EXPECT_EQ(ServiceNamed(clanker, "typesense")["port"], 8108);
  EXPECT_EQ(ServiceNamed(clanker, "typesense")["detail"], "timeout: no connection within 5s");
  EXPECT_EQ(ServiceNamed(clanker, "ssh")["state"], "pending");
  EXPECT_EQ(ServiceNamed(clanker, "pdf-brain-indexer.service")["state"], "down");
  EXPECT_EQ(ServiceNamed(clanker, "pdf-brain-indexer.service")["description"], "Indexes new PDFs");
  EXPECT_EQ(ServiceNamed(clanker, "ollama.service")["detail"], "unit not found");
  EXPECT_EQ(ServiceNamed(clanker, "gpu")["detail"],
            "2 GPUs, 41 °C, memory 6.0 GiB used of 48 GiB (13 %)");
  EXPECT_EQ(clanker["resources"]["summary"],
            "load 7.50 on 8 CPUs, memory 29 GiB used of 32 GiB (91 %)");
  // The newest three failures of the down check, ages from generated_at.
  ASSERT_EQ(clanker["recent_failures"].size(), 3u);
  EXPECT_EQ(clanker["recent_failures"][0]["age_seconds"], 5);
  EXPECT_EQ(clanker["recent_failures"][2]["reason"], "refused");

  const json& three_body = board["hosts"][1];
  EXPECT_EQ(ServiceNamed(three_body, "remote_filesystem")["source"], "nas");
  EXPECT_EQ(ServiceNamed(three_body, "remote_filesystem")["state"], "down");
  EXPECT_THAT(ServiceNamed(three_body, "remote_filesystem")["detail"].get<std::string>(),
              HasSubstr("Permission denied"));

  // The cluster is a group of its own, before the network.
  EXPECT_EQ(board["hosts"][2]["name"], "joelclaw");
  EXPECT_EQ(board["hosts"][2]["kind"], "cluster");
  const json& network = board["hosts"][3];
  EXPECT_EQ(network["name"], "network");
  EXPECT_EQ(network["kind"], "network");
  EXPECT_TRUE(network["global"]);
  // Every collector ran fine, but a missing always-on peer is a problem.
  EXPECT_EQ(network["state"], "degraded");
  EXPECT_EQ(ServiceNamed(network, "three-body")["state"], "down");
  EXPECT_EQ(ServiceNamed(network, "joels-iphone")["state"], "idle");
  EXPECT_EQ(ServiceNamed(network, "frobnicator")["detail"], "mode fast, 3 widgets");
}

TEST(StatusBoardTest, KubernetesHasARowPerNodeAndWorkload) {
  const json board = BuildBoard({Reachable("http://clanker-001:10042", "degraded.json")});
  const json& cluster = GroupNamed(board, "joelclaw");
  ASSERT_TRUE(cluster.is_object()) << board.dump(2);
  EXPECT_TRUE(cluster["global"]);
  EXPECT_EQ(cluster["state"], "degraded");
  EXPECT_EQ(ServiceNamed(cluster, "talos-cp-1")["state"], "up");
  EXPECT_EQ(ServiceNamed(cluster, "talos-cp-1")["detail"], "node ready, Talos v1.12.4");
  EXPECT_EQ(ServiceNamed(cluster, "talos-w-1")["state"], "warning");
  EXPECT_EQ(ServiceNamed(cluster, "talos-w-1")["detail"],
            "node ready, Talos v1.12.4; DiskPressure=True");
  EXPECT_EQ(ServiceNamed(cluster, "inngest")["detail"], "1/1 ready");
  EXPECT_EQ(ServiceNamed(cluster, "inngest")["source"], "kubernetes");
  EXPECT_EQ(ServiceNamed(cluster, "qdrant")["state"], "down");
  EXPECT_EQ(ServiceNamed(cluster, "qdrant")["detail"],
            "0/1 ready; qdrant-0 CrashLoopBackOff, 14 restarts");
  EXPECT_EQ(ServiceNamed(cluster, "docs-site")["state"], "warning");
  EXPECT_EQ(ServiceNamed(cluster, "docs-site")["detail"], "1/2 ready");
  // A pod of no listed workload gets a row of its own.
  EXPECT_EQ(ServiceNamed(cluster, "pods")["state"], "down");
  EXPECT_EQ(ServiceNamed(cluster, "pods")["detail"],
            "1 pod not ready: joelclaw/gpu-embedder-5b6c7d8e9f-h8j2m Pending");
  EXPECT_EQ(ServiceNamed(cluster, "kubernetes"), json());  // No summary row.
  const std::string text = RenderBoardText(board, TextStyle{});
  EXPECT_THAT(text, HasSubstr("\njoelclaw (Kubernetes cluster)  DEGRADED\n"));
}

TEST(StatusBoardTest, ACheckAndItsJobAreOneRow) {
  const json board = BuildBoard({Reachable("http://panda:10042", "healthy.json")});
  const json& panda = board["hosts"][0];
  const json worker = ServiceNamed(panda, "worker");
  EXPECT_EQ(worker["source"], "launchd+http");
  EXPECT_EQ(worker["state"], "up");
  EXPECT_EQ(worker["port"], 3111);
  EXPECT_EQ(worker["service"], "com.joel.system-bus-worker");
  EXPECT_EQ(worker["detail"], "running, pid 4242; 14 functionCount");
  EXPECT_EQ(worker["description"], "Inngest functions");
  EXPECT_EQ(ServiceNamed(panda, "com.joel.system-bus-worker"), json());
  EXPECT_EQ(ServiceNamed(panda, "caddy")["detail"],
            "running, pid 511, 2 restarts; certificate valid 80 more days");
  // Kinds: a periodic job between runs and an on-demand job waiting are idle.
  EXPECT_EQ(ServiceNamed(panda, "com.joel.vault-log-sync")["state"], "idle");
  EXPECT_EQ(ServiceNamed(panda, "com.joel.vault-log-sync")["detail"],
            "idle, last run 4m ago, every 5m, last exit 0");
  EXPECT_EQ(ServiceNamed(panda, "com.joel.adr-sync-watcher")["detail"], "waiting, last exit 0");
  EXPECT_EQ(panda["description"], "Mac Mini M4 Pro, 64 GB");
  // Resources as used of total.
  EXPECT_EQ(panda["resources"]["summary"],
            "load 2.46 on 12 CPUs, memory 42 GiB used of 64 GiB (66 %)");
  EXPECT_EQ(ServiceNamed(panda, "/")["detail"], "582 GB used of 995 GB (59 %)");
  const std::string text = RenderBoardText(board, TextStyle{});
  EXPECT_THAT(text, HasSubstr("\npanda — Mac Mini M4 Pro, 64 GB  healthy\n"));
  EXPECT_THAT(text, HasSubstr("ok   caddy — TLS proxy "));

  // The job down and the check up: the row is down, and says both.
  json doc = json::parse(ReadFileOrDie(TestData("status/healthy.json")));
  json& job = doc["hosts"][0]["collectors"][2]["details"]["jobs"][0];
  job["running"] = false;
  job["pid"] = nullptr;
  job["last_exit_status"] = -9;
  ExporterStatus e;
  e.url = "http://panda:10042";
  e.reachable = true;
  e.document = doc;
  const json down = BuildBoard({e});
  EXPECT_EQ(ServiceNamed(down["hosts"][0], "worker")["state"], "down");
  EXPECT_EQ(ServiceNamed(down["hosts"][0], "worker")["detail"],
            "not running, killed by signal 9; 14 functionCount");
  EXPECT_EQ(down["hosts"][0]["state"], "degraded");
}

TEST(StatusBoardTest, WarningsFollowTheAlertThresholds) {
  const json board = BuildBoard({Reachable("http://gpubox:10042", "warning.json")});
  EXPECT_EQ(board["state"], "warning");
  EXPECT_EQ(BoardExitCode(board), 1);
  const json& gpubox = board["hosts"][0];
  EXPECT_EQ(gpubox["name"], "gpubox");
  EXPECT_EQ(gpubox["state"], "warning");
  // The GPU collector is global, but its GPUs are gpubox's.
  const json gpu = ServiceNamed(gpubox, "gpu");
  EXPECT_EQ(gpu["state"], "warning");
  EXPECT_EQ(gpu["detail"],
            "2 GPUs, 87 °C, memory 39 GiB used of 64 GiB (61 %); GPU 1 at 87 °C, GPU 1 memory "
            "97 % used");
  EXPECT_EQ(ServiceNamed(gpubox, "/")["state"], "warning");
  EXPECT_EQ(ServiceNamed(gpubox, "/")["detail"], "960 GB used of 1.0 TB (96 %); only 4 % free");
  EXPECT_EQ(ServiceNamed(gpubox, "/models")["state"], "up");
  EXPECT_EQ(gpubox["resources"]["state"], "warning");
  EXPECT_EQ(gpubox["resources"]["summary"],
            "load 30.12 on 32 CPUs, memory 124 GiB used of 128 GiB (97 %); only 3 % available");
  // ollama's unit restarted 4 times in 15 minutes; its check is up.
  const json ollama = ServiceNamed(gpubox, "ollama");
  EXPECT_EQ(ollama["source"], "systemd+http");
  EXPECT_EQ(ollama["state"], "warning");
  EXPECT_EQ(ollama["detail"], "active (running), 9 restarts; 4 restarts in the last 15m; HTTP 200");

  const json& panda = board["hosts"][1];
  EXPECT_EQ(panda["state"], "warning");
  EXPECT_EQ(ServiceNamed(panda, "com.joel.vault-log-sync")["state"], "warning");
  EXPECT_EQ(ServiceNamed(panda, "com.joel.vault-log-sync")["detail"],
            "no run seen for 4h, every 1h");
  EXPECT_EQ(ServiceNamed(panda, "com.joel.caddy")["state"], "warning");
  EXPECT_EQ(ServiceNamed(panda, "com.joel.adr-sync-watcher")["state"], "idle");
  EXPECT_EQ(board["hosts"].size(), 2u);  // No network group: nothing global left.

  const std::string plain = RenderBoardText(board, TextStyle{});
  EXPECT_THAT(plain, HasSubstr("joelclaw network: WARNING (2 hosts, 0 degraded, 2 warning; "));
  EXPECT_THAT(plain, HasSubstr("\n  WARN gpu "));
  const std::string tty = RenderBoardText(board, TextStyle{true, true});
  EXPECT_THAT(tty, HasSubstr("\033[33m▲\033[0m gpu "));
  EXPECT_THAT(tty, HasSubstr("\033[33mwarning\033[0m"));
}

TEST(StatusBoardTest, LaunchdJobsReadByKind) {
  auto row = [](json job) {
    job["label"] = "job";
    job["present"] = true;
    if (!job.contains("running")) job["running"] = false;
    ExporterStatus e;
    e.url = "http://panda:10042";
    e.reachable = true;
    json jobs = json::array();
    jobs.push_back(job);
    json collector = {{"name", "launchd"}, {"state", "ok"}, {"details", {{"jobs", jobs}}}};
    json collectors = json::array();
    collectors.push_back(collector);
    json host = {{"name", "panda"}, {"state", "healthy"}, {"collectors", collectors}};
    json hosts = json::array();
    hosts.push_back(host);
    e.document = {
        {"schema_version", 1}, {"exporter", {{"generated_at", 100000.0}}}, {"hosts", hosts}};
    const json board = BuildBoard({e});
    const json s = board["hosts"][0]["services"][0];
    return s["state"].get<std::string>() + ": " + s["detail"].get<std::string>();
  };
  // KeepAlive (and unknown, which the alerts treat alike): not running is down.
  EXPECT_EQ(row({{"kind", "keepalive"}, {"last_exit_status", 0}}),
            "down: not running, last exit 0");
  EXPECT_EQ(row({{"kind", "keepalive"}, {"last_exit_status", -9}, {"restarts", 7}}),
            "down: not running, killed by signal 9, 7 restarts");
  EXPECT_EQ(row({{"last_exit_status", 0}}),
            "down: not running, last exit 0 (kind unknown: set launchd domain or kind)");
  EXPECT_EQ(row({{"kind", "keepalive"}, {"running", true}, {"pid", 12}, {"recent_restarts", 3}}),
            "warning: running, pid 12; 3 restarts in the last 15m");
  // Periodic: idle between runs, down when the last run failed, warning
  // when runs were missed.
  EXPECT_EQ(row({{"kind", "periodic"},
                 {"last_exit_status", 0},
                 {"run_interval_seconds", 3600},
                 {"last_run", 100000.0 - 7000},
                 {"recent_restarts", 9}}),
            "idle: idle, last run 1h ago, every 1h, last exit 0");
  EXPECT_EQ(row({{"kind", "periodic"}, {"last_exit_status", 2}, {"run_interval_seconds", 3600}}),
            "down: last run failed, exit 2");
  EXPECT_EQ(
      row({{"kind", "periodic"}, {"run_interval_seconds", 600}, {"last_run", 100000.0 - 1801}}),
      "warning: no run seen for 30m, every 10m");
  // On demand: waiting is fine, a failed last run is not.
  EXPECT_EQ(row({{"kind", "on_demand"}}), "idle: waiting");
  EXPECT_EQ(row({{"kind", "on_demand"}, {"last_exit_status", 78}}),
            "down: last run failed, exit 78");
  EXPECT_EQ(row({{"kind", "on_demand"}, {"running", true}, {"pid", 5}}), "up: running, pid 5");
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
