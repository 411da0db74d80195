#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "exporter/duration.h"
#include "exporter/status.h"
#include "exporter/web_config.h"

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

/// One route: exact path and method. Adding a route is one entry in the
/// list given to HttpServer::Start.
struct HttpRoute {
  std::string method;  ///< "GET" (also answers HEAD) or "POST".
  std::string path;
  std::function<HttpResponse(const HttpRequest&)> handler;
  /// Largest request body this route reads; 0 = Options::max_body_bytes.
  /// A larger Content-Length is answered 413 before any of the body is read.
  size_t max_body_bytes = 0;
  /// Looks at the request line and headers (HttpRequest::body is empty)
  /// before the body is read; an answer ends the request there (a missing
  /// token, a wrong Content-Type) and the body is never read. May be empty.
  /// Runs on an I/O thread: it must be quick and must not block.
  std::function<std::optional<HttpResponse>(const HttpRequest&)> precheck;
  /// The handler only copies in-memory state and never blocks (no file,
  /// network or lock held for long): it runs on the I/O thread, so it
  /// answers even while every worker thread is busy. /metrics is one.
  bool quick = false;
};

/// The exporter's HTTP(S) server, on Boost.Beast (event-driven: a held
/// connection costs a socket and a few KiB, not a thread). Every route sits
/// behind the web config's basic auth, checked on the headers before any
/// body is read; unknown paths get 404, wrong methods 405.
///
/// Limits (docs/configuration.md, "Web server limits"): at most
/// `max_connections` open connections; when a new one arrives at the cap,
/// the connection that has waited longest for its request headers is
/// closed to make room (so idle or slow clients cannot lock scrapes out),
/// and when none is waiting for headers, accepting pauses until one closes.
/// The TLS handshake plus the request headers must arrive within
/// `read_header_timeout` of the connection opening (or of the previous
/// response on a kept-alive connection); the body and the response each
/// within `request_timeout`. Headers are capped at 16 KiB, bodies per route.
/// bcrypt runs on one thread (a bounded queue; a full queue answers 503);
/// verified credentials are cached. Handlers run on `worker_threads`
/// threads (quick routes on the I/O threads) and must be thread-safe.
/// TLS: the certificate, key and client CA files are re-read when they
/// change (checked at most once a second, on new connections); a broken
/// new set is logged and the previous one stays in use.
///
/// Stop() (or the destructor) closes every connection and waits for
/// handlers in progress. The class is thread-safe.
class HttpServer {
 public:
  struct Options {
    std::string listen_address = ":10042";  ///< "HOST:PORT", ":PORT", "[::1]:PORT".
    WebConfig web;
    size_t max_body_bytes = 64 << 10;  ///< Default per-route body limit.
    int max_connections = 2048;
    Duration read_header_timeout{10000};
    Duration request_timeout{30000};
    int io_threads = 2;
    int worker_threads = 4;
    /// Authentications waiting for the bcrypt thread beyond which new ones
    /// are answered 503 at once.
    int max_queued_auth = 64;
  };

  /// Starts listening. Errors name the address when it cannot be bound, or
  /// the file when TLS cannot be set up.
  static Result<std::unique_ptr<HttpServer>> Start(Options options,
                                                   std::vector<HttpRoute> routes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  void Stop();
  /// Replaces the basic auth users (name → bcrypt hash; empty = no auth) for
  /// requests that arrive from now on. Thread-safe.
  void SetBasicAuthUsers(std::map<std::string, std::string> users);
  /// Takes a reloaded web config: users, extra headers and (when the server
  /// serves TLS) certificates and client-certificate policy, for connections
  /// that arrive from now on. Turning TLS on or off needs a restart: that
  /// is an error here and nothing changes. Thread-safe.
  Status UpdateWebConfig(const WebConfig& web);
  /// The bound port (useful with port 0).
  int port() const { return port_; }

  /// Counters for tests and the bench: connections open now, closed by a
  /// timeout (headers, body or response), closed to make room at the cap.
  struct Stats {
    int open_connections = 0;
    uint64_t timeouts = 0;
    uint64_t evicted = 0;
  };
  Stats GetStats() const;

  struct Impl;  ///< Implementation detail (http_server.cc).

 private:
  HttpServer() = default;
  std::shared_ptr<Impl> impl_;
  int port_ = 0;
};

/// Splits "HOST:PORT", ":PORT" or "[V6]:PORT" into a host (empty = every
/// address) and a port. Pure.
Result<std::pair<std::string, int>> ParseListenAddress(const std::string& address);

}  // namespace joelclaw
