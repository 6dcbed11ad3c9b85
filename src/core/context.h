// The explicit Context that travels through every job: threads, device, seed,
// clock, logger and progress mode. No globals (XGBoost Context, LevelDB Env).
// A Context is created once per process (or per test) and passed by reference.
#ifndef OPSPILOT_CORE_CONTEXT_H_
#define OPSPILOT_CORE_CONTEXT_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "core/logging.h"
#include "core/progress.h"
#include "core/status.h"
#include "core/thread_pool.h"

namespace opspilot {

// Wall and monotonic time; tests substitute a FakeClock.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowUnix() const = 0;        // seconds since the epoch, UTC
  virtual int64_t MonotonicMicros() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowUnix() const override;
  int64_t MonotonicMicros() const override;
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now) : now_(now) {}
  int64_t NowUnix() const override { return now_; }
  int64_t MonotonicMicros() const override { return now_ * 1000000; }
  void Advance(int64_t seconds) { now_ += seconds; }

 private:
  int64_t now_;
};

struct ContextOptions {
  int threads = 0;              // worker threads; 0 = all cores
  uint64_t seed = 42;           // seed for every random generator derived from this context
  std::string device = "cpu";   // "cpu" or "cuda[:N]" for the neural models
  ProgressMode progress = ProgressMode::kAuto;  // kQuiet with --quiet
  LogOptions log;
};

// Validates option ranges (threads >= 0, device name).
Status ValidateContextOptions(const ContextOptions& options);

class Context {
 public:
  explicit Context(ContextOptions options = {}, std::unique_ptr<Clock> clock = nullptr);

  int threads() const { return threads_; }
  uint64_t seed() const { return options_.seed; }
  const std::string& device() const { return options_.device; }
  const Clock& clock() const { return *clock_; }
  Logger& logger() const { return *logger_; }
  ProgressMode progress_mode() const { return options_.progress; }
  // The shared worker pool, created on first use with threads() - 1 workers
  // (ParallelFor also runs on the calling thread: threads() lanes in all).
  ThreadPool& pool() const;

  // A progress reporter following this context's mode.
  std::unique_ptr<Progress> StartProgress(std::string label, int64_t total, std::string unit) const;

 private:
  ContextOptions options_;
  int threads_;
  std::unique_ptr<Clock> clock_;
  std::unique_ptr<Logger> logger_;
  mutable std::once_flag pool_once_;
  mutable std::unique_ptr<ThreadPool> pool_;
};

}  // namespace opspilot

#endif  // OPSPILOT_CORE_CONTEXT_H_
