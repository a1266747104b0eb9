#pragma once
// The fabric model: plain arrays indexed by dense 32-bit ids. A Fabric is built once by a
// FabricBuilder and read-only afterwards; algorithms take `const Fabric&` and keep their
// working state to themselves.
//
// Ports of a node are contiguous: port number p of node n is PortId first_port + p, for
// p in [0, num_ports]. Port 0 is the switch management port (it holds the switch LID);
// on channel adapters and routers slot 0 exists but is never connected.
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fabric/link_rate.h"

namespace fabricctl {

using NodeId = uint32_t;
using PortId = uint32_t;
using LinkId = uint32_t;
using SubnetId = uint32_t;
inline constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

// Values as NodeInfo.NodeType encodes them.
enum class NodeType : uint8_t { kCa = 1, kSwitch = 2, kRouter = 3 };
// PortInfo.PortState.
enum class PortState : uint8_t { kNoChange = 0, kDown = 1, kInit = 2, kArmed = 3, kActive = 4 };
// PortInfo.PortPhysicalState.
enum class PhysState : uint8_t {
  kNoChange = 0,
  kSleep = 1,
  kPolling = 2,
  kDisabled = 3,
  kTraining = 4,
  kLinkUp = 5,
  kErrorRecovery = 6,
  kPhyTest = 7,
};
// Which level of the hierarchy a switch (and so its subnet) belongs to.
enum class FabricLevel : uint8_t { kUnknown = 0, kScaleUp = 1, kScaleOut = 2 };

std::string_view ToString(NodeType t);     // "switch", "ca", "router"
std::string_view ToString(PortState s);    // "Down", "Init", "Armed", "Active"
std::string_view ToString(PhysState s);    // "LinkUp", "Polling", ...
std::string_view ToString(FabricLevel l);  // "unknown", "scale-up", "scale-out"
std::optional<FabricLevel> ParseFabricLevel(std::string_view s);

// Planning labels; -1 means unset. Tier: 0 endpoints, 1 leaf switches, 2 spines, 3 cores.
struct Labels {
  int32_t super_node = -1;
  int32_t plane = -1;  // plane of a multi-plane scale-up fabric, or rail of a rail-optimised one
  int32_t tier = -1;
  int32_t rack = -1;
  FabricLevel level = FabricLevel::kUnknown;
  bool operator==(const Labels&) const = default;
};

struct Port {
  NodeId node = kNone;
  uint8_t number = 0;
  uint64_t guid = 0;
  uint32_t lid = 0;  // 32 bits on purpose: fabrics may exceed the 49,151 IB unicast LIDs
  uint8_t lmc = 0;
  PortState state = PortState::kDown;
  PhysState phys_state = PhysState::kPolling;
  LinkWidth width_active = LinkWidth::kNone;
  WidthMask width_enabled = 0;
  WidthMask width_supported = 0;
  LinkSpeed speed_active = LinkSpeed::kNone;
  SpeedMask speed_enabled = 0;
  SpeedMask speed_supported = 0;
  PortId peer = kNone;  // the port at the other end of the cable
  LinkId link = kNone;
  bool operator==(const Port&) const = default;
};

struct Node {
  NodeType type = NodeType::kCa;
  uint16_t num_ports = 0;     // physical ports, numbered 1..num_ports
  PortId first_port = kNone;  // PortId of port 0
  uint64_t guid = 0;
  uint64_t system_guid = 0;
  uint32_t vendor_id = 0;
  uint32_t device_id = 0;
  Labels labels;
  bool operator==(const Node&) const = default;
};

// A cable between two ports; a < b.
struct Link {
  PortId a = kNone;
  PortId b = kNone;
  bool operator==(const Link&) const = default;
};

// One entry of the frozen CSR adjacency: a connected port of a node and what it reaches.
struct Adjacency {
  PortId local = kNone;
  NodeId peer_node = kNone;
  PortId peer_port = kNone;
  LinkId link = kNone;
};

// A connected component of the port graph. Switches forward between all their ports, so a
// switch lies in one subnet; CAs and routers do not, so each of their ports may lie in a
// different subnet (an accelerator's scale-up and scale-out ports).
struct Subnet {
  SubnetId id = kNone;
  std::string name;  // "scale-up/sn3", "scale-out", "subnet2": stable, derived from labels
  FabricLevel level = FabricLevel::kUnknown;
  int32_t super_node = -1;
  std::vector<NodeId> switches;        // ascending
  std::vector<PortId> endpoint_ports;  // CA/router ports in this subnet, ascending
};

class FabricBuilder;

class Fabric {
 public:
  Fabric() = default;

  size_t num_nodes() const { return nodes_.size(); }
  size_t num_port_slots() const { return ports_.size(); }  // includes every node's slot 0
  size_t num_links() const { return links_.size(); }

  const Node& node(NodeId n) const { return nodes_[n]; }
  const Port& port(PortId p) const { return ports_[p]; }
  const Link& link(LinkId l) const { return links_[l]; }
  std::span<const Node> nodes() const { return nodes_; }
  std::span<const Port> ports() const { return ports_; }
  std::span<const Link> links() const { return links_; }

  // Port `number` (0..num_ports) of node n.
  PortId port_id(NodeId n, unsigned number) const { return nodes_[n].first_port + number; }
  // Physical ports 1..num_ports of n.
  std::span<const Port> physical_ports(NodeId n) const {
    return std::span<const Port>(ports_).subspan(nodes_[n].first_port + 1, nodes_[n].num_ports);
  }
  const std::string& description(NodeId n) const { return descriptions_[n]; }
  bool is_switch(NodeId n) const { return nodes_[n].type == NodeType::kSwitch; }

  // Connected ports of n, in port order (frozen CSR).
  std::span<const Adjacency> neighbors(NodeId n) const {
    return std::span<const Adjacency>(adjacency_)
        .subspan(adjacency_offsets_[n], adjacency_offsets_[n + 1] - adjacency_offsets_[n]);
  }

  std::span<const Subnet> subnets() const { return subnets_; }
  // kNone for an unconnected endpoint port.
  SubnetId subnet_of(PortId p) const { return subnet_of_port_[p]; }

  std::optional<NodeId> FindByGuid(uint64_t guid) const;
  // First node whose description equals `description`.
  std::optional<NodeId> FindByDescription(std::string_view description) const;

  // "desc[port]" for messages, e.g. "sn0-leaf3[12]".
  std::string PortName(PortId p) const;
  // Stable link name used by every report: "<desc>[<port>] -- <desc>[<port>]", a side first.
  std::string LinkName(LinkId l) const;

  bool operator==(const Fabric& other) const;

 private:
  friend class FabricBuilder;
  std::vector<Node> nodes_;
  std::vector<std::string> descriptions_;
  std::vector<Port> ports_;
  std::vector<Link> links_;
  std::vector<uint32_t> adjacency_offsets_;
  std::vector<Adjacency> adjacency_;
  std::vector<SubnetId> subnet_of_port_;
  std::vector<Subnet> subnets_;
  std::unordered_map<uint64_t, NodeId> by_guid_;
};

}  // namespace fabricctl
