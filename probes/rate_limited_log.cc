#include "probes/rate_limited_log.h"

#include <fmt/format.h>

namespace fabricctl::probes {

void RateLimitedLog::Flush(Clock::time_point now) {
  if (now - window_start_ < std::chrono::seconds(1)) return;
  if (suppressed_ > 0)
    sink_(fmt::format("suppressed {} similar lines about unauthenticated connections (at most {} a second)",
                      suppressed_, per_second_));
  window_start_ = now;
  passed_ = 0;
  suppressed_ = 0;
}

void RateLimitedLog::Log(std::string_view line, Clock::time_point now) {
  Flush(now);
  if (passed_ < per_second_) {
    ++passed_;
    sink_(line);
    return;
  }
  ++suppressed_;
  ++suppressed_total_;
}

}  // namespace fabricctl::probes
