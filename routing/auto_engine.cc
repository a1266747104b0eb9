#include "routing/auto_engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <span>
#include <tuple>
#include <vector>

#include "fabric/elapsed.h"
#include "routing/channel_capacity.h"
#include "routing/cut_bound.h"
#include "routing/dfsssp.h"
#include "routing/registry.h"
#include "routing/route_fabric.h"
#include "routing/route_summary.h"

namespace fabricctl {
namespace {

// By class, big subnets go to the first engine of a chain that accepts them: fat trees to
// ftree, tori and meshes to torus, irregular fabrics to nue while its work stays within
// kNueWork (its tables carry a fraction of updn's or escape's busiest channel there: on a
// 2,000-switch random regular graph with 2,000 endpoints, 6.4e7 steps, a third of updn's
// or less, in 26 s on two cores), else to updn (one VL) or escape (several).
constexpr std::string_view kRegularClasses[] = {"ftree", "torus"};

// Work of the dearest compared engines (a shortest-path search per destination over every
// channel), in channel x destination steps. Below this every candidate runs and the whole
// comparison takes about a second on one core.
constexpr double kCompareWork = 1e7;
constexpr double kNueWork = 1e8;

double CompareWork(const Fabric& fabric, const Subnet& subnet) {
  double channels = 0;
  for (NodeId s : subnet.switches)
    for (const Adjacency& a : fabric.neighbors(s)) channels += fabric.is_switch(a.peer_node) ? 1 : 0;
  return channels * double(subnet.endpoint_ports.size());
}

// nue's table depends on the order in which its destinations come (routing/nue.cc): from
// shuffled orders, the lightest of a dozen routings on one VL was 5-20% lighter than the
// first on small dragonflies, random regular graphs, tori and a fat tree with failed
// switches. Each routing costs about as much as the first (0.25-0.5 us per work unit on one
// core), so nue on one VL gets as many as fit in this much work, at most kMostNueRestarts;
// on several VLs a routing costs 2-3 times as much, and gets none.
constexpr double kNueRestartWork = 1.5e6;
constexpr unsigned kMostNueRestarts = 15;

unsigned NueRestarts(double work) {
  return work * (kMostNueRestarts + 1) <= kNueRestartWork ? kMostNueRestarts
                                                          : static_cast<unsigned>(kNueRestartWork / work);
}

// The cut bound of `route stats` (routing/cut_bound.h): the routes that must leave a switch
// or a pod over its switch cables, spread evenly. A table that meets it cannot be beaten, so
// the comparison stops there.
constexpr double kNearBound = 1.02;

double CutBound(const Fabric& fabric, const Subnet& subnet) {
  const auto num_switches = static_cast<uint32_t>(subnet.switches.size());
  std::vector<uint32_t> index(fabric.num_nodes(), kNone);
  std::vector<uint64_t> local(num_switches, 0);
  for (uint32_t s = 0; s < num_switches; ++s) {
    index[subnet.switches[s]] = s;
    for (const Adjacency& a : fabric.neighbors(subnet.switches[s])) local[s] += !fabric.is_switch(a.peer_node);
  }
  auto ends = [&](uint32_t s) { return std::pair<uint64_t, uint64_t>(local[s], local[s]); };
  auto channels = [&](uint32_t s, const auto& visit) {
    for (const Adjacency& a : fabric.neighbors(subnet.switches[s]))  // a switch's peers share its subnet
      if (fabric.is_switch(a.peer_node) && index[a.peer_node] != kNone) visit(index[a.peer_node], 1.0);
  };
  const uint64_t endpoints = subnet.endpoint_ports.size();
  return double(SubnetCutBounds(CutSets::kSwitchesAndPods, num_switches, endpoints, endpoints, ends, channels).routes);
}

// How auto ranks tables: every pair reachable first, then the worst load per capacity (see
// kVlWorth for tables on different VL counts), then fewer VLs, then shorter paths.
struct Score {
  uint64_t unreachable = 0;
  double load = 0;
  unsigned vls = 1;
  double avg_hops = 0;
  auto key() const { return std::make_tuple(unreachable, load, vls, avg_hops); }
};

// A table on more VLs must be lighter by more than this factor to beat one on fewer: VLs
// are a budget shared with QoS, and a 2% lighter busiest channel does not pay for them.
constexpr double kVlWorth = 1.02;

bool Better(const Score& a, const Score& b) {
  if (a.unreachable != b.unreachable) return a.unreachable < b.unreachable;
  if (a.vls > b.vls && a.load * kVlWorth >= b.load) return false;
  if (a.vls < b.vls && b.load * kVlWorth >= a.load) return true;
  return a.key() < b.key();
}

// An engine auto may run; `one_vl` runs it on one VL whatever --vls allows. `layered`: on
// no more VLs than the layering of load-balanced shortest paths needed (dfsssp, when it ran
// before and routed them). nue spreads destinations over every VL it is given, so where
// shortest paths need 3 VLs it would take all 8 for a table a few percent lighter than
// dfsssp's, and VLs are a budget shared with QoS. Where dfsssp fell back to lowest-port paths
// (balanced ones needed more VLs than --vls), its VL count is no guide and nue gets every VL.
// `after_dfsssp_fails`: run only when dfsssp did not route. Wherever it routes, escape
// layers the same shortest paths (on one VL it may give Up*/Down* trees instead, which updn
// covers).
// `only_restarted`: run only where it gets restarts (NueRestarts) and no earlier attempt of
// the engine ran with the same options: nue on one VL beside its several-VL run, whose own
// one-VL routing has no restarts, so that the restarts do not leave auto heavier on more VLs
// than on one.
struct Candidate {
  std::string_view engine;
  bool one_vl = false;
  bool layered = false;
  bool after_dfsssp_fails = false;
  bool only_restarted = false;
};

constexpr Candidate kComparedCandidates[] = {{"ftree"},
                                             {"torus"},
                                             {"updn"},
                                             {"dfsssp"},
                                             {.engine = "nue", .layered = true},
                                             {.engine = "nue", .one_vl = true, .only_restarted = true},
                                             {.engine = "escape", .after_dfsssp_fails = true}};
// Irregular subnets past the comparison, with several VLs and nue affordable: nue on one
// VL (its several-VL mode takes minutes there) against escape and updn.
constexpr Candidate kIrregularSeveralVls[] = {{"nue", true}, {"escape"}, {"updn"}};

struct Attempt {
  std::string_view engine;
  std::optional<Score> score;  // nullopt: declined or failed
  std::string note;            // why declined, or the figures
  double seconds = 0;
};

std::string Figures(const Score& s) {
  return fmt::format("busiest channel {:.0f}, {} VL{}, {:.2f} hops{}", s.load, s.vls, s.vls == 1 ? "" : "s", s.avg_hops,
                     s.unreachable ? fmt::format(", {} pairs unreachable", s.unreachable) : "");
}

// A candidate's options: on one VL, or on at most `layered_vls` VLs when it is `layered`
// (0: no such limit); nue on one VL with restarts on small subnets.
EngineOptions CandidateOptions(Candidate candidate, const RouteRequest& given, unsigned layered_vls) {
  EngineOptions options = given.options;
  if (candidate.one_vl) options.max_vls = 1;
  if (candidate.layered && layered_vls)
    options.max_vls = static_cast<uint8_t>(std::min<unsigned>(options.max_vls, layered_vls));
  if (candidate.engine == "nue" && options.max_vls == 1 && !options.one_pass)
    options.restarts = NueRestarts(CompareWork(given.fabric, given.subnet));
  return options;
}

// Runs one engine with `options` into `out` (reset first) and scores it; a table that is
// not deadlock-free on one VL is refused even though the engine promises otherwise.
Attempt Try(Candidate candidate, const RouteRequest& given, const EngineOptions& options, SubnetRoutes& out) {
  Attempt attempt{.engine = candidate.engine};
  const EngineInfo* info = FindEngine(candidate.engine);
  auto start = std::chrono::steady_clock::now();
  const RouteRequest request{
      .fabric = given.fabric, .subnet = given.subnet, .port_lid = given.port_lid, .options = options};
  ResetSubnetRoutes(request.fabric, out);
  Outcome o = info->make()->Route(request, out);
  if (o.status != EngineStatus::kOk) {
    attempt.note = fmt::format("{} {}", o.status == EngineStatus::kNotApplicable ? "declined:" : "failed:", o.reason);
  } else {
    RouteSummary summary = SummarizeRoutes(request.fabric, request.subnet, out, request.options.threads);
    if (summary.deadlock_free == false) {
      attempt.note = "refused: its table has a credit loop";
    } else {
      attempt.score = Score{.unreachable = summary.unreachable_pairs,
                            .load = summary.max_load_per_capacity,
                            .vls = out.num_vls,
                            .avg_hops = summary.avg_hops};
      attempt.note = Figures(*attempt.score);
    }
  }
  attempt.seconds = SecondsSince(start);
  return attempt;
}

// Every candidate, the best kept.
Outcome RouteByComparison(const RouteRequest& request, SubnetRoutes& out, std::span<const Candidate> candidates) {
  std::vector<Attempt> attempts;
  std::optional<SubnetRoutes> best;
  size_t best_index = 0;
  unsigned layered_vls = 0;  // the VLs dfsssp's layering of balanced paths needed, once it routed them
  bool dfsssp_routed = false;
  std::vector<std::pair<std::string_view, unsigned>> tried;  // engine, VL budget
  const double bound =
      ChannelCapacity(request.fabric, request.subnet).uniform() ? CutBound(request.fabric, request.subnet) : 0;
  for (const Candidate& candidate : candidates) {
    if (!FindEngine(candidate.engine)) continue;  // an engine this build does not have
    if (best && attempts[best_index].score->unreachable == 0 && attempts[best_index].score->vls == 1 &&
        attempts[best_index].score->load <= bound * kNearBound)
      break;  // at (or within 2% of) the cut bound on one VL: no other engine can gain more
    if (candidate.after_dfsssp_fails && dfsssp_routed) {
      attempts.push_back({.engine = candidate.engine, .note = "not run: it gives dfsssp's tables where dfsssp routes"});
      continue;
    }
    const EngineOptions options = CandidateOptions(candidate, request, layered_vls);
    if (candidate.only_restarted && (options.restarts == 0 || std::ranges::any_of(tried, [&](const auto& t) {
                                       return t.first == candidate.engine && t.second == options.max_vls;
                                     })))
      continue;
    tried.emplace_back(candidate.engine, options.max_vls);
    Attempt attempt = Try(candidate, request, options, out);
    if (candidate.engine == "dfsssp" && attempt.score) {
      dfsssp_routed = true;
      if (out.reason.find(kDfssspLowestPortReason) == std::string::npos) layered_vls = attempt.score->vls;
    }
    if (attempt.score && (!best || Better(*attempt.score, *attempts[best_index].score))) {
      best_index = attempts.size();
      std::string detail = out.reason;
      best = std::move(out);
      best->reason = std::move(detail);
      out = PrepareSubnetRoutes(request.fabric, request.subnet, best->lid_owner);
    }
    attempts.push_back(std::move(attempt));
  }
  std::string others;
  for (size_t i = 0; i < attempts.size(); ++i)
    if (i != best_index || !best)
      others += fmt::format("{}{} {}", others.empty() ? "" : "; ", attempts[i].engine, attempts[i].note);
  if (!best) return Outcome::Failed(others);
  std::string detail = best->reason;
  out = std::move(*best);
  out.engine = std::string(attempts[best_index].engine);
  out.reason = others.empty()
                   ? fmt::format("auto chose {} ({}): at the cut bound (within 2%), no other engine needed", out.engine,
                                 attempts[best_index].note)
                   : fmt::format("auto chose {} ({}) over {}", out.engine, attempts[best_index].note, others);
  if (!detail.empty()) out.reason += "; " + out.engine + ": " + detail;
  return Outcome::Ok();
}

// What auto runs on a subnet too big to compare every engine on.
struct ClassPlan {
  std::vector<std::string_view> chain;  // the first engine that accepts the subnet routes it
  std::span<const Candidate> compared;  // when the chain declines: the best of these (may be empty)
};

ClassPlan PlanByClass(const Fabric& fabric, const Subnet& subnet, unsigned max_vls) {
  ClassPlan plan{.chain = {std::begin(kRegularClasses), std::end(kRegularClasses)}};
  const bool nue_affordable = CompareWork(fabric, subnet) <= kNueWork;
  if (nue_affordable && max_vls > 1)
    plan.compared = kIrregularSeveralVls;
  else if (nue_affordable)
    plan.chain.insert(plan.chain.end(), {"nue", "updn"});
  else if (max_vls > 1)
    plan.chain.insert(plan.chain.end(), {"escape", "updn"});
  else
    plan.chain.push_back("updn");
  return plan;
}

// Big subnets: the plan's chain, then its comparison for what the chain declines.
Outcome RouteByClass(const RouteRequest& request, SubnetRoutes& out) {
  const ClassPlan plan = PlanByClass(request.fabric, request.subnet, request.options.max_vls);
  std::vector<const EngineInfo*> chain;
  for (std::string_view candidate : plan.chain)
    if (const EngineInfo* info = FindEngine(candidate)) chain.push_back(info);
  ResetSubnetRoutes(request.fabric, out);
  const ChainRun run = RunChain(chain, request, out);
  std::string declined;
  for (const DeclinedEngine& d : run.declined)
    declined += fmt::format("{}{} declined: {}", declined.empty() ? "" : "; ", d.engine->name, d.outcome.reason);
  if (!run.routed_by && !plan.compared.empty()) {
    Outcome compared = RouteByComparison(request, out, plan.compared);
    out.reason = fmt::format("by topology class irregular ({}); {}", declined, out.reason);
    return compared;
  }
  if (!run.routed_by) return Outcome::Failed(declined);
  std::string detail = out.reason;
  out.engine = std::string(run.routed_by->name);
  out.reason = fmt::format("auto chose {} by topology class{}{}{}", run.routed_by->name, declined.empty() ? "" : " (",
                           declined, declined.empty() ? "" : ")");
  if (!detail.empty()) out.reason += ": " + detail;
  return Outcome::Ok();
}

class AutoEngine final : public RoutingEngine {
 public:
  std::string_view name() const override { return "auto"; }

  Outcome Route(const RouteRequest& request, SubnetRoutes& out) const override {
    if (CompareWork(request.fabric, request.subnet) <= kCompareWork)
      return RouteByComparison(request, out, kComparedCandidates);
    return RouteByClass(request, out);
  }
};

}  // namespace

std::unique_ptr<RoutingEngine> MakeAutoEngine() { return std::make_unique<AutoEngine>(); }

std::optional<AutoClassPlan> PlanAutoByClass(const Fabric& fabric, const Subnet& subnet, unsigned max_vls) {
  if (CompareWork(fabric, subnet) <= kCompareWork) return std::nullopt;
  const ClassPlan plan = PlanByClass(fabric, subnet, max_vls);
  AutoClassPlan out{.chain = plan.chain};
  for (const Candidate& c : plan.compared)
    out.compared.push_back(c.one_vl ? std::string(c.engine) + " --vls 1" : std::string(c.engine));
  return out;
}

}  // namespace fabricctl
