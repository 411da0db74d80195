#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/test_util.h"

namespace joelclaw::testing {

/// "${KEY}" → value, for every key of `vars`.
std::string Substitute(std::string text, const std::map<std::string, std::string>& vars);

/// Percent-encodes everything but RFC 3986 unreserved characters.
std::string UrlEncode(const std::string& s);

/// A port on 127.0.0.1 that refuses connections for as long as this lives:
/// bound but never listening, so nothing else (the exporter under test
/// picking a "free" port, say) can take it meanwhile. Throws when it cannot
/// bind.
class RefusingPort {
 public:
  RefusingPort();
  ~RefusingPort();
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

/// The real joelclaw_exporter binary on 127.0.0.1 and a free port, logging
/// at debug level into `dir`. Start() retries on another port when a
/// parallel test took the first one. Not thread-safe; `dir` must outlive it.
class ExporterProcess {
 public:
  ExporterProcess(const TempDir& dir, std::vector<std::string> args, std::string scheme = "http")
      : dir_(dir), args_(std::move(args)), scheme_(std::move(scheme)) {}

  /// Environment variables added for the process (before Start()).
  void SetEnv(const std::string& name, const std::string& value) { env_[name] = value; }

  /// True once the port accepts connections; false if the binary exited.
  /// `port` > 0 asks for that port (one try), e.g. to restart in place.
  bool Start(int port = 0);

  std::string Url(const std::string& path) const {
    return scheme_ + "://127.0.0.1:" + std::to_string(port_) + path;
  }
  HttpReply Get(const std::string& path) const { return HttpGet(Url(path)); }
  std::string Metrics() const { return Get("/metrics").body; }
  bool WaitReady(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  int port() const { return port_; }
  Subprocess& process() { return *process_; }
  std::string Log() const { return process_ ? process_->Log() : ""; }

 private:
  const TempDir& dir_;
  std::vector<std::string> args_;
  std::string scheme_;
  int port_ = 0;
  std::string log_path_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<Subprocess> process_;
};

/// A real Prometheus on 127.0.0.1 and a free port, started by
/// StartPrometheus. The process is killed when this is destroyed.
struct PrometheusProcess {
  int port = 0;
  std::unique_ptr<Subprocess> process;
  std::string Log() const { return process ? process->Log() : ""; }
};

/// Starts `prometheus` (which must be installed) with a 1 s scrape and
/// evaluation interval, scraping 127.0.0.1:`exporter_port` as job `job`,
/// loading the rule files matching `rule_glob` ("" = none) and sending
/// alerts to Alertmanager on 127.0.0.1:`alertmanager_port` (0 = none).
/// Config, data and log live in `dir`. Does not wait for it to be up.
PrometheusProcess StartPrometheus(const TempDir& dir, int exporter_port,
                                  const std::string& job = "joelclaw-exporter",
                                  const std::string& rule_glob = "", int alertmanager_port = 0);

/// Starts `prometheus` with the config file `config_path` (e.g. one
/// WriteLoopbackMonitoring wrote); data and log live in `dir`.
PrometheusProcess StartPrometheusWithConfig(const TempDir& dir, const std::string& config_path);

/// Prometheus's instant query result for `query` on 127.0.0.1:port: the
/// first series' value, nullopt when the query failed or matched nothing.
std::optional<double> PromQuery(int port, const std::string& query);

}  // namespace joelclaw::testing
