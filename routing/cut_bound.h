#pragma once
// The load lower bound of a subnet: no table can put fewer routes on a channel out of a set
// of switches than the routes that must leave or enter that set, spread evenly over its
// channels. The sets taken are every switch and, unless only switches are asked for, every
// pod (routing/pods.h). `route stats` reports the bound and auto stops comparing engines at
// it; the balanced engines stop rerouting at the bound of switches alone (their stopping
// rules were set against it: ftree stops within 5% of it, and against the tighter bound
// with pods it stopped a round early on a damaged k=8 tree, 372 routes where it reaches 368).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "routing/channel_capacity.h"
#include "routing/pods.h"

namespace fabricctl {

enum class CutSets { kSwitches, kSwitchesAndPods };

struct CutBounds {
  uint64_t routes = 0;  // the busiest channel's routes, at least (rounded up)
  double weighted = 0;  // the busiest channel's routes per unit of weight, at least
};

// ends(s) gives {sources, destinations} at switch s (0..num_switches-1), all_sources and
// all_destinations their totals; channels(s, visit) calls visit(t, weight) for every
// switch-to-switch channel s -> t. A channel's weight is what it carries per unit of load:
// its share of the top rate for load per capacity, 1 / its cost for loads that are sums of
// costs; `weighted` divides a cut's routes by its channels' weights.
template <typename Ends, typename Channels>
CutBounds SubnetCutBounds(CutSets sets, uint32_t num_switches, uint64_t all_sources, uint64_t all_destinations,
                          const Ends& ends, const Channels& channels) {
  auto neighbours = [&](uint32_t s, const auto& visit) { channels(s, [&](uint32_t t, double) { visit(t); }); };
  auto has_endpoints = [&](uint32_t s) {
    const auto [sources, destinations] = ends(s);
    return sources > 0 || destinations > 0;
  };
  const Pods pods = sets == CutSets::kSwitchesAndPods ? PodsBelowTop(num_switches, neighbours, has_endpoints)
                                                      : Pods{.of = std::vector<uint32_t>(num_switches, kNone)};
  struct Cut {
    uint64_t sources = 0, destinations = 0, channels = 0;
    double weight = 0;
  };
  std::vector<Cut> around(num_switches + pods.count);  // switches, then pods
  for (uint32_t s = 0; s < num_switches; ++s) {
    const uint32_t pod = pods.of[s];
    const auto [sources, destinations] = ends(s);
    for (Cut* cut : {&around[s], pod == kNone ? nullptr : &around[num_switches + pod]}) {
      if (!cut) continue;
      cut->sources += sources;
      cut->destinations += destinations;
    }
    channels(s, [&](uint32_t t, double weight) {
      around[s].channels += 1;
      around[s].weight += weight;
      if (pod != kNone && pods.of[t] != pod) {
        around[num_switches + pod].channels += 1;
        around[num_switches + pod].weight += weight;
      }
    });
  }
  CutBounds bounds;
  for (const Cut& cut : around) {
    if (cut.channels == 0) continue;
    const uint64_t need = SwitchCutRoutes(cut.sources, cut.destinations, all_sources, all_destinations);
    bounds.routes = std::max(bounds.routes, SwitchCutBound(need, cut.channels));
    if (cut.weight > 0) bounds.weighted = std::max(bounds.weighted, double(need) / cut.weight);
  }
  return bounds;
}

// Whole destinations per port: tables route by destination, so the routes of a switch's
// `endpoints` to one destination leave it by one port, and each of its channels carries
// whole multiples of them. A channel of weight w (what it carries per unit of load: its
// share of the top rate, or 1 / its cost for loads that are sums of costs) holds
// floor(B w / endpoints) destinations within a load of B; the least B whereby the channels
// hold all `remote` destinations (0 when there are none or no channel). `route stats`
// reports it over the switches with endpoints, and ftree's leaf-spine moves stop at it.
inline double StepBound(uint64_t endpoints, uint64_t remote, std::span<const double> weights) {
  if (endpoints == 0 || remote == 0 || weights.empty()) return 0;
  const double n = double(endpoints);
  auto held = [&](double load, double w) { return std::floor(load * w / n * (1 + 1e-12)); };
  auto holds = [&](double load) {
    double all = 0;
    for (double w : weights) all += held(load, w);
    return all >= double(remote);
  };
  double low = 0, high = n * double(remote) / *std::max_element(weights.begin(), weights.end());
  for (int i = 0; i < 64; ++i) (holds((low + high) / 2) ? high : low) = (low + high) / 2;
  // The exact bound: the step of the channel that filled last, at or below `high`.
  double exact = 0;
  for (double w : weights) exact = std::max(exact, held(high, w) * n / w);
  return exact;
}

}  // namespace fabricctl
