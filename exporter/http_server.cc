// The HTTP server on Boost.Asio + Boost.Beast (docs/http-server.md says why
// this library). Boost's headers are heavy: they stay in this one file, and
// http_server.h shows none of them.
#include "exporter/http_server.h"

#include <openssl/ssl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include "exporter/text_parse.h"
#include "spdlog/spdlog.h"

namespace joelclaw {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMaxHeaderBytes = 16 << 10;
// After an answer that leaves part of a request body unread, the rest is
// read and thrown away for this long (or this many bytes) before closing:
// closing with unread data makes the kernel send a reset, which can reach
// the client before it has read the answer (a 401 or 413 it never sees).
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 1 << 20;
// New certificate files are looked for at most this often.
constexpr auto kCertCheckEvery = std::chrono::seconds(1);

// What identifies a file's content well enough to notice a rotation.
std::string FileSignature(const std::string& path) {
  if (path.empty()) return "-";
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return "missing";
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
         std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

std::string TlsSignature(const WebConfig& wc) {
  return FileSignature(wc.cert_file) + "|" + FileSignature(wc.key_file) + "|" +
         FileSignature(wc.client_ca_file);
}

// Accepts any client certificate: RequestClientCert and RequireAnyClientCert
// ask for one without verifying it (exporter-toolkit's meaning).
int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

// A server TLS context for the web config: the exporter-toolkit layout
// (separate cert and key files, a client CA file and policy), TLS 1.2 or
// newer, no renegotiation, no compression.
Result<std::shared_ptr<ssl::context>> BuildTlsContext(const WebConfig& wc) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_min_proto_version(ctx,
                                wc.min_version == "TLS13" ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx,
                                wc.max_version == "TLS12" ? TLS1_2_VERSION : TLS1_3_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, wc.cert_file.c_str()) != 1) {
    return Status::Error("cannot load the TLS certificate " + wc.cert_file);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, wc.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    return Status::Error("cannot load the TLS key " + wc.key_file +
                         " (or it does not match the certificate)");
  }
  // Sessions resumed on another connection must have passed the same
  // client-certificate check: OpenSSL refuses resumption without an id.
  static const unsigned char kSessionContext[] = "joelclaw_exporter";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  if (!wc.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, wc.client_ca_file.c_str(), nullptr) != 1) {
      return Status::Error("cannot load the client CA file " + wc.client_ca_file);
    }
    // Tells clients which CAs their certificate should come from.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(wc.client_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(ctx, names);
    }
  }
  const std::string& policy = wc.client_auth_type;
  if (policy == "RequestClientCert") {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, AcceptAnyCertificate);
  } else if (policy == "RequireAnyClientCert") {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       AcceptAnyCertificate);
  } else if (policy == "VerifyClientCertIfGiven") {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else if (policy == "RequireAndVerifyClientCert") {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return context;
}

beast::string_view Reason(int status) {
  return http::obsolete_reason(static_cast<http::status>(status));
}

}  // namespace

class Session;

struct HttpServer::Impl {
  Options options;
  std::vector<HttpRoute> routes;

  // Destroyed last (declared first): sessions and handlers still queued in
  // it refer to the members below.
  std::unique_ptr<net::io_context> ioc;
  std::optional<tcp::acceptor> acceptor;
  std::unique_ptr<net::thread_pool> workers;
  std::unique_ptr<net::thread_pool> bcrypt;  // One thread: bcrypt is serialized.
  std::vector<std::thread> io_threads;
  std::atomic<bool> stopping{false};
  std::atomic<int> queued_auth{0};

  mutable std::mutex mu;
  std::shared_ptr<BasicAuthenticator> auth;            // GUARDED_BY(mu)
  std::map<std::string, std::string> extra_headers;    // GUARDED_BY(mu)
  WebConfig tls_config;                                // GUARDED_BY(mu)
  std::shared_ptr<ssl::context> tls;                   // GUARDED_BY(mu); null = plain
  std::string tls_signature;                           // GUARDED_BY(mu)
  std::string tls_failed_signature;                    // GUARDED_BY(mu)
  Clock::time_point tls_checked;                       // GUARDED_BY(mu)
  int open = 0;                                        // GUARDED_BY(mu)
  // Sessions waiting for request headers, oldest first: the ones closed
  // to make room at the connection cap.
  std::list<std::weak_ptr<Session>> waiting;           // GUARDED_BY(mu)
  bool accept_paused = false;                          // GUARDED_BY(mu)
  uint64_t timeouts = 0;                               // GUARDED_BY(mu)
  uint64_t evicted = 0;                                // GUARDED_BY(mu)

  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  // The TLS context for a new connection, re-read first when its files
  // changed. REQUIRES: mu held.
  std::shared_ptr<ssl::context> CurrentTlsLocked();
  // Closes the longest-waiting session to make room; false when none
  // waits. REQUIRES: mu held.
  bool EvictOldestLocked();
  // A session ended. REQUIRES: mu not held.
  void Closed(std::list<std::weak_ptr<Session>>::iterator slot, bool was_waiting);
};

/// One connection, plain or TLS. Its async operations run on its strand;
/// handlers of non-quick routes run on the worker pool and post back.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpServer::Impl* server, tcp::socket socket, std::shared_ptr<ssl::context> tls)
      : server_(server), tls_context_(std::move(tls)) {
    beast::error_code ec;
    tcp::endpoint remote = socket.remote_endpoint(ec);
    if (!ec) remote_addr_ = remote.address().to_string();
    if (tls_context_) {
      tls_.emplace(std::move(socket), *tls_context_);
    } else {
      plain_.emplace(std::move(socket));
    }
  }

  ~Session() { server_->Closed(waiting_slot_, is_waiting_); }

  void Start() {
    Lowest().expires_after(Ms(server_->options.read_header_timeout));
    MarkWaiting();
    if (tls_) {
      auto self = shared_from_this();
      tls_->async_handshake(ssl::stream_base::server, [self](beast::error_code ec) {
        if (ec) return self->Fail(ec, "TLS handshake");
        self->ReadHeader();
      });
    } else {
      ReadHeader();
    }
  }

  net::any_io_executor executor() { return Lowest().get_executor(); }

  // Ends the connection from another thread (eviction, Stop).
  void CloseSoon() {
    auto self = shared_from_this();
    net::post(Lowest().get_executor(), [self] {
      beast::error_code ignored;
      self->Lowest().socket().close(ignored);
    });
  }

  // Taken out of the waiting list by the server (eviction). REQUIRES: the
  // server's mu held.
  void set_not_waiting() { is_waiting_ = false; }

 private:
  static std::chrono::milliseconds Ms(Duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d);
  }

  beast::tcp_stream& Lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  template <class F>
  void WithStream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(*plain_);
    }
  }

  void MarkWaiting();
  void MarkBusy();

  void Fail(beast::error_code ec, const char* what) {
    MarkBusy();
    if (ec == beast::error::timeout) {
      std::lock_guard<std::mutex> lock(server_->mu);
      ++server_->timeouts;
    } else if (ec != net::error::operation_aborted && ec != http::error::end_of_stream &&
               ec != net::error::eof && ec != net::error::connection_reset) {
      spdlog::debug("http: {} from {}: {}", what, remote_addr_, ec.message());
    }
    beast::error_code ignored;
    Lowest().socket().close(ignored);
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    // Beast would refuse a large Content-Length while parsing the headers,
    // before auth could answer 401: the route's limit is set after the
    // headers are judged (AfterAuth). (Not boost::none: Beast 1.74 compares
    // a Content-Length with an empty limit as "over".)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    auto self = shared_from_this();
    WithStream([&](auto& stream) {
      http::async_read_header(stream, buffer_, *parser_,
                              [self](beast::error_code ec, size_t) { self->OnHeader(ec); });
    });
  }

  void OnHeader(beast::error_code ec) {
    MarkBusy();
    if (ec == http::error::header_limit) {
      return Respond(HttpResponse::Text(431, "Request headers too large\n"), false);
    }
    if (ec) return Fail(ec, "reading request headers");
    const auto& h = parser_->get();
    request_ = HttpRequest();
    request_.method = std::string(h.method_string());
    const std::string target(h.target());
    const size_t q = target.find('?');
    request_.path = target.substr(0, q);
    request_.query = q == std::string::npos ? "" : target.substr(q + 1);
    request_.remote_addr = remote_addr_;
    for (const auto& field : h) {
      std::string name = AsciiLower(std::string(field.name_string()));
      std::string& slot = request_.headers[name];
      slot = slot.empty() ? std::string(field.value())
                          : slot + ", " + std::string(field.value());
    }
    head_ = request_.method == "HEAD";
    keep_alive_ = h.keep_alive();
    has_body_ = parser_->chunked() ||
                (parser_->content_length() && *parser_->content_length() > 0);
    Lowest().expires_after(Ms(server_->options.request_timeout));

    std::shared_ptr<BasicAuthenticator> auth;
    {
      std::lock_guard<std::mutex> lock(server_->mu);
      auth = server_->auth;
    }
    if (!auth || !auth->enabled()) return AfterAuth(true);
    const std::string header = request_.Header("authorization");
    switch (auth->CheckFast(header)) {
      case BasicAuthenticator::Verdict::kAllowed:
        return AfterAuth(true);
      case BasicAuthenticator::Verdict::kDenied:
        return AfterAuth(false);
      case BasicAuthenticator::Verdict::kNeedsBcrypt:
        break;
    }
    if (server_->queued_auth.fetch_add(1) >= server_->options.max_queued_auth) {
      server_->queued_auth.fetch_sub(1);
      HttpResponse busy = HttpResponse::Text(
          503, "Service Unavailable: too many password checks are waiting; retry shortly\n");
      busy.headers.emplace_back("Retry-After", "1");
      return Respond(std::move(busy), false);
    }
    auto self = shared_from_this();
    net::post(*server_->bcrypt, [self, auth, header] {
      const bool ok = !self->server_->stopping && auth->Check(header);
      self->server_->queued_auth.fetch_sub(1);
      net::post(self->Lowest().get_executor(), [self, ok] { self->AfterAuth(ok); });
    });
  }

  void AfterAuth(bool ok) {
    if (!ok) {
      HttpResponse r = HttpResponse::Text(401, "Unauthorized\n");
      r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"joelclaw_exporter\"");
      return Respond(std::move(r), !has_body_);
    }
    const HttpRoute* path_match = nullptr;
    route_ = nullptr;
    for (const HttpRoute& r : server_->routes) {
      if (r.path != request_.path) continue;
      path_match = &r;
      if (r.method == request_.method || (head_ && r.method == "GET")) route_ = &r;
    }
    if (route_ == nullptr) {
      if (path_match == nullptr) {
        return Respond(HttpResponse::Text(404, "Not Found\n"), !has_body_);
      }
      HttpResponse r = HttpResponse::Text(405, "Method Not Allowed\n");
      std::string allow;
      for (const HttpRoute& x : server_->routes) {
        if (x.path == request_.path) allow += (allow.empty() ? "" : ", ") + x.method;
      }
      r.headers.emplace_back("Allow", allow);
      return Respond(std::move(r), !has_body_);
    }
    if (route_->precheck) {
      std::optional<HttpResponse> early;
      try {
        early = route_->precheck(request_);
      } catch (const std::exception& e) {
        spdlog::error("http: the precheck of {} threw: {}", EscapeLogField(request_.path),
                      EscapeLogField(e.what()));
        early = HttpResponse::Text(500, "internal error\n");
      }
      if (early) return Respond(std::move(*early), !has_body_);
    }
    if (!has_body_) return Dispatch();
    if (route_->method != "POST") {
      // GET routes take no body: answer, then close rather than read it.
      return Dispatch();
    }
    const size_t limit =
        route_->max_body_bytes > 0 ? route_->max_body_bytes : server_->options.max_body_bytes;
    if (parser_->content_length() && *parser_->content_length() > limit) {
      return Respond(TooLarge(limit), false);
    }
    parser_->body_limit(limit);
    if (beast::iequals(request_.Header("expect"), "100-continue")) {
      auto self = shared_from_this();
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      WithStream([&](auto& stream) {
        http::async_write(stream, *cont, [self, cont](beast::error_code ec, size_t) {
          if (ec) return self->Fail(ec, "writing 100 Continue");
          self->ReadBody();
        });
      });
      return;
    }
    ReadBody();
  }

  static HttpResponse TooLarge(size_t limit) {
    return HttpResponse::Text(413, "Payload Too Large: this endpoint takes at most " +
                                       std::to_string(limit) + " bytes\n");
  }

  void ReadBody() {
    auto self = shared_from_this();
    WithStream([&](auto& stream) {
      http::async_read(stream, buffer_, *parser_, [self](beast::error_code ec, size_t) {
        if (ec == http::error::body_limit) {
          const size_t limit = self->route_->max_body_bytes > 0
                                   ? self->route_->max_body_bytes
                                   : self->server_->options.max_body_bytes;
          return self->Respond(TooLarge(limit), false);
        }
        if (ec) return self->Fail(ec, "reading the request body");
        self->request_.body = std::move(self->parser_->get().body());
        self->has_body_ = false;  // Read: the connection may be kept.
        self->Dispatch();
      });
    });
  }

  HttpResponse RunHandler() const {
    try {
      return route_->handler(request_);
    } catch (const std::exception& e) {
      spdlog::error("http: the handler of {} threw: {}", EscapeLogField(request_.path),
                    EscapeLogField(e.what()));
      return HttpResponse::Text(500, "internal error\n");
    }
  }

  void Dispatch() {
    const bool keep = !has_body_;
    if (route_->quick) return Respond(RunHandler(), keep);
    auto self = shared_from_this();
    net::post(*server_->workers, [self, keep] {
      if (self->server_->stopping) return;
      HttpResponse r = self->RunHandler();
      net::post(self->Lowest().get_executor(),
                [self, keep, r = std::move(r)]() mutable { self->Respond(std::move(r), keep); });
    });
  }

  // Writes `r`; keeps the connection for another request when `keep` and
  // the client asked for keep-alive, else closes it (lingering when part of
  // a request body was left unread).
  void Respond(HttpResponse r, bool keep) {
    keep = keep && keep_alive_ && !server_->stopping;
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(r.status));
    res->reason(Reason(r.status));
    res->set(http::field::content_type, r.content_type);
    res->set(http::field::cache_control, "no-store");
    res->set("X-Content-Type-Options", "nosniff");
    {
      std::lock_guard<std::mutex> lock(server_->mu);
      for (const auto& [name, value] : server_->extra_headers) res->set(name, value);
    }
    for (const auto& [name, value] : r.headers) res->set(name, value);
    res->keep_alive(keep);
    if (head_) {
      res->content_length(r.body.size());
    } else {
      res->body() = std::move(r.body);
      res->prepare_payload();
    }
    Lowest().expires_after(Ms(server_->options.request_timeout));
    const bool linger = !keep && has_body_;
    auto self = shared_from_this();
    WithStream([&](auto& stream) {
      http::async_write(stream, *res, [self, res, keep, linger](beast::error_code ec, size_t) {
        if (ec) return self->Fail(ec, "writing the response");
        if (keep) {
          self->Lowest().expires_after(Ms(self->server_->options.read_header_timeout));
          self->MarkWaiting();
          return self->ReadHeader();
        }
        self->Finish(linger);
      });
    });
  }

  void Finish(bool linger) {
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (!linger) {
      Lowest().socket().close(ignored);
      return;
    }
    Lowest().expires_after(kLingerTime);
    Drain();
  }

  void Drain() {
    auto self = shared_from_this();
    drain_.resize(16 << 10);
    Lowest().async_read_some(net::buffer(drain_), [self](beast::error_code ec, size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kLingerBytes) {
        beast::error_code ignored;
        self->Lowest().socket().close(ignored);
        return;
      }
      self->Drain();
    });
  }

  HttpServer::Impl* const server_;
  std::shared_ptr<ssl::context> tls_context_;  // Outlives tls_.
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  std::string remote_addr_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;
  const HttpRoute* route_ = nullptr;
  bool head_ = false;
  bool keep_alive_ = false;
  bool has_body_ = false;  // A body arrived (or is arriving) that was not read.
  std::vector<char> drain_;
  size_t drained_ = 0;
  // In HttpServer::Impl::waiting while is_waiting_ (both GUARDED_BY the
  // server's mu).
  std::list<std::weak_ptr<Session>>::iterator waiting_slot_;
  bool is_waiting_ = false;
};

void Session::MarkWaiting() {
  std::lock_guard<std::mutex> lock(server_->mu);
  if (is_waiting_) return;
  waiting_slot_ = server_->waiting.insert(server_->waiting.end(), weak_from_this());
  is_waiting_ = true;
}

void Session::MarkBusy() {
  std::lock_guard<std::mutex> lock(server_->mu);
  if (!is_waiting_) return;
  server_->waiting.erase(waiting_slot_);
  is_waiting_ = false;
}

void HttpServer::Impl::Closed(std::list<std::weak_ptr<Session>>::iterator slot,
                              bool was_waiting) {
  bool resume = false;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (was_waiting) waiting.erase(slot);
    --open;
    resume = accept_paused && !stopping;
    accept_paused = false;
  }
  if (resume) net::post(acceptor->get_executor(), [this] { DoAccept(); });
}

bool HttpServer::Impl::EvictOldestLocked() {
  while (!waiting.empty()) {
    std::shared_ptr<Session> oldest = waiting.front().lock();
    waiting.pop_front();
    if (!oldest) continue;
    oldest->set_not_waiting();
    ++evicted;
    oldest->CloseSoon();
    return true;
  }
  return false;
}

std::shared_ptr<ssl::context> HttpServer::Impl::CurrentTlsLocked() {
  if (!tls) return nullptr;
  const auto now = Clock::now();
  if (now - tls_checked < kCertCheckEvery) return tls;
  tls_checked = now;
  const std::string signature = TlsSignature(tls_config);
  if (signature == tls_signature || signature == tls_failed_signature) return tls;
  Result<std::shared_ptr<ssl::context>> fresh = BuildTlsContext(tls_config);
  if (!fresh.ok()) {
    // Often a rotation caught half-way (new certificate, old key): the
    // next change of the files tries again.
    spdlog::warn("http: the TLS files changed but cannot be used, keeping the previous ones: {}",
                 fresh.status().message());
    tls_failed_signature = signature;
    return tls;
  }
  spdlog::info("http: TLS certificate files changed; new connections use them");
  tls = *fresh;
  tls_signature = signature;
  tls_failed_signature.clear();
  return tls;
}

void HttpServer::Impl::DoAccept() {
  if (stopping) return;
  {
    // At the cap with nobody to make room: wait for a close. (With someone
    // waiting for headers, the next arrival takes that one's place.)
    std::lock_guard<std::mutex> lock(mu);
    if (open >= options.max_connections && waiting.empty()) {
      accept_paused = true;  // Closed() resumes.
      return;
    }
  }
  acceptor->async_accept(net::make_strand(*ioc), [this](beast::error_code ec, tcp::socket s) {
    OnAccept(ec, std::move(s));
  });
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping || ec == net::error::operation_aborted) return;
  if (ec) {
    // Out of descriptors, say: wait a moment rather than spin.
    spdlog::warn("http: accept failed: {}", ec.message());
    auto timer = std::make_shared<net::steady_timer>(acceptor->get_executor(),
                                                     std::chrono::milliseconds(100));
    timer->async_wait([this, timer](beast::error_code) { DoAccept(); });
    return;
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  std::shared_ptr<ssl::context> tls_context;
  {
    std::lock_guard<std::mutex> lock(mu);
    ++open;
    if (open > options.max_connections) EvictOldestLocked();
    tls_context = CurrentTlsLocked();
  }
  auto session = std::make_shared<Session>(this, std::move(socket), std::move(tls_context));
  // Started on its own strand: from the moment it is in the waiting list,
  // an eviction may post a close there.
  net::dispatch(session->executor(), [session] { session->Start(); });
  DoAccept();
}

Result<std::pair<std::string, int>> ParseListenAddress(const std::string& address) {
  using R = Result<std::pair<std::string, int>>;
  std::string host, port;
  if (!address.empty() && address[0] == ':') {
    port = address.substr(1);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos) {
      return R::Error("listen address '" + address + "' must be HOST:PORT or :PORT");
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
  }
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
      port.size() > 5 || std::stoi(port) > 65535) {
    return R::Error("listen address '" + address + "' has an invalid port");
  }
  return std::make_pair(host, std::stoi(port));
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(Options options,
                                                      std::vector<HttpRoute> routes) {
  Result<std::pair<std::string, int>> where = ParseListenAddress(options.listen_address);
  if (!where.ok()) return where.status();
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->impl_ = std::make_shared<Impl>();
  Impl* impl = server->impl_.get();
  impl->options = std::move(options);
  impl->routes = std::move(routes);
  const WebConfig& web = impl->options.web;
  impl->auth = std::make_shared<BasicAuthenticator>(web.users);
  impl->extra_headers = web.headers;
  if (web.tls_enabled) {
    Result<std::shared_ptr<ssl::context>> tls = BuildTlsContext(web);
    if (!tls.ok()) {
      return Status::Error("cannot serve TLS on " + impl->options.listen_address + ": " +
                           tls.status().message());
    }
    impl->tls = *tls;
    impl->tls_config = web;
    impl->tls_signature = TlsSignature(web);
    impl->tls_checked = Clock::now();
  }
  // Every connection is a descriptor: make room for the cap (the soft
  // limit is often 1024; Go servers raise it to the hard limit likewise).
  struct rlimit files;
  const rlim_t wanted = static_cast<rlim_t>(impl->options.max_connections) + 256;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < wanted &&
      files.rlim_cur < files.rlim_max) {
    files.rlim_cur = std::min(files.rlim_max, std::max(wanted, files.rlim_cur));
    setrlimit(RLIMIT_NOFILE, &files);
  }
  impl->ioc = std::make_unique<net::io_context>(std::max(1, impl->options.io_threads));
  beast::error_code ec;
  net::ip::address address;
  const std::string& host = where->first;
  if (host.empty() || host == "0.0.0.0") {
    address = net::ip::address_v4::any();
  } else if (host == "::") {
    address = net::ip::address_v6::any();
  } else {
    address = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
    if (ec) {
      return Status::Error("cannot listen on " + impl->options.listen_address +
                           ": the host must be an IP address");
    }
  }
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(where->second));
  tcp::acceptor& acceptor = impl->acceptor.emplace(net::make_strand(*impl->ioc));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(1024, ec);
  if (ec) {
    return Status::Error("cannot listen on " + impl->options.listen_address + " (" +
                         ec.message() + ")");
  }
  server->port_ = acceptor.local_endpoint(ec).port();
  impl->workers = std::make_unique<net::thread_pool>(std::max(1, impl->options.worker_threads));
  impl->bcrypt = std::make_unique<net::thread_pool>(1);
  net::post(acceptor.get_executor(), [impl] { impl->DoAccept(); });
  for (int i = 0; i < std::max(1, impl->options.io_threads); ++i) {
    impl->io_threads.emplace_back([impl] { impl->ioc->run(); });
  }
  return server;
}

void HttpServer::SetBasicAuthUsers(std::map<std::string, std::string> users) {
  auto fresh = std::make_shared<BasicAuthenticator>(std::move(users));
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->auth = std::move(fresh);
}

Status HttpServer::UpdateWebConfig(const WebConfig& web) {
  std::shared_ptr<ssl::context> tls;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (web.tls_enabled != (impl_->tls != nullptr)) {
      return Status::Error(std::string("turning TLS ") + (web.tls_enabled ? "on" : "off") +
                           " needs a restart of the exporter");
    }
  }
  if (web.tls_enabled) {
    Result<std::shared_ptr<ssl::context>> built = BuildTlsContext(web);
    if (!built.ok()) return built.status();
    tls = *built;
  }
  auto auth = std::make_shared<BasicAuthenticator>(web.users);
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->auth = std::move(auth);
  impl_->extra_headers = web.headers;
  if (tls) {
    impl_->tls = std::move(tls);
    impl_->tls_config = web;
    impl_->tls_signature = TlsSignature(web);
    impl_->tls_failed_signature.clear();
  }
  return Status::Ok();
}

HttpServer::Stats HttpServer::GetStats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return {impl_->open, impl_->timeouts, impl_->evicted};
}

void HttpServer::Stop() {
  if (!impl_ || !impl_->ioc) return;
  Impl* impl = impl_.get();
  impl->stopping = true;
  // No new I/O from here on: the loop threads return at once and every
  // session stays where it is until the pools and the loop are destroyed.
  impl->ioc->stop();
  for (std::thread& t : impl->io_threads) t.join();
  impl->io_threads.clear();
  // Handlers in progress finish (a spool write, a reload); queued ones and
  // queued password checks are dropped.
  // (Start() may have failed half-way: a pool or the acceptor may be
  // missing.)
  for (auto* pool : {&impl->bcrypt, &impl->workers}) {
    if (*pool) {
      (*pool)->stop();
      (*pool)->join();
      pool->reset();
    }
  }
  if (impl->acceptor) {
    beast::error_code ignored;
    impl->acceptor->close(ignored);
    impl->acceptor.reset();
  }
  // Destroys the sessions still queued in the loop, closing their sockets.
  impl->ioc.reset();
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace joelclaw
