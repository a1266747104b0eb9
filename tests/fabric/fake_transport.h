#pragma once
// A transport that answers SMPs from a Fabric in memory, like a subnet of SMAs would:
// directed routes are followed hop by hop (a CA does not forward), NodeInfo, NodeDescription,
// PortInfo, SwitchInfo and LinearForwardingTable are answered, LFTs are stored. Loss can be
// injected with a seed, so discovery, retries and deployment run as unit tests.
#include <fmt/format.h>
#include <infiniband/mad.h>

#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "fabric/fabric.h"
#include "fabric/fabric_builder.h"
#include "fabric/mad/transport.h"

namespace fabricctl::testing {

// leaves x spines, `hosts` per leaf, `width` cables per leaf-spine pair; 4xHDR links,
// LIDs 1.. in node order (0 everywhere with Lids::kNone), GUIDs like ibsim's (switches
// 0x200000.., hosts 0x100000.. in steps of 3).
enum class Lids : uint8_t { kAssigned, kNone };
inline Fabric FakeFatTree(unsigned leaves, unsigned spines, unsigned hosts, unsigned width,
                          Lids lids = Lids::kAssigned) {
  FabricBuilder b;
  std::vector<NodeId> leaf, spine, host;
  uint64_t sw_guid = 0x200000, ca_guid = 0x100000;
  for (unsigned l = 0; l < leaves; ++l)
    leaf.push_back(b.AddNode({.type = NodeType::kSwitch,
                              .num_ports = hosts + spines * width,
                              .guid = sw_guid++,
                              .description = fmt::format("leaf{}", l)})
                       .value());
  for (unsigned s = 0; s < spines; ++s)
    spine.push_back(b.AddNode({.type = NodeType::kSwitch,
                               .num_ports = leaves * width,
                               .guid = sw_guid++,
                               .description = fmt::format("spine{}", s)})
                        .value());
  for (unsigned i = 0; i < leaves * hosts; ++i) {
    host.push_back(b.AddNode({.type = NodeType::kCa,
                              .num_ports = 1,
                              .guid = ca_guid,
                              .system_guid = ca_guid,
                              .description = fmt::format("host{}", i)})
                       .value());
    b.port(host.back(), 1).guid = ca_guid + 1;
    ca_guid += 3;
  }
  uint32_t lid = 1;
  if (lids == Lids::kAssigned)
    for (NodeId n = 0; n < b.num_nodes(); ++n) b.port(n, b.node(n).type == NodeType::kSwitch ? 0 : 1).lid = lid++;
  for (unsigned l = 0; l < leaves; ++l) {
    for (unsigned h = 0; h < hosts; ++h) b.Connect(leaf[l], h + 1, host[l * hosts + h], 1, {}).value();
    for (unsigned s = 0; s < spines; ++s)
      for (unsigned k = 0; k < width; ++k)
        b.Connect(leaf[l], hosts + s * width + k + 1, spine[s], l * width + k + 1, {}).value();
  }
  return b.Build().value();
}

class FakeTransport final : public mad::Transport {
 public:
  FakeTransport(const Fabric& fabric, NodeId local, unsigned local_port)
      : fabric_(fabric), local_node_(local), local_port_(local_port) {
    local_info_ = {.ca = "fake0", .port = static_cast<int>(local_port)};
  }

  // Drop this share of requests (deterministic for a seed).
  void SetLoss(double share, uint64_t seed) {
    loss_ = share;
    rng_.seed(seed);
  }
  // Drop every request whose route enters `node` by `port` (a dead receiver).
  void DropInto(NodeId node, unsigned port) { dead_.insert({node, port}); }
  // After `sends` more MADs the fabric takes none (a frozen peer): Send fails as the umad
  // transport does when its send times out. Unfreeze() lets it run again.
  void FreezeAfter(uint64_t sends) { freeze_at_ = received + sends; }
  void Unfreeze() { freeze_at_.reset(); }

  uint64_t received = 0;
  std::map<NodeId, std::vector<uint8_t>> lft;  // switch -> entries, as programmed

  Result<void> Send(const mad::Request& r, uint32_t tid, int timeout_ms) override {
    if (freeze_at_ && received >= *freeze_at_)
      return std::unexpected(
          Error{.message = fmt::format("the fabric did not take the MAD within {} ms (timed out)", timeout_ms),
                .where = "fake0:0"});
    ++received;
    if (loss_ > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < loss_) return {};
    NodeId node = local_node_;
    unsigned entry = local_port_;
    for (unsigned i = 1; i <= r.path.hops; ++i) {
      if (i > 1 && !fabric_.is_switch(node)) return {};  // CAs do not forward
      unsigned out = r.path.port[i];
      if (out == 0 || out > fabric_.node(node).num_ports) return {};
      PortId peer = fabric_.port(fabric_.port_id(node, out)).peer;
      if (peer == kNone) return {};
      node = fabric_.port(peer).node;
      entry = fabric_.port(peer).number;
      if (dead_.contains({node, entry})) return {};
    }
    mad::Reply reply;
    reply.tid = tid;
    reply.is_response = true;
    reply.mgmt_class = r.mgmt_class;
    uint8_t* d = reply.mad.data() + mad::kSmpDataOffset;
    const Node& n = fabric_.node(node);
    switch (r.attr_id) {
      case mad::attr::kNodeInfo:
        mad_set_field(d, 0, IB_NODE_TYPE_F, static_cast<uint32_t>(n.type));
        mad_set_field(d, 0, IB_NODE_NPORTS_F, n.num_ports);
        mad_set_field64(d, 0, IB_NODE_SYSTEM_GUID_F, n.system_guid);
        mad_set_field64(d, 0, IB_NODE_GUID_F, n.guid);
        mad_set_field64(d, 0, IB_NODE_PORT_GUID_F,
                        n.type == NodeType::kSwitch ? n.guid : fabric_.port(fabric_.port_id(node, entry)).guid);
        mad_set_field(d, 0, IB_NODE_LOCAL_PORT_F, n.type == NodeType::kSwitch && r.path.hops == 0 ? 0 : entry);
        mad_set_field(d, 0, IB_NODE_VENDORID_F, n.vendor_id);
        mad_set_field(d, 0, IB_NODE_DEVID_F, n.device_id);
        break;
      case mad::attr::kNodeDescription:
        std::memcpy(d, fabric_.description(node).data(), std::min<size_t>(64, fabric_.description(node).size()));
        break;
      case mad::attr::kPortInfo: {
        unsigned p = n.type == NodeType::kSwitch ? r.attr_mod : entry;
        if (p > n.num_ports) return Status(reply, 0x1c);
        const Port& port = fabric_.port(fabric_.port_id(node, p));
        unsigned lid_port = n.type == NodeType::kSwitch ? 0 : p;
        if (r.method == mad::Method::kSet) {
          uint32_t set = mad_get_field(const_cast<uint8_t*>(r.data.data()), 0, IB_PORT_LID_F);
          lid_sets.push_back({node, p, set});
          lid_override[{node, lid_port}] = set;
        }
        auto o = lid_override.find({node, lid_port});
        uint32_t lid = o != lid_override.end() ? o->second : fabric_.port(fabric_.port_id(node, lid_port)).lid;
        mad_set_field(d, 0, IB_PORT_LID_F, lid);
        mad_set_field(d, 0, IB_PORT_LOCAL_PORT_F, entry);
        mad_set_field(d, 0, IB_PORT_STATE_F, static_cast<uint32_t>(port.state));
        mad_set_field(d, 0, IB_PORT_PHYS_STATE_F, static_cast<uint32_t>(port.phys_state));
        mad_set_field(d, 0, IB_PORT_LINK_WIDTH_ACTIVE_F, static_cast<uint32_t>(port.width_active));
        mad_set_field(d, 0, IB_PORT_LINK_WIDTH_ENABLED_F, port.width_enabled);
        mad_set_field(d, 0, IB_PORT_LINK_WIDTH_SUPPORTED_F, port.width_supported);
        // Speeds of this fake are all in the extended field (FDR and up).
        mad_set_field(d, 0, IB_PORT_CAPMASK_F, 1u << 14);
        auto ext = [](SpeedMask m) {
          return ((m >> unsigned(LinkSpeed::kFDR)) & 1) | (((m >> unsigned(LinkSpeed::kEDR)) & 1) << 1) |
                 (((m >> unsigned(LinkSpeed::kHDR)) & 1) << 2) | (((m >> unsigned(LinkSpeed::kNDR)) & 1) << 3);
        };
        mad_set_field(d, 0, IB_PORT_LINK_SPEED_EXT_ACTIVE_F,
                      port.speed_active == LinkSpeed::kNone ? 0 : ext(SpeedBit(port.speed_active)));
        mad_set_field(d, 0, IB_PORT_LINK_SPEED_EXT_ENABLED_F, ext(port.speed_enabled));
        mad_set_field(d, 0, IB_PORT_LINK_SPEED_EXT_SUPPORTED_F, ext(port.speed_supported));
        break;
      }
      case mad::attr::kSwitchInfo:
        if (n.type != NodeType::kSwitch) return Status(reply, 0x1c);
        mad_set_field(d, 0, IB_SW_LINEAR_FDB_CAP_F, 49152);
        mad_set_field(d, 0, IB_SW_LINEAR_FDB_TOP_F,
                      r.method == mad::Method::kSet
                          ? mad_get_field(const_cast<uint8_t*>(r.data.data()), 0, IB_SW_LINEAR_FDB_TOP_F)
                          : 0);
        break;
      case mad::attr::kLinearForwardingTable: {
        if (n.type != NodeType::kSwitch) return Status(reply, 0x1c);
        auto& t = lft[node];
        size_t first = size_t(r.attr_mod) * 64;
        if (t.size() < first + 64) t.resize(first + 64, 0xFF);
        if (r.method == mad::Method::kSet && !lft_ignores_sets.contains(node)) {
          std::memcpy(t.data() + first, r.data.data(), 64);
          ++lft_block_writes;
        }
        std::memcpy(d, t.data() + first, 64);
        break;
      }
      default:
        return Status(reply, 0x0c);  // unsupported attribute
    }
    queue_.push_back(reply);
    return {};
  }

  Result<std::optional<mad::Reply>> Receive(int timeout_ms) override {
    if (queue_.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
      return std::optional<mad::Reply>{};
    }
    mad::Reply r = queue_.front();
    queue_.pop_front();
    return std::optional<mad::Reply>{r};
  }

  const mad::LocalPort& local() const override { return local_info_; }

  struct LidSet {
    NodeId node;
    unsigned port;
    uint32_t lid;
  };
  std::vector<LidSet> lid_sets;
  std::map<std::pair<NodeId, unsigned>, uint32_t> lid_override;  // LIDs set through PortInfo
  uint64_t lft_block_writes = 0;
  std::set<NodeId> lft_ignores_sets;  // switches that answer an LFT Set with the table they keep

 private:
  Result<void> Status(mad::Reply& reply, uint16_t status) {
    reply.status = status;
    queue_.push_back(reply);
    return {};
  }

  const Fabric& fabric_;
  NodeId local_node_;
  unsigned local_port_;
  mad::LocalPort local_info_;
  double loss_ = 0;
  std::mt19937_64 rng_{1};
  std::set<std::pair<NodeId, unsigned>> dead_;
  std::optional<uint64_t> freeze_at_;
  std::deque<mad::Reply> queue_;
};

}  // namespace fabricctl::testing
