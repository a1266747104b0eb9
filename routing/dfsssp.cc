#include "routing/dfsssp.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

namespace fabricctl {
namespace {

constexpr uint32_t kUnset = kNone;

// The subnet seen by the engine: switches by index, switch-to-switch channels as
// switch index * stride + port.
struct Graph {
  uint32_t nsw = 0;
  uint32_t stride = 0;
  std::vector<uint32_t> sw_of_node;
  std::vector<uint32_t> head;  // channel -> switch index it enters (kUnset: none / not a switch)
  std::vector<uint32_t> adj_offsets;
  std::vector<std::pair<uint8_t, uint32_t>> adj;  // (port, neighbour switch) per switch
  std::vector<uint32_t> sources;                   // endpoint ports hanging off each switch
};

Graph BuildGraph(const Fabric& f, const Subnet& sn) {
  Graph g;
  g.nsw = uint32_t(sn.switches.size());
  unsigned max_port = 0;
  for (NodeId s : sn.switches) max_port = std::max<unsigned>(max_port, f.node(s).num_ports);
  g.stride = max_port + 1;
  g.sw_of_node.assign(f.num_nodes(), kUnset);
  for (uint32_t i = 0; i < g.nsw; ++i) g.sw_of_node[sn.switches[i]] = i;
  g.head.assign(size_t(g.nsw) * g.stride, kUnset);
  g.adj_offsets.assign(g.nsw + 1, 0);
  g.sources.assign(g.nsw, 0);
  for (uint32_t i = 0; i < g.nsw; ++i) {
    for (const Adjacency& a : f.neighbors(sn.switches[i])) {
      if (f.is_switch(a.peer_node)) {
        uint8_t p = f.port(a.local).number;
        g.head[i * g.stride + p] = g.sw_of_node[a.peer_node];
        g.adj.push_back({p, g.sw_of_node[a.peer_node]});
      } else {
        ++g.sources[i];
      }
    }
    g.adj_offsets[i + 1] = uint32_t(g.adj.size());
  }
  return g;
}

class Dfsssp final : public RoutingEngine {
 public:
  std::string_view name() const override { return "dfsssp"; }
  Outcome Route(const RouteRequest& req, SubnetRoutes& out) const override;
};

Outcome Dfsssp::Route(const RouteRequest& req, SubnetRoutes& out) const {
  const Fabric& f = req.fabric;
  const Subnet& sn = req.subnet;
  if (sn.switches.empty()) return Outcome::NotApplicable("the subnet has no switches");
  Graph g = BuildGraph(f, sn);
  const size_t L = out.num_lids();

  // Destinations grouped by the switch they hang off (a switch's own LID: the switch).
  struct Dest {
    Lid lid;
    uint32_t sw;
    uint8_t last_port;  // port of `sw` towards the destination; 0 for the switch itself
    uint32_t endpoint;  // index in Subnet::endpoint_ports, kUnset for a switch
  };
  std::vector<uint32_t> ep_of_port(f.num_port_slots(), kUnset);
  for (uint32_t e = 0; e < sn.endpoint_ports.size(); ++e) ep_of_port[sn.endpoint_ports[e]] = e;
  std::vector<Dest> dests;
  for (Lid lid = 1; lid < L; ++lid) {
    PortId owner = out.lid_owner[lid];
    if (owner == kNone) continue;
    const Port& p = f.port(owner);
    if (f.is_switch(p.node)) {
      dests.push_back({lid, g.sw_of_node[p.node], 0, kUnset});
    } else if (p.peer != kNone && f.is_switch(f.port(p.peer).node)) {
      dests.push_back({lid, g.sw_of_node[f.port(p.peer).node], f.port(p.peer).number, ep_of_port[owner]});
    }
  }
  std::stable_sort(dests.begin(), dests.end(), [](const Dest& a, const Dest& b) { return a.sw < b.sw; });

  // Balanced shortest paths.
  std::vector<uint64_t> load(size_t(g.nsw) * g.stride, 0);
  std::vector<uint32_t> dist(g.nsw), order, queue;
  std::vector<uint64_t> flow(g.nsw);
  uint32_t bfs_root = kUnset;
  for (const Dest& d : dests) {
    if (d.sw != bfs_root) {
      bfs_root = d.sw;
      std::fill(dist.begin(), dist.end(), kUnset);
      dist[d.sw] = 0;
      queue.assign(1, d.sw);
      for (size_t qi = 0; qi < queue.size(); ++qi) {
        uint32_t u = queue[qi];
        for (uint32_t k = g.adj_offsets[u]; k < g.adj_offsets[u + 1]; ++k) {
          uint32_t w = g.adj[k].second;
          if (dist[w] == kUnset) {
            dist[w] = dist[u] + 1;
            queue.push_back(w);
          }
        }
      }
      if (queue.size() != g.nsw) {
        uint32_t lost = 0;
        while (dist[lost] != kUnset) ++lost;
        return Outcome::Failed(fmt::format("switch {} cannot reach switch {}", f.description(sn.switches[lost]),
                                           f.description(sn.switches[d.sw])));
      }
      order.assign(queue.rbegin(), queue.rend());  // farthest first
    }
    const bool to_endpoint = d.endpoint != kUnset;
    for (uint32_t u : order) flow[u] = to_endpoint ? g.sources[u] - (u == d.sw ? 1 : 0) : 0;
    for (uint32_t u : order) {
      uint8_t port;
      if (u == d.sw) {
        port = d.last_port;
      } else {
        // Fewest routes so far among the shortest next hops; rotate the start so equal loads
        // spread by destination.
        uint32_t first = g.adj_offsets[u], n = g.adj_offsets[u + 1] - first;
        uint32_t best = kUnset;
        for (uint32_t j = 0; j < n; ++j) {
          uint32_t k = first + (j + d.lid) % n;
          if (dist[g.adj[k].second] + 1 != dist[u]) continue;
          if (best == kUnset || load[u * g.stride + g.adj[k].first] < load[u * g.stride + g.adj[best].first]) best = k;
        }
        port = g.adj[best].first;
        load[u * g.stride + port] += flow[u];
        flow[g.adj[best].second] += flow[u];
      }
      out.lft[size_t(u) * L + d.lid] = port;
    }
  }

  // Channel dependencies of each endpoint destination's tree, over switch-to-switch channels,
  // as keys in * stride + out port, counting only switches that carry traffic.
  std::vector<uint64_t> keys;
  std::vector<uint32_t> tree_offsets{0};
  std::vector<uint32_t> endpoint_dests;  // indexes into dests
  std::vector<uint32_t> used(g.nsw, kUnset);
  for (uint32_t di = 0; di < dests.size(); ++di) {
    const Dest& d = dests[di];
    if (d.endpoint == kUnset) continue;
    for (uint32_t s = 0; s < g.nsw; ++s) {
      if (g.sources[s] == 0 || (s == d.sw && g.sources[s] == 1)) continue;
      for (uint32_t u = s; used[u] != di;) {
        used[u] = di;
        uint32_t chan = u * g.stride + out.lft[size_t(u) * L + d.lid];
        uint32_t t = g.head[chan];
        if (t == kUnset) break;
        uint8_t q = out.lft[size_t(t) * L + d.lid];
        if (g.head[t * g.stride + q] != kUnset) keys.push_back(uint64_t(chan) * g.stride + q);
        u = t;
      }
    }
    endpoint_dests.push_back(di);
    tree_offsets.push_back(uint32_t(keys.size()));
  }
  std::vector<uint64_t> edge_key(keys);
  std::sort(edge_key.begin(), edge_key.end());
  edge_key.erase(std::unique(edge_key.begin(), edge_key.end()), edge_key.end());
  const uint32_t num_edges = uint32_t(edge_key.size());
  std::vector<uint32_t> tree_edges(keys.size());
  for (size_t i = 0; i < keys.size(); ++i)
    tree_edges[i] = uint32_t(std::lower_bound(edge_key.begin(), edge_key.end(), keys[i]) - edge_key.begin());
  keys = {};
  // Users of every edge (tree index), CSR.
  std::vector<uint32_t> user_offsets(num_edges + 1, 0), users(tree_edges.size());
  for (uint32_t e : tree_edges) ++user_offsets[e + 1];
  std::partial_sum(user_offsets.begin(), user_offsets.end(), user_offsets.begin());
  {
    std::vector<uint32_t> fill(user_offsets.begin(), user_offsets.end() - 1);
    for (uint32_t t = 0; t + 1 < tree_offsets.size(); ++t)
      for (uint32_t i = tree_offsets[t]; i < tree_offsets[t + 1]; ++i) users[fill[tree_edges[i]]++] = t;
  }
  // Edges leaving each channel: edge keys are sorted, so they are grouped by channel.
  const size_t num_chan = size_t(g.nsw) * g.stride;
  std::vector<uint32_t> chan_first(num_chan + 1, 0);
  for (uint64_t k : edge_key) ++chan_first[k / g.stride + 1];
  std::partial_sum(chan_first.begin(), chan_first.end(), chan_first.begin());
  auto edge_target = [&](uint32_t e) -> uint32_t {
    uint64_t k = edge_key[e];
    uint32_t chan = uint32_t(k / g.stride);
    return g.head[chan] * g.stride + uint32_t(k % g.stride);
  };

  const uint32_t trees = uint32_t(endpoint_dests.size());
  std::vector<uint8_t> layer(trees, 0);
  std::vector<uint32_t> weight(num_edges);
  std::vector<uint8_t> color(num_chan);  // 0 white, 1 on the DFS path, 2 done (no cycle reachable)
  struct Frame {
    uint32_t chan;
    uint32_t next;  // next edge to try
  };
  std::vector<Frame> stack;
  uint32_t layers = 0;
  for (uint32_t L_ = 0;; ++L_) {
    uint32_t members = 0;
    std::fill(weight.begin(), weight.end(), 0);
    for (uint32_t t = 0; t < trees; ++t) {
      if (layer[t] != L_) continue;
      ++members;
      for (uint32_t i = tree_offsets[t]; i < tree_offsets[t + 1]; ++i) ++weight[tree_edges[i]];
    }
    if (members == 0) break;
    layers = L_ + 1;
    if (layers > req.options.max_vls)
      return Outcome::Failed(fmt::format(
          "needs more than {} VL{} to break every credit loop of its shortest paths ({} destinations left over); "
          "raise --vls or use updn",
          req.options.max_vls, req.options.max_vls == 1 ? "" : "s", members));
    std::fill(color.begin(), color.end(), 0);
    for (uint32_t root = 0; root < num_chan; ++root) {
      if (color[root] != 0 || chan_first[root] == chan_first[root + 1]) continue;
      stack.assign(1, {root, chan_first[root]});
      color[root] = 1;
      while (!stack.empty()) {
        Frame& fr = stack.back();
        if (fr.next == chan_first[fr.chan + 1]) {
          color[fr.chan] = 2;
          stack.pop_back();
          continue;
        }
        uint32_t e = fr.next++;
        if (weight[e] == 0) continue;
        uint32_t w = edge_target(e);
        if (color[w] == 2) continue;
        if (color[w] == 0) {
          color[w] = 1;
          stack.push_back({w, chan_first[w]});
          continue;
        }
        // A cycle: the edges taken from w's frame to the top, plus e. Break it at the
        // dependency the fewest destinations use.
        uint32_t weakest = e;
        for (size_t i = stack.size(); i-- > 0;) {
          uint32_t taken = stack[i].next - 1;
          if (weight[taken] < weight[weakest]) weakest = taken;
          if (stack[i].chan == w) break;
        }
        for (uint32_t i = user_offsets[weakest]; i < user_offsets[weakest + 1]; ++i) {
          uint32_t t = users[i];
          if (layer[t] != L_) continue;
          layer[t] = uint8_t(L_ + 1);
          for (uint32_t j = tree_offsets[t]; j < tree_offsets[t + 1]; ++j) --weight[tree_edges[j]];
        }
        // Removing edges cannot create cycles, so finished channels stay finished; the
        // path is re-explored from its root.
        for (const Frame& x : stack) color[x.chan] = 0;
        stack.assign(1, {root, chan_first[root]});
        color[root] = 1;
      }
    }
    if (L_ + 1 >= 15) return Outcome::Failed("needs more than 15 VLs");
  }

  out.num_vls = uint8_t(std::max<uint32_t>(layers, 1));
  if (out.num_vls == 1) return Outcome::Ok();
  out.pair_sl.assign(sn.endpoint_ports.size() * L, 0);
  for (uint32_t t = 0; t < trees; ++t) {
    Lid lid = dests[endpoint_dests[t]].lid;
    for (size_t e = 0; e < sn.endpoint_ports.size(); ++e) out.pair_sl[e * L + lid] = layer[t];
  }
  for (uint8_t s = 0; s < 16; ++s) out.endpoint_sl2vl[s] = s < out.num_vls ? s : 0;
  out.sl2vl_stride = g.stride;
  out.sl2vl.assign(size_t(g.nsw) * g.stride * g.stride * 16, 0);
  for (size_t i = 0; i < out.sl2vl.size(); i += 16)
    for (uint8_t s = 0; s < out.num_vls; ++s) out.sl2vl[i + s] = s;
  return Outcome::Ok();
}

}  // namespace

std::unique_ptr<RoutingEngine> MakeDfssspEngine() { return std::make_unique<Dfsssp>(); }

}  // namespace fabricctl
