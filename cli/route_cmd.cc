// fabricctl route compute / route diff: thin commands over routing/route_compute.h,
// routing/route_io.h and routing/route_diff.h.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <ranges>
#include <string>
#include <vector>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "cli/node_names.h"
#include "cli/progress.h"
#include "fabric/display_text.h"
#include "fabric/node_name_map.h"
#include "fabric/topology_io.h"
#include "routing/channel_capacity.h"
#include "routing/compute_notes.h"
#include "routing/opensm_dump.h"
#include "routing/registry.h"
#include "routing/route_compute.h"
#include "routing/route_diff.h"
#include "routing/route_io.h"

namespace fabricctl::cli {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------
// route compute

struct ComputeOptions {
  std::string topology;
  std::string format = "auto";
  std::string engine = "auto";
  unsigned vls = 8;
  uint64_t seed = 1;
  bool one_pass = false;
  std::string root_guid_file;
  unsigned threads = 0;
  std::string output;
  std::string files = "json";
  bool verify = true;
  bool json = false;
  std::string node_name_map;
};

// --files: "json", "dump", "json,dump" or "none".
Result<RouteWriteOptions> ParseFileKinds(std::string_view list) {
  RouteWriteOptions files{.json = false, .dump = false};
  if (list == "none") return files;
  for (std::string_view kind : std::views::split(list, ',') |
                                   std::views::transform([](auto r) { return std::string_view(r.begin(), r.end()); })) {
    if (kind == "json")
      files.json = true;
    else if (kind == "dump")
      files.dump = true;
    else
      return MakeError(fmt::format("--files: unknown file kind '{}' (json, dump, none)", ShownValue(kind)));
  }
  return files;
}

struct ComputeTotals {
  uint32_t max_hops = 0;
  uint64_t max_load = 0;
  double max_load_per_capacity = 0;
  bool rates_differ = false;  // in some subnet: the text shows loads per capacity too
  uint8_t vls = 1;
  uint64_t unreachable = 0;
};

ComputeTotals Totals(const ComputeOutcome& c) {
  ComputeTotals t;
  for (size_t i = 0; i < c.figures.size(); ++i) {
    t.max_hops = std::max(t.max_hops, c.figures[i].max_hops);
    t.max_load = std::max(t.max_load, c.figures[i].max_channel_load);
    t.max_load_per_capacity = std::max(t.max_load_per_capacity, c.figures[i].max_load_per_capacity);
    t.rates_differ =
        t.rates_differ || !ChannelCapacity(c.fabric, c.fabric.subnets()[c.routed.routes.subnets[i].subnet]).uniform();
    t.vls = std::max(t.vls, c.routed.routes.subnets[i].num_vls);
  }
  t.unreachable = c.verdict.unreachable_pairs + c.verdict.loop_pairs + c.verdict.through_endpoint_pairs;
  return t;
}

void PrintComputeJson(const ComputeOptions& o, const ComputeOutcome& c) {
  const ComputeTotals totals = Totals(c);
  json subnets = json::array();
  for (size_t i = 0; i < c.figures.size(); ++i) {
    const SubnetRoutes& r = c.routed.routes.subnets[i];
    const Subnet& s = c.fabric.subnets()[r.subnet];
    const SubnetVerdict& v = c.verdict.subnets[r.subnet];
    Lid max_lid = r.num_lids() ? static_cast<Lid>(r.num_lids() - 1) : 0;
    subnets.push_back({{"name", s.name},
                       {"engine", r.engine},
                       {"reason", r.reason},
                       {"declined", c.routed.reports[i].declined},
                       {"switches", s.switches.size()},
                       {"endpoints", s.endpoint_ports.size()},
                       {"lids", max_lid},
                       {"deployable_lids", max_lid <= kMaxUnicastLid},
                       {"vls", r.num_vls},
                       {"max_hops", c.figures[i].max_hops},
                       {"avg_hops", c.figures[i].avg_hops},
                       {"max_channel_load", c.figures[i].max_channel_load},
                       {"max_load_per_capacity", c.figures[i].max_load_per_capacity},
                       {"pairs", v.pairs},
                       {"unreachable_pairs", v.unreachable_pairs + v.loop_pairs + v.through_endpoint_pairs},
                       {"deadlock_free", v.cdg_cycles == 0},
                       {"seconds", c.routed.reports[i].seconds}});
  }
  PrintJson({{"topology", o.topology},
             {"engine", o.engine},
             {"subnets", std::move(subnets)},
             {"deadlock_free", c.loops_unchecked ? json(nullptr) : json(c.verdict.deadlock_free())},
             {"sound", c.verdict.sound()},
             {"verified", o.verify},
             {"vls", totals.vls},
             {"max_hops", totals.max_hops},
             {"max_channel_load", totals.max_load},
             {"max_load_per_capacity", totals.max_load_per_capacity},
             {"unreachable_pairs", totals.unreachable},
             {"seconds", c.route_seconds + c.check_seconds},
             {"route_seconds", c.route_seconds},
             {"verify_seconds", c.check_seconds},
             {"read_seconds", c.read_seconds},
             {"write_seconds", c.write_seconds},
             {"output", o.output.empty() ? json(nullptr) : json(o.output)},
             {"notes", c.routed.notes}});
}

void PrintComputeText(const ComputeOptions& o, const ComputeOutcome& c) {
  const ComputeTotals totals = Totals(c);
  std::cout << fmt::format("routed {} subnet{} of {} with --engine {} in {}, {} in {}\n", c.figures.size(),
                           c.figures.size() == 1 ? "" : "s", PrintableText(o.topology), PrintableText(o.engine),
                           Duration(c.route_seconds), o.verify ? "verified" : "checked (--no-verify)",
                           Duration(c.check_seconds));
  // Where cable rates differ, the worst routes per capacity next to the busiest channel.
  constexpr std::string_view kRow = "  {:<20} {:<7} {:>8} {:>9} {:>7} {:>3} {:>4} {:>9}{} {:>11} {:<5}  {}\n";
  auto per_capacity = [&](std::string_view text) { return totals.rates_differ ? fmt::format(" {:>9}", text) : ""; };
  std::cout << fmt::format(kRow, "subnet", "engine", "switches", "endpoints", "lids", "vls", "hops", "max_load",
                           per_capacity("load/cap"), "unreachable", "dlf", "reason");
  for (size_t i = 0; i < c.figures.size(); ++i) {
    const SubnetRoutes& r = c.routed.routes.subnets[i];
    const Subnet& s = c.fabric.subnets()[r.subnet];
    const SubnetVerdict& v = c.verdict.subnets[r.subnet];
    std::cout << fmt::format(kRow, PrintableText(s.name), r.engine, s.switches.size(), s.endpoint_ports.size(),
                             r.num_lids() ? r.num_lids() - 1 : 0, r.num_vls, c.figures[i].max_hops,
                             c.figures[i].max_channel_load,
                             per_capacity(fmt::format("{:.1f}", c.figures[i].max_load_per_capacity)),
                             v.unreachable_pairs + v.loop_pairs + v.through_endpoint_pairs,
                             v.cdg_cycles == 0 ? "yes" : "NO", PrintableText(r.reason));
  }
  std::cout << fmt::format(
      "deadlock-free: {}; unreachable pairs: {}; max hops {}; max channel load {}{}; {} VL{}\n",
      c.loops_unchecked           ? "not checked"
      : c.verdict.deadlock_free() ? "yes"
                                  : "NO",
      totals.unreachable, totals.max_hops, totals.max_load,
      totals.rates_differ ? fmt::format(" ({:.1f} per capacity)", totals.max_load_per_capacity) : "", totals.vls,
      totals.vls == 1 ? "" : "s");
  for (const Violation& v : c.verdict.violations) std::cout << "  " << PrintableText(v.text) << "\n";
  for (const std::string& note : c.routed.notes) std::cout << "note: " << PrintableText(note) << "\n";
  if (c.wrote) std::cout << fmt::format("wrote {} in {}\n", PrintableText(o.output), Duration(c.write_seconds));
}

int RunCompute(const ComputeOptions& o) {
  auto files = ParseFileKinds(o.files);
  if (!files) return ReportError(files.error());
  std::optional<NodeNameMap> names;
  if (!o.node_name_map.empty()) {
    auto read = ReadNodeNameMap(o.node_name_map);
    if (!read) return ReportError(read.error());
    names = std::move(*read);
  }
  Progress progress("route compute", o.json ? ProgressWanted::kNo : ProgressWanted::kYes);
  progress.Stage(o.verify ? "routing and verifying" : "routing");
  auto computed =
      ComputeRoutes({.topology = o.topology,
                     .format = ParseTopoFormat(o.format).value_or(TopoFormat::kAuto),
                     .engine = o.engine,
                     .engine_options = {.max_vls = static_cast<uint8_t>(o.vls), .seed = o.seed, .one_pass = o.one_pass},
                     .root_guid_file = o.root_guid_file,
                     .threads = o.threads,
                     .output = o.output,
                     .files = *files,
                     .verify = o.verify,
                     .node_names = names ? &*names : nullptr});
  progress.Done();
  if (!computed) return ReportError(computed.error());
  AddDumpNotes(*computed, *files);
  if (o.json)
    PrintComputeJson(o, *computed);
  else
    PrintComputeText(o, *computed);
  return computed->verdict.sound() ? kExitOk : kExitFindings;
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
        std::cout << fmt::format("  0x{:016x} {:<24} {:>6} entries  blocks {}\n", s.guid, PrintableText(s.description),
                                 s.changed_entries, BlockList(s.blocks));
      else
        std::cout << fmt::format("  0x{:016x} {:<24} only in {}\n", s.guid, PrintableText(s.description),
                                 PrintableText(s.kind == SwitchLftDiff::Kind::kOnlyInA ? o.a : o.b));
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
  compute
      ->add_option(
          "--seed", co->seed,
          "Seed for engines that break ties at random and for the shuffled destination orders auto has nue try")
      ->capture_default_str();
  compute->add_flag("--one-pass", co->one_pass,
                    "Route each destination once, as OpenSM's engines do: no rerouting rounds (minhop, updn,\n"
                    "ftree), one start (nue), no shuffled orders (auto). Faster; busiest channel often heavier");
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
  AddNodeNameMapOption(*compute, co->node_name_map);
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
