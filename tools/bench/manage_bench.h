#pragma once
// Time to repair under ibsim: a route manager keeps a simulated fat tree routed; one
// leaf-spine cable, then (on a fresh simulator) one spine switch is failed through ibsim's
// console, and repair-watch (repair_watch.h) measures the time until no switch forwards
// into what failed, then verifies the tables the manager left. Managers: OpenSM as a daemon
// with its own engines (updn, ftree) at its defaults (sweep_interval 10 s, a heavy sweep on
// every link-state trap); `fabricctl manage --sm none` after one `opensm -o`; `fabricctl
// manage --sm opensm-file` feeding an OpenSM daemon (-R file,ENGINE). Fabrics: a 3-tier
// k=16 fat tree (1,024 endpoints) and a 2-tier fat tree of 10,000 endpoints (--quick: the
// first only). --write: the table into docs/performance.md between the route-manager
// markers.
//
//   fabricctl-bench manage [--quick] [--write] [-- MANAGER...]
//
// MANAGER: opensm-ENGINE, manage-ENGINE[:PERIOD] or manage-file-ENGINE[:PERIOD] (default:
// opensm-updn, opensm-ftree, and manage-updn when the fabricctl next to the bench has
// `manage`).
#include "tools/bench/bench.h"

namespace fabricctl::bench {

int RunManageBench(const Options& options);

}  // namespace fabricctl::bench
