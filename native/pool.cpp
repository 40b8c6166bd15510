#include "pool.h"

#include <chrono>

namespace conveyor {

namespace {

// Kernels come back to back within a layer, so a finished worker spins this long for the next one before
// it sleeps; a sleeping worker costs a futex wake-up (tens of microseconds) on the next call.
constexpr auto kSpinBeforeSleep = std::chrono::microseconds(200);

inline void relax() { __builtin_ia32_pause(); }

}  // namespace

Pool::Pool(int threads) {
  for (int thread = 1; thread < threads; thread++) workers_.emplace_back([this, thread] { workerLoop(thread); });
}

Pool::~Pool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void Pool::run(const Job& job) {
  const int threads = size();
  if (threads == 1) {
    job(0, 1);
    return;
  }
  unfinished_.store(threads - 1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &job;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  job(0, threads);
  int spins = 0;
  while (unfinished_.load(std::memory_order_acquire) != 0) {
    relax();
    if (++spins > 4096) std::this_thread::yield();  // an overloaded host: give the core to a worker
  }
}

void Pool::workerLoop(int thread) {
  uint64_t seen = 0;
  for (;;) {
    const auto spinUntil = std::chrono::steady_clock::now() + kSpinBeforeSleep;
    while (generation_.load(std::memory_order_acquire) == seen && std::chrono::steady_clock::now() < spinUntil) relax();
    const Job* job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      if (stopping_) return;
      seen = generation_.load(std::memory_order_acquire);
      job = job_;
    }
    (*job)(thread, size());
    unfinished_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace conveyor
