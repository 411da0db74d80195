#include "exporter/probes/tcp_probe.h"

#include "exporter/probes/net.h"

namespace joelclaw {
namespace {

// Succeeds when a TCP connection opens before the deadline.
class TcpProbe : public Probe {
 public:
  TcpProbe(std::string address, std::string host, int port)
      : address_(std::move(address)), host_(std::move(host)), port_(port) {}

  ProbeResult Run(const ProbeContext& ctx) override {
    ProbeResult failure;
    auto conn = Connection::Dial(host_, port_, TlsOptions{}, ctx, &failure);
    if (conn == nullptr) return failure;
    ProbeResult ok;
    ok.success = true;
    ok.message = "connected";
    return ok;
  }
  std::string Describe() const override { return "tcp://" + address_; }
  int Port() const override { return port_; }

 private:
  std::string address_, host_;
  int port_;
};

}  // namespace

Result<std::unique_ptr<Probe>> ParseTcpProbe(const YAML::Node& node, const ConfigContext& ctx) {
  Status s = ctx.CheckMap(node, "tcp", {"address"});
  if (!s.ok()) return s;
  std::string address;
  if (!(s = ctx.GetString(node, "tcp", "address", true, &address)).ok()) return s;
  auto hp = SplitHostPort(address);
  if (!hp.ok()) return ctx.Error(node["address"], "tcp: " + hp.status().message());
  return std::unique_ptr<Probe>(new TcpProbe(address, hp->first, hp->second));
}

}  // namespace joelclaw
