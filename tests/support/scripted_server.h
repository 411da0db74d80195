#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace joelclaw::testing {

/// A misbehaving TCP peer on 127.0.0.1 and a kernel-chosen port, for probe
/// tests: for every connection it optionally waits for the client's first
/// bytes, sends a canned reply, then either closes or holds the connection
/// open, saying nothing more, until the server is destroyed. Serves from
/// one background thread; the accessors are thread-safe.
class ScriptedServer {
 public:
  struct Script {
    std::string reply;         ///< Sent once per connection; "" sends nothing.
    bool read_first = false;   ///< Wait for the client to send something first.
    bool close_after = false;  ///< Close after replying instead of holding.
  };

  explicit ScriptedServer(Script script);
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  /// Connections accepted so far.
  int connections() const { return connections_.load(); }
  /// Everything clients sent, all connections concatenated.
  std::string received() const;

 private:
  void Serve();

  Script script_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  std::string received_;  // GUARDED_BY(mu_)
  struct Peer {
    int fd;
    bool replied;
  };
  std::vector<Peer> peers_;  // Only the serving thread touches it.
  std::thread thread_;
};

}  // namespace joelclaw::testing
