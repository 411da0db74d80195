// Fuzzes both launchctl parsers: `launchctl list` tables and `launchctl
// print` blocks (nested braces, odd "state =" and exit code lines).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "exporter/collectors/launchd_collector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto list = joelclaw::ParseLaunchctlList(text);
  auto print = joelclaw::ParseLaunchctlPrint(text);
  (void)list;
  (void)print;
  return 0;
}
