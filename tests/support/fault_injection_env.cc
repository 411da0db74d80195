#include "tests/support/fault_injection_env.h"

namespace joelclaw::testing {
namespace {

// A real file whose calls consult the Env's faults first.
class FaultyFile : public WritableFile {
 public:
  FaultyFile(FaultInjectionEnv* env, std::string path, std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  Status Append(std::string_view data) override {
    using Fault = FaultInjectionEnv::Fault;
    if (env_->Fires(Fault::kAppend, path_)) {
      return Status::Error("cannot write " + path_ + ": No space left on device (injected)");
    }
    if (env_->Fires(Fault::kTornAppend, path_)) {
      (void)base_->Append(data.substr(0, data.size() / 2));
      return Status::Error("cannot write " + path_ + ": Input/output error (injected)");
    }
    return base_->Append(data);
  }
  Status Sync() override {
    if (env_->Fires(FaultInjectionEnv::Fault::kSync, path_)) {
      return Status::Error("cannot sync " + path_ + ": Input/output error (injected)");
    }
    return base_->Sync();
  }
  Status Truncate(uint64_t size) override {
    if (env_->Fires(FaultInjectionEnv::Fault::kTruncate, path_)) {
      return Status::Error("cannot truncate " + path_ + ": Input/output error (injected)");
    }
    return base_->Truncate(size);
  }
  Result<size_t> ReadAt(uint64_t offset, char* buf, size_t n) override {
    return base_->ReadAt(offset, buf, n);
  }
  Result<uint64_t> Size() override { return base_->Size(); }

 private:
  FaultInjectionEnv* const env_;
  const std::string path_;
  std::unique_ptr<WritableFile> base_;
};

}  // namespace

void FaultInjectionEnv::Set(Fault fault, bool on, const std::string& path_prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  if (on) {
    on_[fault] = path_prefix;
  } else {
    on_.erase(fault);
  }
}

void FaultInjectionEnv::ClearAll() {
  std::lock_guard<std::mutex> lock(mu_);
  on_.clear();
}

int FaultInjectionEnv::SyncDirCalls(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = synced_dirs_.find(path);
  return it == synced_dirs_.end() ? 0 : it->second;
}

bool FaultInjectionEnv::Fires(Fault fault, const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = on_.find(fault);
  if (it == on_.end() || path.rfind(it->second, 0) != 0) return false;
  ++injected_;
  return true;
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::OpenWritable(const std::string& path,
                                                                      bool truncate) {
  if (Fires(Fault::kCreate, path)) {
    return Result<std::unique_ptr<WritableFile>>::Error(
        "cannot open " + path + ": Read-only file system (injected)");
  }
  Result<std::unique_ptr<WritableFile>> base = target()->OpenWritable(path, truncate);
  if (!base.ok()) return base;
  return std::unique_ptr<WritableFile>(new FaultyFile(this, path, std::move(base).value()));
}

Status FaultInjectionEnv::CreateDir(const std::string& path) {
  if (Fires(Fault::kCreate, path)) {
    return Status::Error("cannot create directory " + path +
                         ": Read-only file system (injected)");
  }
  return target()->CreateDir(path);
}

Status FaultInjectionEnv::SyncDir(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++synced_dirs_[path];
  }
  if (Fires(Fault::kSyncDir, path)) {
    return Status::Error("cannot sync directory " + path + ": Input/output error (injected)");
  }
  return target()->SyncDir(path);
}

Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  if (Fires(Fault::kRename, from)) {
    return Status::Error("cannot rename " + from + ": Input/output error (injected)");
  }
  return target()->RenameFile(from, to);
}

}  // namespace joelclaw::testing
