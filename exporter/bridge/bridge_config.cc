#include "exporter/bridge/bridge_config.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace joelclaw {
namespace {

// A secret file's content without trailing whitespace (editors add a
// newline). Secrets are read at (re)load so that a missing file is a config
// error, not a failure at the first alert.
Status ReadSecret(const YAML::Node& node, const ConfigContext& ctx,
                  const std::string& what, const std::string& path,
                  std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return ctx.Error(
        node, what + " " + path + " cannot be read: " + std::strerror(errno));
  std::stringstream buf;
  buf << in.rdbuf();
  std::string s = buf.str();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.pop_back();
  if (s.empty()) return ctx.Error(node, what + " " + path + " is empty");
  if (s.find_first_of("\r\n") != std::string::npos) {
    return ctx.Error(node, what + " " + path + " holds more than one line");
  }
  *out = std::move(s);
  return Status::Ok();
}

}  // namespace

Result<BridgeConfig> ParseBridgeConfig(const YAML::Node& node,
                                       const ConfigContext& ctx) {
  BridgeConfig b;
  Status s = ctx.CheckMap(node, "bridge",
                          {"token_file", "inngest", "spool_dir", "retry",
                           "max_notification_bytes", "max_event_bytes",
                           "spool_max_events", "spool_max_bytes"});
  if (!s.ok()) return s;
  if (!node["token_file"] || node["token_file"].IsNull()) {
    return ctx.Error(node,
                     "bridge has no token_file: the bridge needs a bearer "
                     "token (Alertmanager's http_config.authorization), or "
                     "anyone who reaches the port could send events");
  }
  if (!(s = ctx.GetString(node, "bridge", "token_file", true, &b.token_file))
           .ok())
    return s;
  b.token_file = ctx.ResolvePath(b.token_file);
  s = ReadSecret(node["token_file"], ctx, "bridge: token_file", b.token_file,
                 &b.token);
  if (!s.ok()) return s;
  struct Limit {
    const char* key;
    int64_t min, max;
    int64_t* out;
  };
  for (const Limit& l :
       {Limit{"max_notification_bytes", 4096, 64ll << 20, &b.max_notification_bytes},
        Limit{"max_event_bytes", 1024, 1ll << 20, &b.max_event_bytes},
        Limit{"spool_max_events", 1, 10000000, &b.spool_max_events},
        Limit{"spool_max_bytes", 1ll << 20, 1ll << 40, &b.spool_max_bytes}}) {
    if (!(s = ctx.GetInt(node, "bridge", l.key, l.min, l.max, l.out)).ok())
      return s;
  }
  if (!(s = ctx.GetString(node, "bridge", "spool_dir", true, &b.spool_dir))
           .ok())
    return s;
  b.spool_dir = ctx.ResolvePath(b.spool_dir);
  {
    // The spool creates only its own directory (one level).
    std::string parent = b.spool_dir;
    while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
    const size_t slash = parent.find_last_of('/');
    parent = slash == std::string::npos ? "." : slash == 0 ? "/" : parent.substr(0, slash);
    struct stat st;
    if (stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      b.warnings.push_back(
          ctx.Error(node["spool_dir"], "bridge: spool_dir's parent directory " + parent +
                                           " does not exist; the exporter creates only " +
                                           b.spool_dir +
                                           " itself, so /alertmanager will answer 503 until "
                                           "the parent is there")
              .message());
    }
  }

  YAML::Node inngest = node["inngest"];
  if (!inngest || inngest.IsNull())
    return ctx.Error(node, "bridge has no inngest");
  if (!(s = ctx.CheckMap(inngest, "bridge: inngest",
                         {"url", "event_key_file", "timeout"}))
           .ok()) {
    return s;
  }
  if (!(s = ctx.GetString(inngest, "bridge: inngest", "url", true,
                          &b.inngest_url))
           .ok())
    return s;
  if (b.inngest_url.rfind("http://", 0) != 0 &&
      b.inngest_url.rfind("https://", 0) != 0) {
    return ctx.Error(inngest["url"],
                     "bridge: inngest: url '" + b.inngest_url +
                         "' must start with http:// or https://");
  }
  while (b.inngest_url.back() == '/') b.inngest_url.pop_back();
  s = ctx.GetString(inngest, "bridge: inngest", "event_key_file", true,
                    &b.event_key_file);
  if (!s.ok()) return s;
  b.event_key_file = ctx.ResolvePath(b.event_key_file);
  s = ReadSecret(inngest["event_key_file"], ctx,
                 "bridge: inngest: event_key_file", b.event_key_file,
                 &b.event_key);
  if (!s.ok()) return s;
  if (!(s = ctx.GetDuration(inngest, "bridge: inngest", "timeout", &b.timeout))
           .ok())
    return s;

  YAML::Node retry = node["retry"];
  if (retry && !retry.IsNull()) {
    if (!(s = ctx.CheckMap(retry, "bridge: retry", {"initial", "max"})).ok())
      return s;
    if (!(s = ctx.GetDuration(retry, "bridge: retry", "initial",
                              &b.retry_initial))
             .ok())
      return s;
    if (!(s = ctx.GetDuration(retry, "bridge: retry", "max", &b.retry_max))
             .ok())
      return s;
    if (b.retry_max < b.retry_initial) {
      return ctx.Error(retry["max"] ? retry["max"] : retry,
                       "bridge: retry: max " + FormatDuration(b.retry_max) +
                           " must not be shorter than initial " +
                           FormatDuration(b.retry_initial));
    }
  }
  return b;
}

}  // namespace joelclaw
