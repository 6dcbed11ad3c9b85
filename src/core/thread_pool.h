// A fixed-size thread pool with a blocking ParallelFor. Tasks must not throw.
#ifndef OPSPILOT_CORE_THREAD_POOL_H_
#define OPSPILOT_CORE_THREAD_POOL_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace opspilot {

class ThreadPool {
 public:
  // num_threads workers; 0 makes a pool without workers (everything runs on
  // the calling thread), a negative count std::thread::hardware_concurrency().
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()); }

  // Queues `task`; it runs on some worker (inline when there are none).
  void Submit(std::function<void()> task);

  // Runs fn(begin, end) over [0, n) split into contiguous chunks of at least
  // `min_chunk`, on the workers and the calling thread; returns when all are
  // done. Safe to call from a worker thread (it then runs inline).
  void ParallelFor(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void WorkerLoop();

  std::vector<std::thread> workers_;
  std::deque<std::function<void()>> queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace opspilot

#endif  // OPSPILOT_CORE_THREAD_POOL_H_
