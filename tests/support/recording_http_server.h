#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace joelclaw::testing {

/// A small HTTP/1.1 server on 127.0.0.1 that records every request and
/// answers through a handler: the test stand-in for webhook receivers
/// (Inngest's event API, a phone push service). Reads bodies by
/// Content-Length, answers "100 Continue" to `Expect`, closes each
/// connection after its answer. Thread-safe.
class RecordingHttpServer {
 public:
  struct Request {
    std::string method;
    std::string target;  ///< Path and query as sent.
    std::map<std::string, std::string> headers;  ///< Lower-cased names.
    std::string body;
  };
  struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
  };
  using Handler = std::function<Reply(const Request&)>;

  /// Listens on `port` (0 = the kernel picks; SO_REUSEADDR, so a port of a
  /// stopped server can be taken again). Check ok().
  explicit RecordingHttpServer(Handler handler, int port = 0);
  /// Stops and joins every thread.
  ~RecordingHttpServer();
  RecordingHttpServer(const RecordingHttpServer&) = delete;
  RecordingHttpServer& operator=(const RecordingHttpServer&) = delete;

  bool ok() const { return listen_fd_ >= 0; }
  int port() const { return port_; }
  std::string Url(const std::string& path) const;
  /// Every request received so far, in arrival order.
  std::vector<Request> Requests() const;
  /// Stops listening and closes connections; idempotent.
  void Stop();

 private:
  void AcceptLoop();
  void Serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Request> requests_;  // GUARDED_BY(mu_)
  std::vector<int> open_fds_;      // GUARDED_BY(mu_)
  std::vector<std::thread> workers_;  // GUARDED_BY(mu_)
  std::thread acceptor_;
};

}  // namespace joelclaw::testing
