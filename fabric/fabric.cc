#include "fabric/fabric.h"

#include <fmt/format.h>

namespace fabricctl {

std::string_view ToString(NodeType t) {
  switch (t) {
    case NodeType::kCa:
      return "ca";
    case NodeType::kSwitch:
      return "switch";
    case NodeType::kRouter:
      return "router";
  }
  return "unknown";
}

std::string_view ToString(PortState s) {
  switch (s) {
    case PortState::kNoChange:
      return "NoChange";
    case PortState::kDown:
      return "Down";
    case PortState::kInit:
      return "Init";
    case PortState::kArmed:
      return "Armed";
    case PortState::kActive:
      return "Active";
  }
  return "Unknown";
}

std::string_view ToString(PhysState s) {
  switch (s) {
    case PhysState::kNoChange:
      return "NoChange";
    case PhysState::kSleep:
      return "Sleep";
    case PhysState::kPolling:
      return "Polling";
    case PhysState::kDisabled:
      return "Disabled";
    case PhysState::kTraining:
      return "PortConfigurationTraining";
    case PhysState::kLinkUp:
      return "LinkUp";
    case PhysState::kErrorRecovery:
      return "LinkErrorRecovery";
    case PhysState::kPhyTest:
      return "PhyTest";
  }
  return "Unknown";
}

std::string_view ToString(FabricLevel l) {
  switch (l) {
    case FabricLevel::kUnknown:
      return "unknown";
    case FabricLevel::kScaleUp:
      return "scale-up";
    case FabricLevel::kScaleOut:
      return "scale-out";
  }
  return "unknown";
}

std::optional<FabricLevel> ParseFabricLevel(std::string_view s) {
  if (s == "unknown") return FabricLevel::kUnknown;
  if (s == "scale-up" || s == "scaleup") return FabricLevel::kScaleUp;
  if (s == "scale-out" || s == "scaleout") return FabricLevel::kScaleOut;
  return std::nullopt;
}

std::optional<NodeId> Fabric::FindByGuid(uint64_t guid) const {
  auto it = by_guid_.find(guid);
  if (it == by_guid_.end()) return std::nullopt;
  return it->second;
}

std::optional<NodeId> Fabric::FindByDescription(std::string_view description) const {
  for (NodeId n = 0; n < descriptions_.size(); ++n)
    if (descriptions_[n] == description) return n;
  return std::nullopt;
}

std::string Fabric::PortName(PortId p) const {
  const Port& port = ports_[p];
  return fmt::format("{}[{}]", descriptions_[port.node], port.number);
}

std::string Fabric::LinkName(LinkId l) const { return PortName(links_[l].a) + " -- " + PortName(links_[l].b); }

bool Fabric::operator==(const Fabric& o) const {
  return nodes_ == o.nodes_ && descriptions_ == o.descriptions_ && ports_ == o.ports_ && links_ == o.links_;
}

}  // namespace fabricctl
