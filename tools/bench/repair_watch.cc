#include "tools/bench/repair_watch.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fabric/discovery.h"
#include "fabric/file_io.h"
#include "fabric/mad/rpc.h"
#include "fabric/mad/transport.h"
#include "routing/installed_routes.h"
#include "routing/verifier.h"

namespace fabricctl::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr unsigned kBlock = 64;  // LFT entries per LinearForwardingTable block

struct WatchArgs {
  std::string console;  // ibsim's console FIFO (tools/ibsim/start-ibsim.sh -d DIR: DIR/console)
  std::string fail = "link";
  std::string out;
  double timeout_s = 300;  // for the repair, and again for the tables to settle
  double settle_s = 1.0;   // two full reads this far apart must agree
};

Result<double> ParseSeconds(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v > 0))
    return MakeError(fmt::format("repair-watch: {} {}: not a number of seconds", flag, text));
  return v;
}

Result<WatchArgs> ParseArgs(const std::vector<std::string>& args) {
  WatchArgs w;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (i + 1 >= args.size()) return MakeError(fmt::format("repair-watch: {} needs a value", a));
    const std::string& v = args[++i];
    if (a == "--console")
      w.console = v;
    else if (a == "--fail")
      w.fail = v;
    else if (a == "--out")
      w.out = v;
    else if (a == "--timeout" || a == "--settle") {
      auto seconds = ParseSeconds(a, v);
      if (!seconds) return std::unexpected(seconds.error());
      (a == "--timeout" ? w.timeout_s : w.settle_s) = *seconds;
    } else
      return MakeError(fmt::format("repair-watch: unknown argument '{}'", a));
  }
  if (w.console.empty()) return MakeError("repair-watch: --console FIFO is required");
  if (w.fail != "link" && w.fail != "switch") return MakeError("repair-watch: --fail is link or switch");
  return w;
}

// What the failure takes away, and the ports of live switches that lose their cable.
struct FailurePlan {
  std::string what;     // "link ft-l1-069[100] - ft-l2-10[70]", "switch ft-l2-10"
  std::string command;  // ibsim console line
  LinkId link = kNone;  // the failed cable (link failure)
  NodeId node = kNone;  // the failed switch (switch failure)
  std::vector<std::pair<NodeId, unsigned>> dead_ports;
};

bool HasEndpoints(const Fabric& f, NodeId sw) {
  for (const Adjacency& a : f.neighbors(sw))
    if (!f.is_switch(a.peer_node)) return true;
  return false;
}

// ibsim's name of a node in a file WriteIbsimTopology wrote.
std::string IbsimName(const Fabric& f, NodeId n) {
  return fmt::format("{}-{:016x}", f.is_switch(n) ? 'S' : 'H', f.node(n).guid);
}

// The local port's own leaf: failing its cables could cut the SM off its traps; left alone.
NodeId LocalLeaf(const DiscoveryResult& live) {
  PortId peer = live.fabric.port(live.fabric.port_id(live.local_node, live.local_port)).peer;
  return peer == kNone ? kNone : live.fabric.port(peer).node;
}

// A leaf-spine cable (one end has endpoints, the other none): the middle one in link order.
Result<FailurePlan> PlanLinkFailure(const DiscoveryResult& live) {
  const Fabric& f = live.fabric;
  const NodeId local_leaf = LocalLeaf(live);
  std::vector<LinkId> candidates;
  for (LinkId l = 0; l < f.num_links(); ++l) {
    NodeId a = f.port(f.link(l).a).node, b = f.port(f.link(l).b).node;
    if (!f.is_switch(a) || !f.is_switch(b) || a == local_leaf || b == local_leaf) continue;
    if (HasEndpoints(f, a) != HasEndpoints(f, b)) candidates.push_back(l);
  }
  if (candidates.empty()) return MakeError("repair-watch: the fabric has no leaf-spine cable");
  const LinkId l = candidates[candidates.size() / 2];
  const Port& a = f.port(f.link(l).a);
  const Port& b = f.port(f.link(l).b);
  return FailurePlan{
      .what = fmt::format("link {}[{}] - {}[{}]", f.description(a.node), a.number, f.description(b.node), b.number),
      .command = fmt::format("Unlink \"{}\"[{}]", IbsimName(f, a.node), a.number),
      .link = l,
      .dead_ports = {{a.node, a.number}, {b.node, b.number}}};
}

// A spine (a switch without endpoints next to a leaf): the middle one in node order.
Result<FailurePlan> PlanSwitchFailure(const DiscoveryResult& live) {
  const Fabric& f = live.fabric;
  std::vector<NodeId> candidates;
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    if (!f.is_switch(n) || HasEndpoints(f, n)) continue;
    const auto adj = f.neighbors(n);
    if (std::any_of(adj.begin(), adj.end(), [&](const Adjacency& a) { return HasEndpoints(f, a.peer_node); }))
      candidates.push_back(n);
  }
  if (candidates.empty()) return MakeError("repair-watch: the fabric has no spine switch");
  const NodeId n = candidates[candidates.size() / 2];
  FailurePlan plan{.what = fmt::format("switch {}", f.description(n)),
                   .command = fmt::format("Unlink \"{}\"", IbsimName(f, n)),
                   .node = n};
  for (const Adjacency& a : f.neighbors(n))
    if (f.is_switch(a.peer_node)) plan.dead_ports.emplace_back(a.peer_node, f.port(a.peer_port).number);
  return plan;
}

// Directed routes from the local port to every node over what the failure leaves.
std::vector<std::optional<mad::DrPath>> PathsAvoiding(const DiscoveryResult& live, const FailurePlan& plan) {
  const Fabric& f = live.fabric;
  std::vector<std::optional<mad::DrPath>> path(f.num_nodes());
  path[live.local_node] = mad::DrPath{};
  std::deque<NodeId> queue{live.local_node};
  while (!queue.empty()) {
    const NodeId n = queue.front();
    queue.pop_front();
    for (const Adjacency& a : f.neighbors(n)) {
      const unsigned out = f.port(a.local).number;
      if (n == live.local_node && out != live.local_port) continue;
      if (a.link == plan.link || a.peer_node == plan.node || path[a.peer_node]) continue;
      path[a.peer_node] = path[n]->Extend(static_cast<uint8_t>(out));
      if (f.is_switch(a.peer_node)) queue.push_back(a.peer_node);
    }
  }
  return path;
}

// A live switch next to the failure and the blocks of its LFT that forwarded into it.
struct WatchedSwitch {
  NodeId node = kNone;
  mad::DrPath path;
  std::array<bool, 256> dead{};
  size_t lids = 0;
  std::vector<uint32_t> initially_dirty;
  std::vector<uint32_t> dirty;
};

Result<std::vector<WatchedSwitch>> WatchedSwitches(const DiscoveryResult& live, const RouteSet& installed,
                                                   const FailurePlan& plan) {
  const auto paths = PathsAvoiding(live, plan);
  std::map<NodeId, WatchedSwitch> by_node;
  for (const auto& [node, port] : plan.dead_ports) {
    if (!paths[node]) return MakeError(fmt::format("repair-watch: {} unreachable without the failed part", node));
    WatchedSwitch& w = by_node[node];
    w.node = node;
    w.path = *paths[node];
    w.dead[port] = true;
  }
  for (const SubnetRoutes& r : installed.subnets)
    for (size_t i = 0; i < r.switches.size(); ++i) {
      auto it = by_node.find(r.switches[i]);
      if (it == by_node.end()) continue;
      WatchedSwitch& w = it->second;
      w.lids = r.num_lids();
      for (Lid lid = 1; lid < r.num_lids(); ++lid)
        if (const uint8_t p = r.out_port(i, lid);
            p != kNoRoute && w.dead[p] && (w.dirty.empty() || w.dirty.back() != lid / kBlock))
          w.dirty.push_back(lid / kBlock);
      w.initially_dirty = w.dirty;
    }
  std::vector<WatchedSwitch> out;
  for (auto& [node, w] : by_node) out.push_back(std::move(w));
  return out;
}

size_t DirtyBlocks(const std::vector<WatchedSwitch>& watched) {
  size_t n = 0;
  for (const WatchedSwitch& w : watched) n += w.dirty.size();
  return n;
}

// Reads every dirty block once; keeps those that still forward into a dead port or did not answer.
Result<void> PollOnce(mad::Transport& transport, std::vector<WatchedSwitch>& watched) {
  mad::MadRpc rpc(transport, mad::RpcOptions{.inflight = 8, .timeout_ms = 200, .retries = 1});
  std::vector<std::vector<uint32_t>> still(watched.size());
  for (size_t s = 0; s < watched.size(); ++s)
    for (uint32_t block : watched[s].dirty) {
      const mad::Request get{.attr_id = mad::attr::kLinearForwardingTable, .attr_mod = block, .path = watched[s].path};
      rpc.Post(get, [&watched, &still, s, block](const mad::Completion& c) {
        const WatchedSwitch& w = watched[s];
        bool dirty = c.outcome != mad::Outcome::kOk;
        for (unsigned e = 0; !dirty && e < kBlock; ++e) {
          const size_t lid = size_t{block} * kBlock + e;
          dirty = lid > 0 && lid < w.lids && w.dead[c.reply->data()[e]];
        }
        if (dirty) still[s].push_back(block);
      });
    }
  auto run = rpc.Run();
  for (size_t s = 0; s < watched.size(); ++s) watched[s].dirty = std::move(still[s]);
  return run;
}

struct RepairTiming {
  bool repaired = false;
  double seconds = 0;  // from the console command to the end of the read that found no dirty block
  unsigned polls = 0;
};

// Polls until no watched block forwards into a dead port, confirmed by one more read of
// every block that did before the failure.
Result<RepairTiming> WaitForRepair(mad::Transport& transport, std::vector<WatchedSwitch>& watched,
                                   Clock::time_point start, double timeout_s) {
  RepairTiming t;
  const auto deadline = start + std::chrono::duration<double>(timeout_s);
  while (Clock::now() < deadline) {
    if (auto r = PollOnce(transport, watched); !r) return std::unexpected(r.error());
    ++t.polls;
    if (DirtyBlocks(watched) == 0) {
      const double clean_at = Seconds(start);
      for (WatchedSwitch& w : watched) w.dirty = w.initially_dirty;
      if (auto r = PollOnce(transport, watched); !r) return std::unexpected(r.error());
      if (DirtyBlocks(watched) == 0) return RepairTiming{.repaired = true, .seconds = clean_at, .polls = t.polls};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return t;
}

struct Settled {
  DiscoveryResult live;
  InstalledRoutes installed;
  unsigned reads = 0;
  bool stable = false;
};

bool SameTables(const RouteSet& a, const RouteSet& b) {
  if (a.subnets.size() != b.subnets.size()) return false;
  for (size_t s = 0; s < a.subnets.size(); ++s)
    if (a.subnets[s].lft != b.subnets[s].lft) return false;
  return true;
}

// The subnet as it ends up: discovered afresh, then every LFT read until two reads
// `settle_s` apart agree (the subnet manager has stopped writing).
Result<Settled> ReadSettled(mad::Transport& transport, double settle_s, double timeout_s) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  auto live = Discover(transport, {});
  if (!live) return std::unexpected(live.error());
  const InstalledRoutesOptions options{.sl2vl = Sl2VlReading::kSkip};
  auto first = ReadInstalledRoutes(transport, *live, options);
  if (!first) return std::unexpected(first.error());
  Settled s{.live = std::move(*live), .installed = std::move(*first), .reads = 1};
  while (!s.stable && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::duration<double>(settle_s));
    auto next = ReadInstalledRoutes(transport, s.live, options);
    if (!next) return std::unexpected(next.error());
    ++s.reads;
    s.stable = SameTables(s.installed.routes, next->routes);
    s.installed = std::move(*next);
  }
  return s;
}

// 64-entry blocks that differ between two readings of the same switches (matched by GUID;
// LIDs are the subnet manager's and do not move).
uint64_t BlocksChanged(const Fabric& before_fabric, const RouteSet& before, const Fabric& after_fabric,
                       const RouteSet& after) {
  std::map<uint64_t, std::pair<const SubnetRoutes*, size_t>> old_by_guid;
  for (const SubnetRoutes& r : before.subnets)
    for (size_t i = 0; i < r.switches.size(); ++i) old_by_guid[before_fabric.node(r.switches[i]).guid] = {&r, i};
  uint64_t changed = 0;
  for (const SubnetRoutes& r : after.subnets)
    for (size_t j = 0; j < r.switches.size(); ++j) {
      auto it = old_by_guid.find(after_fabric.node(r.switches[j]).guid);
      if (it == old_by_guid.end()) continue;
      const auto [old, i] = it->second;
      const size_t lids = std::max(old->num_lids(), r.num_lids());
      for (size_t block = 0; block * kBlock < lids; ++block)
        for (size_t lid = block * kBlock; lid < std::min(lids, (block + 1) * kBlock); ++lid) {
          const uint8_t was = lid < old->num_lids() ? old->out_port(i, static_cast<Lid>(lid)) : kNoRoute;
          const uint8_t is = lid < r.num_lids() ? r.out_port(j, static_cast<Lid>(lid)) : kNoRoute;
          if (lid != 0 && was != is) {
            ++changed;
            break;
          }
        }
    }
  return changed;
}

Result<void> SendConsole(const std::string& fifo, const std::string& command) {
  std::ofstream console(fifo);
  console << command << '\n';
  console.flush();
  if (!console) return MakeError(fmt::format("repair-watch: cannot write to ibsim's console {}", fifo));
  return {};
}

Result<nlohmann::json> Watch(mad::Transport& transport, const WatchArgs& args) {
  auto live = Discover(transport, {});
  if (!live) return std::unexpected(live.error());
  auto before = ReadInstalledRoutes(transport, *live, {.sl2vl = Sl2VlReading::kSkip});
  if (!before) return std::unexpected(before.error());
  auto plan = args.fail == "link" ? PlanLinkFailure(*live) : PlanSwitchFailure(*live);
  if (!plan) return std::unexpected(plan.error());
  auto watched = WatchedSwitches(*live, before->routes, *plan);
  if (!watched) return std::unexpected(watched.error());
  const size_t dirty_before = DirtyBlocks(*watched);
  if (dirty_before == 0) return MakeError(fmt::format("repair-watch: no installed route crosses the {}", plan->what));

  const auto start = Clock::now();
  if (auto sent = SendConsole(args.console, plan->command); !sent) return std::unexpected(sent.error());
  auto timing = WaitForRepair(transport, *watched, start, args.timeout_s);
  if (!timing) return std::unexpected(timing.error());
  auto settled = ReadSettled(transport, args.settle_s, args.timeout_s);
  if (!settled) return std::unexpected(settled.error());
  auto verdict = Verify(settled->live.fabric, settled->installed.routes);
  if (!verdict) return std::unexpected(verdict.error());

  size_t endpoints = 0, switches = 0;
  for (NodeId n = 0; n < live->fabric.num_nodes(); ++n) (live->fabric.is_switch(n) ? switches : endpoints) += 1;
  return nlohmann::json{
      {"endpoints", endpoints},
      {"switches", switches},
      {"failure", plan->what},
      {"command", plan->command},
      {"blocks_into_failure", dirty_before},
      {"repaired", timing->repaired},
      {"repair_seconds", timing->repaired ? nlohmann::json(timing->seconds) : nlohmann::json(nullptr)},
      {"polls", timing->polls},
      {"settled", settled->stable},
      {"full_reads", settled->reads},
      {"blocks_changed", BlocksChanged(live->fabric, before->routes, settled->live.fabric, settled->installed.routes)},
      {"deadlock_free", verdict->deadlock_free()},
      {"sound", verdict->sound()},
      {"unreachable_pairs", verdict->unreachable_pairs},
      {"dead_port_entries", verdict->dead_port_entries},
      {"violations", verdict->violation_count},
      {"incomplete_switches", settled->installed.incomplete_nodes.size()}};
}

}  // namespace

int RunRepairWatch(const Options& options) {
  auto args = ParseArgs(options.args);
  if (!args) {
    std::fprintf(stderr, "%s\n", args.error().Format().c_str());
    return 2;
  }
  auto transport = mad::OpenUmadTransport("", 0, 200);
  if (!transport) {
    std::fprintf(stderr, "repair-watch: %s\n", transport.error().Format().c_str());
    return 2;
  }
  auto result = Watch(**transport, *args);
  if (!result) {
    std::fprintf(stderr, "%s\n", result.error().Format().c_str());
    return 2;
  }
  const std::string text = result->dump() + "\n";
  std::fputs(text.c_str(), stdout);
  if (!args->out.empty())
    if (auto w = WriteFileAtomic(args->out, text); !w) {
      std::fprintf(stderr, "repair-watch: %s\n", w.error().Format().c_str());
      return 2;
    }
  return 0;
}

}  // namespace fabricctl::bench
