#include "probes/sweep/reprobe.h"

#include <algorithm>
#include <random>

#include "probes/sweep/probe_path.h"

namespace fabricctl::sweep {
namespace {

// Chooses pairs whose routed path crosses a given channel.
class PairChooser {
 public:
  PairChooser(const Fabric& fabric, const RouteSet& routes, uint64_t seed)
      : f_(fabric), routes_(routes), index_(fabric, routes), sources_(fabric, routes, index_), rng_(seed) {}

  std::vector<ProbePair> Through(PortId channel, uint32_t want) {
    std::vector<ProbePair> pairs;
    const SubnetRoutes* sr = index_.routes_of(f_.subnet_of(channel));
    if (sr == nullptr || want == 0) return pairs;
    const NodeId node = f_.port(channel).node;
    std::vector<PortId> dsts = f_.is_switch(node) ? Behind(*sr, channel) : RoutedPeers(*sr, channel);
    std::shuffle(dsts.begin(), dsts.end(), rng_);
    // From an endpoint: peers on the same switch first, whose two-link paths add the least
    // latency and the fewest other links, so the suspect's share of each probe is largest.
    if (!f_.is_switch(node)) {
      const NodeId edge = f_.port(f_.port(channel).peer).node;
      auto near = [&](PortId d) { return f_.port(d).peer != kNone && f_.port(f_.port(d).peer).node == edge; };
      // Near and least loaded first: the extra rounds are as many as the busiest port's re-probes.
      std::stable_sort(dsts.begin(), dsts.end(), [&](PortId a, PortId b) {
        return std::make_pair(!near(a), load_[a]) < std::make_pair(!near(b), load_[b]);
      });
    }
    std::vector<PortId> srcs;
    // Destinations in turn, again and again: a channel with few destinations behind it
    // (an endpoint's access link) gets its probes from many sources instead.
    for (size_t k = 0; !dsts.empty() && k < size_t(want) * 4 && pairs.size() < want; ++k) {
      PortId d = dsts[k % dsts.size()];
      if (!f_.is_switch(node)) {
        Take(channel, d, pairs);
        continue;
      }
      // Among the nearest sources (the search goes breadth first, from a random neighbour),
      // whose paths cross the fewest other links and so tell the suspect from its
      // neighbours best, the one with the fewest re-probes so far: the extra rounds are as
      // many as the busiest port's re-probes.
      sources_.Find(*sr, node, d, 3, rng_, srcs);
      if (srcs.empty()) continue;
      PortId src = *std::min_element(srcs.begin(), srcs.end(), [&](PortId a, PortId b) { return load_[a] < load_[b]; });
      Take(src, d, pairs);
    }
    return pairs;
  }

  Result<void> Path(PortId src, PortId dst, std::vector<PortId>& out) const {
    return AppendProbePath(f_, routes_, index_, src, dst, out);
  }

 private:
  Lid lid(PortId p) const { return p < routes_.port_lid.size() ? routes_.port_lid[p] : 0; }
  void Take(PortId src, PortId dst, std::vector<ProbePair>& pairs) {
    pairs.push_back({.src = src, .dst = dst});
    ++load_[src];
    ++load_[dst];
  }
  bool Routed(const SubnetRoutes& sr, PortId p) const { return lid(p) != 0 && lid(p) < sr.num_lids(); }

  // Routed endpoints whose LID the channel's switch forwards out of that channel.
  std::vector<PortId> Behind(const SubnetRoutes& sr, PortId channel) const {
    std::vector<PortId> out;
    const uint32_t si = index_.switch_index(f_.port(channel).node);
    if (si == kNone) return out;
    for (PortId e : f_.subnets()[sr.subnet].endpoint_ports)
      if (Routed(sr, e) && sr.out_port(si, lid(e)) == f_.port(channel).number) out.push_back(e);
    return out;
  }
  // Destinations for probes sent by an endpoint port: every other routed endpoint port.
  std::vector<PortId> RoutedPeers(const SubnetRoutes& sr, PortId src) const {
    std::vector<PortId> out;
    if (!Routed(sr, src)) return out;
    for (PortId e : f_.subnets()[sr.subnet].endpoint_ports)
      if (e != src && Routed(sr, e)) out.push_back(e);
    return out;
  }

  const Fabric& f_;
  const RouteSet& routes_;
  RouteIndex index_;
  SourceFinder sources_;
  std::mt19937_64 rng_;
  std::vector<uint32_t> load_ = std::vector<uint32_t>(f_.num_port_slots(), 0);  // re-probes per endpoint port
};

// The plan's own pairs through a channel, each once, for channels the chooser finds no pair
// for (the routes' in-trees do not lead a nearby source there): measuring the same paths
// again is fresh evidence all the same.
class PlannedPairs {
 public:
  PlannedPairs(const Fabric& fabric, const SweepPlan& plan) : fabric_(fabric), plan_(plan) {}
  std::vector<ProbePair> Through(PortId channel, uint32_t want) {
    if (start_.empty()) Index();
    std::vector<ProbePair> pairs;
    const uint32_t n = start_[channel + 1] - start_[channel];
    for (uint32_t k = 0; k < n && k < want; ++k) {
      const PlannedProbe& p = plan_.probes[probes_[start_[channel] + k]];
      pairs.push_back({.src = p.src, .dst = p.dst});
    }
    return pairs;
  }

 private:
  void Index() {
    const size_t planned = plan_.probes.size();
    start_.assign(fabric_.num_port_slots() + 1, 0);
    for (size_t i = 0; i < planned; ++i)
      for (PortId c : plan_.path(plan_.probes[i])) ++start_[c + 1];
    for (size_t c = 0; c + 1 < start_.size(); ++c) start_[c + 1] += start_[c];
    probes_.resize(start_.back());
    std::vector<uint32_t> fill(start_.begin(), start_.end() - 1);
    for (uint32_t i = 0; i < planned; ++i)
      for (PortId c : plan_.path(plan_.probes[i])) probes_[fill[c]++] = i;
  }
  const Fabric& fabric_;
  const SweepPlan& plan_;
  std::vector<uint32_t> start_, probes_;  // plan probes per channel (CSR)
};

// Ports and channels busy in each extra round.
class ExtraRounds {
 public:
  ExtraRounds(size_t port_slots, uint32_t first) : slots_(port_slots), first_(first) {}
  // The earliest extra round where both ends and every channel of the path are free.
  uint32_t Place(PortId src, PortId dst, const std::vector<PortId>& path) {
    for (size_t r = 0;; ++r) {
      if (r == busy_.size()) busy_.emplace_back(slots_ * 2, 0);
      std::vector<uint8_t>& b = busy_[r];  // [0, slots): endpoint ports; [slots, 2 slots): channels
      bool free = !b[src] && !b[dst];
      for (PortId c : path) free = free && !b[slots_ + c];
      if (!free) continue;
      b[src] = b[dst] = 1;
      for (PortId c : path) b[slots_ + c] = 1;
      return first_ + static_cast<uint32_t>(r);
    }
  }

 private:
  size_t slots_;
  uint32_t first_;
  std::vector<std::vector<uint8_t>> busy_;
};

// Renumbers the plan's rounds 0, 1, 2, ... in their order, so extra rounds can follow the
// last whatever labels the plan came with.
void CompactRounds(SweepPlan& plan) {
  std::vector<uint32_t> labels;
  for (const PlannedProbe& p : plan.probes) labels.push_back(p.round);
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  for (PlannedProbe& p : plan.probes)
    p.round = static_cast<uint32_t>(std::lower_bound(labels.begin(), labels.end(), p.round) - labels.begin());
  plan.num_rounds = static_cast<uint32_t>(labels.size());
}

}  // namespace

Result<size_t> AddReprobes(const Fabric& fabric, const RouteSet& routes, const std::vector<Suspect>& suspects,
                           const ReprobeOptions& options, SweepPlan& plan) {
  CompactRounds(plan);
  PairChooser chooser(fabric, routes, options.seed);
  PlannedPairs planned(fabric, plan);
  ExtraRounds rounds(fabric.num_port_slots(), plan.num_rounds);
  std::vector<PortId> path;
  size_t added = 0;
  for (size_t k = 0; k < suspects.size() && k < options.max_suspects; ++k) {
    const Suspect& s = suspects[k];
    std::vector<PortId> channels{s.channel};
    if (s.channel == kNone) channels = {fabric.link(s.link).a, fabric.link(s.link).b};
    const uint32_t want =
        s.intermittent ? std::max(options.per_suspect, options.per_intermittent) : options.per_suspect;
    const auto share = static_cast<uint32_t>((want + channels.size() - 1) / channels.size());
    for (PortId c : channels) {
      std::vector<ProbePair> pairs = chooser.Through(c, share);
      if (pairs.empty()) pairs = planned.Through(c, share);
      for (const ProbePair& pair : pairs) {
        path.clear();
        if (auto r = chooser.Path(pair.src, pair.dst, path); !r) return std::unexpected(r.error());
        PlannedProbe probe{.src = pair.src,
                           .dst = pair.dst,
                           .round = rounds.Place(pair.src, pair.dst, path),
                           .path_begin = static_cast<uint32_t>(plan.path_channels.size())};
        plan.path_channels.insert(plan.path_channels.end(), path.begin(), path.end());
        probe.path_end = static_cast<uint32_t>(plan.path_channels.size());
        plan.probes.push_back(probe);
        ++added;
      }
    }
  }
  SummarisePlan(fabric, routes, plan);
  return added;
}

}  // namespace fabricctl::sweep
