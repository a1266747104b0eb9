#include "tools/bench/repair_bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "fabric/file_io.h"
#include "fabric/generator.h"
#include "routing/fabric_health.h"
#include "routing/repair.h"
#include "routing/route_fabric.h"
#include "routing/transition.h"
#include "routing/verifier.h"

namespace fabricctl::bench {
namespace {

struct Row {
  std::string what;
  double repair_ms = 0;
  double repair_cpu_ms = 0;
  RepairResult result;
  double plan_ms = 0;
  TransitionPlan plan;
  bool sound = false;
};

size_t LargestSubnet(const Fabric& f) {
  size_t best = 0;
  for (size_t i = 0; i < f.subnets().size(); ++i)
    if (f.subnets()[i].endpoint_ports.size() > f.subnets()[best].endpoint_ports.size()) best = i;
  return best;
}

std::vector<LinkId> SwitchLinksOf(const Fabric& f, SubnetId subnet) {
  std::vector<LinkId> out;
  for (LinkId l = 0; l < f.num_links(); ++l) {
    const Link& link = f.link(l);
    if (f.is_switch(f.port(link.a).node) && f.is_switch(f.port(link.b).node) && f.subnet_of(link.a) == subnet)
      out.push_back(l);
  }
  return out;
}

// Sound after the change: for a failed link the verifier on the fabric without it; for a
// failed switch (which would split off as a subnet of its own) the verifier on the whole
// fabric plus no live switch forwarding into the dead one.
bool CheckSound(const Fabric& f, const FabricHealth& health, const RouteSet& routes, NodeId dead_switch) {
  if (dead_switch == kNone) {
    auto alive = WithoutDown(f, health);
    if (!alive) return false;
    auto report = Verify(*alive, routes, {.threads = 2});
    return report && report->sound();
  }
  auto report = Verify(f, routes, {.threads = 2});
  if (!report || !report->sound()) return false;
  for (const SubnetRoutes& r : routes.subnets)
    for (size_t s = 0; s < r.switches.size(); ++s)
      for (const Adjacency& a : f.neighbors(r.switches[s])) {
        if (a.peer_node != dead_switch || r.switches[s] == dead_switch) continue;
        const uint8_t port = f.port(a.local).number;
        for (Lid lid = 1; lid < r.num_lids(); ++lid) {
          const PortId owner = r.lid_owner[lid];
          if (owner == kNone || f.port(owner).node == dead_switch) continue;
          const PortId peer = f.port(owner).peer;
          if (!f.is_switch(f.port(owner).node) && peer != kNone && f.port(peer).node == dead_switch) continue;
          if (r.out_port(s, lid) == port) return false;
        }
      }
  return true;
}

// Repairs into `scratch` (one result reused across rows, as a service would keep it); the
// row keeps the figures.
Row RunOne(const Fabric& f, const RouteRepairer& repairer, const RouteSet& routes, size_t subnet, std::string what,
           const FabricHealth& health, NodeId dead_switch, RepairResult& scratch) {
  Row row{.what = std::move(what)};
  auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = CpuSeconds();
  auto repaired = repairer.Repair(health, scratch);
  row.repair_ms = Seconds(t0) * 1e3;
  row.repair_cpu_ms = (CpuSeconds() - cpu0) * 1e3;
  if (!repaired) return row;
  auto alive = WithoutDown(f, health);
  if (alive) {
    t0 = std::chrono::steady_clock::now();
    auto plan = PlanTransition(*alive, routes.subnets[subnet], scratch.routes.subnets[subnet]);
    row.plan_ms = Seconds(t0) * 1e3;
    if (plan) row.plan = std::move(*plan);
  }
  row.sound = CheckSound(f, health, scratch.routes, dead_switch);
  RouteSet tables = std::move(scratch.routes);
  row.result = scratch;
  scratch.routes = std::move(tables);
  return row;
}

std::string FormatRow(const Row& r) {
  const RepairResult& x = r.result;
  std::string steps = r.plan.steps.empty() ? "-" : fmt::format("{}", r.plan.steps.size());
  return fmt::format(
      "| {} | {:.2f} | {:.1f} | {} | {} | {} | {:.2f} | {} ({}) | {:.0f} -> {:.0f} | {} | {} | {} | {:.0f} |\n", r.what,
      r.repair_ms, r.repair_cpu_ms, x.entries_changed, x.blocks_changed, x.blocks_minimum,
      x.blocks_minimum ? double(x.blocks_changed) / double(x.blocks_minimum) : 1.0, x.turn_lids, x.turns_refused,
      x.load_before, x.load_after, x.full_reroute_advised ? "yes" : "no", r.sound ? "sound" : "NOT SOUND", steps,
      r.plan_ms);
}

Result<void> WriteSection(const std::string& text) {
  const std::string path = "docs/performance.md";
  auto doc = ReadTextFile(path);
  if (!doc) return std::unexpected(doc.error());
  const std::string begin = "<!-- route-repair:begin -->\n", end = "<!-- route-repair:end -->";
  size_t b = doc->find(begin), e = doc->find(end);
  if (b == std::string::npos || e == std::string::npos || e < b)
    return MakeError(path + " has no route-repair markers");
  return WriteFileAtomic(path, doc->substr(0, b + begin.size()) + text + doc->substr(e));
}

struct Summary {
  std::vector<double> link_ms, link_cpu_ms;
  std::map<std::string, double> worst_ratio;  // by failure kind
  uint64_t repairs = 0;
  uint64_t unsound = 0;
};

// The cables to fail: a seeded sample of `count` of the subnet's switch-to-switch cables.
std::vector<LinkId> SampledLinks(const Fabric& f, SubnetId id, size_t count) {
  std::vector<LinkId> links = SwitchLinksOf(f, id);
  std::mt19937_64 rng(1);
  std::shuffle(links.begin(), links.end(), rng);
  links.resize(std::min<size_t>(links.size(), count));
  return links;
}

// What was routed and prepared, and the table's header.
std::string TableHead(const Fabric& f, const RouteSet& routes, size_t subnet, bool quick, double prepare_s,
                      double prepare_cpu_s) {
  const Subnet& sn = f.subnets()[subnet];
  size_t endpoint_ports = 0;
  for (const Subnet& s : f.subnets()) endpoint_ports += s.endpoint_ports.size();
  std::string table = fmt::format(
      "Fabric: scalex-cluster{} ({} endpoint ports in {} subnets), routed by `--engine auto` ({} on subnet {}: "
      "{} endpoints, {} switches). Prepare (orientation check, channel loads and dependency graph of every subnet, "
      "once per set "
      "of tables): {:.0f} ms (CPU {:.0f} ms).\n\n",
      quick ? " super_nodes=4" : "", endpoint_ports, f.subnets().size(), routes.subnets[subnet].engine, sn.name,
      sn.endpoint_ports.size(), sn.switches.size(), prepare_s * 1e3, prepare_cpu_s * 1e3);
  table +=
      "| failure | repair ms | CPU ms | entries | blocks | minimum blocks | ratio | turn LIDs (refused) | busiest "
      "channel "
      "| full reroute advised | verified | transition steps | plan ms "
      "|\n|---|---|---|---|---|---|---|---|---|---|---|---|"
      "---|\n";
  return table;
}

// Prints a row as it comes and adds it to the table and the summary.
void Record(const Row& row, std::string& table, Summary& sum) {
  std::string line = FormatRow(row);
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
  table += line;
  if (row.what.starts_with("link")) sum.link_ms.push_back(row.repair_ms), sum.link_cpu_ms.push_back(row.repair_cpu_ms);
  if (row.result.blocks_minimum)
    sum.worst_ratio[row.what] =
        std::max(sum.worst_ratio[row.what], double(row.result.blocks_changed) / double(row.result.blocks_minimum));
  sum.unsound += !row.sound;
  ++sum.repairs;
}

std::string SummaryText(Summary& sum) {
  std::string text;
  std::sort(sum.link_ms.begin(), sum.link_ms.end());
  std::sort(sum.link_cpu_ms.begin(), sum.link_cpu_ms.end());
  if (!sum.link_ms.empty())
    text += fmt::format(
        "\nSingle cables: repair median {:.2f} ms, worst {:.2f} ms (CPU: median {:.1f} ms, worst {:.1f} ms).",
        sum.link_ms[sum.link_ms.size() / 2], sum.link_ms.back(), sum.link_cpu_ms[sum.link_cpu_ms.size() / 2],
        sum.link_cpu_ms.back());
  text += " Worst blocks ratio:";
  for (const auto& [what, ratio] : sum.worst_ratio) text += fmt::format(" {} {:.2f};", what, ratio);
  text += fmt::format(" {} of {} repairs not sound.\n", sum.unsound, sum.repairs);
  return text;
}

// The first switch of `tier` in the subnet, kNone when it has none.
NodeId FirstSwitchOfTier(const Fabric& f, const Subnet& sn, int32_t tier) {
  for (NodeId n : sn.switches)
    if (f.node(n).labels.tier == tier) return n;
  return kNone;
}

}  // namespace

int RunRepairBench(const Options& opts) {
  GeneratorParams params;
  if (opts.quick) params = {{"super_nodes", "4"}};
  auto f = Generate("scalex-cluster", params);
  auto sel = ParseEngineSelection("auto");
  if (!f || !sel) return 2;
  auto routed = RouteFabric(*f, *sel, {.engine = {.max_vls = 8}, .threads = 2});
  if (!routed) {
    std::fprintf(stderr, "repair: %s\n", routed.error().Format().c_str());
    return 2;
  }
  const RouteSet& routes = routed->routes;
  auto t0 = std::chrono::steady_clock::now();
  const double prepare_cpu0 = CpuSeconds();
  auto repairer = RouteRepairer::Prepare(*f, routes);
  const double prepare_s = Seconds(t0), prepare_cpu_s = CpuSeconds() - prepare_cpu0;
  if (!repairer) {
    std::fprintf(stderr, "repair: %s\n", repairer.error().Format().c_str());
    return 2;
  }
  const size_t subnet = LargestSubnet(*f);
  const Subnet& sn = f->subnets()[subnet];
  std::string table = TableHead(*f, routes, subnet, opts.quick, prepare_s, prepare_cpu_s);
  Summary sum;
  // Primed once with the unchanged health, as a service would at start: later repairs copy
  // the tables into memory already in use.
  RepairResult scratch;
  if (!repairer->Repair(FabricHealth::AllUp(*f), scratch)) return 2;
  for (LinkId l : SampledLinks(*f, sn.id, opts.quick ? 5 : 20)) {
    FabricHealth health = FabricHealth::AllUp(*f);
    health.link_down[l] = 1;
    const int32_t tier =
        std::min(f->node(f->port(f->link(l).a).node).labels.tier, f->node(f->port(f->link(l).b).node).labels.tier);
    Record(
        RunOne(*f, *repairer, routes, subnet, fmt::format("link, tier {}-{}", tier, tier + 1), health, kNone, scratch),
        table, sum);
  }
  for (int32_t tier : {2, 3}) {
    const NodeId dead = FirstSwitchOfTier(*f, sn, tier);
    if (dead == kNone) continue;
    FabricHealth health = FabricHealth::AllUp(*f);
    health.node_down[dead] = 1;
    Record(RunOne(*f, *repairer, routes, subnet, fmt::format("switch, tier {}", tier), health, dead, scratch), table,
           sum);
  }
  table += SummaryText(sum);
  std::printf("%s", table.c_str());
  if (opts.write) {
    if (auto w = WriteSection(table); !w) {
      std::fprintf(stderr, "repair: %s\n", w.error().Format().c_str());
      return 2;
    }
    std::printf("wrote docs/performance.md\n");
  }
  return sum.unsound ? 1 : 0;
}

}  // namespace fabricctl::bench
