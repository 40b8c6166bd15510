// The threads one JavaScript thread's kernels run on (--threads N). Work is split by a fixed partition that
// depends only on the shape and N, and every part writes outputs no other part writes, so the result is the
// same bits whatever the timing, and with the partitions used here the same bits for every N.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace conveyor {

class Pool {
 public:
  /** job(thread, threads): called once on each thread of the team, the caller being thread 0. */
  using Job = std::function<void(int, int)>;

  explicit Pool(int threads);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  /** Runs job on every thread and returns when all have finished. With one thread it is a plain call. */
  void run(const Job& job);

  /**
   * Splits [0, count) into contiguous ranges, at most one per thread and none smaller than `grain`, and
   * calls body(begin, end, thread) for each on its own thread.
   */
  template <typename Body>
  void forRange(long count, long grain, Body body) {
    const int threads = static_cast<int>(std::min<long>(size(), std::max<long>(1, count / std::max<long>(grain, 1))));
    if (threads <= 1) {
      body(0L, count, 0);
      return;
    }
    run([&](int thread, int) {
      if (thread >= threads) return;
      body(count * thread / threads, count * (thread + 1) / threads, thread);
    });
  }

 private:
  void workerLoop(int thread);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  const Job* job_ = nullptr;
  bool stopping_ = false;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> unfinished_{0};
};

}  // namespace conveyor
