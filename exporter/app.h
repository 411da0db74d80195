#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "exporter/bridge/bridge.h"
#include "exporter/config.h"
#include "exporter/http_server.h"
#include "exporter/request_metrics.h"
#include "exporter/scheduler.h"
#include "exporter/snapshot.h"

namespace joelclaw {

/// The paths of the exporter's endpoints besides the telemetry path (which
/// is `--web.telemetry-path`, /metrics by default), in route order.
inline constexpr const char* kFixedPaths[] = {"/-/healthy",     "/-/ready",      "/-/reload",
                                              "/api/v1/status", "/alertmanager", "/"};

/// The serving exporter: config, scheduler, snapshot publisher and HTTP
/// server. Reload parses a fresh config and swaps it in only on success.
/// Thread-safe: Reload() may come from a signal-watching thread and from
/// HTTP handlers at once (reloads are serialized).
class App {
 public:
  struct Options {
    std::string config_file;        ///< "" = embedded default.
    std::string listen_address = ":10042";
    std::string telemetry_path = "/metrics";  ///< Not one of kFixedPaths.
    std::string web_config_file;    ///< "" = plain HTTP, no auth.
    size_t max_workers = 256;
    int max_connections = 2048;     ///< --web.max-connections.
    Duration read_header_timeout{10000};  ///< --web.read-header-timeout.
    Env* env = nullptr;             ///< nullptr = Env::Default().
  };

  explicit App(Options options);
  ~App();

  /// Loads the config and web config, starts checks and the server.
  Status Start();
  /// Re-reads the config file and the web config (its users, headers,
  /// certificates and client-certificate policy take effect for new
  /// connections; turning TLS on or off needs a restart). On error in
  /// either, the running config stays and the error is returned.
  Status Reload();
  /// Stops the server and every check; returns within about a second.
  void Stop();

  std::shared_ptr<const Snapshot> snapshot() const;
  int port() const { return server_ ? server_->port() : 0; }

 private:
  Result<std::shared_ptr<const Config>> LoadConfig() const;
  Scheduler::Options SchedulerOptions();
  /// The bridge for `config`: the running one when its spool directory
  /// stays (updated at swap), a freshly opened one, or nullptr without a
  /// bridge section. REQUIRES: reload_mu_ held.
  std::shared_ptr<Bridge> PrepareBridge(const Config& config);
  void SwapBridge(const Config& config, std::shared_ptr<Bridge> next);
  void MarkDirty();
  void PublisherLoop();
  void Publish();
  /// `notification_limit`: the body limit of /alertmanager (0 = none set).
  std::vector<HttpRoute> Routes(size_t notification_limit);
  /// `handler` answering at `path`, its answers counted in requests_.
  /// `quick`: see HttpRoute::quick.
  HttpRoute Counted(const char* method, const std::string& path,
                    std::function<HttpResponse(const HttpRequest&)> handler, bool quick = false);

  Options options_;
  Env* env_;
  RequestMetrics requests_;
  WebConfig web_;  // As started; GUARDED_BY(reload_mu_).
  double start_time_ = 0;

  std::mutex reload_mu_;  // Serializes Start/Reload/Stop.
  std::shared_ptr<Scheduler> scheduler_;  // GUARDED_BY(state_mu_) for readers.
  std::shared_ptr<Bridge> bridge_;        // GUARDED_BY(state_mu_) for readers.

  mutable std::mutex state_mu_;
  std::shared_ptr<const Snapshot> snapshot_;  // GUARDED_BY(state_mu_)
  bool last_reload_ok_ = true;               // GUARDED_BY(state_mu_)
  double last_reload_success_ = 0;           // GUARDED_BY(state_mu_)
  std::string last_reload_error_;            // GUARDED_BY(state_mu_)
  bool ever_ready_ = false;                  // GUARDED_BY(state_mu_)

  std::mutex pub_mu_;
  std::condition_variable pub_cv_;
  bool dirty_ = false;      // GUARDED_BY(pub_mu_)
  bool stopping_ = false;   // GUARDED_BY(pub_mu_)
  std::thread publisher_;

  std::unique_ptr<HttpServer> server_;
};

}  // namespace joelclaw
