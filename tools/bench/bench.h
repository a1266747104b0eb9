#pragma once
// Shared helpers of the bench cases: wall time, peak memory, options.
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "fabric/elapsed.h"

namespace fabricctl::bench {

struct Options {
  bool quick = false;             // smaller sizes, for a smoke run
  bool write = false;             // record the figures in docs/ (cases that support it)
  std::vector<std::string> args;  // what followed `--`, for cases that take arguments
};

// The benches' name for SecondsSince (fabric/elapsed.h).
inline double Seconds(std::chrono::steady_clock::time_point since) { return SecondsSince(since); }

// CPU seconds (user + system, all threads) of this process so far: on a shared machine wall
// time includes waiting for a core, CPU time does not.
inline double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Peak resident set size of this process so far, in MiB.
inline double PeakRssMiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

// A shell command's exit code, standard output and wall time.
struct ShellRun {
  int exit_code = -1;
  std::string out;
  double seconds = 0;
};

inline ShellRun RunShellCommand(const std::string& command) {
  ShellRun r;
  auto start = std::chrono::steady_clock::now();
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return r;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.seconds = Seconds(start);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return r;
}

inline int RunNoop(const Options&) {
  std::printf("noop ok\n");
  return 0;
}

}  // namespace fabricctl::bench
