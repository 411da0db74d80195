#include "exporter/http_server.h"

#include <openssl/ssl.h>

#include <CivetServer.h>
#include <civetweb.h>

#include <algorithm>
#include <cctype>
#include <cstring>

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
  std::unique_ptr<BasicAuthenticator> auth;
  std::unique_ptr<CivetServer> server;

  bool Handle(CivetServer*, struct mg_connection* conn) {
    const struct mg_request_info* ri = mg_get_request_info(conn);
    HttpRequest req;
    req.method = ri->request_method ? ri->request_method : "";
    req.path = ri->local_uri ? ri->local_uri : "/";
    req.query = ri->query_string ? ri->query_string : "";
    req.remote_addr = ri->remote_addr;
    for (int i = 0; i < ri->num_headers; ++i) {
      std::string name = ri->http_headers[i].name;
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      req.headers[name] = ri->http_headers[i].value ? ri->http_headers[i].value : "";
    }
    const bool head = req.method == "HEAD";
    if (auth && auth->enabled() && !auth->Check(req.Header("authorization"))) {
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

// civetweb's init_ssl callback: configure the SSL_CTX ourselves so the
// exporter-toolkit layout (separate cert_file and key_file, client CA, min
// version) works. Returning 1 tells civetweb the context is ready.
int InitSsl(void* ssl_ctx, void* user_data) {
  // civetweb hands over its own user data (the CivetServer), which carries
  // ours as its user context.
  auto* civet = static_cast<CivetServer*>(user_data);
  auto* impl = static_cast<const HttpServer::Impl*>(civet->getUserContext());
  if (impl == nullptr) return -1;
  const WebConfig& wc = impl->options.web;
  SSL_CTX* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  if (SSL_CTX_use_certificate_chain_file(ctx, wc.cert_file.c_str()) != 1) {
    spdlog::error("cannot load TLS certificate {}", wc.cert_file);
    return -1;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, wc.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    spdlog::error("cannot load TLS key {} (or it does not match the certificate)", wc.key_file);
    return -1;
  }
  SSL_CTX_set_min_proto_version(ctx, wc.min_version == "TLS13" ? TLS1_3_VERSION : TLS1_2_VERSION);
  if (!wc.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, wc.client_ca_file.c_str(), nullptr) != 1) {
      spdlog::error("cannot load client CA {}", wc.client_ca_file);
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
  impl->auth = std::make_unique<BasicAuthenticator>(impl->options.web.users);
  std::vector<std::string> civet_opts = {
      "listening_ports", *spec,
      "num_threads", std::to_string(impl->options.threads),
      "request_timeout_ms", "15000",
      "enable_keep_alive", "yes",
      "keep_alive_timeout_ms", "30000",
      "tcp_nodelay", "1",
  };
  CivetCallbacks callbacks{};
  if (impl->options.web.tls_enabled) callbacks.init_ssl = InitSsl;
  try {
    impl->server = std::make_unique<CivetServer>(civet_opts, &callbacks, impl);
  } catch (const std::exception& e) {
    return Status::Error("cannot listen on " + impl->options.listen_address +
                         " (address in use, or not an address of this machine)");
  }
  impl->server->addHandler("/", impl);
  std::vector<int> ports = impl->server->getListeningPorts();
  server->port_ = ports.empty() ? 0 : ports[0];
  return server;
}

void HttpServer::Stop() {
  if (impl_ && impl_->server) {
    impl_->server->close();
    impl_->server.reset();
  }
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace joelclaw
