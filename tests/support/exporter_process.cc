#include "tests/support/exporter_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <stdexcept>

#include "nlohmann/json.hpp"

namespace joelclaw::testing {

std::string Substitute(std::string text, const std::map<std::string, std::string>& vars) {
  for (const auto& [key, value] : vars) {
    const std::string placeholder = "${" + key + "}";
    for (size_t at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size())) {
      text.replace(at, placeholder.size(), value);
    }
  }
  return text;
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

RefusingPort::RefusingPort() {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("RefusingPort: cannot bind");
  }
  port_ = ntohs(addr.sin_port);
}

RefusingPort::~RefusingPort() { close(fd_); }

bool ExporterProcess::Start(int port) {
  const int attempts = port > 0 ? 1 : 3;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    port_ = port > 0 ? port : FreePort();
    log_path_ = dir_.File("exporter-" + std::to_string(port_) + "-" + std::to_string(attempt) +
                          ".log");
    std::vector<std::string> argv = {ExporterBinary(),
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                     "--log.level=debug"};
    argv.insert(argv.end(), args_.begin(), args_.end());
    process_ = std::make_unique<Subprocess>(argv, log_path_, env_);
    if (!process_->started()) return false;
    bool up = WaitFor([&] { return !process_->Running() || PortOpen(port_); },
                      std::chrono::seconds(10));
    if (up && process_->Running()) return true;
    if (Log().find("cannot listen") == std::string::npos) return false;
  }
  return false;
}

bool ExporterProcess::WaitReady(std::chrono::milliseconds timeout) const {
  return WaitFor([&] { return Get("/-/ready").status == 200; }, timeout);
}

PrometheusProcess StartPrometheus(const TempDir& dir, int exporter_port, const std::string& job,
                                  const std::string& rule_glob, int alertmanager_port) {
  std::string config =
      "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n";
  if (!rule_glob.empty()) config += "rule_files: [\"" + rule_glob + "\"]\n";
  if (alertmanager_port > 0) {
    config += "alerting:\n  alertmanagers: [{static_configs: [{targets: [\"127.0.0.1:" +
              std::to_string(alertmanager_port) + "\"]}]}]\n";
  }
  config += "scrape_configs:\n  - job_name: " + job +
            "\n    static_configs: [{targets: [\"127.0.0.1:" + std::to_string(exporter_port) +
            "\"]}]\n";
  WriteFileOrDie(dir.File("prometheus.yml"), config);
  return StartPrometheusWithConfig(dir, dir.File("prometheus.yml"));
}

PrometheusProcess StartPrometheusWithConfig(const TempDir& dir, const std::string& config_path) {
  PrometheusProcess prom;
  prom.port = FreePort();
  prom.process = std::make_unique<Subprocess>(
      std::vector<std::string>{FindProgram("prometheus"),
                               "--config.file=" + config_path,
                               "--storage.tsdb.path=" + dir.File("tsdb"),
                               "--web.listen-address=127.0.0.1:" + std::to_string(prom.port)},
      dir.File("prometheus.log"));
  return prom;
}

std::optional<double> PromQuery(int port, const std::string& query) {
  HttpReply r = HttpGet("http://127.0.0.1:" + std::to_string(port) +
                        "/api/v1/query?query=" + UrlEncode(query));
  if (r.status != 200) return std::nullopt;
  nlohmann::json doc = nlohmann::json::parse(r.body, nullptr, false);
  if (doc.is_discarded() || doc["status"] != "success" || !doc["data"]["result"].is_array() ||
      doc["data"]["result"].empty()) {
    return std::nullopt;
  }
  return std::stod(doc["data"]["result"][0]["value"][1].get<std::string>());
}

}  // namespace joelclaw::testing
