#include "exporter/recent_events.h"

namespace joelclaw {

void RecentEvents::Add(double now, double count) {
  if (count > 0) events_.emplace_back(now, count);
}

double RecentEvents::Count(double now) {
  while (!events_.empty() && events_.front().first <= now - window_) events_.pop_front();
  double n = 0;
  for (const auto& [time, count] : events_) n += count;
  return n;
}

}  // namespace joelclaw
