#include "exporter/probes/net.h"

#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

namespace joelclaw {
namespace {

// Aborts a transfer that is moving data when the probe is cancelled; a
// silent one is caught by RunTransfer's own wake-ups.
int AbortOnCancel(void* clientp, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* ctx = static_cast<const ProbeContext*>(clientp);
  return ctx->cancelled() ? 1 : 0;
}

// How long past the deadline RunTransfer waits for curl to report its own
// timeout before giving up on the transfer itself.
constexpr std::chrono::milliseconds kDeadlineGrace{200};

std::string CurlMessage(CURLcode code, const char* errbuf) {
  if (errbuf != nullptr && errbuf[0] != '\0') {
    std::string msg(errbuf);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return msg;
  }
  return curl_easy_strerror(code);
}

}  // namespace

FailureReason ReasonForCurlCode(CURLcode code, long os_errno) {
  switch (code) {
    case CURLE_OK:
      return FailureReason::kNone;
    case CURLE_OPERATION_TIMEDOUT:
      return FailureReason::kTimeout;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return FailureReason::kDns;
    case CURLE_COULDNT_CONNECT:
      // curl says "couldn't connect" for unreachable networks and hosts too;
      // only an actual refusal (RST) is "refused".
      return os_errno == 0 || os_errno == ECONNREFUSED ? FailureReason::kRefused
                                                       : FailureReason::kConnection;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
      return FailureReason::kTls;
    case CURLE_TOO_MANY_REDIRECTS:
      return FailureReason::kHttpStatus;
    case CURLE_FILESIZE_EXCEEDED:
      return FailureReason::kBodyTooLarge;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
      return FailureReason::kConnection;
    default:
      return FailureReason::kError;
  }
}

void ApplyProbeDeadline(CURL* curl, const ProbeContext& ctx) {
  long ms = static_cast<long>(std::max<int64_t>(1, ctx.Remaining().count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, AbortOnCancel);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &ctx);
#if LIBCURL_VERSION_NUM >= 0x075700
  // On a timeout or cancel during name resolution, leave the blocked
  // getaddrinfo thread behind instead of joining it: joining would hold the
  // probe until the system resolver gives up, long past the deadline.
  curl_easy_setopt(curl, CURLOPT_QUICK_EXIT, 1L);
#endif
}

FailureReason ReasonForCurlResult(CURL* curl, CURLcode code) {
  long os_errno = 0;
  if (code == CURLE_COULDNT_CONNECT) curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
  return ReasonForCurlCode(code, os_errno);
}

CURLcode RunTransfer(CURLM* multi, CURL* easy, const ProbeContext& ctx) {
  while (true) {
    int running = 0;
    CURLMcode mc = curl_multi_perform(multi, &running);
    if (mc != CURLM_OK) return CURLE_FAILED_INIT;
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) return msg->data.result;
    }
    if (running == 0) return CURLE_FAILED_INIT;  // Not added, or gone without a result.
    if (ctx.cancelled()) return CURLE_ABORTED_BY_CALLBACK;
    if (std::chrono::steady_clock::now() > ctx.deadline + kDeadlineGrace) {
      return CURLE_OPERATION_TIMEDOUT;
    }
    // curl_multi_poll returns early when curl's own timers (its timeouts)
    // are due or a socket is ready; 100 ms bounds how late a cancel is seen.
    mc = curl_multi_poll(multi, nullptr, 0, 100, nullptr);
    if (mc != CURLM_OK) return CURLE_FAILED_INIT;
  }
}

CURLcode PerformWithDeadline(CURL* easy, const ProbeContext& ctx) {
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) return CURLE_OUT_OF_MEMORY;
  CURLcode rc = CURLE_FAILED_INIT;
  if (curl_multi_add_handle(multi, easy) == CURLM_OK) {
    rc = RunTransfer(multi, easy, ctx);
    curl_multi_remove_handle(multi, easy);
  }
  curl_multi_cleanup(multi);
  return rc;
}

size_t WriteCappedBody(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* sink = static_cast<BodySink*>(userdata);
  size_t n = size * nmemb;
  if (sink->data.size() + n > sink->limit) {
    // Returning short aborts the transfer (CURLE_WRITE_ERROR).
    sink->overflow = true;
    return 0;
  }
  sink->data.append(ptr, n);
  return n;
}

Result<std::string> ReadBearerToken(Env* env, const std::string& path) {
  Result<std::string> t = env->ReadFile(path, 16384);
  if (!t.ok()) return t.status();
  std::string token = *t;
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  if (token.empty()) return Status::Error("bearer token file " + path + " is empty");
  if (token.find_first_of("\r\n") != std::string::npos) {
    return Status::Error("bearer token file " + path + " has more than one line");
  }
  return token;
}

double ParseCertInfoTime(const std::string& text) {
  size_t start = text.find_first_not_of(' ');
  if (start == std::string::npos) return -1;
  for (const char* format : {"%b %d %H:%M:%S %Y GMT", "%Y-%m-%d %H:%M:%S GMT"}) {
    struct tm tm = {};
    const char* end = strptime(text.c_str() + start, format, &tm);
    if (end != nullptr && *end == '\0') return static_cast<double>(timegm(&tm));
  }
  return -1;
}

std::string PeerText(std::string_view raw, size_t max_chars) {
  size_t end = raw.find_first_of("\r\n");
  std::string_view line = raw.substr(0, end);
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    if (out.size() >= max_chars) return out + "...";
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += {'\\', 'x', kHex[c >> 4], kHex[c & 0xf]};
    }
  }
  return out;
}

std::string BracketHost(const std::string& host) {
  if (host.find(':') != std::string::npos && host.front() != '[') return "[" + host + "]";
  return host;
}

Connection::~Connection() {
  if (multi_ != nullptr && curl_ != nullptr) curl_multi_remove_handle(multi_, curl_);
  if (curl_ != nullptr) curl_easy_cleanup(curl_);
  if (multi_ != nullptr) curl_multi_cleanup(multi_);
}

std::unique_ptr<Connection> Connection::Dial(const std::string& host, int port,
                                             const TlsOptions& tls,
                                             const ProbeContext& ctx,
                                             ProbeResult* failure) {
  std::unique_ptr<Connection> conn(new Connection());
  conn->curl_ = curl_easy_init();
  conn->multi_ = curl_multi_init();
  if (conn->curl_ == nullptr || conn->multi_ == nullptr) {
    *failure = ProbeResult::Fail(FailureReason::kError, "curl_easy_init failed");
    return nullptr;
  }
  CURL* c = conn->curl_;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  ApplyProbeDeadline(c, ctx);
  curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
  const std::string port_s = std::to_string(port);
  std::string url;
  struct curl_slist* connect_to = nullptr;
  if (tls.enabled) {
    const std::string name = tls.server_name.empty() ? host : tls.server_name;
    url = "https://" + BracketHost(name) + ":" + port_s + "/";
    if (!tls.server_name.empty()) {
      // Connect to the configured address but verify (and send SNI for) the
      // server name, like curl --connect-to.
      std::string rule = BracketHost(name) + ":" + port_s + ":" + BracketHost(host) + ":" + port_s;
      connect_to = curl_slist_append(nullptr, rule.c_str());
      curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to);
    }
    // CURLINFO_TLS_SSL_PTR is no way to the peer certificate here: libcurl
    // 7.88 detaches a CONNECT_ONLY connection from the handle after the
    // perform and hands back a NULL SSL*. The certinfo survives.
    curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
    if (!tls.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, tls.ca_file.c_str());
    if (tls.insecure_skip_verify) {
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  } else {
    url = "http://" + BracketHost(host) + ":" + port_s + "/";
  }
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  // The handle stays added to multi_ for the connection's life: a
  // CONNECT_ONLY connection made through a multi handle lives in that
  // handle's connection cache, where curl_easy_send/recv look it up.
  CURLcode rc = curl_multi_add_handle(conn->multi_, c) == CURLM_OK
                    ? RunTransfer(conn->multi_, c, ctx)
                    : CURLE_FAILED_INIT;
  // The progress callback points at ctx; nothing may call it after Dial.
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 1L);
  if (connect_to != nullptr) {
    curl_easy_setopt(c, CURLOPT_CONNECT_TO, nullptr);
    curl_slist_free_all(connect_to);
  }
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  if (rc != CURLE_OK) {
    *failure = ctx.cancelled()
                   ? ProbeResult::Fail(FailureReason::kError, "cancelled")
                   : ProbeResult::Fail(ReasonForCurlResult(c, rc), CurlMessage(rc, errbuf));
    return nullptr;
  }
  if (curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &conn->socket_) != CURLE_OK ||
      conn->socket_ == CURL_SOCKET_BAD) {
    *failure = ProbeResult::Fail(FailureReason::kError, "no socket after connect");
    return nullptr;
  }
  return conn;
}

bool Connection::Wait(bool for_read, const ProbeContext& ctx, ProbeResult* failure) {
  while (true) {
    if (ctx.cancelled()) {
      *failure = ProbeResult::Fail(FailureReason::kError, "cancelled");
      return false;
    }
    auto left = ctx.Remaining();
    if (left.count() <= 0) {
      *failure = ProbeResult::Fail(FailureReason::kTimeout,
                                   for_read ? "timed out waiting for data"
                                            : "timed out sending");
      return false;
    }
    struct pollfd pfd = {socket_, static_cast<short>(for_read ? POLLIN : POLLOUT), 0};
    int n = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) {
      *failure = ProbeResult::Fail(FailureReason::kConnection, "poll failed");
      return false;
    }
  }
}

bool Connection::Send(std::string_view data, const ProbeContext& ctx, ProbeResult* failure) {
  while (!data.empty()) {
    size_t sent = 0;
    CURLcode rc = curl_easy_send(curl_, data.data(), data.size(), &sent);
    if (rc == CURLE_AGAIN) {
      if (!Wait(false, ctx, failure)) return false;
      continue;
    }
    if (rc != CURLE_OK) {
      *failure = ProbeResult::Fail(FailureReason::kConnection,
                                   std::string("send failed: ") + curl_easy_strerror(rc));
      return false;
    }
    data.remove_prefix(sent);
  }
  return true;
}

bool Connection::ReadUntil(const std::function<bool(const std::string&)>& done,
                           size_t max_bytes, const ProbeContext& ctx,
                           std::string* buffer, ProbeResult* failure) {
  const size_t start = buffer->size();
  auto received = [&] {
    return "received \"" + PeerText(std::string_view(*buffer).substr(start)) + "\"";
  };
  char buf[4096];
  while (!done(*buffer)) {
    if (buffer->size() >= max_bytes) {
      *failure = ProbeResult::Fail(FailureReason::kProtocol,
                                   "no valid answer in the first " + std::to_string(max_bytes) +
                                       " bytes; " + received());
      return false;
    }
    size_t got = 0;
    size_t want = std::min(sizeof(buf), max_bytes - buffer->size());
    CURLcode rc = curl_easy_recv(curl_, buf, want, &got);
    if (rc == CURLE_AGAIN) {
      if (!Wait(true, ctx, failure)) {
        // Bytes that never became an answer are a wrong protocol, not a
        // slow peer: say so rather than "timeout".
        if (failure->reason == FailureReason::kTimeout && buffer->size() > start) {
          *failure = ProbeResult::Fail(FailureReason::kProtocol,
                                       "no complete answer before the deadline; " + received());
        }
        return false;
      }
      continue;
    }
    if (rc != CURLE_OK) {
      *failure = ProbeResult::Fail(FailureReason::kConnection,
                                   std::string("receive failed: ") + curl_easy_strerror(rc));
      return false;
    }
    if (got == 0) {
      *failure = buffer->size() == start
                     ? ProbeResult::Fail(FailureReason::kConnection,
                                         "connection closed before any data")
                     : ProbeResult::Fail(FailureReason::kProtocol,
                                         "connection closed without a complete answer; " +
                                             received());
      return false;
    }
    buffer->append(buf, got);
  }
  return true;
}

double Connection::PeerCertNotAfter() const {
  struct curl_certinfo* chain = nullptr;
  if (curl_easy_getinfo(curl_, CURLINFO_CERTINFO, &chain) != CURLE_OK || chain == nullptr ||
      chain->num_of_certs < 1) {
    return -1;
  }
  static constexpr char kExpire[] = "Expire date:";
  for (struct curl_slist* field = chain->certinfo[0]; field != nullptr; field = field->next) {
    if (std::strncmp(field->data, kExpire, sizeof(kExpire) - 1) == 0) {
      return ParseCertInfoTime(field->data + sizeof(kExpire) - 1);
    }
  }
  return -1;
}

void AllowOnlyHttp(CURL* curl) {
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
}

}  // namespace joelclaw
