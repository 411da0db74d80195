#include "exporter/collectors/remote_filesystem_collector.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <set>

#include "exporter/text_parse.h"

namespace joelclaw {
namespace {

struct Token {
  size_t begin, end;  // Offsets into the line.
};

std::vector<Token> Tokenize(std::string_view line) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back({start, i});
  }
  return out;
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  std::string tmp(s);
  errno = 0;
  unsigned long long v = std::strtoull(tmp.c_str(), nullptr, 10);
  if (errno != 0) return false;
  *out = v;
  return true;
}

bool IsCapacity(std::string_view s) {
  if (s == "-") return true;
  if (s.size() < 2 || s.back() != '%') return false;
  uint64_t v;
  return ParseU64(s.substr(0, s.size() - 1), &v);
}

// Characters a path may have so that the remote shell, which re-splits the
// command line ssh sends, passes it to df unchanged. Bytes >= 0x80 (UTF-8)
// are not special to any POSIX shell.
bool ShellSafe(unsigned char c) {
  if (c >= 0x80) return true;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("/._-+,@%:=").find(static_cast<char>(c)) != std::string_view::npos;
}

std::string FirstLine(const std::string& s) {
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    std::string_view line = TrimRight(std::string_view(s).substr(
        start, nl == std::string::npos ? std::string::npos : nl - start));
    if (!line.empty()) return std::string(line.substr(0, 200));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return "";
}

struct SshTarget {
  std::string host;
  std::string user;
  int port = 0;  // 0: ssh's default.
  std::string identity_file;
};

class RemoteFilesystemCollector : public Collector {
 public:
  RemoteFilesystemCollector(std::string host, SshTarget target, std::vector<std::string> paths,
                            std::vector<std::string> ssh_argv)
      : host_(std::move(host)), target_(std::move(target)), paths_(std::move(paths)),
        ssh_argv_(std::move(ssh_argv)) {}

  Status Collect(const CollectContext& ctx, CollectOutput* out) override {
    const std::chrono::milliseconds remaining = ctx.Remaining();
    const long long connect_secs = std::max<long long>(1, remaining.count() / 1000);
    std::vector<std::string> argv = ssh_argv_;
    argv.insert(argv.end(), {"-o", "BatchMode=yes", "-o",
                             "ConnectTimeout=" + std::to_string(connect_secs)});
    if (target_.port != 0) argv.insert(argv.end(), {"-p", std::to_string(target_.port)});
    if (!target_.identity_file.empty()) argv.insert(argv.end(), {"-i", target_.identity_file});
    if (!target_.user.empty()) argv.insert(argv.end(), {"-l", target_.user});
    argv.insert(argv.end(), {target_.host, "df", "-Pk", "--"});
    argv.insert(argv.end(), paths_.begin(), paths_.end());

    const std::string failed = "ssh to " + target_.host + " failed: ";
    Result<CommandResult> run = ctx.env->Run(argv, remaining, ctx.cancel);
    if (!run.ok()) return Status::Error(failed + run.status().message());
    if (run->term_signal != 0) {
      return Status::Error(failed + "killed by signal " + std::to_string(run->term_signal));
    }
    if (run->exit_code == 255) {
      std::string why = FirstLine(run->err);
      return Status::Error(failed + (why.empty() ? "exit status 255" : why));
    }
    const std::string df = "df on " + target_.host;
    Result<std::vector<DfEntry>> rows = ParseDfPortable(run->out);
    if (!rows.ok()) {
      if (run->exit_code != 0) {
        return Status::Error(df + " exited with status " + std::to_string(run->exit_code) +
                             ": " + FirstLine(run->err));
      }
      return rows.status().WithPrefix(df);
    }
    // df -P prints one row per operand, in order, and none for an operand it
    // cannot read; then rows cannot be matched to paths.
    if (rows->size() != paths_.size()) {
      std::string why = FirstLine(run->err);
      return Status::Error(df + " returned " + std::to_string(rows->size()) + " rows for " +
                           std::to_string(paths_.size()) + " paths" +
                           (why.empty() ? "" : ": " + why));
    }
    nlohmann::json list = nlohmann::json::array();
    for (size_t i = 0; i < paths_.size(); ++i) {
      const DfEntry& row = (*rows)[i];
      const Labels l = {{"host", host_}, {"mountpoint", paths_[i]}};
      out->metrics.Gauge("joelclaw_filesystem_size_bytes", "Filesystem size in bytes.", l,
                         static_cast<double>(row.size_bytes));
      out->metrics.Gauge("joelclaw_filesystem_avail_bytes",
                         "Filesystem space available to unprivileged users, bytes.", l,
                         static_cast<double>(row.avail_bytes));
      list.push_back({{"mountpoint", paths_[i]},
                      {"filesystem", row.filesystem},
                      {"remote_mountpoint", row.mountpoint},
                      {"size_bytes", row.size_bytes},
                      {"avail_bytes", row.avail_bytes}});
    }
    out->details = {{"ssh", target_.host}, {"filesystems", list}};
    if (run->exit_code != 0) {
      return Status::Error(df + " exited with status " + std::to_string(run->exit_code) + ": " +
                           FirstLine(run->err));
    }
    return Status::Ok();
  }

 private:
  std::string host_;
  SshTarget target_;
  std::vector<std::string> paths_;
  std::vector<std::string> ssh_argv_;
};

}  // namespace

Result<std::vector<DfEntry>> ParseDfPortable(std::string_view text) {
  using R = Result<std::vector<DfEntry>>;
  std::vector<DfEntry> rows;
  uint64_t block_size = 0;  // 0 until the header was seen.
  size_t start = 0;
  int line_no = 0;
  bool any = false;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line =
        TrimRight(text.substr(start, nl == std::string_view::npos ? nl : nl - start));
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    std::vector<Token> t = Tokenize(line);
    if (t.empty()) continue;
    any = true;
    const std::string where = "line " + std::to_string(line_no) + ": ";
    auto tok = [&](size_t i) { return line.substr(t[i].begin, t[i].end - t[i].begin); };
    if (block_size == 0) {
      const std::string_view blocks = t.size() >= 2 ? tok(1) : std::string_view();
      const size_t dash = blocks.find("-blocks");
      if (tok(0) != "Filesystem" || dash == std::string_view::npos ||
          dash + 7 != blocks.size()) {
        return R::Error(
            where +
            "no 'Filesystem 1024-blocks Used Available Capacity Mounted on' "
            "header: " +
            QuotedExcerpt(line, 80));
      }
      std::string_view n = blocks.substr(0, dash);
      if (n == "1K" || n == "1k") n = "1024";
      if (!ParseU64(n, &block_size) || block_size == 0) {
        return R::Error(where + "unknown block size " +
                        QuotedExcerpt(blocks, 80));
      }
      continue;
    }
    // Filesystem names may have spaces too (macOS "map auto_home"): find the
    // first "SIZE USED AVAIL CAPACITY" run with at least one token before it.
    size_t cap = 0;
    for (size_t i = 4; i < t.size(); ++i) {
      uint64_t v;
      if (IsCapacity(tok(i)) && ParseU64(tok(i - 3), &v) && ParseU64(tok(i - 2), &v) &&
          ParseU64(tok(i - 1), &v)) {
        cap = i;
        break;
      }
    }
    if (cap == 0)
      return R::Error(
          where + "truncated or not a df -P row: " + QuotedExcerpt(line, 80));
    if (cap + 1 >= t.size())
      return R::Error(where +
                      "row has no mount point: " + QuotedExcerpt(line, 80));
    DfEntry e;
    e.filesystem = std::string(line.substr(t[0].begin, t[cap - 4].end - t[0].begin));
    e.mountpoint = std::string(line.substr(t[cap + 1].begin));
    uint64_t size, avail;
    ParseU64(tok(cap - 3), &size);
    ParseU64(tok(cap - 1), &avail);
    const uint64_t max = std::numeric_limits<uint64_t>::max() / block_size;
    if (size > max || avail > max)
      return R::Error(where +
                      "block count too large: " + QuotedExcerpt(line, 80));
    e.size_bytes = size * block_size;
    e.avail_bytes = avail * block_size;
    rows.push_back(std::move(e));
  }
  if (!any) return R::Error("empty output");
  if (rows.empty()) return R::Error("no filesystem rows after the header");
  return rows;
}

Result<std::unique_ptr<Collector>> ParseRemoteFilesystemCollector(const YAML::Node& node,
                                                                  const ConfigContext& ctx,
                                                                  const std::string& host) {
  const std::string what = "host '" + host + "': remote_filesystems";
  Status s = ctx.CheckMap(node, what, {"ssh", "paths", "user", "port", "identity_file"});
  if (!s.ok()) return s;
  SshTarget target;
  if (!(s = ctx.GetString(node, what, "ssh", true, &target.host)).ok()) return s;
  auto plain = [](const std::string& v) {
    if (v.empty() || v[0] == '-') return false;
    for (unsigned char c : v) {
      if (c <= 0x20 || c == 0x7f) return false;
    }
    return true;
  };
  if (!plain(target.host)) {
    return ctx.Error(node["ssh"], what + ": ssh host '" + target.host +
                                      "' must not start with '-' or contain whitespace");
  }
  if (!(s = ctx.GetString(node, what, "user", false, &target.user)).ok()) return s;
  if (node["user"] && !node["user"].IsNull() && !plain(target.user)) {
    return ctx.Error(node["user"], what + ": user '" + target.user +
                                       "' must not be empty, start with '-' or contain whitespace");
  }
  int64_t port = 0;
  if (!(s = ctx.GetInt(node, what, "port", 1, 65535, &port)).ok()) return s;
  target.port = static_cast<int>(port);
  std::string identity;
  if (!(s = ctx.GetString(node, what, "identity_file", false, &identity)).ok()) return s;
  if (!identity.empty()) target.identity_file = ctx.ResolvePath(identity);

  std::vector<std::string> paths;
  if (!(s = ctx.GetStringList(node, what, "paths", &paths)).ok()) return s;
  if (!node["paths"]) return ctx.Error(node, what + " has no paths");
  if (paths.empty()) return ctx.Error(node["paths"], what + ": paths is empty");
  std::set<std::string> seen;
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string& p = paths[i];
    const YAML::Node item = node["paths"][i];
    if (p.empty() || p[0] != '/') {
      return ctx.Error(item, what + ": path '" + p + "' is not an absolute path");
    }
    auto bad = std::find_if(p.begin(), p.end(),
                            [](char c) { return !ShellSafe(static_cast<unsigned char>(c)); });
    if (bad != p.end()) {
      std::string shown = static_cast<unsigned char>(*bad) <= 0x20
                              ? (*bad == ' ' ? "a space" : "whitespace or a control character")
                              : std::string("'") + *bad + "'";
      return ctx.Error(item, what + ": path '" + p + "' contains " + shown +
                                 "; ssh hands paths to the remote shell, so only letters, "
                                 "digits and /._-+,@%:= are allowed");
    }
    if (!seen.insert(p).second) {
      return ctx.Error(item, what + ": path '" + p + "' is listed twice");
    }
  }
  return std::unique_ptr<Collector>(new RemoteFilesystemCollector(
      host, std::move(target), std::move(paths), ctx.Command("ssh", {"ssh"})));
}

}  // namespace joelclaw
