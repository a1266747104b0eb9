#include "routing/repair.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <span>
#include <tuple>
#include <unordered_map>

#include "routing/channel_capacity.h"
#include "routing/dynamic_topological_order.h"
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
  std::vector<uint8_t> peer_port;     // by channel: the port of next_switch it enters by
  std::vector<uint32_t> pos;          // Up*/Down* order: a move to a lower pos is up
  std::vector<uint32_t> sources;      // endpoint ports per switch
  std::vector<double> share;          // by channel: capacity as a share of the top rate
  std::vector<uint64_t> load;         // by channel: endpoint pairs routed over it
  double max_load = 0;                // routes per capacity on the busiest channel
  std::vector<std::pair<Lid, uint32_t>> no_route;  // (endpoint LID, switch) entries without a route
  // The channel dependency graph of the tables: by (switch, port in, port out), how many
  // (endpoint switch, endpoint LID) routes enter the switch by one port and leave by the
  // other; and a topological order of it (by channel), the Up*/Down* order of channels.
  std::vector<uint32_t> deps;
  std::vector<uint32_t> order;

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
  // The dependency of a route entering next_switch[in] by `in` and leaving it by `out`.
  size_t dep_index(size_t in, size_t out) const {
    return (size_t{next_switch[in]} * stride + peer_port[in]) * stride + out % stride;
  }
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
  st.peer_port.assign(size_t{S} * st.stride, 0);
  st.share.assign(size_t{S} * st.stride, 1.0);
  const ChannelCapacity capacity(fabric, *st.subnet);
  for (uint32_t s = 0; s < S; ++s) {
    for (uint32_t e = g.begin(s); e < g.end(s); ++e)
      for (size_t i = 0; i < g.ports(e).size(); ++i) {
        st.next_switch[size_t{s} * st.stride + g.ports(e)[i]] = g.nbr(e);
        st.peer_port[size_t{s} * st.stride + g.ports(e)[i]] = g.peer_ports(e)[i];
      }
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
  st.deps.assign(size_t{S} * st.stride * st.stride, 0);
  st.no_route.clear();
  // Per LID, how many routes cross each channel and go on past its far end: every one of
  // them leaves there by that switch's entry, so each forms the same dependency.
  std::vector<uint32_t> through(st.next_switch.size(), 0);
  std::vector<size_t> used, crossed;
  for (Lid lid = 1; lid < st.routes->num_lids(); ++lid) {
    if (!st.endpoint_lid(lid)) continue;
    const uint32_t dest = st.graph.lid_switch(lid);
    used.clear();
    for (uint32_t s = 0; s < S; ++s) {
      if (st.sources[s] == 0 || s == dest) continue;
      crossed.clear();
      const PathState path = st.Follow(
          s, lid, [&](uint32_t x) { return st.old_port(x, lid); }, [&](size_t ch) { crossed.push_back(ch); });
      if (path.broken)
        return fmt::format("the route from {} to LID {} loops or leaves by a port without a switch", st.graph.node(s),
                           lid);
      if (path.no_route_at != kNone) continue;
      if (!path.legal)
        return fmt::format("the route from switch {} to LID {} goes down, then up", st.graph.node(s), lid);
      for (size_t i = 0; i < crossed.size(); ++i) {
        st.load[crossed[i]] += st.sources[s];
        if (i + 1 < crossed.size() && through[crossed[i]]++ == 0) used.push_back(crossed[i]);
      }
    }
    for (size_t ch : used) {
      const size_t y = st.next_switch[ch];
      st.deps[st.dep_index(ch, y * st.stride + st.old_port(static_cast<uint32_t>(y), lid))] += through[ch];
      through[ch] = 0;
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

// Numbers the channels so that every dependency of Up*/Down* routes goes to a higher
// number: up channels first, the switch they leave ever higher up, then down channels, the
// switch they leave ever lower down.
void BuildOrder(SubnetState& st) {
  const uint32_t S = st.num_switches();
  st.order.assign(st.next_switch.size(), 0);
  for (size_t ch = 0; ch < st.next_switch.size(); ++ch) {
    const uint32_t x = static_cast<uint32_t>(ch / st.stride), y = st.next_switch[ch];
    const uint32_t key = y != kNone && !st.down(x, y) ? S - st.pos[x] : S + st.pos[x];
    st.order[ch] = key * st.stride + static_cast<uint32_t>(ch % st.stride);
  }
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
    if (why.empty()) {
      BuildOrder(st);
      return {};
    }
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

// The down links and nodes of a health mask, listed once for all subnets.
struct DownList {
  std::vector<LinkId> links;
  std::vector<NodeId> nodes;
};
DownList ListDown(const FabricHealth& health) {
  DownList down;
  for (LinkId l = 0; l < health.link_down.size(); ++l)
    if (health.link_down[l]) down.links.push_back(l);
  for (NodeId n = 0; n < health.node_down.size(); ++n)
    if (health.node_down[n]) down.nodes.push_back(n);
  return down;
}

DeadSet CollectDead(const Fabric& fabric, const DownList& down, const SubnetState& st) {
  const SwitchGraph& g = st.graph;
  DeadSet dead;
  dead.channel.assign(st.next_switch.size(), 0);
  dead.node.assign(g.num_switches(), 0);
  auto kill = [&](PortId port) {
    const uint32_t s = g.local(fabric.port(port).node);
    if (s == kNone) return;
    const size_t ch = size_t{s} * st.stride + fabric.port(port).number;
    if (dead.channel[ch]) return;
    dead.channel[ch] = 1;
    dead.channels.push_back(static_cast<uint32_t>(ch));
  };
  for (LinkId l : down.links) {
    kill(fabric.link(l).a);
    kill(fabric.link(l).b);
  }
  for (NodeId n : down.nodes) {
    if (uint32_t s = g.local(n); s != kNone) dead.node[s] = 1;
    for (const Adjacency& a : fabric.neighbors(n)) {
      kill(a.local);
      kill(a.peer_port);
    }
  }
  // Only live switches' entries towards switches move: a down switch forwards nothing, and an
  // endpoint whose cable is down is unreachable whatever the tables say.
  std::erase_if(dead.channels,
                [&](uint32_t ch) { return dead.node[ch / st.stride] != 0 || st.next_switch[ch] == kNone; });
  return dead;
}

// The channel dependency graph of the tables as this repair changes them: the prepared
// counts, with the rows of the switches the repair touches copied and changed, and a
// topological order of it kept up to date as dependencies are added, so that a dependency
// that would close a cycle is refused. Down channels carry nothing and are left out.
class DependencyGraph {
 public:
  DependencyGraph(const SubnetState& st, const DeadSet& dead)
      : st_(st), dead_(dead), touched_(st.num_switches(), 0), order_(st.order, DynamicTopologicalOrder::Journal::kOn) {}

  // A dependency one route gains (+1) or loses (-1), applied by Commit.
  void Queue(size_t in, size_t out, int32_t delta) {
    pending_.push_back({static_cast<uint32_t>(in), static_cast<uint32_t>(out), delta});
  }
  // Applies the queued changes, losses first; false, with nothing applied, when a gained
  // dependency would close a cycle.
  bool Commit() {
    counts_journal_.clear();
    order_.Checkpoint();
    std::stable_partition(pending_.begin(), pending_.end(), [](const Delta& d) { return d.delta < 0; });
    for (const Delta& d : pending_) {
      const size_t dep = st_.dep_index(d.in, d.out);
      const uint32_t count = Count(dep);
      if (d.delta < 0) {
        if (count > 0) Set(dep, count - 1);
        continue;
      }
      if (count == 0 && !dead_.channel[d.in] && !dead_.channel[d.out] && !Insert(d.in, d.out)) {
        Undo();
        return false;
      }
      Set(dep, count + 1);
    }
    pending_.clear();
    return true;
  }
  void Discard() { pending_.clear(); }

 private:
  struct Delta {
    uint32_t in, out;
    int32_t delta;
  };
  // Counts as changed by this repair: the prepared ones, plus the differences kept apart
  // for the few switches whose dependencies changed.
  size_t SwitchOf(size_t dep) const { return dep / (size_t{st_.stride} * st_.stride); }
  uint32_t Count(size_t dep) const {
    if (!touched_[SwitchOf(dep)]) return st_.deps[dep];
    const auto it = changed_.find(dep);
    return it == changed_.end() ? st_.deps[dep] : it->second;
  }
  void Set(size_t dep, uint32_t count) {
    touched_[SwitchOf(dep)] = 1;
    const auto [it, inserted] = changed_.try_emplace(dep, st_.deps[dep]);
    counts_journal_.push_back({dep, it->second});
    it->second = count;
  }
  void Undo() {
    for (auto it = counts_journal_.rbegin(); it != counts_journal_.rend(); ++it) changed_[it->first] = it->second;
    order_.RollBack();
    pending_.clear();
  }

  // Calls visit(next) for every live channel a route over `ch` continues on (forward) or
  // comes from (backward).
  template <class Visit>
  void Successors(size_t ch, const Visit& visit) const {
    const size_t y = st_.next_switch[ch], base = y * st_.stride;
    const size_t row = (base + st_.peer_port[ch]) * st_.stride;
    for (size_t p = 1; p < st_.stride; ++p)
      if (st_.next_switch[base + p] != kNone && !dead_.channel[base + p] && Count(row + p)) visit(base + p);
  }
  template <class Visit>
  void Predecessors(size_t ch, const Visit& visit) const {
    const size_t y = ch / st_.stride, base = y * st_.stride;
    for (size_t q = 1; q < st_.stride; ++q) {
      if (st_.next_switch[base + q] == kNone || !Count((base + q) * st_.stride + ch % st_.stride)) continue;
      const size_t in = size_t{st_.next_switch[base + q]} * st_.stride + st_.peer_port[base + q];
      if (!dead_.channel[in]) visit(in);
    }
  }

  // Makes the order agree with in -> out; false when that closes a cycle.
  bool Insert(size_t in, size_t out) {
    auto forward = [this](size_t ch, const auto& visit) { Successors(ch, visit); };
    auto backward = [this](size_t ch, const auto& visit) { Predecessors(ch, visit); };
    return order_.MakeRoom(static_cast<uint32_t>(in), static_cast<uint32_t>(out), forward, backward);
  }

  const SubnetState& st_;
  const DeadSet& dead_;
  std::vector<uint8_t> touched_;                  // by switch: some count of it is in changed_
  std::unordered_map<size_t, uint32_t> changed_;  // by dependency: its count now
  DynamicTopologicalOrder order_;                 // of the live channels
  std::vector<Delta> pending_;
  std::vector<std::pair<size_t, uint32_t>> counts_journal_;
};

enum class Turns { kForbid, kAllow };

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
  std::vector<uint64_t>& load;                           // channel loads as repaired so far
  DependencyGraph* graph = nullptr;                      // tracked when down-then-up turns may be taken
  std::vector<std::pair<size_t, int64_t>> load_journal;  // this destination's load changes, to take back
  std::vector<size_t> crossed, crossed_old;
  std::vector<uint32_t> stamp, done;  // pending / decided in this tick
  std::vector<uint8_t> seed, down_entered;
  std::vector<PathState> path;  // decided route of a pending switch
  std::vector<uint8_t> port;    // decided entry of a pending switch
  std::vector<uint32_t> queue;  // pending switches, seeds first, then by distance from them
  std::vector<std::tuple<bool, double, uint32_t>> detach_candidates;
  uint32_t tick = 0;
  Lid lid = 0;
  bool legal_only = true;  // endpoint LIDs; switch LIDs carry management traffic only
  bool turns = false;      // this decision may turn down then up (checked on `graph` afterwards)
  bool turned = false;     // and did
  using Cost = std::tuple<bool, uint32_t, double>;  // new turn (or forced move), hops, busiest channel

  bool pending(uint32_t s) const { return stamp[s] == tick; }
  bool decided(uint32_t s) const { return done[s] == tick; }
  uint8_t port_now(uint32_t s) const { return pending(s) ? port[s] : st.old_port(s, lid); }

  void Start(Lid l, std::span<const uint32_t> seeds, Turns allow) {
    ++tick;
    lid = l;
    legal_only = st.endpoint_lid(l);
    turns = allow == Turns::kAllow && legal_only;
    turned = false;
    load_journal.clear();
    queue.assign(seeds.begin(), seeds.end());
    for (uint32_t s : seeds) {
      stamp[s] = tick;
      seed[s] = 1;
      down_entered[s] = 0;
    }
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
        stamp[w] = tick;
        seed[w] = 0;
        down_entered[w] = 0;
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
  // forcing a switch that forwards down into x to move (or, when turns are allowed, not
  // turning down then up on x's route or on a route entering x), then fewest hops, then
  // the least busy route (its busiest channel with x's own endpoints' routes added).
  bool Choose(uint32_t x) {
    const SwitchGraph& g = st.graph;
    Cost best{true, kNone, 0};
    bool found = false;
    for (uint32_t e = g.begin(x); e < g.end(x); ++e) {
      const uint32_t w = g.nbr(e);
      if (dead.node[w]) continue;
      const PathState next = StateOf(w);
      if (!next.reachable) continue;
      const bool down = st.down(x, w);
      const bool illegal = legal_only && (!next.legal || (down && !next.down_only));
      if (illegal && !turns) continue;
      const bool breaks = illegal || (legal_only && down_entered[x] && !(down && next.down_only));
      const double beyond = legal_only ? BusiestFrom(w, st.sources[x]) : 0;
      for (uint8_t p : g.ports(e)) {
        const size_t ch = size_t{x} * st.stride + p;
        if (dead.channel[ch]) continue;
        const double busiest = std::max(beyond, LoadWith(ch, st.sources[x]));
        Cost cost{breaks, next.hops, busiest};
        if (found && cost >= best) continue;
        found = true;
        best = cost;
        port[x] = p;
        path[x] = next;
        path[x].hops = next.hops + 1;
        path[x].down_only = down && next.down_only;
        path[x].legal = next.legal && !(down && !next.down_only);
      }
    }
    turned = turned || (found && std::get<0>(best) && turns);
    if (!found) {
      port[x] = kNoRoute;
      path[x] = PathState{};
    }
    done[x] = tick;
    return found;
  }

  // Decides every pending switch: seeds and switches whose kept next hop no longer leads to
  // the destination (legally, when turns are forbidden) move; the others keep their entry.
  void Decide() {
    std::vector<uint32_t> lost;
    for (uint32_t x : queue) {
      if (decided(x)) continue;  // moved out of a seed's way
      const bool routed = (!seed[x] && Keep(x)) || Choose(x) || ((turns || !legal_only) && Detach(x) && Choose(x));
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

  // x found no next hop: every live neighbour's route runs into it (on a fat tree, the
  // spine that lost its cable to a leaf, when every leaf of its pod sends that leaf's
  // endpoints through it). Decides first a neighbour that can go elsewhere, so x can go
  // through it: one entry moves instead of every switch upstream of x. Seeds first (their
  // entry moves anyway), then by the load of the cable from x.
  bool Detach(uint32_t x) {
    const SwitchGraph& g = st.graph;
    std::vector<std::tuple<bool, double, uint32_t>>& candidates = detach_candidates;
    candidates.clear();
    for (uint32_t e = g.begin(x); e < g.end(x); ++e) {
      const uint32_t w = g.nbr(e);
      if (!pending(w) || decided(w) || dead.node[w]) continue;
      double least = -1;
      for (uint8_t p : g.ports(e)) {
        const size_t ch = size_t{x} * st.stride + p;
        if (!dead.channel[ch] && (least < 0 || LoadWith(ch, 0) < least)) least = LoadWith(ch, 0);
      }
      if (least >= 0) candidates.emplace_back(!seed[w], least, w);
    }
    std::sort(candidates.begin(), candidates.end());
    for (const auto& [moves, load_from_x, w] : candidates) {
      if (Choose(w)) {
        Settle(w, Flow::kOldAndNew);
        return true;
      }
      done[w] = 0;  // undecided again: it may still be reached through another switch
    }
    return false;
  }

  bool Keep(uint32_t x) {
    const uint8_t p = st.old_port(x, lid);
    const uint32_t y = st.next_switch[size_t{x} * st.stride + p];
    const PathState next = StateOf(y);
    const bool down = st.down(x, y);
    const bool turn = legal_only && down && !next.down_only;
    if (!next.reachable || (turn && !turns)) return false;
    turned = turned || turn;
    port[x] = p;
    path[x] = next;
    path[x].hops = next.hops + 1;
    path[x].down_only = down && next.down_only;
    path[x].legal = next.legal && !turn;
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
    crossed_old.clear(), crossed.clear();
    if (flow == Flow::kOldAndNew && !st.Follow(x, lid, old_of, [&](size_t ch) { crossed_old.push_back(ch); }).reachable)
      crossed_old.clear();
    if (!path[x].reachable || !st.Follow(x, lid, now_of, [&](size_t ch) { crossed.push_back(ch); }).reachable)
      crossed.clear();
    // The part both routes share stays as it is.
    size_t shared = 0;
    while (shared < crossed_old.size() && shared < crossed.size() && crossed_old[shared] == crossed[shared]) ++shared;
    Move(crossed_old, shared, c, -1);
    Move(crossed, shared, c, 1);
  }
  // Puts x's endpoints' routes on (+1) or takes them off (-1) the channels of `route` from
  // `from` on, and its route's dependencies there in or out of the tracked graph.
  void Move(const std::vector<size_t>& route, size_t from, uint64_t routes, int sign) {
    const int64_t delta = sign * static_cast<int64_t>(routes);
    for (size_t i = from; i < route.size(); ++i) {
      load[route[i]] += static_cast<uint64_t>(delta);
      load_journal.emplace_back(route[i], delta);
      if (graph && i > 0) graph->Queue(route[i - 1], route[i], sign);
    }
  }
  // Takes back this destination's load changes and queued dependencies.
  void Undo() {
    for (auto it = load_journal.rbegin(); it != load_journal.rend(); ++it)
      load[it->first] -= static_cast<uint64_t>(it->second);
    load_journal.clear();
    if (graph) graph->Discard();
  }
};

struct SubnetOutcome {
  std::vector<Change> changes;
  uint64_t blocks_minimum = 0;
  uint64_t unreachable = 0;
  uint64_t turn_lids = 0;
  uint64_t turns_refused = 0;
  bool cycle = false;  // an Up*/Down* repair closed a cycle with turns taken before: repair without turns
  double load_after = 0;
};

enum class LidOutcome { kRepaired, kTurned, kTurnRefused, kCycle };

// Decides one destination. With a tracked graph, first letting routes turn down then up
// where that keeps entries, kept only when the graph stays acyclic; else Up*/Down* only,
// which must keep it acyclic too (turns taken for other destinations are in it).
LidOutcome RepairLid(LidRepair& work, Lid lid, std::span<const uint32_t> seeds) {
  if (work.graph) {
    work.Start(lid, seeds, Turns::kAllow);
    work.Decide();
    if (work.graph->Commit()) return work.turned ? LidOutcome::kTurned : LidOutcome::kRepaired;
    work.Undo();
  }
  work.Start(lid, seeds, Turns::kForbid);
  work.Decide();
  if (!work.graph || work.graph->Commit()) return work.graph ? LidOutcome::kTurnRefused : LidOutcome::kRepaired;
  return LidOutcome::kCycle;
}

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

// The (endpoint LID, switch) entries that must move, sorted by LID: those whose next hop
// died, and when a link returned, those without a route. Counts the minimum blocks.
std::vector<std::pair<Lid, uint32_t>> CollectSeeds(const SubnetState& st, const DeadSet& dead, Unrouted unrouted,
                                                   SubnetOutcome& out) {
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
  return seeds;
}

SubnetOutcome RepairSubnet(const SubnetState& st, const DeadSet& dead, Unrouted unrouted, Turns turns) {
  SubnetOutcome out;
  const std::vector<std::pair<Lid, uint32_t>> seeds = CollectSeeds(st, dead, unrouted, out);
  std::vector<uint64_t> load = st.load;
  DropDeadFlows(st, dead, load);
  std::vector<uint32_t> lid_seeds;
  LidRepair work(st, dead, load);
  std::optional<DependencyGraph> graph;
  if (turns == Turns::kAllow) work.graph = &graph.emplace(st, dead);
  for (size_t i = 0; i < seeds.size();) {
    const Lid lid = seeds[i].first;
    lid_seeds.clear();
    for (; i < seeds.size() && seeds[i].first == lid; ++i) lid_seeds.push_back(seeds[i].second);
    switch (RepairLid(work, lid, lid_seeds)) {
      case LidOutcome::kRepaired:
        break;
      case LidOutcome::kTurned:
        ++out.turn_lids;
        break;
      case LidOutcome::kTurnRefused:
        ++out.turns_refused;
        break;
      case LidOutcome::kCycle:
        out.cycle = true;
        return out;
    }
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

void RouteRepairer::ResetTables(RepairResult& result) const {
  // Tables this repairer left in `result` differ from the previous ones only where it
  // changed them: put those back instead of copying every table again.
  bool reuse = result.repaired_from == previous_ && result.routes.subnets.size() == previous_->subnets.size();
  for (size_t i = 0; reuse && i < previous_->subnets.size(); ++i)
    reuse = result.routes.subnets[i].lft.size() == previous_->subnets[i].lft.size();
  RouteSet tables = std::move(result.routes);
  std::vector<RepairResult::Entry> changed = std::move(result.changed);
  result = RepairResult{};
  if (reuse) {
    for (const RepairResult::Entry& e : changed) {
      const size_t at = size_t{e.switch_index} * previous_->subnets[e.subnet].num_lids() + e.lid;
      tables.subnets[e.subnet].lft[at] = previous_->subnets[e.subnet].lft[at];
    }
    result.routes = std::move(tables);
  } else {
    result.routes = std::move(tables);  // its memory is already in use: copying into it is faster
    result.routes = *previous_;
  }
  changed.clear();
  result.changed = std::move(changed);
  result.repaired_from = previous_;
}

Result<RepairResult> RouteRepairer::Repair(const FabricHealth& health) const {
  RepairResult result;
  if (auto done = Repair(health, result); !done) return std::unexpected(done.error());
  return result;
}

Result<void> RouteRepairer::Repair(const FabricHealth& health, RepairResult& result) const {
  return RepairAs(health, options_.turns, result);
}

Result<void> RouteRepairer::RepairWithoutTurns(const FabricHealth& health, RepairResult& result) const {
  return RepairAs(health, false, result);
}

Result<void> RouteRepairer::RepairAs(const FabricHealth& health, bool allow_turns, RepairResult& result) const {
  const Fabric& fabric = *fabric_;
  if (health.link_down.size() > fabric.num_links() || health.node_down.size() > fabric.num_nodes())
    return MakeError(fmt::format("health mask covers {} links and {} nodes, the fabric has {} and {}",
                                 health.link_down.size(), health.node_down.size(), fabric.num_links(),
                                 fabric.num_nodes()));
  ResetTables(result);
  if (options_.routed_for)
    for (LinkId l = 0; l < fabric.num_links(); ++l)
      result.returned_links += health.link_usable(fabric, l) && !options_.routed_for->link_usable(fabric, l);
  const Unrouted unrouted = result.returned_links ? Unrouted::kRetry : Unrouted::kLeave;
  std::vector<std::string> reasons;
  std::vector<uint64_t> blocks;
  const DownList down = ListDown(health);
  for (size_t i = 0; i < subnets_.size(); ++i) {
    const SubnetState& st = *subnets_[i];
    result.load_before = std::max(result.load_before, st.max_load);
    const DeadSet dead = CollectDead(fabric, down, st);
    if (!TouchesSubnet(dead, st, unrouted)) {
      result.load_after = std::max(result.load_after, st.max_load);
      continue;
    }
    if (!not_repairable_[i].empty()) {
      reasons.push_back(fmt::format("subnet {}: {}", st.subnet->name, not_repairable_[i]));
      continue;
    }
    SubnetOutcome out = RepairSubnet(st, dead, unrouted, allow_turns ? Turns::kAllow : Turns::kForbid);
    if (out.cycle) {
      // Turns taken for some destinations left no acyclic Up*/Down* repair for a later one:
      // repair the subnet without turns, which is acyclic by construction.
      const uint64_t refused = out.turn_lids + out.turns_refused + 1;
      out = RepairSubnet(st, dead, unrouted, Turns::kForbid);
      out.turns_refused = refused;
    }
    SubnetRoutes& routes = result.routes.subnets[i];
    const size_t L = routes.num_lids();
    for (const Change& c : out.changes) {
      routes.lft[size_t{c.s} * L + c.lid] = c.port;
      result.changed.push_back({static_cast<uint32_t>(i), c.s, c.lid});
      blocks.push_back((uint64_t{i} << 48) | (uint64_t{c.s} << 24) | c.lid / kLftBlock);
    }
    result.entries_changed += out.changes.size();
    result.blocks_minimum += out.blocks_minimum;
    result.unreachable_lids += out.unreachable;
    result.turn_lids += out.turn_lids;
    result.turns_refused += out.turns_refused;
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
        fmt::format("{} (switch, LID) entries of endpoint switches have no route", result.unreachable_lids));
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
