#include "exporter/bridge/alertmanager_payload.h"

#include <openssl/sha.h>

#include "exporter/collectors/tailscale_collector.h"

namespace joelclaw {
namespace {

using nlohmann::json;

Status Missing(const std::string& field) {
  return Status::Error(field + " is missing");
}

Status GetString(const json& obj, const std::string& where, const char* key,
                 bool required, std::string* out) {
  const std::string field = where.empty() ? key : where + "." + key;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return required ? Missing(field) : Status::Ok();
  if (!it->is_string()) return Status::Error(field + " must be a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

// Label sets and annotations: objects of string values (Alertmanager's
// LabelSet/KV types). An empty object is fine; a missing one is not.
Status GetStringMap(const json& obj, const std::string& where, const char* key,
                    std::map<std::string, std::string>* out) {
  const std::string field = where.empty() ? key : where + "." + key;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Missing(field);
  if (!it->is_object())
    return Status::Error(field + " must be an object of strings");
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string())
      return Status::Error(field + "." + k + " must be a string");
    (*out)[k] = v.get<std::string>();
  }
  return Status::Ok();
}

Status CheckStatus(const std::string& field, const std::string& value) {
  if (value == "firing" || value == "resolved") return Status::Ok();
  return Status::Error(field + " is '" + value +
                       "', expected 'firing' or 'resolved'");
}

Status GetTime(const json& obj, const std::string& where, const char* key,
               std::string* out) {
  Status s = GetString(obj, where, key, true, out);
  if (!s.ok()) return s;
  Result<double> t = ParseRfc3339(*out);
  if (!t.ok())
    return Status::Error(where + "." + key + ": " + t.status().message());
  return Status::Ok();
}

Status ParseAlert(const json& a, const std::string& where,
                  AlertmanagerAlert* out) {
  if (!a.is_object()) return Status::Error(where + " must be an object");
  Status s;
  if (!(s = GetString(a, where, "status", true, &out->status)).ok()) return s;
  if (!(s = CheckStatus(where + ".status", out->status)).ok()) return s;
  if (!(s = GetStringMap(a, where, "labels", &out->labels)).ok()) return s;
  if (!(s = GetStringMap(a, where, "annotations", &out->annotations)).ok())
    return s;
  if (!(s = GetTime(a, where, "startsAt", &out->starts_at)).ok()) return s;
  if (!(s = GetTime(a, where, "endsAt", &out->ends_at)).ok()) return s;
  if (!(s = GetString(a, where, "generatorURL", true, &out->generator_url))
           .ok())
    return s;
  if (!(s = GetString(a, where, "fingerprint", true, &out->fingerprint)).ok())
    return s;
  // The fingerprint is the alert's identity and so part of the event id.
  if (out->fingerprint.empty())
    return Status::Error(where + ".fingerprint is empty");
  return Status::Ok();
}

Result<AlertmanagerPayload> ParseObject(const json& doc) {
  if (!doc.is_object())
    return Status::Error("the payload must be a JSON object");
  AlertmanagerPayload p;
  std::string version;
  Status s = GetString(doc, "", "version", true, &version);
  if (!s.ok()) return s;
  if (version != "4") {
    return Status::Error("version is '" + version +
                         "'; only webhook payload version '4' is understood");
  }
  if (!(s = GetString(doc, "", "status", true, &p.status)).ok()) return s;
  if (!(s = CheckStatus("status", p.status)).ok()) return s;
  if (!(s = GetString(doc, "", "receiver", true, &p.receiver)).ok()) return s;
  if (!(s = GetString(doc, "", "groupKey", false, &p.group_key)).ok()) return s;
  if (!(s = GetStringMap(doc, "", "groupLabels", &p.group_labels)).ok())
    return s;
  if (!(s = GetStringMap(doc, "", "commonLabels", &p.common_labels)).ok())
    return s;
  auto alerts = doc.find("alerts");
  if (alerts == doc.end() || alerts->is_null()) return Missing("alerts");
  if (!alerts->is_array()) return Status::Error("alerts must be a list");
  if (alerts->empty())
    return Status::Error(
        "alerts is empty; a notification carries at least one alert");
  p.alerts.resize(alerts->size());
  for (size_t i = 0; i < alerts->size(); ++i) {
    s = ParseAlert((*alerts)[i], "alerts[" + std::to_string(i) + "]",
                   &p.alerts[i]);
    if (!s.ok()) return s;
  }
  return p;
}

}  // namespace

Result<AlertmanagerPayload> ParseAlertmanagerPayload(std::string_view body) {
  json doc = json::parse(body.begin(), body.end(), nullptr,
                         /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::Error("the body is not valid JSON");
  try {
    return ParseObject(doc);
  } catch (const std::exception& e) {
    return Status::Error(std::string("the payload could not be read: ") +
                         e.what());
  }
}

std::string InngestEventId(const AlertmanagerAlert& alert) {
  const std::string key =
      alert.fingerprint + "|" + alert.starts_at + "|" + alert.status;
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), md);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "joelclaw-";
  for (unsigned char b : md) {
    id += kHex[b >> 4];
    id += kHex[b & 0xf];
  }
  return id;
}

std::vector<nlohmann::json> BuildInngestEvents(
    const AlertmanagerPayload& payload, int64_t now_ms) {
  std::vector<json> events;
  events.reserve(payload.alerts.size());
  for (const AlertmanagerAlert& a : payload.alerts) {
    events.push_back({
        {"name", a.status == "firing" ? kEventDegraded : kEventRecovered},
        {"id", InngestEventId(a)},
        {"ts", now_ms},
        {"data",
         {{"status", a.status},
          {"labels", a.labels},
          {"annotations", a.annotations},
          {"startsAt", a.starts_at},
          {"endsAt", a.ends_at},
          {"generatorURL", a.generator_url},
          {"fingerprint", a.fingerprint},
          {"receiver", payload.receiver}}},
    });
  }
  return events;
}

}  // namespace joelclaw
