#include "tests/support/recording_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "exporter/text_parse.h"
#include "tests/support/test_util.h"

namespace joelclaw::testing {
namespace {

std::string Trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  size_t b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

const char* StatusText(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

}  // namespace

RecordingHttpServer::RecordingHttpServer(Handler handler, int port)
    : handler_(std::move(handler)) {
  listen_fd_ = ListenLoopback(port, &port_);
  if (listen_fd_ < 0) return;
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

RecordingHttpServer::~RecordingHttpServer() { Stop(); }

std::string RecordingHttpServer::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<RecordingHttpServer::Request> RecordingHttpServer::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

void RecordingHttpServer::Stop() {
  if (stop_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
    workers.swap(workers_);
  }
  for (std::thread& t : workers) t.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

void RecordingHttpServer::AcceptLoop() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    open_fds_.push_back(fd);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
  // Stop listening at once, so clients see "refused" like a dead service.
  shutdown(listen_fd_, SHUT_RDWR);
}

void RecordingHttpServer::Serve(int fd) {
  std::string buf;
  char chunk[8192];
  // Reads until `pred(buf)` or the peer/Stop ends the connection.
  auto read_until = [&](const std::function<bool()>& done) {
    while (!done()) {
      if (stop_.load()) return false;
      pollfd p{fd, POLLIN, 0};
      int r = poll(&p, 1, 50);
      if (r == 0) continue;
      ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) return false;
      buf.append(chunk, static_cast<size_t>(n));
    }
    return true;
  };
  Request req;
  size_t header_end = std::string::npos;
  bool ok = read_until([&] { return (header_end = buf.find("\r\n\r\n")) != std::string::npos; });
  if (ok) {
    const std::string head = buf.substr(0, header_end);
    size_t line_end = head.find("\r\n");
    const std::string request_line = head.substr(0, line_end);
    size_t sp1 = request_line.find(' ');
    size_t sp2 = request_line.find(' ', sp1 + 1);
    req.method = request_line.substr(0, sp1);
    req.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    for (size_t at = line_end; at != std::string::npos && at < head.size();) {
      size_t next = head.find("\r\n", at + 2);
      const std::string line = head.substr(at + 2, next == std::string::npos ? std::string::npos
                                                                             : next - at - 2);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        req.headers[AsciiLower(Trim(line.substr(0, colon)))] =
            Trim(line.substr(colon + 1));
      }
      at = next;
    }
    size_t length = 0;
    if (auto it = req.headers.find("content-length"); it != req.headers.end()) {
      length = std::stoul(it->second);
    }
    if (AsciiLower(req.headers["expect"]) == "100-continue") {
      SendAll(fd, "HTTP/1.1 100 Continue\r\n\r\n");
    }
    const size_t body_start = header_end + 4;
    ok = read_until([&] { return buf.size() >= body_start + length; });
    if (ok) {
      req.body = buf.substr(body_start, length);
      Reply reply = handler_(req);
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(req);
      }
      SendAll(fd, "HTTP/1.1 " + std::to_string(reply.status) + " " + StatusText(reply.status) +
                      "\r\nContent-Type: " + reply.content_type +
                      "\r\nContent-Length: " + std::to_string(reply.body.size()) +
                      "\r\nConnection: close\r\n\r\n" + reply.body);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  close(fd);
}

}  // namespace joelclaw::testing
