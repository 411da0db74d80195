#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace joelclaw::testing {

/// TLS for a LoopbackHttpServer (PEM files, e.g. from MakeTestPki).
struct LoopbackTls {
  std::string cert_path;
  std::string key_path;
  /// When set, the server asks for a client certificate and verifies one
  /// that is sent against this CA (a bad one fails the handshake), but does
  /// not require one: the Kubernetes API server's rule.
  std::string client_ca_path;
};

/// A scripted HTTP/1.1 server on 127.0.0.1, on a port the kernel picks, for
/// probe tests. Every answer carries "Connection: close" and the connection
/// is closed after it. What it answers depends on the path (query ignored):
///
/// | path              | answer |
/// | ----------------- | ------ |
/// | /ok               | 200, body "ok\n" |
/// | /json             | 200, the body set with SetJsonBody(), application/json |
/// | /status/NNN       | status NNN, body "status NNN\n" |
/// | /slow             | 200 "slow\n" after SetSlowDelay() (default 3 s) |
/// | /hang, /hang/...  | reads the request, never answers, keeps the connection open |
/// | /huge, /huge/...  | Content-Length 100 MB, then streams zeros until the client leaves |
/// | /huge-chunked     | chunked, streams chunks of zeros without end |
/// | /close-mid        | Content-Length 1000, 10 bytes, then closes |
/// | /redirect         | 302 to /ok |
/// | /redirect-loop    | 302 to /redirect-loop |
/// | /headers          | 200, JSON {"bearer": true|false, "authorization": "<value>"} |
/// | anything else     | 404 |
///
/// Paths set with SetRoute() come first. With TLS (constructor argument) the
/// same paths are served over HTTPS.
///
/// Every wait (the /slow delay, /hang, a blocked send) ends at Stop(), so the
/// destructor returns promptly. The class is thread-safe.
class LoopbackHttpServer {
 public:
  /// Binds and starts serving, over TLS when `tls` is given; check ok() (a
  /// failure to bind or to load the certificate is not thrown).
  explicit LoopbackHttpServer(std::optional<LoopbackTls> tls = std::nullopt);
  /// Stops and joins every thread.
  ~LoopbackHttpServer();
  LoopbackHttpServer(const LoopbackHttpServer&) = delete;
  LoopbackHttpServer& operator=(const LoopbackHttpServer&) = delete;

  bool ok() const { return listen_fd_ >= 0; }
  int port() const { return port_; }
  /// "http://127.0.0.1:PORT" + path ("https://…" with TLS).
  std::string Url(const std::string& path) const;

  /// Answers GET `path` with `status` and `body` (application/json).
  void SetRoute(const std::string& path, int status, const std::string& body);
  /// From now on, paths set with SetRoute() answer 401 with a Kubernetes
  /// Status body unless the request carries "Authorization: Bearer <token>"
  /// or a client certificate the client CA verified.
  void RequireAuth(const std::string& bearer_token);
  /// The subject CN of the verified client certificate of the last request
  /// to `path`, "" when none was sent.
  std::string LastClientCertName(const std::string& path) const;

  void SetJsonBody(const std::string& body);
  void SetSlowDelay(std::chrono::milliseconds delay);

  /// Requests received per path (query stripped).
  int RequestCount(const std::string& path) const;
  /// The Authorization header of the last request to `path`, "" when none.
  std::string LastAuthorization(const std::string& path) const;
  /// Body bytes written by /huge and /huge-chunked so far, over all requests.
  size_t StreamedBytes() const { return streamed_bytes_.load(); }
  /// Connections currently open (being served).
  int OpenConnections() const { return open_connections_.load(); }

  /// Stops accepting, ends every wait, closes every connection and joins.
  /// Idempotent.
  void Stop();

 private:
  struct Request {
    std::string method, path;
    std::map<std::string, std::string> headers;  // lower-cased names
  };
  struct Conn;  // A socket, with its TLS session when serving TLS.
  struct Route {
    int status;
    std::string body;
  };

  void AcceptLoop();
  void Serve(int fd);
  bool ReadRequest(Conn& c, Request* req);
  bool SendAll(Conn& c, const std::string& data);
  /// Waits for `events` on the connection, or until Stop(); false when
  /// stopped or the socket failed.
  bool WaitIo(Conn& c, short events);
  bool Handshake(Conn& c);
  /// Waits up to `d`, or until Stop(); false when stopped.
  bool SleepFor(std::chrono::milliseconds d);
  /// Blocks until the peer closes the connection or Stop().
  void WaitForClose(Conn& c);
  void Stream(Conn& c, bool chunked);

  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd, readable once Stop() was called
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> streamed_bytes_{0};
  std::atomic<int> open_connections_{0};
  std::thread acceptor_;
  void* ssl_ctx_ = nullptr;  // SSL_CTX*, when serving TLS; set before the acceptor starts.

  mutable std::mutex mu_;
  std::vector<std::thread> workers_;  // GUARDED_BY(mu_)
  std::string json_body_ = "{}";      // GUARDED_BY(mu_)
  std::chrono::milliseconds slow_delay_{3000};  // GUARDED_BY(mu_)
  std::map<std::string, int> counts_;            // GUARDED_BY(mu_)
  std::map<std::string, std::string> last_auth_; // GUARDED_BY(mu_)
  std::map<std::string, Route> routes_;          // GUARDED_BY(mu_)
  std::optional<std::string> required_token_;    // GUARDED_BY(mu_)
  std::map<std::string, std::string> last_cert_; // GUARDED_BY(mu_)
};

/// A TCP listener on 127.0.0.1 that never accepts, with its accept queue
/// filled at construction, so that further connection attempts get no
/// SYN-ACK and hang like against a blackholed address.
class BlackholeListener {
 public:
  BlackholeListener();
  ~BlackholeListener();
  BlackholeListener(const BlackholeListener&) = delete;
  BlackholeListener& operator=(const BlackholeListener&) = delete;

  /// True when the queue was seen full: a new connect did not complete.
  bool ok() const { return saturated_; }
  int port() const { return port_; }

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  bool saturated_ = false;
  std::vector<int> fillers_;
};

/// A port on 127.0.0.1 that was bound and closed again, so that connecting to
/// it is refused (nothing listens there).
int ClosedPort();

/// A host name that fails to resolve without a packet leaving the machine:
/// its first label is 64 characters, over DNS's limit of 63, so the system
/// resolver rejects it before building a query (and .invalid, RFC 6761,
/// could never resolve anyway). A plain "nonexistent.invalid" would be sent
/// to the configured nameserver.
inline const std::string kUnresolvableName = std::string(64, 'a') + ".invalid";

}  // namespace joelclaw::testing
