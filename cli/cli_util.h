#pragma once
// Small helpers shared by the subcommand files: the one place errors are printed.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/command.h"
#include "fabric/error.h"

namespace fabricctl::cli {

// Prints "fabricctl: <where:line: message>" (plus text and caret) and returns kExitError.
inline int ReportError(const Error& e) {
  // Starts on a clean line when a progress line (cli/progress.h) is showing.
  if (::isatty(STDERR_FILENO) == 1) std::cerr << "\r\x1b[K";
  std::cerr << "fabricctl: " << e.Format() << "\n";
  return kExitError;
}

inline void PrintJson(const nlohmann::json& j) { std::cout << j.dump(2) << "\n"; }

// A duration for people: "0.36 ms", "12.4 ms", "1.234 s" (JSON keeps plain seconds).
inline std::string Duration(double seconds) {
  if (seconds < 0.01) return fmt::format("{:.2f} ms", seconds * 1e3);
  if (seconds < 1) return fmt::format("{:.1f} ms", seconds * 1e3);
  return fmt::format("{:.3f} s", seconds);
}

// A duration flag: a number of seconds above 0 and at most `max`, named in the error.
inline CLI::Validator Seconds(double max) {
  return CLI::Validator(
      [max](std::string& text) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(text, value) || !(value > 0) || value > max)
          return fmt::format("'{}' is not a number of seconds above 0 and at most {}", text, max);
        return {};
      },
      "SECONDS");
}

inline bool StderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace fabricctl::cli
