#pragma once

#include <string_view>

namespace joelclaw {

/// Parses a whole string as a base-10 signed integer ("-9", "4121"). False
/// on empty input, trailing characters or overflow. Pure; for the command
/// output parsers (launchctl, systemctl, …).
bool ParseSignedLong(std::string_view s, long* out);

}  // namespace joelclaw
