#pragma once
// Small helpers shared by the subcommand files: the one place errors are printed.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "fabric/error.h"

namespace fabricctl::cli {

// Prints "fabricctl: <where:line: message>" (plus text and caret) and returns kExitError.
inline int ReportError(const Error& e) {
  std::cerr << "fabricctl: " << e.Format() << "\n";
  return kExitError;
}

inline void PrintJson(const nlohmann::json& j) { std::cout << j.dump(2) << "\n"; }

// Progress and bars only when a person is watching.
inline bool StderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace fabricctl::cli
