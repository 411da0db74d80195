#include "exporter/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace joelclaw {
namespace {

// An rlimit as client_golang (via procfs) reports it: "unlimited" is the
// largest uint64, not a missing value.
double Limit(int resource) {
  struct rlimit rl;
  if (getrlimit(resource, &rl) != 0) return -1;
  if (rl.rlim_cur == RLIM_INFINITY) return static_cast<double>(UINT64_MAX);
  return static_cast<double>(rl.rlim_cur);
}

}  // namespace

bool ParseStatm(std::string_view text, long page_size, double* virtual_bytes,
                double* resident_bytes) {
  std::istringstream in{std::string(text)};
  long long pages_total = 0, pages_resident = 0;
  if (!(in >> pages_total >> pages_resident) || pages_total < 0 || pages_resident < 0) {
    return false;
  }
  *virtual_bytes = static_cast<double>(pages_total) * page_size;
  *resident_bytes = static_cast<double>(pages_resident) * page_size;
  return true;
}

ProcessStats ReadProcessStats() {
  ProcessStats p;
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    p.cpu_seconds = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
                    ru.ru_stime.tv_usec / 1e6;
  }
  p.max_fds = Limit(RLIMIT_NOFILE);
  p.virtual_max_bytes = Limit(RLIMIT_AS);
#ifdef __linux__
  std::ifstream statm("/proc/self/statm");
  std::stringstream text;
  text << statm.rdbuf();
  double vsize = 0, rss = 0;
  if (ParseStatm(text.str(), sysconf(_SC_PAGESIZE), &vsize, &rss)) {
    p.virtual_bytes = vsize;
    p.resident_bytes = rss;
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    int n = 0;
    while (readdir(d) != nullptr) ++n;
    closedir(d);
    p.open_fds = n - 3;  // ".", ".." and the DIR's own descriptor.
  }
#endif
  return p;
}

}  // namespace joelclaw
