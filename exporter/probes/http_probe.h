#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "exporter/config_node.h"
#include "exporter/probe.h"

namespace joelclaw {

/// Parses the `http:` section of a check (docs/configuration.md).
Result<std::unique_ptr<Probe>> ParseHttpProbe(const YAML::Node& node,
                                              const ConfigContext& ctx);

/// Pulls a number out of a JSON document. `path` is dot-separated object
/// keys and array indexes ("functionCount", "stats.docs", "items.0.n").
/// Numbers are themselves, booleans 0/1, arrays and objects their size (so
/// `field: functions` counts a list). Strings holding a number are accepted.
/// Pure; never throws.
Result<double> ExtractJsonNumber(std::string_view body, std::string_view path);

/// Removes "user:password@" from a URL, for display. Pure.
std::string RedactUrl(const std::string& url);

}  // namespace joelclaw
