#include "routing/route_fabric.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <thread>

#include "fabric/elapsed.h"
#include "fabric/text_lines.h"
#include "routing/lid_assign.h"
#include "routing/parallel.h"

namespace fabricctl {
namespace {

// An LFT entry is one byte and kNoRoute (255) means "no route", so no route can leave a
// switch by port 255: a cable there is refused before any engine runs.
Result<void> CheckRoutablePorts(const Fabric& fabric) {
  for (const Subnet& subnet : fabric.subnets())
    for (NodeId sw : subnet.switches)
      if (fabric.node(sw).num_ports >= kNoRoute && fabric.port(fabric.port_id(sw, kNoRoute)).peer != kNone)
        return MakeError(
            fmt::format("subnet {}: {} is cabled, but an LFT entry of {} means no route, so no route can "
                        "leave by it; switch ports 1..{} carry routes",
                        subnet.name, fabric.PortName(fabric.port_id(sw, kNoRoute)), kNoRoute, kNoRoute - 1));
  return {};
}

bool SelectorMatches(std::string_view selector, const Subnet& subnet) {
  if (selector == subnet.name) return true;
  auto level = ParseFabricLevel(selector);
  return level && *level != FabricLevel::kUnknown && *level == subnet.level;
}

}  // namespace

Result<EngineSelection> ParseEngineSelection(std::string_view spec) {
  EngineSelection sel;
  std::vector<const EngineInfo*>* current = &sel.default_chain;
  for (std::string_view token : SplitList(spec)) {
    if (size_t eq = token.find('='); eq != std::string_view::npos) {
      std::string_view selector = token.substr(0, eq);
      if (selector.empty()) return MakeError(fmt::format("empty subnet selector in '{}'", spec));
      if (selector == "default" || selector == "*") {
        current = &sel.default_chain;
      } else {
        sel.rules.push_back({.selector = std::string(selector)});
        current = &sel.rules.back().chain;
      }
      token = token.substr(eq + 1);
    }
    if (token.empty()) return MakeError(fmt::format("empty engine name in '{}'", spec));
    const EngineInfo* e = FindEngine(token);
    if (!e) return std::unexpected(UnknownEngineError(token));
    current->push_back(e);
  }
  // Rules are stable pointers only once the vector stops growing; re-derive nothing here.
  if (sel.default_chain.empty()) sel.default_chain.push_back(FindEngine("auto"));
  return sel;
}

const std::vector<const EngineInfo*>& ChainFor(const EngineSelection& sel, const Subnet& subnet) {
  for (const EngineSelection::Rule& r : sel.rules)
    if (r.selector == subnet.name) return r.chain;
  for (const EngineSelection::Rule& r : sel.rules)
    if (SelectorMatches(r.selector, subnet)) return r.chain;
  return sel.default_chain;
}

std::string ChainName(const std::vector<const EngineInfo*>& chain) {
  std::string out;
  for (const EngineInfo* e : chain) out += (out.empty() ? "" : ",") + std::string(e->name);
  return out;
}

SubnetRoutes PrepareSubnetRoutes(const Fabric& fabric, const Subnet& subnet, std::vector<PortId> lid_owner) {
  SubnetRoutes r;
  r.subnet = subnet.id;
  r.lid_owner = std::move(lid_owner);
  r.switches = subnet.switches;
  ResetSubnetRoutes(fabric, r);
  return r;
}

void ResetSubnetRoutes(const Fabric& fabric, SubnetRoutes& r) {
  const size_t num_lids = r.num_lids();
  r.lft.assign(r.switches.size() * num_lids, kNoRoute);
  for (Lid lid = 1; lid < num_lids; ++lid) {
    PortId p = r.lid_owner[lid];
    if (p == kNone) continue;
    const Port& port = fabric.port(p);
    if (!fabric.is_switch(port.node)) continue;
    auto it = std::lower_bound(r.switches.begin(), r.switches.end(), port.node);
    if (it != r.switches.end() && *it == port.node) r.lft[size_t(it - r.switches.begin()) * num_lids + lid] = 0;
  }
  r.reason.clear();
  r.num_vls = 1;
  r.pair_sl.clear();
  r.endpoint_sl2vl.fill(0);
  r.sl2vl_stride = 0;
  r.sl2vl.clear();
}

ChainRun RunChain(std::span<const EngineInfo* const> chain, const RouteRequest& request, SubnetRoutes& out) {
  ChainRun run;
  // Endpoints cabled back to back form a subnet without a switch: no table to fill, for
  // any engine, so none runs.
  if (request.subnet.switches.empty() && !chain.empty()) {
    out.engine = std::string(chain.front()->name);
    out.reason = "no switches: nothing to route";
    run.routed_by = chain.front();
    return run;
  }
  for (size_t i = 0; i < chain.size(); ++i) {
    const EngineInfo* info = chain[i];
    if (i > 0) ResetSubnetRoutes(request.fabric, out);
    out.engine = std::string(info->name);
    Outcome outcome = info->make()->Route(request, out);
    if (outcome.status == EngineStatus::kOk) {
      run.routed_by = info;
      return run;
    }
    run.declined.push_back({.engine = info, .outcome = std::move(outcome)});
  }
  return run;
}

namespace {

// Every per-subnet rule of the selection must match some subnet.
Result<void> CheckSelectorsMatch(const Fabric& fabric, const EngineSelection& selection) {
  for (const EngineSelection::Rule& r : selection.rules) {
    bool any = false;
    for (const Subnet& s : fabric.subnets()) any = any || SelectorMatches(r.selector, s);
    if (!any) {
      std::string names;
      for (const Subnet& s : fabric.subnets()) names += (names.empty() ? "" : ", ") + s.name;
      return MakeError(fmt::format("engine selector '{}' matches no subnet (levels: scale-up, scale-out; subnets: {})",
                                   r.selector, names));
    }
  }
  return {};
}

// What routing one subnet needs besides its index.
struct SubnetJob {
  const Fabric& fabric;
  const EngineSelection& selection;
  const RouteFabricOptions& options;
  LidAssignment& lids;
  FabricRoutes& result;
};

// Routes subnet i with its engine chain into the job's result (routes and report), timed;
// returns what went wrong when no engine of the chain could route it, else "".
std::string RouteSubnet(const SubnetJob& job, size_t i, unsigned threads) {
  const Subnet& subnet = job.fabric.subnets()[i];
  auto start = std::chrono::steady_clock::now();
  SubnetRoutes& out = job.result.routes.subnets[i];
  out = PrepareSubnetRoutes(job.fabric, subnet, std::move(job.lids.lid_owner[i]));
  SubnetReport& report = job.result.reports[i];
  EngineOptions eo = job.options.engine;
  eo.threads = threads;
  const RouteRequest request{.fabric = job.fabric, .subnet = subnet, .port_lid = job.lids.port_lid, .options = eo};
  const std::vector<const EngineInfo*>& chain = ChainFor(job.selection, subnet);
  const ChainRun run = RunChain(chain, request, out);
  for (const DeclinedEngine& d : run.declined)
    report.declined.push_back(
        fmt::format("{} {}: {}", d.engine->name,
                    d.outcome.status == EngineStatus::kNotApplicable ? "not applicable" : "failed", d.outcome.reason));
  std::string error;
  if (run.routed_by && !report.declined.empty()) {
    std::string why;
    for (const std::string& d : report.declined) why += (why.empty() ? "" : "; ") + d;
    out.reason = fmt::format("fallback after {}{}{}", why, out.reason.empty() ? "" : "; ", out.reason);
  }
  if (!run.routed_by) {
    ResetSubnetRoutes(job.fabric, out);
    out.engine.clear();
    std::string why;
    for (const std::string& d : report.declined) why += "\n  " + d;
    error = fmt::format("subnet {}: no engine of '{}' could route it:{}", subnet.name, ChainName(chain), why);
  }
  report.seconds = SecondsSince(start);
  return error;
}

// Calls route(i, threads inside) for every subnet. Big subnets (or the only one) one after
// another with every thread inside; the small ones side by side, meanwhile, on the other
// threads, and on the big ones' thread once they are done: an engine is not parallel
// throughout (ftree's fill of a degraded tree is sequential below 8,192 endpoints), so its
// idle cores route them.
template <class Route>
void ScheduleSubnets(const Fabric& fabric, unsigned threads, const Route& route) {
  const size_t num_subnets = fabric.subnets().size();
  std::vector<size_t> big, small;
  for (size_t i = 0; i < num_subnets; ++i) {
    const Subnet& s = fabric.subnets()[i];
    double work = double(s.switches.size()) * double(s.switches.size() + s.endpoint_ports.size());
    (threads > 1 && (work > 4e6 || num_subnets == 1) ? big : small).push_back(i);
  }
  std::atomic<size_t> next_small{0};
  auto route_small = [&] {
    for (size_t k; (k = next_small.fetch_add(1, std::memory_order_relaxed)) < small.size();) route(small[k], 1u);
  };
  if (big.empty() || small.empty()) {
    for (size_t i : big) route(i, threads);
    ParallelFor(std::min<size_t>(threads, small.size()), threads, [&](size_t) { route_small(); });
  } else {
    std::thread big_runner([&] {
      for (size_t i : big) route(i, threads);
      route_small();
    });
    ParallelFor(threads - 1, threads - 1, [&](size_t) { route_small(); });
    big_runner.join();
  }
}

}  // namespace

Result<FabricRoutes> RouteFabric(const Fabric& fabric, const EngineSelection& selection,
                                 const RouteFabricOptions& options) {
  if (auto ok = CheckSelectorsMatch(fabric, selection); !ok) return std::unexpected(ok.error());
  if (auto ok = CheckRoutablePorts(fabric); !ok) return std::unexpected(ok.error());
  auto lids = AssignLids(fabric);
  if (!lids) return std::unexpected(lids.error());

  const size_t num_subnets = fabric.subnets().size();
  FabricRoutes result;
  result.notes = std::move(lids->notes);
  result.routes.subnets.resize(num_subnets);
  result.reports.resize(num_subnets);
  std::vector<std::string> errors(num_subnets);
  const SubnetJob job{.fabric = fabric, .selection = selection, .options = options, .lids = *lids, .result = result};
  ScheduleSubnets(fabric, options.threads ? options.threads : DefaultThreads(),
                  [&](size_t i, unsigned threads) { errors[i] = RouteSubnet(job, i, threads); });

  result.routes.port_lid = std::move(lids->port_lid);
  std::string all_errors;
  for (const std::string& e : errors)
    if (!e.empty()) all_errors += (all_errors.empty() ? "" : "\n") + e;
  if (!all_errors.empty()) return MakeError(all_errors);
  return result;
}

}  // namespace fabricctl
