#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporter/env.h"

namespace joelclaw {

/// Why a probe failed: the fixed set behind the `reason` label of
/// joelclaw_probe_failures_total. Add to it sparingly; docs/metrics.md lists it.
enum class FailureReason {
  kNone = 0,
  kTimeout,           ///< No answer before the check's timeout.
  kRefused,           ///< TCP connection refused.
  kDns,               ///< The name did not resolve.
  kConnection,        ///< Other network failure: reset, closed early, unreachable.
  kTls,               ///< Handshake or certificate verification failed.
  kHttpStatus,        ///< HTTP status not among the accepted ones, or too many redirects.
  kBodyTooLarge,      ///< The body exceeded the check's max_body_bytes.
  kBodyMismatch,      ///< Body not JSON, field missing or not a number.
  kValueOutOfRange,   ///< Extracted value outside min/max, or not equal to `equals`.
  kProtocol,          ///< Peer spoke, but not the expected protocol (banner, PONG).
  kAuth,              ///< Authentication rejected (Redis AUTH, 401/403 is kHttpStatus).
  kError,             ///< Anything else, e.g. a local resource problem.
};

/// Every reason except kNone, in label order.
inline constexpr std::array<FailureReason, 12> kAllFailureReasons = {
    FailureReason::kTimeout,      FailureReason::kRefused,
    FailureReason::kDns,          FailureReason::kConnection,
    FailureReason::kTls,          FailureReason::kHttpStatus,
    FailureReason::kBodyTooLarge, FailureReason::kBodyMismatch,
    FailureReason::kValueOutOfRange, FailureReason::kProtocol,
    FailureReason::kAuth,         FailureReason::kError};

/// The label value: "timeout", "refused", … ("" for kNone).
std::string_view ReasonName(FailureReason reason);

/// The outcome of one probe run. Plain value.
struct ProbeResult {
  bool success = false;
  FailureReason reason = FailureReason::kNone;
  std::string message;  ///< Human sentence for /api/v1/status; never a label.
  double duration_seconds = 0;
  std::optional<int> http_status;          ///< Last HTTP status seen.
  std::optional<double> cert_not_after;    ///< Unix seconds, leaf certificate.
  std::vector<std::pair<std::string, double>> values;  ///< JSON field → value.
  std::string detail;   ///< Short human detail ("14 functions"), optional.

  static ProbeResult Fail(FailureReason r, std::string msg) {
    ProbeResult p;
    p.reason = r;
    p.message = std::move(msg);
    return p;
  }
};

/// What a probe run may use. `deadline` is the check's hard timeout; `cancel`
/// turns true on shutdown or reload. Both must be honoured within ~100 ms.
struct ProbeContext {
  std::chrono::steady_clock::time_point deadline;
  const std::atomic<bool>* cancel = nullptr;
  Env* env = nullptr;

  bool cancelled() const { return cancel != nullptr && cancel->load(); }
  /// Time left before the deadline, never negative.
  std::chrono::milliseconds Remaining() const;
};

/// One kind of network check (http, tcp, ssh, redis, tls). Instances are
/// immutable after construction and Run() may be called from any worker, but
/// the scheduler never runs the same instance twice at once.
class Probe {
 public:
  virtual ~Probe() = default;
  /// Runs the check once. Never throws; returns by ctx.deadline (the
  /// scheduler measures duration itself).
  virtual ProbeResult Run(const ProbeContext& ctx) = 0;
  /// The target shown in /api/v1/status ("http://127.0.0.1:8288/health"),
  /// with any credentials removed.
  virtual std::string Describe() const = 0;
  /// The TCP port the check talks to, 0 when unknown; for the status board.
  virtual int Port() const { return 0; }
};

}  // namespace joelclaw
