#include "exporter/config_node.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <limits>

#include "exporter/text_parse.h"

namespace joelclaw {
int LineOf(const YAML::Node& node) {
  return node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
}

Status ConfigContext::Error(const YAML::Node& node, const std::string& message) const {
  const std::string text = scope_.empty() ? message : scope_ + ": " + message;
  int line = LineOf(node);
  if (line > 0) return Status::Error(filename_ + ":" + std::to_string(line) + ": " + text);
  return Status::Error(filename_ + ": " + text);
}

Status ConfigContext::CheckUtf8(const YAML::Node& node) const {
  if (node.IsScalar()) {
    if (IsValidUtf8(node.Scalar())) return Status::Ok();
    return Error(node, "\"" + EscapeLogField(node.Scalar(), 80) +
                           "\" is not valid UTF-8 (label values must be)");
  }
  if (node.IsSequence()) {
    for (const auto& item : node) {
      if (Status s = CheckUtf8(item); !s.ok()) return s;
    }
  } else if (node.IsMap()) {
    for (const auto& kv : node) {
      if (Status s = CheckUtf8(kv.first); !s.ok()) return s;
      if (Status s = CheckUtf8(kv.second); !s.ok()) return s;
    }
  }
  return Status::Ok();
}

Status ConfigContext::CheckMap(const YAML::Node& node, std::string_view what,
                               std::initializer_list<std::string_view> allowed) const {
  if (!node.IsMap()) return Error(node, std::string(what) + " must be a mapping");
  // yaml-cpp keeps both copies of a repeated key and lookups see the first:
  // a second `url:` would be silently ignored.
  std::map<std::string, int> seen;
  std::string problems;
  auto add = [&](const Status& s) { problems += (problems.empty() ? "" : "\n") + s.message(); };
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      add(Error(kv.first, std::string(what) + " has a key that is not a string"));
      continue;
    }
    const std::string key = kv.first.Scalar();
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      add(Error(kv.first, "unknown key '" + key + "' in " + std::string(what) + " (known keys: " +
                              list + ")"));
      continue;
    }
    auto [it, inserted] = seen.emplace(key, LineOf(kv.first));
    if (!inserted) {
      add(Error(kv.first, std::string(what) + ": key '" + key + "' is repeated (first on line " +
                              std::to_string(it->second) + ")"));
    }
  }
  return problems.empty() ? Status::Ok() : Status::Error(problems);
}

bool ConfigContext::Record(const Status& s) const {
  if (s.ok()) return true;
  for (std::string_view line : NonEmptyLines(s.message())) problems_->emplace_back(line);
  return false;
}

Status ConfigContext::Problems() const {
  if (problems_->empty()) return Status::Ok();
  // "file:LINE: …" → LINE; 0 (first) for a problem without a line.
  auto line_of = [this](const std::string& p) -> long {
    if (p.compare(0, filename_.size(), filename_) != 0 || p.size() <= filename_.size() ||
        p[filename_.size()] != ':') {
      return 0;
    }
    return std::strtol(p.c_str() + filename_.size() + 1, nullptr, 10);
  };
  std::vector<std::string> sorted = *problems_;
  std::stable_sort(sorted.begin(), sorted.end(), [&](const std::string& a, const std::string& b) {
    return line_of(a) < line_of(b);
  });
  std::string text;
  for (const std::string& p : sorted) text += (text.empty() ? "" : "\n") + p;
  return Status::Error(text);
}

Status ConfigContext::GetString(const YAML::Node& map, std::string_view what,
                                const std::string& key, bool required,
                                std::string* out) const {
  YAML::Node v = map[key];
  if (!v || v.IsNull()) {
    if (required) return Error(map, std::string(what) + " has no " + key);
    return Status::Ok();
  }
  if (!v.IsScalar()) return Error(v, std::string(what) + ": " + key + " must be a string");
  *out = v.Scalar();
  if (required && out->empty()) return Error(v, std::string(what) + ": " + key + " is empty");
  return Status::Ok();
}

Status ConfigContext::GetDuration(const YAML::Node& map, std::string_view what,
                                  const std::string& key, Duration* out) const {
  YAML::Node v = map[key];
  if (!v || v.IsNull()) return Status::Ok();
  if (!v.IsScalar()) {
    return Error(v, std::string(what) + ": " + key + " must be a duration such as 30s");
  }
  Result<Duration> d = ParseDuration(v.Scalar());
  if (!d.ok()) return Error(v, std::string(what) + ": " + key + ": " + d.status().message());
  if (d->count() <= 0) {
    return Error(v, std::string(what) + ": " + key + " '" + v.Scalar() +
                        "' must be longer than 0s");
  }
  *out = *d;
  return Status::Ok();
}

Status ConfigContext::GetBool(const YAML::Node& map, std::string_view what,
                              const std::string& key, bool* out) const {
  YAML::Node v = map[key];
  if (!v || v.IsNull()) return Status::Ok();
  if (v.IsScalar()) {
    const std::string& s = v.Scalar();
    if (s == "true") { *out = true; return Status::Ok(); }
    if (s == "false") { *out = false; return Status::Ok(); }
  }
  return Error(v, std::string(what) + ": " + key + " must be true or false" +
                     (v.IsScalar() ? ", not '" + v.Scalar() + "'" : ""));
}

Status ConfigContext::GetInt(const YAML::Node& map, std::string_view what,
                             const std::string& key, int64_t min, int64_t max,
                             int64_t* out) const {
  YAML::Node v = map[key];
  if (!v || v.IsNull()) return Status::Ok();
  if (v.IsScalar()) {
    const std::string& s = v.Scalar();
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end && *end == '\0' && errno == 0) {
      if (n < min || n > max) {
        return Error(v, std::string(what) + ": " + key + " must be between " +
                            std::to_string(min) + " and " + std::to_string(max));
      }
      *out = n;
      return Status::Ok();
    }
  }
  return Error(v, std::string(what) + ": " + key + " must be an integer");
}

Status ConfigContext::GetDouble(const YAML::Node& map, std::string_view what,
                                const std::string& key, double* out) const {
  YAML::Node v = map[key];
  if (!v || v.IsNull()) return Status::Ok();
  if (v.IsScalar()) {
    const std::string& s = v.Scalar();
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0') {
      *out = d;
      return Status::Ok();
    }
  }
  return Error(v, std::string(what) + ": " + key + " must be a number");
}

Status ConfigContext::GetStringList(const YAML::Node& map, std::string_view what,
                                    const std::string& key,
                                    std::vector<std::string>* out) const {
  YAML::Node v = map[key];
  if (!v || v.IsNull()) return Status::Ok();
  if (!v.IsSequence()) return Error(v, std::string(what) + ": " + key + " must be a list");
  out->clear();
  for (const auto& item : v) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      return Error(item, std::string(what) + ": " + key + " entries must be non-empty strings");
    }
    out->push_back(item.Scalar());
  }
  return Status::Ok();
}

std::vector<std::string> ConfigContext::Command(const std::string& name,
                                                std::vector<std::string> fallback) const {
  auto it = commands_.find(name);
  return it != commands_.end() ? it->second : fallback;
}

std::string ConfigContext::ResolvePath(const std::string& path) const {
  if (path.empty() || path[0] == '/') return path;
  if (path.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + path.substr(1);
  }
  size_t slash = filename_.rfind('/');
  if (filename_.empty() || filename_[0] == '<' || slash == std::string::npos) return path;
  return filename_.substr(0, slash + 1) + path;
}

}  // namespace joelclaw
