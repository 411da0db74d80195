#include "exporter/collectors/filesystem_collector.h"

#include <set>
#include <vector>

namespace joelclaw {
namespace {

class FilesystemCollector : public Collector {
 public:
  FilesystemCollector(std::string host, std::vector<std::string> paths)
      : host_(std::move(host)), paths_(std::move(paths)) {}

  Status Collect(const CollectContext& ctx, CollectOutput* out) override {
    std::string errors;
    nlohmann::json list = nlohmann::json::array();
    for (const std::string& path : paths_) {
      Result<FsStats> st = ctx.env->StatFs(path);
      if (!st.ok()) {
        errors += (errors.empty() ? "" : "; ") + st.status().message();
        continue;
      }
      const Labels l = {{"host", host_}, {"mountpoint", path}};
      out->metrics.Gauge("joelclaw_filesystem_size_bytes", "Filesystem size in bytes.", l,
                         static_cast<double>(st->size_bytes));
      out->metrics.Gauge("joelclaw_filesystem_avail_bytes",
                         "Filesystem space available to unprivileged users, bytes.", l,
                         static_cast<double>(st->avail_bytes));
      list.push_back({{"mountpoint", path},
                      {"size_bytes", st->size_bytes},
                      {"avail_bytes", st->avail_bytes}});
    }
    out->details = {{"filesystems", list}};
    // One unreadable mount point fails the collector (so it is noticed) but
    // the others are still exported.
    if (!errors.empty()) return Status::Error(errors);
    return Status::Ok();
  }

 private:
  std::string host_;
  std::vector<std::string> paths_;
};

}  // namespace

Result<std::unique_ptr<Collector>> ParseFilesystemCollector(const YAML::Node& node,
                                                            const ConfigContext& ctx,
                                                            const std::string& host) {
  if (!node.IsSequence() || node.size() == 0) {
    return ctx.Error(node, "host '" + host + "': filesystems must be a non-empty list of mount points");
  }
  std::vector<std::string> paths;
  std::set<std::string> seen;
  for (const auto& item : node) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      return ctx.Error(item, "host '" + host + "': filesystems entries must be absolute paths");
    }
    if (item.Scalar()[0] != '/') {
      return ctx.Error(item, "host '" + host + "': filesystem '" + item.Scalar() +
                                 "' is not an absolute path");
    }
    if (!seen.insert(item.Scalar()).second) {
      return ctx.Error(item, "host '" + host + "': filesystem '" + item.Scalar() + "' is listed twice");
    }
    paths.push_back(item.Scalar());
  }
  return std::unique_ptr<Collector>(new FilesystemCollector(host, std::move(paths)));
}

}  // namespace joelclaw
