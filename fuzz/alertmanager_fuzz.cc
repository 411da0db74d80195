// Fuzzes the Alertmanager webhook (v4) payload parser and, for payloads it
// accepts, the Inngest events built from them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "exporter/bridge/alertmanager_payload.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto payload = joelclaw::ParseAlertmanagerPayload(text);
  if (payload.ok()) {
    auto events = joelclaw::BuildInngestEvents(*payload, 1795454999000);
    (void)events;
  }
  return 0;
}
