#include "cli/command.h"

namespace fabricctl::cli {

// Not built yet: registers nothing, so the command does not appear.
void AddRouteChecks(CLI::App& route, Runner& run) {
  (void)route;
  (void)run;
}

}  // namespace fabricctl::cli
