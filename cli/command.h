#pragma once
// Each subcommand lives in its own file and registers itself under a parent CLI11 app.
// Registration sets `run` when the subcommand was chosen; main() then runs it. Only cli/
// prints or decides exit codes: 0 ok, 1 findings/differences, 2 error.
#include <CLI/CLI.hpp>
#include <functional>

namespace fabricctl::cli {

using Runner = std::function<int()>;

inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;
inline constexpr int kExitError = 2;

// topo_gen_cmd.cc
void AddTopoGen(CLI::App& topo, Runner& run);
// topo_cmd.cc: topo show, topo convert, topo diff
void AddTopoCommands(CLI::App& topo, Runner& run);
// route_cmd.cc: route compute, route diff
void AddRouteCompute(CLI::App& route, Runner& run);
// route_check_cmd.cc: route verify, route stats, route trace
void AddRouteChecks(CLI::App& route, Runner& run);
// discover_cmd.cc: discover, counters
void AddDiscoverCommands(CLI::App& app, Runner& run);
// deploy_cmd.cc: deploy
void AddDeploy(CLI::App& app, Runner& run);
// probe_cmd.cc: probe serve, probe run
void AddProbeCommands(CLI::App& probe, Runner& run);
// devices_cmd.cc: devices
void AddDevices(CLI::App& app, Runner& run);
// sweep_cmd.cc: sweep plan, sweep run, sweep history
void AddSweepCommands(CLI::App& sweep, Runner& run);
// check_cmd.cc: check
void AddCheck(CLI::App& app, Runner& run);
// manage_cmd.cc: manage
void AddManage(CLI::App& app, Runner& run);
// sweep_serve_cmd.cc: sweep serve (registered by AddSweepCommands)
void AddSweepServe(CLI::App& sweep, Runner& run);

}  // namespace fabricctl::cli
