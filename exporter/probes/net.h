#pragma once

#include <curl/curl.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "exporter/probe.h"

namespace joelclaw {

/// Maps a libcurl error to the fixed failure reasons. `os_errno` is
/// CURLINFO_OS_ERRNO (0 when unknown): CURLE_COULDNT_CONNECT is kRefused only
/// for ECONNREFUSED (or unknown), kConnection for unreachable networks and
/// the like. Pure.
FailureReason ReasonForCurlCode(CURLcode code, long os_errno = 0);

/// ReasonForCurlCode with the OS error that `curl` recorded.
FailureReason ReasonForCurlResult(CURL* curl, CURLcode code);

/// Installs the deadline/cancel plumbing shared by every curl-based probe:
/// connect and total timeouts from ctx.Remaining(), no signals (thread
/// safety), no proxies from the environment, and a progress callback that
/// aborts the transfer when ctx is cancelled. `ctx` must outlive the perform.
void ApplyProbeDeadline(CURL* curl, const ProbeContext& ctx);

/// Drives the transfer set up on `easy`, already added to `multi`, to its
/// end like curl_easy_perform, but wakes at least every 100 ms to honour
/// ctx: curl_easy_perform sleeps up to a second between progress callbacks
/// while a peer is silent, far past the cancel contract. Returns the
/// transfer's result, CURLE_ABORTED_BY_CALLBACK once ctx is cancelled, or
/// CURLE_OPERATION_TIMEDOUT if curl has not timed out by itself shortly
/// after ctx.deadline. `easy` stays added to `multi`.
CURLcode RunTransfer(CURLM* multi, CURL* easy, const ProbeContext& ctx);

/// curl_easy_perform on a private multi handle via RunTransfer. For
/// transfers whose connection is not used afterwards.
CURLcode PerformWithDeadline(CURL* easy, const ProbeContext& ctx);

/// A response body collected by libcurl up to a cap. Use WriteCappedBody as
/// CURLOPT_WRITEFUNCTION with a BodySink* as CURLOPT_WRITEDATA: past `limit`
/// bytes it sets `overflow` and aborts the transfer (CURLE_WRITE_ERROR), so a
/// huge body costs at most the cap. Owned by one transfer; not thread-safe.
struct BodySink {
  std::string data;
  size_t limit = 0;
  bool overflow = false;
};
size_t WriteCappedBody(char* ptr, size_t size, size_t nmemb, void* userdata);

/// Reads a bearer token file through `env`: trailing whitespace dropped; an
/// empty file or one with more than one line is an error (an empty token
/// would silently send no Authorization at all, and a line break would end
/// the header and start another). Re-read on every run, so rotated tokens
/// (Kubernetes service accounts) are picked up.
Result<std::string> ReadBearerToken(Env* env, const std::string& path);

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
  /// on EOF, more than `max_bytes`, the deadline or a cancel. A peer that
  /// sent bytes in this call but no complete answer before closing, the
  /// deadline or `max_bytes` fails with kProtocol: it spoke, just not the
  /// expected protocol. Silence until the deadline is kTimeout, EOF before
  /// any byte kConnection.
  bool ReadUntil(const std::function<bool(const std::string&)>& done,
                 size_t max_bytes, const ProbeContext& ctx, std::string* buffer,
                 ProbeResult* failure);

  /// Leaf certificate's notAfter (Unix seconds) for TLS connections, from
  /// the certificate chain curl collected during the handshake; < 0 when
  /// unknown (plain TCP, or a TLS backend without certinfo).
  double PeerCertNotAfter() const;

 private:
  Connection() = default;
  bool Wait(bool for_read, const ProbeContext& ctx, ProbeResult* failure);

  CURL* curl_ = nullptr;
  CURLM* multi_ = nullptr;  // Holds curl_ (and so its connection) while open.
  curl_socket_t socket_ = CURL_SOCKET_BAD;
};

/// Parses the "Expire date" that CURLINFO_CERTINFO reports, in the OpenSSL
/// backend's form ("Dec  3 17:32:57 2026 GMT") or the form of curl's own
/// ASN.1 decoder used by the other backends ("2026-12-03 17:32:57 GMT"), to
/// Unix seconds; < 0 when it is neither. Pure.
double ParseCertInfoTime(const std::string& text);

/// The first line of what a peer sent, for a failure message: at most
/// `max_chars` characters, bytes outside printable ASCII shown as \xNN,
/// "..." appended when cut. Pure.
std::string PeerText(std::string_view raw, size_t max_chars = 80);

/// "[::1]" for IPv6 literals, the host unchanged otherwise.
std::string BracketHost(const std::string& host);

/// Restricts `curl` to http and https, for the request and any redirect.
void AllowOnlyHttp(CURL* curl);

}  // namespace joelclaw
