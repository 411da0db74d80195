// Fuzzes the `df -Pk` parser used for the NAS over ssh.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "exporter/collectors/remote_filesystem_collector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto entries = joelclaw::ParseDfPortable(text);
  (void)entries;
  return 0;
}
