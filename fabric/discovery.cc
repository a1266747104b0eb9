#include "fabric/discovery.h"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cstring>
#include <optional>
#include <unordered_map>

#include "fabric/elapsed.h"
#include "fabric/fabric_builder.h"
#include "fabric/mad/attributes.h"

namespace fabricctl {
namespace {

using mad::Completion;
using mad::DrPath;
using mad::Outcome;

struct Peer {
  uint32_t node = kNone;
  uint8_t port = 0;
};

struct WalkNode {
  mad::NodeInfo info;
  DrPath path;
  std::string description;
  std::vector<std::optional<mad::PortInfo>> ports;  // 0..num_ports
  std::vector<std::array<uint8_t, 64>> raw_ports;   // as read, decoded again once port 0 is known
  std::vector<Peer> peers;                          // 0..num_ports
  std::vector<uint64_t> port_guids;                 // CA ports: the GUID NodeInfo gave
  mad::SwitchInfo switch_info;
};

std::string NodeName(const WalkNode& n) {
  return fmt::format("{}-{:016x}", n.info.type == NodeType::kSwitch ? "S" : "H", n.info.node_guid);
}

// The walk's working state; lives only for one Discover call.
class Walk {
 public:
  Walk(mad::Transport& transport, const DiscoveryOptions& options) : options_(options), rpc_(transport, options.rpc) {}

  Result<DiscoveryResult> Run() {
    auto start = std::chrono::steady_clock::now();
    mad::Request req{.attr_id = mad::attr::kNodeInfo};
    rpc_.Post(req, [this](const Completion& c) {
      if (c.outcome != Outcome::kOk) {
        local_error_ = c.outcome == Outcome::kTimeout
                           ? fmt::format("the local port does not answer NodeInfo (timed out {} times after {} ms)",
                                         Attempts(), options_.rpc.timeout_ms)
                           : fmt::format("local NodeInfo failed with MAD status 0x{:04x}", c.status);
        return;
      }
      sightings_.push_back(NodeSighting{.path = DrPath{}, .info = mad::DecodeNodeInfo(c.reply->data())});
      AddNode(sightings_.back().info, DrPath{});
    });
    if (auto r = rpc_.Run(); !r) return std::unexpected(r.error());
    if (!local_error_.empty() || nodes_.empty())
      return std::unexpected(Error{.message = local_error_.empty() ? "no answer from the local port" : local_error_,
                                   .where = fmt::format("{}:{}", rpc_transport_name(), 0)});
    Report(/*done=*/true);
    auto result = Build();
    if (!result) return result;
    result->stats = rpc_.stats();
    result->seconds = SecondsSince(start);
    return result;
  }

 private:
  std::string rpc_transport_name() const { return "local port"; }

  void Problem(const DrPath& path, std::string where, std::string message) {
    problems_.push_back(
        DiscoveryProblem{.path = path.ToString(), .where = std::move(where), .message = std::move(message)});
  }
  static std::string Failure(std::string_view what, const Completion& c, int attempts) {
    if (c.outcome == Outcome::kTimeout) return fmt::format("{}: no answer after {} attempts", what, attempts);
    return fmt::format("{}: MAD status 0x{:04x}", what, c.status);
  }

  uint32_t AddNode(const mad::NodeInfo& info, const DrPath& path) {
    uint32_t id = static_cast<uint32_t>(nodes_.size());
    WalkNode n;
    n.info = info;
    n.path = path;
    n.ports.resize(info.num_ports + 1);
    n.raw_ports.resize(info.num_ports + 1);
    n.peers.resize(info.num_ports + 1);
    n.port_guids.resize(info.num_ports + 1);
    if (info.local_port <= info.num_ports) n.port_guids[info.local_port] = info.port_guid;
    nodes_.push_back(std::move(n));
    by_guid_.emplace(info.node_guid, id);
    if (info.type == NodeType::kSwitch) ++switches_;
    if ((nodes_.size() & 255) == 0) Report(/*done=*/false);

    Query(id, mad::attr::kNodeDescription, 0, [this, id](const Completion& c) {
      if (c.outcome == Outcome::kOk)
        nodes_[id].description = mad::DecodeNodeDescription(c.reply->data());
      else
        Problem(nodes_[id].path, NodeName(nodes_[id]), Failure("NodeDescription", c, Attempts()));
    });
    if (info.type == NodeType::kSwitch) {
      Query(id, mad::attr::kSwitchInfo, 0, [this, id](const Completion& c) {
        if (c.outcome == Outcome::kOk)
          nodes_[id].switch_info = mad::DecodeSwitchInfo(c.reply->data());
        else
          Problem(nodes_[id].path, NodeName(nodes_[id]), Failure("SwitchInfo", c, Attempts()));
      });
      // Port 0 carries the switch's LID; physical ports tell where to go next.
      for (unsigned p = 0; p <= info.num_ports; ++p) QueryPort(id, p);
    } else if (info.local_port >= 1 && info.local_port <= info.num_ports) {
      // A CA or router answers for the port we entered by; other ports are not reachable
      // without routing through it.
      QueryPort(id, info.local_port);
    }
    return id;
  }

  int Attempts() const { return options_.rpc.retries + 1; }

  void Query(uint32_t id, uint16_t attr_id, uint32_t mod, mad::MadRpc::Callback done) {
    mad::Request req{.attr_id = attr_id, .attr_mod = mod, .path = nodes_[id].path};
    rpc_.Post(req, std::move(done));
  }

  void QueryPort(uint32_t id, unsigned port) {
    Query(id, mad::attr::kPortInfo, port, [this, id, port](const Completion& c) {
      WalkNode& n = nodes_[id];
      if (c.outcome != Outcome::kOk) {
        Problem(n.path, fmt::format("{}[{}]", NodeName(n), port), Failure("PortInfo", c, Attempts()));
        return;
      }
      n.ports[port] = mad::DecodePortInfo(c.reply->data());
      std::memcpy(n.raw_ports[port].data(), c.reply->data(), 64);
      if (port == 0) return;
      const mad::PortInfo& pi = *n.ports[port];
      bool up = pi.phys_state == PhysState::kLinkUp || pi.state >= PortState::kInit;
      // Never route through a CA: only switches and the local node extend paths.
      bool may_extend = n.info.type == NodeType::kSwitch || n.path.hops == 0;
      if (!up || !may_extend || n.peers[port].node != kNone) return;
      if (n.path.hops >= options_.max_hops) {
        Problem(n.path, fmt::format("{}[{}]", NodeName(n), port),
                fmt::format("not followed: --max-hops {} reached", options_.max_hops));
        return;
      }
      Probe(id, static_cast<uint8_t>(port));
    });
  }

  // NodeInfo through (id, port): who is at the other end of this cable.
  void Probe(uint32_t id, uint8_t port) {
    DrPath path = nodes_[id].path.Extend(port);
    mad::Request req{.attr_id = mad::attr::kNodeInfo, .path = path};
    rpc_.Post(req, [this, id, port, path](const Completion& c) {
      if (c.outcome != Outcome::kOk) {
        Problem(path, fmt::format("{}[{}]", NodeName(nodes_[id]), port), Failure("NodeInfo", c, Attempts()));
        return;
      }
      mad::NodeInfo info = mad::DecodeNodeInfo(c.reply->data());
      sightings_.push_back(NodeSighting{.path = path, .info = info});
      if (nodes_[id].peers[port].node != kNone) return;  // learnt from the other side meanwhile
      uint32_t peer;
      if (auto it = by_guid_.find(info.node_guid); it != by_guid_.end()) {
        peer = it->second;
        WalkNode& p = nodes_[peer];
        if (info.local_port > p.info.num_ports) {
          Problem(path, NodeName(p),
                  fmt::format("answered from port {} of a {}-port node", info.local_port, p.info.num_ports));
          return;
        }
        if (p.info.type != NodeType::kSwitch && info.local_port < p.port_guids.size())
          p.port_guids[info.local_port] = info.port_guid;
        const Peer& existing = p.peers[info.local_port];
        if (existing.node != kNone && (existing.node != id || existing.port != port)) {
          Problem(path, fmt::format("{}[{}]", NodeName(p), info.local_port),
                  fmt::format("reached from {}[{}] but already cabled to {}[{}] (duplicate GUID?)",
                              NodeName(nodes_[id]), port, NodeName(nodes_[existing.node]), existing.port));
          return;
        }
        // A CA seen through a second port: ask about that port too.
        if (p.info.type != NodeType::kSwitch && !p.ports[info.local_port]) {
          p.peers[info.local_port] = Peer{id, port};
          nodes_[id].peers[port] = Peer{peer, static_cast<uint8_t>(info.local_port)};
          QueryPortVia(peer, info.local_port, path);
          return;
        }
      } else {
        if (info.local_port > info.num_ports || info.num_ports == 0) {
          Problem(path, fmt::format("{:016x}", info.node_guid), "NodeInfo with an impossible port number");
          return;
        }
        peer = AddNode(info, path);
      }
      nodes_[peer].peers[info.local_port] = Peer{id, port};
      nodes_[id].peers[port] = Peer{peer, static_cast<uint8_t>(info.local_port)};
    });
  }

  // PortInfo of a CA port reached by a second path (a CA with two ports on one subnet).
  void QueryPortVia(uint32_t id, unsigned port, const DrPath& path) {
    mad::Request req{.attr_id = mad::attr::kPortInfo, .attr_mod = port, .path = path};
    rpc_.Post(req, [this, id, port, path](const Completion& c) {
      if (c.outcome == Outcome::kOk)
        nodes_[id].ports[port] = mad::DecodePortInfo(c.reply->data());
      else
        Problem(path, fmt::format("{}[{}]", NodeName(nodes_[id]), port), Failure("PortInfo", c, Attempts()));
    });
  }

  void Report(bool done) {
    if (options_.progress)
      options_.progress(
          DiscoveryProgress{.nodes = nodes_.size(), .switches = switches_, .mads = rpc_.stats().sent, .done = done});
  }

  Result<DiscoveryResult> Build() {
    DiscoveryResult result;
    FabricBuilder b;
    size_t slots = 0;
    for (const WalkNode& n : nodes_) slots += n.info.num_ports + 1;
    b.Reserve(nodes_.size(), slots);
    for (const WalkNode& n : nodes_) {
      auto id = b.AddNode(NodeSpec{.type = n.info.type,
                                   .num_ports = n.info.num_ports,
                                   .guid = n.info.node_guid,
                                   .system_guid = n.info.system_guid,
                                   .description = n.description,
                                   .vendor_id = n.info.vendor_id,
                                   .device_id = n.info.device_id});
      if (!id) return std::unexpected(id.error());
      result.paths.push_back(n.path);
      result.switch_info.push_back(n.switch_info);
    }
    for (uint32_t id = 0; id < nodes_.size(); ++id) {
      WalkNode& n = nodes_[id];
      // Switch ports report extended speeds only through port 0's CapabilityMask.
      if (n.info.type == NodeType::kSwitch && n.ports[0]) {
        auto ext = mad::HasExtendedSpeeds(n.raw_ports[0].data()) ? mad::ExtendedSpeeds::kSupported
                                                                 : mad::ExtendedSpeeds::kUnsupported;
        for (unsigned p = 1; p <= n.info.num_ports; ++p)
          if (n.ports[p]) n.ports[p] = mad::DecodePortInfo(n.raw_ports[p].data(), ext);
      }
      for (unsigned p = 0; p <= n.info.num_ports; ++p) {
        Port& port = b.port(id, p);
        if (n.info.type != NodeType::kSwitch) port.guid = n.port_guids[p];
        if (!n.ports[p]) continue;
        const mad::PortInfo& pi = *n.ports[p];
        // A switch's LID lives on port 0; its physical ports report it too but own none.
        if (n.info.type != NodeType::kSwitch || p == 0) {
          port.lid = pi.lid;
          port.lmc = pi.lmc;
        }
        if (n.info.type == NodeType::kSwitch && p == 0) continue;
        port.state = pi.state;
        port.phys_state = pi.phys_state;
        port.width_active = pi.width_active;
        port.width_enabled = pi.width_enabled;
        port.width_supported = pi.width_supported;
        port.speed_active = pi.speed_active;
        port.speed_enabled = pi.speed_enabled;
        port.speed_supported = pi.speed_supported;
      }
    }
    for (uint32_t id = 0; id < nodes_.size(); ++id) {
      const WalkNode& n = nodes_[id];
      for (unsigned p = 1; p <= n.info.num_ports; ++p) {
        const Peer& peer = n.peers[p];
        if (peer.node == kNone || peer.node < id || (peer.node == id && peer.port < p)) continue;
        if (b.peer(id, p) != kNone) continue;
        if (auto l = b.Connect(id, p, peer.node, peer.port); !l)
          Problem(n.path, fmt::format("{}[{}]", NodeName(n), p), l.error().message);
      }
    }
    auto fabric = b.Build();
    if (!fabric) return std::unexpected(fabric.error());
    result.fabric = std::move(*fabric);
    result.port_info.resize(result.fabric.num_port_slots());
    for (uint32_t id = 0; id < nodes_.size(); ++id)
      for (unsigned p = 0; p <= nodes_[id].info.num_ports; ++p)
        result.port_info[result.fabric.port_id(id, p)] = nodes_[id].ports[p];
    result.sightings = std::move(sightings_);
    result.local_node = 0;
    result.local_port = nodes_.front().info.local_port;
    result.problems = std::move(problems_);
    return result;
  }

  const DiscoveryOptions& options_;
  mad::MadRpc rpc_;
  std::vector<WalkNode> nodes_;
  std::unordered_map<uint64_t, uint32_t> by_guid_;
  std::vector<DiscoveryProblem> problems_;
  std::vector<NodeSighting> sightings_;
  size_t switches_ = 0;
  std::string local_error_;
};

}  // namespace

Result<DiscoveryResult> Discover(mad::Transport& transport, const DiscoveryOptions& options) {
  Walk walk(transport, options);
  auto r = walk.Run();
  if (!r) {
    Error e = r.error();
    const mad::LocalPort& local = transport.local();
    e.where = fmt::format("{}:{}", local.ca, local.port);
    return std::unexpected(e);
  }
  return r;
}

std::vector<DegradedLink> FindDegradedLinks(const Fabric& fabric) {
  std::vector<DegradedLink> out;
  for (LinkId l = 0; l < fabric.num_links(); ++l) {
    const Port& a = fabric.port(fabric.link(l).a);
    const Port& b = fabric.port(fabric.link(l).b);
    if (a.state < PortState::kInit || b.state < PortState::kInit) continue;
    // Supported masks of 0 mean "unknown" (a port we could not read): nothing to compare.
    if (a.width_supported == 0 || b.width_supported == 0) continue;
    LinkWidth best_width = WidestWidth(a.width_supported & b.width_supported);
    LinkSpeed best_speed = FastestSpeed(a.speed_supported & b.speed_supported);
    LinkWidth width = LaneCount(a.width_active) <= LaneCount(b.width_active) ? a.width_active : b.width_active;
    LinkSpeed speed = std::min(a.speed_active, b.speed_active);
    bool narrow = LaneCount(width) < LaneCount(best_width);
    bool slow = best_speed != LinkSpeed::kNone && speed < best_speed;
    if (narrow || slow)
      out.push_back(
          DegradedLink{.link = l, .width = width, .speed = speed, .best_width = best_width, .best_speed = best_speed});
  }
  return out;
}

}  // namespace fabricctl
