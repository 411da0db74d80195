#include "exporter/probes/redis_probe.h"

#include "exporter/probes/net.h"

namespace joelclaw {
namespace {

constexpr size_t kMaxReply = 4096;

bool HasLine(const std::string& buf) { return buf.find("\r\n") != std::string::npos; }

std::string Resp(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// Sends PING (after AUTH when a password file is configured) and expects
// +PONG, the way redis-cli ping does.
class RedisProbe : public Probe {
 public:
  RedisProbe(std::string address, std::string host, int port, std::string username,
             std::string password_file)
      : address_(std::move(address)), host_(std::move(host)), port_(port),
        username_(std::move(username)), password_file_(std::move(password_file)) {}

  ProbeResult Run(const ProbeContext& ctx) override {
    std::string password;
    if (!password_file_.empty()) {
      // Read on every run so a rotated password is picked up without reload.
      Result<std::string> p = ctx.env->ReadFile(password_file_, 4096);
      if (!p.ok()) return ProbeResult::Fail(FailureReason::kError, p.status().message());
      password = *p;
      while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
        password.pop_back();
      }
    }
    ProbeResult failure;
    auto conn = Connection::Dial(host_, port_, TlsOptions{}, ctx, &failure);
    if (conn == nullptr) return failure;
    std::string reply;
    if (!password_file_.empty()) {
      std::vector<std::string> auth = {"AUTH"};
      if (!username_.empty()) auth.push_back(username_);
      auth.push_back(password);
      if (!conn->Send(Resp(auth), ctx, &failure)) return failure;
      if (!conn->ReadUntil(HasLine, kMaxReply, ctx, &reply, &failure)) return failure;
      if (reply.rfind("+OK\r\n", 0) != 0) {
        // An error reply is Redis refusing the credentials; anything else is
        // not Redis at all.
        if (reply[0] == '-') {
          return ProbeResult::Fail(FailureReason::kAuth,
                                   "AUTH rejected: " + PeerText(reply.substr(1), 120));
        }
        return ProbeResult::Fail(FailureReason::kProtocol,
                                 "expected +OK to AUTH, got: " + PeerText(reply, 120));
      }
      reply.clear();
    }
    if (!conn->Send(Resp({"PING"}), ctx, &failure)) return failure;
    if (!conn->ReadUntil(HasLine, kMaxReply, ctx, &reply, &failure)) return failure;
    if (reply.rfind("+PONG\r\n", 0) == 0) {
      ProbeResult ok;
      ok.success = true;
      ok.message = "PONG";
      return ok;
    }
    if (reply.rfind("-NOAUTH", 0) == 0 || reply.rfind("-WRONGPASS", 0) == 0) {
      return ProbeResult::Fail(FailureReason::kAuth, PeerText(reply.substr(1), 120));
    }
    return ProbeResult::Fail(FailureReason::kProtocol,
                             "expected +PONG, got: " + PeerText(reply, 120));
  }
  std::string Describe() const override { return "redis://" + address_; }
  int Port() const override { return port_; }

 private:
  std::string address_, host_;
  int port_;
  std::string username_, password_file_;
};

}  // namespace

Result<std::unique_ptr<Probe>> ParseRedisProbe(const YAML::Node& node, const ConfigContext& ctx) {
  Status s = ctx.CheckMap(node, "redis", {"address", "username", "password_file"});
  if (!s.ok()) return s;
  std::string address, username, password_file;
  if (!(s = ctx.GetString(node, "redis", "address", true, &address)).ok()) return s;
  if (!(s = ctx.GetString(node, "redis", "username", false, &username)).ok()) return s;
  if (!(s = ctx.GetString(node, "redis", "password_file", false, &password_file)).ok()) return s;
  if (!username.empty() && password_file.empty()) {
    return ctx.Error(node, "redis: username needs a password_file");
  }
  auto hp = SplitHostPort(address);
  if (!hp.ok()) return ctx.Error(node["address"], "redis: " + hp.status().message());
  return std::unique_ptr<Probe>(new RedisProbe(address, hp->first, hp->second, username,
                                               ctx.ResolvePath(password_file)));
}

}  // namespace joelclaw
