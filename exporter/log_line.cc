#include "exporter/log_line.h"

#include <cstdio>
#include <ctime>

#include "exporter/text_parse.h"

namespace joelclaw {
namespace {

constexpr char kLogHex[] = "0123456789abcdef";

// The body of a double-quoted string with JSON's escapes, which logfmt
// borrows; invalid UTF-8 becomes U+FFFD so the line stays valid text.
void AppendEscaped(std::string_view s, std::string* out) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      switch (b) {
        case '"': *out += "\\\""; break;
        case '\\': *out += "\\\\"; break;
        case '\n': *out += "\\n"; break;
        case '\r': *out += "\\r"; break;
        case '\t': *out += "\\t"; break;
        default:
          if (b < 0x20 || b == 0x7f) {
            *out += "\\u00";
            *out += kLogHex[b >> 4];
            *out += kLogHex[b & 0xF];
          } else {
            *out += static_cast<char>(b);
          }
      }
      ++i;
      continue;
    }
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      *out += "\\ufffd";
      ++i;
    } else {
      out->append(s.substr(i, n));
      i += n;
    }
  }
}

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  AppendEscaped(s, &out);
  out += '"';
  return out;
}

bool NeedsQuotes(std::string_view s) {
  if (s == "null") return true;  // go-logfmt quotes it, to tell it from nil.
  for (size_t i = 0; i < s.size();) {
    const unsigned char b = static_cast<unsigned char>(s[i]);
    if (b <= ' ' || b == '=' || b == '"' || b == 0x7f) return true;
    if (b < 0x80) {
      ++i;
      continue;
    }
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return true;
    i += n;
  }
  return false;
}

std::string Timestamp(std::chrono::system_clock::time_point ts) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const auto since_epoch = duration_cast<milliseconds>(ts.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(since_epoch / 1000);
  long millis = static_cast<long>(since_epoch % 1000);
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // Room for any int the format could see, to keep -Wformat-truncation quiet.
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

}  // namespace

Result<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "logfmt") return LogFormat::kLogfmt;
  if (name == "json") return LogFormat::kJson;
  return Status::Error("--log.format must be logfmt or json");
}

std::string LogfmtValue(std::string_view value) {
  return NeedsQuotes(value) ? Quoted(value) : std::string(value);
}

std::string FormatLogLine(LogFormat format, std::chrono::system_clock::time_point ts,
                          std::string_view level, std::string_view msg,
                          const LogFields& fields) {
  std::string line;
  if (format == LogFormat::kJson) {
    line = "{\"ts\":" + Quoted(Timestamp(ts)) + ",\"level\":" + Quoted(level) +
           ",\"msg\":" + Quoted(msg);
    for (const LogField& f : fields) line += "," + Quoted(f.key) + ":" + Quoted(f.value);
    line += "}\n";
    return line;
  }
  line = "ts=" + Timestamp(ts) + " level=" + LogfmtValue(level) + " msg=" + LogfmtValue(msg);
  for (const LogField& f : fields) line += " " + f.key + "=" + LogfmtValue(f.value);
  line += '\n';
  return line;
}

}  // namespace joelclaw
