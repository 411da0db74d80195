#pragma once

#include <deque>
#include <utility>

#include "exporter/thresholds.h"

namespace joelclaw {

/// Counts events (a service's restarts) that happened within a sliding
/// window of time, for `recent_restarts` in the launchd and systemd
/// collectors' details. Times are Env::NowSeconds() values. Value type; not
/// thread-safe (a collector's state, touched only by its own runs).
class RecentEvents {
 public:
  explicit RecentEvents(double window_seconds = thresholds::kRestartWindowSeconds)
      : window_(window_seconds) {}

  /// Records `count` events at time `now` (nothing when count <= 0).
  void Add(double now, double count);
  /// Events within the window ending at `now`; forgets older ones.
  double Count(double now);

 private:
  double window_;
  std::deque<std::pair<double, double>> events_;  // (time, count), oldest first.
};

}  // namespace joelclaw
