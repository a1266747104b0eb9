#pragma once
// A small fork-join helper: runs fn(i) for i in [0, n) on up to `threads` threads with
// dynamic chunking. Results must not depend on which thread ran which index, so callers
// write only to slots owned by i.
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace fabricctl {

// Worker threads to use by default: the cores this process may run on, at least 1. Asked
// once: the C library answers hardware_concurrency() by reading /sys, which costs more than
// routing a small subnet; the affinity mask is one system call and honours taskset.
inline unsigned DefaultThreads() {
  static const unsigned threads = [] {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return unsigned(CPU_COUNT(&set));
    return std::max(1u, std::thread::hardware_concurrency());
  }();
  return threads;
}

// Threads worth starting for `work` simple steps: starting one costs about as much as
// tens of thousands of them, so small jobs run on the calling thread alone.
inline unsigned ThreadsFor(size_t work, unsigned threads) { return work < (size_t{1} << 20) ? 1u : threads; }

template <typename Fn>
void ParallelFor(size_t n, unsigned threads, Fn&& fn, size_t chunk = 1) {
  if (n == 0) return;
  threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>((n + chunk - 1) / chunk)));
  if (threads == 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (;;) {
      size_t begin = next.fetch_add(chunk, std::memory_order_relaxed);
      if (begin >= n) return;
      size_t end = std::min(n, begin + chunk);
      for (size_t i = begin; i < end; ++i) fn(i);
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

}  // namespace fabricctl
