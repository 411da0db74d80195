// Fuzzes the nvidia-smi --query-gpu CSV parser (N/A fields, odd rows).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "exporter/collectors/gpu_collector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto readings = joelclaw::ParseNvidiaSmiCsv(text);
  (void)readings;
  return 0;
}
