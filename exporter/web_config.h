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
///                       client_auth_type, min_version, max_version}
///   http_server_config: {headers: {name: value}, http2: bool}
///   basic_auth_users: {name: bcrypt-hash, …}
///
/// Keys exporter-toolkit has but we do not implement are rejected with a
/// message rather than ignored. `http2` is accepted and ignored: the server
/// speaks HTTP/1.1 only and offers no h2 in ALPN, so clients fall back to
/// HTTP/1.1 (docs/configuration.md). Plain value.
struct WebConfig {
  bool tls_enabled = false;
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  /// As exporter-toolkit: "NoClientCert" (default), "RequestClientCert",
  /// "RequireAnyClientCert", "VerifyClientCertIfGiven" or
  /// "RequireAndVerifyClientCert".
  std::string client_auth_type = "NoClientCert";
  std::string min_version = "TLS12";  ///< "TLS12" or "TLS13".
  std::string max_version = "TLS13";  ///< "TLS12" or "TLS13".
  /// http_server_config.headers: added to every response. Only the names
  /// exporter-toolkit allows (Strict-Transport-Security,
  /// X-Content-Type-Options, X-Frame-Options, X-XSS-Protection,
  /// Content-Security-Policy), with its allowed values where it has a list.
  std::map<std::string, std::string> headers;
  bool http2 = true;  ///< Accepted for compatibility; has no effect.
  std::map<std::string, std::string> users;  ///< Name → bcrypt hash.
};

/// Parses and checks a web config (files named in it must be readable; the
/// hashes must be bcrypt). Errors read "file:line: problem".
Result<WebConfig> LoadWebConfig(const std::string& path);
Result<WebConfig> ParseWebConfig(std::string_view yaml, const std::string& filename);

/// Checks HTTP basic credentials against bcrypt hashes.
///
/// - Verified credentials are remembered because bcrypt is deliberately slow
///   and Prometheus scrapes often: the cache holds HMAC-SHA-256 digests of
///   (user, password, hash) under a key drawn at construction, never the
///   password, and at most kMaxCached entries. Failures are not cached.
/// - An unknown user costs a bcrypt at the highest cost among the
///   configured hashes (against that hash, and always denied), so timing
///   does not tell which user names exist.
/// - Credentials holding a NUL byte are denied: crypt(3) would stop at it
///   and accept "hunter2\0anything" for "hunter2".
/// - bcrypt runs under one mutex: at most one at a time per authenticator,
///   as exporter-toolkit does, so a flood of wrong passwords costs one core.
///
/// The class is thread-safe.
class BasicAuthenticator {
 public:
  static constexpr size_t kMaxCached = 256;

  explicit BasicAuthenticator(std::map<std::string, std::string> users);
  bool enabled() const { return !users_.empty(); }

  enum class Verdict { kAllowed, kDenied, kNeedsBcrypt };
  /// The answer when it needs no bcrypt: kDenied for a malformed header or
  /// credentials, kAllowed for cached ones, else kNeedsBcrypt. Cheap; for
  /// the I/O thread. `header` is the Authorization value ("Basic …").
  Verdict CheckFast(std::string_view header) const;
  /// The full check (bcrypt when not cached; blocks for its duration).
  bool Check(std::string_view header);

 private:
  struct Credentials {
    std::string user, password;
  };
  static bool Decode(std::string_view header, Credentials* out);
  std::string CacheKey(const Credentials& c, const std::string& hash) const;

  const std::map<std::string, std::string> users_;
  std::string decoy_hash_;  // The costliest configured hash.
  unsigned char hmac_key_[32];
  std::mutex bcrypt_mu_;  // Serializes bcrypt.
  mutable std::mutex mu_;
  std::set<std::string> verified_;  // GUARDED_BY(mu_)
};

/// True when `password` matches the crypt(3) hash (bcrypt $2a$/$2b$/$2y$).
bool VerifyBcrypt(const std::string& password, const std::string& hash);

/// Decodes standard padded base64 (OpenSSL's EVP decoder); false on bad
/// input, whitespace included. Pure.
bool DecodeBase64(std::string_view in, std::string* out);

}  // namespace joelclaw
