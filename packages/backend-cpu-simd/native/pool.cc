#include "pool.h"

namespace cwts {

Pool::Pool(int threads) : nthreads_(threads < 1 ? 1 : threads) {
  try {
    workers_.reserve((size_t)(nthreads_ - 1));
    for (int i = 1; i < nthreads_; i++) workers_.emplace_back([this] { worker(); });
  } catch (...) {
    // A thread could not be started (std::system_error). The ones that did must be stopped and
    // joined before the exception leaves: a joinable std::thread destroyed as workers_ unwinds
    // calls std::terminate.
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    throw;
  }
}

Pool::~Pool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void Pool::worker() {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int64_t)>* fn;
    int64_t n;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      // A worker can wake for a job that has already finished: the caller and the other
      // workers took every task, and the caller, not seeing this worker active, returned and
      // cleared fn_. Joining then would claim tasks of whatever job comes next with this job's
      // (cleared or dangling) fn_ and task count once that job resets next_. So only join a
      // job in progress: its caller waits for active_ to fall back to 0.
      if (fn_ == nullptr) continue;
      fn = fn_;
      n = ntasks_;
      active_++;
    }
    int64_t mine = 0;
    for (int64_t t; (t = next_.fetch_add(1, std::memory_order_relaxed)) < n;) {
      (*fn)(t);
      mine++;
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      done_ += mine;
      active_--;
    }
    done_cv_.notify_all();
  }
}

void Pool::run_locked(int64_t n, const std::function<void(int64_t)>& fn) {
  if (n <= 1 || workers_.empty()) {
    for (int64_t t = 0; t < n; t++) fn(t);
    return;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    fn_ = &fn;
    ntasks_ = n;
    done_ = 0;
    next_.store(0, std::memory_order_relaxed);
    generation_++;
  }
  cv_.notify_all();
  int64_t mine = 0;
  for (int64_t t; (t = next_.fetch_add(1, std::memory_order_relaxed)) < n;) {
    fn(t);
    mine++;
  }
  std::unique_lock<std::mutex> lk(mu_);
  done_ += mine;
  // Wait for every task and for every worker that picked up this generation to leave it, so
  // that fn_ is never used after we return.
  done_cv_.wait(lk, [&] { return done_ >= n && active_ == 0; });
  fn_ = nullptr;
}

void Pool::parallel_for(int64_t n, const std::function<void(int64_t)>& fn) {
  std::lock_guard<std::mutex> job(job_mu_);
  run_locked(n, fn);
}

void Pool::try_parallel_for(int64_t n, const std::function<void(int64_t)>& fn) {
  std::unique_lock<std::mutex> job(job_mu_, std::try_to_lock);
  if (!job.owns_lock()) {
    for (int64_t t = 0; t < n; t++) fn(t);
    return;
  }
  run_locked(n, fn);
}

}  // namespace cwts
