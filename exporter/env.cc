#include "exporter/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

namespace joelclaw {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

// Children that a Run() is waiting for: the orphan reaper leaves them
// alone. Spawning happens under the lock, so the reaper never sees a child
// of Run() that is not in the set yet.
std::mutex g_children_mu;
std::set<pid_t> g_running;  // GUARDED_BY(g_children_mu)
std::atomic<bool> g_subreaper{false};

class RealEnv : public Env {
 public:
  Result<CommandResult> Run(const std::vector<std::string>& argv,
                            Duration timeout, const std::atomic<bool>* cancel,
                            size_t max_output_bytes) override {
    if (argv.empty() || argv[0].empty()) {
      return Result<CommandResult>::Error("empty command");
    }
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0) {
      return Result<CommandResult>::Error("pipe: " + ErrnoText(errno));
    }
    if (pipe2(err_pipe, O_CLOEXEC) != 0) {
      close(out_pipe[0]);
      close(out_pipe[1]);
      return Result<CommandResult>::Error("pipe: " + ErrnoText(errno));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // A process group of its own, so a timeout kills the command and
    // everything it started (ssh's children, a shell script's sleep).
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t default_signals;
    sigemptyset(&default_signals);
    sigaddset(&default_signals, SIGPIPE);
    sigaddset(&default_signals, SIGHUP);
    sigaddset(&default_signals, SIGTERM);
    sigaddset(&default_signals, SIGINT);
    posix_spawnattr_setsigdefault(&attr, &default_signals);
    sigset_t empty_mask;
    sigemptyset(&empty_mask);
    posix_spawnattr_setsigmask(&attr, &empty_mask);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETSIGMASK);
    std::vector<char*> cargv;
    for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    pid_t pid = 0;
    int rc;
    {
      std::lock_guard<std::mutex> lock(g_children_mu);
      rc = posix_spawnp(&pid, cargv[0], &actions, &attr, cargv.data(), environ);
      if (rc == 0) g_running.insert(pid);
    }
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (rc != 0) {
      close(out_pipe[0]);
      close(err_pipe[0]);
      return Result<CommandResult>::Error("cannot run '" + argv[0] +
                                          "': " + ErrnoText(rc));
    }
    CommandResult result;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    std::string* sinks[2] = {&result.out, &result.err};
    int open_count = 2;
    bool timed_out = false, cancelled = false;
    char buf[16384];
    while (open_count > 0) {
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        timed_out = true;
        break;
      }
      if (cancel != nullptr && cancel->load()) {
        cancelled = true;
        break;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      // Short slices so a cancel is noticed within 100 ms.
      int wait_ms = static_cast<int>(std::min<int64_t>(left.count() + 1, 100));
      int n = poll(fds, 2, wait_ms);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) continue;
        ssize_t got = read(fds[i].fd, buf, sizeof(buf));
        if (got > 0) {
          size_t room = max_output_bytes - std::min(max_output_bytes, sinks[i]->size());
          sinks[i]->append(buf, std::min<size_t>(room, static_cast<size_t>(got)));
        } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
          close(fds[i].fd);
          fds[i].fd = -1;
          --open_count;
        }
      }
    }
    for (auto& fd : fds) {
      if (fd.fd >= 0) close(fd.fd);
    }
    if (timed_out || cancelled) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
    }
    // Output closed but the process may still be exiting; wait for it
    // within what is left of the deadline, then kill it. Its exit is seen
    // without reaping it (WNOWAIT) so that its process group can be killed
    // while the pid cannot yet be reused: whatever the command left running
    // in its group (a background job) ends with it.
    int wstatus = 0;
    while (true) {
      siginfo_t info;
      std::memset(&info, 0, sizeof(info));
      int w = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
      if (w == 0 && info.si_pid == pid) {
        kill(-pid, SIGKILL);
        while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
        }
        break;
      }
      if (w < 0 && errno != EINTR) break;
      if (!timed_out && !cancelled &&
          (std::chrono::steady_clock::now() >= deadline ||
           (cancel != nullptr && cancel->load()))) {
        timed_out = !(cancel != nullptr && cancel->load());
        cancelled = !timed_out;
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
      }
      usleep(2000);
    }
    {
      std::lock_guard<std::mutex> lock(g_children_mu);
      g_running.erase(pid);
    }
    if (cancelled) return Result<CommandResult>::Error("'" + argv[0] + "' was cancelled");
    if (timed_out) {
      return Result<CommandResult>::Error("'" + argv[0] + "' timed out after " +
                                          FormatDuration(timeout));
    }
    if (WIFEXITED(wstatus)) {
      result.exit_code = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
      result.exit_code = -1;
      result.term_signal = WTERMSIG(wstatus);
    }
    return result;
  }

  Result<std::string> ReadFile(const std::string& path, size_t max_bytes) override {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Result<std::string>::Error("cannot read " + path + ": " + ErrnoText(errno));
    std::string data;
    char buf[16384];
    while (data.size() < max_bytes) {
      ssize_t n = read(fd, buf, std::min(sizeof(buf), max_bytes - data.size()));
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        close(fd);
        return Result<std::string>::Error("cannot read " + path + ": " + ErrnoText(err));
      }
      if (n == 0) break;
      data.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    return data;
  }

  Result<FsStats> StatFs(const std::string& path) override {
    struct statvfs st;
    if (statvfs(path.c_str(), &st) != 0) {
      return Result<FsStats>::Error("statvfs " + path + ": " + ErrnoText(errno));
    }
    FsStats fs;
    uint64_t frsize = st.f_frsize ? st.f_frsize : st.f_bsize;
    fs.size_bytes = static_cast<uint64_t>(st.f_blocks) * frsize;
    fs.avail_bytes = static_cast<uint64_t>(st.f_bavail) * frsize;
    fs.free_bytes = static_cast<uint64_t>(st.f_bfree) * frsize;
    fs.files = st.f_files;
    fs.files_free = st.f_ffree;
    return fs;
  }

  double NowSeconds() override {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count() / 1e6;
  }
};

}  // namespace

Env* Env::Default() {
  static RealEnv* env = new RealEnv();
  return env;
}

namespace {

class PosixFile : public WritableFile {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { close(fd_); }

  Status Append(std::string_view data) override {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = write(fd_, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::Error("cannot write " + path_ + ": " + ErrnoText(errno));
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }
  Status Sync() override {
    if (fdatasync(fd_) != 0) return Status::Error("cannot sync " + path_ + ": " + ErrnoText(errno));
    return Status::Ok();
  }
  Status Truncate(uint64_t size) override {
    if (ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return Status::Error("cannot truncate " + path_ + ": " + ErrnoText(errno));
    }
    return Status::Ok();
  }
  Result<size_t> ReadAt(uint64_t offset, char* buf, size_t n) override {
    size_t done = 0;
    while (done < n) {
      ssize_t got = pread(fd_, buf + done, n - done, static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return Result<size_t>::Error("cannot read " + path_ + ": " + ErrnoText(errno));
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }
  Result<uint64_t> Size() override {
    struct stat st;
    if (fstat(fd_, &st) != 0) {
      return Result<uint64_t>::Error("cannot stat " + path_ + ": " + ErrnoText(errno));
    }
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  const int fd_;
  const std::string path_;
};

class PosixLock : public FileLock {
 public:
  explicit PosixLock(int fd) : fd_(fd) {}
  ~PosixLock() override { close(fd_); }  // Releases the flock.

 private:
  const int fd_;
};

// The pids of this process's children, from /proc/self/task/*/children
// (an adopted orphan is the child of whichever thread it was given to).
std::vector<pid_t> ListChildren() {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return out;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(std::string("/proc/self/task/") + e->d_name + "/children");
    pid_t pid;
    while (in >> pid) out.push_back(pid);
  }
  closedir(d);
  return out;
}

}  // namespace

Result<std::unique_ptr<WritableFile>> Env::OpenWritable(const std::string& path, bool truncate) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0),
                0600);
  if (fd < 0) {
    return Result<std::unique_ptr<WritableFile>>::Error("cannot open " + path + ": " +
                                                        ErrnoText(errno));
  }
  return std::unique_ptr<WritableFile>(new PosixFile(fd, path));
}

Status Env::CreateDir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) == 0) return Status::Ok();
  const int err = errno;
  struct stat st;
  if (err == EEXIST && stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::Ok();
  return Status::Error("cannot create directory " + path + ": " + ErrnoText(err));
}

Status Env::SyncDir(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Error("cannot open directory " + path + ": " + ErrnoText(errno));
  const int rc = fsync(fd);
  const int err = errno;
  close(fd);
  if (rc != 0) return Status::Error("cannot sync directory " + path + ": " + ErrnoText(err));
  return Status::Ok();
}

Status Env::RenameFile(const std::string& from, const std::string& to) {
  if (rename(from.c_str(), to.c_str()) != 0) {
    return Status::Error("cannot rename " + from + " to " + to + ": " + ErrnoText(errno));
  }
  return Status::Ok();
}

Status Env::DeleteFile(const std::string& path) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::Error("cannot remove " + path + ": " + ErrnoText(errno));
  }
  return Status::Ok();
}

Result<std::unique_ptr<FileLock>> Env::LockFile(const std::string& path) {
  using R = Result<std::unique_ptr<FileLock>>;
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return R::Error("cannot open " + path + ": " + ErrnoText(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return R::Error(path + " is locked by another process");
  }
  return std::unique_ptr<FileLock>(new PosixLock(fd));
}

Status EnableChildSubreaper() {
#ifdef __linux__
  if (g_subreaper.exchange(true)) return Status::Ok();
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    g_subreaper = false;
    return Status::Error(std::string("cannot become a child subreaper: ") + ErrnoText(errno));
  }
  // Orphans whose parent exits after its Run() returned (a double fork)
  // arrive later: look once a second for the life of the process.
  std::thread([] {
    while (true) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      ReapOrphans();
    }
  }).detach();
#endif
  return Status::Ok();
}

int ReapOrphans() {
  if (!g_subreaper) return 0;
  std::lock_guard<std::mutex> lock(g_children_mu);
  int killed = 0;
  for (pid_t pid : ListChildren()) {
    if (g_running.count(pid) > 0) continue;
    // Not a command we run: an orphan given to us. It and its group go.
    const pid_t group = getpgid(pid);
    if (group == pid && group != getpgrp()) kill(-group, SIGKILL);
    kill(pid, SIGKILL);
    ++killed;
    int status;
    waitpid(pid, &status, WNOHANG);
  }
  return killed;
}

std::string FirstLineOf(const std::string& text, size_t max) {
  return text.substr(0, std::min(text.find('\n'), max));
}

Result<std::pair<std::string, int>> SplitHostPort(const std::string& address) {
  using R = Result<std::pair<std::string, int>>;
  std::string host, port;
  if (!address.empty() && address[0] == '[') {
    size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return R::Error("address '" + address + "' is not [host]:port");
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string::npos) {
      return R::Error("address '" + address + "' has no port (want host:port)");
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      return R::Error("address '" + address + "': put IPv6 hosts in brackets, [::1]:22");
    }
  }
  if (host.empty()) return R::Error("address '" + address + "' has no host");
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return R::Error("address '" + address + "' has an invalid port");
  }
  int p = std::stoi(port);
  if (p < 1 || p > 65535) return R::Error("address '" + address + "' has a port out of range");
  return std::make_pair(host, p);
}

}  // namespace joelclaw
