// fabricctl deploy: program route tables into the switches (or hand them to OpenSM).
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "cli/node_names.h"
#include "cli/progress.h"
#include "fabric/discovery.h"
#include "fabric/display_text.h"
#include "fabric/file_io.h"
#include "fabric/node_name_map.h"
#include "fabric/topology_io.h"
#include "routing/deploy.h"
#include "routing/opensm_dump.h"
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
  std::string node_name_map;
};

std::string Guid(uint64_t g) { return fmt::format("0x{:016x}", g); }

// The header line of ROUTES when it is one of our dumps given as a file: it tells routes on
// several VLs whose sl-table.txt was left behind.
std::vector<DumpHeader> StatedHeaders(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec) || path.ends_with(".json")) return {};
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  if (auto header = ParseDumpHeader(line)) return {*header};
  return {};
}

// OpenSM's file engine loads the dump; LIDs come from its guid2lid cache, so write that too.
// Routes on several VLs are refused before anything is written: the engine would drop their
// SL/VL scheme (routing/opensm_dump.h).
int RunViaOpenSm(const Fabric& fabric, const RouteSet& routes, const std::string& routes_file,
                 const DeployCmdOptions& o) {
  if (auto ok = CheckOpensmHandOff(fabric, routes, StatedHeaders(routes_file)); !ok) return ReportError(ok.error());
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

nlohmann::json NodeJson(const Fabric& f, NodeId n) {
  return {{"node", f.description(n)}, {"guid", Guid(f.node(n).guid)}};
}

std::string BlockList(const std::vector<uint32_t>& blocks) {
  std::string list;
  for (uint32_t b : blocks) list += fmt::format("{}{}", list.empty() ? "" : ",", b);
  return list.empty() ? "none" : list;
}

nlohmann::json ReportJson(const Fabric& f, const DeployReport& report, const mad::RpcStats& discovery_stats,
                          double discovery_seconds) {
  nlohmann::json lids = nlohmann::json::array();
  for (const LidChange& c : report.lids) {
    nlohmann::json j = NodeJson(f, c.node);
    j.update({{"port", c.port}, {"old", c.old_lid}, {"new", c.new_lid}, {"done", c.done}});
    lids.push_back(std::move(j));
  }
  nlohmann::json switches = nlohmann::json::array();
  size_t sl2vl = 0;
  for (const SwitchDeployment& s : report.switches) {
    nlohmann::json j = NodeJson(f, s.node);
    j.update({{"blocks", s.blocks},
              {"changed_blocks", s.changed},
              {"written_blocks", s.written},
              {"verified", s.verified},
              {"remaining_blocks", s.remaining},
              {"fdb_top_raised", s.fdb_top_raised},
              {"sl2vl_changed", s.sl2vl_changed},
              {"sl2vl_written", s.sl2vl_written},
              {"sl2vl_remaining", s.sl2vl_remaining}});
    switches.push_back(std::move(j));
    sl2vl += s.sl2vl_changed;
  }
  nlohmann::json problems = nlohmann::json::array();
  for (const DeployProblem& p : report.problems) problems.push_back({{"where", p.where}, {"message", p.message}});
  nlohmann::json stopped = nullptr;
  if (report.stopped) stopped = {{"where", report.stopped->where}, {"message", report.stopped->message}};
  return {
      {"dry_run", report.mode == DeployMode::kDryRun},
      {"lids", std::move(lids)},
      {"switches", std::move(switches)},
      {"blocks_changed", report.blocks_changed()},
      {"blocks_written", report.blocks_written()},
      {"sl2vl_changed", sl2vl},
      {"endpoint_sl2vl_written", report.endpoint_sl2vl_written},
      {"problems", std::move(problems)},
      {"interrupted", report.interrupted},
      {"stopped", std::move(stopped)},
      {"remaining",
       {{"lids", report.lids_remaining()}, {"blocks", report.blocks_remaining()}, {"sl2vl", report.sl2vl_remaining()}}},
      {"stats",
       {{"mads", report.stats.sent + discovery_stats.sent},
        {"deploy_mads", report.stats.sent},
        {"seconds", report.seconds},
        {"discovery_seconds", discovery_seconds}}}};
}

// What is left to do, one line per switch; nothing when the deployment is complete.
void PrintRemaining(const Fabric& f, const DeployReport& report) {
  if (report.lids_remaining() + report.blocks_remaining() + report.sl2vl_remaining() == 0) return;
  std::cout << "remaining (run deploy again to finish; only what still differs is written):\n";
  for (const LidChange& c : report.lids)
    if (!c.done)
      std::cout << fmt::format("  LID {}[{}]: {}\n", PrintableText(f.description(c.node)), c.port, c.new_lid);
  for (const SwitchDeployment& s : report.switches) {
    if (s.remaining.empty() && s.sl2vl_remaining == 0) continue;
    std::cout << fmt::format("  {} (0x{:016x}): LFT blocks {}{}\n", PrintableText(f.description(s.node)),
                             f.node(s.node).guid, BlockList(s.remaining),
                             s.sl2vl_remaining ? fmt::format(", {} SL2VL tables", s.sl2vl_remaining) : "");
  }
  if (report.endpoint_sl2vl_remaining)
    std::cout << fmt::format("  {} endpoint SL2VL tables\n", report.endpoint_sl2vl_remaining);
}

void PrintReport(const Fabric& f, const DeployReport& report) {
  const bool dry = report.mode == DeployMode::kDryRun;
  for (const LidChange& c : report.lids)
    if (dry || c.done)
      std::cout << fmt::format("{}LID {}[{}]: {} -> {}\n", dry ? "would set " : "",
                               PrintableText(f.description(c.node)), c.port, c.old_lid, c.new_lid);
  size_t sl2vl = 0;
  for (const SwitchDeployment& s : report.switches) {
    sl2vl += s.sl2vl_changed;
    if (s.changed.empty() && s.sl2vl_changed == 0) continue;
    std::cout << fmt::format(
        "{}{} (0x{:016x}): LFT blocks {} of {}{}{}\n", dry ? "would change " : "", PrintableText(f.description(s.node)),
        f.node(s.node).guid, BlockList(dry ? s.changed : s.written), s.blocks,
        s.sl2vl_changed ? fmt::format(", {} SL2VL tables", dry ? s.sl2vl_changed : s.sl2vl_written) : "",
        dry ? "" : fmt::format(", {} verified", s.verified));
  }
  for (const DeployProblem& p : report.problems)
    std::cout << fmt::format("problem: {}: {}\n", PrintableText(p.where), PrintableText(p.message));
  if (!dry) PrintRemaining(f, report);
  size_t lids_done = dry ? report.lids.size() : report.lids.size() - report.lids_remaining();
  std::cout << fmt::format(
      "{}: {} LIDs, {} of {} switches, {} LFT blocks, {} SL2VL tables {}; {} MADs in {:.3f} s{}\n",
      dry              ? "dry run"
      : report.stopped ? "stopped"
                       : "deployed",
      lids_done,
      std::count_if(report.switches.begin(), report.switches.end(),
                    [&](const SwitchDeployment& s) { return !(dry ? s.changed : s.written).empty(); }),
      report.switches.size(), dry ? report.blocks_changed() : report.blocks_written(), sl2vl,
      dry ? "differ" : "changed", report.stats.sent, report.seconds,
      report.interrupted ? " (stopped at --max-writes; run again to continue)" : "");
}

int RunDeploy(const DeployCmdOptions& o) {
  // A bad name map fails before any MAD is sent, not after the tables changed.
  if (!o.node_name_map.empty())
    if (auto names = ReadNodeNameMap(o.node_name_map); !names) return ReportError(names.error());
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
    if (o.via == "opensm") return RunViaOpenSm(*planned, *routes, routes_file, o);
    planned_routes = std::move(*routes);
  } else if (std::error_code ec; !std::filesystem::exists(routes_file, ec)) {
    return ReportError(Error{.message = "no such file", .where = routes_file});
  }

  auto transport = mad::OpenUmadTransport(o.ca, o.port, o.timeout_ms);
  if (!transport) return ReportError(transport.error());
  mad::RpcOptions rpc{.inflight = o.inflight, .timeout_ms = o.timeout_ms, .retries = o.retries};
  Progress progress("deploy", o.json ? ProgressWanted::kNo : ProgressWanted::kYes);
  DiscoveryOptions discovery{.rpc = rpc};
  if (progress.shown())
    discovery.progress = [&progress](const DiscoveryProgress& p) {
      progress.Update(fmt::format("discovery: {} nodes ({} switches), {} MADs", p.nodes, p.switches, p.mads));
    };
  auto live = Discover(**transport, discovery);
  if (!live) return ReportError(live.error());
  const Fabric& plan = planned ? *planned : live->fabric;
  Result<RouteSet> routes =
      planned_routes ? Result<RouteSet>(std::move(*planned_routes)) : ReadRoutes(plan, routes_file);
  if (!routes) return ReportError(routes.error());
  if (o.via == "opensm") return RunViaOpenSm(plan, *routes, routes_file, o);

  progress.Stage(o.dry_run ? "reading and comparing the tables" : "programming the tables");
  auto report = Deploy(
      **transport, *live, plan, *routes,
      DeployOptions{
          .mode = o.dry_run ? DeployMode::kDryRun : DeployMode::kApply, .rpc = rpc, .max_block_writes = o.max_writes});
  progress.Done();
  if (!report) return ReportError(report.error());
  // Renamed for the report only, after the tables are matched to the switches by GUID.
  auto named = ApplyNodeNameMap(std::move(live->fabric), o.node_name_map);
  if (!named) return ReportError(named.error());
  live->fabric = std::move(*named);
  if (o.json)
    PrintJson(ReportJson(live->fabric, *report, live->stats, live->seconds));
  else
    PrintReport(live->fabric, *report);
  // A stop mid-way is an error, but only after the report of what it changed is out.
  if (report->stopped) return ReportError(*report->stopped);
  if (!report->problems.empty() || report->interrupted) return kExitFindings;
  size_t sl2vl = 0;
  for (const SwitchDeployment& s : report->switches) sl2vl += s.sl2vl_changed;
  if (o.dry_run && (report->blocks_changed() > 0 || !report->lids.empty() || sl2vl > 0)) return kExitFindings;
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
  cmd->add_option("-C,--ca", o->ca, "Local RDMA device to send from (default: the first with an IB port)");
  cmd->add_option("-P,--port", o->port, "Local port number (default: the first active port)")
      ->check(CLI::Range(0, 255));
  AddNodeNameMapOption(*cmd, o->node_name_map);
  cmd->add_flag("-n,--dry-run", o->dry_run, "Read and compare only; change nothing");
  cmd->add_flag("--json", o->json, "Print the report as JSON");
  cmd->add_option("--via", o->via,
                  "Hand the tables to a subnet manager instead: opensm (LFTs only: refused for routes on several "
                  "VLs)")
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
