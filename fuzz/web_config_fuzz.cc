// Fuzzes the exporter-toolkit web config parser (TLS + basic auth).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "exporter/web_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto web = joelclaw::ParseWebConfig(text, "fuzz-web.yml");
  (void)web;
  return 0;
}
