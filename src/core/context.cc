#include "core/context.h"

#include <chrono>
#include <thread>

namespace opspilot {

int64_t SystemClock::NowUnix() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

int64_t SystemClock::MonotonicMicros() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
}

Status ValidateContextOptions(const ContextOptions& o) {
  if (o.threads < 0 || o.threads > 1024) {
    return InvalidArgument("threads must be between 0 (all cores) and 1024, got " +
                           std::to_string(o.threads));
  }
  if (o.device != "cpu" && o.device.rfind("cuda", 0) != 0) {
    return InvalidArgument("device must be 'cpu' or 'cuda[:N]', got '" + o.device + "'");
  }
  return Status::Ok();
}

Context::Context(ContextOptions options, std::unique_ptr<Clock> clock)
    : options_(std::move(options)), clock_(std::move(clock)) {
  threads_ = options_.threads > 0
                 ? options_.threads
                 : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (!clock_) clock_ = std::make_unique<SystemClock>();
  logger_ = std::make_unique<Logger>(options_.log);
}

ThreadPool& Context::pool() const {
  // The caller thread takes part in ParallelFor, so threads()-1 workers
  // suffice (none for one thread: --threads 1 means one).
  std::call_once(pool_once_, [this] { pool_ = std::make_unique<ThreadPool>(std::max(0, threads_ - 1)); });
  return *pool_;
}

std::unique_ptr<Progress> Context::StartProgress(std::string label, int64_t total,
                                                 std::string unit) const {
  return std::make_unique<Progress>(std::move(label), total, std::move(unit), options_.progress);
}

}  // namespace opspilot
