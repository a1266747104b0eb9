// fabricctl deploy: program route tables into the switches (or hand them to OpenSM).
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "fabric/discovery.h"
#include "fabric/file_io.h"
#include "fabric/topology_io.h"
#include "routing/deploy.h"
#include "routing/route_io.h"

namespace fabricctl::cli {
namespace {

struct DeployCmdOptions {
  std::string first;   // ROUTES alone, or TOPO when ROUTES follows
  std::string second;  // ROUTES after TOPO
  std::string ca;
  int port = 0;
  bool dry_run = false;
  bool json = false;
  std::string via;
  std::string output_dir = ".";
  int timeout_ms = 200;
  int retries = 3;
  unsigned inflight = 16;
  uint64_t max_writes = 0;
};

std::string Guid(uint64_t g) { return fmt::format("0x{:016x}", g); }

// OpenSM's file engine loads the dump; LIDs come from its guid2lid cache, so write that too.
int RunViaOpenSm(const Fabric& fabric, const RouteSet& routes, const DeployCmdOptions& o) {
  if (auto w = WriteRoutes(fabric, routes, o.output_dir, RouteWriteOptions{.json = false, .dump = true}); !w)
    return ReportError(w.error());
  std::string guid2lid = (std::filesystem::path(o.output_dir) / "guid2lid").string();
  std::string lids;
  for (PortId p = 0; p < routes.port_lid.size(); ++p) {
    if (routes.port_lid[p] == 0) continue;
    const Port& port = fabric.port(p);
    uint64_t guid = fabric.is_switch(port.node) ? fabric.node(port.node).guid : port.guid;
    if (guid != 0) lids += fmt::format("0x{:016x} {} {}\n", guid, routes.port_lid[p], routes.port_lid[p]);
  }
  if (auto w = WriteFileAtomic(guid2lid, lids); !w) return ReportError(w.error());
  // One OpenSM per subnet: each loads its own dump.
  nlohmann::json commands = nlohmann::json::array();
  std::vector<std::string> dumps;
  for (const SubnetRoutes& r : routes.subnets) {
    std::string dump = (std::filesystem::path(o.output_dir) / DumpFileName(fabric, r.subnet)).string();
    dumps.push_back(dump);
    commands.push_back(fmt::format("OSM_CACHE_DIR={} opensm -R file -U {}", o.output_dir, dump));
  }
  if (o.json) {
    PrintJson({{"dumps", dumps}, {"guid2lid", guid2lid}, {"commands", commands}});
  } else {
    for (const std::string& d : dumps) std::cout << fmt::format("wrote {}\n", d);
    std::cout << fmt::format("wrote {}\nrun OpenSM with its file routing engine (on the port of each subnet):\n",
                             guid2lid);
    for (const auto& c : commands) std::cout << "  " << c.get<std::string>() << "\n";
  }
  return kExitOk;
}

int RunDeploy(const DeployCmdOptions& o) {
  const bool have_topo = !o.second.empty();
  const std::string& routes_file = have_topo ? o.second : o.first;
  std::optional<Fabric> planned;
  if (have_topo) {
    auto f = ReadTopologyFile(o.first);
    if (!f) return ReportError(f.error());
    planned = std::move(*f);
  }
  // Bad route files fail before any MAD is sent: with a plan they are read against it now,
  // without one they must at least exist.
  std::optional<RouteSet> planned_routes;
  if (planned) {
    auto routes = ReadRoutes(*planned, routes_file);
    if (!routes) return ReportError(routes.error());
    if (o.via == "opensm") return RunViaOpenSm(*planned, *routes, o);
    planned_routes = std::move(*routes);
  } else if (std::error_code ec; !std::filesystem::exists(routes_file, ec)) {
    return ReportError(Error{.message = "no such file", .where = routes_file});
  }

  auto transport = mad::OpenUmadTransport(o.ca, o.port);
  if (!transport) return ReportError(transport.error());
  mad::RpcOptions rpc{.inflight = o.inflight, .timeout_ms = o.timeout_ms, .retries = o.retries};
  auto live = Discover(**transport, DiscoveryOptions{.rpc = rpc});
  if (!live) return ReportError(live.error());
  const Fabric& plan = planned ? *planned : live->fabric;
  Result<RouteSet> routes =
      planned_routes ? Result<RouteSet>(std::move(*planned_routes)) : ReadRoutes(plan, routes_file);
  if (!routes) return ReportError(routes.error());
  if (o.via == "opensm") return RunViaOpenSm(plan, *routes, o);

  auto report = Deploy(
      **transport, *live, plan, *routes,
      DeployOptions{
          .mode = o.dry_run ? DeployMode::kDryRun : DeployMode::kApply, .rpc = rpc, .max_block_writes = o.max_writes});
  if (!report) return ReportError(report.error());
  const Fabric& f = live->fabric;
  const bool dry = o.dry_run;
  size_t sl2vl = 0;
  for (const SwitchDeployment& s : report->switches) sl2vl += s.sl2vl_changed;
  if (o.json) {
    nlohmann::json lids = nlohmann::json::array();
    for (const LidChange& c : report->lids)
      lids.push_back({{"node", f.description(c.node)},
                      {"guid", Guid(f.node(c.node).guid)},
                      {"port", c.port},
                      {"old", c.old_lid},
                      {"new", c.new_lid}});
    nlohmann::json switches = nlohmann::json::array();
    for (const SwitchDeployment& s : report->switches)
      switches.push_back({{"node", f.description(s.node)},
                          {"guid", Guid(f.node(s.node).guid)},
                          {"blocks", s.blocks},
                          {"changed_blocks", s.changed},
                          {"verified", s.verified},
                          {"fdb_top_raised", s.fdb_top_raised},
                          {"sl2vl_changed", s.sl2vl_changed}});
    nlohmann::json problems = nlohmann::json::array();
    for (const DeployProblem& p : report->problems) problems.push_back({{"where", p.where}, {"message", p.message}});
    PrintJson({{"dry_run", dry},
               {"lids", std::move(lids)},
               {"switches", std::move(switches)},
               {"blocks_changed", report->blocks_changed()},
               {"sl2vl_changed", sl2vl},
               {"problems", std::move(problems)},
               {"interrupted", report->interrupted},
               {"stats",
                {{"mads", report->stats.sent + live->stats.sent},
                 {"deploy_mads", report->stats.sent},
                 {"seconds", report->seconds},
                 {"discovery_seconds", live->seconds}}}});
  } else {
    for (const LidChange& c : report->lids)
      std::cout << fmt::format("{}LID {}[{}]: {} -> {}\n", dry ? "would set " : "", f.description(c.node), c.port,
                               c.old_lid, c.new_lid);
    for (const SwitchDeployment& s : report->switches) {
      if (s.changed.empty() && s.sl2vl_changed == 0) continue;
      std::string blocks;
      for (uint32_t b : s.changed) blocks += fmt::format("{}{}", blocks.empty() ? "" : ",", b);
      std::cout << fmt::format("{}{} (0x{:016x}): LFT blocks {} of {}{}{}\n", dry ? "would change " : "",
                               f.description(s.node), f.node(s.node).guid, blocks.empty() ? "none" : blocks, s.blocks,
                               s.sl2vl_changed ? fmt::format(", {} SL2VL tables", s.sl2vl_changed) : "",
                               dry ? "" : fmt::format(", {} verified", s.verified));
    }
    for (const DeployProblem& p : report->problems) std::cout << fmt::format("problem: {}: {}\n", p.where, p.message);
    std::cout << fmt::format(
        "{}: {} LIDs, {} of {} switches, {} LFT blocks, {} SL2VL tables {}; {} MADs in {:.3f} s{}\n",
        dry ? "dry run" : "deployed", report->lids.size(),
        std::count_if(report->switches.begin(), report->switches.end(),
                      [](const SwitchDeployment& s) { return !s.changed.empty(); }),
        report->switches.size(), report->blocks_changed(), sl2vl, dry ? "differ" : "changed", report->stats.sent,
        report->seconds, report->interrupted ? " (stopped at --max-writes; run again to continue)" : "");
  }
  if (!report->problems.empty() || report->interrupted) return kExitFindings;
  if (dry && (report->blocks_changed() > 0 || !report->lids.empty() || sl2vl > 0)) return kExitFindings;
  return kExitOk;
}

}  // namespace

void AddDeploy(CLI::App& app, Runner& run) {
  auto o = std::make_shared<DeployCmdOptions>();
  CLI::App* cmd = app.add_subcommand(
      "deploy",
      "Program route tables into the switches through SMPs: LIDs where they differ, only the 64-entry LFT\n"
      "blocks that differ, SL->VL tables when the routes use several VLs, all read back. Running again\n"
      "resumes an interrupted deployment. ROUTES is what `route compute` writes (a directory, routes.json)\n"
      "or an OpenSM LFT dump; with TOPO the routes refer to that topology, which must match the discovered\n"
      "fabric by GUID, else to the discovered fabric.\n"
      "Exit 0 deployed, 1 problems (or differences with --dry-run), 2 refused or error.");
  // Two named positionals rather than one of 1-2 values: CLI11 2.1 prints the latter as
  // "files(1x)" in the usage line.
  cmd->add_option("TOPO_OR_ROUTES", o->first, "ROUTES alone, or TOPO when ROUTES follows")->required();
  cmd->add_option("ROUTES", o->second, "Route files (with TOPO before them)");
  cmd->add_option("-C,--ca", o->ca, "Local RDMA device to send from");
  cmd->add_option("-P,--port", o->port, "Local port number")->check(CLI::Range(0, 255));
  cmd->add_flag("-n,--dry-run", o->dry_run, "Read and compare only; change nothing");
  cmd->add_flag("--json", o->json, "Print the report as JSON");
  cmd->add_option("--via", o->via, "Hand the tables to a subnet manager instead: opensm")
      ->check(CLI::IsMember({"opensm"}));
  cmd->add_option("-o,--output-dir", o->output_dir, "Where --via opensm writes opensm-lfts.dump and guid2lid");
  cmd->add_option("--timeout", o->timeout_ms, "Milliseconds to wait for each SMP before retrying")
      ->check(CLI::Range(1, 60000));
  cmd->add_option("--retries", o->retries, "Retransmissions of an unanswered SMP")->check(CLI::Range(0, 100));
  cmd->add_option("--inflight", o->inflight, "SMPs outstanding at once")->check(CLI::Range(1, 256));
  cmd->add_option("--max-writes", o->max_writes, "Write at most N LFT blocks this run (0: all); run again to go on");
  cmd->callback([o, &run] { run = [o] { return RunDeploy(*o); }; });
}

}  // namespace fabricctl::cli
