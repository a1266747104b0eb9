#pragma once
// Seconds between a steady-clock start and now: the timings that reports carry (how long a
// discovery, a route computation or a sweep stage took).
#include <chrono>

namespace fabricctl {

inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace fabricctl
