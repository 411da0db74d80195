#include "exporter/probe.h"

namespace joelclaw {

std::string_view ReasonName(FailureReason reason) {
  switch (reason) {
    case FailureReason::kNone: return "";
    case FailureReason::kTimeout: return "timeout";
    case FailureReason::kRefused: return "refused";
    case FailureReason::kDns: return "dns";
    case FailureReason::kConnection: return "connection";
    case FailureReason::kTls: return "tls";
    case FailureReason::kHttpStatus: return "http_status";
    case FailureReason::kBodyTooLarge: return "body_too_large";
    case FailureReason::kBodyMismatch: return "body_mismatch";
    case FailureReason::kValueOutOfRange: return "value_out_of_range";
    case FailureReason::kProtocol: return "protocol";
    case FailureReason::kAuth: return "auth";
    case FailureReason::kError: return "error";
  }
  return "error";
}

std::chrono::milliseconds ProbeContext::Remaining() const {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

}  // namespace joelclaw
