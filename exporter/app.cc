#include "exporter/app.h"

#include <optional>

#include "exporter/logging.h"
#include "exporter/process_stats.h"
#include "exporter/status_page.h"
#include "exporter/version.h"
#include "spdlog/spdlog.h"

namespace joelclaw {
namespace {

constexpr auto kMinPublishGap = std::chrono::milliseconds(100);
// Snapshots are refreshed at least this often even without new results, so
// process metrics and the status document's timestamps stay current.
constexpr auto kRefreshEvery = std::chrono::seconds(5);

}  // namespace

App::App(Options options)
    : options_(std::move(options)), requests_(options_.telemetry_path) {
  env_ = options_.env != nullptr ? options_.env : Env::Default();
}

App::~App() { Stop(); }

Result<std::shared_ptr<const Config>> App::LoadConfig() const {
  if (options_.config_file.empty()) {
    return ParseConfig(EmbeddedDefaultConfig(LocalHostName()), "<embedded>");
  }
  return LoadConfigFile(options_.config_file);
}

Scheduler::Options App::SchedulerOptions() {
  Scheduler::Options so;
  so.env = env_;
  so.max_workers = options_.max_workers;
  // A finished run only marks the snapshot stale; the publisher rebuilds it.
  so.on_result = [this] { MarkDirty(); };
  return so;
}

void App::MarkDirty() {
  std::lock_guard<std::mutex> lock(pub_mu_);
  dirty_ = true;
  pub_cv_.notify_one();
}

std::shared_ptr<Bridge> App::PrepareBridge(const Config& config) {
  if (!config.bridge) return std::shared_ptr<Bridge>();
  for (const std::string& w : config.bridge->warnings) spdlog::warn("{}", w);
  std::shared_ptr<Bridge> current;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    current = bridge_;
  }
  // The same spool cannot be opened twice (it is flock()ed): keep the
  // running bridge and hand it the new settings at the swap.
  if (current && current->spool_dir() == config.bridge->spool_dir) return current;
  // A spool that cannot be opened does not stop the exporter: the bridge
  // answers 503 and keeps trying (its metrics say so).
  Bridge::Options bo;
  bo.env = env_;
  bo.on_change = [this] { MarkDirty(); };
  return std::shared_ptr<Bridge>(Bridge::Open(*config.bridge, bo));
}

void App::SwapBridge(const Config& config, std::shared_ptr<Bridge> next) {
  std::shared_ptr<Bridge> old;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    old = bridge_;
    bridge_ = next;
  }
  if (next && next == old) {
    next->Update(*config.bridge);
    return;
  }
  // A replaced bridge's undelivered events stay in its spool directory and
  // go out when a bridge uses that directory again.
  if (old) {
    old->Stop();
    if (old->Stats(env_->NowSeconds()).spool_events > 0) {
      spdlog::warn("bridge: spool {} is no longer used and still holds undelivered events",
                   old->spool_dir());
    }
  }
  if (next) next->Start();
}

Status App::Start() {
  std::lock_guard<std::mutex> reload_lock(reload_mu_);
  start_time_ = env_->NowSeconds();
  auto config = LoadConfig();
  if (!config.ok()) return config.status();
  WebConfig web;
  if (!options_.web_config_file.empty()) {
    auto w = LoadWebConfig(options_.web_config_file);
    if (!w.ok()) return w.status();
    web = *w;
  }
  web_ = web;
  std::shared_ptr<Bridge> bridge = PrepareBridge(**config);
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    last_reload_success_ = env_->NowSeconds();
    bridge_ = bridge;
  }
  auto scheduler = std::make_shared<Scheduler>(*config, SchedulerOptions(), nullptr);
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    scheduler_ = scheduler;
  }
  Publish();  // /metrics answers (with self metrics) before any check ran.
  HttpServer::Options ho;
  ho.listen_address = options_.listen_address;
  ho.web = web;
  ho.max_connections = options_.max_connections;
  ho.read_header_timeout = options_.read_header_timeout;
  // The bridge's body limit as the config had it at start (a reload's
  // new limit applies to Content-Length at once, to chunked bodies at the
  // next start).
  const size_t notification_limit =
      (*config)->bridge ? static_cast<size_t>((*config)->bridge->max_notification_bytes) : 0;
  auto server = HttpServer::Start(ho, Routes(notification_limit));
  if (!server.ok()) return server.status();
  server_ = std::move(server).value();
  scheduler->Start();
  if (bridge) bridge->Start();
  publisher_ = std::thread(&App::PublisherLoop, this);
  Log(spdlog::level::info, "listening",
      {{"address", options_.listen_address},
       {"port", std::to_string(server_->port())},
       {"telemetry_path", options_.telemetry_path},
       {"config", (*config)->source},
       {"checks", std::to_string((*config)->checks.size())},
       {"collectors", std::to_string((*config)->collectors.size())},
       {"version", kVersion},
       {"revision", kRevision}});
  return Status::Ok();
}

Status App::Reload() {
  std::lock_guard<std::mutex> reload_lock(reload_mu_);
  std::shared_ptr<Scheduler> old;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    old = scheduler_;
  }
  if (old == nullptr) return Status::Error("the exporter is not running");
  auto fail = [this](const Status& s) {
    // One line per problem (a config reports all of its problems at once).
    LogEachLine(spdlog::level::err, "reload failed, keeping the running config", "err",
                s.message());
    {
      std::lock_guard<std::mutex> lock(state_mu_);
      last_reload_ok_ = false;
      last_reload_error_ = s.message();
    }
    Publish();
    return s;
  };
  auto config = LoadConfig();
  if (!config.ok()) return fail(config.status());
  std::optional<WebConfig> web;
  if (!options_.web_config_file.empty()) {
    auto w = LoadWebConfig(options_.web_config_file);
    if (!w.ok()) return fail(w.status());
    web = std::move(w).value();
  }
  if (web && server_) {
    // Users, headers and TLS files take effect for new connections.
    Status s = server_->UpdateWebConfig(*web);
    if (!s.ok()) return fail(s.WithPrefix(options_.web_config_file));
    web_ = *web;
  }
  std::shared_ptr<Bridge> bridge = PrepareBridge(**config);
  // The old checks stop first so collectors can hand their state over.
  old->Stop();
  auto fresh = std::make_shared<Scheduler>(*config, SchedulerOptions(), old.get());
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    scheduler_ = fresh;
    last_reload_ok_ = true;
    last_reload_error_.clear();
    last_reload_success_ = env_->NowSeconds();
  }
  fresh->Start();
  SwapBridge(**config, bridge);
  Publish();
  Log(spdlog::level::info, "config reloaded",
      {{"config", (*config)->source},
       {"checks", std::to_string((*config)->checks.size())},
       {"collectors", std::to_string((*config)->collectors.size())}});
  return Status::Ok();
}

void App::Stop() {
  std::lock_guard<std::mutex> reload_lock(reload_mu_);
  {
    std::lock_guard<std::mutex> lock(pub_mu_);
    stopping_ = true;
    pub_cv_.notify_all();
  }
  std::shared_ptr<Scheduler> scheduler;
  std::shared_ptr<Bridge> bridge;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    scheduler = scheduler_;
    bridge = bridge_;
  }
  // Probes and the bridge's sender are cancelled while the server drains,
  // so all happen at once.
  std::thread stop_checks([scheduler] {
    if (scheduler) scheduler->Stop(std::chrono::milliseconds(600));
  });
  std::thread stop_bridge([bridge] {
    if (bridge) bridge->Stop();
  });
  if (server_) server_->Stop();
  stop_checks.join();
  stop_bridge.join();
  if (publisher_.joinable()) publisher_.join();
}

std::shared_ptr<const Snapshot> App::snapshot() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return snapshot_;
}

void App::Publish() {
  std::shared_ptr<Scheduler> scheduler;
  std::shared_ptr<Bridge> bridge;
  ExporterInfo info;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    scheduler = scheduler_;
    bridge = bridge_;
    info.last_reload_successful = last_reload_ok_;
    info.last_reload_success_time = last_reload_success_;
    info.last_reload_error = last_reload_error_;
  }
  if (!scheduler) return;
  std::vector<CheckState> checks;
  std::vector<CollectorState> collectors;
  scheduler->CopyStates(&checks, &collectors);
  const Config& config = scheduler->config();
  info.version = kVersion;
  info.revision = kRevision;
  info.branch = kBranch;
  info.compiler = kCompiler;
  info.compiler_version = kCompilerVersion;
  info.config_source = config.source;
  info.hosts = config.hosts;
  info.peers = config.status_urls;
  info.host_descriptions = config.host_descriptions;
  info.start_time = start_time_;
  info.now = env_->NowSeconds();
  if (bridge) info.bridge = bridge->Stats(info.now);
  // Ready is judged on the very states being rendered: asking the scheduler
  // again could say "done" for a result that arrived after the copy, and
  // publish a ready snapshot that lacks it.
  bool ready = AllHaveResults(checks, collectors);
  info.process = ReadProcessStats();
  std::lock_guard<std::mutex> lock(state_mu_);
  // Ready stays ready across reloads: the first round is about startup.
  ever_ready_ = ever_ready_ || ready;
  info.ready = ever_ready_;
  snapshot_ = BuildSnapshot(checks, collectors, info);
}

void App::PublisherLoop() {
  std::unique_lock<std::mutex> lock(pub_mu_);
  while (!stopping_) {
    pub_cv_.wait_for(lock, kRefreshEvery, [&] { return dirty_ || stopping_; });
    if (stopping_) break;
    dirty_ = false;
    lock.unlock();
    Publish();
    // Coalesce bursts of results into one snapshot.
    std::this_thread::sleep_for(kMinPublishGap);
    lock.lock();
  }
}

HttpRoute App::Counted(const char* method, const std::string& path,
                       std::function<HttpResponse(const HttpRequest&)> handler, bool quick) {
  HttpRoute route{method, path, [this, path, handler = std::move(handler)](const HttpRequest& req) {
                    HttpResponse r = handler(req);
                    requests_.Count(path, r.status);
                    return r;
                  }};
  route.quick = quick;
  return route;
}

std::vector<HttpRoute> App::Routes(size_t notification_limit) {
  std::vector<HttpRoute> routes;
  // Quick routes only copy the published snapshot (or a few counters): they
  // answer on the server's I/O threads even while every worker is busy.
  routes.push_back(Counted("GET", options_.telemetry_path, [this](const HttpRequest&) {
    requests_.ScrapeStarted();
    auto snap = snapshot();
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = snap ? snap->metrics_text : "";
    // The request counters as of now, not as of the snapshot (up to 5 s
    // old): a handful of samples rendered from memory, no I/O.
    r.body += RenderText(requests_.Metrics().Families());
    requests_.ScrapeFinished();
    return r;
  }, true));
  routes.push_back(Counted("GET", "/-/healthy", [](const HttpRequest&) {
    return HttpResponse::Text(200, "Healthy\n");
  }, true));
  routes.push_back(Counted("GET", "/-/ready", [this](const HttpRequest&) {
    auto snap = snapshot();
    if (snap && snap->ready) return HttpResponse::Text(200, "Ready\n");
    return HttpResponse::Text(503, "Not ready: the first round of checks is still running\n");
  }, true));
  routes.push_back(Counted("POST", "/-/reload", [this](const HttpRequest&) {
    Status s = Reload();
    if (s.ok()) return HttpResponse::Text(200, "Reloaded\n");
    return HttpResponse::Text(500, "Reload failed, the previous config stays:\n" + s.message() +
                                       "\n");
  }));
  routes.push_back(Counted("GET", "/api/v1/status", [this](const HttpRequest&) {
    auto snap = snapshot();
    HttpResponse r;
    r.content_type = "application/json";
    r.body = snap ? snap->status_json : "{}";
    return r;
  }, true));
  // The bridge counts what it did with each notification
  // (joelclaw_bridge_notifications_total); the route's count adds what
  // never reached it: the 404 of an exporter without a bridge section,
  // where Alertmanager's notifications would otherwise vanish unseen.
  auto current_bridge = [this] {
    std::lock_guard<std::mutex> lock(state_mu_);
    return bridge_;
  };
  const char* kNoBridge =
      "Not Found: the Alertmanager bridge is not configured (the config has no bridge: "
      "section)\n";
  HttpRoute alertmanager =
      Counted("POST", "/alertmanager", [current_bridge, kNoBridge](const HttpRequest& req) {
        if (std::shared_ptr<Bridge> bridge = current_bridge()) {
          return bridge->HandleNotification(req);
        }
        return HttpResponse::Text(404, kNoBridge);
      });
  // Token, Content-Type and size are checked on the headers, before the
  // body is read; what they answer is counted like the handler's answers.
  alertmanager.precheck = [this, current_bridge,
                           kNoBridge](const HttpRequest& req) -> std::optional<HttpResponse> {
    std::shared_ptr<Bridge> bridge = current_bridge();
    std::optional<HttpResponse> r =
        bridge ? bridge->CheckHeaders(req) : HttpResponse::Text(404, kNoBridge);
    if (r) requests_.Count("/alertmanager", r->status);
    return r;
  };
  alertmanager.max_body_bytes = notification_limit;
  routes.push_back(std::move(alertmanager));
  routes.push_back(Counted("GET", "/", [this](const HttpRequest&) {
    auto snap = snapshot();
    HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.headers = StatusPageHeaders();
    r.body = RenderStatusPageForDocument(snap ? snap->status_json : "", options_.telemetry_path);
    return r;
  }, true));
  return routes;
}

}  // namespace joelclaw
