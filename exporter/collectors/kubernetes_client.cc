#include "exporter/collectors/kubernetes_client.h"

#include <cctype>
#include <exception>

#include "exporter/probes/net.h"
#include "exporter/web_config.h"
#include "nlohmann/json.hpp"
#include "yaml-cpp/yaml.h"

namespace joelclaw {
namespace {

// Finds the entry named `name` in a kubeconfig list of {name, <kind>: {…}}.
YAML::Node FindNamed(const YAML::Node& list, const std::string& name) {
  if (!list || !list.IsSequence()) return YAML::Node(YAML::NodeType::Undefined);
  for (const YAML::Node& entry : list) {
    if (entry.IsMap() && entry["name"] && entry["name"].IsScalar() &&
        entry["name"].Scalar() == name) {
      return entry;
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

std::string Scalar(const YAML::Node& map, const char* key) {
  const YAML::Node v = map[key];
  return v && v.IsScalar() ? v.Scalar() : "";
}

std::string ResolveIn(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || dir.empty()) return path;
  return dir + "/" + path;
}

// kubeconfig `*-data` fields are base64 of PEM; Go's decoder ignores line
// breaks, so wrapped values (some tools write them) are accepted too.
Status DecodeData(const YAML::Node& map, const char* key, const std::string& what,
                  std::string* out) {
  std::string text = Scalar(map, key);
  std::string compact;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) compact += c;
  }
  if (compact.empty()) return Status::Ok();
  if (!DecodeBase64(compact, out)) return Status::Error(what + " " + key + " is not valid base64");
  return Status::Ok();
}

std::string CurlErrorText(CURLcode rc, const char* errbuf) {
  std::string msg = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

void SetBlob(CURL* c, CURLoption option, const std::string& pem) {
  struct curl_blob blob;
  blob.data = const_cast<char*>(pem.data());
  blob.len = pem.size();
  blob.flags = CURL_BLOB_COPY;
  curl_easy_setopt(c, option, &blob);
}

}  // namespace

Result<KubeClientConfig> ParseKubeconfig(std::string_view yaml, const std::string& path,
                                         const std::string& dir, const std::string& context) {
  const std::string file = "kubeconfig " + path;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Status::Error(file + " is not valid YAML (line " + std::to_string(e.mark.line + 1) +
                         ": " + e.msg + ")");
  }
  if (!root.IsMap()) return Status::Error(file + " is not a kubeconfig (no clusters, users, contexts)");
  try {
    KubeClientConfig c;
    c.context = context.empty() ? Scalar(root, "current-context") : context;
    if (c.context.empty()) {
      return Status::Error(file + " has no current-context; set kubernetes.context in the config");
    }
    const YAML::Node ctx_entry = FindNamed(root["contexts"], c.context);
    if (!ctx_entry) return Status::Error(file + ": context '" + c.context + "' is not defined");
    const YAML::Node ctx_node = ctx_entry["context"];
    if (!ctx_node || !ctx_node.IsMap()) {
      return Status::Error(file + ": context '" + c.context + "' has no context section");
    }
    const std::string cluster_name = Scalar(ctx_node, "cluster");
    const std::string user_name = Scalar(ctx_node, "user");
    const YAML::Node cluster_entry = FindNamed(root["clusters"], cluster_name);
    if (cluster_name.empty() || !cluster_entry || !cluster_entry["cluster"].IsMap()) {
      return Status::Error(file + ": cluster '" + cluster_name + "' of context '" + c.context +
                           "' is not defined");
    }
    const YAML::Node cluster = cluster_entry["cluster"];
    const std::string cw = file + ": cluster '" + cluster_name + "'";
    c.server = Scalar(cluster, "server");
    while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
    if (c.server.empty()) return Status::Error(cw + " has no server");
    if (c.server.rfind("https://", 0) != 0 && c.server.rfind("http://", 0) != 0) {
      return Status::Error(cw + ": server '" + c.server + "' is not an https:// (or http://) URL");
    }
    c.tls_server_name = Scalar(cluster, "tls-server-name");
    c.insecure_skip_tls_verify = Scalar(cluster, "insecure-skip-tls-verify") == "true";
    Status s = DecodeData(cluster, "certificate-authority-data", cw, &c.ca_pem);
    if (!s.ok()) return s;
    if (c.ca_pem.empty()) c.ca_file = ResolveIn(dir, Scalar(cluster, "certificate-authority"));

    if (!user_name.empty()) {
      const YAML::Node user_entry = FindNamed(root["users"], user_name);
      if (!user_entry) {
        return Status::Error(file + ": user '" + user_name + "' of context '" + c.context +
                             "' is not defined");
      }
      const YAML::Node user = user_entry["user"];
      const std::string uw = file + ": user '" + user_name + "'";
      if (user && user.IsMap()) {
        if (user["exec"] || user["auth-provider"]) {
          return Status::Error(uw + " gets its credentials from an " +
                               (user["exec"] ? "exec" : "auth-provider") +
                               " plugin, which the exporter does not run; give it a token, "
                               "tokenFile or client certificate");
        }
        if (user["username"] || user["password"]) {
          return Status::Error(uw + " uses basic auth, which the exporter does not support; "
                                    "give it a token, tokenFile or client certificate");
        }
        if (!(s = DecodeData(user, "client-certificate-data", uw, &c.cert_pem)).ok()) return s;
        if (!(s = DecodeData(user, "client-key-data", uw, &c.key_pem)).ok()) return s;
        if (c.cert_pem.empty()) c.cert_file = ResolveIn(dir, Scalar(user, "client-certificate"));
        if (c.key_pem.empty()) c.key_file = ResolveIn(dir, Scalar(user, "client-key"));
        const bool has_cert = !c.cert_pem.empty() || !c.cert_file.empty();
        const bool has_key = !c.key_pem.empty() || !c.key_file.empty();
        if (has_cert != has_key) {
          return Status::Error(uw + " has a client " +
                               (has_cert ? "certificate but no key" : "key but no certificate"));
        }
        c.token = Scalar(user, "token");
        if (c.token.empty()) c.token_file = ResolveIn(dir, Scalar(user, "tokenFile"));
      }
    }
    return c;
  } catch (const std::exception& e) {
    // A field of an unexpected kind (a list where a map belongs, …).
    return Status::Error(file + " is malformed: " + e.what());
  }
}

Result<KubeClientConfig> InClusterKubeConfig(const std::string& service_host,
                                             const std::string& service_port,
                                             const std::string& dir) {
  if (service_host.empty() || service_port.empty()) {
    return Status::Error(
        "in_cluster is set but KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not both "
        "set; the exporter is not running in a Kubernetes pod");
  }
  KubeClientConfig c;
  c.context = "in-cluster";
  c.server = "https://" + BracketHost(service_host) + ":" + service_port;
  c.ca_file = dir + "/ca.crt";
  c.token_file = dir + "/token";
  return c;
}

Status ResolveKubeFiles(Env* env, KubeClientConfig* config) {
  struct {
    std::string* file;
    std::string* pem;
    const char* what;
  } files[] = {{&config->ca_file, &config->ca_pem, "certificate authority"},
               {&config->cert_file, &config->cert_pem, "client certificate"},
               {&config->key_file, &config->key_pem, "client key"}};
  for (auto& f : files) {
    if (f.file->empty()) continue;
    Result<std::string> data = env->ReadFile(*f.file, 1 << 20);
    if (!data.ok()) return data.status().WithPrefix(std::string("kubernetes ") + f.what);
    *f.pem = std::move(data).value();
    f.file->clear();
  }
  return Status::Ok();
}

std::string KubeStatusMessage(std::string_view body) {
  const nlohmann::json j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (!j.is_object() || j.value("kind", "") != "Status") return "";
  auto it = j.find("message");
  if (it == j.end() || !it->is_string()) return "";
  return PeerText(it->get<std::string>(), 200);
}

KubeApiClient::KubeApiClient(const KubeClientConfig& config, std::string token,
                             size_t max_body_bytes, const CollectContext& ctx)
    : config_(config), token_(std::move(token)), max_body_bytes_(max_body_bytes), ctx_(ctx) {
  multi_ = curl_multi_init();
  easy_ = curl_easy_init();
}

KubeApiClient::~KubeApiClient() {
  if (easy_ != nullptr) curl_easy_cleanup(easy_);
  if (multi_ != nullptr) curl_multi_cleanup(multi_);
}

Result<std::string> KubeApiClient::Get(const std::string& path) {
  if (multi_ == nullptr || easy_ == nullptr) return Status::Error("curl initialisation failed");
  const std::string& server = config_.server;
  const ProbeContext pctx{ctx_.deadline, ctx_.cancel, ctx_.env};
  CURL* c = easy_;
  // Options are set afresh for each request (the timeout shrinks with the
  // run's deadline); the connection stays in multi_'s cache.
  curl_easy_reset(c);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  ApplyProbeDeadline(c, pctx);
  std::string url = server + path;
  struct curl_slist* connect_to = nullptr;
  if (!config_.tls_server_name.empty()) {
    // Verify (and send SNI for) tls-server-name while connecting to the
    // server's address, like curl --connect-to.
    CURLU* u = curl_url();
    char* host = nullptr;
    char* port = nullptr;
    if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_HOST, config_.tls_server_name.c_str(), 0) == CURLUE_OK) {
      char* rewritten = nullptr;
      if (curl_url_get(u, CURLUPART_URL, &rewritten, 0) == CURLUE_OK) url = rewritten;
      curl_free(rewritten);
      const std::string rule = BracketHost(config_.tls_server_name) + ":" + port + ":" + host +
                               ":" + port;
      connect_to = curl_slist_append(nullptr, rule.c_str());
      curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to);
    }
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
  }
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(c, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "joelclaw_exporter");
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  BodySink sink;
  sink.limit = max_body_bytes_;
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteCappedBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_body_bytes_));
  struct curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  if (!token_.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + token_).c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  if (!config_.ca_pem.empty()) SetBlob(c, CURLOPT_CAINFO_BLOB, config_.ca_pem);
  if (!config_.cert_pem.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
    SetBlob(c, CURLOPT_SSLCERT_BLOB, config_.cert_pem);
    curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
    SetBlob(c, CURLOPT_SSLKEY_BLOB, config_.key_pem);
  }
  if (config_.insecure_skip_tls_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }

  CURLcode rc = CURLE_FAILED_INIT;
  if (curl_multi_add_handle(multi_, c) == CURLM_OK) {
    rc = RunTransfer(multi_, c, pctx);
    curl_multi_remove_handle(multi_, c);
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  const FailureReason reason = ReasonForCurlResult(c, rc);
  curl_slist_free_all(headers);
  curl_slist_free_all(connect_to);

  const std::string api = "the Kubernetes API at " + server;
  if (rc != CURLE_OK) {
    const std::string why = CurlErrorText(rc, errbuf);
    if (ctx_.cancelled()) return Status::Error("cancelled");
    if (sink.overflow || rc == CURLE_FILESIZE_EXCEEDED) {
      return Status::Error("the answer of " + api + " to GET " + path + " is larger than " +
                           std::to_string(max_body_bytes_) + " bytes (max_body_bytes)");
    }
    // A server that rejects the client certificate says so with a TLS alert
    // that curl may only see on its first read.
    if (reason == FailureReason::kTls || why.find("SSL") != std::string::npos ||
        why.find("alert") != std::string::npos) {
      return Status::Error("TLS with " + api + " failed (" + why +
                           "); check the cluster's certificate-authority, the server name and "
                           "the client certificate");
    }
    if (reason == FailureReason::kTimeout) {
      return Status::Error(api + " did not answer GET " + path + " before the timeout (" + why +
                           ")");
    }
    if (reason == FailureReason::kRefused || reason == FailureReason::kConnection ||
        reason == FailureReason::kDns) {
      return Status::Error(api + " is unreachable (" + why + ")");
    }
    return Status::Error("GET " + path + " from " + api + " failed (" + why + ")");
  }
  if (status == 200) return std::move(sink.data);
  const std::string detail = KubeStatusMessage(sink.data);
  if (status == 401) {
    return Status::Error(api + " rejected the credentials of context '" + config_.context +
                         "' (HTTP 401 Unauthorized): the token or client certificate is wrong, "
                         "expired or missing");
  }
  if (status == 403) {
    return Status::Error(api + " denied GET " + path + " (HTTP 403 Forbidden" +
                         (detail.empty() ? "" : ": " + detail) +
                         "); the exporter's user needs list access to it");
  }
  return Status::Error(api + " answered GET " + path + " with HTTP " + std::to_string(status) +
                       (detail.empty() ? "" : ": " + detail));
}

}  // namespace joelclaw
