#include "cli/command.h"

namespace fabricctl::cli {

// Not built yet: registers nothing, so the command does not appear.
void AddProbeCommands(CLI::App& probe, Runner& run) {
  (void)probe;
  (void)run;
}

}  // namespace fabricctl::cli
