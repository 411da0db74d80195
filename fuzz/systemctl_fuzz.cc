// Fuzzes the `systemctl show` property parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "exporter/collectors/systemd_collector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto units = joelclaw::ParseSystemctlShow(text);
  (void)units;
  return 0;
}
