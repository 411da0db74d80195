#include "exporter/status_command.h"

#include <curl/curl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "exporter/config.h"
#include "exporter/flag_args.h"
#include "exporter/probes/http_probe.h"
#include "exporter/probes/net.h"

namespace joelclaw {
namespace {

constexpr char kStatusUsage[] =
    "usage: joelclaw_exporter status [--url URL]... [--config.file PATH] [--json]\n"
    "                                [--watch[=D]] [--timeout D]\n"
    "\n"
    "Reads GET /api/v1/status from one or more exporters, and from the exporters\n"
    "they list as their peers (their config's status.urls), and prints the network\n"
    "grouped by host. Exit code: 0 healthy, 1 warning, degraded or pending, 2 an\n"
    "exporter unreachable, 3 bad usage.\n"
    "\n"
    "  --url URL           an exporter (repeatable; user:password@ for basic auth);\n"
    "                      default http://127.0.0.1:10042\n"
    "  --config.file PATH  also ask the exporters listed under status.urls there\n"
    "  --json              print the board as JSON (docs/status-json.md)\n"
    "  --watch[=D]         redraw every D (default 5s) until SIGINT\n"
    "  --timeout D         hard limit for each exporter's answer (default 5s)\n";

constexpr size_t kMaxStatusBytes = 16 << 20;
constexpr Duration kMaxTimeout{300000};

bool IsHttpUrl(const std::string& url) {
  return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
}

Status ParseDurationFlag(const std::string& name, const std::string& value, Duration* out) {
  Result<Duration> d = ParseDuration(value);
  if (!d.ok()) return Status::Error(name + ": " + d.status().message());
  if (d->count() <= 0 || *d > kMaxTimeout) {
    return Status::Error(name + " must be more than 0s and at most 5m");
  }
  *out = *d;
  return Status::Ok();
}

void AddUrl(std::vector<std::string>* urls, const std::string& url) {
  for (const std::string& u : *urls) {
    if (u == url) return;
  }
  urls->push_back(url);
}

void PrintBoard(const nlohmann::json& board, bool json, bool tty, bool watching) {
  std::string text;
  if (json) {
    // One document per line while watching (NDJSON), readable otherwise.
    text = board.dump(watching ? -1 : 2, ' ', false, nlohmann::json::error_handler_t::replace) +
           "\n";
  } else {
    text = RenderBoardText(board, TextStyle{tty, tty});
  }
  // The board was fetched before this: clearing now leaves the old one on
  // screen for as long as the exporters take to answer.
  if (watching && tty) text = "\033[H\033[2J" + text;
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (watching && !tty && !json) std::fputs("\n", stdout);
  std::fflush(stdout);
}

void ReportUnreachable(const nlohmann::json& board) {
  for (const nlohmann::json& e : board["exporters"]) {
    if (e["reachable"].get<bool>()) continue;
    std::fprintf(stderr, "joelclaw_exporter status: exporter %s is unreachable: %s\n",
                 e["url"].get<std::string>().c_str(), e["error"].get<std::string>().c_str());
  }
}

}  // namespace

bool ParseStatusFlags(const std::vector<std::string>& args, StatusFlags* flags,
                      std::string* error) {
  for (size_t i = 0; i < args.size(); ++i) {
    FlagArg flag = SplitFlag(args[i]);
    const std::string& name = flag.name;
    const std::string& value = flag.value;
    const bool has_value = flag.has_value;
    auto take_value = [&]() { return TakeFlagValue(args, &i, &flag, error); };
    Status s;
    if (name == "-h" || name == "--help") {
      flags->help = true;
    } else if (name == "--json" && !has_value) {
      flags->json = true;
    } else if (name == "--watch") {
      // --watch=D only: "--watch 5s" would be ambiguous with a stray argument.
      Duration every{5000};
      if (has_value) s = ParseDurationFlag("--watch", value, &every);
      flags->watch = every;
    } else if (name == "--timeout") {
      if (!take_value()) return false;
      s = ParseDurationFlag("--timeout", value, &flags->timeout);
    } else if (name == "--url") {
      if (!take_value()) return false;
      if (!IsHttpUrl(value)) {
        *error = "--url '" + RedactUrl(value) + "' must start with http:// or https://";
        return false;
      }
      AddUrl(&flags->urls, value);
    } else if (name == "--config.file") {
      if (!take_value()) return false;
      flags->config_file = value;
    } else {
      *error = "unknown flag or argument '" + args[i] + "'";
      return false;
    }
    if (!s.ok()) {
      *error = s.message();
      return false;
    }
  }
  return true;
}

std::string StatusEndpoint(const std::string& base_url) {
  static const std::string kPath = "/api/v1/status";
  std::string url = base_url;
  if (url.size() >= kPath.size() && url.compare(url.size() - kPath.size(), kPath.size(), kPath) == 0) {
    return url;
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + kPath;
}

ExporterStatus FetchExporterStatus(const std::string& base_url, Duration timeout) {
  ExporterStatus out;
  out.url = base_url;
  const std::string shown = RedactUrl(StatusEndpoint(base_url));
  CURL* c = curl_easy_init();
  if (c == nullptr) {
    out.error = "curl_easy_init failed";
    return out;
  }
  ProbeContext ctx;
  ctx.deadline = std::chrono::steady_clock::now() + timeout;
  BodySink body;
  body.limit = kMaxStatusBytes;
  char errbuf[CURL_ERROR_SIZE] = {0};
  const std::string endpoint = StatusEndpoint(base_url);
  curl_easy_setopt(c, CURLOPT_URL, endpoint.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  ApplyProbeDeadline(c, ctx);
  AllowOnlyHttp(c);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "joelclaw_exporter status");
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteCappedBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(kMaxStatusBytes));
  const CURLcode rc = PerformWithDeadline(c, ctx);
  long http_status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http_status);
  curl_easy_cleanup(c);

  if (body.overflow || rc == CURLE_FILESIZE_EXCEEDED) {
    out.error = shown + " answered more than 16 MiB";
  } else if (rc == CURLE_OPERATION_TIMEDOUT) {
    out.error = shown + " did not answer within " + FormatDuration(timeout);
  } else if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    out.error = shown + ": " + why;
  } else if (http_status != 200) {
    out.error = shown + " answered HTTP " + std::to_string(http_status) +
                (http_status == 401 ? " (put user:password@ in the URL for basic auth)" : "");
  } else {
    nlohmann::json doc = nlohmann::json::parse(body.data, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
      out.error = shown + " answered something that is not JSON";
    } else if (std::string why; !IsStatusDocument(doc, &why)) {
      out.error = shown + ": " + why;
    } else {
      out.reachable = true;
      out.document = std::move(doc);
    }
  }
  return out;
}

std::vector<ExporterStatus> FetchAllStatus(const std::vector<std::string>& urls,
                                           Duration timeout) {
  std::vector<ExporterStatus> results(urls.size());
  std::vector<std::thread> threads;
  threads.reserve(urls.size());
  for (size_t i = 0; i < urls.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = FetchExporterStatus(urls[i], timeout); });
  }
  for (std::thread& t : threads) t.join();
  return results;
}

std::vector<std::string> PeersToAsk(const std::vector<ExporterStatus>& answered,
                                    const std::vector<std::string>& asked) {
  auto same = [](std::string a, std::string b) {
    while (!a.empty() && a.back() == '/') a.pop_back();
    while (!b.empty() && b.back() == '/') b.pop_back();
    return a == b || RedactUrl(a) == b;
  };
  std::vector<std::string> out;
  for (const ExporterStatus& e : answered) {
    if (!e.reachable || !e.document.is_object()) continue;
    auto exporter = e.document.find("exporter");
    if (exporter == e.document.end() || !exporter->is_object()) continue;
    auto peers = exporter->find("peers");
    if (peers == exporter->end() || !peers->is_array()) continue;
    for (const nlohmann::json& p : *peers) {
      // Untrusted input: only http(s) URLs, and each exporter once.
      if (!p.is_string() || !IsHttpUrl(p.get<std::string>())) continue;
      const std::string url = p.get<std::string>();
      bool known = false;
      for (const std::string& a : asked) known = known || same(a, url);
      for (const std::string& o : out) known = known || same(o, url);
      if (!known) out.push_back(url);
    }
  }
  return out;
}

std::vector<ExporterStatus> FetchWithPeers(const std::vector<std::string>& urls,
                                           Duration timeout) {
  std::vector<ExporterStatus> results = FetchAllStatus(urls, timeout);
  // One hop: the peers of the exporters asked, not the peers' peers (which
  // name the first exporters again by another address, e.g. panda:10042 for
  // the 127.0.0.1:10042 asked on panda).
  std::vector<ExporterStatus> more = FetchAllStatus(PeersToAsk(results, urls), timeout);
  results.insert(results.end(), std::make_move_iterator(more.begin()),
                 std::make_move_iterator(more.end()));
  return results;
}

int RunStatusCommand(const std::vector<std::string>& args) {
  StatusFlags flags;
  std::string error;
  if (!ParseStatusFlags(args, &flags, &error)) {
    std::fprintf(stderr, "joelclaw_exporter status: %s\n\n%s", error.c_str(), kStatusUsage);
    return 3;
  }
  if (flags.help) {
    std::fputs(kStatusUsage, stdout);
    return 0;
  }
  std::vector<std::string> urls = flags.urls;
  if (!flags.config_file.empty()) {
    auto config = LoadConfigFile(flags.config_file);
    if (!config.ok()) {
      std::fprintf(stderr, "joelclaw_exporter status: %s\n", config.status().message().c_str());
      return 3;
    }
    for (const std::string& u : (*config)->status_urls) AddUrl(&urls, u);
  }
  if (urls.empty()) urls.push_back(kDefaultStatusUrl);

  const char* no_color = std::getenv("NO_COLOR");
  const bool tty = isatty(STDOUT_FILENO) == 1 && (no_color == nullptr || no_color[0] == '\0');
  curl_global_init(CURL_GLOBAL_ALL);

  // SIGINT ends --watch between two boards: it is taken synchronously by
  // sigtimedwait, which is also the wait between redraws.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  if (flags.watch) pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  nlohmann::json board;
  while (true) {
    board = BuildBoard(FetchWithPeers(urls, flags.timeout));
    PrintBoard(board, flags.json, tty, flags.watch.has_value());
    if (!flags.watch) break;
    timespec wait{static_cast<time_t>(flags.watch->count() / 1000),
                  static_cast<long>(flags.watch->count() % 1000) * 1000000L};
    if (sigtimedwait(&stop, nullptr, &wait) >= 0) break;
  }
  ReportUnreachable(board);
  return BoardExitCode(board);
}

}  // namespace joelclaw
