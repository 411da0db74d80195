#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace joelclaw::testing {

/// The source tree and the built binary (set by CMake).
std::string SourceDir();
std::string ExporterBinary();
/// tests/testdata/<relative>.
std::string TestData(const std::string& relative);
std::string ReadFileOrDie(const std::string& path);
void WriteFileOrDie(const std::string& path, const std::string& content, int mode = 0644);

/// A fresh directory under $TMPDIR, removed with everything in it on
/// destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// A listening TCP socket on 127.0.0.1:`port` (0 = the kernel picks;
/// SO_REUSEADDR, so the port of a stopped test server can be taken again),
/// with `backlog`. Returns the fd and sets *bound_port, or -1 on failure.
int ListenLoopback(int port, int* bound_port, int backlog = 64);

/// A port that was free a moment ago on 127.0.0.1 (bind to 0, read, close).
int FreePort();

/// A child process (no shell), in its own process group, killed with
/// SIGKILL on destruction unless already reaped. stdout/stderr go to files.
class Subprocess {
 public:
  Subprocess(std::vector<std::string> argv, const std::string& log_path = "",
             std::map<std::string, std::string> extra_env = {});
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  void Signal(int sig);
  /// Waits for exit up to `timeout`; returns the wait status or -1.
  int Wait(std::chrono::milliseconds timeout);
  bool Running();
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string log_path_;
};

/// Polls `pred` every 20 ms until it is true or `timeout` passes.
bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

/// True when something accepts TCP connections on 127.0.0.1:port.
bool PortOpen(int port);

struct HttpReply {
  long status = 0;  ///< 0 when no HTTP answer came.
  std::string body;
  std::string error;
  std::map<std::string, std::string> headers;  ///< Lower-cased names.
};

/// A plain libcurl request, for tests. `extra` are raw header lines.
HttpReply HttpRequest(const std::string& method, const std::string& url,
                      const std::string& body = "", const std::vector<std::string>& extra = {},
                      long timeout_ms = 5000, const std::string& ca_file = "",
                      const std::string& userpwd = "");
inline HttpReply HttpGet(const std::string& url) { return HttpRequest("GET", url); }

/// Runs argv (no shell) to completion; returns exit status and output.
struct CommandOutput {
  int exit_code = -1;
  std::string out;
};
CommandOutput RunCommand(const std::vector<std::string>& argv, int timeout_seconds = 60);

/// The value of the sample written exactly as `series` (name and labels as
/// the exporter renders them) in a /metrics body, if present.
std::optional<double> MetricSample(const std::string& metrics, const std::string& series);

/// A real bcrypt hash ($2b$) of `password` at `cost` (5 is fast enough for
/// tests), made with crypt(3); "" on failure.
std::string BcryptHash(const std::string& password, int cost = 5);

/// True when `program` is found in PATH or at a sbin path.
std::string FindProgram(const std::string& program);

}  // namespace joelclaw::testing
