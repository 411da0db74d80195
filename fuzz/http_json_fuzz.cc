// Fuzzes the HTTP probe's JSON field extraction and duration parsing. The
// first line is the field path, the rest the body.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "exporter/duration.h"
#include "exporter/probes/http_probe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t nl = text.find('\n');
  std::string_view path = nl == std::string_view::npos ? text : text.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? "" : text.substr(nl + 1);
  auto value = joelclaw::ExtractJsonNumber(body, path);
  auto duration = joelclaw::ParseDuration(path);
  (void)value;
  (void)duration;
  return 0;
}
