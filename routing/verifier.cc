#include "routing/verifier.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <memory>
#include <mutex>
#include <thread>

namespace fabricctl {

std::string_view ToString(ViolationKind k) {
  switch (k) {
    case ViolationKind::kUnreachable:
      return "unreachable";
    case ViolationKind::kLoop:
      return "loop";
    case ViolationKind::kThroughEndpoint:
      return "through-endpoint";
    case ViolationKind::kDeadPort:
      return "dead-port";
    case ViolationKind::kCreditLoop:
      return "credit-loop";
    case ViolationKind::kSubnetNotRouted:
      return "subnet-not-routed";
    case ViolationKind::kBadVl:
      return "bad-vl";
  }
  return "?";
}

std::string FormatCycle(const Fabric& fabric, const std::vector<CycleChannel>& cycle) {
  bool show_vl = std::any_of(cycle.begin(), cycle.end(), [](const CycleChannel& c) { return c.vl != 0; });
  std::string out;
  for (size_t i = 0; i <= cycle.size() && !cycle.empty(); ++i) {
    const CycleChannel& c = cycle[i % cycle.size()];
    const Port& p = fabric.port(c.from);
    if (i) out += " -> ";
    out += fmt::format("{}:{}", fabric.description(p.node), p.number);
    if (show_vl) out += fmt::format(" (VL {})", c.vl);
  }
  return out;
}

namespace {

// Destination LIDs per task: LFT rows are read in runs of this many bytes (two cache lines).
constexpr Lid kBlock = 128;

// Per-switch outcome of following the LFTs towards one destination.
enum Status : uint8_t { kInProgress, kOk, kNoRouteSt, kLoopSt, kThroughSt, kDeadSt };

// Immutable facts about one subnet, shared by the worker threads.
struct SubnetFacts {
  const Fabric* fabric = nullptr;
  const Subnet* subnet = nullptr;
  const SubnetRoutes* routes = nullptr;
  size_t num_lids = 0;
  uint32_t num_switches = 0;
  uint32_t stride = 0;  // max switch port number + 1: channel = switch index * stride + port
  uint32_t vls = 1;
  std::vector<uint32_t> sw_of_node;            // NodeId -> switch index, kNone for others
  std::vector<uint32_t> head_sw;               // channel -> switch index it enters, kNone if none
  std::vector<PortId> peer;                    // channel -> port at the other end, kNone if no cable / no port
  std::vector<uint8_t> peer_number;            // channel -> port number at the other end
  std::vector<Lid> own_lid;                    // switch index -> LID of its port 0 (0 if none)
  std::vector<uint32_t> endpoint_of_port_lid;  // lid -> endpoint index, kNone if not an endpoint
  // Endpoints by the switch they hang off: CSR over switch index.
  std::vector<uint32_t> ep_offsets, ep_list;
  std::vector<uint32_t> ep_switch;  // endpoint index -> switch index (kNone if not on a switch)
  std::vector<uint8_t> ep_in_port;  // endpoint index -> switch port number it arrives on
  std::vector<uint32_t> ep_direct;  // endpoints cabled to something other than a switch
  size_t row_words = 0;             // CDG bitmap words per (channel, VL)
};

struct Accum {
  SubnetVerdict v;
  std::vector<Violation> violations;
  std::vector<uint64_t> cdg;  // rows of successor bits, (channel * vls + vl) * row_words
  uint32_t vl_mask = 0;
  // Scratch, reused across destinations.
  std::vector<uint32_t> stamp;
  std::vector<uint8_t> status;
  std::vector<PortId> at;
  std::vector<uint32_t> used_stamp;
  std::vector<uint32_t> state_stamp;  // per (channel, VL)
  std::vector<uint32_t> stack;
  std::vector<uint8_t> sl_block;
  std::vector<uint8_t> col_block;  // LFT block transposed: [lid - lo][switch]
  uint32_t tick = 0;
};

void AddViolation(Accum& acc, size_t max_keep, Violation v) {
  if (acc.violations.size() < max_keep) acc.violations.push_back(std::move(v));
}

std::string SwitchPortName(const Fabric& f, NodeId sw, unsigned port) {
  return fmt::format("{}:{}", f.description(sw), port);
}

// Follows the LFTs (column `col` of the destination) from switch `start` towards LID
// `lid`, memoising the outcome of every switch visited in acc.status (valid where
// acc.stamp == acc.tick). Only compact arrays are touched: this is the hot loop.
void Resolve(const SubnetFacts& sf, Accum& acc, const uint8_t* col, uint32_t start, PortId dest_port) {
  const Fabric& f = *sf.fabric;
  acc.stack.clear();
  uint32_t s = start;
  uint8_t result = kOk;
  PortId where = kNone;
  while (true) {
    if (acc.stamp[s] == acc.tick) {
      if (acc.status[s] == kInProgress) {
        result = kLoopSt;
        where = f.port_id(sf.subnet->switches[s], col[s]);
      } else {
        result = acc.status[s];
        where = acc.at[s];
      }
      break;
    }
    acc.stamp[s] = acc.tick;
    acc.status[s] = kInProgress;
    acc.stack.push_back(s);
    uint8_t p = col[s];
    if (p == kNoRoute) {
      result = kNoRouteSt;
      where = f.port_id(sf.subnet->switches[s], 0);
      break;
    }
    size_t chan = size_t(s) * sf.stride + p;
    if (p == 0 || p >= sf.stride || sf.peer[chan] == kNone) {
      NodeId node = sf.subnet->switches[s];
      result = kDeadSt;
      where = p <= f.node(node).num_ports ? f.port_id(node, p) : f.port_id(node, 0);
      break;
    }
    PortId peer = sf.peer[chan];
    if (peer == dest_port) {
      result = kOk;
      break;
    }
    uint32_t t = sf.head_sw[chan];
    if (t == kNone) {
      result = kThroughSt;
      where = peer;
      break;
    }
    s = t;
  }
  for (uint32_t x : acc.stack) {
    acc.status[x] = result;
    acc.at[x] = where;
  }
}

std::string DescribeFault(const Fabric& f, uint8_t status, PortId at, Lid lid) {
  const Port& p = f.port(at);
  switch (status) {
    case kNoRouteSt:
      return fmt::format("{} has no LFT entry for LID {}", f.description(p.node), lid);
    case kLoopSt:
      return fmt::format("forwarding loop through {}", SwitchPortName(f, p.node, p.number));
    case kThroughSt:
      return fmt::format("path enters endpoint {}", f.PortName(at));
    case kDeadSt:
      return fmt::format("{} forwards LID {} to a port without a cable", SwitchPortName(f, p.node, p.number), lid);
  }
  return "?";
}

void CountPairFault(SubnetVerdict& v, uint8_t status, uint64_t n) {
  switch (status) {
    case kLoopSt:
      v.loop_pairs += n;
      break;
    case kThroughSt:
      v.through_endpoint_pairs += n;
      break;
    default:
      v.unreachable_pairs += n;
      break;
  }
}

ViolationKind KindOf(uint8_t status) {
  switch (status) {
    case kLoopSt:
      return ViolationKind::kLoop;
    case kThroughSt:
      return ViolationKind::kThroughEndpoint;
    default:
      return ViolationKind::kUnreachable;
  }
}

void SetEdge(const SubnetFacts& sf, Accum& acc, uint32_t from_node, uint32_t out_port, uint32_t vl) {
  uint32_t bit = out_port * sf.vls + vl;
  acc.cdg[from_node * sf.row_words + bit / 64] |= uint64_t{1} << (bit % 64);
}

// Dead entries: every LFT entry of lids [lo, hi) that names a port, whatever it is for.
// Rows are read sequentially and transposed into per-destination columns (acc.col_block)
// for the walks that follow.
void CheckDeadEntries(const SubnetFacts& sf, Accum& acc, Lid lo, Lid hi, size_t max_keep) {
  const Fabric& f = *sf.fabric;
  const Subnet& sn = *sf.subnet;
  const size_t width = hi - lo;
  acc.col_block.resize(width * sf.num_switches);
  for (uint32_t s = 0; s < sf.num_switches; ++s) {
    const uint8_t* row = &sf.routes->lft[size_t(s) * sf.num_lids + lo];
    // Rows are num_lids apart: too far for the hardware prefetcher to guess.
    if (s + 8 < sf.num_switches) {
      __builtin_prefetch(row + 8 * sf.num_lids);
      __builtin_prefetch(row + 8 * sf.num_lids + 64);
    }
    const size_t base = size_t(s) * sf.stride;
    for (size_t j = 0; j < width; ++j) {
      uint8_t p = row[j];
      acc.col_block[j * sf.num_switches + s] = p;
      if (p == kNoRoute) continue;
      Lid lid = Lid(lo + j);
      bool own = sf.own_lid[s] == lid;
      bool dead = own ? p != 0 : (p == 0 || p >= sf.stride || sf.peer[base + p] == kNone);
      if (!dead) continue;
      ++acc.v.dead_port_entries;
      if (acc.violations.size() >= max_keep) continue;
      NodeId node = sn.switches[s];
      unsigned np = f.node(node).num_ports;
      AddViolation(acc, max_keep,
                   {.kind = ViolationKind::kDeadPort,
                    .subnet = sn.id,
                    .destination = lid,
                    .at = f.port_id(node, p <= np ? p : 0),
                    .text = own ? fmt::format("{} forwards its own LID {} to port {}", f.description(node), lid, p)
                                : fmt::format("{} forwards LID {} to port {}, which has no cable", f.description(node),
                                              lid, p)});
    }
  }
}

// SLs of the destinations lids [lo, hi) for every source, transposed so that each
// destination's sources are contiguous (pair_sl rows are per source).
void TransposeSls(const SubnetFacts& sf, Accum& acc, Lid lo, Lid hi) {
  const size_t width = hi - lo;
  const size_t num_eps = sf.subnet->endpoint_ports.size();
  acc.sl_block.resize(width * num_eps);
  for (size_t e = 0; e < num_eps; ++e) {
    const uint8_t* row = &sf.routes->pair_sl[e * sf.num_lids + lo];
    for (size_t j = 0; j < width; ++j) acc.sl_block[j * num_eps + e] = row[j];
  }
}

// Reachability, loops and endpoints on the way from every source to `lid`: once per switch
// that has sources, then for the endpoints cabled to something other than a switch.
void CheckPairs(const SubnetFacts& sf, Accum& acc, Lid lid, uint32_t dest_ep, const uint8_t* col, size_t max_keep) {
  const Fabric& f = *sf.fabric;
  const Subnet& sn = *sf.subnet;
  SubnetVerdict& v = acc.v;
  const PortId dest_port = sn.endpoint_ports[dest_ep];
  for (uint32_t s = 0; s < sf.num_switches; ++s) {
    uint32_t n = sf.ep_offsets[s + 1] - sf.ep_offsets[s];
    if (n == 0) continue;
    bool dest_here = sf.ep_switch[dest_ep] == s;
    uint64_t sources = n - (dest_here ? 1 : 0);
    if (sources == 0) continue;
    v.pairs += sources;
    Resolve(sf, acc, col, s, dest_port);
    if (acc.status[s] == kOk) continue;
    CountPairFault(v, acc.status[s], sources);
    if (acc.violations.size() >= max_keep) continue;
    for (uint32_t k = sf.ep_offsets[s]; k < sf.ep_offsets[s + 1]; ++k) {
      uint32_t e = sf.ep_list[k];
      if (e == dest_ep) continue;
      AddViolation(acc, max_keep,
                   {.kind = KindOf(acc.status[s]),
                    .subnet = sn.id,
                    .source = sn.endpoint_ports[e],
                    .destination = lid,
                    .at = acc.at[s],
                    .text = fmt::format("{} -> {} (LID {}): {}", f.PortName(sn.endpoint_ports[e]),
                                        f.PortName(dest_port), lid, DescribeFault(f, acc.status[s], acc.at[s], lid))});
    }
  }
  // Endpoints cabled to something other than a switch (back-to-back CAs).
  for (uint32_t e : sf.ep_direct) {
    if (e == dest_ep) continue;
    ++v.pairs;
    if (f.port(sn.endpoint_ports[e]).peer == dest_port) continue;
    ++v.through_endpoint_pairs;
    AddViolation(acc, max_keep,
                 {.kind = ViolationKind::kThroughEndpoint,
                  .subnet = sn.id,
                  .source = sn.endpoint_ports[e],
                  .destination = lid,
                  .at = f.port(sn.endpoint_ports[e]).peer,
                  .text = fmt::format("{} -> {} (LID {}): path enters endpoint {}", f.PortName(sn.endpoint_ports[e]),
                                      f.PortName(dest_port), lid, f.PortName(f.port(sn.endpoint_ports[e]).peer))});
  }
}

// Channel dependencies of the paths to one destination that do arrive, in a subnet with a
// single VL: each switch's path is followed until it meets one already recorded.
void RecordDependenciesOneVl(const SubnetFacts& sf, Accum& acc, uint32_t dest_ep, const uint8_t* col) {
  for (uint32_t s = 0; s < sf.num_switches; ++s) {
    uint32_t n = sf.ep_offsets[s + 1] - sf.ep_offsets[s];
    if (n == 0 || (n == 1 && sf.ep_switch[dest_ep] == s) || acc.status[s] != kOk) continue;
    acc.vl_mask |= 1;
    uint32_t u = s;
    while (acc.used_stamp[u] != acc.tick) {
      acc.used_stamp[u] = acc.tick;
      uint8_t p = col[u];
      uint32_t chan = u * sf.stride + p;
      uint32_t t = sf.head_sw[chan];
      if (t == kNone) break;  // delivered
      uint8_t q = col[t];
      if (sf.head_sw[t * sf.stride + q] != kNone) SetEdge(sf, acc, chan, q, 0);
      u = t;
    }
  }
}

// One source endpoint's path to `lid` on SL `sl`: the (channel, VL) states it passes, each
// dependency between consecutive states, and SL-to-VL entries that name a VL the subnet
// lacks. States are stamped with `stamp` (one per destination and SL), so the walk stops
// where an earlier source's path already went on.
void RecordPathDependencies(const SubnetFacts& sf, Accum& acc, Lid lid, uint32_t sl, uint32_t stamp, size_t source_ep,
                            const uint8_t* col, size_t max_keep) {
  const Fabric& f = *sf.fabric;
  const SubnetRoutes& r = *sf.routes;
  const Subnet& sn = *sf.subnet;
  uint32_t in_port = sf.ep_in_port[source_ep];
  const uint32_t vl_in = r.endpoint_sl2vl[sl];
  if (vl_in >= sf.vls) {
    ++acc.v.bad_vl_pairs;
    AddViolation(acc, max_keep,
                 {.kind = ViolationKind::kBadVl,
                  .subnet = sn.id,
                  .source = sn.endpoint_ports[source_ep],
                  .destination = lid,
                  .at = sn.endpoint_ports[source_ep],
                  .text = fmt::format("{} injects SL {} on VL {} but the subnet has {} VLs",
                                      f.PortName(sn.endpoint_ports[source_ep]), sl, vl_in, sf.vls)});
    return;
  }
  acc.vl_mask |= 1u << vl_in;
  uint32_t u = sf.ep_switch[source_ep];
  uint32_t prev_node = kNone;  // (channel, VL) we arrived on; kNone for the injection channel
  while (true) {
    uint8_t p = col[u];
    size_t idx = ((size_t(u) * r.sl2vl_stride + in_port) * r.sl2vl_stride + p) * 16 + sl;
    uint32_t vl = r.sl2vl[idx];
    if (vl >= sf.vls) {
      ++acc.v.bad_vl_pairs;
      NodeId node = sn.switches[u];
      AddViolation(acc, max_keep,
                   {.kind = ViolationKind::kBadVl,
                    .subnet = sn.id,
                    .source = sn.endpoint_ports[source_ep],
                    .destination = lid,
                    .at = f.port_id(node, p),
                    .text = fmt::format("{} maps SL {} from port {} to VL {} but the subnet has {} VLs",
                                        SwitchPortName(f, node, p), sl, in_port, vl, sf.vls)});
      return;
    }
    acc.vl_mask |= 1u << vl;
    uint32_t chan = u * sf.stride + p;
    uint32_t t = sf.head_sw[chan];
    if (prev_node != kNone && t != kNone) SetEdge(sf, acc, prev_node, p, vl);
    if (t == kNone) return;
    uint32_t node_id = chan * sf.vls + vl;
    if (acc.state_stamp[node_id] == stamp) return;  // the rest of this path is already recorded
    acc.state_stamp[node_id] = stamp;
    prev_node = node_id;
    in_port = sf.peer_number[chan];
    u = t;
  }
}

// Channel dependencies of the paths to `lid` that do arrive, in a subnet with several VLs.
// The VL of a hop depends on the SL and the ports, so states are (channel, VL), stamped per
// (destination, SL). `sls`: the SL of every source endpoint towards `lid`.
void RecordDependenciesPerSl(const SubnetFacts& sf, Accum& acc, Lid lid, uint32_t dest_ep, const uint8_t* col,
                             const uint8_t* sls, size_t max_keep) {
  const size_t num_eps = sf.subnet->endpoint_ports.size();
  uint32_t sl_mask = 0;
  for (size_t e = 0; e < num_eps; ++e)
    if (e != dest_ep && sf.ep_switch[e] != kNone) sl_mask |= 1u << (sls[e] & 15);
  for (uint32_t sl = 0; sl < 16; ++sl) {
    if (!(sl_mask & (1u << sl))) continue;
    const uint32_t stamp = (lid << 4 | sl) + 1;
    for (size_t e = 0; e < num_eps; ++e) {
      const uint32_t s = sf.ep_switch[e];
      if (e == dest_ep || s == kNone || sls[e] != sl || acc.status[s] != kOk) continue;
      RecordPathDependencies(sf, acc, lid, sl, stamp, e, col, max_keep);
    }
  }
}

// All checks for destinations lids [lo, hi).
void CheckLids(const SubnetFacts& sf, Accum& acc, Lid lo, Lid hi, size_t max_keep) {
  CheckDeadEntries(sf, acc, lo, hi, max_keep);
  const bool multi_vl = sf.vls > 1;
  if (multi_vl) TransposeSls(sf, acc, lo, hi);
  const size_t num_eps = sf.subnet->endpoint_ports.size();
  for (Lid lid = lo; lid < hi; ++lid) {
    const uint32_t dest_ep = sf.endpoint_of_port_lid[lid];
    if (dest_ep == kNone) continue;
    // data() + offset: a switchless subnet has an empty block.
    const uint8_t* col = acc.col_block.data() + size_t(lid - lo) * sf.num_switches;
    ++acc.tick;
    CheckPairs(sf, acc, lid, dest_ep, col, max_keep);
    if (multi_vl)
      RecordDependenciesPerSl(sf, acc, lid, dest_ep, col, acc.sl_block.data() + size_t(lid - lo) * num_eps, max_keep);
    else
      RecordDependenciesOneVl(sf, acc, dest_ep, col);
  }
}

// The merged channel dependency graph as rows of bits: node (channel * vls + vl) has a row
// of stride * vls bits, bit (port * vls + vl) set when a route arriving on the node leaves
// the switch its channel enters by that port, on that VL.
class DependencyRows {
 public:
  DependencyRows(const SubnetFacts& sf, const std::vector<uint64_t>& cdg)
      : sf_(sf), cdg_(cdg), nodes_(size_t(sf.num_switches) * sf.stride * sf.vls), bits_(size_t(sf.stride) * sf.vls) {}

  size_t nodes() const { return nodes_; }
  size_t bits() const { return bits_; }
  bool HasSuccessors(uint32_t node) const { return NextBit(node, 0) < bits_; }

  // The next set bit at or after `from` in the row of `node`, or bits() when there is none.
  size_t NextBit(uint32_t node, size_t from) const {
    const uint64_t* row = &cdg_[size_t(node) * sf_.row_words];
    size_t w = from / 64;
    if (w >= sf_.row_words) return bits_;
    uint64_t word = row[w] & (~uint64_t{0} << (from % 64));
    while (true) {
      if (word) return std::min(bits_, w * 64 + std::countr_zero(word));
      if (++w >= sf_.row_words) return bits_;
      word = row[w];
    }
  }

  // The node that a set bit of the row of `node` stands for.
  uint32_t Successor(uint32_t node, size_t bit) const {
    const uint32_t port_vl = uint32_t(bit);
    const uint32_t head = sf_.head_sw[node / sf_.vls];
    return (head * sf_.stride + port_vl / sf_.vls) * sf_.vls + port_vl % sf_.vls;
  }

  // The channel and VL a node stands for, as the verifier reports it.
  CycleChannel Channel(uint32_t node) const {
    const uint32_t chan = node / sf_.vls;
    const PortId from = sf_.fabric->port_id(sf_.subnet->switches[chan / sf_.stride], chan % sf_.stride);
    return {.from = from, .to = sf_.fabric->port(from).peer, .vl = uint8_t(node % sf_.vls)};
  }

 private:
  const SubnetFacts& sf_;
  const std::vector<uint64_t>& cdg_;
  size_t nodes_, bits_;
};

// Strongly connected components of the dependency graph by Tarjan's algorithm, iterative
// because the depth-first search on a large fabric is deeper than a thread's stack. On the
// way it counts into the verdict the channels with dependencies, the dependencies and the
// cyclic components (credit loops), and keeps the root of the first `keep` cyclic ones.
class ComponentSearch {
 public:
  ComponentSearch(const DependencyRows& rows, SubnetVerdict& v, size_t keep)
      : rows_(rows),
        v_(v),
        keep_(keep),
        index_(rows.nodes(), kNone),
        low_(rows.nodes(), 0),
        component_(rows.nodes(), kNone),
        on_stack_(rows.nodes(), 0) {}

  void Run() {
    for (uint32_t root = 0; root < rows_.nodes(); ++root)
      if (index_[root] == kNone) SearchFrom(root);
  }
  const std::vector<uint32_t>& component() const { return component_; }
  const std::vector<uint32_t>& cyclic_roots() const { return cyclic_roots_; }

 private:
  struct Frame {
    uint32_t node;
    size_t next_bit;  // where the scan of the node's row goes on
  };

  void SearchFrom(uint32_t root) {
    if (!rows_.HasSuccessors(root)) {  // a component of its own, and no channel of the graph
      index_[root] = counter_++;
      component_[root] = components_++;
      return;
    }
    Open(root);
    while (!call_.empty()) {
      Frame& frame = call_.back();
      const size_t bit = rows_.NextBit(frame.node, frame.next_bit);
      if (bit < rows_.bits()) {
        frame.next_bit = bit + 1;
        Follow(frame.node, rows_.Successor(frame.node, bit));
      } else {
        Close();
      }
    }
  }

  // A node reached for the first time: numbered, and on both stacks.
  void Open(uint32_t node) {
    if (rows_.HasSuccessors(node)) ++v_.cdg_channels;
    index_[node] = low_[node] = counter_++;
    scc_stack_.push_back(node);
    on_stack_[node] = 1;
    call_.push_back({node, 0});
  }

  void Follow(uint32_t from, uint32_t to) {
    ++v_.cdg_dependencies;
    if (index_[to] == kNone)
      Open(to);
    else if (on_stack_[to])
      low_[from] = std::min(low_[from], index_[to]);
  }

  // The node on top of the call stack has no successor left: it hands its lowest reach to
  // its caller, and is the root of a component when it reaches nothing older.
  void Close() {
    const uint32_t node = call_.back().node;
    call_.pop_back();
    if (!call_.empty()) low_[call_.back().node] = std::min(low_[call_.back().node], low_[node]);
    if (low_[node] == index_[node]) PopComponent(node);
  }

  void PopComponent(uint32_t root) {
    size_t size = 0;
    uint32_t member;
    do {
      member = scc_stack_.back();
      scc_stack_.pop_back();
      on_stack_[member] = 0;
      component_[member] = components_;
      ++size;
    } while (member != root);
    if (size > 1) {
      ++v_.cdg_cycles;
      if (cyclic_roots_.size() < keep_) cyclic_roots_.push_back(root);
    }
    ++components_;
  }

  const DependencyRows& rows_;
  SubnetVerdict& v_;
  const size_t keep_;
  std::vector<uint32_t> index_, low_, component_;
  std::vector<uint8_t> on_stack_;
  std::vector<uint32_t> scc_stack_;
  std::vector<Frame> call_;
  uint32_t counter_ = 0, components_ = 0;
  std::vector<uint32_t> cyclic_roots_;
};

// A shortest credit loop through `root`, by breadth-first search inside its component: a
// loop people can read and check by hand. `parent` is all kNone before and after.
std::vector<CycleChannel> ShortestCycle(const DependencyRows& rows, const std::vector<uint32_t>& component,
                                        uint32_t root, std::vector<uint32_t>& parent) {
  std::vector<uint32_t> queue{root};
  parent[root] = root;
  uint32_t last = kNone;  // the node whose dependency closes the loop back to root
  for (size_t head = 0; head < queue.size() && last == kNone; ++head) {
    const uint32_t u = queue[head];
    for (size_t bit = rows.NextBit(u, 0); bit < rows.bits(); bit = rows.NextBit(u, bit + 1)) {
      const uint32_t w = rows.Successor(u, bit);
      if (component[w] != component[root]) continue;
      if (w == root) {
        last = u;
        break;
      }
      if (parent[w] != kNone) continue;
      parent[w] = u;
      queue.push_back(w);
    }
  }
  std::vector<CycleChannel> cycle;
  for (uint32_t u = last; u != kNone; u = parent[u]) {
    cycle.push_back(rows.Channel(u));
    if (u == root) break;
  }
  std::reverse(cycle.begin(), cycle.end());
  for (uint32_t n : queue) parent[n] = kNone;
  return cycle;
}

// Counts the channels, dependencies and credit loops of the merged dependency graph, and
// extracts a shortest loop through the root of each of the first `keep` loops.
void FindCycles(const SubnetFacts& sf, const std::vector<uint64_t>& cdg, SubnetVerdict& v,
                std::vector<std::vector<CycleChannel>>& cycles, size_t keep) {
  const DependencyRows rows(sf, cdg);
  ComponentSearch search(rows, v, keep);
  search.Run();
  if (search.cyclic_roots().empty()) return;
  std::vector<uint32_t> parent(rows.nodes(), kNone);
  for (uint32_t root : search.cyclic_roots()) cycles.push_back(ShortestCycle(rows, search.component(), root, parent));
}

// The route set's tables have the sizes the topology asks for: switches, LFT, VLs and,
// with several VLs, the pair SL and SL2VL tables.
Result<void> CheckTableSizes(const Fabric& f, const Subnet& sn, const SubnetRoutes& r, SubnetFacts& sf) {
  const std::string where = fmt::format("routes of subnet {}", sn.name);
  if (r.switches != sn.switches)
    return std::unexpected(Error{.message = "the switch list does not match the topology", .where = where});
  sf.num_switches = uint32_t(sn.switches.size());
  if (r.lft.size() != size_t(sf.num_switches) * sf.num_lids)
    return std::unexpected(Error{.message = fmt::format("LFT holds {} entries, expected {} switches x {} LIDs",
                                                        r.lft.size(), sf.num_switches, sf.num_lids),
                                 .where = where});
  if (r.num_vls < 1 || r.num_vls > 15)
    return std::unexpected(Error{.message = fmt::format("num_vls {} is outside 1..15", r.num_vls), .where = where});
  sf.vls = r.num_vls;
  unsigned max_port = 0;
  for (NodeId s : sn.switches) max_port = std::max<unsigned>(max_port, f.node(s).num_ports);
  sf.stride = max_port + 1;
  if (sf.vls == 1) return {};
  if (r.pair_sl.size() != sn.endpoint_ports.size() * sf.num_lids)
    return std::unexpected(
        Error{.message = fmt::format("pair SL table holds {} entries, expected {} endpoints x {} LIDs",
                                     r.pair_sl.size(), sn.endpoint_ports.size(), sf.num_lids),
              .where = where});
  size_t want = size_t(sf.num_switches) * r.sl2vl_stride * r.sl2vl_stride * 16;
  if (r.sl2vl_stride < sf.stride || r.sl2vl.size() != want)
    return std::unexpected(
        Error{.message = fmt::format("SL2VL table: stride {} for ports up to {}, {} entries, expected {}",
                                     r.sl2vl_stride, max_port, r.sl2vl.size(), want),
              .where = where});
  return {};
}

// Per switch channel (switch * stride + port): its peer port, that port's number and the
// switch it leads to.
void IndexChannels(const Fabric& f, const Subnet& sn, SubnetFacts& sf) {
  sf.sw_of_node.assign(f.num_nodes(), kNone);
  for (uint32_t i = 0; i < sf.num_switches; ++i) sf.sw_of_node[sn.switches[i]] = i;
  sf.head_sw.assign(size_t(sf.num_switches) * sf.stride, kNone);
  sf.peer.assign(size_t(sf.num_switches) * sf.stride, kNone);
  sf.peer_number.assign(size_t(sf.num_switches) * sf.stride, 0);
  for (uint32_t i = 0; i < sf.num_switches; ++i)
    for (const Adjacency& a : f.neighbors(sn.switches[i])) {
      size_t chan = size_t(i) * sf.stride + f.port(a.local).number;
      sf.peer[chan] = a.peer_port;
      sf.peer_number[chan] = f.port(a.peer_port).number;
      if (f.is_switch(a.peer_node)) sf.head_sw[chan] = sf.sw_of_node[a.peer_node];
    }
}

// Per LID its endpoint (or the switch whose own LID it is); a LID owned outside the subnet
// is an error.
Result<void> IndexLids(const Fabric& f, const Subnet& sn, const SubnetRoutes& r, SubnetFacts& sf) {
  std::vector<uint32_t> ep_of_port(f.num_port_slots(), kNone);
  for (uint32_t e = 0; e < sn.endpoint_ports.size(); ++e) ep_of_port[sn.endpoint_ports[e]] = e;
  sf.own_lid.assign(sf.num_switches, 0);
  sf.endpoint_of_port_lid.assign(sf.num_lids, kNone);
  for (Lid lid = 1; lid < sf.num_lids; ++lid) {
    PortId owner = r.lid_owner[lid];
    if (owner == kNone) continue;
    if (owner >= f.num_port_slots() || (f.subnet_of(owner) != sn.id))
      return std::unexpected(Error{.message = fmt::format("LID {} belongs to a port outside this subnet", lid),
                                   .where = fmt::format("routes of subnet {}", sn.name)});
    sf.endpoint_of_port_lid[lid] = ep_of_port[owner];
    if (f.port(owner).number == 0 && sf.sw_of_node[f.port(owner).node] != kNone)
      sf.own_lid[sf.sw_of_node[f.port(owner).node]] = lid;
  }
  return {};
}

// Per endpoint the switch and port it hangs off (or direct, cabled to another endpoint),
// and per switch its endpoints (CSR).
void IndexEndpoints(const Fabric& f, const Subnet& sn, SubnetFacts& sf) {
  size_t ne = sn.endpoint_ports.size();
  sf.ep_switch.assign(ne, kNone);
  sf.ep_in_port.assign(ne, 0);
  std::vector<uint32_t> count(sf.num_switches + 1, 0);
  for (uint32_t e = 0; e < ne; ++e) {
    PortId peer = f.port(sn.endpoint_ports[e]).peer;
    if (peer == kNone || !f.is_switch(f.port(peer).node)) {
      sf.ep_direct.push_back(e);
      continue;
    }
    sf.ep_switch[e] = sf.sw_of_node[f.port(peer).node];
    sf.ep_in_port[e] = f.port(peer).number;
    ++count[sf.ep_switch[e] + 1];
  }
  for (uint32_t i = 0; i < sf.num_switches; ++i) count[i + 1] += count[i];
  sf.ep_offsets = count;
  sf.ep_list.resize(count[sf.num_switches]);
  for (uint32_t e = 0; e < ne; ++e)
    if (sf.ep_switch[e] != kNone) sf.ep_list[count[sf.ep_switch[e]]++] = e;
}

Result<SubnetFacts> Prepare(const Fabric& f, const SubnetRoutes& r) {
  SubnetFacts sf;
  const Subnet& sn = f.subnets()[r.subnet];
  sf.fabric = &f;
  sf.subnet = &sn;
  sf.routes = &r;
  sf.num_lids = r.num_lids();
  if (auto ok = CheckTableSizes(f, sn, r, sf); !ok) return std::unexpected(ok.error());
  IndexChannels(f, sn, sf);
  if (auto ok = IndexLids(f, sn, r, sf); !ok) return std::unexpected(ok.error());
  IndexEndpoints(f, sn, sf);
  sf.row_words = (size_t(sf.stride) * sf.vls + 63) / 64;
  return sf;
}

// The facts of every subnet the route set covers, in subnet order.
struct PreparedSubnets {
  std::vector<SubnetFacts> facts;
  std::vector<SubnetId> subnet_of_fact;
};

Result<PreparedSubnets> PrepareSubnets(const Fabric& fabric, const RouteSet& routes) {
  const size_t num_subnets = fabric.subnets().size();
  std::vector<const SubnetRoutes*> by_subnet(num_subnets, nullptr);
  for (const SubnetRoutes& r : routes.subnets) {
    if (r.subnet >= num_subnets)
      return MakeError(fmt::format("route set names subnet {}, the topology has {}", r.subnet, num_subnets));
    if (by_subnet[r.subnet]) return MakeError(fmt::format("route set holds subnet {} twice", r.subnet));
    by_subnet[r.subnet] = &r;
  }
  PreparedSubnets prepared;
  for (SubnetId s = 0; s < num_subnets; ++s) {
    if (!by_subnet[s]) continue;
    auto sf = Prepare(fabric, *by_subnet[s]);
    if (!sf) return std::unexpected(sf.error());
    prepared.facts.push_back(std::move(*sf));
    prepared.subnet_of_fact.push_back(s);
  }
  return prepared;
}

std::unique_ptr<Accum> MakeAccum(const SubnetFacts& sf) {
  auto acc = std::make_unique<Accum>();
  acc->v.subnet = sf.subnet->id;
  acc->cdg.assign(size_t(sf.num_switches) * sf.stride * sf.vls * sf.row_words, 0);
  acc->stamp.assign(sf.num_switches, 0);
  acc->status.assign(sf.num_switches, kOk);
  acc->at.assign(sf.num_switches, kNone);
  acc->used_stamp.assign(sf.num_switches, 0);
  if (sf.vls > 1) acc->state_stamp.assign(size_t(sf.num_switches) * sf.stride * sf.vls, 0);
  return acc;
}

// accums[thread][fact]: what each worker found in each subnet, null where a worker did no
// block of that subnet.
using Accums = std::vector<std::vector<std::unique_ptr<Accum>>>;

// Runs CheckLids over blocks of kBlock destination LIDs of every subnet, which the worker
// threads take in order.
Accums CheckAllLids(const std::vector<SubnetFacts>& facts, const VerifyOptions& options) {
  struct Task {
    uint32_t fact;
    Lid lo, hi;
  };
  std::vector<Task> tasks;
  for (uint32_t i = 0; i < facts.size(); ++i)
    for (Lid lo = 1; lo < facts[i].num_lids; lo += kBlock)
      tasks.push_back({i, lo, Lid(std::min<size_t>(lo + kBlock, facts[i].num_lids))});
  unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = std::max(1u, std::min<unsigned>(threads, unsigned(tasks.size())));
  Accums accums(threads);
  for (auto& a : accums) a.resize(facts.size());
  std::atomic<size_t> next{0};
  auto worker = [&](unsigned t) {
    for (size_t i = next.fetch_add(1); i < tasks.size(); i = next.fetch_add(1)) {
      const Task& task = tasks[i];
      auto& acc = accums[t][task.fact];
      if (!acc) acc = MakeAccum(facts[task.fact]);
      CheckLids(facts[task.fact], *acc, task.lo, task.hi, options.max_violations);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker, t);
  worker(0);
  for (auto& th : pool) th.join();
  return accums;
}

// Dead entries first, then by destination, source and place.
bool ViolationOrder(const Violation& a, const Violation& b) {
  const bool a_dead = a.kind == ViolationKind::kDeadPort, b_dead = b.kind == ViolationKind::kDeadPort;
  if (a_dead != b_dead) return a_dead;
  if (a.destination != b.destination) return a.destination < b.destination;
  if (a.source != b.source) return a.source < b.source;
  return a.at < b.at;
}

// The verdict and findings of one routed subnet: the workers' counts and findings merged
// (and freed), then the credit loops of the merged channel dependency graph in front.
void MergeSubnet(const Fabric& fabric, const SubnetFacts& sf, Accums& accums, uint32_t fact,
                 const VerifyOptions& options, SubnetVerdict& v, std::vector<Violation>& found) {
  std::vector<uint64_t> cdg;
  uint32_t vl_mask = 0;
  for (auto& per_thread : accums) {
    Accum* a = per_thread[fact].get();
    if (!a) continue;
    v.pairs += a->v.pairs;
    v.unreachable_pairs += a->v.unreachable_pairs;
    v.loop_pairs += a->v.loop_pairs;
    v.through_endpoint_pairs += a->v.through_endpoint_pairs;
    v.dead_port_entries += a->v.dead_port_entries;
    v.bad_vl_pairs += a->v.bad_vl_pairs;
    vl_mask |= a->vl_mask;
    if (cdg.empty())
      cdg = std::move(a->cdg);
    else
      for (size_t w = 0; w < cdg.size(); ++w) cdg[w] |= a->cdg[w];
    for (Violation& x : a->violations) found.push_back(std::move(x));
    per_thread[fact].reset();
  }
  std::sort(found.begin(), found.end(), ViolationOrder);
  v.vls_used = std::popcount(vl_mask);
  if (cdg.empty()) return;
  std::vector<std::vector<CycleChannel>> cycles;
  FindCycles(sf, cdg, v, cycles, options.max_violations);
  std::vector<Violation> loops;
  for (auto& c : cycles) {
    std::string text = fmt::format("credit loop in subnet {}: {}", sf.subnet->name, FormatCycle(fabric, c));
    loops.push_back({.kind = ViolationKind::kCreditLoop,
                     .subnet = sf.subnet->id,
                     .at = c.front().from,
                     .cycle = std::move(c),
                     .text = std::move(text)});
  }
  // Credit loops first: they are the finding people run the verifier for.
  found.insert(found.begin(), std::make_move_iterator(loops.begin()), std::make_move_iterator(loops.end()));
}

void AddToReport(VerifyReport& report, const SubnetVerdict& v, std::vector<Violation>& found, size_t max_violations) {
  report.pairs += v.pairs;
  report.unreachable_pairs += v.unreachable_pairs;
  report.loop_pairs += v.loop_pairs;
  report.through_endpoint_pairs += v.through_endpoint_pairs;
  report.dead_port_entries += v.dead_port_entries;
  report.bad_vl_pairs += v.bad_vl_pairs;
  report.cdg_cycles += v.cdg_cycles;
  for (Violation& x : found)
    if (report.violations.size() < max_violations) report.violations.push_back(std::move(x));
  report.subnets.push_back(v);
}

}  // namespace

Result<VerifyReport> Verify(const Fabric& fabric, const RouteSet& routes, const VerifyOptions& options) {
  auto prepared = PrepareSubnets(fabric, routes);
  if (!prepared) return std::unexpected(prepared.error());
  const std::vector<SubnetFacts>& facts = prepared->facts;
  Accums accums = CheckAllLids(facts, options);

  VerifyReport report;
  uint32_t fact = 0;
  for (SubnetId s = 0; s < fabric.subnets().size(); ++s) {
    const Subnet& sn = fabric.subnets()[s];
    SubnetVerdict v;
    v.subnet = s;
    std::vector<Violation> found;
    if (fact < facts.size() && prepared->subnet_of_fact[fact] == s) {
      MergeSubnet(fabric, facts[fact], accums, fact, options, v, found);
      ++fact;
    } else if (sn.endpoint_ports.size() >= 2 && !sn.switches.empty()) {
      v.routed = false;
      ++report.unrouted_subnets;
      found.push_back({.kind = ViolationKind::kSubnetNotRouted,
                       .subnet = s,
                       .text = fmt::format("subnet {} ({} switches, {} endpoint ports) has no route tables", sn.name,
                                           sn.switches.size(), sn.endpoint_ports.size())});
    }
    AddToReport(report, v, found, options.max_violations);
  }
  report.violation_count = report.unreachable_pairs + report.loop_pairs + report.through_endpoint_pairs +
                           report.dead_port_entries + report.bad_vl_pairs + report.cdg_cycles + report.unrouted_subnets;
  return report;
}

}  // namespace fabricctl
