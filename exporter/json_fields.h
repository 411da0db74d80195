#pragma once

#include <cstdint>
#include <string>

#include "exporter/status.h"
#include "nlohmann/json.hpp"

namespace joelclaw {

/// Typed, optional field readers for the JSON parsers of collectors
/// (tailscale status, Kubernetes lists). Each reads obj[key] into *out when
/// it is present and not null, leaves *out alone otherwise, and on a value of
/// another type returns "<prefix><key> is not a <type>" (prefix "Self: ",
/// "pod joelclaw/x: ", …). `obj` must be an object. Pure; never throw.
Status JsonString(const nlohmann::json& obj, const char* key, const std::string& prefix,
                  std::string* out);
Status JsonBool(const nlohmann::json& obj, const char* key, const std::string& prefix, bool* out);
/// Integers only: 1.5 and "3" are errors.
Status JsonInt(const nlohmann::json& obj, const char* key, const std::string& prefix,
               int64_t* out);

}  // namespace joelclaw
