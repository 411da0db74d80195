// The HTTP server under hostile clients, on real loopback sockets: idle and
// slow connections, the connection cap, bodies that must not be read before
// authentication, per-route limits, TLS with client certificates and
// certificate rotation.
#include "exporter/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/real_servers.h"
#include "tests/support/test_util.h"

namespace joelclaw {
namespace http_server_test {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using testing::HttpReply;

using testing::TempDir;
using testing::WaitFor;

// A raw TCP client: connects, sends what it is told, reads what comes.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~RawClient() { close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  bool connected() const { return connected_; }
  bool Send(const std::string& data) {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // What arrives within `wait`, until the server closes or `wait` passes.
  std::string Read(milliseconds wait) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // True once the server closed the connection (within `wait`).
  bool WaitClosed(milliseconds wait) {
    Read(wait);
    return closed_;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
};

std::unique_ptr<HttpServer> StartOrDie(HttpServer::Options o, std::vector<HttpRoute> routes) {
  o.listen_address = "127.0.0.1:0";
  auto s = HttpServer::Start(std::move(o), std::move(routes));
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? std::move(s).value() : nullptr;
}

HttpRoute Metrics() {
  HttpRoute r{"GET", "/metrics", [](const HttpRequest&) {
                return HttpResponse::Text(200, "joelclaw_up 1\n");
              }};
  r.quick = true;
  return r;
}

std::string Url(const HttpServer& s, const std::string& path, const std::string& scheme = "http") {
  return scheme + "://127.0.0.1:" + std::to_string(s.port()) + path;
}

TEST(HttpServerTest, IdleAndSlowConnectionsDoNotHoldUpScrapes) {
  HttpServer::Options o;
  auto server = StartOrDie(o, {Metrics()});
  ASSERT_TRUE(server);
  // Far more than civetweb's 16 workers: a few hundred silent connections
  // and a few dozen sending one header byte at a time.
  std::vector<std::unique_ptr<RawClient>> idle, slow;
  for (int i = 0; i < 300; ++i) idle.push_back(std::make_unique<RawClient>(server->port()));
  for (int i = 0; i < 50; ++i) slow.push_back(std::make_unique<RawClient>(server->port()));
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
  for (size_t k = 0; k < 5; ++k) {
    for (auto& c : slow) c->Send(std::string(1, request[k]));
  }
  ASSERT_TRUE(WaitFor([&] { return server->GetStats().open_connections >= 350; }, seconds(5)));
  for (int i = 0; i < 10; ++i) {
    HttpReply r = testing::HttpRequest("GET", Url(*server, "/metrics"), "", {}, 2000);
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.body, "joelclaw_up 1\n");
  }
}

TEST(HttpServerTest, TheHeaderTimeoutClosesIdleAndSlowConnections) {
  HttpServer::Options o;
  o.read_header_timeout = milliseconds(300);
  auto server = StartOrDie(o, {Metrics()});
  RawClient idle(server->port());
  RawClient slow(server->port());
  ASSERT_TRUE(idle.connected() && slow.connected());
  const auto start = std::chrono::steady_clock::now();
  // One byte every 50 ms would keep an inactivity timer alive forever.
  for (char c : std::string("GET /metrics HTTP/1.1\r\n")) {
    if (!slow.Send(std::string(1, c))) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_TRUE(slow.WaitClosed(seconds(3)));
  EXPECT_TRUE(idle.WaitClosed(seconds(3)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(3));
  EXPECT_GE(server->GetStats().timeouts, 2u);
  // A client that sends its request in time is served.
  RawClient quick(server->port());
  quick.Send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(quick.Read(seconds(2)), HasSubstr("joelclaw_up 1"));
}

TEST(HttpServerTest, AtTheCapTheLongestWaitingConnectionMakesRoom) {
  HttpServer::Options o;
  o.max_connections = 8;
  auto server = StartOrDie(o, {Metrics()});
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 8; ++i) {
    idle.push_back(std::make_unique<RawClient>(server->port()));
    // In order, so the first is the one that waited longest.
    ASSERT_TRUE(WaitFor([&] { return server->GetStats().open_connections == i + 1; }, seconds(2)));
  }
  EXPECT_EQ(server->GetStats().evicted, 0u);  // Nobody is turned away before it must be.
  HttpReply r = testing::HttpRequest("GET", Url(*server, "/metrics"), "", {}, 2000);
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_TRUE(idle[0]->WaitClosed(seconds(2)));
  EXPECT_GE(server->GetStats().evicted, 1u);
  EXPECT_TRUE(WaitFor([&] { return server->GetStats().open_connections <= 8; }, seconds(2)));
}

TEST(HttpServerTest, AuthenticationAndPrechecksComeBeforeTheBody) {
  TempDir dir;
  std::atomic<int> handled{0};
  HttpRoute upload{"POST", "/upload", [&](const HttpRequest& req) {
                     ++handled;
                     return HttpResponse::Text(200, std::to_string(req.body.size()));
                   }};
  upload.max_body_bytes = 1 << 20;
  upload.precheck = [](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (req.Header("x-token") != "ok") return HttpResponse::Text(403, "no token\n");
    return std::nullopt;
  };
  HttpServer::Options o;
  o.web.users["prometheus"] = testing::BcryptHash("pw");
  auto server = StartOrDie(o, {upload});

  // Headers announcing 8 MiB and no credentials: the answer comes at once,
  // without the body being sent.
  RawClient c(server->port());
  c.Send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n\r\n");
  std::string answer = c.Read(milliseconds(1500));
  EXPECT_THAT(answer, HasSubstr("HTTP/1.1 401"));
  EXPECT_THAT(answer, HasSubstr("WWW-Authenticate: Basic"));

  // Authenticated but failing the precheck: still no body read.
  RawClient d(server->port());
  d.Send("POST /upload HTTP/1.1\r\nHost: x\r\nAuthorization: Basic cHJvbWV0aGV1czpwdw==\r\n"
         "Content-Length: 8388608\r\n\r\n");
  EXPECT_THAT(d.Read(milliseconds(1500)), HasSubstr("HTTP/1.1 403"));

  // Over the route's limit: 413 on the header alone.
  RawClient e(server->port());
  e.Send("POST /upload HTTP/1.1\r\nHost: x\r\nAuthorization: Basic cHJvbWV0aGV1czpwdw==\r\n"
         "X-Token: ok\r\nContent-Length: 8388608\r\n\r\n");
  EXPECT_THAT(e.Read(milliseconds(1500)), HasSubstr("HTTP/1.1 413"));

  // A chunked body that grows past the limit is cut off with 413 too.
  RawClient f(server->port());
  f.Send("POST /upload HTTP/1.1\r\nHost: x\r\nAuthorization: Basic cHJvbWV0aGV1czpwdw==\r\n"
         "X-Token: ok\r\nTransfer-Encoding: chunked\r\n\r\n");
  const std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
  for (int i = 0; i < 20 && f.Send(chunk); ++i) {
  }
  EXPECT_THAT(f.Read(milliseconds(1500)), HasSubstr("HTTP/1.1 413"));
  EXPECT_EQ(handled.load(), 0);

  // curl sends Expect: 100-continue for a large body and gets it answered.
  HttpReply ok = testing::HttpRequest("POST", Url(*server, "/upload"), std::string(300 << 10, 'y'),
                             {"X-Token: ok", "Expect: 100-continue"}, 5000, "", "prometheus:pw");
  EXPECT_EQ(ok.status, 200) << ok.error;
  EXPECT_EQ(ok.body, std::to_string(300 << 10));
  EXPECT_EQ(handled.load(), 1);
}

TEST(HttpServerTest, QuickRoutesAnswerWhileEveryWorkerIsBusy) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  HttpRoute slow{"POST", "/-/reload", [&](const HttpRequest&) {
                   std::unique_lock<std::mutex> lock(mu);
                   cv.wait(lock, [&] { return release; });
                   return HttpResponse::Text(200, "done\n");
                 }};
  HttpServer::Options o;
  o.worker_threads = 2;
  auto server = StartOrDie(o, {Metrics(), slow});
  std::vector<std::thread> blocked;
  for (int i = 0; i < 4; ++i) {
    blocked.emplace_back([&] { testing::HttpRequest("POST", Url(*server, "/-/reload"), "", {}, 10000); });
  }
  std::this_thread::sleep_for(milliseconds(200));
  HttpReply r = testing::HttpRequest("GET", Url(*server, "/metrics"), "", {}, 2000);
  EXPECT_EQ(r.status, 200) << r.error;
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  for (std::thread& t : blocked) t.join();
}

TEST(HttpServerTest, RoutingHeadAndExtraHeaders) {
  HttpServer::Options o;
  o.web.headers["X-Frame-Options"] = "deny";
  auto server = StartOrDie(o, {Metrics()});
  HttpReply r = testing::HttpRequest("GET", Url(*server, "/metrics"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["x-frame-options"], "deny");
  EXPECT_EQ(r.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(testing::HttpRequest("GET", Url(*server, "/nope")).status, 404);
  HttpReply wrong = testing::HttpRequest("POST", Url(*server, "/metrics"));
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.headers["allow"], "GET");
  HttpReply head = testing::HttpRequest("HEAD", Url(*server, "/metrics"));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  // Keep-alive: several requests on one connection.
  RawClient c(server->port());
  c.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string both = c.Read(milliseconds(500));
  EXPECT_NE(both.find("joelclaw_up 1"), both.rfind("joelclaw_up 1"));
}

TEST(HttpServerTest, OversizedHeadersAre431) {
  auto server = StartOrDie({}, {Metrics()});
  RawClient c(server->port());
  c.Send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(40000, 'a') + "\r\n\r\n");
  EXPECT_THAT(c.Read(seconds(1)), HasSubstr("HTTP/1.1 431"));
}

TEST(HttpServerTest, StopClosesHeldConnectionsPromptly) {
  auto server = StartOrDie({}, {Metrics()});
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 20; ++i) idle.push_back(std::make_unique<RawClient>(server->port()));
  ASSERT_TRUE(WaitFor([&] { return server->GetStats().open_connections == 20; }, seconds(2)));
  const auto start = std::chrono::steady_clock::now();
  server->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(1));
  EXPECT_TRUE(idle[0]->WaitClosed(seconds(1)));
}

// TLS through the web config: client certificates as exporter-toolkit's
// client_auth_type says, and certificate files re-read when they change.
class HttpServerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pki = testing::MakeTestPki(dir_);
    ASSERT_TRUE(pki.ok()) << pki.status().message();
    pki_ = *pki;
  }
  WebConfig Tls(const std::string& policy = "NoClientCert") {
    WebConfig w;
    w.tls_enabled = true;
    w.cert_file = dir_.File("server.pem");
    w.key_file = dir_.File("server.key");
    testing::WriteFileOrDie(w.cert_file, testing::ReadFileOrDie(pki_.leaf_cert_path), 0600);
    testing::WriteFileOrDie(w.key_file, testing::ReadFileOrDie(pki_.leaf_key_path), 0600);
    w.client_auth_type = policy;
    if (policy != "NoClientCert") w.client_ca_file = pki_.ca_cert_path;
    return w;
  }
  // curl with the test CA, optionally presenting the client certificate.
  testing::CommandOutput Curl(const HttpServer& s, bool client_cert,
                              const std::string& ca = "") {
    std::vector<std::string> argv = {"curl", "-sS", "--max-time", "5", "--cacert",
                                     ca.empty() ? pki_.ca_cert_path : ca,
                                     "--resolve",
                                     std::string(testing::kTestServerName) + ":" +
                                         std::to_string(s.port()) + ":127.0.0.1"};
    if (client_cert) {
      argv.insert(argv.end(), {"--cert", pki_.client_cert_path, "--key", pki_.client_key_path});
    }
    argv.push_back("https://" + std::string(testing::kTestServerName) + ":" +
                   std::to_string(s.port()) + "/metrics");
    return testing::RunCommand(argv, 20);
  }
  TempDir dir_;
  testing::TestPki pki_;
};

TEST_F(HttpServerTlsTest, RequireAndVerifyClientCert) {
  HttpServer::Options o;
  o.web = Tls("RequireAndVerifyClientCert");
  auto server = StartOrDie(o, {Metrics()});
  EXPECT_EQ(Curl(*server, false).out.find("joelclaw_up 1"), std::string::npos);
  EXPECT_THAT(Curl(*server, true).out, HasSubstr("joelclaw_up 1"));
  // TLS 1.1 and older are never offered.
  testing::CommandOutput old = testing::RunCommand(
      {"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(server->port()),
       "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"},
      20);
  EXPECT_NE(old.exit_code, 0) << old.out;
}

TEST_F(HttpServerTlsTest, VerifyClientCertIfGivenAndRequireAny) {
  HttpServer::Options o;
  o.web = Tls("VerifyClientCertIfGiven");
  auto server = StartOrDie(o, {Metrics()});
  EXPECT_THAT(Curl(*server, false).out, HasSubstr("joelclaw_up 1"));
  EXPECT_THAT(Curl(*server, true).out, HasSubstr("joelclaw_up 1"));
  o.web = Tls("RequireAnyClientCert");
  auto any = StartOrDie(o, {Metrics()});
  EXPECT_EQ(Curl(*any, false).out.find("joelclaw_up 1"), std::string::npos);
  EXPECT_THAT(Curl(*any, true).out, HasSubstr("joelclaw_up 1"));
}

TEST_F(HttpServerTlsTest, RotatedCertificatesAreUsedWithoutARestart) {
  HttpServer::Options o;
  o.web = Tls();
  auto server = StartOrDie(o, {Metrics()});
  ASSERT_THAT(Curl(*server, false).out, HasSubstr("joelclaw_up 1"));
  // A new CA and leaf, written over the configured files.
  TempDir other;
  auto next = testing::MakeTestPki(other);
  ASSERT_TRUE(next.ok());
  // Half a rotation (new certificate, old key) is refused and the old pair
  // stays in use.
  testing::WriteFileOrDie(o.web.cert_file, testing::ReadFileOrDie(next->leaf_cert_path), 0600);
  std::this_thread::sleep_for(milliseconds(1100));
  EXPECT_THAT(Curl(*server, false).out, HasSubstr("joelclaw_up 1"));
  testing::WriteFileOrDie(o.web.key_file, testing::ReadFileOrDie(next->leaf_key_path), 0600);
  std::this_thread::sleep_for(milliseconds(1100));
  Curl(*server, false, next->ca_cert_path);  // The change is noticed on a connection.
  EXPECT_THAT(Curl(*server, false, next->ca_cert_path).out, HasSubstr("joelclaw_up 1"));
  EXPECT_EQ(Curl(*server, false).out.find("joelclaw_up 1"), std::string::npos);
}

}  // namespace http_server_test
}  // namespace joelclaw
