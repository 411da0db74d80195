#include "exporter/web_config.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>

#include "exporter/config_node.h"

namespace joelclaw {
namespace {

bool Readable(const std::string& path) {
  std::ifstream in(path);
  return static_cast<bool>(in);
}

// exporter-toolkit's list: the headers a web config may add, and the values
// allowed where the header has a fixed set.
struct ExtraHeader {
  const char* name;
  std::vector<std::string> values;  // Empty = any value.
};
const ExtraHeader kExtraHeaders[] = {
    {"Strict-Transport-Security", {}},
    {"X-Content-Type-Options", {"nosniff"}},
    {"X-Frame-Options", {"deny", "sameorigin"}},
    {"X-XSS-Protection", {}},
    {"Content-Security-Policy", {}},
};

// The cost of a bcrypt hash ("$2y$12$…" → 12), 0 when unreadable.
int BcryptCost(const std::string& hash) {
  if (hash.size() < 7 || hash[3] != '$' || hash[6] != '$') return 0;
  if (!isdigit(static_cast<unsigned char>(hash[4])) ||
      !isdigit(static_cast<unsigned char>(hash[5]))) {
    return 0;
  }
  return (hash[4] - '0') * 10 + (hash[5] - '0');
}

Status ParseHttpServerConfig(const YAML::Node& node, const ConfigContext& ctx, WebConfig* wc) {
  Status s = ctx.CheckMap(node, "http_server_config", {"headers", "http2"});
  if (!s.ok()) return s;
  if (!(s = ctx.GetBool(node, "http_server_config", "http2", &wc->http2)).ok()) return s;
  YAML::Node headers = node["headers"];
  if (!headers || headers.IsNull()) return Status::Ok();
  if (!headers.IsMap()) {
    return ctx.Error(headers, "http_server_config: headers must be a mapping of header to value");
  }
  for (const auto& kv : headers) {
    const std::string name = kv.first.Scalar();
    const ExtraHeader* known = nullptr;
    for (const ExtraHeader& h : kExtraHeaders) {
      if (name == h.name) known = &h;
    }
    if (known == nullptr) {
      std::string list;
      for (const ExtraHeader& h : kExtraHeaders) list += (list.empty() ? "" : ", ") + std::string(h.name);
      return ctx.Error(kv.first, "http_server_config: header '" + name +
                                     "' cannot be configured (allowed: " + list + ")");
    }
    if (!kv.second.IsScalar() || kv.second.Scalar().empty()) {
      return ctx.Error(kv.first, "http_server_config: header '" + name + "' needs a value");
    }
    const std::string value = kv.second.Scalar();
    if (value.find_first_of("\r\n") != std::string::npos || value.find('\0') != std::string::npos) {
      return ctx.Error(kv.second, "http_server_config: header '" + name +
                                      "' must be one line");
    }
    if (!known->values.empty() &&
        std::find(known->values.begin(), known->values.end(), value) == known->values.end()) {
      std::string list;
      for (const std::string& v : known->values) list += (list.empty() ? "" : ", ") + v;
      return ctx.Error(kv.second, "http_server_config: header '" + name + "' must be one of " +
                                      list + ", not '" + value + "'");
    }
    wc->headers[name] = value;
  }
  return Status::Ok();
}

}  // namespace

Result<WebConfig> ParseWebConfig(std::string_view yaml, const std::string& filename) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    return Status::Error(filename + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
  ConfigContext ctx(filename);
  WebConfig wc;
  if (root.IsNull()) return wc;  // An empty file: plain HTTP, no auth.
  try {
    Status s = ctx.CheckMap(root, "the web config",
                            {"tls_server_config", "http_server_config", "basic_auth_users"});
    if (!s.ok()) return s;
    if (YAML::Node tls = root["tls_server_config"]; tls && !tls.IsNull()) {
      s = ctx.CheckMap(tls, "tls_server_config",
                       {"cert_file", "key_file", "client_ca_file", "client_auth_type",
                        "min_version", "max_version"});
      if (!s.ok()) return s;
      const char* what = "tls_server_config";
      if (!(s = ctx.GetString(tls, what, "cert_file", true, &wc.cert_file)).ok()) return s;
      if (!(s = ctx.GetString(tls, what, "key_file", true, &wc.key_file)).ok()) return s;
      if (!(s = ctx.GetString(tls, what, "client_ca_file", false, &wc.client_ca_file)).ok()) return s;
      if (!(s = ctx.GetString(tls, what, "client_auth_type", false, &wc.client_auth_type)).ok()) return s;
      if (!(s = ctx.GetString(tls, what, "min_version", false, &wc.min_version)).ok()) return s;
      if (!(s = ctx.GetString(tls, what, "max_version", false, &wc.max_version)).ok()) return s;
      wc.cert_file = ctx.ResolvePath(wc.cert_file);
      wc.key_file = ctx.ResolvePath(wc.key_file);
      wc.client_ca_file = ctx.ResolvePath(wc.client_ca_file);
      if (!Readable(wc.cert_file)) return ctx.Error(tls["cert_file"], "cannot read cert_file " + wc.cert_file);
      if (!Readable(wc.key_file)) return ctx.Error(tls["key_file"], "cannot read key_file " + wc.key_file);
      const std::string& cat = wc.client_auth_type;
      if (cat != "NoClientCert" && cat != "RequestClientCert" && cat != "RequireAnyClientCert" &&
          cat != "VerifyClientCertIfGiven" && cat != "RequireAndVerifyClientCert") {
        return ctx.Error(tls["client_auth_type"],
                         "client_auth_type must be NoClientCert, RequestClientCert, "
                         "RequireAnyClientCert, VerifyClientCertIfGiven or "
                         "RequireAndVerifyClientCert");
      }
      // Verifying needs the CAs to verify against (exporter-toolkit says the
      // same); the other policies take any certificate.
      if ((cat == "VerifyClientCertIfGiven" || cat == "RequireAndVerifyClientCert") &&
          wc.client_ca_file.empty()) {
        return ctx.Error(tls, "client_auth_type " + cat + " needs client_ca_file");
      }
      if (!wc.client_ca_file.empty() && !Readable(wc.client_ca_file)) {
        return ctx.Error(tls["client_ca_file"], "cannot read client_ca_file " + wc.client_ca_file);
      }
      if (wc.min_version != "TLS12" && wc.min_version != "TLS13") {
        return ctx.Error(tls["min_version"],
                         "min_version must be TLS12 or TLS13 (older versions are not offered)");
      }
      if (wc.max_version != "TLS12" && wc.max_version != "TLS13") {
        return ctx.Error(tls["max_version"], "max_version must be TLS12 or TLS13");
      }
      if (wc.min_version == "TLS13" && wc.max_version == "TLS12") {
        return ctx.Error(tls["max_version"], "max_version TLS12 is below min_version TLS13");
      }
      wc.tls_enabled = true;
    }
    if (YAML::Node http = root["http_server_config"]; http && !http.IsNull()) {
      if (!(s = ParseHttpServerConfig(http, ctx, &wc)).ok()) return s;
    }
    if (YAML::Node users = root["basic_auth_users"]; users && !users.IsNull()) {
      if (!users.IsMap()) return ctx.Error(users, "basic_auth_users must be a mapping of user to bcrypt hash");
      for (const auto& kv : users) {
        const std::string user = kv.first.Scalar();
        if (user.empty() || user.find(':') != std::string::npos) {
          return ctx.Error(kv.first, "basic_auth_users: user names must be non-empty and have no ':'");
        }
        if (!kv.second.IsScalar() || kv.second.Scalar().rfind("$2", 0) != 0 ||
            kv.second.Scalar().size() != 60 || BcryptCost(kv.second.Scalar()) < 4 ||
            BcryptCost(kv.second.Scalar()) > 31) {
          return ctx.Error(kv.second, "basic_auth_users: the password of '" + user +
                                          "' must be a bcrypt hash ($2y$…, 60 characters)");
        }
        wc.users[user] = kv.second.Scalar();
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::Error(filename + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return wc;
}

Result<WebConfig> LoadWebConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::Error("cannot read web config file " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  return ParseWebConfig(buf.str(), path);
}

bool VerifyBcrypt(const std::string& password, const std::string& hash) {
  struct crypt_data data;
  std::memset(&data, 0, sizeof(data));
  const char* out = crypt_r(password.c_str(), hash.c_str(), &data);
  if (out == nullptr || out[0] == '*') return false;
  std::string computed(out);
  return computed.size() == hash.size() &&
         CRYPTO_memcmp(computed.data(), hash.data(), hash.size()) == 0;
}

bool DecodeBase64(std::string_view in, std::string* out) {
  out->clear();
  // EVP_DecodeBlock skips surrounding whitespace and counts padding as zero
  // bytes: the strict shape (no whitespace, a multiple of four, '=' only at
  // the end) is checked here, and the padding taken off its length.
  if (in.size() % 4 != 0) return false;
  size_t pad = 0;
  while (pad < in.size() && pad < 3 && in[in.size() - 1 - pad] == '=') ++pad;
  if (pad > 2) return false;
  for (size_t i = 0; i + pad < in.size(); ++i) {
    const char c = in[i];
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/')) return false;
  }
  if (in.empty()) return true;
  std::string buf(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(buf.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0 || static_cast<size_t>(n) != buf.size()) return false;
  buf.resize(buf.size() - pad);
  *out = std::move(buf);
  return true;
}

BasicAuthenticator::BasicAuthenticator(std::map<std::string, std::string> users)
    : users_(std::move(users)) {
  int cost = -1;
  for (const auto& [user, hash] : users_) {
    if (BcryptCost(hash) > cost) {
      cost = BcryptCost(hash);
      decoy_hash_ = hash;
    }
  }
  if (RAND_bytes(hmac_key_, sizeof(hmac_key_)) != 1) {
    // No randomness: the digests are still one-way, only not keyed.
    std::memset(hmac_key_, 0, sizeof(hmac_key_));
  }
}

bool BasicAuthenticator::Decode(std::string_view header, Credentials* out) {
  constexpr std::string_view kScheme = "basic ";
  if (header.size() <= kScheme.size() ||
      strncasecmp(header.data(), kScheme.data(), kScheme.size()) != 0) {
    return false;
  }
  header.remove_prefix(kScheme.size());
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  std::string decoded;
  if (!DecodeBase64(header, &decoded)) return false;
  if (decoded.find('\0') != std::string::npos) return false;
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  out->user = decoded.substr(0, colon);
  out->password = decoded.substr(colon + 1);
  return true;
}

std::string BasicAuthenticator::CacheKey(const Credentials& c, const std::string& hash) const {
  // NUL cannot occur in any part (rejected above, absent from bcrypt hashes),
  // so the joined message is unambiguous.
  const std::string message = c.user + '\0' + c.password + '\0' + hash;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), hmac_key_, sizeof(hmac_key_),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

BasicAuthenticator::Verdict BasicAuthenticator::CheckFast(std::string_view header) const {
  Credentials c;
  if (!Decode(header, &c)) return Verdict::kDenied;
  auto it = users_.find(c.user);
  if (it == users_.end()) return Verdict::kNeedsBcrypt;  // The decoy's time.
  const std::string key = CacheKey(c, it->second);
  std::lock_guard<std::mutex> lock(mu_);
  return verified_.count(key) > 0 ? Verdict::kAllowed : Verdict::kNeedsBcrypt;
}

bool BasicAuthenticator::Check(std::string_view header) {
  const Verdict fast = CheckFast(header);
  if (fast != Verdict::kNeedsBcrypt) return fast == Verdict::kAllowed;
  Credentials c;
  Decode(header, &c);
  auto it = users_.find(c.user);
  if (it == users_.end()) {
    std::lock_guard<std::mutex> lock(bcrypt_mu_);
    VerifyBcrypt(c.password, decoy_hash_);
    return false;
  }
  bool ok;
  {
    std::lock_guard<std::mutex> lock(bcrypt_mu_);
    ok = VerifyBcrypt(c.password, it->second);
  }
  if (!ok) return false;
  const std::string key = CacheKey(c, it->second);
  std::lock_guard<std::mutex> lock(mu_);
  if (verified_.size() >= kMaxCached) verified_.clear();
  verified_.insert(key);
  return true;
}

}  // namespace joelclaw
