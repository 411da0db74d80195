#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "exporter/probe.h"
#include "exporter/status.h"

namespace joelclaw::testing {

/// Parses `yaml` as the value of a check's `kind` key ("ssh", "redis", …)
/// with the parser the registry table names for it, as if read from
/// "test.yaml".
Result<std::unique_ptr<Probe>> ParseProbe(std::string_view kind, const std::string& yaml);

}  // namespace joelclaw::testing
