#include "cli/command.h"

namespace fabricctl::cli {

// Not built yet: registers nothing, so the command does not appear.
void AddSweepCommands(CLI::App& sweep, Runner& run) {
  (void)sweep;
  (void)run;
}

}  // namespace fabricctl::cli
