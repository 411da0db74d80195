#include "exporter/scheduler.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <queue>

#include "exporter/logging.h"

#include "spdlog/spdlog.h"

namespace joelclaw {

using Clock = std::chrono::steady_clock;

// Everything workers touch lives here, behind a shared_ptr, so that a worker
// abandoned in a stuck syscall at Stop() never touches freed memory.
struct Scheduler::Shared {
  std::shared_ptr<const Config> config;
  Options options;
  std::atomic<bool> cancel{false};

  mutable std::mutex mu;
  std::condition_variable work_cv;   // workers wait for queue entries
  std::condition_variable sched_cv;  // scheduler waits for stop
  bool stopping = false;             // GUARDED_BY(mu)
  std::deque<size_t> queue;          // GUARDED_BY(mu); task index
  std::vector<bool> in_flight;       // GUARDED_BY(mu)
  std::vector<CheckState> checks;    // GUARDED_BY(mu)
  std::vector<CollectorState> collectors;  // GUARDED_BY(mu)
  size_t busy_workers = 0;           // GUARDED_BY(mu)

  size_t task_count() const { return config->checks.size() + config->collectors.size(); }
};

namespace {

void Remember(std::deque<FailureRecord>* recent, FailureRecord rec) {
  recent->push_back(std::move(rec));
  while (recent->size() > kRecentFailures) recent->pop_front();
}

size_t ReasonIndex(FailureReason r) {
  for (size_t i = 0; i < kAllFailureReasons.size(); ++i) {
    if (kAllFailureReasons[i] == r) return i;
  }
  return kAllFailureReasons.size() - 1;  // kError
}

}  // namespace

Scheduler::Scheduler(std::shared_ptr<const Config> config, Options options,
                     const Scheduler* previous)
    : config_(std::move(config)), shared_(std::make_shared<Shared>()) {
  shared_->config = config_;
  shared_->options = std::move(options);
  if (shared_->options.env == nullptr) shared_->options.env = Env::Default();
  shared_->in_flight.assign(shared_->task_count(), false);

  std::vector<CheckState> old_checks;
  std::vector<CollectorState> old_collectors;
  if (previous != nullptr) previous->CopyStates(&old_checks, &old_collectors);

  for (const CheckSpec& spec : config_->checks) {
    CheckState st;
    for (const CheckState& old : old_checks) {
      if (old.host == spec.host && old.name == spec.name && old.kind == spec.kind) st = old;
    }
    st.host = spec.host;
    st.name = spec.name;
    st.kind = spec.kind;
    st.target = spec.probe->Describe();
    st.port = spec.probe->Port();
    st.interval = spec.interval;
    st.timeout = spec.timeout;
    st.description = spec.description;
    st.service = spec.service;
    st.reachability = spec.reachability;
    shared_->checks.push_back(std::move(st));
  }
  for (size_t i = 0; i < config_->collectors.size(); ++i) {
    const CollectorSpec& spec = config_->collectors[i];
    CollectorState st;
    for (size_t j = 0; j < old_collectors.size(); ++j) {
      const CollectorState& old = old_collectors[j];
      if (old.host != spec.host || old.name != spec.name) continue;
      st = old;
      // Only hand over collector state when the old run is not still going.
      bool old_running = true;
      {
        std::lock_guard<std::mutex> lock(previous->shared_->mu);
        old_running = previous->shared_->in_flight[previous->config_->checks.size() + j];
      }
      if (!old_running) spec.collector->InheritState(*previous->config_->collectors[j].collector);
    }
    st.host = spec.host;
    st.name = spec.name;
    st.label_host = spec.HostLabel();
    st.interval = spec.interval;
    st.timeout = spec.timeout;
    shared_->collectors.push_back(std::move(st));
  }
}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  if (started_) return;
  started_ = true;
  size_t n = std::min(shared_->options.max_workers, std::max<size_t>(1, shared_->task_count()));
  for (size_t i = 0; i < n; ++i) workers_.emplace_back(WorkerLoop, shared_);
  scheduler_thread_ = std::thread(&Scheduler::SchedulerLoop, this);
}

void Scheduler::Stop(std::chrono::milliseconds grace) {
  if (!started_) return;
  started_ = false;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->stopping = true;
    shared_->queue.clear();
  }
  shared_->cancel = true;
  shared_->work_cv.notify_all();
  shared_->sched_cv.notify_all();
  if (scheduler_thread_.joinable()) scheduler_thread_.join();
  auto deadline = Clock::now() + grace;
  {
    std::unique_lock<std::mutex> lock(shared_->mu);
    shared_->sched_cv.wait_until(lock, deadline, [&] { return shared_->busy_workers == 0; });
    if (shared_->busy_workers > 0) {
      spdlog::warn("{} check(s) did not stop within {} ms; abandoning them",
                   shared_->busy_workers, grace.count());
    }
  }
  for (std::thread& t : workers_) {
    bool idle;
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      idle = shared_->busy_workers == 0;
    }
    // Idle workers exit promptly once woken; a busy one may be stuck.
    if (idle) {
      t.join();
    } else {
      t.detach();
    }
  }
  workers_.clear();
}

void Scheduler::SchedulerLoop() {
  using Entry = std::pair<Clock::time_point, size_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> due;
  const size_t n_checks = config_->checks.size();
  auto interval_of = [&](size_t task) {
    return task < n_checks ? config_->checks[task].interval
                           : config_->collectors[task - n_checks].interval;
  };
  Clock::time_point start = Clock::now();
  for (size_t t = 0; t < shared_->task_count(); ++t) due.push({start, t});

  std::unique_lock<std::mutex> lock(shared_->mu);
  while (!shared_->stopping) {
    if (due.empty()) {
      shared_->sched_cv.wait(lock, [&] { return shared_->stopping; });
      break;
    }
    Entry next = due.top();
    if (Clock::now() < next.first) {
      shared_->sched_cv.wait_until(lock, next.first, [&] { return shared_->stopping; });
      continue;
    }
    due.pop();
    size_t task = next.second;
    if (shared_->in_flight[task]) {
      // The previous run of this task is still going (a hung target): skip
      // this slot rather than pile up runs.
      if (task < n_checks) {
        shared_->checks[task].overruns++;
      } else {
        shared_->collectors[task - n_checks].overruns++;
      }
    } else {
      shared_->in_flight[task] = true;
      shared_->queue.push_back(task);
      shared_->work_cv.notify_one();
    }
    Clock::time_point following = next.first + interval_of(task);
    Clock::time_point now = Clock::now();
    if (following <= now) following = now + interval_of(task);
    due.push({following, task});
  }
}

void Scheduler::WorkerLoop(std::shared_ptr<Shared> shared) {
  const Config& config = *shared->config;
  const size_t n_checks = config.checks.size();
  Env* env = shared->options.env;
  while (true) {
    size_t task;
    {
      std::unique_lock<std::mutex> lock(shared->mu);
      shared->work_cv.wait(lock, [&] { return shared->stopping || !shared->queue.empty(); });
      if (shared->stopping) return;
      task = shared->queue.front();
      shared->queue.pop_front();
      shared->busy_workers++;
    }
    auto started = Clock::now();
    if (task < n_checks) {
      const CheckSpec& spec = config.checks[task];
      ProbeContext ctx{started + spec.timeout, &shared->cancel, env};
      ProbeResult r;
      try {
        r = spec.probe->Run(ctx);
      } catch (const std::exception& e) {
        r = ProbeResult::Fail(FailureReason::kError, std::string("probe threw: ") + e.what());
      }
      auto finished = Clock::now();
      r.duration_seconds = std::chrono::duration<double>(finished - started).count();
      if (finished > ctx.deadline + std::chrono::milliseconds(50) && r.success) {
        // Finished, but too late to count: the timeout is a promise.
        r = ProbeResult::Fail(FailureReason::kTimeout, "answered after the timeout");
      }
      double now = env->NowSeconds();
      std::unique_lock<std::mutex> lock(shared->mu);
      shared->busy_workers--;
      shared->in_flight[task] = false;
      if (shared->cancel) {
        shared->sched_cv.notify_all();
        return;
      }
      CheckState& st = shared->checks[task];
      st.has_result = true;
      st.runs++;
      st.last_run = now;
      double down_for = 0;
      const StateChange change = ObserveRun(&st.updown, r.success, now, &down_for);
      const std::string reason(ReasonName(r.reason));
      if (r.success) {
        st.last_success = now;
      } else {
        st.last_failure = now;
        st.failures[ReasonIndex(r.reason)] += 1;
        Remember(&st.recent, {now, reason, r.message});
      }
      // Built under the lock, written after it: a slow stderr must not
      // hold up the other workers.
      std::optional<StateChangeLine> line;
      if (change != StateChange::kNone) {
        line = CheckChangeLine(change, st.host, st.name, st.kind, reason, r.message, down_for);
      }
      LogFields failed;
      if (!r.success && change == StateChange::kNone) {
        failed = {{"host", st.host}, {"target", st.name}, {"kind", st.kind},
                  {"reason", reason}, {"err", r.message}};
      }
      st.last = std::move(r);
      lock.unlock();
      if (line) {
        Log(line->warn ? spdlog::level::warn : spdlog::level::info, line->msg, line->fields);
      } else if (!failed.empty()) {
        Log(spdlog::level::debug, "check failed again", failed);
      }
    } else {
      const CollectorSpec& spec = config.collectors[task - n_checks];
      CollectContext ctx{started + spec.timeout, &shared->cancel, env};
      CollectOutput out;
      Status s;
      try {
        s = spec.collector->Collect(ctx, &out);
      } catch (const std::exception& e) {
        s = Status::Error(std::string("collector threw: ") + e.what());
      }
      auto finished = Clock::now();
      double now = env->NowSeconds();
      std::unique_lock<std::mutex> lock(shared->mu);
      shared->busy_workers--;
      shared->in_flight[task] = false;
      if (shared->cancel) {
        shared->sched_cv.notify_all();
        return;
      }
      CollectorState& st = shared->collectors[task - n_checks];
      st.has_result = true;
      st.runs++;
      st.last_run = now;
      st.duration_seconds = std::chrono::duration<double>(finished - started).count();
      st.success = s.ok();
      st.message = s.ok() ? "" : s.message();
      st.metrics = std::move(out.metrics);
      st.details = std::move(out.details);
      if (!s.ok()) Remember(&st.recent, {now, "error", s.message()});
      double down_for = 0;
      const StateChange change = ObserveRun(&st.updown, s.ok(), now, &down_for);
      std::optional<StateChangeLine> line;
      if (change != StateChange::kNone) {
        line = CollectorChangeLine(change, st.name, st.host, s.message(), down_for);
      }
      LogFields failed;
      if (!s.ok() && change == StateChange::kNone) {
        failed = {{"collector", st.name}, {"host", st.host}, {"err", s.message()}};
      }
      lock.unlock();
      if (line) {
        Log(line->warn ? spdlog::level::warn : spdlog::level::info, line->msg, line->fields);
      } else if (!failed.empty()) {
        Log(spdlog::level::debug, "collector failed again", failed);
      }
    }
    if (shared->options.on_result) shared->options.on_result();
  }
}

void Scheduler::CopyStates(std::vector<CheckState>* checks,
                           std::vector<CollectorState>* collectors) const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  if (checks != nullptr) *checks = shared_->checks;
  if (collectors != nullptr) *collectors = shared_->collectors;
}

bool AllHaveResults(const std::vector<CheckState>& checks,
                    const std::vector<CollectorState>& collectors) {
  for (const CheckState& c : checks) {
    if (!c.has_result) return false;
  }
  for (const CollectorState& c : collectors) {
    if (!c.has_result) return false;
  }
  return true;
}

bool Scheduler::FirstRoundDone() const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  return AllHaveResults(shared_->checks, shared_->collectors);
}

}  // namespace joelclaw
