#include "tests/support/loopback_http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "exporter/text_parse.h"
#include "tests/support/test_util.h"

namespace joelclaw::testing {
namespace {

constexpr size_t kHugeBytes = 100u << 20;

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }

std::string ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 302: return "Found";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

std::string Response(int status, const std::string& body,
                     const std::string& content_type = "text/plain",
                     const std::string& extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) + " " + ReasonPhrase(status) +
         "\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n" + extra_headers + "\r\n" + body;
}

// What kube-apiserver answers a request without valid credentials.
constexpr char kUnauthorizedStatus[] =
    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
    "\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}";

bool HasPrefixPath(const std::string& path, const std::string& base) {
  return path == base || path.rfind(base + "/", 0) == 0;
}

}  // namespace

// Reads and writes go through here so that every path of the server works
// the same over TLS. On EAGAIN `want` says which readiness to wait for (a
// TLS read may need the socket writable, and the other way round).
struct LoopbackHttpServer::Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  short want = POLLIN;
  std::string client_cn;  // Of a verified client certificate.

  ssize_t Recv(char* buf, size_t n) {
    if (ssl == nullptr) {
      ssize_t got = recv(fd, buf, n, 0);
      if (got < 0) want = POLLIN;
      return got;
    }
    return Finish(SSL_read(ssl, buf, static_cast<int>(n)));
  }
  ssize_t Send(const char* buf, size_t n) {
    if (ssl == nullptr) {
      ssize_t sent = send(fd, buf, n, MSG_NOSIGNAL);
      if (sent < 0) want = POLLOUT;
      return sent;
    }
    return Finish(SSL_write(ssl, buf, static_cast<int>(n)));
  }
  ssize_t Finish(int r) {
    if (r > 0) return r;
    switch (SSL_get_error(ssl, r)) {
      case SSL_ERROR_WANT_READ:
        want = POLLIN;
        errno = EAGAIN;
        return -1;
      case SSL_ERROR_WANT_WRITE:
        want = POLLOUT;
        errno = EAGAIN;
        return -1;
      case SSL_ERROR_ZERO_RETURN:
        return 0;
      default:
        ERR_clear_error();
        errno = ECONNRESET;
        return -1;
    }
  }
};

LoopbackHttpServer::LoopbackHttpServer(std::optional<LoopbackTls> tls) {
  if (tls) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr ||
        SSL_CTX_use_certificate_chain_file(ctx, tls->cert_path.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, tls->key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
      if (ctx != nullptr) SSL_CTX_free(ctx);
      return;
    }
    if (!tls->client_ca_path.empty()) {
      if (SSL_CTX_load_verify_locations(ctx, tls->client_ca_path.c_str(), nullptr) != 1) {
        SSL_CTX_free(ctx);
        return;
      }
      SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(tls->client_ca_path.c_str()));
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      // Clients resume sessions on their next connection; with client
      // verification OpenSSL refuses that ("internal error" alert) unless
      // sessions have a context.
      static constexpr unsigned char kSessionContext[] = "joelclaw-loopback";
      SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    ssl_ctx_ = ctx;
  }
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || wake_fd_ < 0) {
    if (fd >= 0) close(fd);
    return;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 64) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return;
  }
  SetNonBlocking(fd);
  port_ = ntohs(addr.sin_port);
  listen_fd_ = fd;
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

LoopbackHttpServer::~LoopbackHttpServer() {
  Stop();
  if (listen_fd_ >= 0) close(listen_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  if (ssl_ctx_ != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
}

std::string LoopbackHttpServer::Url(const std::string& path) const {
  return std::string(ssl_ctx_ != nullptr ? "https" : "http") + "://127.0.0.1:" +
         std::to_string(port_) + path;
}

void LoopbackHttpServer::SetRoute(const std::string& path, int status, const std::string& body) {
  std::lock_guard<std::mutex> lock(mu_);
  routes_[path] = Route{status, body};
}

void LoopbackHttpServer::RequireAuth(const std::string& bearer_token) {
  std::lock_guard<std::mutex> lock(mu_);
  required_token_ = bearer_token;
}

std::string LoopbackHttpServer::LastClientCertName(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = last_cert_.find(path);
  return it == last_cert_.end() ? "" : it->second;
}

void LoopbackHttpServer::SetJsonBody(const std::string& body) {
  std::lock_guard<std::mutex> lock(mu_);
  json_body_ = body;
}

void LoopbackHttpServer::SetSlowDelay(std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock(mu_);
  slow_delay_ = delay;
}

int LoopbackHttpServer::RequestCount(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counts_.find(path);
  return it == counts_.end() ? 0 : it->second;
}

std::string LoopbackHttpServer::LastAuthorization(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = last_auth_.find(path);
  return it == last_auth_.end() ? "" : it->second;
}

void LoopbackHttpServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    workers.swap(workers_);
  }
  for (std::thread& t : workers) t.join();
}

void LoopbackHttpServer::AcceptLoop() {
  while (!stopping_.load()) {
    pollfd pfds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = poll(pfds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (pfds[1].revents & POLLIN) != 0) return;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

bool LoopbackHttpServer::WaitIo(Conn& c, short events) {
  while (true) {
    pollfd pfds[2] = {{c.fd, events, 0}, {wake_fd_, POLLIN, 0}};
    int n = poll(pfds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (pfds[1].revents & POLLIN) != 0) return false;
    // POLLERR/POLLHUP: the next read or write reports it.
    return true;
  }
}

bool LoopbackHttpServer::Handshake(Conn& c) {
  c.ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
  if (c.ssl == nullptr || SSL_set_fd(c.ssl, c.fd) != 1) return false;
  while (true) {
    const int r = SSL_accept(c.ssl);
    if (r == 1) break;
    const int err = SSL_get_error(c.ssl, r);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      ERR_clear_error();
      return false;
    }
    if (!WaitIo(c, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT)) return false;
  }
  if (X509* cert = SSL_get1_peer_certificate(c.ssl); cert != nullptr) {
    char cn[256] = {0};
    if (SSL_get_verify_result(c.ssl) == X509_V_OK &&
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
                                  sizeof(cn)) > 0) {
      c.client_cn = cn;
    }
    X509_free(cert);
  }
  return true;
}

bool LoopbackHttpServer::ReadRequest(Conn& c, Request* req) {
  std::string data;
  size_t header_end = std::string::npos;
  char buf[4096];
  size_t need = 0;  // total bytes needed once the headers are known
  while (true) {
    if (header_end != std::string::npos && data.size() >= need) break;
    // Read first, wait after: TLS may hold decrypted bytes that poll()
    // cannot see.
    ssize_t got = c.Recv(buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno == EAGAIN) {
      if (!WaitIo(c, c.want)) return false;
      continue;
    }
    if (got <= 0) return false;
    data.append(buf, static_cast<size_t>(got));
    if (header_end == std::string::npos) {
      header_end = data.find("\r\n\r\n");
      if (header_end == std::string::npos) {
        if (data.size() > 65536) return false;
        continue;
      }
      // Request line and headers.
      size_t line_end = data.find("\r\n");
      std::string line = data.substr(0, line_end);
      size_t sp1 = line.find(' ');
      size_t sp2 = line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
      if (sp1 == std::string::npos || sp2 == std::string::npos) return false;
      req->method = line.substr(0, sp1);
      req->path = line.substr(sp1 + 1, sp2 - sp1 - 1);
      size_t q = req->path.find('?');
      if (q != std::string::npos) req->path.resize(q);
      size_t pos = line_end + 2;
      while (pos < header_end) {
        size_t eol = data.find("\r\n", pos);
        std::string h = data.substr(pos, eol - pos);
        pos = eol + 2;
        size_t colon = h.find(':');
        if (colon == std::string::npos) continue;
        std::string value = h.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        req->headers[AsciiLower(h.substr(0, colon))] = value;
      }
      size_t body = 0;
      if (auto it = req->headers.find("content-length"); it != req->headers.end()) {
        body = std::strtoull(it->second.c_str(), nullptr, 10);
      }
      need = header_end + 4 + body;
    }
  }
  return true;
}

bool LoopbackHttpServer::SendAll(Conn& c, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    if (stopping_.load()) return false;
    ssize_t n = c.Send(data.data() + off, data.size() - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!WaitIo(c, c.want)) return false;
      continue;
    }
    return false;
  }
  return true;
}

bool LoopbackHttpServer::SleepFor(std::chrono::milliseconds d) {
  pollfd pfd = {wake_fd_, POLLIN, 0};
  auto until = std::chrono::steady_clock::now() + d;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return true;
    int n = poll(&pfd, 1, static_cast<int>(left.count()));
    if (n > 0) return false;
  }
}

void LoopbackHttpServer::WaitForClose(Conn& c) {
  char buf[4096];
  while (true) {
    ssize_t got = c.Recv(buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno == EAGAIN) {
      if (!WaitIo(c, c.want)) return;
      continue;
    }
    if (got <= 0) return;
  }
}

void LoopbackHttpServer::Stream(Conn& c, bool chunked) {
  std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n";
  head += chunked ? "Transfer-Encoding: chunked\r\n"
                  : "Content-Length: " + std::to_string(kHugeBytes) + "\r\n";
  head += "Connection: close\r\n\r\n";
  if (!SendAll(c, head)) return;
  const std::string zeros(64 * 1024, '0');
  const std::string piece = chunked ? "10000\r\n" + zeros + "\r\n" : zeros;
  size_t sent = 0;
  while (chunked || sent < kHugeBytes) {
    if (!SendAll(c, piece)) return;
    sent += zeros.size();
    streamed_bytes_ += zeros.size();
  }
}

void LoopbackHttpServer::Serve(int fd) {
  ++open_connections_;
  Conn conn;
  conn.fd = fd;
  Request req;
  if ((ssl_ctx_ == nullptr || Handshake(conn)) && ReadRequest(conn, &req)) {
    std::string json, auth;
    std::chrono::milliseconds slow{0};
    std::optional<Route> route;
    std::optional<std::string> required_token;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++counts_[req.path];
      auto it = req.headers.find("authorization");
      auth = it == req.headers.end() ? "" : it->second;
      last_auth_[req.path] = auth;
      last_cert_[req.path] = conn.client_cn;
      json = json_body_;
      slow = slow_delay_;
      if (auto r = routes_.find(req.path); r != routes_.end()) route = r->second;
      required_token = required_token_;
    }
    const std::string& p = req.path;
    if (route) {
      const bool authorized = !required_token || !conn.client_cn.empty() ||
                              auth == "Bearer " + *required_token;
      if (authorized) {
        SendAll(conn, Response(route->status, route->body, "application/json"));
      } else {
        SendAll(conn, Response(401, kUnauthorizedStatus, "application/json"));
      }
    } else if (p == "/ok") {
      SendAll(conn, Response(200, "ok\n"));
    } else if (p == "/json") {
      SendAll(conn, Response(200, json, "application/json"));
    } else if (p.rfind("/status/", 0) == 0) {
      int status = std::atoi(p.c_str() + 8);
      if (status < 100 || status > 599) status = 500;
      SendAll(conn, Response(status, "status " + std::to_string(status) + "\n"));
    } else if (p == "/slow") {
      if (SleepFor(slow)) SendAll(conn, Response(200, "slow\n"));
    } else if (HasPrefixPath(p, "/hang")) {
      WaitForClose(conn);
    } else if (HasPrefixPath(p, "/huge")) {
      Stream(conn, /*chunked=*/false);
    } else if (p == "/huge-chunked") {
      Stream(conn, /*chunked=*/true);
    } else if (p == "/close-mid") {
      SendAll(conn,
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n"
              "Connection: close\r\n\r\n0123456789");
    } else if (p == "/redirect") {
      SendAll(conn, Response(302, "", "text/plain", "Location: /ok\r\n"));
    } else if (p == "/redirect-loop") {
      SendAll(conn, Response(302, "", "text/plain", "Location: /redirect-loop\r\n"));
    } else if (p == "/headers") {
      bool bearer = auth.rfind("Bearer ", 0) == 0;
      std::string escaped;
      for (char c : auth) {
        if (c == '"' || c == '\\') escaped += '\\';
        escaped += c;
      }
      SendAll(conn, Response(200,
                           std::string("{\"bearer\": ") + (bearer ? "true" : "false") +
                               ", \"authorization\": \"" + escaped + "\"}",
                           "application/json"));
    } else {
      SendAll(conn, Response(404, "not found\n"));
    }
  }
  if (conn.ssl != nullptr) {
    SSL_shutdown(conn.ssl);  // Best effort: the close_notify alert.
    SSL_free(conn.ssl);
  }
  shutdown(fd, SHUT_WR);
  close(fd);
  --open_connections_;
}

BlackholeListener::BlackholeListener() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  // Backlog 0: Linux queues one finished handshake, then drops further SYNs
  // while nobody accepts.
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 0) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return;
  }
  listen_fd_ = fd;
  port_ = ntohs(addr.sin_port);
  for (int i = 0; i < 16 && !saturated_; ++i) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c < 0) break;
    fillers_.push_back(c);
    if (connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) continue;
    if (errno != EINPROGRESS) break;
    pollfd pfd = {c, POLLOUT, 0};
    // A loopback handshake completes in microseconds; 200 ms without one
    // means the SYN was dropped.
    if (poll(&pfd, 1, 200) == 0) saturated_ = true;
  }
}

BlackholeListener::~BlackholeListener() {
  for (int c : fillers_) close(c);
  if (listen_fd_ >= 0) close(listen_fd_);
}

int ClosedPort() { return FreePort(); }

}  // namespace joelclaw::testing
