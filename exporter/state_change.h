#pragma once

#include <string>

#include "exporter/log_line.h"

namespace joelclaw {

/// What one finished run did to a check's or collector's up/down state.
enum class StateChange {
  kNone,      ///< Same state as before (or the first run, and it was up).
  kWentDown,  ///< Up → down, or the first run failed.
  kCameBack,  ///< Down → up.
};

/// The up/down memory of one check or collector, kept in its state across
/// runs and reloads. Plain value.
struct UpDown {
  bool known = false;     ///< False until the first run finished.
  bool up = false;
  double down_since = 0;  ///< Unix seconds of the run that went down.
};

/// Records a run that finished at `now` (Unix seconds, from Env's clock)
/// with `success`, and says whether the state changed. For kCameBack,
/// `*down_for` is set to how long it was down: from the end of the first
/// failed run to `now`. Pure; thread-compatible.
StateChange ObserveRun(UpDown* state, bool success, double now, double* down_for);

/// "2m30s", "1h0m5s", "450ms": a down time, as Go's time.Duration prints
/// it (without fractions of a second past one second). Pure.
std::string FormatDownFor(double seconds);

/// The log line's message and fields for a check's change (kWentDown: warn
/// with reason and message; kCameBack: info with down_for). Pure.
struct StateChangeLine {
  bool warn = false;
  std::string msg;
  LogFields fields;
};
StateChangeLine CheckChangeLine(StateChange change, const std::string& host,
                                const std::string& target, const std::string& kind,
                                const std::string& reason, const std::string& message,
                                double down_for);
StateChangeLine CollectorChangeLine(StateChange change, const std::string& collector,
                                    const std::string& host, const std::string& message,
                                    double down_for);

}  // namespace joelclaw
