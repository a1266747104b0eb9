#pragma once
// Decoded SMP attributes: the fields discovery, counters and deployment use, read with
// libibmad's field tables.
#include <array>
#include <cstdint>
#include <string>

#include "fabric/fabric.h"

namespace fabricctl::mad {

struct NodeInfo {
  NodeType type = NodeType::kCa;
  unsigned num_ports = 0;
  uint64_t system_guid = 0;
  uint64_t node_guid = 0;
  uint64_t port_guid = 0;  // the port the SMP entered by
  uint32_t device_id = 0;
  uint32_t vendor_id = 0;
  unsigned local_port = 0;  // the port the SMP entered by
};

struct PortInfo {
  uint32_t lid = 0;
  uint8_t lmc = 0;
  uint32_t sm_lid = 0;
  unsigned local_port = 0;
  PortState state = PortState::kDown;
  PhysState phys_state = PhysState::kPolling;
  LinkWidth width_active = LinkWidth::kNone;
  WidthMask width_enabled = 0;
  WidthMask width_supported = 0;
  LinkSpeed speed_active = LinkSpeed::kNone;
  SpeedMask speed_enabled = 0;
  SpeedMask speed_supported = 0;
  unsigned vl_cap = 1;  // number of data VLs the port supports
  unsigned operational_vls = 1;
  uint32_t capability_mask = 0;
};

// PortInfo CapabilityMask.IsSM: a subnet manager runs behind this port.
inline constexpr uint32_t kCapIsSm = 1u << 1;

// SMInfo (IBA 14.2.5.13), as the subnet manager behind a port answers it.
struct SmInfo {
  uint64_t guid = 0;
  uint32_t activity_count = 0;
  uint8_t priority = 0;  // 0..15
  uint8_t state = 0;     // 0 not active, 1 discovering, 2 standby, 3 master
};

struct SwitchInfo {
  unsigned linear_fdb_cap = 0;
  unsigned linear_fdb_top = 0;
  bool enhanced_port0 = false;
};

NodeInfo DecodeNodeInfo(const uint8_t* data);
// Whether LinkSpeedExt* fields are valid: a CA port says so in its own CapabilityMask; a
// switch only in port 0's (its other ports' CapabilityMask is reserved).
enum class ExtendedSpeeds : uint8_t { kFromCapabilityMask, kSupported, kUnsupported };
PortInfo DecodePortInfo(const uint8_t* data, ExtendedSpeeds ext = ExtendedSpeeds::kFromCapabilityMask);
// CapabilityMask.IsExtendedSpeedsSupported of a PortInfo.
bool HasExtendedSpeeds(const uint8_t* data);
SwitchInfo DecodeSwitchInfo(const uint8_t* data);
SmInfo DecodeSmInfo(const uint8_t* data);
// Printable text, stopped at the first NUL (64 bytes at most).
std::string DecodeNodeDescription(const uint8_t* data);

// PortInfo Set payload: `current` with a new LID (and LMC) and nothing else changed.
// Port state fields are written as "no change".
std::array<uint8_t, 64> EncodePortInfoLid(const uint8_t* current, uint32_t lid, uint8_t lmc);
// PortInfo Set payload changing only LinkWidthEnabled.
std::array<uint8_t, 64> EncodePortInfoWidthEnabled(const uint8_t* current, WidthMask enabled);
// PortInfo Set payload moving the port to `state` (Armed, Active), as a subnet manager
// brings a link up; every other field as read (speed, physical state: no change).
std::array<uint8_t, 64> EncodePortInfoState(const uint8_t* current, PortState state);
// SwitchInfo Set payload raising LinearFDBTop.
std::array<uint8_t, 64> EncodeSwitchInfoFdbTop(const uint8_t* current, unsigned top);

}  // namespace fabricctl::mad
