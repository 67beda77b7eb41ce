// A small persistent thread pool. parallel_for(n, fn) runs fn(task) for task in [0, n) on the
// pool's workers and the calling thread, and returns when all tasks finished. One job at a time
// per pool: a caller that must not block (the JS thread) uses try_parallel_for, which runs the
// tasks inline on the caller when another job holds the pool.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cwts {

class Pool {
 public:
  explicit Pool(int threads);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  int threads() const { return nthreads_; }
  void parallel_for(int64_t n, const std::function<void(int64_t)>& fn);
  void try_parallel_for(int64_t n, const std::function<void(int64_t)>& fn);

 private:
  void run_locked(int64_t n, const std::function<void(int64_t)>& fn);
  void worker();
  int nthreads_;
  std::vector<std::thread> workers_;
  std::mutex job_mu_;  // one job at a time
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  uint64_t generation_ = 0;
  bool stop_ = false;
  const std::function<void(int64_t)>* fn_ = nullptr;
  int64_t ntasks_ = 0;
  std::atomic<int64_t> next_{0};
  int64_t done_ = 0;
  int active_ = 0;
};

}  // namespace cwts
