#include "routing/deploy.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>

#include "fabric/mad/attributes.h"

namespace fabricctl {
namespace {

using mad::Completion;
using mad::Outcome;

std::string NodeWhere(const Fabric& f, NodeId n) {
  return fmt::format("{} (0x{:016x})", f.description(n), f.node(n).guid);
}

std::string Failure(std::string_view what, const Completion& c) {
  if (c.outcome == Outcome::kTimeout) return fmt::format("{}: no answer", what);
  return fmt::format("{}: MAD status 0x{:04x}", what, c.status);
}

// planned NodeId -> live NodeId, by GUID.
struct NodeMap {
  std::vector<NodeId> to_live;
};

Result<NodeMap> MapNodes(const Fabric& live, const Fabric& planned) {
  NodeMap m;
  m.to_live.assign(planned.num_nodes(), kNone);
  for (NodeId n = 0; n < planned.num_nodes(); ++n) {
    if (auto l = live.FindByGuid(planned.node(n).guid)) {
      if (live.node(*l).type != planned.node(n).type || live.node(*l).num_ports != planned.node(n).num_ports)
        return MakeError(
            fmt::format("{} is a {} with {} ports in the routes' topology but a {} with {} ports in the "
                        "discovered fabric",
                        NodeWhere(planned, n), ToString(planned.node(n).type), planned.node(n).num_ports,
                        ToString(live.node(*l).type), live.node(*l).num_ports));
      m.to_live[n] = *l;
    }
  }
  return m;
}

// Discovery's name for a port ("S-0000000000200000[3]"), as its problems give it.
std::string WalkName(const Fabric& f, PortId p) {
  const Port& port = f.port(p);
  return fmt::format("{}-{:016x}[{}]", f.is_switch(port.node) ? "S" : "H", f.node(port.node).guid, port.number);
}

// What the live fabric says about `port`, the near end of a planned cable whose far end
// discovery did not reach; nothing when the cable leads to another node (a replacement).
std::optional<std::string> WhyNotPast(const DiscoveryResult& live, PortId port) {
  const Fabric& f = live.fabric;
  const Port& p = f.port(port);
  for (const DiscoveryProblem& problem : live.problems)
    if (problem.where == WalkName(f, port)) return fmt::format("{}: {}", f.PortName(port), problem.message);
  if (p.peer != kNone) return std::nullopt;
  if (p.phys_state != PhysState::kLinkUp && p.state < PortState::kInit)
    return fmt::format("{} is {} ({})", f.PortName(port), ToString(p.state), ToString(p.phys_state));
  return fmt::format("{} was not followed", f.PortName(port));
}

// The ports discovery could not get past on the way to planned node `missing`: planned
// cables from the part of the plan it did not reach to nodes it did reach, except those
// that lead to another node (then the node was replaced, or the plan is another fabric).
std::vector<std::string> UnreachedPorts(const DiscoveryResult& live, const Fabric& planned, const NodeMap& map,
                                        NodeId missing) {
  std::vector<std::string> out;
  std::vector<bool> seen(planned.num_nodes(), false);
  std::vector<NodeId> queue{missing};
  seen[missing] = true;
  for (size_t i = 0; i < queue.size(); ++i)
    for (const Adjacency& a : planned.neighbors(queue[i])) {
      NodeId live_node = map.to_live[a.peer_node];
      if (live_node == kNone) {
        if (!seen[a.peer_node]) queue.push_back(a.peer_node);
        seen[a.peer_node] = true;
        continue;
      }
      unsigned number = planned.port(planned.port(a.local).peer).number;
      if (number > live.fabric.node(live_node).num_ports) continue;
      if (auto why = WhyNotPast(live, live.fabric.port_id(live_node, number))) out.push_back(std::move(*why));
    }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::unexpected<Error> Missing(const DiscoveryResult& live, const Fabric& planned, const NodeMap& map, NodeId n,
                               std::string_view role) {
  std::vector<std::string> ports = UnreachedPorts(live, planned, map, n);
  if (ports.empty())
    return MakeError(
        fmt::format("the routes {} {}, which is not in the discovered fabric (GUIDs differ: are these "
                    "routes for another fabric, or has a node been replaced?)",
                    role, NodeWhere(planned, n)));
  constexpr size_t kShown = 8;
  std::string list;
  for (size_t i = 0; i < ports.size() && i < kShown; ++i) list += (i ? "; " : "") + ports[i];
  if (ports.size() > kShown) list += fmt::format("; and {} more", ports.size() - kShown);
  return MakeError(
      fmt::format("the routes {} {}, which discovery did not reach: {} (bring those links up, or "
                  "recompute the routes for the fabric as it is)",
                  role, NodeWhere(planned, n), list));
}

// Everything is checked before the first MAD goes out: a refused deployment changes nothing.
Result<void> Validate(const DiscoveryResult& discovered, const Fabric& planned, const RouteSet& routes,
                      const NodeMap& map) {
  const Fabric& live = discovered.fabric;
  auto missing = [&](NodeId n, std::string_view role) { return Missing(discovered, planned, map, n, role); };
  for (const SubnetRoutes& sr : routes.subnets) {
    for (Lid lid = 1; lid < sr.num_lids(); ++lid) {
      PortId owner = sr.lid_owner[lid];
      if (owner == kNone) continue;
      if (lid > kMaxUnicastLid)
        return MakeError(fmt::format("LID {} of {} is above the unicast range (0x{:x}); InfiniBand cannot address it",
                                     lid, planned.PortName(owner), kMaxUnicastLid));
      if (owner >= planned.num_port_slots())
        return MakeError(fmt::format("LID {} is owned by unknown port {}", lid, owner));
      if (map.to_live[planned.port(owner).node] == kNone) return missing(planned.port(owner).node, "give a LID to");
    }
    for (size_t i = 0; i < sr.switches.size(); ++i) {
      NodeId sw = sr.switches[i];
      NodeId l = map.to_live[sw];
      if (l == kNone) return missing(sw, "program switch");
      for (Lid lid = 1; lid < sr.num_lids(); ++lid) {
        uint8_t port = sr.out_port(i, lid);
        if (port == 0 || port == kNoRoute) continue;
        if (port > live.node(l).num_ports)
          return MakeError(fmt::format("the routes send LID {} out of port {} of {}, which has {} ports", lid, port,
                                       NodeWhere(live, l), live.node(l).num_ports));
        if (live.port(live.port_id(l, port)).peer == kNone)
          return MakeError(
              fmt::format("the routes send LID {} out of {}, which is not connected in the discovered "
                          "fabric (recompute the routes for the fabric as it is)",
                          lid, live.PortName(live.port_id(l, port))));
      }
    }
  }
  if (routes.port_lid.size() != planned.num_port_slots() && !routes.port_lid.empty())
    return MakeError(fmt::format("the routes give LIDs for {} ports but their topology has {}", routes.port_lid.size(),
                                 planned.num_port_slots()));
  return {};
}

// What deployment knows about one LFT block of one switch.
enum class BlockState : uint8_t { kUnread, kSame, kDiffers, kWritten, kVerified };

class Deployment {
 public:
  Deployment(mad::Transport& transport, const DiscoveryResult& live, const Fabric& planned, const RouteSet& routes,
             const NodeMap& map, const DeployOptions& options)
      : live_(live),
        f_(live.fabric),
        planned_(planned),
        routes_(routes),
        map_(map),
        options_(options),
        rpc_(transport, options.rpc) {}

  DeployReport Run() {
    auto start = std::chrono::steady_clock::now();
    report_.mode = options_.mode;
    PlanSwitches();
    if (targeted()) {
      if (auto r = ProgramListedBlocks(); !r) report_.stopped = r.error();
    } else {
      PlanLids();
      // A transport error means the fabric stopped taking MADs: stop, and say what was done.
      for (auto phase : {&Deployment::AssignLids, &Deployment::ProgramLfts, &Deployment::ProgramSl2Vl}) {
        if (auto r = (this->*phase)(); !r) {
          report_.stopped = r.error();
          break;
        }
      }
    }
    Summarise();
    report_.stats = rpc_.stats();
    report_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return std::move(report_);
  }

 private:
  bool apply() const { return options_.mode == DeployMode::kApply; }
  bool targeted() const { return !options_.only_blocks.empty(); }
  void Problem(NodeId n, std::string message) {
    report_.problems.push_back(DeployProblem{.where = NodeWhere(f_, n), .message = std::move(message)});
  }
  mad::Request Smp(NodeId n, mad::Method method, uint16_t attr, uint32_t mod) const {
    return mad::Request{.method = method, .attr_id = attr, .attr_mod = mod, .path = live_.paths[n]};
  }

  // Every routed switch is in the report before the first MAD, so a stop at any point
  // leaves a report that lists what remains.
  void PlanSwitches() {
    for (const SubnetRoutes& sr : routes_.subnets) {
      const unsigned blocks = static_cast<unsigned>((sr.num_lids() + kLftBlockSize - 1) / kLftBlockSize);
      for (size_t i = 0; i < sr.switches.size(); ++i) {
        report_.switches.push_back(SwitchDeployment{.node = map_.to_live[sr.switches[i]], .blocks = blocks});
        block_state_.emplace_back(blocks, targeted() ? BlockState::kSame : BlockState::kUnread);
        sl2vl_settled_.push_back(0);
      }
    }
  }

  void PlanLids() {
    for (PortId p = 0; p < routes_.port_lid.size(); ++p) {
      Lid want = routes_.port_lid[p];
      if (want == 0) continue;
      const Port& pp = planned_.port(p);
      NodeId n = map_.to_live[pp.node];
      if (n == kNone) continue;  // a port without routes through it; Validate covered the rest
      uint32_t have = f_.port(f_.port_id(n, pp.number)).lid;
      if (have != want)
        report_.lids.push_back(LidChange{.node = n, .port = pp.number, .old_lid = have, .new_lid = want});
    }
  }

  void Summarise() {
    for (size_t s = 0; s < report_.switches.size(); ++s) {
      SwitchDeployment& sw = report_.switches[s];
      std::sort(sw.changed.begin(), sw.changed.end());
      std::sort(sw.written.begin(), sw.written.end());
      for (uint32_t b = 0; b < sw.blocks; ++b)
        if (block_state_[s][b] != BlockState::kSame && block_state_[s][b] != BlockState::kVerified)
          sw.remaining.push_back(b);
      sw.sl2vl_remaining = sw.sl2vl_tables - sl2vl_settled_[s];
    }
    report_.endpoint_sl2vl_remaining = endpoint_tables_ - endpoint_settled_;
  }

  Result<void> AssignLids() {
    if (!apply()) return {};
    for (size_t i = 0; i < report_.lids.size(); ++i) {
      const LidChange& change = report_.lids[i];
      NodeId n = change.node;
      unsigned num = change.port;
      rpc_.Post(Smp(n, mad::Method::kGet, mad::attr::kPortInfo, num), [this, i, n, num](const Completion& c) {
        if (c.outcome != Outcome::kOk) return Problem(n, Failure(fmt::format("PortInfo of port {}", num), c));
        SetLid(i, c.reply->data());
      });
    }
    return rpc_.Run();
  }

  void SetLid(size_t i, const uint8_t* current) {
    const LidChange& change = report_.lids[i];
    NodeId n = change.node;
    unsigned num = change.port;
    uint32_t want = change.new_lid;
    mad::Request set = Smp(n, mad::Method::kSet, mad::attr::kPortInfo, num);
    auto payload = mad::EncodePortInfoLid(current, want, 0);
    std::memcpy(set.data.data(), payload.data(), payload.size());
    rpc_.Post(set, [this, i, n, num, want](const Completion& s) {
      if (s.outcome != Outcome::kOk) return Problem(n, Failure(fmt::format("setting LID {} on port {}", want, num), s));
      if (mad::DecodePortInfo(s.reply->data()).lid != want)
        return Problem(n, fmt::format("port {} kept its LID after PortInfo Set to {}", num, want));
      report_.lids[i].done = true;
    });
  }

  Result<void> ProgramLfts() {
    size_t index = 0;
    for (const SubnetRoutes& sr : routes_.subnets)
      for (size_t i = 0; i < sr.switches.size(); ++i, ++index) {
        NodeId n = report_.switches[index].node;
        rpc_.Post(Smp(n, mad::Method::kGet, mad::attr::kSwitchInfo, 0), [this, &sr, i, n, index](const Completion& c) {
          if (c.outcome != Outcome::kOk) return Problem(n, Failure("SwitchInfo", c));
          if (!FitFdbTop(sr, n, index, c.reply->data())) return;
          for (unsigned b = 0; b < report_.switches[index].blocks; ++b) ReadBlock(sr, i, n, index, b);
        });
      }
    return rpc_.Run();
  }

  // Targeted mode: the listed blocks are written without reading them first.
  Result<void> ProgramListedBlocks() {
    size_t index = 0;
    for (const SubnetRoutes& sr : routes_.subnets)
      for (size_t i = 0; i < sr.switches.size(); ++i, ++index)
        for (uint32_t block : options_.only_blocks[index]) {
          if (block < report_.switches[index].blocks)
            ChangeBlock(report_.switches[index].node, index, block, Planned(sr, i, block));
        }
    return rpc_.Run();
  }

  // Checks the switch can hold the routes and raises LinearFDBTop to cover them.
  bool FitFdbTop(const SubnetRoutes& sr, NodeId n, size_t index, const uint8_t* switch_info) {
    mad::SwitchInfo si = mad::DecodeSwitchInfo(switch_info);
    unsigned top = static_cast<unsigned>(sr.num_lids() - 1);
    if (si.linear_fdb_cap != 0 && sr.num_lids() > si.linear_fdb_cap) {
      Problem(n, fmt::format("routes need {} LFT entries, the switch holds {}", sr.num_lids(), si.linear_fdb_cap));
      return false;
    }
    if (si.linear_fdb_top == top || !apply()) return true;
    report_.switches[index].fdb_top_raised = si.linear_fdb_top < top;
    mad::Request set = Smp(n, mad::Method::kSet, mad::attr::kSwitchInfo, 0);
    auto payload = mad::EncodeSwitchInfoFdbTop(switch_info, top);
    std::memcpy(set.data.data(), payload.data(), payload.size());
    rpc_.Post(set, [this, n](const Completion& s) {
      if (s.outcome != Outcome::kOk) Problem(n, Failure("SwitchInfo Set (LinearFDBTop)", s));
    });
    return true;
  }

  std::array<uint8_t, kLftBlockSize> Planned(const SubnetRoutes& sr, size_t i, unsigned block) const {
    std::array<uint8_t, kLftBlockSize> want;
    for (unsigned e = 0; e < kLftBlockSize; ++e) {
      size_t lid = size_t(block) * kLftBlockSize + e;
      want[e] = lid < sr.num_lids() ? sr.out_port(i, static_cast<Lid>(lid)) : kNoRoute;
    }
    return want;
  }

  void ReadBlock(const SubnetRoutes& sr, size_t i, NodeId n, size_t index, unsigned block) {
    rpc_.Post(Smp(n, mad::Method::kGet, mad::attr::kLinearForwardingTable, block),
              [this, &sr, i, n, index, block](const Completion& c) {
                if (c.outcome != Outcome::kOk) return Problem(n, Failure(fmt::format("LFT block {}", block), c));
                auto want = Planned(sr, i, block);
                if (std::memcmp(want.data(), c.reply->data(), kLftBlockSize) == 0) {
                  block_state_[index][block] = BlockState::kSame;
                  return;
                }
                ChangeBlock(n, index, block, want);
              });
  }

  // A block found (or known) to differ: written unless dry run or past max_block_writes.
  void ChangeBlock(NodeId n, size_t index, unsigned block, const std::array<uint8_t, kLftBlockSize>& want) {
    block_state_[index][block] = BlockState::kDiffers;
    report_.switches[index].changed.push_back(block);
    if (!apply()) return;
    if (options_.max_block_writes != 0 && writes_ >= options_.max_block_writes) {
      report_.interrupted = true;
      return;
    }
    ++writes_;
    WriteBlock(n, index, block, want);
  }

  void WriteBlock(NodeId n, size_t index, unsigned block, const std::array<uint8_t, kLftBlockSize>& want) {
    mad::Request set = Smp(n, mad::Method::kSet, mad::attr::kLinearForwardingTable, block);
    std::memcpy(set.data.data(), want.data(), want.size());
    rpc_.Post(set, [this, n, index, block, want](const Completion& s) {
      if (s.outcome != Outcome::kOk) return Problem(n, Failure(fmt::format("writing LFT block {}", block), s));
      block_state_[index][block] = BlockState::kWritten;
      report_.switches[index].written.push_back(block);
      if (!options_.read_back) return CheckWritten(n, index, block, want, s, "the Set's reply holds");
      // Read back with a fresh Get: the Set's reply is the switch's word, the Get is its state.
      rpc_.Post(Smp(n, mad::Method::kGet, mad::attr::kLinearForwardingTable, block),
                [this, n, index, block, want](const Completion& v) {
                  if (v.outcome != Outcome::kOk)
                    return Problem(n, Failure(fmt::format("reading back LFT block {}", block), v));
                  CheckWritten(n, index, block, want, v, "reads back");
                });
    });
  }

  // A written block is verified when `answer` carries exactly what was written.
  void CheckWritten(NodeId n, size_t index, unsigned block, const std::array<uint8_t, kLftBlockSize>& want,
                    const Completion& answer, std::string_view how) {
    if (std::memcmp(want.data(), answer.reply->data(), kLftBlockSize) != 0)
      return Problem(n, fmt::format("LFT block {} {} something other than what was written", block, how));
    block_state_[index][block] = BlockState::kVerified;
    ++report_.switches[index].verified;
  }

  // SL->VL tables, only when the routes use several VLs (one VL needs the default map).
  Result<void> ProgramSl2Vl() {
    size_t index = 0;
    for (const SubnetRoutes& sr : routes_.subnets) {
      if (sr.num_vls <= 1 || sr.sl2vl_stride == 0 || sr.sl2vl.empty()) {
        index += sr.switches.size();
        continue;
      }
      for (size_t i = 0; i < sr.switches.size(); ++i, ++index) PostSwitchSl2Vl(sr, i, index);
      PostEndpointSl2Vl(sr);
    }
    return rpc_.Run();
  }

  void PostSwitchSl2Vl(const SubnetRoutes& sr, size_t i, size_t index) {
    NodeId n = report_.switches[index].node;
    unsigned ports = f_.node(n).num_ports;
    for (unsigned in = 0; in <= ports && in < sr.sl2vl_stride; ++in)
      for (unsigned out = 1; out <= ports && out < sr.sl2vl_stride; ++out) {
        if (in == out) continue;
        std::array<uint8_t, 8> want{};
        for (unsigned sl = 0; sl < 16; ++sl) {
          uint8_t vl = sr.sl2vl[((i * sr.sl2vl_stride + in) * sr.sl2vl_stride + out) * 16 + sl] & 0xF;
          want[sl / 2] |= static_cast<uint8_t>(sl % 2 == 0 ? vl << 4 : vl);
        }
        ++report_.switches[index].sl2vl_tables;
        WriteSl2Vl(n, (in << 8) | out, want, index);
      }
  }

  // Endpoints inject on VL endpoint_sl2vl[sl].
  void PostEndpointSl2Vl(const SubnetRoutes& sr) {
    std::array<uint8_t, 8> ep{};
    for (unsigned sl = 0; sl < 16; ++sl)
      ep[sl / 2] |=
          static_cast<uint8_t>(sl % 2 == 0 ? (sr.endpoint_sl2vl[sl] & 0xF) << 4 : sr.endpoint_sl2vl[sl] & 0xF);
    const Subnet& sub = planned_.subnets()[sr.subnet];
    for (PortId p : sub.endpoint_ports) {
      NodeId n = map_.to_live[planned_.port(p).node];
      if (n == kNone) continue;
      ++endpoint_tables_;
      WriteSl2Vl(n, 0, ep, kNone);
    }
  }

  void WriteSl2Vl(NodeId n, uint32_t mod, std::array<uint8_t, 8> want, size_t index) {
    rpc_.Post(
        Smp(n, mad::Method::kGet, mad::attr::kSlToVlTable, mod), [this, n, mod, want, index](const Completion& c) {
          if (c.outcome != Outcome::kOk) return Problem(n, Failure(fmt::format("SL2VL table 0x{:04x}", mod), c));
          if (std::memcmp(want.data(), c.reply->data(), want.size()) == 0) return Sl2VlSettled(index, false);
          if (index != kNone) ++report_.switches[index].sl2vl_changed;
          if (!apply()) return;
          mad::Request set = Smp(n, mad::Method::kSet, mad::attr::kSlToVlTable, mod);
          std::memcpy(set.data.data(), want.data(), want.size());
          rpc_.Post(set, [this, n, mod, want, index](const Completion& s) {
            if (s.outcome != Outcome::kOk)
              return Problem(n, Failure(fmt::format("writing SL2VL table 0x{:04x}", mod), s));
            if (std::memcmp(want.data(), s.reply->data(), want.size()) != 0)
              return Problem(n, fmt::format("SL2VL table 0x{:04x} reads back different from what was written", mod));
            Sl2VlSettled(index, true);
          });
        });
  }

  // A table now known to hold what the routes want (found so, or written).
  void Sl2VlSettled(size_t index, bool written) {
    if (index == kNone) {
      ++endpoint_settled_;
      report_.endpoint_sl2vl_written += written;
      return;
    }
    ++sl2vl_settled_[index];
    report_.switches[index].sl2vl_written += written;
  }

  const DiscoveryResult& live_;
  const Fabric& f_;
  const Fabric& planned_;
  const RouteSet& routes_;
  const NodeMap& map_;
  const DeployOptions& options_;
  mad::MadRpc rpc_;
  DeployReport report_;
  std::vector<std::vector<BlockState>> block_state_;  // parallel to report_.switches
  std::vector<unsigned> sl2vl_settled_;               // parallel to report_.switches
  unsigned endpoint_tables_ = 0;
  unsigned endpoint_settled_ = 0;
  uint64_t writes_ = 0;
};

}  // namespace

Result<DeployReport> Deploy(mad::Transport& transport, const DiscoveryResult& live, const Fabric& planned,
                            const RouteSet& routes, const DeployOptions& options) {
  auto map = MapNodes(live.fabric, planned);
  if (!map) return std::unexpected(map.error());
  if (auto v = Validate(live, planned, routes, *map); !v) return std::unexpected(v.error());
  if (!options.only_blocks.empty()) {
    size_t switches = 0;
    for (const SubnetRoutes& sr : routes.subnets) switches += sr.switches.size();
    if (options.only_blocks.size() != switches)
      return MakeError(fmt::format("targeted deployment lists blocks for {} switches, the routes have {}",
                                   options.only_blocks.size(), switches));
  }
  Deployment d(transport, live, planned, routes, *map, options);
  return d.Run();
}

uint64_t DeployReport::lids_remaining() const {
  return std::count_if(lids.begin(), lids.end(), [](const LidChange& c) { return !c.done; });
}

uint64_t DeployReport::sl2vl_remaining() const {
  uint64_t n = endpoint_sl2vl_remaining;
  for (const SwitchDeployment& s : switches) n += s.sl2vl_remaining;
  return n;
}

}  // namespace fabricctl
