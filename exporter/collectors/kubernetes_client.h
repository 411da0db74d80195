#pragma once

#include <curl/curl.h>

#include <string>
#include <string_view>

#include "exporter/collector.h"
#include "exporter/env.h"
#include "exporter/status.h"

namespace joelclaw {

/// How to reach and authenticate to one Kubernetes API server: the cluster
/// and user of one kubeconfig context, or the in-cluster service account.
/// Certificate material is either inline PEM (`*_pem`) or a file to read
/// (`*_file`, absolute); ResolveKubeFiles turns files into PEM. Plain value.
struct KubeClientConfig {
  std::string context;  ///< Context name ("admin@joelclaw", "in-cluster"); for messages.
  std::string server;   ///< "https://host:port[/prefix]", no trailing slash.
  std::string tls_server_name;  ///< kubeconfig tls-server-name, or "".
  bool insecure_skip_tls_verify = false;
  std::string ca_pem, ca_file;      ///< Both empty: the system roots.
  std::string cert_pem, cert_file;  ///< Client certificate, or empty.
  std::string key_pem, key_file;    ///< Its key; present exactly when a certificate is.
  std::string token;       ///< Literal bearer token, or "".
  std::string token_file;  ///< Read on every run (service account tokens rotate).
};

/// Parses kubeconfig YAML (the clientcmd v1 `Config`, as `kubectl config
/// view --raw` or `talosctl kubeconfig` writes it) and selects `context`, or
/// `current-context` when `context` is "". Reads the cluster's `server`,
/// `certificate-authority(-data)`, `tls-server-name`,
/// `insecure-skip-tls-verify` and the user's `client-certificate(-data)`,
/// `client-key(-data)`, `token`, `tokenFile`; `*-data` is base64 and
/// decoded here. Relative file paths are resolved against `dir` (the
/// kubeconfig's directory, as kubectl does). Users with an exec or
/// auth-provider plugin or basic auth are errors (the exporter runs no
/// plugins). `path` only names the file in messages, which are one
/// sentence each ("kubeconfig /root/.kube/config: context 'x' is not
/// defined"). Pure; never throws.
Result<KubeClientConfig> ParseKubeconfig(std::string_view yaml, const std::string& path,
                                         const std::string& dir, const std::string& context);

/// The in-cluster configuration of client-go's rest.InClusterConfig:
/// server https://HOST:PORT from KUBERNETES_SERVICE_HOST/PORT (given here,
/// "" when unset), CA `dir`/ca.crt and token `dir`/token, where `dir` is
/// normally kKubeServiceAccountDir. Errors when HOST or PORT is empty (not
/// running in a pod). Pure.
Result<KubeClientConfig> InClusterKubeConfig(const std::string& service_host,
                                             const std::string& service_port,
                                             const std::string& dir);
inline constexpr char kKubeServiceAccountDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Reads every `*_file` of `config` through `env` into its `*_pem` (not the
/// token file, which KubeApiClient reads on each run).
Status ResolveKubeFiles(Env* env, KubeClientConfig* config);

/// GETs from one API server over one connection (kept alive between Get
/// calls), with the deadline and cancel of a collector run, a body cap and
/// sentence-style failures that tell the causes apart: credentials rejected
/// (401), access denied (403), TLS failure, unreachable, timeout, other
/// status, body too large. Owned by one collector run; not thread-safe.
class KubeApiClient {
 public:
  /// `config` must be resolved (ResolveKubeFiles); `token` is the bearer
  /// token to send ("" for none). `ctx` must outlive the client.
  KubeApiClient(const KubeClientConfig& config, std::string token, size_t max_body_bytes,
                const CollectContext& ctx);
  ~KubeApiClient();
  KubeApiClient(const KubeApiClient&) = delete;
  KubeApiClient& operator=(const KubeApiClient&) = delete;

  /// GET server + `path` ("/api/v1/nodes"), Accept application/json. The
  /// body of a 200 answer, else an error sentence.
  Result<std::string> Get(const std::string& path);

 private:
  const KubeClientConfig& config_;
  std::string token_;
  size_t max_body_bytes_;
  const CollectContext& ctx_;
  CURLM* multi_ = nullptr;  // Holds the connection cache between Gets.
  CURL* easy_ = nullptr;
};

/// The `message` of a Kubernetes Status object ({"kind":"Status",
/// "message":"nodes is forbidden: User …"}), the first 200 characters; ""
/// when `body` is not one. Pure.
std::string KubeStatusMessage(std::string_view body);

}  // namespace joelclaw
