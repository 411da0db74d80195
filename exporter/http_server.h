#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "exporter/status.h"
#include "exporter/web_config.h"

class CivetServer;

namespace joelclaw {

struct HttpRequest {
  std::string method;
  std::string path;
  std::string query;
  std::string body;
  std::map<std::string, std::string> headers;  ///< Lower-cased names.
  std::string remote_addr;

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse Text(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
};

/// One route: exact path and method.
struct HttpRoute {
  std::string method;  ///< "GET" (also answers HEAD) or "POST".
  std::string path;
  std::function<HttpResponse(const HttpRequest&)> handler;
};

/// The exporter's HTTP(S) server on civetweb. Every route sits behind the
/// web config's basic auth; unknown paths get 404, wrong methods 405. Request
/// bodies over `max_body_bytes` get 413. Handlers run on civetweb's threads
/// and must be thread-safe. Stop() (or the destructor) waits for requests in
/// progress.
class HttpServer {
 public:
  struct Options {
    std::string listen_address = ":10042";  ///< "HOST:PORT", ":PORT", "[::1]:PORT".
    WebConfig web;
    size_t max_body_bytes = 8 << 20;
    int threads = 16;
  };

  /// Starts listening. Errors name the address when it cannot be bound.
  static Result<std::unique_ptr<HttpServer>> Start(Options options,
                                                   std::vector<HttpRoute> routes);
  ~HttpServer();
  void Stop();
  /// Replaces the basic auth users (name → bcrypt hash; empty = no auth) for
  /// requests that arrive from now on. Thread-safe.
  void SetBasicAuthUsers(std::map<std::string, std::string> users);
  /// The bound port (useful with port 0).
  int port() const { return port_; }

  struct Impl;  ///< Implementation detail (http_server.cc).

 private:
  HttpServer() = default;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

/// Turns "HOST:PORT" into civetweb's listening_ports syntax. Pure.
Result<std::string> CivetListenSpec(const std::string& address, bool tls);

}  // namespace joelclaw
