#include "routing/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "routing/channel_capacity.h"
#include "routing/cut_bound.h"
#include "routing/parallel.h"
#include "routing/route_walk.h"

namespace fabricctl {
namespace {

constexpr uint32_t kUnset = kNone;

struct Measurer {
  const Fabric& f;
  const Subnet& sn;
  const SubnetRoutes& r;
  const MetricsOptions& opt;
  uint32_t num_switches = 0;
  size_t num_lids = 0;
  PortSlots slots;                  // channels: the switch-to-switch slots
  std::vector<uint32_t> ep_switch;  // endpoint -> switch index or kUnset
  std::vector<uint8_t> ep_port;     // endpoint -> port number on that switch
  std::vector<uint32_t> sources;    // endpoints per switch
  std::vector<uint32_t> dest_ep;    // lid -> endpoint index or kUnset
  WalkDestinations destinations;    // LIDs of endpoints on switches
  std::vector<uint32_t> dests_at;   // destinations per switch

  Result<SubnetMetrics> Run();
  Result<void> Index(SubnetMetrics& m);
  void IndexEndpoints();
  std::vector<uint64_t> MeasureLoads(SubnetMetrics& m) const;
  void ChannelStats(const std::vector<uint64_t>& load, const ChannelCapacity& capacity, SubnetMetrics& m) const;
  void CutBound(const ChannelCapacity& capacity, SubnetMetrics& m) const;
  void StepBound(const ChannelCapacity& capacity, SubnetMetrics& m) const;
  void Bisection(SubnetMetrics& m) const;
  // The channels from endpoint src's switch to endpoint dst (by `lid`), appended to `path`;
  // false when the route is broken.
  bool PermutationPath(uint32_t src, uint32_t dst, Lid lid, std::vector<uint32_t>& path) const;
};

Result<SubnetMetrics> Measurer::Run() {
  SubnetMetrics m;
  m.subnet = sn.id;
  m.num_vls = r.num_vls;
  if (auto indexed = Index(m); !indexed) return std::unexpected(indexed.error());
  const std::vector<uint64_t> load = MeasureLoads(m);
  const ChannelCapacity capacity(f, sn);
  m.rates_differ = !capacity.uniform();
  ChannelStats(load, capacity, m);
  CutBound(capacity, m);
  StepBound(capacity, m);
  if (!m.rates_differ) {
    m.max_load_per_capacity = double(m.max_channel_load);
    m.load_per_capacity_lower_bound = double(m.channel_load_lower_bound);
    m.load_per_capacity_step_bound = double(m.channel_load_step_bound);
  }
  Bisection(m);
  return m;
}

// Dense tables of the subnet: channels and where they lead, endpoints and their switches,
// destination LIDs; counts the switch-to-switch channels.
Result<void> Measurer::Index(SubnetMetrics& m) {
  num_switches = uint32_t(sn.switches.size());
  num_lids = r.num_lids();
  if (r.switches != sn.switches || r.lft.size() != size_t(num_switches) * num_lids)
    return MakeError(fmt::format("routes of subnet {} do not match the topology", sn.name));
  slots = MakePortSlots(f, sn.switches);
  for (NodeId s : sn.switches)
    for (const Adjacency& a : f.neighbors(s)) m.channels += f.is_switch(a.peer_node) ? 1 : 0;
  IndexEndpoints();
  return {};
}

// Every endpoint on a switch is a source; each of its LIDs is a destination.
void Measurer::IndexEndpoints() {
  std::vector<uint32_t> sw_of_node(f.num_nodes(), kUnset);
  for (uint32_t i = 0; i < num_switches; ++i) sw_of_node[sn.switches[i]] = i;
  const size_t endpoints = sn.endpoint_ports.size();
  ep_switch.assign(endpoints, kUnset);
  ep_port.assign(endpoints, 0);
  sources.assign(num_switches, 0);
  std::vector<uint32_t> ep_of_port(f.num_port_slots(), kUnset);
  for (uint32_t e = 0; e < endpoints; ++e) {
    ep_of_port[sn.endpoint_ports[e]] = e;
    PortId up = f.port(sn.endpoint_ports[e]).peer;
    if (up == kNone || !f.is_switch(f.port(up).node) || sw_of_node[f.port(up).node] == kUnset) continue;
    ep_switch[e] = sw_of_node[f.port(up).node];
    ep_port[e] = uint8_t(f.port(up).number);
    ++sources[ep_switch[e]];
  }
  dest_ep.assign(num_lids, kUnset);
  dests_at.assign(num_switches, 0);
  for (Lid lid = 1; lid < num_lids; ++lid) {
    PortId owner = r.lid_owner[lid];
    if (owner == kNone || owner >= ep_of_port.size() || ep_of_port[owner] == kUnset) continue;
    const uint32_t e = dest_ep[lid] = ep_of_port[owner];
    if (ep_switch[e] == kUnset) continue;
    ++dests_at[ep_switch[e]];
    destinations.Add(lid, ep_switch[e], ep_port[e]);
  }
}

// Edge forwarding index (routes per channel) and hops of the routes that arrive.
std::vector<uint64_t> Measurer::MeasureLoads(SubnetMetrics& m) const {
  RouteWalkTotals totals = WalkRoutes({.slots = slots,
                                       .routes = r,
                                       .destinations = destinations,
                                       .sources = sources,
                                       .threads = opt.threads ? opt.threads : DefaultThreads()});
  m.pairs = totals.pairs - totals.unreachable;
  m.min_hops = totals.min_hops;
  m.max_hops = totals.max_hops;
  m.avg_hops = m.pairs ? double(totals.hop_sum) / double(m.pairs) : 0;
  return std::move(totals.load);
}

// Busiest, mean and spread of the channel loads (per capacity when rates differ), and the
// widest spread within a group of parallel cables.
void Measurer::ChannelStats(const std::vector<uint64_t>& load, const ChannelCapacity& capacity,
                            SubnetMetrics& m) const {
  double sum = 0, squares = 0;
  std::map<std::pair<uint32_t, uint32_t>, std::pair<uint64_t, uint64_t>> groups;  // (from, to) -> (min, max)
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> group_size;
  for (uint32_t s = 0; s < num_switches; ++s)
    for (uint32_t p = 0; p < slots.ports(s); ++p) {
      const uint32_t c = slots.base[s] + p;
      if (slots.next_switch[c] == kNoSwitch) continue;
      const uint64_t x = load[c];
      m.max_channel_load = std::max(m.max_channel_load, x);
      if (m.rates_differ)
        m.max_load_per_capacity =
            std::max(m.max_load_per_capacity, double(x) / capacity.share(f.port_id(sn.switches[s], p)));
      sum += double(x);
      squares += double(x) * double(x);
      auto key = std::make_pair(s, slots.next_switch[c]);
      auto [it, fresh] = groups.try_emplace(key, x, x);
      if (!fresh) it->second = {std::min(it->second.first, x), std::max(it->second.second, x)};
      ++group_size[key];
    }
  if (m.channels) {
    m.avg_channel_load = sum / double(m.channels);
    m.stddev_channel_load =
        std::sqrt(std::max(0.0, squares / double(m.channels) - m.avg_channel_load * m.avg_channel_load));
  }
  for (const auto& [key, range] : groups) {
    if (group_size[key] < 2) continue;
    ++m.parallel_groups;
    m.parallel_max_spread = std::max(m.parallel_max_spread, range.second - range.first);
  }
}

// Cut bounds (routing/cut_bound.h). Per capacity, each channel counts by its share of the top rate.
void Measurer::CutBound(const ChannelCapacity& capacity, SubnetMetrics& m) const {
  auto ends = [&](uint32_t s) { return std::pair<uint64_t, uint64_t>(sources[s], dests_at[s]); };
  auto channels = [&](uint32_t s, const auto& visit) {
    for (uint32_t p = 0; p < slots.ports(s); ++p)
      if (const uint32_t t = slots.next_switch[slots.base[s] + p]; t != kNoSwitch)
        visit(t, m.rates_differ ? capacity.share(f.port_id(sn.switches[s], p)) : 1.0);
  };
  const CutBounds bounds = SubnetCutBounds(CutSets::kSwitchesAndPods, num_switches, sn.endpoint_ports.size(),
                                           destinations.lids.size(), ends, channels);
  m.channel_load_lower_bound = std::max(m.channel_load_lower_bound, bounds.routes);
  if (m.rates_differ) m.load_per_capacity_lower_bound = std::max(m.load_per_capacity_lower_bound, bounds.weighted);
}

// Step bounds (SubnetMetrics, routing/cut_bound.h): per switch with endpoints, over its
// switch-to-switch channels, each weighed 1 in routes and by its share per capacity.
void Measurer::StepBound(const ChannelCapacity& capacity, SubnetMetrics& m) const {
  std::vector<double> ones, shares;
  for (uint32_t s = 0; s < num_switches; ++s) {
    const uint64_t n = sources[s], remote = destinations.lids.size() - dests_at[s];
    ones.clear();
    shares.clear();
    for (uint32_t p = 0; p < slots.ports(s); ++p)
      if (slots.next_switch[slots.base[s] + p] != kNoSwitch) {
        ones.push_back(1.0);
        shares.push_back(capacity.share(f.port_id(sn.switches[s], p)));
      }
    m.channel_load_step_bound =
        std::max(m.channel_load_step_bound, uint64_t(std::llround(fabricctl::StepBound(n, remote, ones))));
    if (m.rates_differ)
      m.load_per_capacity_step_bound =
          std::max(m.load_per_capacity_step_bound, fabricctl::StepBound(n, remote, shares));
  }
}

bool Measurer::PermutationPath(uint32_t src, uint32_t dst, Lid lid, std::vector<uint32_t>& path) const {
  for (uint32_t s = ep_switch[src], steps = 0; steps <= num_switches; ++steps) {
    const uint8_t p = r.out_port(s, lid);
    if (p == kNoRoute || p >= slots.ports(s)) return false;
    if (s == ep_switch[dst] && p == ep_port[dst]) return true;
    const uint32_t c = slots.base[s] + p;
    if (slots.next_switch[c] == kNoSwitch) return false;
    path.push_back(c);
    s = slots.next_switch[c];
  }
  return false;
}

// Effective bisection bandwidth over random permutations of the endpoints with a LID: the
// mean over flows of 1 / (the most flows sharing a channel of its path).
void Measurer::Bisection(SubnetMetrics& m) const {
  const size_t endpoints = sn.endpoint_ports.size();
  std::vector<uint32_t> first_lid(endpoints, 0);
  for (Lid lid = num_lids; lid-- > 1;)
    if (dest_ep[lid] != kUnset) first_lid[dest_ep[lid]] = lid;
  std::vector<uint32_t> members;
  for (uint32_t e = 0; e < endpoints; ++e)
    if (first_lid[e] && ep_switch[e] != kUnset) members.push_back(e);
  if (!opt.permutations || members.size() < 2) return;
  std::mt19937_64 rng(opt.seed ^ (uint64_t(sn.id) * 0x9E3779B97F4A7C15ull));
  std::vector<uint32_t> perm(members);
  std::vector<uint32_t> perm_load(slots.num_slots(), 0);
  std::vector<uint32_t> flat, offsets;
  double total = 0;
  uint64_t flows = 0;
  for (unsigned it = 0; it < opt.permutations; ++it) {
    std::shuffle(perm.begin(), perm.end(), rng);
    flat.clear();
    offsets.assign(1, 0);
    for (size_t i = 0; i < members.size(); ++i) {
      const uint32_t src = members[i], dst = perm[i];
      if (src == dst) continue;
      const size_t mark = flat.size();
      if (!PermutationPath(src, dst, first_lid[dst], flat)) {
        flat.resize(mark);
        continue;
      }
      offsets.push_back(uint32_t(flat.size()));
    }
    for (uint32_t c : flat) ++perm_load[c];
    for (size_t k = 0; k + 1 < offsets.size(); ++k) {
      uint32_t worst = 1;
      for (uint32_t j = offsets[k]; j < offsets[k + 1]; ++j) worst = std::max(worst, perm_load[flat[j]]);
      total += 1.0 / worst;
      ++flows;
    }
    for (uint32_t c : flat) perm_load[c] = 0;
  }
  m.effective_bisection_bandwidth = flows ? total / double(flows) : 0;
  m.permutations = opt.permutations;
}

}  // namespace

Result<RouteMetrics> Measure(const Fabric& fabric, const RouteSet& routes, const MetricsOptions& options) {
  std::vector<Result<SubnetMetrics>> results(routes.subnets.size(), MakeError("not measured"));
  for (const SubnetRoutes& r : routes.subnets)
    if (r.subnet >= fabric.subnets().size())
      return MakeError(
          fmt::format("route set names subnet {}, the topology has {}", r.subnet, fabric.subnets().size()));
  // One subnet at a time; each spreads its destinations over the threads.
  for (size_t i = 0; i < routes.subnets.size(); ++i) {
    const SubnetRoutes& r = routes.subnets[i];
    Measurer m{.f = fabric, .sn = fabric.subnets()[r.subnet], .r = r, .opt = options};
    results[i] = m.Run();
  }
  RouteMetrics out;
  for (auto& r : results) {
    if (!r) return std::unexpected(r.error());
    out.max_hops = std::max(out.max_hops, r->max_hops);
    out.max_channel_load = std::max(out.max_channel_load, r->max_channel_load);
    out.max_load_per_capacity = std::max(out.max_load_per_capacity, r->max_load_per_capacity);
    out.rates_differ = out.rates_differ || r->rates_differ;
    out.subnets.push_back(std::move(*r));
  }
  return out;
}

}  // namespace fabricctl
