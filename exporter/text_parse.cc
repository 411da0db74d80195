#include "exporter/text_parse.h"

#include <cerrno>
#include <cstdlib>
#include <string>

namespace joelclaw {

bool ParseSignedLong(std::string_view s, long* out) {
  if (s.empty() || s.size() > 20) return false;
  std::string tmp(s);  // strtol needs a terminator.
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(tmp.c_str(), &end, 10);
  if (errno != 0 || end == tmp.c_str() || *end != '\0') return false;
  *out = v;
  return true;
}

}  // namespace joelclaw
