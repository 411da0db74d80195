#include "exporter/web_config.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

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

std::string Sha256(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return std::string(reinterpret_cast<char*>(md), sizeof(md));
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
    Status s = ctx.CheckMap(root, "the web config", {"tls_server_config", "basic_auth_users"});
    if (!s.ok()) return s;
    if (YAML::Node tls = root["tls_server_config"]; tls && !tls.IsNull()) {
      s = ctx.CheckMap(tls, "tls_server_config",
                       {"cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version"});
      if (!s.ok()) return s;
      const char* what = "tls_server_config";
      if (!(s = ctx.GetString(tls, what, "cert_file", true, &wc.cert_file)).ok()) return s;
      if (!(s = ctx.GetString(tls, what, "key_file", true, &wc.key_file)).ok()) return s;
      if (!(s = ctx.GetString(tls, what, "client_ca_file", false, &wc.client_ca_file)).ok()) return s;
      if (!(s = ctx.GetString(tls, what, "client_auth_type", false, &wc.client_auth_type)).ok()) return s;
      if (!(s = ctx.GetString(tls, what, "min_version", false, &wc.min_version)).ok()) return s;
      wc.cert_file = ctx.ResolvePath(wc.cert_file);
      wc.key_file = ctx.ResolvePath(wc.key_file);
      wc.client_ca_file = ctx.ResolvePath(wc.client_ca_file);
      if (!Readable(wc.cert_file)) return ctx.Error(tls["cert_file"], "cannot read cert_file " + wc.cert_file);
      if (!Readable(wc.key_file)) return ctx.Error(tls["key_file"], "cannot read key_file " + wc.key_file);
      if (wc.client_auth_type != "NoClientCert" && wc.client_auth_type != "RequireAndVerifyClientCert" &&
          wc.client_auth_type != "VerifyClientCertIfGiven") {
        return ctx.Error(tls["client_auth_type"],
                         "client_auth_type must be NoClientCert, VerifyClientCertIfGiven or "
                         "RequireAndVerifyClientCert");
      }
      if (wc.client_auth_type != "NoClientCert" && wc.client_ca_file.empty()) {
        return ctx.Error(tls, "client_auth_type " + wc.client_auth_type + " needs client_ca_file");
      }
      if (!wc.client_ca_file.empty() && !Readable(wc.client_ca_file)) {
        return ctx.Error(tls["client_ca_file"], "cannot read client_ca_file " + wc.client_ca_file);
      }
      if (wc.min_version != "TLS12" && wc.min_version != "TLS13") {
        return ctx.Error(tls["min_version"], "min_version must be TLS12 or TLS13");
      }
      wc.tls_enabled = true;
    }
    if (YAML::Node users = root["basic_auth_users"]; users && !users.IsNull()) {
      if (!users.IsMap()) return ctx.Error(users, "basic_auth_users must be a mapping of user to bcrypt hash");
      for (const auto& kv : users) {
        const std::string user = kv.first.Scalar();
        if (user.empty() || user.find(':') != std::string::npos) {
          return ctx.Error(kv.first, "basic_auth_users: user names must be non-empty and have no ':'");
        }
        if (!kv.second.IsScalar() || kv.second.Scalar().rfind("$2", 0) != 0 ||
            kv.second.Scalar().size() != 60) {
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
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char ch : in) {
    if (ch == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return false;
    size_t v = kAlphabet.find(ch);
    if (v == std::string_view::npos) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return pad <= 2 && (in.size() % 4 == 0);
}

bool BasicAuthenticator::Check(std::string_view header) {
  constexpr std::string_view kPrefix = "Basic ";
  if (header.size() <= kPrefix.size() || header.substr(0, kPrefix.size()) != kPrefix) return false;
  std::string decoded;
  if (!DecodeBase64(header.substr(kPrefix.size()), &decoded)) return false;
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  const std::string user = decoded.substr(0, colon);
  const std::string password = decoded.substr(colon + 1);
  auto it = users_.find(user);
  if (it == users_.end()) {
    // Spend the same time as a real check so user names cannot be probed.
    VerifyBcrypt(password, "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi");
    return false;
  }
  const std::string key = Sha256(user + '\0' + password + '\0' + it->second);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (verified_.count(key) > 0) return true;
  }
  if (!VerifyBcrypt(password, it->second)) return false;
  std::lock_guard<std::mutex> lock(mu_);
  if (verified_.size() > 1000) verified_.clear();
  verified_.insert(key);
  return true;
}

}  // namespace joelclaw
