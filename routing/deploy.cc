#include "routing/deploy.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>

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

// Everything is checked before the first MAD goes out: a refused deployment changes nothing.
Result<void> Validate(const Fabric& live, const Fabric& planned, const RouteSet& routes, const NodeMap& map) {
  auto missing = [&](NodeId n, std::string_view role) {
    return MakeError(
        fmt::format("the routes {} {}, which is not in the discovered fabric (GUIDs differ: are these "
                    "routes for another fabric, or has a node been replaced?)",
                    role, NodeWhere(planned, n)));
  };
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

  Result<DeployReport> Run() {
    auto start = std::chrono::steady_clock::now();
    report_.mode = options_.mode;
    if (auto r = AssignLids(); !r) return std::unexpected(r.error());
    if (auto r = ProgramLfts(); !r) return std::unexpected(r.error());
    if (auto r = ProgramSl2Vl(); !r) return std::unexpected(r.error());
    report_.stats = rpc_.stats();
    report_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return std::move(report_);
  }

 private:
  bool apply() const { return options_.mode == DeployMode::kApply; }
  void Problem(NodeId n, std::string message) {
    report_.problems.push_back(DeployProblem{.where = NodeWhere(f_, n), .message = std::move(message)});
  }
  mad::Request Smp(NodeId n, mad::Method method, uint16_t attr, uint32_t mod) const {
    return mad::Request{.method = method, .attr_id = attr, .attr_mod = mod, .path = live_.paths[n]};
  }

  Result<void> AssignLids() {
    for (PortId p = 0; p < routes_.port_lid.size(); ++p) {
      Lid want = routes_.port_lid[p];
      if (want == 0) continue;
      const Port& pp = planned_.port(p);
      NodeId n = map_.to_live[pp.node];
      if (n == kNone) continue;  // a port without routes through it; Validate covered the rest
      unsigned num = pp.number;
      uint32_t have = f_.port(f_.port_id(n, num)).lid;
      if (have == want) continue;
      report_.lids.push_back(LidChange{.node = n, .port = num, .old_lid = have, .new_lid = want});
      if (!apply()) continue;
      rpc_.Post(Smp(n, mad::Method::kGet, mad::attr::kPortInfo, num), [this, n, num, want](const Completion& c) {
        if (c.outcome != Outcome::kOk) return Problem(n, Failure(fmt::format("PortInfo of port {}", num), c));
        mad::Request set = Smp(n, mad::Method::kSet, mad::attr::kPortInfo, num);
        auto payload = mad::EncodePortInfoLid(c.reply->data(), want, 0);
        std::memcpy(set.data.data(), payload.data(), payload.size());
        rpc_.Post(set, [this, n, num, want](const Completion& s) {
          if (s.outcome != Outcome::kOk)
            return Problem(n, Failure(fmt::format("setting LID {} on port {}", want, num), s));
          if (mad::DecodePortInfo(s.reply->data()).lid != want)
            Problem(n, fmt::format("port {} kept its LID after PortInfo Set to {}", num, want));
        });
      });
    }
    return rpc_.Run();
  }

  Result<void> ProgramLfts() {
    for (const SubnetRoutes& sr : routes_.subnets) {
      const unsigned blocks = static_cast<unsigned>((sr.num_lids() + kLftBlockSize - 1) / kLftBlockSize);
      for (size_t i = 0; i < sr.switches.size(); ++i) {
        NodeId n = map_.to_live[sr.switches[i]];
        size_t index = report_.switches.size();
        report_.switches.push_back(SwitchDeployment{.node = n, .blocks = blocks});
        rpc_.Post(Smp(n, mad::Method::kGet, mad::attr::kSwitchInfo, 0),
                  [this, &sr, i, n, index, blocks](const Completion& c) {
                    if (c.outcome != Outcome::kOk) return Problem(n, Failure("SwitchInfo", c));
                    mad::SwitchInfo si = mad::DecodeSwitchInfo(c.reply->data());
                    unsigned top = static_cast<unsigned>(sr.num_lids() - 1);
                    if (si.linear_fdb_cap != 0 && sr.num_lids() > si.linear_fdb_cap)
                      return Problem(n, fmt::format("routes need {} LFT entries, the switch holds {}", sr.num_lids(),
                                                    si.linear_fdb_cap));
                    if (si.linear_fdb_top != top && apply()) {
                      report_.switches[index].fdb_top_raised = si.linear_fdb_top < top;
                      mad::Request set = Smp(n, mad::Method::kSet, mad::attr::kSwitchInfo, 0);
                      auto payload = mad::EncodeSwitchInfoFdbTop(c.reply->data(), top);
                      std::memcpy(set.data.data(), payload.data(), payload.size());
                      rpc_.Post(set, [this, n](const Completion& s) {
                        if (s.outcome != Outcome::kOk) Problem(n, Failure("SwitchInfo Set (LinearFDBTop)", s));
                      });
                    }
                    for (unsigned b = 0; b < blocks; ++b) ReadBlock(sr, i, n, index, b);
                  });
      }
    }
    auto r = rpc_.Run();
    for (SwitchDeployment& s : report_.switches) std::sort(s.changed.begin(), s.changed.end());
    return r;
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
    rpc_.Post(Smp(n, mad::Method::kGet, mad::attr::kLinearForwardingTable, block), [this, &sr, i, n, index,
                                                                                    block](const Completion& c) {
      if (c.outcome != Outcome::kOk) return Problem(n, Failure(fmt::format("LFT block {}", block), c));
      auto want = Planned(sr, i, block);
      if (std::memcmp(want.data(), c.reply->data(), kLftBlockSize) == 0) return;
      report_.switches[index].changed.push_back(block);
      if (!apply()) return;
      if (options_.max_block_writes != 0 && writes_ >= options_.max_block_writes) {
        report_.interrupted = true;
        return;
      }
      ++writes_;
      mad::Request set = Smp(n, mad::Method::kSet, mad::attr::kLinearForwardingTable, block);
      std::memcpy(set.data.data(), want.data(), want.size());
      rpc_.Post(set, [this, n, index, block, want](const Completion& s) {
        if (s.outcome != Outcome::kOk) return Problem(n, Failure(fmt::format("writing LFT block {}", block), s));
        // Read back with a fresh Get: the Set's reply is the switch's word, the Get is its state.
        rpc_.Post(Smp(n, mad::Method::kGet, mad::attr::kLinearForwardingTable, block),
                  [this, n, index, block, want](const Completion& v) {
                    if (v.outcome != Outcome::kOk)
                      return Problem(n, Failure(fmt::format("reading back LFT block {}", block), v));
                    if (std::memcmp(want.data(), v.reply->data(), kLftBlockSize) == 0)
                      ++report_.switches[index].verified;
                    else
                      Problem(n, fmt::format("LFT block {} reads back different from what was written", block));
                  });
      });
    });
  }

  // SL->VL tables, only when the routes use several VLs (one VL needs the default map).
  Result<void> ProgramSl2Vl() {
    for (const SubnetRoutes& sr : routes_.subnets) {
      if (sr.num_vls <= 1 || sr.sl2vl_stride == 0 || sr.sl2vl.empty()) continue;
      size_t index = 0;
      for (; index < report_.switches.size(); ++index)
        if (report_.switches[index].node == map_.to_live[sr.switches.front()]) break;
      for (size_t i = 0; i < sr.switches.size(); ++i, ++index) {
        NodeId n = map_.to_live[sr.switches[i]];
        unsigned ports = f_.node(n).num_ports;
        for (unsigned in = 0; in <= ports && in < sr.sl2vl_stride; ++in)
          for (unsigned out = 1; out <= ports && out < sr.sl2vl_stride; ++out) {
            if (in == out) continue;
            std::array<uint8_t, 8> want{};
            for (unsigned sl = 0; sl < 16; ++sl) {
              uint8_t vl = sr.sl2vl[((i * sr.sl2vl_stride + in) * sr.sl2vl_stride + out) * 16 + sl] & 0xF;
              want[sl / 2] |= static_cast<uint8_t>(sl % 2 == 0 ? vl << 4 : vl);
            }
            WriteSl2Vl(n, (in << 8) | out, want, index);
          }
      }
      // Endpoints inject on VL endpoint_sl2vl[sl].
      std::array<uint8_t, 8> ep{};
      for (unsigned sl = 0; sl < 16; ++sl)
        ep[sl / 2] |=
            static_cast<uint8_t>(sl % 2 == 0 ? (sr.endpoint_sl2vl[sl] & 0xF) << 4 : sr.endpoint_sl2vl[sl] & 0xF);
      const Subnet& sub = planned_.subnets()[sr.subnet];
      for (PortId p : sub.endpoint_ports) {
        NodeId n = map_.to_live[planned_.port(p).node];
        if (n != kNone) WriteSl2Vl(n, 0, ep, kNone);
      }
    }
    return rpc_.Run();
  }

  void WriteSl2Vl(NodeId n, uint32_t mod, std::array<uint8_t, 8> want, size_t index) {
    rpc_.Post(Smp(n, mad::Method::kGet, mad::attr::kSlToVlTable, mod),
              [this, n, mod, want, index](const Completion& c) {
                if (c.outcome != Outcome::kOk) return Problem(n, Failure(fmt::format("SL2VL table 0x{:04x}", mod), c));
                if (std::memcmp(want.data(), c.reply->data(), want.size()) == 0) return;
                if (index != kNone) ++report_.switches[index].sl2vl_changed;
                if (!apply()) return;
                mad::Request set = Smp(n, mad::Method::kSet, mad::attr::kSlToVlTable, mod);
                std::memcpy(set.data.data(), want.data(), want.size());
                rpc_.Post(set, [this, n, mod, want](const Completion& s) {
                  if (s.outcome != Outcome::kOk)
                    return Problem(n, Failure(fmt::format("writing SL2VL table 0x{:04x}", mod), s));
                  if (std::memcmp(want.data(), s.reply->data(), want.size()) != 0)
                    Problem(n, fmt::format("SL2VL table 0x{:04x} reads back different from what was written", mod));
                });
              });
  }

  const DiscoveryResult& live_;
  const Fabric& f_;
  const Fabric& planned_;
  const RouteSet& routes_;
  const NodeMap& map_;
  const DeployOptions& options_;
  mad::MadRpc rpc_;
  DeployReport report_;
  uint64_t writes_ = 0;
};

}  // namespace

Result<DeployReport> Deploy(mad::Transport& transport, const DiscoveryResult& live, const Fabric& planned,
                            const RouteSet& routes, const DeployOptions& options) {
  auto map = MapNodes(live.fabric, planned);
  if (!map) return std::unexpected(map.error());
  if (auto v = Validate(live.fabric, planned, routes, *map); !v) return std::unexpected(v.error());
  Deployment d(transport, live, planned, routes, *map, options);
  return d.Run();
}

}  // namespace fabricctl
