// fabricctl: a tiny main; every subcommand is registered from its own file.
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

#include "cli/command.h"
#include "fabricctl_version.h"

namespace {

// Parse errors in the house style, naming the command they belong to:
// "fabricctl: topo show: FILE is required", plus the commands to choose from when one is
// missing and where to read more.
std::string FailureMessage(const CLI::App* app, const CLI::Error& e) {
  std::string path;
  for (const CLI::App* at = app; !at->get_subcommands().empty();) {
    at = at->get_subcommands().front();
    path += (path.empty() ? "" : " ") + at->get_name();
    app = at;
  }
  std::string out = "fabricctl: " + (path.empty() ? "" : path + ": ") + e.what();
  if (std::string_view(e.what()).find("subcommand") != std::string_view::npos) {
    std::string names;
    for (const CLI::App* sub : app->get_subcommands([](const CLI::App*) { return true; }))
      names += (names.empty() ? "" : ", ") + sub->get_name();
    if (!names.empty()) out += "; commands: " + names;
  }
  return out + "\nRun 'fabricctl " + (path.empty() ? "" : path + " ") + "--help' for more information.\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fabricctl::cli;
  CLI::App app{
      "fabricctl: fabric manager and diagnostic tool for RDMA clusters.\n"
      "Find the topology, compute and verify deadlock-free routes, deploy route tables,\n"
      "probe latency and bandwidth, and run link-health sweeps.",
      "fabricctl"};
  app.set_version_flag("--version", "fabricctl " FABRICCTL_VERSION " (revision " FABRICCTL_REVISION ")");
  app.require_subcommand(1);
  app.fallthrough(false);
  app.failure_message(FailureMessage);

  Runner run;
  CLI::App* topo = app.add_subcommand("topo", "Topologies: generate, show, convert, compare");
  topo->require_subcommand(1);
  AddTopoGen(*topo, run);
  AddTopoCommands(*topo, run);

  CLI::App* route = app.add_subcommand("route", "Routes: compute, verify, measure, trace, compare");
  route->require_subcommand(1);
  AddRouteCompute(*route, run);
  AddRouteChecks(*route, run);

  AddDiscoverCommands(app, run);
  AddDeploy(app, run);
  AddManage(app, run);

  CLI::App* probe = app.add_subcommand("probe", "Latency and bandwidth probes: agent and client");
  probe->require_subcommand(1);
  AddProbeCommands(*probe, run);
  AddDevices(app, run);
  AddCheck(app, run);

  CLI::App* sweep = app.add_subcommand("sweep", "Link-health sweeps: plan, run, history");
  sweep->require_subcommand(1);
  AddSweepCommands(*sweep, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitError;
  }
  if (!run) {
    std::cerr << app.help();
    return kExitError;
  }
  try {
    return run();
  } catch (const std::exception& e) {
    std::cerr << "fabricctl: internal error: " << e.what() << "\n";
    return kExitError;
  }
}
