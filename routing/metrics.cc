#include "routing/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <thread>

#include "routing/channel_capacity.h"

namespace fabricctl {
namespace {

constexpr uint32_t kUnset = kNone;

struct Measurer {
  const Fabric& f;
  const Subnet& sn;
  const SubnetRoutes& r;
  const MetricsOptions& opt;
  uint32_t num_switches = 0, stride = 0;
  size_t num_lids = 0;
  std::vector<uint32_t> sw_of_node, head;  // head: channel -> switch index or kUnset
  std::vector<uint32_t> ep_switch;         // endpoint -> switch index or kUnset
  std::vector<uint32_t> sources;           // endpoints per switch
  std::vector<uint32_t> dest_ep;           // lid -> endpoint index or kUnset
  std::vector<PortId> peer;                // channel -> port at the other end or kNone

  // Per-thread totals of the per-destination pass.
  struct Part {
    std::vector<uint64_t> load;
    uint64_t pairs = 0, hop_sum = 0;
    uint32_t min_hops = kUnset, max_hops = 0;
  };

  std::vector<uint32_t> dests_at;  // destination endpoints (with a LID) per switch
  uint64_t num_dests = 0;

  Result<SubnetMetrics> Run();
  Result<void> Index(SubnetMetrics& m);
  std::vector<uint64_t> MeasureLoads(SubnetMetrics& m) const;
  void ChannelStats(const std::vector<uint64_t>& load, const ChannelCapacity& capacity, SubnetMetrics& m) const;
  void CutBound(const ChannelCapacity& capacity, SubnetMetrics& m) const;
  void Bisection(SubnetMetrics& m) const;
  // The channels from endpoint src's switch to endpoint dst (by `lid`), appended to `path`;
  // false when the route is broken.
  bool PermutationPath(uint32_t src, uint32_t dst, Lid lid, std::vector<uint32_t>& path) const;
  // Links from switch s to the destination (>= 1), kUnset when the path is broken; `col`
  // is the destination's LFT column.
  void Distances(const uint8_t* col, PortId dest_port, std::vector<uint32_t>& dist, std::vector<uint32_t>& stamp,
                 uint32_t tick, std::vector<uint32_t>& path) const;
  void LoadsOf(Lid lo, Lid hi, Part& part, std::vector<uint8_t>& cols, std::vector<uint32_t>& dist,
               std::vector<uint32_t>& stamp, uint32_t& tick, std::vector<uint32_t>& path,
               std::vector<uint32_t>& bucket_start, std::vector<uint32_t>& order, std::vector<uint64_t>& flow) const;
};

void Measurer::Distances(const uint8_t* col, PortId dest_port, std::vector<uint32_t>& dist,
                         std::vector<uint32_t>& stamp, uint32_t tick, std::vector<uint32_t>& path) const {
  for (uint32_t start = 0; start < num_switches; ++start) {
    if (stamp[start] == tick) continue;
    path.clear();
    uint32_t s = start, tail = kUnset;  // tail: distance beyond the last switch on `path`
    while (true) {
      if (stamp[s] == tick) {
        tail = dist[s] == kUnset ? kUnset : dist[s];  // a loop (on path, unset) or memoised
        break;
      }
      stamp[s] = tick;
      dist[s] = kUnset;
      path.push_back(s);
      uint8_t p = col[s];
      if (p == kNoRoute || p == 0 || p >= stride) break;
      if (peer[s * stride + p] == dest_port) {
        tail = 0;
        break;
      }
      uint32_t t = head[s * stride + p];
      if (t == kUnset) break;
      s = t;
    }
    if (tail == kUnset) continue;  // every switch on the path stays unset
    for (size_t i = path.size(); i-- > 0;) dist[path[i]] = ++tail;
  }
}

void Measurer::LoadsOf(Lid lo, Lid hi, Part& part, std::vector<uint8_t>& cols, std::vector<uint32_t>& dist,
                       std::vector<uint32_t>& stamp, uint32_t& tick, std::vector<uint32_t>& path,
                       std::vector<uint32_t>& bucket_start, std::vector<uint32_t>& order,
                       std::vector<uint64_t>& flow) const {
  // Rows are read sequentially and transposed so each destination's column is contiguous.
  const size_t width = hi - lo;
  cols.resize(width * num_switches);
  for (uint32_t s = 0; s < num_switches; ++s) {
    const uint8_t* row = &r.lft[size_t(s) * num_lids + lo];
    if (s + 8 < num_switches) {  // rows are num_lids apart: too far for the hardware prefetcher to guess
      __builtin_prefetch(row + 8 * num_lids);
      __builtin_prefetch(row + 8 * num_lids + 64);
    }
    for (size_t j = 0; j < width; ++j) cols[j * num_switches + s] = row[j];
  }
  for (Lid lid = lo; lid < hi; ++lid) {
    uint32_t de = dest_ep[lid];
    if (de == kUnset || ep_switch[de] == kUnset) continue;
    const uint8_t* col = &cols[size_t(lid - lo) * num_switches];
    Distances(col, sn.endpoint_ports[de], dist, stamp, ++tick, path);
    // Switches by falling distance (counting sort), so each switch's flow is complete
    // before it is passed on.
    uint32_t maxd = 0;
    for (uint32_t s = 0; s < num_switches; ++s)
      if (dist[s] != kUnset) maxd = std::max(maxd, dist[s]);
    bucket_start.assign(maxd + 2, 0);
    for (uint32_t s = 0; s < num_switches; ++s)
      if (dist[s] != kUnset) ++bucket_start[maxd - dist[s] + 1];
    std::partial_sum(bucket_start.begin(), bucket_start.end(), bucket_start.begin());
    uint32_t placed = bucket_start.back();
    for (uint32_t s = 0; s < num_switches; ++s)
      if (dist[s] != kUnset) order[bucket_start[maxd - dist[s]]++] = s;
    for (uint32_t i = 0; i < placed; ++i) {
      uint32_t s = order[i];
      flow[s] = sources[s] - (s == ep_switch[de] ? 1 : 0);
    }
    for (uint32_t i = 0; i < placed; ++i) {
      uint32_t s = order[i];
      uint64_t own = sources[s] - (s == ep_switch[de] ? 1 : 0);
      if (own) {
        part.pairs += own;
        part.hop_sum += own * (dist[s] + 1);
        part.min_hops = std::min(part.min_hops, dist[s] + 1);
        part.max_hops = std::max(part.max_hops, dist[s] + 1);
      }
      uint32_t chan = s * stride + col[s];
      uint32_t t = head[chan];
      if (t == kUnset || flow[s] == 0) continue;
      part.load[chan] += flow[s];
      flow[t] += flow[s];
    }
  }
}

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
  if (!m.rates_differ) {
    m.max_load_per_capacity = double(m.max_channel_load);
    m.load_per_capacity_lower_bound = double(m.channel_load_lower_bound);
  }
  Bisection(m);
  return m;
}

// Dense tables of the subnet: channels (switch * stride + port) and where they lead,
// endpoints and their switches, destination LIDs; counts the switch-to-switch channels.
Result<void> Measurer::Index(SubnetMetrics& m) {
  num_switches = uint32_t(sn.switches.size());
  num_lids = r.num_lids();
  if (r.switches != sn.switches || r.lft.size() != size_t(num_switches) * num_lids)
    return MakeError(fmt::format("routes of subnet {} do not match the topology", sn.name));
  unsigned max_port = 0;
  for (NodeId s : sn.switches) max_port = std::max<unsigned>(max_port, f.node(s).num_ports);
  stride = max_port + 1;
  sw_of_node.assign(f.num_nodes(), kUnset);
  for (uint32_t i = 0; i < num_switches; ++i) sw_of_node[sn.switches[i]] = i;
  head.assign(size_t(num_switches) * stride, kUnset);
  peer.assign(size_t(num_switches) * stride, kNone);
  for (uint32_t i = 0; i < num_switches; ++i)
    for (const Adjacency& a : f.neighbors(sn.switches[i])) {
      peer[i * stride + f.port(a.local).number] = a.peer_port;
      if (f.is_switch(a.peer_node)) {
        head[i * stride + f.port(a.local).number] = sw_of_node[a.peer_node];
        ++m.channels;
      }
    }
  const size_t endpoints = sn.endpoint_ports.size();
  ep_switch.assign(endpoints, kUnset);
  sources.assign(num_switches, 0);
  std::vector<uint32_t> ep_of_port(f.num_port_slots(), kUnset);
  for (uint32_t e = 0; e < endpoints; ++e) {
    ep_of_port[sn.endpoint_ports[e]] = e;
    PortId up = f.port(sn.endpoint_ports[e]).peer;
    if (up == kNone || !f.is_switch(f.port(up).node)) continue;
    ep_switch[e] = sw_of_node[f.port(up).node];
    ++sources[ep_switch[e]];
  }
  dest_ep.assign(num_lids, kUnset);
  dests_at.assign(num_switches, 0);
  num_dests = 0;
  for (Lid lid = 1; lid < num_lids; ++lid) {
    PortId owner = r.lid_owner[lid];
    if (owner == kNone || owner >= ep_of_port.size() || ep_of_port[owner] == kUnset) continue;
    dest_ep[lid] = ep_of_port[owner];
    if (ep_switch[dest_ep[lid]] == kUnset) continue;
    ++dests_at[ep_switch[dest_ep[lid]]];
    ++num_dests;
  }
  return {};
}

// Edge forwarding index (routes per channel) and hops, one destination at a time, in
// blocks of 128 LIDs spread over the threads.
std::vector<uint64_t> Measurer::MeasureLoads(SubnetMetrics& m) const {
  std::vector<uint64_t> load(size_t(num_switches) * stride, 0);
  unsigned threads = opt.threads ? opt.threads : std::max(1u, std::thread::hardware_concurrency());
  const size_t blocks = (num_lids + 127) / 128;
  threads = std::max(1u, std::min<unsigned>(threads, unsigned(blocks)));
  std::vector<Part> parts(threads);
  std::atomic<size_t> next{0};
  auto worker = [&](unsigned t) {
    Part& part = parts[t];
    part.load.assign(size_t(num_switches) * stride, 0);
    std::vector<uint8_t> cols;
    std::vector<uint32_t> dist(num_switches), stamp(num_switches, 0), path, bucket_start, order(num_switches);
    std::vector<uint64_t> flow(num_switches);
    uint32_t tick = 0;
    for (size_t block; (block = next.fetch_add(1)) < blocks;) {
      Lid lo = Lid(std::max<size_t>(1, block * 128)), hi = Lid(std::min(num_lids, (block + 1) * 128));
      if (lo < hi) LoadsOf(lo, hi, part, cols, dist, stamp, tick, path, bucket_start, order, flow);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker, t);
  worker(0);
  for (auto& th : pool) th.join();
  m.min_hops = kUnset;
  uint64_t hop_sum = 0;
  for (const Part& part : parts) {
    for (size_t c = 0; c < load.size(); ++c) load[c] += part.load[c];
    m.pairs += part.pairs;
    hop_sum += part.hop_sum;
    m.min_hops = std::min(m.min_hops, part.min_hops);
    m.max_hops = std::max(m.max_hops, part.max_hops);
  }
  m.avg_hops = m.pairs ? double(hop_sum) / double(m.pairs) : 0;
  if (m.pairs == 0) m.min_hops = 0;
  return load;
}

// Busiest, mean and spread of the channel loads (per capacity when rates differ), and the
// widest spread within a group of parallel cables.
void Measurer::ChannelStats(const std::vector<uint64_t>& load, const ChannelCapacity& capacity,
                            SubnetMetrics& m) const {
  auto share = [&](uint32_t c) { return capacity.share(f.port_id(sn.switches[c / stride], c % stride)); };
  double sum = 0, squares = 0;
  std::map<std::pair<uint32_t, uint32_t>, std::pair<uint64_t, uint64_t>> groups;  // (from, to) -> (min, max)
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> group_size;
  for (uint32_t c = 0; c < head.size(); ++c) {
    if (head[c] == kUnset) continue;
    const uint64_t x = load[c];
    m.max_channel_load = std::max(m.max_channel_load, x);
    if (m.rates_differ) m.max_load_per_capacity = std::max(m.max_load_per_capacity, double(x) / share(c));
    sum += double(x);
    squares += double(x) * double(x);
    auto key = std::make_pair(c / stride, head[c]);
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

// Cut bound per switch: routes that must leave and enter it over switch cables.
// Per capacity, each cable counts by its share of the top rate.
void Measurer::CutBound(const ChannelCapacity& capacity, SubnetMetrics& m) const {
  const size_t endpoints = sn.endpoint_ports.size();
  for (uint32_t s = 0; s < num_switches; ++s) {
    uint64_t degree = 0;
    double shares = 0;
    for (uint32_t p = 0; p < stride; ++p) {
      if (head[s * stride + p] == kUnset) continue;
      ++degree;
      shares += m.rates_differ ? capacity.share(f.port_id(sn.switches[s], p)) : 1.0;
    }
    if (degree == 0) continue;
    const uint64_t need = SwitchCutRoutes(sources[s], dests_at[s], endpoints, num_dests);
    m.channel_load_lower_bound = std::max(m.channel_load_lower_bound, SwitchCutBound(need, degree));
    if (m.rates_differ)
      m.load_per_capacity_lower_bound = std::max(m.load_per_capacity_lower_bound, double(need) / shares);
  }
}

bool Measurer::PermutationPath(uint32_t src, uint32_t dst, Lid lid, std::vector<uint32_t>& path) const {
  const PortId destination_port = sn.endpoint_ports[dst];
  for (uint32_t s = ep_switch[src], steps = 0; steps <= num_switches; ++steps) {
    const uint8_t p = r.out_port(s, lid);
    if (p == kNoRoute || p == 0 || p >= stride) return false;
    if (peer[s * stride + p] == destination_port) return true;
    const uint32_t c = s * stride + p;
    if (head[c] == kUnset) return false;
    path.push_back(c);
    s = head[c];
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
  std::vector<uint32_t> perm_load(size_t(num_switches) * stride, 0);
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
