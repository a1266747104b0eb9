#include "cli/command.h"

namespace fabricctl::cli {

// Not built yet: registers nothing, so the command does not appear.
void AddTopoCommands(CLI::App& topo, Runner& run) {
  (void)topo;
  (void)run;
}

}  // namespace fabricctl::cli
