#include "exporter/logging.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <mutex>

#include "exporter/text_parse.h"
#include "spdlog/sinks/base_sink.h"
#include "spdlog/spdlog.h"

namespace joelclaw {
namespace {

// The fields of the Log() call running on this thread. spdlog's synchronous
// logger formats inside the call, on the caller's thread, so the formatter
// sees exactly that call's fields and a plain spdlog::info() sees none.
thread_local const LogFields* current_fields = nullptr;

class StructuredFormatter : public spdlog::formatter {
 public:
  explicit StructuredFormatter(LogFormat format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    static const LogFields kNone;
    const std::string line =
        FormatLogLine(format_, msg.time, LogLevelName(msg.level),
                      std::string_view(msg.payload.data(), msg.payload.size()),
                      current_fields != nullptr ? *current_fields : kNone);
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<StructuredFormatter>(format_);
  }

 private:
  LogFormat format_;
};

// Standard error with write(2), so that a reopened descriptor is used at
// once, and a check for rotation before each line: log lines are rare
// (state changes, errors), a stat(2) each is nothing.
class StderrSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  StderrSink() : reopener_(STDERR_FILENO) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    reopener_.MaybeReopen();
    const char* p = buf.data();
    size_t left = buf.size();
    while (left > 0) {
      ssize_t n = ::write(STDERR_FILENO, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // Nowhere to report a failing stderr.
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
  void flush_() override {}

 private:
  LogFileReopener reopener_;
};

bool SameFile(const struct stat& a, unsigned long long dev, unsigned long long ino) {
  return static_cast<unsigned long long>(a.st_dev) == dev &&
         static_cast<unsigned long long>(a.st_ino) == ino;
}

std::string PathOfFd(int fd) {
#if defined(__APPLE__)
  char buf[PATH_MAX];
  if (fcntl(fd, F_GETPATH, buf) == -1) return "";
  return buf;
#elif defined(__linux__)
  char buf[PATH_MAX];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = readlink(link.c_str(), buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  std::string path(buf, static_cast<size_t>(n));
  // An unlinked file has nothing to reopen.
  if (path.empty() || path[0] != '/' || path.find(" (deleted)") != std::string::npos) return "";
  return path;
#else
  (void)fd;
  return "";
#endif
}

}  // namespace

std::string_view LogLevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    default:
      return "error";
  }
}

std::unique_ptr<spdlog::formatter> MakeLogFormatter(LogFormat format) {
  return std::make_unique<StructuredFormatter>(format);
}

void SetupLogging(std::string_view level, LogFormat format) {
  auto sink = std::make_shared<StderrSink>();
  sink->set_formatter(MakeLogFormatter(format));
  auto logger = std::make_shared<spdlog::logger>("joelclaw", std::move(sink));
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
}

void Log(spdlog::level::level_enum level, std::string_view msg, const LogFields& fields) {
  spdlog::logger* logger = spdlog::default_logger_raw();
  if (logger == nullptr || !logger->should_log(level)) return;
  const LogFields* saved = current_fields;
  current_fields = &fields;
  logger->log(level, spdlog::string_view_t(msg.data(), msg.size()));
  current_fields = saved;
}

void LogEachLine(spdlog::level::level_enum level, std::string_view msg, const std::string& key,
                 std::string_view text) {
  for (std::string_view line : NonEmptyLines(text)) Log(level, msg, {{key, std::string(line)}});
}

LogFileReopener::LogFileReopener(int fd) : fd_(fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
  std::string path = PathOfFd(fd);
  if (path.empty()) return;
  path_ = std::move(path);
  dev_ = static_cast<unsigned long long>(st.st_dev);
  ino_ = static_cast<unsigned long long>(st.st_ino);
  struct stat out;
  shares_stdout_ = fd != STDOUT_FILENO && fstat(STDOUT_FILENO, &out) == 0 && SameFile(out, dev_, ino_);
}

bool LogFileReopener::MaybeReopen() {
  if (path_.empty()) return false;
  struct stat st;
  const bool exists = stat(path_.c_str(), &st) == 0;
  if (exists && SameFile(st, dev_, ino_)) return false;
  // Renamed away (newsyslog made a fresh file, or will) or removed: follow
  // the name, as the service definition promises.
  int fresh = open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fresh < 0) return false;  // Keep writing where we were; try again next line.
  struct stat now;
  if (fstat(fresh, &now) != 0) {
    close(fresh);
    return false;
  }
  dup2(fresh, fd_);
  if (shares_stdout_) dup2(fresh, STDOUT_FILENO);
  close(fresh);
  dev_ = static_cast<unsigned long long>(now.st_dev);
  ino_ = static_cast<unsigned long long>(now.st_ino);
  return true;
}

}  // namespace joelclaw
