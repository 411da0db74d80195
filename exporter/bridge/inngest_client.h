#pragma once

#include <atomic>
#include <string>

#include "exporter/duration.h"
#include "exporter/status.h"

namespace joelclaw {

/// Sends events to Inngest's event API: POST {base_url}/e/{event_key} with
/// a JSON array of events (https://www.inngest.com/docs/events). Ok only on
/// a 2xx answer; otherwise an error naming the HTTP status and the start of
/// the body, or the transport failure (refused, timeout, …). Honours
/// `timeout` and `cancel` (within ~100 ms). The key never appears in errors.
/// Thread-safe (one curl handle per call).
Status PostInngestEvents(const std::string& base_url,
                         const std::string& event_key,
                         const std::string& events_json, Duration timeout,
                         const std::atomic<bool>* cancel);

}  // namespace joelclaw
