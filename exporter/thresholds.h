#pragma once

// Where "fine" ends and "warning" begins, in one place. The status board's
// `warning` state (status_board.cc) reads these, and the alert rules in
// rules/ use the same numbers (a test compares the generated rules with
// this file), so that `joelclaw_exporter status` and the family's phones
// agree about what is a problem. Change a number here and regenerate the
// rules in the same commit.

namespace joelclaw::thresholds {

/// A GPU core hotter than this, in °C, is a warning (the board's GPU row,
/// the GPU temperature alert). Consumer and datacenter cards start to
/// throttle in the high 80s.
inline constexpr double kGpuTemperatureWarningCelsius = 85;

/// GPU memory in use above this fraction of the card's total is a warning:
/// the next model load or batch will fail with out-of-memory.
inline constexpr double kGpuMemoryUsedWarningRatio = 0.95;

/// A filesystem with less than this fraction of its size available is a
/// warning (local filesystems and the NAS alike).
inline constexpr double kFilesystemAvailableWarningRatio = 0.10;

/// A host with less than this fraction of its memory available is a
/// warning: it is about to swap hard or kill processes.
inline constexpr double kHostMemoryAvailableWarningRatio = 0.05;

/// This many restarts of one service (launchd job, systemd unit) within
/// kRestartWindowSeconds is a warning: it is crash-looping even if it
/// happens to be up at the moment.
inline constexpr double kRestartsWarning = 3;

/// The window kRestartsWarning counts over, in seconds (15 minutes). The
/// launchd and systemd collectors report `recent_restarts` over this window.
inline constexpr double kRestartWindowSeconds = 15 * 60;

/// A periodic launchd job (StartInterval, StartCalendarInterval) that has
/// not been seen to run for this many of its intervals is a warning: it
/// missed its runs. One missed run is normal (a sleeping Mac skips them).
inline constexpr double kPeriodicMissedRunsWarning = 3;

}  // namespace joelclaw::thresholds
