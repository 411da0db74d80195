#pragma once

#include <string_view>

namespace joelclaw {

/// The exporter process's own resources, as client_golang's process
/// collector exports them on Linux (`process_*`). A value < 0 is unknown on
/// this platform and not exported. Plain value.
struct ProcessStats {
  double cpu_seconds = -1;        ///< User + system CPU time.
  double resident_bytes = -1;     ///< Resident set size.
  double virtual_bytes = -1;      ///< Virtual memory size.
  double virtual_max_bytes = -1;  ///< RLIMIT_AS (soft); "unlimited" is 2^64-1, as Go reports it.
  double open_fds = -1;
  double max_fds = -1;            ///< RLIMIT_NOFILE (soft).
};

/// Reads them now: getrusage and getrlimit everywhere, /proc/self on Linux
/// for memory and descriptors. A few syscalls and two small files; call it
/// off the scrape path (the snapshot publisher does). Thread-safe.
ProcessStats ReadProcessStats();

/// The fields of /proc/self/statm text ("size resident shared …", in
/// pages) into virtual and resident bytes; false when it does not start
/// with two numbers. Pure.
bool ParseStatm(std::string_view text, long page_size, double* virtual_bytes,
                double* resident_bytes);

}  // namespace joelclaw
