#pragma once
// What every generator shares: the GUID scheme, readable names, and a FabricBuilder wrapper
// that collects the first error so the wiring code reads as a straight line.
//
// GUID scheme (docs/topologies.md): channel adapters (hosts, accelerators) get node GUID
// kCaGuidBase + (index << 8) and port GUIDs node GUID + port number (ports are 1..255, so
// they never collide); switches get kSwitchGuidBase + index and their ports share it. The
// index counts CAs and switches separately, in creation order, so GUIDs are stable for a
// given generator and parameters.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric_builder.h"

namespace fabricctl::gen {

inline constexpr uint64_t kCaGuidBase = 0xfab1'0000'0000'0000ULL;
inline constexpr uint64_t kSwitchGuidBase = 0xfab2'0000'0000'0000ULL;
// 400 Gb/s: the scale-out rate of the target clusters, and the default everywhere.
inline constexpr LinkRate kRate400G{.width = LinkWidth::k4x, .speed = LinkSpeed::kNDR};

// Ports a generated switch may have: an LFT entry of 255 means "no route", so port 255
// could carry none (routing refuses a cable there).
inline constexpr unsigned kMaxSwitchPorts = 254;

// The largest fabric a generator builds, in port slots (ports plus each node's port 0):
// about 100 bytes each once built, so some 5 GiB. A 3-tier fat tree of radix 254 (4.1M
// endpoints) fits; scalex-cluster with 200 super nodes needs 3.1M.
inline constexpr size_t kMaxPortSlots = 50'000'000;

// Digits needed to print every index below `count` (at least 2), so names sort and align.
int IndexWidth(size_t count);
// `value` zero-padded to IndexWidth(count).
std::string Padded(size_t value, size_t count);

// "sn03-acc0123": accelerator `index` of super node `super_node` (of `super_nodes`).
std::string AcceleratorName(size_t super_node, size_t super_nodes, size_t index);

struct PortRef {
  NodeId node = kNone;
  unsigned port = 0;
};

class GenBuilder {
 public:
  // Fails (and then adds nothing) when port_slots exceeds kMaxPortSlots.
  void Reserve(size_t nodes, size_t port_slots);
  NodeId AddCa(std::string description, unsigned ports, Labels labels);
  NodeId AddSwitch(std::string description, unsigned ports, Labels labels);
  void Connect(NodeId a, unsigned port_a, NodeId b, unsigned port_b, LinkRate rate);
  void Connect(PortRef a, PortRef b, LinkRate rate) { Connect(a.node, a.port, b.node, b.port, rate); }
  void Fail(std::string message);
  bool ok() const { return !error_; }
  size_t num_nodes() const { return b_.num_nodes(); }
  // The first error, or the frozen fabric.
  Result<Fabric> Finish();

 private:
  NodeId Add(NodeType type, uint64_t guid, std::string description, unsigned ports, Labels labels);
  FabricBuilder b_;
  uint64_t cas_ = 0;
  uint64_t switches_ = 0;
  std::optional<Error> error_;
};

}  // namespace fabricctl::gen
