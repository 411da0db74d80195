#include "tests/support/fake_env.h"

namespace joelclaw::testing {

std::string FakeEnv::Key(const std::vector<std::string>& argv) {
  std::string k;
  for (const std::string& a : argv) k += (k.empty() ? "" : " ") + a;
  return k;
}

void FakeEnv::SetCommand(const std::vector<std::string>& argv,
                         std::vector<Result<CommandResult>> results) {
  std::lock_guard<std::mutex> lock(mu_);
  commands_.erase(Key(argv));
  commands_.emplace(Key(argv), std::move(results));
  command_pos_[Key(argv)] = 0;
}

void FakeEnv::SetCommandOutput(const std::vector<std::string>& argv, const std::string& out,
                               int exit_code) {
  CommandResult r;
  r.out = out;
  r.exit_code = exit_code;
  SetCommand(argv, {r});
}

void FakeEnv::SetFile(const std::string& path, const std::string& content) {
  std::lock_guard<std::mutex> lock(mu_);
  files_[path] = content;
}

void FakeEnv::RemoveFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  files_.erase(path);
}

void FakeEnv::SetFs(const std::string& path, FsStats stats) {
  std::lock_guard<std::mutex> lock(mu_);
  fs_[path] = stats;
}

void FakeEnv::SetNow(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ = seconds;
}

void FakeEnv::Advance(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ += seconds;
}

std::vector<std::vector<std::string>> FakeEnv::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

Result<CommandResult> FakeEnv::Run(const std::vector<std::string>& argv, Duration,
                                   const std::atomic<bool>*, size_t) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.push_back(argv);
  auto it = commands_.find(Key(argv));
  if (it == commands_.end() || it->second.empty()) {
    return Result<CommandResult>::Error("cannot run '" + (argv.empty() ? "" : argv[0]) +
                                        "': No such file or directory");
  }
  size_t& pos = command_pos_[it->first];
  Result<CommandResult> r = it->second[std::min(pos, it->second.size() - 1)];
  ++pos;
  return r;
}

Result<std::string> FakeEnv::ReadFile(const std::string& path, size_t max_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) {
    return Result<std::string>::Error("cannot read " + path + ": No such file or directory");
  }
  return it->second.substr(0, max_bytes);
}

Result<FsStats> FakeEnv::StatFs(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = fs_.find(path);
  if (it == fs_.end()) return Result<FsStats>::Error("statvfs " + path + ": No such file or directory");
  return it->second;
}

double FakeEnv::NowSeconds() {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

}  // namespace joelclaw::testing
