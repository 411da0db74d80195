#pragma once

#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/duration.h"
#include "exporter/status.h"
#include "yaml-cpp/yaml.h"

namespace joelclaw {

/// 1-based line of `node` in its file, 0 when it has none (yaml-cpp marks
/// are 0-based; editors count from 1).
int LineOf(const YAML::Node& node);

/// Helpers shared by every config parser (the core's and each collector's or
/// probe's), so that all errors read "file:line: problem." and all maps are
/// strict. One per config load; not thread-safe.
///
/// A load reports every problem at once: a parser returns the problems of
/// its unit (a top-level section, a host's keys, one check, one collector
/// section) as a Status, one problem per line, usually stopping at the
/// first; the caller Record()s that and carries on with the next unit.
class ConfigContext {
 public:
  explicit ConfigContext(std::string filename) : filename_(std::move(filename)) {}

  const std::string& filename() const { return filename_; }

  /// Adds the problems of `s` (one per line of its message; nothing when it
  /// is ok) to this load's list, which copies (WithScope) share. Returns
  /// s.ok().
  bool Record(const Status& s) const;
  bool has_problems() const { return !problems_->empty(); }
  /// Every recorded problem, ordered by line (a stable sort, so problems on
  /// one line keep their order), one per line of the message; Ok when none.
  Status Problems() const;

  /// "file:LINE: message" for the line `node` starts on ("file: message"
  /// when the node has no position). With a scope (WithScope), "file:LINE:
  /// scope: message". Note that yaml-cpp places an empty value (`key:` with
  /// nothing after it) on the line of the next token: point errors about
  /// empty values at the key.
  Status Error(const YAML::Node& node, const std::string& message) const;

  /// A copy whose errors all carry `scope` after the location, so that a
  /// probe's parser, which does not know its check, still names it
  /// ("config.yaml:7: check 'redis': redis: address … has no port").
  ConfigContext WithScope(std::string scope) const {
    ConfigContext copy = *this;
    copy.scope_ = std::move(scope);
    return copy;
  }

  /// Errors unless every string in the tree under `node`, keys included,
  /// is valid UTF-8: any of them may end up as a label value, and one bad
  /// byte makes Prometheus reject the whole /metrics page. The error names
  /// the line and shows the bytes escaped.
  Status CheckUtf8(const YAML::Node& node) const;

  /// Errors unless `node` is a map whose keys are all in `allowed` and appear
  /// once each; names every unknown or repeated key and its line, one per
  /// line of the message.
  Status CheckMap(const YAML::Node& node, std::string_view what,
                  std::initializer_list<std::string_view> allowed) const;

  /// Reads node[key] as a scalar string. `required` makes absence an error.
  Status GetString(const YAML::Node& map, std::string_view what,
                   const std::string& key, bool required, std::string* out) const;
  Status GetDuration(const YAML::Node& map, std::string_view what,
                     const std::string& key, Duration* out) const;
  Status GetBool(const YAML::Node& map, std::string_view what,
                 const std::string& key, bool* out) const;
  Status GetInt(const YAML::Node& map, std::string_view what,
                const std::string& key, int64_t min, int64_t max, int64_t* out) const;
  Status GetDouble(const YAML::Node& map, std::string_view what,
                   const std::string& key, double* out) const;
  /// A list of scalar strings (a single scalar is not accepted).
  Status GetStringList(const YAML::Node& map, std::string_view what,
                       const std::string& key, std::vector<std::string>* out) const;

  /// argv for an external command: the `commands:` override when the config
  /// has one for `name`, else `fallback`.
  std::vector<std::string> Command(const std::string& name,
                                   std::vector<std::string> fallback) const;
  void SetCommand(const std::string& name, std::vector<std::string> argv) {
    commands_[name] = std::move(argv);
  }

  Duration default_interval() const { return default_interval_; }
  Duration default_timeout() const { return default_timeout_; }
  void SetDefaults(Duration interval, Duration timeout) {
    default_interval_ = interval;
    default_timeout_ = timeout;
  }
  /// Directory of the config file, for resolving relative paths ("" for the
  /// embedded config, meaning the working directory).
  std::string ResolvePath(const std::string& path) const;

 private:
  std::string filename_;
  std::string scope_;
  std::shared_ptr<std::vector<std::string>> problems_ =
      std::make_shared<std::vector<std::string>>();
  std::map<std::string, std::vector<std::string>> commands_;
  Duration default_interval_{30000};
  Duration default_timeout_{5000};
};

}  // namespace joelclaw
