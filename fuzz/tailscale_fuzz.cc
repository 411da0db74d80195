// Fuzzes the `tailscale status --json` parser and its RFC 3339 times.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "exporter/collectors/tailscale_collector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto status = joelclaw::ParseTailscaleStatus(text);
  auto time = joelclaw::ParseRfc3339(text);
  (void)status;
  (void)time;
  return 0;
}
