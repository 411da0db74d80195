#include "exporter/collector.h"

namespace joelclaw {

std::chrono::milliseconds CollectContext::Remaining() const {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

}  // namespace joelclaw
