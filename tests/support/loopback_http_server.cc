#include "tests/support/loopback_http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tests/support/test_util.h"

namespace joelclaw::testing {
namespace {

constexpr size_t kHugeBytes = 100u << 20;

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 302: return "Found";
    case 401: return "Unauthorized";
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

}  // namespace

LoopbackHttpServer::LoopbackHttpServer() {
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
}

std::string LoopbackHttpServer::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
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

bool LoopbackHttpServer::ReadRequest(int fd, Request* req) {
  std::string data;
  size_t header_end = std::string::npos;
  char buf[4096];
  size_t need = 0;  // total bytes needed once the headers are known
  while (true) {
    if (header_end != std::string::npos && data.size() >= need) break;
    pollfd pfds[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = poll(pfds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (pfds[1].revents & POLLIN) != 0) return false;
    ssize_t got = recv(fd, buf, sizeof(buf), 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
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
        req->headers[Lower(h.substr(0, colon))] = value;
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

bool LoopbackHttpServer::SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    if (stopping_.load()) return false;
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd pfds[2] = {{fd, POLLOUT, 0}, {wake_fd_, POLLIN, 0}};
      if (poll(pfds, 2, -1) < 0 && errno != EINTR) return false;
      if ((pfds[1].revents & POLLIN) != 0) return false;
      if ((pfds[0].revents & (POLLERR | POLLHUP)) != 0) return false;
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

void LoopbackHttpServer::WaitForClose(int fd) {
  char buf[4096];
  while (true) {
    pollfd pfds[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = poll(pfds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (pfds[1].revents & POLLIN) != 0) return;
    ssize_t got = recv(fd, buf, sizeof(buf), 0);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) return;
  }
}

void LoopbackHttpServer::Stream(int fd, bool chunked) {
  std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n";
  head += chunked ? "Transfer-Encoding: chunked\r\n"
                  : "Content-Length: " + std::to_string(kHugeBytes) + "\r\n";
  head += "Connection: close\r\n\r\n";
  if (!SendAll(fd, head)) return;
  const std::string zeros(64 * 1024, '0');
  const std::string piece = chunked ? "10000\r\n" + zeros + "\r\n" : zeros;
  size_t sent = 0;
  while (chunked || sent < kHugeBytes) {
    if (!SendAll(fd, piece)) return;
    sent += zeros.size();
    streamed_bytes_ += zeros.size();
  }
}

void LoopbackHttpServer::Serve(int fd) {
  ++open_connections_;
  Request req;
  if (ReadRequest(fd, &req)) {
    std::string json, auth;
    std::chrono::milliseconds slow{0};
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++counts_[req.path];
      auto it = req.headers.find("authorization");
      auth = it == req.headers.end() ? "" : it->second;
      last_auth_[req.path] = auth;
      json = json_body_;
      slow = slow_delay_;
    }
    const std::string& p = req.path;
    if (p == "/ok") {
      SendAll(fd, Response(200, "ok\n"));
    } else if (p == "/json") {
      SendAll(fd, Response(200, json, "application/json"));
    } else if (p.rfind("/status/", 0) == 0) {
      int status = std::atoi(p.c_str() + 8);
      if (status < 100 || status > 599) status = 500;
      SendAll(fd, Response(status, "status " + std::to_string(status) + "\n"));
    } else if (p == "/slow") {
      if (SleepFor(slow)) SendAll(fd, Response(200, "slow\n"));
    } else if (p == "/hang") {
      WaitForClose(fd);
    } else if (p == "/huge") {
      Stream(fd, /*chunked=*/false);
    } else if (p == "/huge-chunked") {
      Stream(fd, /*chunked=*/true);
    } else if (p == "/close-mid") {
      SendAll(fd,
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n"
              "Connection: close\r\n\r\n0123456789");
    } else if (p == "/redirect") {
      SendAll(fd, Response(302, "", "text/plain", "Location: /ok\r\n"));
    } else if (p == "/redirect-loop") {
      SendAll(fd, Response(302, "", "text/plain", "Location: /redirect-loop\r\n"));
    } else if (p == "/headers") {
      bool bearer = auth.rfind("Bearer ", 0) == 0;
      std::string escaped;
      for (char c : auth) {
        if (c == '"' || c == '\\') escaped += '\\';
        escaped += c;
      }
      SendAll(fd, Response(200,
                           std::string("{\"bearer\": ") + (bearer ? "true" : "false") +
                               ", \"authorization\": \"" + escaped + "\"}",
                           "application/json"));
    } else {
      SendAll(fd, Response(404, "not found\n"));
    }
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
