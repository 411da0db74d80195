#pragma once

#include <atomic>
#include <string>

#include "exporter/duration.h"
#include "exporter/status.h"

namespace joelclaw {

/// Sends events to Inngest's event API: POST {base_url}/e/{event_key} with
/// a JSON array of events (https://www.inngest.com/docs/events). Ok only on
/// a 2xx answer; otherwise an error naming the HTTP status and the start of
/// the body, or the transport failure (refused, timeout, …). `*http_status`
/// (when not null) gets the answer's status, 0 when none came. Honours
/// `timeout` and `cancel` (within ~100 ms). The key never appears in errors.
/// Thread-safe (one curl handle per call).
Status PostInngestEvents(const std::string& base_url,
                         const std::string& event_key,
                         const std::string& events_json, Duration timeout,
                         const std::atomic<bool>* cancel, long* http_status = nullptr);

/// How the bridge treats a failed delivery, by the answer's HTTP status.
enum class DeliveryFailure {
  kRetry,      ///< No answer, 408, 429 or 5xx: the same events again later.
  kConfig,     ///< 401, 403, 404: the key or URL is wrong, not the events;
               ///< retried like kRetry (until a reload fixes the config).
  kPermanent,  ///< Any other 4xx: these events will never be taken.
};
/// Pure.
DeliveryFailure ClassifyDeliveryFailure(long http_status);

}  // namespace joelclaw
