#include "exporter/duration.h"

#include <cctype>
#include <cstdint>
#include <limits>

namespace joelclaw {

Result<Duration> ParseDuration(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.empty()) return Result<Duration>::Error("empty duration");
  int64_t total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (start == i) {
      return Result<Duration>::Error("invalid duration " + quoted +
                                     ": expected a number");
    }
    if (i - start > 12) {
      return Result<Duration>::Error("invalid duration " + quoted +
                                     ": number too large");
    }
    int64_t n = std::stoll(std::string(text.substr(start, i - start)));
    if (i < text.size() && text[i] == '.') {
      return Result<Duration>::Error("invalid duration " + quoted +
                                     ": no fractions; combine units instead (1s500ms, 1m30s)");
    }
    if (i < text.size() && !std::isalpha(static_cast<unsigned char>(text[i]))) {
      return Result<Duration>::Error("invalid duration " + quoted + ": unexpected '" +
                                     std::string(1, text[i]) + "' after " +
                                     std::string(text.substr(start, i - start)));
    }
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    int64_t mult;
    if (unit == "ms") {
      mult = 1;
    } else if (unit == "s") {
      mult = 1000;
    } else if (unit == "m") {
      mult = 60'000;
    } else if (unit == "h") {
      mult = 3'600'000;
    } else if (unit == "d") {
      mult = 86'400'000;
    } else if (unit == "w") {
      mult = 604'800'000;
    } else if (unit.empty()) {
      return Result<Duration>::Error("invalid duration " + quoted +
                                     ": missing unit (use ms, s, m, h, d or w)");
    } else {
      return Result<Duration>::Error("invalid duration " + quoted +
                                     ": unknown unit '" + std::string(unit) + "'");
    }
    if (n > std::numeric_limits<int64_t>::max() / mult - total_ms) {
      return Result<Duration>::Error("invalid duration " + quoted + ": too large");
    }
    total_ms += n * mult;
  }
  return Duration(total_ms);
}

std::string FormatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  struct Unit {
    const char* name;
    int64_t ms;
  };
  static constexpr Unit kUnits[] = {
      {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1000}, {"ms", 1}};
  for (const Unit& u : kUnits) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms) + u.name;
      ms %= u.ms;
    }
  }
  return out;
}

}  // namespace joelclaw
