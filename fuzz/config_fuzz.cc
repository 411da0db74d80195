// Fuzzes the config parser: any bytes give a config or a file:line error,
// never a crash, hang or exception.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "exporter/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = joelclaw::ParseConfig(text, "fuzz.yaml");
  (void)config;
  return 0;
}
