#include "exporter/probes/http_probe.h"

#include <curl/curl.h>

#include <cmath>
#include <optional>
#include <vector>

#include "exporter/probes/net.h"
#include "nlohmann/json.hpp"

namespace joelclaw {
namespace {

struct JsonCheck {
  std::string field;
  std::optional<double> min, max, equals;
};

struct HttpOptions {
  std::string url;
  std::string method = "GET";
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::vector<int> valid_status_codes;  // empty = any 2xx
  bool follow_redirects = true;
  long max_redirects = 10;
  size_t max_body_bytes = 1 << 20;
  std::string bearer_token_file;
  std::string ca_file;
  bool insecure_skip_verify = false;
  std::optional<JsonCheck> json;
};

std::string FormatNumber(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

class HttpProbe : public Probe {
 public:
  explicit HttpProbe(HttpOptions opts) : opts_(std::move(opts)) {}

  ProbeResult Run(const ProbeContext& ctx) override {
    std::string token;
    if (!opts_.bearer_token_file.empty()) {
      Result<std::string> t = ReadBearerToken(ctx.env, opts_.bearer_token_file);
      if (!t.ok()) return ProbeResult::Fail(FailureReason::kError, t.status().message());
      token = *t;
    }
    CURL* c = curl_easy_init();
    if (c == nullptr) return ProbeResult::Fail(FailureReason::kError, "curl_easy_init failed");
    char errbuf[CURL_ERROR_SIZE] = {0};
    BodySink sink;
    sink.limit = opts_.max_body_bytes;
    struct curl_slist* headers = nullptr;
    for (const std::string& h : opts_.headers) headers = curl_slist_append(headers, h.c_str());
    if (!token.empty()) {
      headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
    }
    curl_easy_setopt(c, CURLOPT_URL, opts_.url.c_str());
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    ApplyProbeDeadline(c, ctx);
    AllowOnlyHttp(c);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, opts_.follow_redirects ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, opts_.max_redirects);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "joelclaw_exporter");
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteCappedBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(opts_.max_body_bytes));
    if (headers != nullptr) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (opts_.method == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (opts_.method == "POST") {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, opts_.body.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(opts_.body.size()));
    }
    if (!opts_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, opts_.ca_file.c_str());
    if (opts_.insecure_skip_verify) {
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode rc = PerformWithDeadline(c, ctx);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    const FailureReason curl_reason = ReasonForCurlResult(c, rc);
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);

    ProbeResult result;
    if (status > 0) result.http_status = static_cast<int>(status);
    if (rc != CURLE_OK) {
      if (sink.overflow || rc == CURLE_FILESIZE_EXCEEDED) {
        result.reason = FailureReason::kBodyTooLarge;
        result.message = "body larger than max_body_bytes (" +
                         std::to_string(opts_.max_body_bytes) + ")";
      } else if (ctx.cancelled()) {
        result.reason = FailureReason::kError;
        result.message = "cancelled";
      } else if (rc == CURLE_TOO_MANY_REDIRECTS) {
        result.reason = curl_reason;
        result.message = "more than " + std::to_string(opts_.max_redirects) + " redirects";
      } else {
        result.reason = curl_reason;
        std::string msg = errbuf[0] ? errbuf : curl_easy_strerror(rc);
        while (!msg.empty() && msg.back() == '\n') msg.pop_back();
        result.message = msg;
      }
      return result;
    }
    if (!StatusAccepted(static_cast<int>(status))) {
      result.reason = FailureReason::kHttpStatus;
      result.message = "HTTP status " + std::to_string(status);
      return result;
    }
    if (opts_.json) {
      const JsonCheck& j = *opts_.json;
      Result<double> v = ExtractJsonNumber(sink.data, j.field);
      if (!v.ok()) {
        result.reason = FailureReason::kBodyMismatch;
        result.message = v.status().message();
        return result;
      }
      result.values.emplace_back(j.field, *v);
      result.detail = FormatNumber(*v) + " " + j.field;
      if (j.min && *v < *j.min) {
        result.reason = FailureReason::kValueOutOfRange;
        result.message = j.field + " is " + FormatNumber(*v) + ", below the minimum " +
                         FormatNumber(*j.min);
        return result;
      }
      if (j.max && *v > *j.max) {
        result.reason = FailureReason::kValueOutOfRange;
        result.message = j.field + " is " + FormatNumber(*v) + ", above the maximum " +
                         FormatNumber(*j.max);
        return result;
      }
      if (j.equals && *v != *j.equals) {
        result.reason = FailureReason::kValueOutOfRange;
        result.message = j.field + " is " + FormatNumber(*v) + ", expected " +
                         FormatNumber(*j.equals);
        return result;
      }
    }
    result.success = true;
    result.message = "HTTP " + std::to_string(status);
    if (result.detail.empty()) result.detail = "HTTP " + std::to_string(status);
    return result;
  }

  std::string Describe() const override { return RedactUrl(opts_.url); }
  int Port() const override { return port_; }
  void set_port(int p) { port_ = p; }

 private:
  bool StatusAccepted(int status) const {
    if (opts_.valid_status_codes.empty()) return status >= 200 && status < 300;
    for (int s : opts_.valid_status_codes) {
      if (s == status) return true;
    }
    return false;
  }

  HttpOptions opts_;
  int port_ = 0;
};

}  // namespace

Result<double> ExtractJsonNumber(std::string_view body, std::string_view path) {
  nlohmann::json doc = nlohmann::json::parse(body.begin(), body.end(), nullptr,
                                             /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Result<double>::Error("body is not valid JSON");
  const nlohmann::json* cur = &doc;
  std::string walked;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string key(path.substr(start, dot == std::string_view::npos ? std::string_view::npos
                                                                     : dot - start));
    walked += (walked.empty() ? "" : ".") + key;
    if (cur->is_object()) {
      auto it = cur->find(key);
      if (it == cur->end()) return Result<double>::Error("field '" + walked + "' not in body");
      cur = &*it;
    } else if (cur->is_array() && !key.empty() &&
               key.find_first_not_of("0123456789") == std::string::npos && key.size() < 9) {
      size_t idx = std::stoul(key);
      if (idx >= cur->size()) return Result<double>::Error("field '" + walked + "' not in body");
      cur = &(*cur)[idx];
    } else {
      return Result<double>::Error("field '" + walked + "' not in body");
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (cur->is_number()) return cur->get<double>();
  if (cur->is_boolean()) return cur->get<bool>() ? 1.0 : 0.0;
  if (cur->is_array() || cur->is_object()) return static_cast<double>(cur->size());
  if (cur->is_string()) {
    const std::string& s = cur->get_ref<const std::string&>();
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (!s.empty() && end != nullptr && *end == '\0' && std::isfinite(v)) return v;
  }
  return Result<double>::Error("field '" + std::string(path) + "' is not a number");
}

std::string RedactUrl(const std::string& url) {
  // Without a scheme (a mistyped URL in an error message) the userinfo, if
  // any, starts the string.
  size_t scheme = url.find("://");
  size_t host_start = scheme == std::string::npos ? 0 : scheme + 3;
  size_t path_start = url.find_first_of("/?#", host_start);
  size_t at = url.rfind('@', path_start == std::string::npos ? std::string::npos : path_start);
  if (at == std::string::npos || at < host_start) return url;
  return url.substr(0, host_start) + url.substr(at + 1);
}

Result<std::unique_ptr<Probe>> ParseHttpProbe(const YAML::Node& node, const ConfigContext& ctx) {
  Status s = ctx.CheckMap(node, "http",
                          {"url", "method", "headers", "body", "valid_status_codes",
                           "follow_redirects", "max_redirects", "max_body_bytes",
                           "bearer_token_file", "ca_file", "insecure_skip_verify", "json"});
  if (!s.ok()) return s;
  HttpOptions o;
  if (!(s = ctx.GetString(node, "http", "url", true, &o.url)).ok()) return s;
  CURLU* u = curl_url();
  CURLUcode uc = curl_url_set(u, CURLUPART_URL, o.url.c_str(), 0);
  char* scheme = nullptr;
  char* port = nullptr;
  std::string scheme_s;
  int port_n = 0;
  if (uc == CURLUE_OK && curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK) {
    scheme_s = scheme;
    if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
      port_n = std::atoi(port);
    }
  }
  curl_free(scheme);
  curl_free(port);
  curl_url_cleanup(u);
  if (o.url.find("://") == std::string::npos) {
    return ctx.Error(node["url"], "http: url '" + RedactUrl(o.url) +
                                      "' has no scheme; it must start with http:// or https://");
  }
  if (uc != CURLUE_OK && uc != CURLUE_UNSUPPORTED_SCHEME) {
    std::string why;
#if LIBCURL_VERSION_NUM >= 0x075000
    why = std::string(" (") + curl_url_strerror(uc) + ")";
#endif
    return ctx.Error(node["url"], "http: url '" + RedactUrl(o.url) + "' is not a valid URL" + why);
  }
  if (scheme_s != "http" && scheme_s != "https") {
    return ctx.Error(node["url"], "http: url '" + RedactUrl(o.url) +
                                      "' must start with http:// or https://");
  }
  if (!(s = ctx.GetString(node, "http", "method", false, &o.method)).ok()) return s;
  if (o.method != "GET" && o.method != "HEAD" && o.method != "POST") {
    return ctx.Error(node["method"], "http: method must be GET, HEAD or POST");
  }
  if (!(s = ctx.GetString(node, "http", "body", false, &o.body)).ok()) return s;
  if (!o.body.empty() && o.method != "POST") {
    return ctx.Error(node["body"], "http: body needs method POST");
  }
  if (YAML::Node h = node["headers"]; h) {
    if (!h.IsMap()) return ctx.Error(h, "http: headers must be a mapping of name to value");
    for (const auto& kv : h) {
      if (!kv.second.IsScalar()) return ctx.Error(kv.second, "http: header values must be strings");
      const std::string name = kv.first.Scalar();
      const std::string value = kv.second.Scalar();
      if (name.find_first_of(":\r\n ") != std::string::npos ||
          value.find_first_of("\r\n") != std::string::npos) {
        return ctx.Error(kv.first, "http: header '" + name + "' has forbidden characters");
      }
      o.headers.push_back(name + ": " + value);
    }
  }
  if (YAML::Node codes = node["valid_status_codes"]; codes) {
    if (!codes.IsSequence()) return ctx.Error(codes, "http: valid_status_codes must be a list");
    for (const auto& c : codes) {
      int v = 0;
      if (!c.IsScalar() || !YAML::convert<int>::decode(c, v) || v < 100 || v > 599) {
        return ctx.Error(c, "http: valid_status_codes: " +
                                (c.IsScalar() ? "'" + c.Scalar() + "'" : std::string("an entry")) +
                                " is not an HTTP status code (100-599)");
      }
      o.valid_status_codes.push_back(v);
    }
  }
  if (!(s = ctx.GetBool(node, "http", "follow_redirects", &o.follow_redirects)).ok()) return s;
  int64_t n = o.max_redirects;
  if (!(s = ctx.GetInt(node, "http", "max_redirects", 0, 50, &n)).ok()) return s;
  o.max_redirects = static_cast<long>(n);
  n = static_cast<int64_t>(o.max_body_bytes);
  if (!(s = ctx.GetInt(node, "http", "max_body_bytes", 1, 256 << 20, &n)).ok()) return s;
  o.max_body_bytes = static_cast<size_t>(n);
  if (!(s = ctx.GetString(node, "http", "bearer_token_file", false, &o.bearer_token_file)).ok()) return s;
  o.bearer_token_file = ctx.ResolvePath(o.bearer_token_file);
  if (!(s = ctx.GetString(node, "http", "ca_file", false, &o.ca_file)).ok()) return s;
  o.ca_file = ctx.ResolvePath(o.ca_file);
  if (!(s = ctx.GetBool(node, "http", "insecure_skip_verify", &o.insecure_skip_verify)).ok()) return s;
  if (YAML::Node j = node["json"]; j) {
    if (!(s = ctx.CheckMap(j, "http: json", {"field", "min", "max", "equals"})).ok()) return s;
    JsonCheck jc;
    if (!(s = ctx.GetString(j, "http: json", "field", true, &jc.field)).ok()) return s;
    if (jc.field.front() == '.' || jc.field.back() == '.' || jc.field.find("..") != std::string::npos) {
      return ctx.Error(j["field"], "http: json: field '" + jc.field + "' is not a dotted path");
    }
    for (const char* key : {"min", "max", "equals"}) {
      double v;
      if (!j[key]) continue;
      if (!(s = ctx.GetDouble(j, "http: json", key, &v)).ok()) return s;
      if (std::string(key) == "min") jc.min = v;
      else if (std::string(key) == "max") jc.max = v;
      else jc.equals = v;
    }
    if (jc.min && jc.max && *jc.min > *jc.max) {
      return ctx.Error(j["min"], "http: json: min " + FormatNumber(*jc.min) +
                                     " is greater than max " + FormatNumber(*jc.max));
    }
    if (o.method == "HEAD") return ctx.Error(j, "http: json needs a body; method HEAD has none");
    o.json = std::move(jc);
  }
  auto probe = std::make_unique<HttpProbe>(std::move(o));
  probe->set_port(port_n);
  return std::unique_ptr<Probe>(std::move(probe));
}

}  // namespace joelclaw
