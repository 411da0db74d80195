#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "exporter/env.h"
#include "exporter/metric_set.h"
#include "exporter/status.h"
#include "nlohmann/json.hpp"

namespace joelclaw {

/// What one collector run may use; see ProbeContext for the timing rules.
struct CollectContext {
  std::chrono::steady_clock::time_point deadline;
  const std::atomic<bool>* cancel = nullptr;
  Env* env = nullptr;

  bool cancelled() const { return cancel != nullptr && cancel->load(); }
  std::chrono::milliseconds Remaining() const;
};

/// What a collector run produced: its samples and, for the status board and
/// `joelclaw_exporter status`, a JSON object of details (free bytes, jobs
/// and their states, …). On error the scheduler still exports whatever the
/// collector put here (a partial result) and reports
/// joelclaw_collector_success 0 with the message.
struct CollectOutput {
  MetricSet metrics;
  nlohmann::json details = nlohmann::json::object();
};

/// A source of metrics that is not a single network check: host resources,
/// filesystems, launchd jobs, … One file per collector, one row in the table
/// in registry.cc. Collect() is never called concurrently on one instance
/// (the scheduler runs each at most once at a time), so a collector may keep
/// state between runs (e.g. the last PID it saw) without locking.
class Collector {
 public:
  virtual ~Collector() = default;
  /// Fetches through ctx.env and fills `out`. Never throws; returns an error
  /// status with a sentence when the source could not be read.
  virtual Status Collect(const CollectContext& ctx, CollectOutput* out) = 0;
  /// Takes over state (counters) from the instance it replaces on reload.
  /// `previous` is of the same collector kind and host. Default: nothing.
  virtual void InheritState(Collector& previous) { (void)previous; }
  /// The services this collector watches that a check of the same host may
  /// name with `service:` (launchd job labels, systemd unit names), as the
  /// collector labels them. Called at config load. Default: none.
  virtual std::vector<std::string> ServiceNames() const { return {}; }
  /// For a global collector: the `host` label of the framework's own series
  /// about it (joelclaw_collector_success, …), i.e. the machine or cluster
  /// it watches; "" leaves the label out. Host collectors are labelled with
  /// their host and need not override this. Called at config load.
  virtual std::string HostLabel() const { return ""; }
};

}  // namespace joelclaw
