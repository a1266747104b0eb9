#include "probes/sweep/sweep_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "probes/sweep/probe_path.h"

namespace fabricctl::sweep {
namespace {

// Endpoint ports of a routed subnet whose LID its tables cover, in subnet order.
std::vector<PortId> RoutedEndpoints(const Subnet& subnet, const SubnetRoutes& sr, const RouteSet& routes) {
  std::vector<PortId> endpoints;
  for (PortId p : subnet.endpoint_ports) {
    Lid lid = p < routes.port_lid.size() ? routes.port_lid[p] : 0;
    if (lid != 0 && lid < sr.num_lids()) endpoints.push_back(p);
  }
  return endpoints;
}

// The channels leaving the subnet's switches.
std::vector<PortId> SwitchChannels(const Fabric& fabric, const SubnetRoutes& sr) {
  std::vector<PortId> channels;
  for (NodeId sw : sr.switches)
    for (const Adjacency& a : fabric.neighbors(sw)) channels.push_back(a.local);
  return channels;
}

// Working state of the planner for one fabric; probes of all subnets share it.
class Planner {
 public:
  Planner(const Fabric& fabric, const RouteSet& routes, const PlanOptions& options)
      : f_(fabric),
        routes_(routes),
        options_(options),
        index_(fabric, routes),
        sources_(fabric, routes, index_),
        rng_(options.seed),
        need_(fabric.num_port_slots(), 0),
        src_deg_(fabric.num_port_slots(), 0),
        dst_deg_(fabric.num_port_slots(), 0) {}

  Result<SweepPlan> Run() {
    for (const SubnetRoutes& sr : routes_.subnets) {
      if (sr.subnet >= f_.subnets().size())
        return MakeError(fmt::format("routes name subnet {} which the topology lacks", sr.subnet));
      if (auto r = PlanSubnet(f_.subnets()[sr.subnet], sr); !r) return std::unexpected(r.error());
    }
    plan_.coverage = options_.coverage;
    SummarisePlan(f_, routes_, plan_);
    return std::move(plan_);
  }

 private:
  Lid lid(PortId p) const { return p < routes_.port_lid.size() ? routes_.port_lid[p] : 0; }

  // Who is busy in each round; subnets share no ports, so one table serves them all.
  struct RoundUse {
    std::vector<uint8_t> ep, ch;
  };
  RoundUse& Round(uint32_t r) {
    while (rounds_.size() <= r)
      rounds_.push_back({std::vector<uint8_t>(f_.num_port_slots(), 0), std::vector<uint8_t>(f_.num_port_slots(), 0)});
    return rounds_[r];
  }
  bool PathFree(uint32_t r, const std::vector<PortId>& path) {
    const RoundUse& u = Round(r);
    for (PortId c : path)
      if (u.ch[c]) return false;
    return true;
  }
  uint32_t Wanted(const std::vector<PortId>& path) const {
    uint32_t w = 0;
    for (PortId c : path) w += need_[c] > 0;
    return w;
  }
  void Take(uint32_t r, PortId src, PortId dst, const std::vector<PortId>& path) {
    RoundUse& u = Round(r);
    u.ep[src] = u.ep[dst] = 1;
    for (PortId c : path) u.ch[c] = 1;
    PlannedProbe probe{
        .src = src, .dst = dst, .round = r, .path_begin = static_cast<uint32_t>(plan_.path_channels.size())};
    plan_.path_channels.insert(plan_.path_channels.end(), path.begin(), path.end());
    probe.path_end = static_cast<uint32_t>(plan_.path_channels.size());
    for (PortId c : path) --need_[c];
    ++src_deg_[src];
    ++dst_deg_[dst];
    plan_.probes.push_back(probe);
    plan_.num_rounds = std::max(plan_.num_rounds, r + 1);
  }
  // The earliest round from `first` on where the pair and the path are free.
  void Place(PortId src, PortId dst, const std::vector<PortId>& path, uint32_t first) {
    for (uint32_t r = first;; ++r) {
      const RoundUse& u = Round(r);
      if (u.ep[src] || u.ep[dst] || !PathFree(r, path)) continue;
      Take(r, src, dst, path);
      return;
    }
  }

  // Links crossed by exactly the same probes cannot be told apart by any analysis. Phase 3
  // adds probes that cross one link of such a group and not the others, into the earliest
  // round with room, until every group is split or no probe can split it.
  Result<void> Disambiguate(const SubnetRoutes& sr, const std::vector<PortId>& switch_channels,
                            const std::vector<PortId>& bucket, const std::vector<uint32_t>& start) {
    std::vector<LinkId> links;
    for (PortId c : switch_channels) {
      LinkId l = f_.port(c).link;
      if (f_.link(l).a == c || !f_.is_switch(f_.port(f_.link(l).a).node) || f_.link(l).b == c) links.push_back(l);
    }
    std::sort(links.begin(), links.end());
    links.erase(std::unique(links.begin(), links.end()), links.end());
    std::vector<PortId> srcs, path, best_path;
    for (int pass = 0; pass < 3; ++pass) {
      // Signature of a link: sum of random keys of the probes crossing it.
      std::vector<uint64_t> sig(f_.num_links(), 0);
      for (const PlannedProbe& p : plan_.probes) {
        uint64_t key = Mix(p.path_begin);
        for (PortId c : plan_.path(p)) sig[f_.port(c).link] += key;
      }
      std::vector<std::pair<uint64_t, LinkId>> by_sig;
      for (LinkId l : links)
        if (sig[l] != 0) by_sig.emplace_back(sig[l], l);
      std::sort(by_sig.begin(), by_sig.end());
      size_t added = 0;
      for (size_t i = 0; i < by_sig.size();) {
        size_t j = i;
        while (j < by_sig.size() && by_sig[j].first == by_sig[i].first) ++j;
        if (j - i >= 2) {
          // Split the group: a probe across its first link that misses another of its links.
          LinkId target = by_sig[i].second;
          std::vector<LinkId> others;
          for (size_t k = i + 1; k < j; ++k) others.push_back(by_sig[k].second);
          bool done = false;
          for (PortId c : {f_.link(target).a, f_.link(target).b}) {
            if (done || !f_.is_switch(f_.port(c).node)) continue;
            std::span<const PortId> behind(bucket.data() + start[c], start[c + 1] - start[c]);
            PortId best_src = kNone, best_dst = kNone;
            uint32_t best_load = UINT32_MAX;
            for (int tries = 0; tries < 8 && !behind.empty(); ++tries) {
              PortId d = behind[rng_() % behind.size()];
              sources_.Find(sr, f_.port(c).node, d, 32, rng_, srcs);
              for (PortId src : srcs) {
                uint32_t load = std::max(src_deg_[src] + dst_deg_[src], src_deg_[d] + dst_deg_[d]);
                if (load >= best_load) continue;
                path.clear();
                if (auto r = AppendProbePath(f_, routes_, index_, src, d, path); !r) return r;
                bool misses = false;
                for (LinkId o : others) {
                  bool on = false;
                  for (PortId x : path) on |= f_.port(x).link == o;
                  misses |= !on;
                }
                if (!misses) continue;
                best_load = load;
                best_src = src;
                best_dst = d;
                best_path = path;
              }
            }
            if (best_src != kNone) {
              Place(best_src, best_dst, best_path, 0);
              done = true;
              ++added;
            }
          }
        }
        i = j;
      }
      if (added == 0) break;
    }
    return {};
  }
  static uint64_t Mix(uint64_t x) {  // splitmix64: distinct probes get unrelated keys
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  }

  // How busy an endpoint port already is; rounds are bounded by the busiest one, and the
  // role asked for counts a little more so sends and receives stay even.
  enum Role { kAsSrc, kAsDst };
  uint32_t Load(PortId p, Role role) const {
    return (src_deg_[p] + dst_deg_[p]) * 4 + (role == kAsSrc ? src_deg_[p] : dst_deg_[p]);
  }

  // Destinations behind each switch channel, from the LFTs: bucket[start[c]..start[c + 1]).
  struct Buckets {
    std::vector<PortId> bucket;
    std::vector<uint32_t> start;
  };
  Buckets BucketDestinations(const SubnetRoutes& sr, const std::vector<PortId>& endpoints) const {
    auto for_each_entry = [&](auto&& visit) {
      for (size_t i = 0; i < sr.switches.size(); ++i)
        for (PortId e : endpoints) {
          uint8_t p = sr.out_port(i, lid(e));
          if (p != kNoRoute && p != 0 && p <= f_.node(sr.switches[i]).num_ports)
            visit(f_.port_id(sr.switches[i], p), e);
        }
    };
    std::vector<uint32_t> counts(f_.num_port_slots(), 0);
    for_each_entry([&](PortId channel, PortId) { ++counts[channel]; });
    Buckets b;
    b.start.assign(f_.num_port_slots() + 1, 0);
    for (size_t p = 0; p < counts.size(); ++p) b.start[p + 1] = b.start[p] + counts[p];
    b.bucket.resize(b.start.back());
    std::vector<uint32_t> fill(b.start.begin(), b.start.end() - 1);
    for_each_entry([&](PortId channel, PortId e) { b.bucket[fill[channel]++] = e; });
    return b;
  }

  // Farther-from-endpoints switches first: their channels have the fewest pairs to choose from.
  void SortFarthestFirst(const std::vector<PortId>& endpoints, std::vector<PortId>& switch_channels) const {
    std::vector<uint32_t> height(f_.num_nodes(), kNone);
    std::vector<NodeId> bfs;
    for (PortId e : endpoints) {
      NodeId sw = f_.port(f_.port(e).peer).node;
      if (f_.is_switch(sw) && height[sw] == kNone) {
        height[sw] = 1;
        bfs.push_back(sw);
      }
    }
    for (size_t h = 0; h < bfs.size(); ++h)
      for (const Adjacency& a : f_.neighbors(bfs[h]))
        if (f_.is_switch(a.peer_node) && height[a.peer_node] == kNone) {
          height[a.peer_node] = height[bfs[h]] + 1;
          bfs.push_back(a.peer_node);
        }
    std::stable_sort(switch_channels.begin(), switch_channels.end(), [&](PortId a, PortId b) {
      uint32_t ha = height[f_.port(a).node], hb = height[f_.port(b).node];
      return (ha == kNone ? 0 : ha) > (hb == kNone ? 0 : hb);
    });
  }

  // Phase 1: shift permutations over the subnet's endpoint order. Each shift gives every
  // endpoint one send and one receive; alternating along the permutation's cycles splits
  // it into two rounds. On fat trees routed for shifts (ftree) these rounds are free of
  // shared channels and a few shifts cover every channel, which is the optimum.
  Result<void> PlanShifts(const std::vector<PortId>& endpoints) {
    const size_t count = endpoints.size();
    // Endpoints per first-hop switch, from the first endpoint: a shift by that many turns at
    // a lower tier than the long shifts, which tells the tiers of an up-path apart.
    size_t local = 0;
    NodeId first_hop = f_.port(f_.port(endpoints[0]).peer).node;
    for (const Adjacency& a : f_.neighbors(first_hop)) local += !f_.is_switch(a.peer_node);
    std::vector<size_t> shifts;
    for (uint32_t j = 0; j < options_.coverage; ++j)
      // Not count/2: that shift pairs i and i+count/2 both ways, so the two probes cross the
      // same links and no probe could tell those links apart.
      // The + (j + 1) keeps shifts off multiples of the endpoints per switch: routes that
      // pick the up-port by destination would otherwise send an endpoint's every probe
      // through one up-link, making the two inseparable.
      shifts.push_back((count / 2 + (j + 1) * std::max<size_t>(1, count / (4 * options_.coverage)) + j + 1) % count);
    if (local > 0 && local + 1 < count) shifts.push_back(local + 1);
    std::vector<PortId> path;
    for (uint32_t j = 0; j < shifts.size(); ++j) {
      size_t shift = shifts[j] == 0 ? 1 : shifts[j];
      std::vector<uint8_t> seen(count, 0);
      for (size_t i0 = 0; i0 < count; ++i0) {
        if (seen[i0]) continue;
        size_t i = i0, step = 0;
        do {
          seen[i] = 1;
          size_t t = (i + shift) % count;
          path.clear();
          if (auto r = AppendProbePath(f_, routes_, index_, endpoints[i], endpoints[t], path); !r) return r;
          Place(endpoints[i], endpoints[t], path, 2 * j + (step % 2));
          ++step;
          i = t;
        } while (i != i0);
      }
    }
    return {};
  }

  // One probe for a channel still short of probes in `round`, from the destinations behind
  // it: the free pair whose path covers most wanted channels. Returns whether one was added.
  Result<bool> CoverChannel(const SubnetRoutes& sr, uint32_t round, PortId channel, std::vector<PortId>& dsts) {
    NodeId sw = f_.port(channel).node;
    int tried = 0;
    for (size_t j = 0; j < dsts.size() && tried < 6;) {
      PortId d = dsts[j];
      if (rounds_[round].ep[d]) {
        ++j;
        continue;
      }
      ++tried;
      sources_.Find(sr, sw, d, 48, rng_, srcs_);
      if (srcs_.empty()) {  // no route to d crosses this channel: never a candidate again
        dsts[j] = dsts.back();
        dsts.pop_back();
        continue;
      }
      PortId best = kNone;
      uint64_t best_key = 0;
      for (PortId src : srcs_) {
        if (rounds_[round].ep[src]) continue;
        path_.clear();
        if (auto r = AppendProbePath(f_, routes_, index_, src, d, path_); !r) return std::unexpected(r.error());
        if (!PathFree(round, path_)) continue;
        uint64_t load = std::min<uint64_t>(0xffff, Load(src, kAsSrc) + Load(d, kAsDst));
        uint64_t key = (uint64_t(Wanted(path_)) << 40) | ((0xffff - load) << 20) | (rng_() & 0xfffff);
        if (best == kNone || key > best_key) {
          best = src;
          best_key = key;
          best_path_ = path_;
        }
      }
      if (best != kNone) {
        Take(round, best, d, best_path_);
        return true;
      }
      ++j;
    }
    return false;
  }

  // Endpoints that still send fewer than `coverage` probes: pair them with free receivers.
  Result<size_t> PairShortSenders(uint32_t round, const std::vector<PortId>& endpoints) {
    size_t added = 0;
    for (PortId e : endpoints) {
      if (need_[e] <= 0 || rounds_[round].ep[e]) continue;
      for (int k = 0; k < 32; ++k) {
        PortId d = endpoints[rng_() % endpoints.size()];
        if (d == e || rounds_[round].ep[d]) continue;
        path_.clear();
        if (auto r = AppendProbePath(f_, routes_, index_, e, d, path_); !r) return std::unexpected(r.error());
        if (!PathFree(round, path_)) continue;
        Take(round, e, d, path_);
        ++added;
        break;
      }
    }
    return added;
  }

  // Phase 2: channels still short of probes, hardest first, into the earliest round where
  // the pair and the path are free, choosing the pair that covers most wanted channels.
  Result<void> CoverShortChannels(const SubnetRoutes& sr, const std::vector<PortId>& endpoints,
                                  const std::vector<PortId>& switch_channels, const Buckets& buckets) {
    std::vector<std::vector<PortId>> candidates(switch_channels.size());
    for (size_t k = 0; k < switch_channels.size(); ++k) {
      PortId c = switch_channels[k];
      if (need_[c] <= 0) continue;
      candidates[k].assign(buckets.bucket.begin() + buckets.start[c], buckets.bucket.begin() + buckets.start[c + 1]);
      std::shuffle(candidates[k].begin(), candidates[k].end(), rng_);
    }
    for (uint32_t round = 0;; ++round) {
      Round(round);
      size_t added = 0;
      for (size_t k = 0; k < switch_channels.size(); ++k) {
        PortId c = switch_channels[k];
        if (need_[c] <= 0 || rounds_[round].ch[c]) continue;
        auto covered = CoverChannel(sr, round, c, candidates[k]);
        if (!covered) return std::unexpected(covered.error());
        added += *covered;
      }
      auto paired = PairShortSenders(round, endpoints);
      if (!paired) return std::unexpected(paired.error());
      added += *paired;
      if (added == 0 && round + 1 >= rounds_.size()) return {};
    }
  }

  Result<void> PlanSubnet(const Subnet& subnet, const SubnetRoutes& sr) {
    std::vector<PortId> endpoints = RoutedEndpoints(subnet, sr, routes_);
    if (endpoints.size() < 2) return {};
    // Channels of this subnet, all wanting `coverage` probes.
    std::vector<PortId> switch_channels = SwitchChannels(f_, sr);
    for (PortId c : switch_channels) need_[c] = static_cast<int32_t>(options_.coverage);
    for (PortId e : endpoints) need_[e] = static_cast<int32_t>(options_.coverage);
    Buckets buckets = BucketDestinations(sr, endpoints);
    SortFarthestFirst(endpoints, switch_channels);
    if (auto r = PlanShifts(endpoints); !r) return r;
    if (auto r = CoverShortChannels(sr, endpoints, switch_channels, buckets); !r) return r;
    return Disambiguate(sr, switch_channels, buckets.bucket, buckets.start);
  }

  const Fabric& f_;
  const RouteSet& routes_;
  const PlanOptions& options_;
  RouteIndex index_;
  SourceFinder sources_;
  std::mt19937_64 rng_;
  std::vector<int32_t> need_;
  std::vector<uint32_t> src_deg_, dst_deg_;
  std::vector<RoundUse> rounds_;
  std::vector<PortId> srcs_, path_, best_path_;  // scratch of CoverChannel and PairShortSenders
  SweepPlan plan_;
};

}  // namespace

void SourceFinder::Find(const SubnetRoutes& sr, NodeId from, PortId dst, size_t want, std::mt19937_64& rng,
                        std::vector<PortId>& out) {
  auto lid = [&](PortId p) -> Lid { return p < routes_.port_lid.size() ? routes_.port_lid[p] : 0; };
  const Lid dlid = lid(dst);
  out.clear();
  if (visit_.size() < sr.switches.size()) visit_.resize(sr.switches.size(), 0);
  ++stamp_;
  queue_.clear();
  uint32_t first = index_.switch_index(from);
  if (first == kNone || first >= visit_.size()) return;
  queue_.push_back(from);
  visit_[first] = stamp_;
  for (size_t head = 0; head < queue_.size() && out.size() < want; ++head) {
    NodeId y = queue_[head];
    // Start at a random neighbour: a fixed order would hand every search the same few
    // sources and overload them.
    auto adj = f_.neighbors(y);
    const size_t start = adj.empty() ? 0 : rng() % adj.size();
    for (size_t k = 0; k < adj.size(); ++k) {
      const Adjacency& a = adj[(start + k) % adj.size()];
      if (!f_.is_switch(a.peer_node)) {
        if (a.peer_port != dst && lid(a.peer_port) != 0) out.push_back(a.peer_port);
        continue;
      }
      uint32_t zi = index_.switch_index(a.peer_node);
      if (zi == kNone || zi >= visit_.size() || visit_[zi] == stamp_) continue;
      // z forwards dlid towards y?
      if (sr.out_port(zi, dlid) != f_.port(a.peer_port).number) continue;
      visit_[zi] = stamp_;
      queue_.push_back(a.peer_node);
    }
  }
}

void SummarisePlan(const Fabric& fabric, const RouteSet& routes, SweepPlan& plan) {
  std::vector<PortId> channels;
  size_t endpoints = 0;
  for (const SubnetRoutes& sr : routes.subnets) {
    if (sr.subnet >= fabric.subnets().size()) continue;
    std::vector<PortId> routed = RoutedEndpoints(fabric.subnets()[sr.subnet], sr, routes);
    if (routed.size() < 2) continue;  // the planner has nothing to probe there
    std::vector<PortId> switch_channels = SwitchChannels(fabric, sr);
    channels.insert(channels.end(), switch_channels.begin(), switch_channels.end());
    channels.insert(channels.end(), routed.begin(), routed.end());
    endpoints += routed.size();
  }
  std::vector<uint32_t> crossings(fabric.num_port_slots(), 0);
  for (PortId c : plan.path_channels) ++crossings[c];
  plan.channels = channels.size();
  plan.channels_covered = plan.channels_at_target = 0;
  for (PortId c : channels) {
    plan.channels_covered += crossings[c] > 0;
    plan.channels_at_target += crossings[c] >= plan.coverage;
  }
  plan.channels_limited = plan.channels - plan.channels_at_target;
  std::vector<uint32_t> probes_of(fabric.num_port_slots(), 0);
  plan.num_rounds = 0;
  for (const PlannedProbe& p : plan.probes) {
    ++probes_of[p.src];
    ++probes_of[p.dst];
    plan.num_rounds = std::max(plan.num_rounds, p.round + 1);
  }
  plan.max_probes_per_endpoint = probes_of.empty() ? 0 : *std::max_element(probes_of.begin(), probes_of.end());
  plan.lower_bound = endpoints == 0 ? 0 : 2 * plan.coverage;
}

Result<SweepPlan> PlanSweep(const Fabric& fabric, const RouteSet& routes, const PlanOptions& options) {
  if (options.coverage < 1) return MakeError("coverage must be at least 1");
  if (routes.port_lid.size() != fabric.num_port_slots())
    return MakeError("routes do not match the topology (port count differs)");
  Planner planner(fabric, routes, options);
  return planner.Run();
}

}  // namespace fabricctl::sweep
