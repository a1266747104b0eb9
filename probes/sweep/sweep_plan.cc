#include "probes/sweep/sweep_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "probes/sweep/probe_path.h"

namespace fabricctl::sweep {
namespace {

// Working state of the planner for one fabric; probes of all subnets share it.
class Planner {
 public:
  Planner(const Fabric& fabric, const RouteSet& routes, const PlanOptions& options)
      : f_(fabric),
        routes_(routes),
        options_(options),
        index_(fabric, routes),
        rng_(options.seed),
        need_(fabric.num_port_slots(), 0),
        src_deg_(fabric.num_port_slots(), 0),
        dst_deg_(fabric.num_port_slots(), 0),
        ep_used_(fabric.num_port_slots(), 0),
        ch_used_(fabric.num_port_slots(), 0) {}

  Result<SweepPlan> Run() {
    for (const SubnetRoutes& sr : routes_.subnets) {
      if (sr.subnet >= f_.subnets().size()) return MakeError(fmt::format("routes name subnet {} which the topology lacks", sr.subnet));
      if (auto r = PlanSubnet(f_.subnets()[sr.subnet], sr); !r) return std::unexpected(r.error());
    }
    Summarise();
    return std::move(plan_);
  }

 private:
  Lid lid(PortId p) const { return p < routes_.port_lid.size() ? routes_.port_lid[p] : 0; }

  void AddProbe(PortId src, PortId dst, const std::vector<PortId>& path, uint32_t round) {
    PlannedProbe probe{.src = src, .dst = dst, .round = round,
                       .path_begin = static_cast<uint32_t>(plan_.path_channels.size())};
    plan_.path_channels.insert(plan_.path_channels.end(), path.begin(), path.end());
    probe.path_end = static_cast<uint32_t>(plan_.path_channels.size());
    for (PortId c : path) --need_[c];
    ++src_deg_[src];
    ++dst_deg_[dst];
    plan_.probes.push_back(probe);
  }

  // Sources whose path to dst crosses switch `from`: walk the in-tree of dst backwards.
  void FindSources(const SubnetRoutes& sr, NodeId from, Lid dlid, PortId dst, std::vector<PortId>& out, size_t want) {
    out.clear();
    ++stamp_;
    queue_.clear();
    queue_.push_back(from);
    visit_[index_.switch_index(from)] = stamp_;
    for (size_t head = 0; head < queue_.size() && out.size() < want; ++head) {
      NodeId y = queue_[head];
      for (const Adjacency& a : f_.neighbors(y)) {
        if (!f_.is_switch(a.peer_node)) {
          if (a.peer_port != dst && lid(a.peer_port) != 0) out.push_back(a.peer_port);
          continue;
        }
        uint32_t zi = index_.switch_index(a.peer_node);
        if (zi == kNone || visit_[zi] == stamp_) continue;
        // z forwards dlid towards y?
        if (sr.out_port(zi, dlid) != f_.port(a.peer_port).number) continue;
        visit_[zi] = stamp_;
        queue_.push_back(a.peer_node);
      }
    }
  }

  // How busy an endpoint port already is; rounds are bounded by the busiest one, and the
  // role asked for counts a little more so sends and receives stay even.
  enum Role { kAsSrc, kAsDst };
  uint32_t Load(PortId p, Role role) const {
    return (src_deg_[p] + dst_deg_[p]) * 4 + (role == kAsSrc ? src_deg_[p] : dst_deg_[p]);
  }

  Result<void> PlanSubnet(const Subnet& subnet, const SubnetRoutes& sr) {
    std::vector<PortId> endpoints;
    for (PortId p : subnet.endpoint_ports)
      if (lid(p) != 0 && lid(p) < sr.num_lids()) endpoints.push_back(p);
    if (endpoints.size() < 2) return {};
    visit_.assign(std::max(visit_.size(), sr.switches.size()), 0);

    // Channels of this subnet, all wanting `coverage` probes.
    std::vector<PortId> switch_channels;
    for (NodeId sw : sr.switches)
      for (const Adjacency& a : f_.neighbors(sw)) switch_channels.push_back(a.local);
    for (PortId c : switch_channels) need_[c] = static_cast<int32_t>(options_.coverage);
    for (PortId e : endpoints) need_[e] = static_cast<int32_t>(options_.coverage);

    // Destinations behind each switch channel: bucket[(switch, port)] from the LFTs.
    const size_t n_sw = sr.switches.size();
    std::vector<uint32_t> bucket_offset(f_.num_port_slots() + 1, 0);
    std::vector<uint32_t> counts(f_.num_port_slots(), 0);
    for (size_t i = 0; i < n_sw; ++i)
      for (PortId e : endpoints) {
        uint8_t p = sr.out_port(i, lid(e));
        if (p != kNoRoute && p != 0 && p <= f_.node(sr.switches[i]).num_ports) ++counts[f_.port_id(sr.switches[i], p)];
      }
    std::vector<uint32_t> start(f_.num_port_slots() + 1, 0);
    for (size_t p = 0; p < counts.size(); ++p) start[p + 1] = start[p] + counts[p];
    std::vector<PortId> bucket(start.back());
    std::vector<uint32_t> fill(start.begin(), start.end() - 1);
    for (size_t i = 0; i < n_sw; ++i)
      for (PortId e : endpoints) {
        uint8_t p = sr.out_port(i, lid(e));
        if (p != kNoRoute && p != 0 && p <= f_.node(sr.switches[i]).num_ports) bucket[fill[f_.port_id(sr.switches[i], p)]++] = e;
      }

    // Farther-from-endpoints switches first: their channels have the fewest pairs to choose from.
    std::vector<uint32_t> height(f_.num_nodes(), kNone);
    std::vector<NodeId> bfs;
    for (PortId e : endpoints) {
      NodeId sw = f_.port(f_.port(e).peer).node;
      if (f_.is_switch(sw) && height[sw] == kNone) height[sw] = 1, bfs.push_back(sw);
    }
    for (size_t h = 0; h < bfs.size(); ++h)
      for (const Adjacency& a : f_.neighbors(bfs[h]))
        if (f_.is_switch(a.peer_node) && height[a.peer_node] == kNone)
          height[a.peer_node] = height[bfs[h]] + 1, bfs.push_back(a.peer_node);
    std::stable_sort(switch_channels.begin(), switch_channels.end(), [&](PortId a, PortId b) {
      uint32_t ha = height[f_.port(a).node], hb = height[f_.port(b).node];
      return (ha == kNone ? 0 : ha) > (hb == kNone ? 0 : hb);
    });

    // Rounds are built one at a time: each round is a matching of endpoint ports whose
    // paths share no channel, filled hardest channel first with the pair that covers the
    // most channels still wanting probes. Subnets share no ports, so round r of every
    // subnet runs together.
    std::vector<std::vector<PortId>> candidates(switch_channels.size());
    for (size_t k = 0; k < switch_channels.size(); ++k) {
      PortId c = switch_channels[k];
      candidates[k].assign(bucket.begin() + start[c], bucket.begin() + start[c + 1]);
      std::shuffle(candidates[k].begin(), candidates[k].end(), rng_);
    }
    std::vector<PortId> srcs, path, best_path;
    for (uint32_t round = 0;; ++round) {
      const uint32_t mark = ++round_stamp_;
      size_t added = 0;
      auto free_path = [&](const std::vector<PortId>& ch) {
        for (PortId x : ch)
          if (ch_used_[x] == mark) return false;
        return true;
      };
      auto wanted = [&](const std::vector<PortId>& ch) {
        uint32_t w = 0;
        for (PortId x : ch) w += need_[x] > 0;
        return w;
      };
      auto take = [&](PortId s, PortId d, const std::vector<PortId>& ch) {
        ep_used_[s] = ep_used_[d] = mark;
        for (PortId x : ch) ch_used_[x] = mark;
        AddProbe(s, d, ch, round);
        ++added;
      };
      for (size_t k = 0; k < switch_channels.size(); ++k) {
        PortId c = switch_channels[k];
        if (need_[c] <= 0 || ch_used_[c] == mark) continue;
        NodeId sw = f_.port(c).node;
        std::vector<PortId>& dsts = candidates[k];
        int tried = 0;
        for (size_t j = 0; j < dsts.size() && tried < 6;) {
          PortId d = dsts[j];
          if (ep_used_[d] == mark) {
            ++j;
            continue;
          }
          ++tried;
          FindSources(sr, sw, lid(d), d, srcs, 24);
          if (srcs.empty()) {  // no route to d crosses this channel: never a candidate again
            dsts[j] = dsts.back();
            dsts.pop_back();
            continue;
          }
          PortId best = kNone;
          uint64_t best_key = 0;
          for (PortId s : srcs) {
            if (ep_used_[s] == mark) continue;
            path.clear();
            if (auto r = AppendProbePath(f_, routes_, index_, s, d, path); !r) return r;
            if (!free_path(path)) continue;
            uint64_t key = (uint64_t(wanted(path)) << 40) | (uint64_t(0xffff - std::min(0xffffu, Load(s, kAsSrc) + Load(d, kAsDst))) << 20) |
                           (rng_() & 0xfffff);
            if (best == kNone || key > best_key) best = s, best_key = key, best_path = path;
          }
          if (best != kNone) {
            take(best, d, best_path);
            break;
          }
          ++j;
        }
      }
      // Endpoints that still send fewer than `coverage` probes: pair them with free receivers.
      for (PortId e : endpoints) {
        if (need_[e] <= 0 || ep_used_[e] == mark) continue;
        for (int k = 0; k < 32; ++k) {
          PortId d = endpoints[rng_() % endpoints.size()];
          if (d == e || ep_used_[d] == mark) continue;
          path.clear();
          if (auto r = AppendProbePath(f_, routes_, index_, e, d, path); !r) return r;
          if (!free_path(path)) continue;
          take(e, d, path);
          break;
        }
      }
      if (added == 0) break;
      plan_.num_rounds = std::max(plan_.num_rounds, round + 1);
    }
    for (PortId c : switch_channels) channels_.push_back(c);
    for (PortId e : endpoints) channels_.push_back(e);
    endpoints_.insert(endpoints_.end(), endpoints.begin(), endpoints.end());
    return {};
  }

  void Summarise() {
    std::vector<uint32_t> count(f_.num_port_slots(), 0);
    for (PortId c : plan_.path_channels) ++count[c];
    plan_.channels = channels_.size();
    for (PortId c : channels_) {
      plan_.channels_covered += count[c] > 0;
      plan_.channels_at_target += count[c] >= options_.coverage;
    }
    plan_.channels_limited = plan_.channels - plan_.channels_at_target;
    uint32_t max_deg = 0;
    for (PortId e : endpoints_) max_deg = std::max(max_deg, src_deg_[e] + dst_deg_[e]);
    plan_.max_probes_per_endpoint = max_deg;
    plan_.lower_bound = endpoints_.empty() ? 0 : 2 * options_.coverage;
  }

  const Fabric& f_;
  const RouteSet& routes_;
  const PlanOptions& options_;
  RouteIndex index_;
  std::mt19937_64 rng_;
  std::vector<int32_t> need_;
  std::vector<uint32_t> src_deg_, dst_deg_;
  std::vector<uint32_t> visit_;
  uint32_t stamp_ = 0;
  std::vector<NodeId> queue_;
  std::vector<uint32_t> ep_used_, ch_used_;  // == round_stamp_: taken in the round being built
  uint32_t round_stamp_ = 0;
  std::vector<PortId> channels_, endpoints_;
  SweepPlan plan_;
};

}  // namespace

Result<SweepPlan> PlanSweep(const Fabric& fabric, const RouteSet& routes, const PlanOptions& options) {
  if (options.coverage < 1) return MakeError("coverage must be at least 1");
  if (routes.port_lid.size() != fabric.num_port_slots())
    return MakeError("routes do not match the topology (port count differs)");
  Planner planner(fabric, routes, options);
  return planner.Run();
}

}  // namespace fabricctl::sweep
