#pragma once

#include <atomic>
#include <chrono>
#include <thread>

#include "exporter/env.h"
#include "exporter/probe.h"

namespace joelclaw::testing {

/// One probe run and the wall time it took.
struct TimedResult {
  ProbeResult result;
  std::chrono::milliseconds took{0};
  /// RunAndCancelAfter only: from setting the cancel flag to Run()'s return
  /// (negative when the run ended before the cancel).
  std::chrono::milliseconds since_cancel{0};
};

/// Runs `probe` as the scheduler does (deadline = now + timeout, the real
/// Env), with an optional cancel flag, and times it.
inline TimedResult TimedRun(Probe& probe, std::chrono::milliseconds timeout,
                            const std::atomic<bool>* cancel = nullptr) {
  auto start = std::chrono::steady_clock::now();
  ProbeContext ctx{start + timeout, cancel, Env::Default()};
  TimedResult t;
  t.result = probe.Run(ctx);
  t.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return t;
}

/// Runs `probe` with a far deadline and sets its cancel flag after
/// `cancel_after`. The latency that matters is `since_cancel`: it does not
/// depend on how late a loaded machine wakes the cancelling thread.
inline TimedResult RunAndCancelAfter(Probe& probe, std::chrono::milliseconds cancel_after,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  using Clock = std::chrono::steady_clock;
  std::atomic<bool> cancel{false};
  Clock::time_point cancelled_at;
  std::thread canceller([&] {
    std::this_thread::sleep_for(cancel_after);
    cancelled_at = Clock::now();
    cancel = true;
  });
  TimedResult t = TimedRun(probe, timeout, &cancel);
  Clock::time_point returned_at = Clock::now();
  canceller.join();  // Orders the write of cancelled_at before the read.
  t.since_cancel = std::chrono::duration_cast<std::chrono::milliseconds>(returned_at - cancelled_at);
  return t;
}

}  // namespace joelclaw::testing
