// Fuzzes the host resource parsers: Linux /proc files and macOS
// sysctl/vm_stat output.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "exporter/collectors/host_collector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  joelclaw::HostResources r;
  (void)joelclaw::ParseProcMeminfo(text, &r);
  (void)joelclaw::ParseProcLoadavg(text, &r);
  (void)joelclaw::ParseProcStat(text, &r);
  (void)joelclaw::ParseSysctlValues(text, &r);
  auto available = joelclaw::ParseVmStat(text, 16384);
  (void)available;
  return 0;
}
