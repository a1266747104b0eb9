// fabricctl route compute / route diff: thin commands over routing/route_fabric.h,
// routing/route_io.h, routing/verifier.h and routing/route_diff.h.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "fabric/file_io.h"
#include "fabric/topology_io.h"
#include "routing/opensm_dump.h"
#include "routing/parallel.h"
#include "routing/registry.h"
#include "routing/route_diff.h"
#include "routing/route_fabric.h"
#include "routing/route_io.h"
#include "routing/route_summary.h"
#include "routing/updn.h"
#include "routing/verifier.h"

namespace fabricctl::cli {
namespace {

using nlohmann::json;

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// ---------------------------------------------------------------------------------------
// route compute

struct ComputeOptions {
  std::string topology;
  std::string format = "auto";
  std::string engine = "auto";
  unsigned vls = 8;
  uint64_t seed = 1;
  std::string root_guid_file;
  unsigned threads = 0;
  std::string output;
  std::string files = "json";
  bool verify = true;
  bool json = false;
};

struct SubnetFigures {
  uint32_t max_hops = 0;
  double avg_hops = 0;
  uint64_t max_channel_load = 0;
  uint64_t pairs = 0;
  uint64_t unreachable_pairs = 0;
  std::optional<bool> deadlock_free;
};

int RunCompute(const ComputeOptions& o) {
  auto t_read = std::chrono::steady_clock::now();
  auto fabric = ReadTopologyFile(o.topology, ParseTopoFormat(o.format).value_or(TopoFormat::kAuto));
  if (!fabric) return ReportError(fabric.error());
  const double read_seconds = Since(t_read);
  auto selection = ParseEngineSelection(o.engine);
  if (!selection) return ReportError(selection.error());
  RouteFabricOptions ro{.engine = {.max_vls = static_cast<uint8_t>(o.vls), .seed = o.seed}, .threads = o.threads};
  if (!o.root_guid_file.empty()) {
    auto text = ReadTextFile(o.root_guid_file);
    if (!text) return ReportError(text.error());
    auto guids = ParseGuidList(*text, o.root_guid_file);
    if (!guids) return ReportError(guids.error());
    ro.engine.root_guids = std::move(*guids);
  }
  RouteWriteOptions wo{.json = false, .dump = false};
  if (o.files != "none") {
    for (size_t start = 0; start <= o.files.size();) {
      size_t comma = o.files.find(',', start);
      std::string_view f =
          std::string_view(o.files).substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (f == "json")
        wo.json = true;
      else if (f == "dump")
        wo.dump = true;
      else
        return ReportError(Error{.message = fmt::format("--files: unknown file kind '{}' (json, dump, none)", f)});
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }

  auto t_route = std::chrono::steady_clock::now();
  auto routed = RouteFabric(*fabric, *selection, ro);
  if (!routed) return ReportError(routed.error());
  const double route_seconds = Since(t_route);

  // Verification: the independent verifier for reachability and credit loops, the route
  // summary for hops and channel loads (one pass each, both multi-threaded).
  auto t_check = std::chrono::steady_clock::now();
  Result<VerifyReport> verdict = VerifyReport{};
  if (o.verify) {
    verdict = Verify(*fabric, routed->routes, VerifyOptions{.max_violations = 5, .threads = o.threads});
    if (!verdict) return ReportError(verdict.error());
  }
  const unsigned threads = o.threads ? o.threads : DefaultThreads();
  std::vector<SubnetFigures> figures(routed->routes.subnets.size());
  ParallelFor(figures.size(), threads, [&](size_t i) {
    const SubnetRoutes& r = routed->routes.subnets[i];
    RouteSummary s = SummarizeRoutes(*fabric, fabric->subnets()[r.subnet], r, 1);
    figures[i] = {s.max_hops, s.avg_hops, s.max_channel_load, s.pairs, s.unreachable_pairs, s.deadlock_free};
  });
  if (!o.verify) {
    // The summary's own checks stand in: unreachable pairs and loops, and the 1-VL CDG.
    verdict->subnets.resize(fabric->subnets().size());
    for (size_t i = 0; i < figures.size(); ++i) {
      const SubnetRoutes& r = routed->routes.subnets[i];
      SubnetVerdict& v = verdict->subnets[r.subnet];
      v.subnet = r.subnet;
      v.pairs = figures[i].pairs;
      v.unreachable_pairs = figures[i].unreachable_pairs;
      v.cdg_cycles = figures[i].deadlock_free.value_or(true) ? 0 : 1;
      if (!figures[i].deadlock_free)
        routed->notes.push_back(fmt::format("subnet {}: {} VLs, credit loops not checked without the verifier",
                                            fabric->subnets()[r.subnet].name, r.num_vls));
      verdict->pairs += v.pairs;
      verdict->unreachable_pairs += v.unreachable_pairs;
      verdict->cdg_cycles += v.cdg_cycles;
    }
    verdict->violation_count = verdict->unreachable_pairs + verdict->cdg_cycles;
  }
  const double check_seconds = Since(t_check);

  double write_seconds = 0;
  if (!o.output.empty() && (wo.json || wo.dump)) {
    auto t_write = std::chrono::steady_clock::now();
    if (auto ok = WriteRoutes(*fabric, routed->routes, o.output, wo); !ok) return ReportError(ok.error());
    write_seconds = Since(t_write);
  }

  uint32_t max_hops = 0;
  uint64_t max_load = 0;
  uint8_t vls = 1;
  for (size_t i = 0; i < figures.size(); ++i) {
    max_hops = std::max(max_hops, figures[i].max_hops);
    max_load = std::max(max_load, figures[i].max_channel_load);
    vls = std::max(vls, routed->routes.subnets[i].num_vls);
  }
  const bool deadlock_free = verdict->deadlock_free();
  bool unchecked = false;  // --no-verify on multi-VL tables: the summary cannot tell
  for (const SubnetFigures& fig : figures) unchecked = unchecked || (!o.verify && !fig.deadlock_free);
  const uint64_t unreachable = verdict->unreachable_pairs + verdict->loop_pairs + verdict->through_endpoint_pairs;
  const double seconds = route_seconds + check_seconds;

  if (o.json) {
    json subnets = json::array();
    for (size_t i = 0; i < figures.size(); ++i) {
      const SubnetRoutes& r = routed->routes.subnets[i];
      const Subnet& s = fabric->subnets()[r.subnet];
      const SubnetVerdict& v = verdict->subnets[r.subnet];
      Lid max_lid = r.num_lids() ? static_cast<Lid>(r.num_lids() - 1) : 0;
      subnets.push_back({{"name", s.name},
                         {"engine", r.engine},
                         {"reason", r.reason},
                         {"declined", routed->reports[i].declined},
                         {"switches", s.switches.size()},
                         {"endpoints", s.endpoint_ports.size()},
                         {"lids", max_lid},
                         {"deployable_lids", max_lid <= kMaxUnicastLid},
                         {"vls", r.num_vls},
                         {"max_hops", figures[i].max_hops},
                         {"avg_hops", figures[i].avg_hops},
                         {"max_channel_load", figures[i].max_channel_load},
                         {"pairs", v.pairs},
                         {"unreachable_pairs", v.unreachable_pairs + v.loop_pairs + v.through_endpoint_pairs},
                         {"deadlock_free", v.cdg_cycles == 0},
                         {"seconds", routed->reports[i].seconds}});
    }
    json out = {{"topology", o.topology},
                {"engine", o.engine},
                {"subnets", std::move(subnets)},
                {"deadlock_free", unchecked ? json(nullptr) : json(deadlock_free)},
                {"sound", verdict->sound()},
                {"verified", o.verify},
                {"vls", vls},
                {"max_hops", max_hops},
                {"max_channel_load", max_load},
                {"unreachable_pairs", unreachable},
                {"seconds", seconds},
                {"route_seconds", route_seconds},
                {"verify_seconds", check_seconds},
                {"read_seconds", read_seconds},
                {"write_seconds", write_seconds},
                {"output", o.output.empty() ? json(nullptr) : json(o.output)},
                {"notes", routed->notes}};
    PrintJson(out);
  } else {
    std::cout << fmt::format("routed {} subnet{} of {} with --engine {} in {}, {} in {}\n", figures.size(),
                             figures.size() == 1 ? "" : "s", o.topology, o.engine, Duration(route_seconds),
                             o.verify ? "verified" : "checked (--no-verify)", Duration(check_seconds));
    std::cout << fmt::format("  {:<20} {:<7} {:>8} {:>9} {:>7} {:>3} {:>4} {:>9} {:>11} {:<5}  {}\n", "subnet",
                             "engine", "switches", "endpoints", "lids", "vls", "hops", "max_load", "unreachable", "dlf",
                             "reason");
    for (size_t i = 0; i < figures.size(); ++i) {
      const SubnetRoutes& r = routed->routes.subnets[i];
      const Subnet& s = fabric->subnets()[r.subnet];
      const SubnetVerdict& v = verdict->subnets[r.subnet];
      std::cout << fmt::format(
          "  {:<20} {:<7} {:>8} {:>9} {:>7} {:>3} {:>4} {:>9} {:>11} {:<5}  {}\n", s.name, r.engine, s.switches.size(),
          s.endpoint_ports.size(), r.num_lids() ? r.num_lids() - 1 : 0, r.num_vls, figures[i].max_hops,
          figures[i].max_channel_load, v.unreachable_pairs + v.loop_pairs + v.through_endpoint_pairs,
          v.cdg_cycles == 0 ? "yes" : "NO", r.reason);
    }
    std::cout << fmt::format("deadlock-free: {}; unreachable pairs: {}; max hops {}; max channel load {}; {} VL{}\n",
                             unchecked       ? "not checked"
                             : deadlock_free ? "yes"
                                             : "NO",
                             unreachable, max_hops, max_load, vls, vls == 1 ? "" : "s");
    for (const Violation& v : verdict->violations) std::cout << "  " << v.text << "\n";
    for (const std::string& note : routed->notes) std::cout << "note: " << note << "\n";
    if (!o.output.empty() && (wo.json || wo.dump))
      std::cout << fmt::format("wrote {} in {}\n", o.output, Duration(write_seconds));
  }
  return verdict->sound() ? kExitOk : kExitFindings;
}

// ---------------------------------------------------------------------------------------
// route diff

struct DiffOptions {
  std::string a, b;
  bool json = false;
  size_t max_listed = 50;
};

std::string BlockList(const std::vector<uint32_t>& blocks) {
  std::string out;
  for (size_t i = 0; i < blocks.size() && i < 16; ++i) out += (i ? "," : "") + std::to_string(blocks[i]);
  if (blocks.size() > 16) out += fmt::format(",... ({} blocks)", blocks.size());
  return out;
}

int RunDiff(const DiffOptions& o) {
  auto a = ReadRawLfts(o.a);
  if (!a) return ReportError(a.error());
  auto b = ReadRawLfts(o.b);
  if (!b) return ReportError(b.error());
  RouteDiff d = DiffLfts(*a, *b);
  auto kind = [](SwitchLftDiff::Kind k) {
    switch (k) {
      case SwitchLftDiff::Kind::kOnlyInA:
        return "only-in-a";
      case SwitchLftDiff::Kind::kOnlyInB:
        return "only-in-b";
      case SwitchLftDiff::Kind::kChanged:
        break;
    }
    return "changed";
  };
  if (o.json) {
    json sw = json::array();
    for (const SwitchLftDiff& s : d.switches)
      sw.push_back({{"guid", fmt::format("0x{:016x}", s.guid)},
                    {"description", s.description},
                    {"status", kind(s.kind)},
                    {"changed_entries", s.changed_entries},
                    {"changed_blocks", s.blocks}});
    PrintJson({{"a", o.a},
               {"b", o.b},
               {"same", d.same()},
               {"switches_compared", d.switches_compared},
               {"switches_differing", d.switches.size()},
               {"changed_entries", d.changed_entries},
               {"changed_blocks", d.changed_blocks},
               {"switches", std::move(sw)}});
  } else if (d.same()) {
    std::cout << fmt::format("same: {} switches, identical LFTs\n", d.switches_compared);
  } else {
    size_t one_sided = 0;
    for (const SwitchLftDiff& s : d.switches) one_sided += s.kind != SwitchLftDiff::Kind::kChanged;
    std::cout << fmt::format("{} of {} switches differ: {} LFT entries in {} 64-entry blocks\n", d.switches.size(),
                             d.switches_compared + one_sided, d.changed_entries, d.changed_blocks);
    for (size_t i = 0; i < d.switches.size() && i < o.max_listed; ++i) {
      const SwitchLftDiff& s = d.switches[i];
      if (s.kind == SwitchLftDiff::Kind::kChanged)
        std::cout << fmt::format("  0x{:016x} {:<24} {:>6} entries  blocks {}\n", s.guid, s.description,
                                 s.changed_entries, BlockList(s.blocks));
      else
        std::cout << fmt::format("  0x{:016x} {:<24} only in {}\n", s.guid, s.description,
                                 s.kind == SwitchLftDiff::Kind::kOnlyInA ? o.a : o.b);
    }
    if (d.switches.size() > o.max_listed)
      std::cout << fmt::format("  ... {} more (--json lists all)\n", d.switches.size() - o.max_listed);
  }
  return d.same() ? kExitOk : kExitFindings;
}

}  // namespace

void AddRouteCompute(CLI::App& route, Runner& run) {
  auto co = std::make_shared<ComputeOptions>();
  CLI::App* compute = route.add_subcommand(
      "compute",
      "Compute routes for every subnet of a topology, verify them and write the route files.\n"
      "Engines (--engine; comma-separated names form a fallback chain, SELECTOR= starts the chain\n"
      "of a level or subnet, e.g. 'scale-up=torus,updn,scale-out=ftree,updn'):\n" +
          EnginesHelp() +
          "Files in -o DIR (--files): routes.json (json, default); opensm-lfts.dump, one per subnet when\n"
          "there are several (dump: large, about 70 bytes per switch and LID);\n"
          "sl-table.txt when a subnet uses several VLs. Exit 0 sound, 1 unreachable pairs or a\n"
          "credit loop, 2 error.");
  compute->add_option("topology", co->topology, "Topology file (ibnetdiscover, ibsim or JSON)")->required();
  compute->add_option("-o,--output", co->output, "Directory for the route files (nothing written without it)");
  compute->add_option("-e,--engine", co->engine, "Engine, fallback chain or per-subnet selection")
      ->capture_default_str();
  compute->add_option("--vls", co->vls, "Data VLs an engine may use")->check(CLI::Range(1, 15))->capture_default_str();
  compute->add_option("--seed", co->seed, "Seed for engines that break ties at random")->capture_default_str();
  compute->add_option("--root-guid-file", co->root_guid_file,
                      "Root switch GUIDs for updn, one per line (OpenSM's format)");
  compute->add_option("--threads", co->threads, "Worker threads (0: every core)")->capture_default_str();
  compute->add_option("--files", co->files, "Files to write: json, dump (OpenSM LFT dumps), json,dump, or none")
      ->capture_default_str();
  compute->add_option("--format", co->format, "Topology format: auto, ibnetdiscover, json, ibsim")
      ->capture_default_str();
  compute->add_flag("!--no-verify", co->verify,
                    "Skip the all-pairs verifier (huge fabrics); the summary's loop, reachability and 1-VL "
                    "credit-loop checks stand in");
  compute->add_flag("--json", co->json, "Print the summary as JSON");
  compute->callback([&run, co] { run = [co] { return RunCompute(*co); }; });

  auto dopt = std::make_shared<DiffOptions>();
  CLI::App* diff = route.add_subcommand(
      "diff",
      "Compare two sets of route files (directories, routes.json or opensm-lfts.dump) switch by\n"
      "switch: changed LFT entries and changed 64-entry blocks. Exit 0 same, 1 different, 2 error.");
  diff->add_option("a", dopt->a, "First route files")->required();
  diff->add_option("b", dopt->b, "Second route files")->required();
  diff->add_option("--max-listed", dopt->max_listed, "Switches listed in the text output")->capture_default_str();
  diff->add_flag("--json", dopt->json, "Print the differences as JSON");
  diff->callback([&run, dopt] { run = [dopt] { return RunDiff(*dopt); }; });
}

}  // namespace fabricctl::cli
