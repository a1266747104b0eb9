// route verify, route stats, route trace: check, measure and follow route tables computed
// by any engine (ours or OpenSM's opensm-lfts.dump) against a topology.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "cli/node_names.h"
#include "cli/progress.h"
#include "fabric/display_text.h"
#include "fabric/topology_io.h"
#include "routing/metrics.h"
#include "routing/route_io.h"
#include "routing/trace.h"
#include "routing/verifier.h"

namespace fabricctl::cli {
namespace {

struct Inputs {
  std::string topology;
  std::string routes;
  std::string format = "auto";
  std::string node_name_map;
};

struct VerifyCmd {
  Inputs in;
  bool json = false;
  size_t max_violations = 20;
  unsigned threads = 0;
};

struct StatsCmd {
  Inputs in;
  bool json = false;
  uint64_t seed = 1;
  unsigned permutations = 100;
  unsigned threads = 0;
};

struct TraceCmd {
  Inputs in;
  std::string source, destination;
  bool json = false;
};

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Reads the topology and the routes; on failure prints the error and returns nullopt.
struct Loaded {
  Fabric fabric;
  RouteSet routes;
};
std::optional<Loaded> Load(const Inputs& in) {
  auto format = in.format == "auto" ? std::optional(TopoFormat::kAuto) : ParseTopoFormat(in.format);
  if (!format) {
    ReportError(
        Error{.message = fmt::format("unknown topology format '{}' (auto, ibnetdiscover, json, ibsim)", in.format)});
    return std::nullopt;
  }
  auto fabric = ReadTopologyFile(in.topology, *format);
  if (!fabric) {
    ReportError(fabric.error());
    return std::nullopt;
  }
  auto routes = ReadRoutes(*fabric, in.routes);
  if (!routes) {
    ReportError(routes.error());
    return std::nullopt;
  }
  // Renamed after the routes are read: route files name switches as the topology file does.
  auto named = ApplyNodeNameMap(std::move(*fabric), in.node_name_map);
  if (!named) {
    ReportError(named.error());
    return std::nullopt;
  }
  return Loaded{std::move(*named), std::move(*routes)};
}

void AddInputs(CLI::App* cmd, Inputs& in) {
  cmd->add_option("TOPO", in.topology, "Topology file (ibnetdiscover, ibsim or JSON)")->required();
  cmd->add_option("ROUTES", in.routes, "Route directory written by `route compute`, or an opensm-lfts.dump")
      ->required();
  cmd->add_option("--format", in.format, "Topology format: auto, ibnetdiscover, json, ibsim")->capture_default_str();
  AddNodeNameMapOption(*cmd, in.node_name_map);
}

nlohmann::json CycleJson(const Fabric& f, const std::vector<CycleChannel>& cycle) {
  nlohmann::json out = nlohmann::json::array();
  for (const CycleChannel& c : cycle) {
    const Port& p = f.port(c.from);
    const Port& q = f.port(c.to);
    out.push_back({{"switch", f.description(p.node)},
                   {"port", p.number},
                   {"to", f.description(q.node)},
                   {"to_port", q.number},
                   {"vl", c.vl}});
  }
  return out;
}

nlohmann::json VerifyJson(const Fabric& f, const VerifyReport& rep, double seconds) {
  nlohmann::json j;
  j["sound"] = rep.sound();
  j["deadlock_free"] = rep.deadlock_free();
  j["pairs"] = rep.pairs;
  j["unreachable_pairs"] = rep.unreachable_pairs;
  j["loop_pairs"] = rep.loop_pairs;
  j["through_endpoint_pairs"] = rep.through_endpoint_pairs;
  j["dead_port_entries"] = rep.dead_port_entries;
  j["bad_vl_pairs"] = rep.bad_vl_pairs;
  j["cdg_cycles"] = rep.cdg_cycles;
  j["unrouted_subnets"] = rep.unrouted_subnets;
  j["violation_count"] = rep.violation_count;
  j["seconds"] = seconds;
  j["subnets"] = nlohmann::json::array();
  for (const SubnetVerdict& v : rep.subnets)
    j["subnets"].push_back({{"name", f.subnets()[v.subnet].name},
                            {"routed", v.routed},
                            {"pairs", v.pairs},
                            {"unreachable_pairs", v.unreachable_pairs},
                            {"loop_pairs", v.loop_pairs},
                            {"through_endpoint_pairs", v.through_endpoint_pairs},
                            {"dead_port_entries", v.dead_port_entries},
                            {"bad_vl_pairs", v.bad_vl_pairs},
                            {"cdg_channels", v.cdg_channels},
                            {"cdg_dependencies", v.cdg_dependencies},
                            {"cdg_cycles", v.cdg_cycles},
                            {"vls_used", v.vls_used}});
  j["violations"] = nlohmann::json::array();
  for (const Violation& v : rep.violations) {
    nlohmann::json x{{"kind", ToString(v.kind)}, {"subnet", f.subnets()[v.subnet].name}, {"text", v.text}};
    if (v.destination) x["destination_lid"] = v.destination;
    if (v.source != kNone) x["source"] = f.PortName(v.source);
    if (!v.cycle.empty()) x["cycle"] = CycleJson(f, v.cycle);
    j["violations"].push_back(std::move(x));
  }
  return j;
}

// An LFT dump holds no SL or SL->VL data, so routes of a multi-VL engine read from a bare
// dump are checked on one VL and their layers look like credit loops: say so.
void NoteMissingVlData(const VerifyReport& rep, const std::string& routes) {
  std::error_code ec;
  const std::filesystem::path in(routes);
  const bool has_vl_data = std::filesystem::is_directory(in, ec) && (std::filesystem::exists(in / "routes.json", ec) ||
                                                                     std::filesystem::exists(in / "sl-table.txt", ec));
  bool cycles = false;
  for (const SubnetVerdict& v : rep.subnets) cycles |= v.cdg_cycles > 0;
  if (cycles && !has_vl_data)
    fmt::print(
        "note: {} carries no SL/VL tables, so every route was checked on VL 0; if the routes use several VLs "
        "(dfsssp, torus, escape), put their sl-table.txt next to the dump in a directory\n",
        PrintableText(routes));
}

void PrintVerifyText(const Fabric& f, const VerifyReport& rep, double seconds, const std::string& routes) {
  for (const SubnetVerdict& v : rep.subnets) {
    const Subnet& sn = f.subnets()[v.subnet];
    if (!v.routed) {
      fmt::print("{}: not routed\n", PrintableText(sn.name));
      continue;
    }
    fmt::print(
        "{}: {} pairs, {} unreachable, {} in loops, {} through endpoints, {} dead entries; "
        "CDG {} channels, {} dependencies, {} cycles; {} VL{} used\n",
        PrintableText(sn.name), v.pairs, v.unreachable_pairs, v.loop_pairs, v.through_endpoint_pairs,
        v.dead_port_entries, v.cdg_channels, v.cdg_dependencies, v.cdg_cycles, v.vls_used, v.vls_used == 1 ? "" : "s");
  }
  for (const Violation& v : rep.violations) fmt::print("{}: {}\n", ToString(v.kind), PrintableText(v.text));
  if (rep.violation_count > rep.violations.size())
    fmt::print("... {} more (--max-violations)\n", rep.violation_count - rep.violations.size());
  if (rep.sound())
    fmt::print("sound: every pair reachable, no loops, deadlock-free ({})\n", Duration(seconds));
  else
    fmt::print("NOT sound: {} violation{} ({})\n", rep.violation_count, rep.violation_count == 1 ? "" : "s",
               Duration(seconds));
  NoteMissingVlData(rep, routes);
}

int RunVerify(const VerifyCmd& c) {
  Progress progress("route verify", c.json ? ProgressWanted::kNo : ProgressWanted::kYes);
  progress.Stage("reading the topology and the routes");
  auto loaded = Load(c.in);
  if (!loaded) return kExitError;
  const Fabric& f = loaded->fabric;
  const size_t subnets = loaded->routes.subnets.size();
  progress.Stage(fmt::format("verifying {} subnet{}", subnets, subnets == 1 ? "" : "s"));
  auto t0 = std::chrono::steady_clock::now();
  auto rep = Verify(f, loaded->routes, {.max_violations = c.max_violations, .threads = c.threads});
  double seconds = Since(t0);
  progress.Done();
  if (!rep) return ReportError(rep.error());
  if (c.json)
    PrintJson(VerifyJson(f, *rep, seconds));
  else
    PrintVerifyText(f, *rep, seconds, c.in.routes);
  return rep->sound() ? kExitOk : kExitFindings;
}

int RunStats(const StatsCmd& c) {
  Progress progress("route stats", c.json ? ProgressWanted::kNo : ProgressWanted::kYes);
  progress.Stage("reading the topology and the routes");
  auto loaded = Load(c.in);
  if (!loaded) return kExitError;
  const Fabric& f = loaded->fabric;
  progress.Stage(fmt::format("measuring {} permutations", c.permutations));
  auto t0 = std::chrono::steady_clock::now();
  auto m = Measure(f, loaded->routes, {.seed = c.seed, .permutations = c.permutations, .threads = c.threads});
  if (!m) return ReportError(m.error());
  double seconds = Since(t0);
  progress.Stage("verifying");
  auto rep = Verify(f, loaded->routes, {.max_violations = 0, .threads = c.threads});
  if (!rep) return ReportError(rep.error());
  progress.Done();
  auto verdict_of = [&](SubnetId s) -> const SubnetVerdict& { return rep->subnets[s]; };
  if (c.json) {
    nlohmann::json j;
    j["max_hops"] = m->max_hops;
    j["max_channel_load"] = m->max_channel_load;
    j["max_load_per_capacity"] = m->max_load_per_capacity;
    j["rates_differ"] = m->rates_differ;
    j["deadlock_free"] = rep->deadlock_free();
    j["unreachable_pairs"] = rep->unreachable_pairs + rep->loop_pairs + rep->through_endpoint_pairs;
    j["seed"] = c.seed;
    j["permutations"] = c.permutations;
    j["seconds"] = seconds;
    j["subnets"] = nlohmann::json::array();
    for (const SubnetMetrics& s : m->subnets) {
      const SubnetVerdict& v = verdict_of(s.subnet);
      j["subnets"].push_back(
          {{"name", f.subnets()[s.subnet].name},
           {"pairs", s.pairs},
           {"hops", {{"min", s.min_hops}, {"avg", s.avg_hops}, {"max", s.max_hops}}},
           {"channel_load",
            {{"channels", s.channels},
             {"max", s.max_channel_load},
             {"avg", s.avg_channel_load},
             {"stddev", s.stddev_channel_load},
             {"lower_bound", s.channel_load_lower_bound},
             {"max_per_capacity", s.max_load_per_capacity},
             {"lower_bound_per_capacity", s.load_per_capacity_lower_bound},
             {"step_bound", s.channel_load_step_bound},
             {"step_bound_per_capacity", s.load_per_capacity_step_bound},
             {"rates_differ", s.rates_differ}}},
           {"parallel_links", {{"groups", s.parallel_groups}, {"max_spread", s.parallel_max_spread}}},
           {"vls", s.num_vls},
           {"vls_used", v.vls_used},
           {"deadlock_free", v.cdg_cycles == 0},
           {"effective_bisection_bandwidth", s.effective_bisection_bandwidth}});
    }
    PrintJson(j);
    return kExitOk;
  }
  for (const SubnetMetrics& s : m->subnets) {
    const SubnetVerdict& v = verdict_of(s.subnet);
    fmt::print("{}\n", PrintableText(f.subnets()[s.subnet].name));
    fmt::print("  pairs            {}\n", s.pairs);
    fmt::print("  hops             min {}  avg {:.3f}  max {}\n", s.min_hops, s.avg_hops, s.max_hops);
    fmt::print("  channel load     max {}  avg {:.2f}  stddev {:.2f}  lower bound {}  ({} switch-to-switch channels)\n",
               s.max_channel_load, s.avg_channel_load, s.stddev_channel_load, s.channel_load_lower_bound, s.channels);
    if (s.channel_load_step_bound > s.channel_load_lower_bound)
      fmt::print("                   with whole destinations per port: {}\n", s.channel_load_step_bound);
    if (s.rates_differ)
      fmt::print("  per capacity     max {:.1f}  lower bound {:.1f}  (routes / cable's share of the top rate)\n",
                 s.max_load_per_capacity, s.load_per_capacity_lower_bound);
    if (s.rates_differ && s.load_per_capacity_step_bound > s.load_per_capacity_lower_bound)
      fmt::print("                   with whole destinations per port: {:.1f}\n", s.load_per_capacity_step_bound);
    fmt::print("  parallel cables  {} groups, worst spread {}\n", s.parallel_groups, s.parallel_max_spread);
    fmt::print("  VLs              {} declared, {} used, {}\n", s.num_vls, v.vls_used,
               v.cdg_cycles == 0 ? "deadlock-free" : "CREDIT LOOPS (see route verify)");
    if (s.permutations)
      fmt::print("  eff. bisection   {:.3f} ({} permutations, seed {})\n", s.effective_bisection_bandwidth,
                 s.permutations, c.seed);
  }
  return kExitOk;
}

int RunTrace(const TraceCmd& c) {
  auto loaded = Load(c.in);
  if (!loaded) return kExitError;
  const Fabric& f = loaded->fabric;
  const RouteSet& rs = loaded->routes;
  auto src = ResolvePort(f, rs, c.source);
  if (!src) return ReportError(src.error());
  auto dst = ResolvePort(f, rs, c.destination);
  if (!dst) return ReportError(dst.error());
  Lid dlid = *dst < rs.port_lid.size() ? rs.port_lid[*dst] : 0;
  auto t = TraceRoute(f, rs, *src, dlid);
  if (!t) return ReportError(t.error());
  if (c.json) {
    nlohmann::json hops = nlohmann::json::array();
    for (const TraceHop& h : t->hops)
      hops.push_back({{"from", f.description(f.port(h.from).node)},
                      {"from_port", f.port(h.from).number},
                      {"to", f.description(f.port(h.to).node)},
                      {"to_port", f.port(h.to).number},
                      {"vl", h.vl}});
    PrintJson({{"source", f.PortName(t->source)},
               {"destination", f.PortName(t->destination_port)},
               {"destination_lid", t->destination},
               {"subnet", f.subnets()[t->subnet].name},
               {"sl", t->sl},
               {"hops", hops},
               {"end", ToString(t->end)},
               {"problem", t->problem}});
  } else {
    fmt::print("From {} to {} (LID {}), subnet {}, SL {}\n", PrintableText(f.PortName(t->source)),
               PrintableText(f.PortName(t->destination_port)), t->destination,
               PrintableText(f.subnets()[t->subnet].name), t->sl);
    for (size_t i = 0; i < t->hops.size(); ++i) {
      const TraceHop& h = t->hops[i];
      fmt::print("  [{}] {} -> {}  VL {}\n", i + 1, PrintableText(f.PortName(h.from)), PrintableText(f.PortName(h.to)),
                 h.vl);
    }
    if (t->end == TraceEnd::kDelivered)
      fmt::print("delivered in {} hop{}\n", t->hops.size(), t->hops.size() == 1 ? "" : "s");
    else
      fmt::print("broken ({}): {}\n", ToString(t->end), PrintableText(t->problem));
  }
  return t->end == TraceEnd::kDelivered ? kExitOk : kExitFindings;
}

}  // namespace

void AddRouteChecks(CLI::App& route, Runner& run) {
  auto verify = std::make_shared<VerifyCmd>();
  CLI::App* v = route.add_subcommand(
      "verify",
      "Check route tables: every endpoint pair reachable, no loops, no path through an endpoint, no entry to a\n"
      "port without a cable, and an acyclic channel dependency graph per VL (no credit loop).\n"
      "Exit 0 sound, 1 violations (a credit loop is printed as switch:port channels), 2 error.");
  AddInputs(v, verify->in);
  v->add_flag("--json", verify->json, "Machine-readable report");
  v->add_option("--max-violations", verify->max_violations, "Violations to list in detail (all are counted)")
      ->capture_default_str();
  v->add_option("--threads", verify->threads, "Worker threads (0: every core)")->capture_default_str();
  v->callback([&run, verify] { run = [verify] { return RunVerify(*verify); }; });

  auto stats = std::make_shared<StatsCmd>();
  CLI::App* s = route.add_subcommand(
      "stats",
      "Measure route quality: hops, routes per switch-to-switch channel (edge forwarding index) with a lower\n"
      "bound, balance over parallel cables, VLs used, effective bisection bandwidth over random permutations.");
  AddInputs(s, stats->in);
  s->add_flag("--json", stats->json, "Machine-readable report");
  s->add_option("--seed", stats->seed, "Seed of the random permutations")->capture_default_str();
  s->add_option("--permutations", stats->permutations, "Random permutations for the bisection estimate (0: skip)")
      ->capture_default_str();
  s->add_option("--threads", stats->threads, "Worker threads (0: every core)")->capture_default_str();
  s->callback([&run, stats] { run = [stats] { return RunStats(*stats); }; });

  auto trace = std::make_shared<TraceCmd>();
  CLI::App* t = route.add_subcommand(
      "trace",
      "Follow one path hop by hop with ports and VLs. SRC and DST are node descriptions, GUIDs (0x...), LIDs,\n"
      "or explicit lid:N / guid:0x... . Exit 0 delivered, 1 broken path, 2 error.");
  AddInputs(t, trace->in);
  t->add_option("SRC", trace->source, "Source endpoint")->required();
  t->add_option("DST", trace->destination, "Destination")->required();
  t->add_flag("--json", trace->json, "Machine-readable path");
  t->callback([&run, trace] { run = [trace] { return RunTrace(*trace); }; });
}

}  // namespace fabricctl::cli
