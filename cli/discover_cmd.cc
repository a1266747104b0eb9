#include "cli/command.h"

namespace fabricctl::cli {

// Not built yet: registers nothing, so the command does not appear.
void AddDiscoverCommands(CLI::App& app, Runner& run) {
  (void)app;
  (void)run;
}

}  // namespace fabricctl::cli
