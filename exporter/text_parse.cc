#include "exporter/text_parse.h"

#include <cerrno>
#include <cstdlib>
#include <string>

namespace joelclaw {

bool ParseSignedLong(std::string_view s, long* out) {
  if (s.empty() || s.size() > 20) return false;
  // strtol would also take leading blanks and a '+'.
  const size_t first_digit = s[0] == '-' ? 1 : 0;
  if (first_digit >= s.size() || s[first_digit] < '0' || s[first_digit] > '9')
    return false;
  std::string tmp(s);  // strtol needs a terminator.
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(tmp.c_str(), &end, 10);
  if (errno != 0 || end == tmp.c_str() || *end != '\0') return false;
  *out = v;
  return true;
}

std::string_view TrimBlanks(std::string_view s) {
  constexpr std::string_view kBlanks = " \t\r\n\f\v";
  size_t b = s.find_first_not_of(kBlanks);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(kBlanks);
  return s.substr(b, e - b + 1);
}

std::string AsciiLower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string Excerpt(std::string_view s, size_t max_bytes) {
  std::string out;
  size_t i = 0;
  for (; i < s.size() && out.size() < max_bytes; ++i) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
        c == '\v') {
      // Pretty-printed JSON or a multi-line complaint stays readable.
      if (out.empty() || out.back() != ' ') out += ' ';
    } else {
      out += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
  }
  if (i < s.size()) {
    if (!out.empty() && out.back() == ' ') out.pop_back();
    out += "...";
  }
  return out;
}

std::string QuotedExcerpt(std::string_view s, size_t max_bytes) {
  return "'" + Excerpt(s, max_bytes) + "'";
}

std::vector<std::string_view> NonEmptyLines(std::string_view s) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find('\n', start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) lines.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace joelclaw
