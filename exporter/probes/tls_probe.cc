#include "exporter/probes/tls_probe.h"

#include <cmath>

#include "exporter/probes/net.h"

namespace joelclaw {
namespace {

// Completes a TLS handshake (verifying the chain and name unless told not
// to) and reports the leaf certificate's notAfter, so expiry can be alerted
// on weeks ahead.
class TlsProbe : public Probe {
 public:
  TlsProbe(std::string address, std::string host, int port, TlsOptions tls)
      : address_(std::move(address)), host_(std::move(host)), port_(port), tls_(std::move(tls)) {}

  ProbeResult Run(const ProbeContext& ctx) override {
    ProbeResult failure;
    auto conn = Connection::Dial(host_, port_, tls_, ctx, &failure);
    if (conn == nullptr) return failure;
    ProbeResult ok;
    ok.success = true;
    double not_after = conn->PeerCertNotAfter();
    if (not_after > 0) {
      ok.cert_not_after = not_after;
      // Reachable with an expired certificate only under insecure_skip_verify.
      long days = static_cast<long>(std::floor((not_after - ctx.env->NowSeconds()) / 86400));
      ok.detail = days >= 0 ? "certificate valid " + std::to_string(days) + " more days"
                            : "certificate expired " + std::to_string(-days) + " days ago";
    }
    ok.message = "handshake completed";
    return ok;
  }
  std::string Describe() const override {
    return "tls://" + address_ + (tls_.server_name.empty() ? "" : " (" + tls_.server_name + ")");
  }
  int Port() const override { return port_; }

 private:
  std::string address_, host_;
  int port_;
  TlsOptions tls_;
};

}  // namespace

Result<std::unique_ptr<Probe>> ParseTlsProbe(const YAML::Node& node, const ConfigContext& ctx) {
  Status s = ctx.CheckMap(node, "tls", {"address", "server_name", "ca_file", "insecure_skip_verify"});
  if (!s.ok()) return s;
  std::string address;
  TlsOptions tls;
  tls.enabled = true;
  if (!(s = ctx.GetString(node, "tls", "address", true, &address)).ok()) return s;
  if (!(s = ctx.GetString(node, "tls", "server_name", false, &tls.server_name)).ok()) return s;
  if (!(s = ctx.GetString(node, "tls", "ca_file", false, &tls.ca_file)).ok()) return s;
  if (!(s = ctx.GetBool(node, "tls", "insecure_skip_verify", &tls.insecure_skip_verify)).ok()) return s;
  tls.ca_file = ctx.ResolvePath(tls.ca_file);
  auto hp = SplitHostPort(address);
  if (!hp.ok()) return ctx.Error(node["address"], "tls: " + hp.status().message());
  return std::unique_ptr<Probe>(new TlsProbe(address, hp->first, hp->second, std::move(tls)));
}

}  // namespace joelclaw
