#include "routing/torus.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <optional>
#include <variant>

namespace fabricctl {
namespace {

constexpr uint32_t kUnknown = kNone;
constexpr uint32_t kAbsent = kNone - 1;
constexpr int kMaxDims = 3;

// Switch graph with parallel cables merged: neighbours of each switch and the ports to them.
struct Graph {
  uint32_t num_switches = 0;
  std::vector<uint32_t> sw_of_node;
  std::vector<std::vector<uint32_t>> nbrs;               // distinct neighbour switches, ascending
  std::vector<std::vector<std::vector<uint8_t>>> ports;  // ports[v][k]: cables to nbrs[v][k]
};

bool Adjacent(const Graph& g, uint32_t a, uint32_t b) {
  return std::binary_search(g.nbrs[a].begin(), g.nbrs[a].end(), b);
}

// A recognised grid: coordinates of every switch, size and wrap of every dimension and,
// per switch, the neighbour in each direction (slot 2*i for +1 in dimension i, 2*i+1 for -1).
struct Grid {
  int dims = 0;
  std::array<uint32_t, kMaxDims> size{1, 1, 1};
  std::array<bool, kMaxDims> wrap{};
  std::vector<std::array<uint32_t, kMaxDims>> coord;
  std::vector<std::array<uint32_t, 2 * kMaxDims>> dir;
};

// Spreads the origin's directions over the graph: each switch reached in direction s from v
// gets v back in the opposite direction, the neighbours that close a unit square with v's
// other neighbours in the other dimensions, and its one remaining neighbour to continue
// the line. False when a square or a line is ambiguous or missing, or a switch is left out.
bool SpreadDirections(const Graph& g, uint32_t origin, Grid& grid) {
  const int slots = 2 * grid.dims;
  std::vector<uint8_t> seen(g.num_switches, 0);
  seen[origin] = 1;
  std::vector<uint32_t> queue{origin};
  for (size_t qi = 0; qi < queue.size(); ++qi) {
    uint32_t v = queue[qi];
    for (int s = 0; s < slots; ++s) {
      uint32_t w = grid.dir[v][s];
      if (w == kAbsent || seen[w]) continue;
      int i = s / 2;
      auto& dw = grid.dir[w];
      dw.fill(kAbsent);
      dw[s ^ 1] = v;
      for (int t = 0; t < slots; ++t) {
        if (t / 2 == i) continue;
        uint32_t x = grid.dir[v][t];
        if (x == kAbsent) continue;
        // w's neighbour in direction t closes the unit square v, w, ?, x.
        uint32_t found = kAbsent;
        for (uint32_t y : g.nbrs[w]) {
          if (y == v || !Adjacent(g, x, y)) continue;
          if (found != kAbsent) return false;
          found = y;
        }
        if (found == kAbsent) return false;
        dw[t] = found;
      }
      // Whatever neighbour is left continues the line.
      uint32_t left = kAbsent;
      for (uint32_t y : g.nbrs[w]) {
        if (std::find(dw.begin(), dw.begin() + slots, y) != dw.begin() + slots) continue;
        if (left != kAbsent) return false;
        left = y;
      }
      dw[s] = left;
      seen[w] = 1;
      queue.push_back(w);
    }
  }
  return queue.size() == g.num_switches;
}

// Size and wrap of every dimension, walking from the origin in each + direction; false
// unless the sizes multiply to the switch count (a mesh's origin must be a corner).
bool MeasureDimensions(const Graph& g, uint32_t origin, Grid& grid) {
  for (int i = 0; i < grid.dims; ++i) {
    uint32_t v = origin, steps = 0;
    while (true) {
      uint32_t w = grid.dir[v][2 * i];
      if (w == kAbsent) {
        grid.wrap[i] = false;
        grid.size[i] = steps + 1;
        if (grid.dir[origin][2 * i + 1] != kAbsent) return false;  // the origin must be a mesh corner
        break;
      }
      ++steps;
      if (w == origin) {
        grid.wrap[i] = true;
        grid.size[i] = steps;
        break;
      }
      if (steps > g.num_switches) return false;
      v = w;
    }
    if (grid.wrap[i] && grid.size[i] < 3) return false;
  }
  size_t total = 1;
  for (int i = 0; i < grid.dims; ++i) total *= grid.size[i];
  return total == g.num_switches;
}

// Coordinates by breadth-first search from the origin; false where two ways to a switch
// give it different coordinates.
bool AssignCoordinates(const Graph& g, uint32_t origin, Grid& grid) {
  const int slots = 2 * grid.dims;
  grid.coord.assign(g.num_switches, {kUnknown, kUnknown, kUnknown});
  grid.coord[origin] = {0, 0, 0};
  std::vector<uint32_t> queue{origin};
  for (size_t qi = 0; qi < queue.size(); ++qi) {
    uint32_t v = queue[qi];
    for (int s = 0; s < slots; ++s) {
      uint32_t w = grid.dir[v][s];
      if (w == kAbsent) continue;
      int i = s / 2;
      auto c = grid.coord[v];
      uint32_t k = grid.size[i];
      c[i] = s % 2 == 0 ? (c[i] + 1) % k : (c[i] + k - 1) % k;
      if (grid.coord[w][0] == kUnknown) {
        grid.coord[w] = c;
        queue.push_back(w);
      } else if (grid.coord[w] != c) {
        return false;
      }
    }
  }
  return true;
}

// Distinct coordinates, and in every direction a neighbour pointing back exactly where the
// grid has one.
bool CoordinatesConsistent(const Graph& g, const Grid& grid) {
  size_t total = 1;
  for (int i = 0; i < grid.dims; ++i) total *= grid.size[i];
  std::vector<uint8_t> taken(total, 0);
  for (uint32_t v = 0; v < g.num_switches; ++v) {
    size_t idx = 0, mul = 1;
    for (int i = 0; i < grid.dims; ++i) {
      uint32_t c = grid.coord[v][i];
      idx += c * mul;
      mul *= grid.size[i];
      bool has_plus = grid.wrap[i] || c + 1 < grid.size[i];
      bool has_minus = grid.wrap[i] || c > 0;
      uint32_t plus = grid.dir[v][2 * i], minus = grid.dir[v][2 * i + 1];
      if ((plus != kAbsent) != has_plus || (minus != kAbsent) != has_minus) return false;
      if (plus != kAbsent && grid.dir[plus][2 * i + 1] != v) return false;
      if (minus != kAbsent && grid.dir[minus][2 * i] != v) return false;
    }
    if (taken[idx]++) return false;
  }
  return true;
}

// Tries one assignment of the origin's neighbours to directions; returns the grid if the
// whole switch graph is exactly a complete torus/mesh in those directions.
std::optional<Grid> TryGrid(const Graph& g, uint32_t origin, int dims,
                            const std::array<uint32_t, 2 * kMaxDims>& start) {
  Grid grid;
  grid.dims = dims;
  grid.dir.assign(g.num_switches, {});
  for (auto& d : grid.dir) d.fill(kUnknown);
  grid.dir[origin] = start;
  if (!SpreadDirections(g, origin, grid) || !MeasureDimensions(g, origin, grid) ||
      !AssignCoordinates(g, origin, grid) || !CoordinatesConsistent(g, grid))
    return std::nullopt;
  return grid;
}

// Recognises the grid or says why not.
std::variant<Grid, std::string> Recognise(const Fabric& f, const Subnet& sn, const Graph& g) {
  if (g.num_switches < 2) return std::string("a single switch is not a torus or mesh");
  uint32_t origin = 0;
  for (uint32_t v = 0; v < g.num_switches; ++v) {
    if (g.nbrs[v].size() > 2 * kMaxDims)
      return fmt::format("switch {} has {} neighbour switches; a 3D torus has at most 6", f.description(sn.switches[v]),
                         g.nbrs[v].size());
    if (g.nbrs[v].size() < g.nbrs[origin].size()) origin = v;
  }
  const size_t deg = g.nbrs[origin].size();
  for (int dims = 1; dims <= kMaxDims; ++dims) {
    const int slots = 2 * dims;
    if (int(deg) > slots) continue;
    // Every injective assignment of the origin's neighbours to the 2*dims directions.
    std::vector<int> slot_of(deg, 0);
    std::vector<uint8_t> used(slots, 0);
    std::optional<Grid> found;
    auto rec = [&](auto& self, size_t k) -> void {
      if (found) return;
      if (k == deg) {
        std::array<uint32_t, 2 * kMaxDims> start;
        start.fill(kAbsent);
        for (size_t j = 0; j < deg; ++j) start[slot_of[j]] = g.nbrs[origin][j];
        found = TryGrid(g, origin, dims, start);
        return;
      }
      for (int s = 0; s < slots; ++s) {
        if (used[s]) continue;
        used[s] = 1;
        slot_of[k] = s;
        self(self, k + 1);
        used[s] = 0;
      }
    };
    rec(rec, 0);
    if (found) return std::move(*found);
  }
  return fmt::format(
      "the {} switches are not a complete 1D/2D/3D torus or mesh (a missing or extra cable, or another "
      "topology)",
      g.num_switches);
}

class Torus final : public RoutingEngine {
 public:
  std::string_view name() const override { return "torus"; }
  Outcome Route(const RouteRequest& req, SubnetRoutes& out) const override;
};

// The switch graph: distinct neighbours in ascending order and the cables to each.
Graph BuildSwitchGraph(const Fabric& f, const Subnet& sn) {
  Graph g;
  g.num_switches = uint32_t(sn.switches.size());
  g.sw_of_node.assign(f.num_nodes(), kNone);
  for (uint32_t i = 0; i < g.num_switches; ++i) g.sw_of_node[sn.switches[i]] = i;
  g.nbrs.resize(g.num_switches);
  g.ports.resize(g.num_switches);
  for (uint32_t v = 0; v < g.num_switches; ++v) {
    for (const Adjacency& a : f.neighbors(sn.switches[v]))
      if (f.is_switch(a.peer_node)) g.nbrs[v].push_back(g.sw_of_node[a.peer_node]);
    std::sort(g.nbrs[v].begin(), g.nbrs[v].end());
    g.nbrs[v].erase(std::unique(g.nbrs[v].begin(), g.nbrs[v].end()), g.nbrs[v].end());
    g.ports[v].resize(g.nbrs[v].size());
    for (const Adjacency& a : f.neighbors(sn.switches[v]))
      if (f.is_switch(a.peer_node)) {
        size_t k = std::lower_bound(g.nbrs[v].begin(), g.nbrs[v].end(), g.sw_of_node[a.peer_node]) - g.nbrs[v].begin();
        g.ports[v][k].push_back(f.port(a.local).number);
      }
  }
  return g;
}

const std::vector<uint8_t>& PortsTo(const Graph& g, uint32_t v, uint32_t w) {
  size_t k = std::lower_bound(g.nbrs[v].begin(), g.nbrs[v].end(), w) - g.nbrs[v].begin();
  return g.ports[v][k];
}

// Per dimension and LID parity, a table [a * size + b]: the direction (slot) to take in the
// dimension from coordinate a towards b (for an even and an odd destination LID: they
// differ only halfway round a ring, where the destinations spread over both ways); kSame
// when a == b. Tabled: the LFT loop runs once per (switch, LID).
constexpr uint8_t kSame = 0xFF;
using DimensionTables = std::array<std::array<std::vector<uint8_t>, 2>, kMaxDims>;

DimensionTables StepTables(const Grid& grid) {
  DimensionTables steps;
  for (int i = 0; i < grid.dims; ++i) {
    const uint32_t k = grid.size[i];
    for (uint32_t parity = 0; parity < 2; ++parity) {
      std::vector<uint8_t>& t = steps[i][parity];
      t.assign(size_t{k} * k, kSame);
      for (uint32_t a = 0; a < k; ++a)
        for (uint32_t b = 0; b < k; ++b) {
          if (a == b) continue;
          const uint32_t delta = (b + k - a) % k;
          const bool plus = grid.wrap[i] ? 2 * delta < k || (2 * delta == k && parity == 0) : b > a;
          t[size_t{a} * k + b] = uint8_t(plus ? 2 * i : 2 * i + 1);
        }
    }
  }
  return steps;
}

// SL bit i: the route crosses the dateline of dimension i (between coordinate k-1 and 0),
// tabled like the steps: from a towards b, for an even and an odd LID.
DimensionTables DatelineTables(const Grid& grid, const DimensionTables& steps) {
  DimensionTables crosses;
  for (int i = 0; i < grid.dims; ++i) {
    const uint32_t k = grid.size[i];
    for (uint32_t parity = 0; parity < 2; ++parity) {
      std::vector<uint8_t>& t = crosses[i][parity];
      t.assign(size_t{k} * k, 0);
      if (!grid.wrap[i]) continue;
      for (uint32_t a = 0; a < k; ++a)
        for (uint32_t b = 0; b < k; ++b) {
          const uint8_t slot = steps[i][parity][size_t{a} * k + b];
          t[size_t{a} * k + b] = uint8_t(((slot == 2 * i && b < a) || (slot == 2 * i + 1 && b > a)) << i);
        }
    }
  }
  return crosses;
}

// Per LID: the switch it hangs off (kNone: not routed) and the port there (0 for the
// switch's own LID); whether it is an endpoint of this subnet (it gets SLs). Per endpoint:
// its switch.
struct LidTargets {
  std::vector<uint32_t> lid_switch;
  std::vector<uint8_t> lid_last, lid_endpoint;
  std::vector<uint32_t> endpoint_switch;
};

LidTargets FindLidTargets(const Fabric& f, const Subnet& sn, const Graph& g, const SubnetRoutes& out) {
  const size_t lids = out.num_lids();
  std::vector<uint32_t> ep_of_port(f.num_port_slots(), kNone);
  for (uint32_t e = 0; e < sn.endpoint_ports.size(); ++e) ep_of_port[sn.endpoint_ports[e]] = e;
  LidTargets t{.lid_switch = std::vector<uint32_t>(lids, kNone),
               .lid_last = std::vector<uint8_t>(lids, 0),
               .lid_endpoint = std::vector<uint8_t>(lids, 0),
               .endpoint_switch = std::vector<uint32_t>(sn.endpoint_ports.size(), kNone)};
  for (uint32_t e = 0; e < sn.endpoint_ports.size(); ++e) {
    PortId peer = f.port(sn.endpoint_ports[e]).peer;
    if (peer != kNone && f.is_switch(f.port(peer).node)) t.endpoint_switch[e] = g.sw_of_node[f.port(peer).node];
  }
  for (Lid lid = 1; lid < lids; ++lid) {
    PortId owner = out.lid_owner[lid];
    if (owner == kNone) continue;
    const Port& op = f.port(owner);
    if (f.is_switch(op.node)) {
      t.lid_switch[lid] = g.sw_of_node[op.node];
    } else if (op.peer != kNone && f.is_switch(f.port(op.peer).node)) {
      t.lid_switch[lid] = g.sw_of_node[f.port(op.peer).node];
      t.lid_last[lid] = f.port(op.peer).number;
      t.lid_endpoint[lid] = ep_of_port[owner] != kNone;
    }
  }
  return t;
}

// Dimension-order routes: every switch steps in the first dimension in which it differs
// from the destination's switch; parallel cables alternate by LID.
void FillDimensionOrder(const Graph& g, const Grid& grid, const DimensionTables& steps, const LidTargets& targets,
                        SubnetRoutes& out) {
  const size_t lids = out.num_lids();
  std::vector<std::array<const std::vector<uint8_t>*, 2 * kMaxDims>> cables(g.num_switches);
  for (uint32_t s = 0; s < g.num_switches; ++s)
    for (int slot = 0; slot < 2 * grid.dims; ++slot)
      cables[s][slot] = grid.dir[s][slot] == kAbsent ? nullptr : &PortsTo(g, s, grid.dir[s][slot]);
  auto first_step = [&](uint32_t s, uint32_t d, Lid lid) -> uint8_t {
    for (int i = 0; i < grid.dims; ++i) {
      const uint8_t slot = steps[i][lid & 1][size_t{grid.coord[s][i]} * grid.size[i] + grid.coord[d][i]];
      if (slot != kSame) return slot;
    }
    return kSame;
  };
  for (uint32_t s = 0; s < g.num_switches; ++s) {
    uint8_t* row = &out.lft[size_t(s) * lids];
    for (Lid lid = 1; lid < lids; ++lid) {
      const uint32_t d = targets.lid_switch[lid];
      if (d == kNone) continue;
      if (d == s) {
        row[lid] = targets.lid_last[lid];
        continue;
      }
      const std::vector<uint8_t>& c = *cables[s][first_step(s, d, lid)];
      row[lid] = c.size() == 1 ? c[0] : c[(lid / 2) % c.size()];
    }
  }
}

// Two VLs: each endpoint pair's SL has bit i set when its route crosses the dateline of
// dimension i, and a hop's VL is the SL bit of its output port's dimension.
void WriteDatelineVls(const Fabric& f, const Subnet& sn, const Graph& g, const Grid& grid, const DimensionTables& steps,
                      const LidTargets& targets, SubnetRoutes& out) {
  const size_t lids = out.num_lids();
  out.num_vls = 2;
  const DimensionTables crosses = DatelineTables(grid, steps);
  out.pair_sl.assign(sn.endpoint_ports.size() * lids, 0);
  for (uint32_t e = 0; e < sn.endpoint_ports.size(); ++e) {
    const uint32_t s = targets.endpoint_switch[e];
    if (s == kNone) continue;
    uint8_t* row = &out.pair_sl[size_t(e) * lids];
    for (Lid lid = 1; lid < lids; ++lid) {
      if (!targets.lid_endpoint[lid]) continue;
      const uint32_t d = targets.lid_switch[lid];
      uint8_t sl = 0;
      for (int i = 0; i < grid.dims; ++i)
        sl |= crosses[i][lid & 1][size_t{grid.coord[s][i]} * grid.size[i] + grid.coord[d][i]];
      row[lid] = sl;
    }
  }
  unsigned max_port = 0;
  for (NodeId n : sn.switches) max_port = std::max<unsigned>(max_port, f.node(n).num_ports);
  const uint32_t stride = max_port + 1;
  out.sl2vl_stride = stride;
  out.sl2vl.assign(size_t(g.num_switches) * stride * stride * 16, 0);
  out.endpoint_sl2vl.fill(0);
  for (uint32_t s = 0; s < g.num_switches; ++s)
    for (int slot = 0; slot < 2 * grid.dims; ++slot) {
      uint32_t w = grid.dir[s][slot];
      if (w == kAbsent) continue;
      int i = slot / 2;
      for (uint8_t p : PortsTo(g, s, w))
        for (uint32_t in = 0; in < stride; ++in)
          for (uint32_t sl = 0; sl < 16; ++sl)
            out.sl2vl[((size_t(s) * stride + in) * stride + p) * 16 + sl] = uint8_t((sl >> i) & 1);
    }
}

Outcome Torus::Route(const RouteRequest& req, SubnetRoutes& out) const {
  const Fabric& f = req.fabric;
  const Subnet& sn = req.subnet;
  const Graph g = BuildSwitchGraph(f, sn);
  auto recognised = Recognise(f, sn, g);
  if (auto* why = std::get_if<std::string>(&recognised)) return Outcome::NotApplicable(std::move(*why));
  const Grid& grid = std::get<Grid>(recognised);
  const bool any_wrap = std::any_of(grid.wrap.begin(), grid.wrap.begin() + grid.dims, [](bool w) { return w; });
  if (any_wrap && req.options.max_vls < 2)
    return Outcome::Failed("a torus needs 2 VLs for its datelines; --vls allows 1");
  const DimensionTables steps = StepTables(grid);
  const LidTargets targets = FindLidTargets(f, sn, g, out);
  FillDimensionOrder(g, grid, steps, targets, out);
  if (any_wrap) WriteDatelineVls(f, sn, g, grid, steps, targets, out);
  return Outcome::Ok();
}

}  // namespace

std::unique_ptr<RoutingEngine> MakeTorusEngine() { return std::make_unique<Torus>(); }

}  // namespace fabricctl
