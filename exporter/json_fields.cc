#include "exporter/json_fields.h"

namespace joelclaw {

Status JsonString(const nlohmann::json& obj, const char* key, const std::string& prefix,
                  std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return Status::Error(prefix + key + " is not a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

Status JsonBool(const nlohmann::json& obj, const char* key, const std::string& prefix, bool* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_boolean()) return Status::Error(prefix + key + " is not a boolean");
  *out = it->get<bool>();
  return Status::Ok();
}

Status JsonInt(const nlohmann::json& obj, const char* key, const std::string& prefix,
               int64_t* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status::Ok();
  if (!it->is_number_integer()) return Status::Error(prefix + key + " is not an integer");
  *out = it->get<int64_t>();
  return Status::Ok();
}

}  // namespace joelclaw
