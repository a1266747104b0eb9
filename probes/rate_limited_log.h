#pragma once
// Log lines that a remote peer can cause at will (a refused or failed unauthenticated
// connection) pass through a rate limit, so a flood of connections cannot fill the disk:
// at most N lines in each one-second window, then one line that says how many were left
// out.
#include <cstdint>
#include <functional>
#include <string_view>

#include "probes/socket_util.h"

namespace fabricctl::probes {

// Receives finished log lines (cli/ prints them).
using LogSink = std::function<void(std::string_view)>;

class RateLimitedLog {
 public:
  RateLimitedLog(LogSink sink, int lines_per_second) : sink_(std::move(sink)), per_second_(lines_per_second) {}
  void Log(std::string_view line, Clock::time_point now);
  // Writes the summary of a window that has ended with lines left out; call it now and
  // then so the summary does not wait for the next line.
  void Flush(Clock::time_point now);
  std::uint64_t suppressed_total() const { return suppressed_total_; }

 private:
  LogSink sink_;
  int per_second_;
  Clock::time_point window_start_{};
  int passed_ = 0;
  std::uint64_t suppressed_ = 0;  // in the current window
  std::uint64_t suppressed_total_ = 0;
};

}  // namespace fabricctl::probes
