#include "tests/support/scripted_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace joelclaw::testing {

ScriptedServer::ScriptedServer(Script script) : script_(std::move(script)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      listen(listen_fd_, 16) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("ScriptedServer: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

ScriptedServer::~ScriptedServer() {
  stop_ = true;
  thread_.join();
  for (const Peer& p : peers_) close(p.fd);
  close(listen_fd_);
}

std::string ScriptedServer::received() const {
  std::lock_guard<std::mutex> lock(mu_);
  return received_;
}

void ScriptedServer::Serve() {
  auto reply = [this](Peer& p) {
    p.replied = true;
    if (!script_.reply.empty()) {
      (void)!send(p.fd, script_.reply.data(), script_.reply.size(), MSG_NOSIGNAL);
    }
    if (script_.close_after) {
      close(p.fd);
      p.fd = -1;
    }
  };
  while (!stop_) {
    std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}};
    for (const Peer& p : peers_) fds.push_back({p.fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), 20) <= 0) continue;
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Peer& p = peers_[i - 1];
      char buf[4096];
      ssize_t n = recv(p.fd, buf, sizeof(buf), 0);
      if (n <= 0) {
        close(p.fd);
        p.fd = -1;
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        received_.append(buf, static_cast<size_t>(n));
      }
      if (!p.replied) reply(p);
    }
    std::erase_if(peers_, [](const Peer& p) { return p.fd < 0; });
    if (fds[0].revents & POLLIN) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      Peer p{fd, false};
      if (!script_.read_first) reply(p);
      if (p.fd >= 0) peers_.push_back(p);
    }
  }
}

}  // namespace joelclaw::testing
