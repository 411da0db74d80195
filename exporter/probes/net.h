#pragma once

#include <curl/curl.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "exporter/probe.h"

namespace joelclaw {

/// Maps a libcurl error to the fixed failure reasons. Pure.
FailureReason ReasonForCurlCode(CURLcode code);

/// Installs the deadline/cancel plumbing shared by every curl-based probe:
/// connect and total timeouts from ctx.Remaining(), no signals (thread
/// safety), no proxies from the environment, and a progress callback that
/// aborts the transfer when ctx is cancelled. `ctx` must outlive the perform.
void ApplyProbeDeadline(CURL* curl, const ProbeContext& ctx);

/// TLS settings for a connection.
struct TlsOptions {
  bool enabled = false;
  std::string server_name;   ///< SNI and verification name; "" = the host.
  std::string ca_file;       ///< "" = system roots.
  bool insecure_skip_verify = false;
};

/// A TCP connection, optionally TLS, opened with libcurl's CONNECT_ONLY mode
/// so name resolution (threaded resolver), connect and handshake all honour
/// the probe's deadline. Owned by one probe run; not thread-safe.
class Connection {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Connects to host:port. On failure returns nullptr and sets *failure.
  static std::unique_ptr<Connection> Dial(const std::string& host, int port,
                                          const TlsOptions& tls,
                                          const ProbeContext& ctx,
                                          ProbeResult* failure);

  /// Sends all of `data` before the deadline.
  bool Send(std::string_view data, const ProbeContext& ctx, ProbeResult* failure);

  /// Appends received bytes to *buffer until `done(*buffer)` is true. Fails
  /// on EOF, more than `max_bytes`, the deadline or a cancel.
  bool ReadUntil(const std::function<bool(const std::string&)>& done,
                 size_t max_bytes, const ProbeContext& ctx, std::string* buffer,
                 ProbeResult* failure);

  /// Leaf certificate's notAfter (Unix seconds) for TLS connections made by
  /// the OpenSSL backend; < 0 when unknown.
  double PeerCertNotAfter() const;

 private:
  Connection() = default;
  bool Wait(bool for_read, const ProbeContext& ctx, ProbeResult* failure);

  CURL* curl_ = nullptr;
  curl_socket_t socket_ = CURL_SOCKET_BAD;
};

/// "[::1]" for IPv6 literals, the host unchanged otherwise.
std::string BracketHost(const std::string& host);

}  // namespace joelclaw
