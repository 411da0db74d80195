#include "exporter/state_change.h"

#include <algorithm>
#include <cmath>

namespace joelclaw {

StateChange ObserveRun(UpDown* state, bool success, double now, double* down_for) {
  const bool was_known = state->known;
  const bool was_up = state->up;
  state->known = true;
  state->up = success;
  if (success) {
    if (!was_known || was_up) return StateChange::kNone;
    if (down_for != nullptr) *down_for = std::max(0.0, now - state->down_since);
    state->down_since = 0;
    return StateChange::kCameBack;
  }
  if (was_known && !was_up) return StateChange::kNone;
  state->down_since = now;
  return StateChange::kWentDown;
}

std::string FormatDownFor(double seconds) {
  if (!(seconds >= 0)) seconds = 0;
  if (seconds < 1) return std::to_string(static_cast<long long>(std::llround(seconds * 1000))) + "ms";
  long long s = std::llround(seconds);
  const long long h = s / 3600, m = (s % 3600) / 60;
  s %= 60;
  std::string out;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  return out + std::to_string(s) + "s";
}

StateChangeLine CheckChangeLine(StateChange change, const std::string& host,
                                const std::string& target, const std::string& kind,
                                const std::string& reason, const std::string& message,
                                double down_for) {
  StateChangeLine line;
  line.fields = {{"host", host}, {"target", target}, {"kind", kind}};
  if (change == StateChange::kWentDown) {
    line.warn = true;
    line.msg = "check is down";
    line.fields.push_back({"reason", reason});
    line.fields.push_back({"err", message});
  } else {
    line.msg = "check is up again";
    line.fields.push_back({"down_for", FormatDownFor(down_for)});
  }
  return line;
}

StateChangeLine CollectorChangeLine(StateChange change, const std::string& collector,
                                    const std::string& host, const std::string& message,
                                    double down_for) {
  StateChangeLine line;
  line.fields = {{"collector", collector}, {"host", host}};
  if (change == StateChange::kWentDown) {
    line.warn = true;
    line.msg = "collector is failing";
    line.fields.push_back({"err", message});
  } else {
    line.msg = "collector is working again";
    line.fields.push_back({"down_for", FormatDownFor(down_for)});
  }
  return line;
}

}  // namespace joelclaw
