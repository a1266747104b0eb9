#include "routing/repair.h"

#include <fmt/format.h>

#include <algorithm>
#include <span>
#include <tuple>

#include "routing/channel_capacity.h"
#include "routing/route_diff.h"
#include "routing/switch_graph.h"
#include "routing/updn.h"

namespace fabricctl {

namespace {

// How a switch's route towards one destination moves, in the Up*/Down* orientation.
struct PathState {
  bool reachable = false;
  bool broken = false;    // a loop or an entry naming a port without a switch behind it
  bool down_only = true;  // every move goes down
  bool legal = true;      // no move up after a move down
  uint32_t hops = 0;
  uint32_t no_route_at = kNone;  // the switch whose entry is kNoRoute, when that ended the walk
};

// The failures that touch one subnet.
struct DeadSet {
  std::vector<uint8_t> channel;    // by channel (switch * stride + port): the cable is down or leads to a down switch
  std::vector<uint8_t> node;       // by switch index
  std::vector<uint32_t> channels;  // the dead channels of live switches
};

struct Change {
  uint32_t s;
  Lid lid;
  uint8_t port;
};

}  // namespace

struct RouteRepairer::SubnetState {
  SubnetState(const Fabric& f, const Subnet& sn, const SubnetRoutes& r) : routes(&r), subnet(&sn), graph(f, sn, r) {}
  const SubnetRoutes* routes;
  const Subnet* subnet;
  SwitchGraph graph;
  uint32_t stride = 1;                // max port number + 1
  std::vector<uint32_t> next_switch;  // by channel: the switch it enters, kNone for endpoints and empty ports
  std::vector<uint32_t> pos;          // Up*/Down* order: a move to a lower pos is up
  std::vector<uint32_t> sources;      // endpoint ports per switch
  std::vector<double> share;          // by channel: capacity as a share of the top rate
  std::vector<uint64_t> load;         // by channel: endpoint pairs routed over it
  double max_load = 0;                // routes per capacity on the busiest channel
  std::vector<std::pair<Lid, uint32_t>> no_route;  // (endpoint LID, switch) entries without a route

  uint32_t num_switches() const { return graph.num_switches(); }
  uint8_t old_port(uint32_t s, Lid lid) const { return routes->lft[size_t{s} * routes->num_lids() + lid]; }
  bool endpoint_lid(Lid lid) const { return graph.lid_switch(lid) != kNone && !graph.lid_is_switch(lid); }
  bool down(uint32_t from, uint32_t to) const { return pos[to] > pos[from]; }

  // Follows the route from s towards lid's switch, the port at each switch given by port_of;
  // on_channel sees every channel crossed.
  template <class PortOf, class OnChannel>
  PathState Follow(uint32_t s, Lid lid, const PortOf& port_of, const OnChannel& on_channel) const {
    const uint32_t dest = graph.lid_switch(lid);
    PathState out;
    bool went_down = false;
    for (uint32_t x = s; x != dest; ++out.hops) {
      const uint8_t p = port_of(x);
      if (p == kNoRoute) return PathState{.no_route_at = x};
      const uint32_t y = p < stride ? next_switch[size_t{x} * stride + p] : kNone;
      if (y == kNone || out.hops > num_switches()) return PathState{.broken = true};
      on_channel(size_t{x} * stride + p);
      if (down(x, y)) {
        went_down = true;
      } else {
        out.down_only = false;
        out.legal = out.legal && !went_down;
      }
      x = y;
    }
    out.reachable = true;
    return out;
  }
  PathState FollowOld(uint32_t s, Lid lid) const {
    return Follow(
        s, lid, [&](uint32_t x) { return old_port(x, lid); }, [](size_t) {});
  }
  double channel_load(size_t ch) const { return static_cast<double>(load[ch]) / share[ch]; }
};

namespace {

using SubnetState = RouteRepairer::SubnetState;

void BuildChannels(const Fabric& fabric, SubnetState& st) {
  const SwitchGraph& g = st.graph;
  const uint32_t S = g.num_switches();
  unsigned max_port = 0;
  for (uint32_t s = 0; s < S; ++s) max_port = std::max<unsigned>(max_port, fabric.node(g.node(s)).num_ports);
  st.stride = max_port + 1;
  st.next_switch.assign(size_t{S} * st.stride, kNone);
  st.share.assign(size_t{S} * st.stride, 1.0);
  const ChannelCapacity capacity(fabric, *st.subnet);
  for (uint32_t s = 0; s < S; ++s) {
    for (uint32_t e = g.begin(s); e < g.end(s); ++e)
      for (uint8_t p : g.ports(e)) st.next_switch[size_t{s} * st.stride + p] = g.nbr(e);
    for (unsigned p = 1; p <= fabric.node(g.node(s)).num_ports; ++p)
      st.share[size_t{s} * st.stride + p] = capacity.share(fabric.port_id(g.node(s), p));
  }
  st.sources.assign(S, 0);
  for (PortId ep : st.subnet->endpoint_ports) {
    const PortId peer = fabric.port(ep).peer;
    if (peer == kNone) continue;
    if (uint32_t s = g.local(fabric.port(peer).node); s != kNone) ++st.sources[s];
  }
}

// Walks every endpoint switch's route to every endpoint LID under st.pos: the loads when
// all are Up*/Down* legal, else why not.
std::string CheckAndLoad(SubnetState& st) {
  const uint32_t S = st.num_switches();
  st.load.assign(size_t{st.stride} * S, 0);
  st.no_route.clear();
  for (Lid lid = 1; lid < st.routes->num_lids(); ++lid) {
    if (!st.endpoint_lid(lid)) continue;
    const uint32_t dest = st.graph.lid_switch(lid);
    for (uint32_t s = 0; s < S; ++s) {
      if (st.sources[s] == 0 || s == dest) continue;
      const PathState path = st.FollowOld(s, lid);
      if (path.broken)
        return fmt::format("the route from {} to LID {} loops or leaves by a port without a switch", st.graph.node(s),
                           lid);
      if (path.no_route_at != kNone) continue;
      if (!path.legal)
        return fmt::format("the route from switch {} to LID {} goes down, then up", st.graph.node(s), lid);
      st.Follow(
          s, lid, [&](uint32_t x) { return st.old_port(x, lid); }, [&](size_t ch) { st.load[ch] += st.sources[s]; });
    }
  }
  // Entries without a route, on any switch: when a link returns they may get one.
  for (uint32_t s = 0; s < S; ++s)
    for (Lid lid = 1; lid < st.routes->num_lids(); ++lid)
      if (st.old_port(s, lid) == kNoRoute && st.endpoint_lid(lid) && st.graph.lid_switch(lid) != s)
        st.no_route.emplace_back(lid, s);
  st.max_load = 0;
  for (size_t ch = 0; ch < st.load.size(); ++ch)
    if (st.load[ch]) st.max_load = std::max(st.max_load, st.channel_load(ch));
  return {};
}

// Finds the orientation of updn's root choices that every route follows.
std::string PrepareSubnet(const Fabric& fabric, const RepairOptions& options, SubnetState& st) {
  BuildChannels(fabric, st);
  if (st.routes->num_vls > 1)
    return fmt::format("the tables use {} VLs; only single-VL Up*/Down* tables are repaired", st.routes->num_vls);
  if (st.num_switches() == 0) return {};
  std::string failures;
  for (const UpDownRoots& roots : UpDownRootChoices(fabric, st.graph, options.root_guids)) {
    st.pos = UpDownOrder(fabric, st.graph, roots.switches);
    std::string why = CheckAndLoad(st);
    if (why.empty()) return {};
    failures += fmt::format("{}{}: {}", failures.empty() ? "" : "; ", roots.why, why);
  }
  return "the tables are not Up*/Down* routes (" + failures + ")";
}

}  // namespace

RouteRepairer::RouteRepairer(RouteRepairer&&) noexcept = default;
RouteRepairer& RouteRepairer::operator=(RouteRepairer&&) noexcept = default;
RouteRepairer::~RouteRepairer() = default;

Result<RouteRepairer> RouteRepairer::Prepare(const Fabric& fabric, const RouteSet& previous,
                                             const RepairOptions& options) {
  RouteRepairer r;
  r.fabric_ = &fabric;
  r.previous_ = &previous;
  r.options_ = options;
  for (const SubnetRoutes& routes : previous.subnets) {
    if (routes.subnet >= fabric.subnets().size())
      return MakeError(
          fmt::format("route set names subnet {}, the topology has {}", routes.subnet, fabric.subnets().size()));
    const Subnet& subnet = fabric.subnets()[routes.subnet];
    if (routes.switches != subnet.switches || routes.lft.size() != subnet.switches.size() * routes.num_lids())
      return MakeError(fmt::format("the routes of subnet {} do not fit the topology", subnet.name));
    auto st = std::make_unique<SubnetState>(fabric, subnet, routes);
    r.not_repairable_.push_back(PrepareSubnet(fabric, options, *st));
    r.subnets_.push_back(std::move(st));
  }
  return r;
}

namespace {

DeadSet CollectDead(const Fabric& fabric, const FabricHealth& health, const SubnetState& st) {
  const SwitchGraph& g = st.graph;
  DeadSet dead;
  dead.channel.assign(st.next_switch.size(), 0);
  dead.node.assign(g.num_switches(), 0);
  auto kill = [&](PortId port) {
    const uint32_t s = g.local(fabric.port(port).node);
    if (s == kNone) return;
    const size_t ch = size_t{s} * st.stride + fabric.port(port).number;
    if (!dead.channel[ch]) dead.channel[ch] = 1, dead.channels.push_back(static_cast<uint32_t>(ch));
  };
  for (LinkId l = 0; l < health.link_down.size(); ++l)
    if (health.link_down[l]) kill(fabric.link(l).a), kill(fabric.link(l).b);
  for (NodeId n = 0; n < health.node_down.size(); ++n) {
    if (!health.node_down[n]) continue;
    if (uint32_t s = g.local(n); s != kNone) dead.node[s] = 1;
    for (const Adjacency& a : fabric.neighbors(n)) kill(a.local), kill(a.peer_port);
  }
  // Only live switches' entries towards switches move: a down switch forwards nothing, and an
  // endpoint whose cable is down is unreachable whatever the tables say.
  std::erase_if(dead.channels,
                [&](uint32_t ch) { return dead.node[ch / st.stride] != 0 || st.next_switch[ch] == kNone; });
  return dead;
}

// Per-destination working state of one repair, reused across destinations (tick stamps).
struct LidRepair {
  LidRepair(const SubnetState& state, const DeadSet& d, std::vector<uint64_t>& loads)
      : st(state), dead(d), load(loads) {
    const uint32_t S = st.num_switches();
    stamp.assign(S, 0), done.assign(S, 0), seed.assign(S, 0), down_entered.assign(S, 0);
    path.resize(S), port.resize(S);
  }
  const SubnetState& st;
  const DeadSet& dead;
  std::vector<uint64_t>& load;  // channel loads as repaired so far
  std::vector<size_t> crossed;
  std::vector<uint32_t> stamp, done;  // pending / decided in this tick
  std::vector<uint8_t> seed, down_entered;
  std::vector<PathState> path;  // decided route of a pending switch
  std::vector<uint8_t> port;    // decided entry of a pending switch
  std::vector<uint32_t> queue;  // pending switches, seeds first, then by distance from them
  uint32_t tick = 0;
  Lid lid = 0;
  bool legal_only = true;  // endpoint LIDs; switch LIDs carry management traffic only

  bool pending(uint32_t s) const { return stamp[s] == tick; }
  bool decided(uint32_t s) const { return done[s] == tick; }
  uint8_t port_now(uint32_t s) const { return pending(s) ? port[s] : st.old_port(s, lid); }

  void Start(Lid l, std::span<const uint32_t> seeds) {
    ++tick;
    lid = l;
    legal_only = st.endpoint_lid(l);
    queue.assign(seeds.begin(), seeds.end());
    for (uint32_t s : seeds) stamp[s] = tick, seed[s] = 1, down_entered[s] = 0;
    FindPending();
  }

  // Every switch whose route runs into a seed: its ancestors in the destination's tree.
  void FindPending() {
    const SwitchGraph& g = st.graph;
    for (size_t head = 0; head < queue.size(); ++head) {
      const uint32_t x = queue[head];
      for (uint32_t e = g.begin(x); e < g.end(x); ++e) {
        const uint32_t w = g.nbr(e);
        if (pending(w) || dead.node[w]) continue;
        const uint8_t p = st.old_port(w, lid);
        if (p >= st.stride || st.next_switch[size_t{w} * st.stride + p] != x) continue;
        stamp[w] = tick, seed[w] = 0, down_entered[w] = 0;
        if (st.down(w, x)) down_entered[x] = 1;
        queue.push_back(w);
      }
    }
  }

  PathState StateOf(uint32_t w) const {
    if (pending(w)) return decided(w) ? path[w] : PathState{};
    return st.FollowOld(w, lid);
  }

  double LoadWith(size_t ch, uint64_t extra) const { return static_cast<double>(load[ch] + extra) / st.share[ch]; }
  // The busiest channel, per capacity, of the route from w once `extra` routes join it.
  double BusiestFrom(uint32_t w, uint64_t extra) const {
    double busiest = 0;
    st.Follow(
        w, lid, [&](uint32_t s) { return port_now(s); },
        [&](size_t ch) { busiest = std::max(busiest, LoadWith(ch, extra)); });
    return busiest;
  }

  // The best usable next hop of x among decided or untouched neighbours: legal, then not
  // forcing a switch that forwards down into x to move, then fewest hops, then the least
  // busy route (its busiest channel with x's own endpoints' routes added).
  bool Choose(uint32_t x) {
    const SwitchGraph& g = st.graph;
    std::tuple<bool, uint32_t, double> best{true, kNone, 0};
    bool found = false;
    for (uint32_t e = g.begin(x); e < g.end(x); ++e) {
      const uint32_t w = g.nbr(e);
      if (dead.node[w]) continue;
      const PathState next = StateOf(w);
      if (!next.reachable) continue;
      const bool down = st.down(x, w);
      if (legal_only && (!next.legal || (down && !next.down_only))) continue;
      const bool breaks = legal_only && down_entered[x] && !(down && next.down_only);
      const double beyond = legal_only ? BusiestFrom(w, st.sources[x]) : 0;
      for (uint8_t p : g.ports(e)) {
        const size_t ch = size_t{x} * st.stride + p;
        if (dead.channel[ch]) continue;
        const double busiest = std::max(beyond, LoadWith(ch, st.sources[x]));
        std::tuple<bool, uint32_t, double> cost{breaks, next.hops, busiest};
        if (found && cost >= best) continue;
        found = true;
        best = cost;
        port[x] = p;
        path[x] = next;
        path[x].hops = next.hops + 1;
        path[x].down_only = down && next.down_only;
      }
    }
    if (!found) port[x] = kNoRoute, path[x] = PathState{};
    done[x] = tick;
    return found;
  }

  // Decides every pending switch: seeds and switches whose kept next hop no longer leads
  // legally to the destination move; the others keep their entry.
  void Decide() {
    std::vector<uint32_t> lost;
    for (uint32_t x : queue) {
      const bool routed = (!seed[x] && Keep(x)) || Choose(x);
      Settle(x, Flow::kOldAndNew);
      if (!routed) lost.push_back(x);
    }
    // A switch left without a route may reach one through a switch decided after it.
    for (bool progress = true; progress && !lost.empty();) {
      progress = false;
      std::erase_if(lost, [&](uint32_t x) {
        if (!Choose(x)) return false;
        Settle(x, Flow::kNew);
        return progress = true;
      });
    }
  }

  bool Keep(uint32_t x) {
    const uint8_t p = st.old_port(x, lid);
    const uint32_t y = st.next_switch[size_t{x} * st.stride + p];
    const PathState next = StateOf(y);
    const bool down = st.down(x, y);
    if (!next.reachable || (legal_only && down && !next.down_only)) return false;
    port[x] = p;
    path[x] = next;
    path[x].hops = next.hops + 1;
    path[x].down_only = down && next.down_only;
    done[x] = tick;
    return true;
  }

  // Moves the routes of x's endpoints off their old channels (once) and onto the new ones,
  // so later choices see them.
  enum class Flow { kOldAndNew, kNew };
  void Settle(uint32_t x, Flow flow) {
    const uint64_t c = st.sources[x];
    if (!legal_only || c == 0 || x == st.graph.lid_switch(lid)) return;
    auto old_of = [&](uint32_t s) { return st.old_port(s, lid); };
    auto now_of = [&](uint32_t s) { return port_now(s); };
    auto collect = [&](size_t ch) { crossed.push_back(ch); };
    crossed.clear();
    if (flow == Flow::kOldAndNew && st.Follow(x, lid, old_of, collect).reachable)
      for (size_t ch : crossed) load[ch] -= c;
    crossed.clear();
    if (path[x].reachable && st.Follow(x, lid, now_of, collect).reachable)
      for (size_t ch : crossed) load[ch] += c;
  }
};

struct SubnetOutcome {
  std::vector<Change> changes;
  uint64_t blocks_minimum = 0;
  uint64_t unreachable = 0;
  double load_after = 0;
};

uint64_t CountBlocks(std::vector<uint64_t>& keys) {
  std::sort(keys.begin(), keys.end());
  return static_cast<uint64_t>(std::unique(keys.begin(), keys.end()) - keys.begin());
}

enum class Unrouted { kLeave, kRetry };

// Takes the routes from and to the endpoints of down switches off the loads: those
// endpoints are gone. Walks every endpoint LID from each down switch with endpoints, and
// every endpoint switch towards the down switches' LIDs.
void DropDeadFlows(const SubnetState& st, const DeadSet& dead, std::vector<uint64_t>& load) {
  const uint32_t S = st.num_switches();
  auto old_of = [&](Lid lid) { return [&st, lid](uint32_t x) { return st.old_port(x, lid); }; };
  std::vector<size_t> crossed;
  auto drop = [&](uint32_t from, Lid lid, uint64_t routes) {
    crossed.clear();
    if (st.Follow(from, lid, old_of(lid), [&](size_t ch) { crossed.push_back(ch); }).reachable)
      for (size_t ch : crossed) load[ch] -= routes;
  };
  for (uint32_t d = 0; d < S; ++d) {
    if (!dead.node[d]) continue;
    for (Lid lid = 1; lid < st.routes->num_lids(); ++lid)
      if (st.endpoint_lid(lid) && st.graph.lid_switch(lid) != d && st.sources[d] > 0) drop(d, lid, st.sources[d]);
    for (Lid lid : st.graph.endpoint_lids(d))
      for (uint32_t s = 0; s < S; ++s)
        if (s != d && !dead.node[s] && st.sources[s] > 0) drop(s, lid, st.sources[s]);
  }
}

SubnetOutcome RepairSubnet(const SubnetState& st, const DeadSet& dead, Unrouted unrouted) {
  SubnetOutcome out;
  const size_t L = st.routes->num_lids();
  const uint64_t blocks_per_switch = (L + kLftBlock - 1) / kLftBlock;
  // Seeds: entries whose next hop died, and when a link returned, entries without a route.
  std::vector<std::pair<Lid, uint32_t>> seeds;
  if (unrouted == Unrouted::kRetry) seeds = st.no_route;
  std::vector<uint64_t> minimum;
  for (uint32_t ch : dead.channels) {
    const uint32_t s = ch / st.stride;
    const uint8_t p = static_cast<uint8_t>(ch % st.stride);
    const uint8_t* row = &st.routes->lft[size_t{s} * L];
    for (Lid lid = 1; lid < L; ++lid) {
      if (row[lid] != p) continue;
      const uint32_t dest = st.graph.lid_switch(lid);
      if (dest == kNone || dead.node[dest]) continue;  // its destination is gone with its switch
      seeds.emplace_back(lid, s);
      minimum.push_back(s * blocks_per_switch + lid / kLftBlock);
    }
  }
  out.blocks_minimum = CountBlocks(minimum);
  std::erase_if(seeds, [&](const std::pair<Lid, uint32_t>& seed) {
    return dead.node[seed.second] || dead.node[st.graph.lid_switch(seed.first)];
  });
  std::sort(seeds.begin(), seeds.end());
  seeds.erase(std::unique(seeds.begin(), seeds.end()), seeds.end());

  std::vector<uint64_t> load = st.load;
  DropDeadFlows(st, dead, load);
  std::vector<uint32_t> lid_seeds;
  LidRepair work(st, dead, load);
  for (size_t i = 0; i < seeds.size();) {
    const Lid lid = seeds[i].first;
    lid_seeds.clear();
    for (; i < seeds.size() && seeds[i].first == lid; ++i) lid_seeds.push_back(seeds[i].second);
    work.Start(lid, lid_seeds);
    work.Decide();
    for (uint32_t x : work.queue) {
      if (work.port[x] != st.old_port(x, lid)) out.changes.push_back({x, lid, work.port[x]});
      if (!work.path[x].reachable && work.legal_only && st.sources[x] > 0) ++out.unreachable;
    }
  }
  for (size_t ch = 0; ch < load.size(); ++ch)
    if (load[ch]) out.load_after = std::max(out.load_after, static_cast<double>(load[ch]) / st.share[ch]);
  return out;
}

bool TouchesSubnet(const DeadSet& dead, const SubnetState& st, Unrouted unrouted) {
  return !dead.channels.empty() || (unrouted == Unrouted::kRetry && !st.no_route.empty());
}

}  // namespace

Result<RepairResult> RouteRepairer::Repair(const FabricHealth& health) const {
  RepairResult result;
  if (auto done = Repair(health, result); !done) return std::unexpected(done.error());
  return result;
}

Result<void> RouteRepairer::Repair(const FabricHealth& health, RepairResult& result) const {
  const Fabric& fabric = *fabric_;
  if (health.link_down.size() > fabric.num_links() || health.node_down.size() > fabric.num_nodes())
    return MakeError(fmt::format("health mask covers {} links and {} nodes, the fabric has {} and {}",
                                 health.link_down.size(), health.node_down.size(), fabric.num_links(),
                                 fabric.num_nodes()));
  RouteSet buffers = std::move(result.routes);
  result = RepairResult{};
  result.routes = std::move(buffers);
  if (options_.routed_for)
    for (LinkId l = 0; l < fabric.num_links(); ++l)
      result.returned_links += health.link_usable(fabric, l) && !options_.routed_for->link_usable(fabric, l);
  const Unrouted unrouted = result.returned_links ? Unrouted::kRetry : Unrouted::kLeave;
  result.routes = *previous_;
  std::vector<std::string> reasons;
  std::vector<uint64_t> blocks;
  for (size_t i = 0; i < subnets_.size(); ++i) {
    const SubnetState& st = *subnets_[i];
    result.load_before = std::max(result.load_before, st.max_load);
    const DeadSet dead = CollectDead(fabric, health, st);
    if (!TouchesSubnet(dead, st, unrouted)) {
      result.load_after = std::max(result.load_after, st.max_load);
      continue;
    }
    if (!not_repairable_[i].empty()) {
      reasons.push_back(fmt::format("subnet {}: {}", st.subnet->name, not_repairable_[i]));
      continue;
    }
    SubnetOutcome out = RepairSubnet(st, dead, unrouted);
    SubnetRoutes& routes = result.routes.subnets[i];
    const size_t L = routes.num_lids();
    for (const Change& c : out.changes) {
      routes.lft[size_t{c.s} * L + c.lid] = c.port;
      blocks.push_back((uint64_t{i} << 48) | (uint64_t{c.s} << 24) | c.lid / kLftBlock);
    }
    result.entries_changed += out.changes.size();
    result.blocks_minimum += out.blocks_minimum;
    result.unreachable_lids += out.unreachable;
    result.load_after = std::max(result.load_after, out.load_after);
  }
  result.blocks_changed = CountBlocks(blocks);
  if (result.returned_links)
    reasons.push_back(fmt::format("{} links returned; repaired tables leave them idle", result.returned_links));
  if (result.load_after > options_.max_load_growth * result.load_before)
    reasons.push_back(fmt::format("the busiest channel grew from {:.0f} to {:.0f} routes per capacity (> {}x)",
                                  result.load_before, result.load_after, options_.max_load_growth));
  if (result.unreachable_lids)
    reasons.push_back(
        fmt::format("{} (switch, LID) entries of endpoint switches have no Up*/Down* route", result.unreachable_lids));
  result.full_reroute_advised = !reasons.empty();
  for (const std::string& r : reasons) result.why += (result.why.empty() ? "" : "; ") + r;
  return {};
}

Result<RepairResult> RepairRoutes(const Fabric& fabric, const FabricHealth& health, const RouteSet& previous,
                                  const RepairOptions& options) {
  auto repairer = RouteRepairer::Prepare(fabric, previous, options);
  if (!repairer) return std::unexpected(repairer.error());
  return repairer->Repair(health);
}

}  // namespace fabricctl
