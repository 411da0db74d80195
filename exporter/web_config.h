#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "exporter/status.h"

namespace joelclaw {

/// `--web.config.file`, in the Prometheus exporter-toolkit format:
///
///   tls_server_config: {cert_file, key_file, client_ca_file,
///                       client_auth_type, min_version}
///   basic_auth_users: {name: bcrypt-hash, …}
///
/// Keys exporter-toolkit has but we do not implement are rejected with a
/// message rather than ignored. Plain value.
struct WebConfig {
  bool tls_enabled = false;
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  /// "NoClientCert" (default), "RequireAndVerifyClientCert" or
  /// "VerifyClientCertIfGiven".
  std::string client_auth_type = "NoClientCert";
  std::string min_version = "TLS12";  ///< "TLS12" or "TLS13".
  std::map<std::string, std::string> users;  ///< Name → bcrypt hash.
};

/// Parses and checks a web config (files named in it must be readable; the
/// hashes must be bcrypt). Errors read "file:line: problem".
Result<WebConfig> LoadWebConfig(const std::string& path);
Result<WebConfig> ParseWebConfig(std::string_view yaml, const std::string& filename);

/// Checks HTTP basic credentials against bcrypt hashes. Verified
/// (user, password) pairs are remembered (as SHA-256 digests) because bcrypt
/// is deliberately slow and Prometheus scrapes often. Thread-safe.
class BasicAuthenticator {
 public:
  explicit BasicAuthenticator(std::map<std::string, std::string> users)
      : users_(std::move(users)) {}
  bool enabled() const { return !users_.empty(); }
  /// `header` is the Authorization header's value ("Basic dXNlcjpwdw==").
  bool Check(std::string_view header);

 private:
  std::map<std::string, std::string> users_;
  std::mutex mu_;
  std::set<std::string> verified_;  // GUARDED_BY(mu_)
};

/// True when `password` matches the crypt(3) hash (bcrypt $2a$/$2b$/$2y$).
bool VerifyBcrypt(const std::string& password, const std::string& hash);

/// Decodes standard base64; false on bad input. Pure.
bool DecodeBase64(std::string_view in, std::string* out);

}  // namespace joelclaw
