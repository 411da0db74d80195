#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "exporter/config.h"
#include "exporter/env.h"
#include "exporter/metric_set.h"
#include "exporter/probe.h"
#include "exporter/state_change.h"
#include "nlohmann/json.hpp"

namespace joelclaw {

/// One remembered failure, for /api/v1/status.
struct FailureRecord {
  double time = 0;
  std::string reason;
  std::string message;
};

/// How many failures each check and collector remembers.
inline constexpr size_t kRecentFailures = 10;

/// The state of one check, as last published. Plain value.
struct CheckState {
  std::string host, name, kind, target;
  int port = 0;
  Duration interval{0}, timeout{0};
  std::string description, service;  ///< From the config (CheckSpec).
  bool reachability = false;         ///< From the config (CheckSpec).
  bool has_result = false;
  ProbeResult last;
  double last_run = 0;        ///< Unix seconds the last run finished.
  double last_success = 0;    ///< 0 = never.
  double last_failure = 0;    ///< 0 = never.
  double failures[kAllFailureReasons.size()] = {};  ///< By reason, kAllFailureReasons order.
  uint64_t runs = 0;
  uint64_t overruns = 0;      ///< Runs skipped because the previous one was still going.
  std::deque<FailureRecord> recent;
  UpDown updown;              ///< For logging each change once (state_change.h).
};

/// The state of one collector, as last published. Plain value.
struct CollectorState {
  std::string host, name;
  /// The `host` label of its framework series (CollectorSpec::HostLabel()):
  /// `host`, or for a global collector the machine or cluster it names.
  std::string label_host;
  Duration interval{0}, timeout{0};
  bool has_result = false;
  bool success = false;
  std::string message;
  double duration_seconds = 0;
  double last_run = 0;
  uint64_t runs = 0;
  uint64_t overruns = 0;
  MetricSet metrics;          ///< Last run's samples (kept on partial failure).
  nlohmann::json details = nlohmann::json::object();
  std::deque<FailureRecord> recent;
  UpDown updown;              ///< For logging each change once (state_change.h).
};

/// True when every check and collector in the given states has finished a
/// run: the readiness rule. Pure.
bool AllHaveResults(const std::vector<CheckState>& checks,
                    const std::vector<CollectorState>& collectors);

/// Runs every check and collector of one Config on its own interval, each
/// with a hard timeout, on a bounded pool of worker threads. A run that
/// overruns (a hung target) only blocks its own next run: the scheduler never
/// starts a task twice at once, and the pool has a thread per task up to
/// `max_workers`. Results are kept as CheckState/CollectorState; readers copy
/// them with CopyStates(). Each change between up and down is logged once
/// (warn when a check or collector goes down, with its reason; info when
/// it comes back, with how long it was down), with the time from
/// Options::env's clock. The class is thread-safe.
class Scheduler {
 public:
  struct Options {
    Env* env = nullptr;              ///< Not owned; outlives the scheduler.
    size_t max_workers = 256;
    /// Called (from a worker) after each finished run. Must be cheap.
    std::function<void()> on_result;
  };

  /// `previous` (may be null) is the scheduler being replaced on reload,
  /// already stopped: matching checks and collectors keep their counters,
  /// last results and recent failures.
  Scheduler(std::shared_ptr<const Config> config, Options options,
            const Scheduler* previous);
  ~Scheduler();  ///< Stops.

  void Start();
  /// Cancels running probes and joins the threads, waiting at most `grace`
  /// for runs to notice the cancel; a run stuck in a syscall is abandoned
  /// (its thread detached, its result dropped).
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(800));

  void CopyStates(std::vector<CheckState>* checks,
                  std::vector<CollectorState>* collectors) const;
  /// True once every check and collector has finished a run.
  bool FirstRoundDone() const;

  const Config& config() const { return *config_; }

 private:
  struct Shared;
  void SchedulerLoop();
  static void WorkerLoop(std::shared_ptr<Shared> shared);

  std::shared_ptr<const Config> config_;
  std::shared_ptr<Shared> shared_;
  std::thread scheduler_thread_;
  std::vector<std::thread> workers_;
  bool started_ = false;
};

}  // namespace joelclaw
