#include "exporter/probes/ssh_probe.h"

#include "exporter/probes/net.h"

namespace joelclaw {
namespace {

// RFC 4253 §4.2: the server may send other lines before its identification
// string, which starts "SSH-2.0-" (or "SSH-1.99-" for compatible servers).
// The whole exchange is capped at 8 KiB.
constexpr size_t kMaxPreamble = 8192;

// True once a complete line starting "SSH-" has arrived.
bool HasIdentificationLine(const std::string& buf) {
  size_t start = 0;
  while (true) {
    size_t nl = buf.find('\n', start);
    if (nl == std::string::npos) return false;
    if (buf.compare(start, 4, "SSH-") == 0) return true;
    start = nl + 1;
  }
}

class SshProbe : public Probe {
 public:
  SshProbe(std::string address, std::string host, int port)
      : address_(std::move(address)), host_(std::move(host)), port_(port) {}

  ProbeResult Run(const ProbeContext& ctx) override {
    ProbeResult failure;
    auto conn = Connection::Dial(host_, port_, TlsOptions{}, ctx, &failure);
    if (conn == nullptr) return failure;
    std::string buf;
    if (!conn->ReadUntil(HasIdentificationLine, kMaxPreamble, ctx, &buf, &failure)) {
      if (failure.reason == FailureReason::kProtocol) {
        failure.message = "no SSH identification line: " + failure.message;
      }
      return failure;
    }
    size_t start = 0;
    while (true) {
      size_t nl = buf.find('\n', start);  // Found: ReadUntil saw a whole line.
      std::string line = buf.substr(start, nl - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind("SSH-", 0) == 0) return FromIdentification(line);
      start = nl + 1;
    }
  }
  std::string Describe() const override { return "ssh://" + address_; }
  int Port() const override { return port_; }

 private:
  // "SSH-protoversion-softwareversion SP comments"; 1.99 means a server
  // that also speaks 2.0.
  static ProbeResult FromIdentification(const std::string& line) {
    if (line.rfind("SSH-2.0-", 0) != 0 && line.rfind("SSH-1.99-", 0) != 0) {
      return ProbeResult::Fail(FailureReason::kProtocol,
                               "unsupported SSH version: " + PeerText(line));
    }
    ProbeResult ok;
    ok.success = true;
    ok.message = PeerText(line, 255);
    std::string software = line.substr(line.find('-', 4) + 1);
    ok.detail = PeerText(software.substr(0, software.find(' ')), 64);
    return ok;
  }

  std::string address_, host_;
  int port_;
};

}  // namespace

Result<std::unique_ptr<Probe>> ParseSshProbe(const YAML::Node& node, const ConfigContext& ctx) {
  Status s = ctx.CheckMap(node, "ssh", {"address"});
  if (!s.ok()) return s;
  std::string address;
  if (!(s = ctx.GetString(node, "ssh", "address", true, &address)).ok()) return s;
  auto hp = SplitHostPort(address);
  if (!hp.ok()) return ctx.Error(node["address"], "ssh: " + hp.status().message());
  return std::unique_ptr<Probe>(new SshProbe(address, hp->first, hp->second));
}

}  // namespace joelclaw
