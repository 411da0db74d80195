#include "exporter/http_server.h"

#include <CivetServer.h>
#include <civetweb.h>
#include <link.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "exporter/text_parse.h"
#include "spdlog/spdlog.h"

namespace joelclaw {
namespace {

const char* StatusText(int status) {
  switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

void Send(struct mg_connection* conn, const HttpResponse& r, bool head) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + StatusText(r.status) + "\r\n";
  out += "Content-Type: " + r.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  out += "Cache-Control: no-store\r\n";
  out += "X-Content-Type-Options: nosniff\r\n";
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  out += "\r\n";
  mg_write(conn, out.data(), out.size());
  if (!head && !r.body.empty()) mg_write(conn, r.body.data(), r.body.size());
}

}  // namespace

struct HttpServer::Impl : public CivetHandler {
  Options options;
  std::vector<HttpRoute> routes;
  std::mutex auth_mu;
  std::shared_ptr<BasicAuthenticator> auth;  // GUARDED_BY(auth_mu); swapped on reload.
  std::unique_ptr<CivetServer> server;
  std::string tls_error;  // Set by InitSsl when TLS setup fails.

  bool Handle(CivetServer*, struct mg_connection* conn) {
    const struct mg_request_info* ri = mg_get_request_info(conn);
    HttpRequest req;
    req.method = ri->request_method ? ri->request_method : "";
    req.path = ri->local_uri ? ri->local_uri : "/";
    req.query = ri->query_string ? ri->query_string : "";
    req.remote_addr = ri->remote_addr;
    for (int i = 0; i < ri->num_headers; ++i) {
      req.headers[AsciiLower(ri->http_headers[i].name)] =
          ri->http_headers[i].value ? ri->http_headers[i].value : "";
    }
    const bool head = req.method == "HEAD";
    std::shared_ptr<BasicAuthenticator> authenticator;
    {
      std::lock_guard<std::mutex> lock(auth_mu);
      authenticator = auth;
    }
    if (authenticator && authenticator->enabled() &&
        !authenticator->Check(req.Header("authorization"))) {
      HttpResponse r = HttpResponse::Text(401, "Unauthorized\n");
      r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"joelclaw_exporter\"");
      Send(conn, r, head);
      return true;
    }
    const HttpRoute* path_match = nullptr;
    const HttpRoute* route = nullptr;
    for (const HttpRoute& r : routes) {
      if (r.path != req.path) continue;
      path_match = &r;
      if (r.method == req.method || (head && r.method == "GET")) route = &r;
    }
    if (route == nullptr) {
      if (path_match != nullptr) {
        HttpResponse r = HttpResponse::Text(405, "Method Not Allowed\n");
        std::string allow;
        for (const HttpRoute& x : routes) {
          if (x.path == req.path) allow += (allow.empty() ? "" : ", ") + x.method;
        }
        r.headers.emplace_back("Allow", allow);
        Send(conn, r, head);
      } else {
        Send(conn, HttpResponse::Text(404, "Not Found\n"), head);
      }
      return true;
    }
    if (req.method == "POST") {
      long long len = ri->content_length;
      if (len > static_cast<long long>(options.max_body_bytes)) {
        Send(conn, HttpResponse::Text(413, "request body too large\n"), false);
        return true;
      }
      char buf[16384];
      while (true) {
        int n = mg_read(conn, buf, sizeof(buf));
        if (n <= 0) break;
        req.body.append(buf, static_cast<size_t>(n));
        if (req.body.size() > options.max_body_bytes) {
          Send(conn, HttpResponse::Text(413, "request body too large\n"), false);
          return true;
        }
      }
    }
    HttpResponse resp;
    try {
      resp = route->handler(req);
    } catch (const std::exception& e) {
      spdlog::error("handler for {} threw: {}", req.path, e.what());
      resp = HttpResponse::Text(500, "internal error\n");
    }
    Send(conn, resp, head);
    return true;
  }

  bool handleGet(CivetServer* s, struct mg_connection* c) override { return Handle(s, c); }
  bool handlePost(CivetServer* s, struct mg_connection* c) override { return Handle(s, c); }
  bool handleHead(CivetServer* s, struct mg_connection* c) override { return Handle(s, c); }
  bool handlePut(CivetServer* s, struct mg_connection* c) override { return Handle(s, c); }
  bool handleDelete(CivetServer* s, struct mg_connection* c) override { return Handle(s, c); }
  bool handleOptions(CivetServer* s, struct mg_connection* c) override { return Handle(s, c); }
  bool handlePatch(CivetServer* s, struct mg_connection* c) override { return Handle(s, c); }
};

namespace {

// Debian bookworm's civetweb 1.15 loads libssl at run time and was built for
// the OpenSSL 1.1 API. It looks up SSL_get_peer_certificate, which OpenSSL 3
// no longer exports (it is a macro for SSL_get1_peer_certificate now), keeps
// the missing pointer as NULL and calls it after every TLS handshake: the
// first HTTPS request crashes the process (civetweb issue #1334). Its table
// of loaded functions (`ssl_sw`: {name, flags, function} entries) is private,
// so this finds entries by their name pointers in civetweb's writable data,
// learns where the function sits from the SSL_new entry, and fills in the
// OpenSSL 3 equivalent, which has the same contract (a new reference the
// caller frees). Must run after civetweb loaded libssl and before it accepts
// a connection: from the init_ssl callback. Returns "" when the entry is
// filled (or needed nothing), else why it could not be.
struct CivetwebSegments {
  std::vector<std::pair<const char*, size_t>> read_only, writable;
};

CivetwebSegments FindCivetwebSegments() {
  struct Search {
    uintptr_t anchor;  // An address inside libcivetweb's code.
    CivetwebSegments segments;
  } search{reinterpret_cast<uintptr_t>(&mg_start), {}};
  dl_iterate_phdr(
      [](struct dl_phdr_info* info, size_t, void* data) -> int {
        auto* s = static_cast<Search*>(data);
        bool mine = false;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          uintptr_t start = info->dlpi_addr + ph.p_vaddr;
          mine = mine || (ph.p_type == PT_LOAD && s->anchor >= start &&
                          s->anchor < start + ph.p_memsz);
        }
        if (!mine) return 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_R)) continue;
          auto seg = std::make_pair(reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr),
                                    static_cast<size_t>(ph.p_memsz));
          (ph.p_flags & PF_W ? s->segments.writable : s->segments.read_only).push_back(seg);
        }
        return 1;
      },
      &search);
  return search.segments;
}

// Pointer-aligned slots in the writable segments that point at the string
// `name` (NUL-terminated, starting a string) in the read-only ones.
std::vector<void**> NameSlots(const CivetwebSegments& segs, const std::string& name) {
  std::vector<uintptr_t> strings;
  for (const auto& [base, size] : segs.read_only) {
    const char* end = base + size;
    for (const char* p = base; p < end; ++p) {
      p = static_cast<const char*>(memmem(p, end - p, name.c_str(), name.size() + 1));
      if (p == nullptr) break;
      if (p == base || p[-1] == '\0') strings.push_back(reinterpret_cast<uintptr_t>(p));
    }
  }
  std::vector<void**> slots;
  for (const auto& [base, size] : segs.writable) {
    const uintptr_t first = (reinterpret_cast<uintptr_t>(base) + alignof(void*) - 1) &
                            ~uintptr_t{alignof(void*) - 1};
    void** const end = reinterpret_cast<void**>(const_cast<char*>(base) + size) - 3;
    for (void** slot = reinterpret_cast<void**>(first); slot < end; ++slot) {
      if (std::find(strings.begin(), strings.end(), reinterpret_cast<uintptr_t>(*slot)) !=
          strings.end()) {
        slots.push_back(slot);
      }
    }
  }
  return slots;
}

std::string FillCivetwebPeerCertificate() {
#if OPENSSL_VERSION_MAJOR >= 3
  const CivetwebSegments segs = FindCivetwebSegments();
  std::vector<void**> reference = NameSlots(segs, "SSL_new");
  std::vector<void**> target = NameSlots(segs, "SSL_get_peer_certificate");
  if (target.empty()) return "";  // This civetweb does not use it.
  if (reference.size() != 1 || target.size() != 1) {
    return "unexpected libcivetweb layout (SSL function table not found)";
  }
  SSL* (*ssl_new)(SSL_CTX*) = SSL_new;
  int offset = 0;
  for (int k = 1; k <= 3 && offset == 0; ++k) {
    if (reference[0][k] == reinterpret_cast<void*>(ssl_new)) offset = k;
  }
  if (offset == 0) return "unexpected libcivetweb layout (SSL_new entry not loaded)";
  void** function = target[0] + offset;
  if (*function == nullptr) {
    X509* (*replacement)(const SSL*) = SSL_get1_peer_certificate;
    *function = reinterpret_cast<void*>(replacement);
  }
#endif
  return "";
}

// civetweb's init_ssl callback: configure the SSL_CTX ourselves so the
// exporter-toolkit layout (separate cert_file and key_file, client CA, min
// version) works. Returning 1 tells civetweb the context is ready.
int InitSsl(void* ssl_ctx, void* user_data) {
  // civetweb hands over its own user data (the CivetServer), which carries
  // ours as its user context.
  auto* civet = static_cast<CivetServer*>(user_data);
  auto* impl = static_cast<HttpServer::Impl*>(const_cast<void*>(civet->getUserContext()));
  if (impl == nullptr) return -1;
  const WebConfig& wc = impl->options.web;
  std::string compat = FillCivetwebPeerCertificate();
  if (!compat.empty()) {
    impl->tls_error = "this civetweb cannot serve TLS with this OpenSSL: " + compat;
    return -1;
  }
  SSL_CTX* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  if (SSL_CTX_use_certificate_chain_file(ctx, wc.cert_file.c_str()) != 1) {
    impl->tls_error = "cannot load TLS certificate " + wc.cert_file;
    return -1;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, wc.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    impl->tls_error = "cannot load TLS key " + wc.key_file + " (or it does not match the certificate)";
    return -1;
  }
  SSL_CTX_set_min_proto_version(ctx, wc.min_version == "TLS13" ? TLS1_3_VERSION : TLS1_2_VERSION);
  if (!wc.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, wc.client_ca_file.c_str(), nullptr) != 1) {
      impl->tls_error = "cannot load client CA " + wc.client_ca_file;
      return -1;
    }
    int mode = SSL_VERIFY_NONE;
    if (wc.client_auth_type == "RequireAndVerifyClientCert") {
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    } else if (wc.client_auth_type == "VerifyClientCertIfGiven") {
      mode = SSL_VERIFY_PEER;
    }
    SSL_CTX_set_verify(ctx, mode, nullptr);
  }
  return 1;
}

}  // namespace

Result<std::string> CivetListenSpec(const std::string& address, bool tls) {
  std::string host, port;
  if (!address.empty() && address[0] == ':') {
    port = address.substr(1);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string::npos) {
      return Result<std::string>::Error("listen address '" + address + "' must be HOST:PORT or :PORT");
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
      port.size() > 5 || std::stoi(port) > 65535) {
    return Result<std::string>::Error("listen address '" + address + "' has an invalid port");
  }
  std::string spec = host.empty() ? port : host + ":" + port;
  if (tls) spec += "s";
  return spec;
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(Options options,
                                                      std::vector<HttpRoute> routes) {
  Result<std::string> spec = CivetListenSpec(options.listen_address, options.web.tls_enabled);
  if (!spec.ok()) return spec.status();
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->impl_ = std::make_unique<Impl>();
  Impl* impl = server->impl_.get();
  impl->options = std::move(options);
  impl->routes = std::move(routes);
  impl->auth = std::make_shared<BasicAuthenticator>(impl->options.web.users);
  std::vector<std::string> civet_opts = {
      "listening_ports", *spec,
      "num_threads", std::to_string(impl->options.threads),
      "request_timeout_ms", "15000",
      // A worker holding an idle keep-alive connection notices Stop() only
      // when the connection's wait ends: keep that short so shutdown stays
      // under a second (scrapes come seconds apart and reconnect anyway;
      // bursts of requests still share a connection).
      "enable_keep_alive", "yes",
      "keep_alive_timeout_ms", "500",
      "tcp_nodelay", "1",
  };
  CivetCallbacks callbacks{};
  if (impl->options.web.tls_enabled) callbacks.init_ssl = InitSsl;
  try {
    impl->server = std::make_unique<CivetServer>(civet_opts, &callbacks, impl);
  } catch (const std::exception& e) {
    if (!impl->tls_error.empty()) {
      return Status::Error("cannot serve TLS on " + impl->options.listen_address + ": " +
                           impl->tls_error);
    }
    return Status::Error("cannot listen on " + impl->options.listen_address +
                         " (address in use, or not an address of this machine)");
  }
  impl->server->addHandler("/", impl);
  std::vector<int> ports = impl->server->getListeningPorts();
  server->port_ = ports.empty() ? 0 : ports[0];
  return server;
}

void HttpServer::SetBasicAuthUsers(std::map<std::string, std::string> users) {
  auto fresh = std::make_shared<BasicAuthenticator>(std::move(users));
  std::lock_guard<std::mutex> lock(impl_->auth_mu);
  impl_->auth = std::move(fresh);
}

namespace {

// Opens and at once closes a TCP connection to the server's own listening
// socket. Best effort.
void PokeListener(const std::string& listen_address, int port) {
  std::string host;
  if (!listen_address.empty() && listen_address[0] != ':') {
    host = listen_address.substr(0, listen_address.rfind(':'));
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
  }
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  struct addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  struct addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return;
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    connect(fd, res->ai_addr, res->ai_addrlen);
    close(fd);
  }
  freeaddrinfo(res);
}

}  // namespace

void HttpServer::Stop() {
  if (!impl_ || !impl_->server) return;
  // civetweb's listening thread looks at the stop flag only between polls of
  // up to two seconds: shutdown would take that long. A connection to our
  // own port ends the poll at once, so keep poking until close() returns.
  std::atomic<bool> closed{false};
  std::thread waker([&] {
    while (!closed.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (!closed.load()) PokeListener(impl_->options.listen_address, port_);
    }
  });
  impl_->server->close();
  closed = true;
  waker.join();
  impl_->server.reset();
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace joelclaw
