#include "fabric/mad/attributes.h"

#include <infiniband/mad.h>

#include <cstring>
#include <string_view>

namespace fabricctl::mad {
namespace {

uint32_t Get(const uint8_t* data, MAD_FIELDS f) { return mad_get_field(const_cast<uint8_t*>(data), 0, f); }
uint64_t Get64(const uint8_t* data, MAD_FIELDS f) { return mad_get_field64(const_cast<uint8_t*>(data), 0, f); }

// PortInfo speed bits: LinkSpeed* (1 SDR, 2 DDR, 4 QDR) and LinkSpeedExt* (1 FDR, 2 EDR,
// 4 HDR, 8 NDR, 16 XDR), the latter valid when CapabilityMask.IsExtendedSpeedsSupported.
SpeedMask SpeedMaskOf(uint32_t base, uint32_t ext) {
  SpeedMask m = 0;
  if (base & 1) m |= SpeedBit(LinkSpeed::kSDR);
  if (base & 2) m |= SpeedBit(LinkSpeed::kDDR);
  if (base & 4) m |= SpeedBit(LinkSpeed::kQDR);
  if (ext & 1) m |= SpeedBit(LinkSpeed::kFDR);
  if (ext & 2) m |= SpeedBit(LinkSpeed::kEDR);
  if (ext & 4) m |= SpeedBit(LinkSpeed::kHDR);
  if (ext & 8) m |= SpeedBit(LinkSpeed::kNDR);
  if (ext & 16) m |= SpeedBit(LinkSpeed::kXDR);
  return m;
}

constexpr uint32_t kCapExtendedSpeeds = 1u << 14;

// Length of the well-formed UTF-8 sequence at `s` (1-4), 0 when it is not one.
size_t Utf8Length(std::string_view s) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char lead = byte(0);
  size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
  if (length == 0 || length > s.size() || (length == 2 && lead < 0xC2)) return 0;
  for (size_t i = 1; i < length; ++i)
    if ((byte(i) & 0xC0) != 0x80) return 0;
  return length;
}

}  // namespace

NodeInfo DecodeNodeInfo(const uint8_t* d) {
  NodeInfo n;
  n.type = static_cast<NodeType>(Get(d, IB_NODE_TYPE_F));
  n.num_ports = Get(d, IB_NODE_NPORTS_F);
  n.system_guid = Get64(d, IB_NODE_SYSTEM_GUID_F);
  n.node_guid = Get64(d, IB_NODE_GUID_F);
  n.port_guid = Get64(d, IB_NODE_PORT_GUID_F);
  n.device_id = Get(d, IB_NODE_DEVID_F);
  n.vendor_id = Get(d, IB_NODE_VENDORID_F);
  n.local_port = Get(d, IB_NODE_LOCAL_PORT_F);
  return n;
}

bool HasExtendedSpeeds(const uint8_t* d) { return (Get(d, IB_PORT_CAPMASK_F) & kCapExtendedSpeeds) != 0; }

PortInfo DecodePortInfo(const uint8_t* d, ExtendedSpeeds ext_mode) {
  PortInfo p;
  p.lid = Get(d, IB_PORT_LID_F);
  p.lmc = static_cast<uint8_t>(Get(d, IB_PORT_LMC_F));
  p.sm_lid = Get(d, IB_PORT_SMLID_F);
  p.local_port = Get(d, IB_PORT_LOCAL_PORT_F);
  p.state = static_cast<PortState>(Get(d, IB_PORT_STATE_F));
  p.phys_state = static_cast<PhysState>(Get(d, IB_PORT_PHYS_STATE_F));
  p.width_active = static_cast<LinkWidth>(Get(d, IB_PORT_LINK_WIDTH_ACTIVE_F));
  p.width_enabled = static_cast<WidthMask>(Get(d, IB_PORT_LINK_WIDTH_ENABLED_F));
  p.width_supported = static_cast<WidthMask>(Get(d, IB_PORT_LINK_WIDTH_SUPPORTED_F));
  bool ext =
      ext_mode == ExtendedSpeeds::kFromCapabilityMask ? HasExtendedSpeeds(d) : ext_mode == ExtendedSpeeds::kSupported;
  uint32_t ext_active = ext ? Get(d, IB_PORT_LINK_SPEED_EXT_ACTIVE_F) : 0;
  uint32_t ext_enabled = ext ? Get(d, IB_PORT_LINK_SPEED_EXT_ENABLED_F) : 0;
  uint32_t ext_supported = ext ? Get(d, IB_PORT_LINK_SPEED_EXT_SUPPORTED_F) : 0;
  // An extended speed, when active, overrides the base one.
  p.speed_active = FastestSpeed(SpeedMaskOf(ext_active ? 0 : Get(d, IB_PORT_LINK_SPEED_ACTIVE_F), ext_active));
  // Enabled/supported 15 and 31 are "set to supported" encodings, not masks of speeds.
  uint32_t base_enabled = Get(d, IB_PORT_LINK_SPEED_ENABLED_F);
  p.speed_supported = SpeedMaskOf(Get(d, IB_PORT_LINK_SPEED_SUPPORTED_F), ext_supported == 30 ? 0 : ext_supported);
  p.speed_enabled =
      SpeedMaskOf(base_enabled == 15 ? 0 : base_enabled, ext_enabled == 30 || ext_enabled == 31 ? 0 : ext_enabled);
  if (p.speed_enabled == 0) p.speed_enabled = p.speed_supported;
  unsigned vl_cap = Get(d, IB_PORT_VL_CAP_F);  // 1: VL0, 2: VL0-1, 3: VL0-3, 4: VL0-7, 5: VL0-14
  p.vl_cap = vl_cap == 0 ? 1 : (vl_cap >= 5 ? 15 : 1u << (vl_cap - 1));
  unsigned op = Get(d, IB_PORT_OPER_VLS_F);
  p.operational_vls = op == 0 ? 1 : (op >= 5 ? 15 : 1u << (op - 1));
  p.capability_mask = Get(d, IB_PORT_CAPMASK_F);
  return p;
}

SwitchInfo DecodeSwitchInfo(const uint8_t* d) {
  SwitchInfo s;
  s.linear_fdb_cap = Get(d, IB_SW_LINEAR_FDB_CAP_F);
  s.linear_fdb_top = Get(d, IB_SW_LINEAR_FDB_TOP_F);
  s.enhanced_port0 = Get(d, IB_SW_ENHANCED_PORT0_F) != 0;
  return s;
}

SmInfo DecodeSmInfo(const uint8_t* d) {
  SmInfo s;
  s.guid = Get64(d, IB_SMINFO_GUID_F);
  s.activity_count = Get(d, IB_SMINFO_ACT_F);
  s.priority = static_cast<uint8_t>(Get(d, IB_SMINFO_PRIO_F));
  s.state = static_cast<uint8_t>(Get(d, IB_SMINFO_STATE_F));
  return s;
}

std::string DecodeNodeDescription(const uint8_t* d) {
  std::string s(reinterpret_cast<const char*>(d), strnlen(reinterpret_cast<const char*>(d), 64));
  // Control bytes and broken UTF-8 (a description is shown, and written into JSON) become '?'.
  for (size_t i = 0; i < s.size();) {
    size_t length = Utf8Length(std::string_view(s).substr(i));
    if (length == 0 || static_cast<unsigned char>(s[i]) < 0x20 || s[i] == 0x7f) {
      s[i++] = '?';
      continue;
    }
    i += length;
  }
  return s;
}

std::array<uint8_t, 64> EncodePortInfoLid(const uint8_t* current, uint32_t lid, uint8_t lmc) {
  std::array<uint8_t, 64> out;
  std::memcpy(out.data(), current, out.size());
  mad_set_field(out.data(), 0, IB_PORT_LID_F, lid);
  mad_set_field(out.data(), 0, IB_PORT_LMC_F, lmc);
  mad_set_field(out.data(), 0, IB_PORT_STATE_F, 0);               // no state change
  mad_set_field(out.data(), 0, IB_PORT_PHYS_STATE_F, 0);          // no change
  mad_set_field(out.data(), 0, IB_PORT_LINK_SPEED_ENABLED_F, 0);  // no change
  return out;
}

std::array<uint8_t, 64> EncodePortInfoWidthEnabled(const uint8_t* current, WidthMask enabled) {
  std::array<uint8_t, 64> out;
  std::memcpy(out.data(), current, out.size());
  mad_set_field(out.data(), 0, IB_PORT_LINK_WIDTH_ENABLED_F, enabled);
  mad_set_field(out.data(), 0, IB_PORT_STATE_F, 0);
  mad_set_field(out.data(), 0, IB_PORT_PHYS_STATE_F, 0);
  mad_set_field(out.data(), 0, IB_PORT_LINK_SPEED_ENABLED_F, 0);
  return out;
}

std::array<uint8_t, 64> EncodePortInfoState(const uint8_t* current, PortState state) {
  std::array<uint8_t, 64> out;
  std::memcpy(out.data(), current, out.size());
  mad_set_field(out.data(), 0, IB_PORT_STATE_F, static_cast<uint32_t>(state));
  mad_set_field(out.data(), 0, IB_PORT_PHYS_STATE_F, 0);
  mad_set_field(out.data(), 0, IB_PORT_LINK_SPEED_ENABLED_F, 0);
  return out;
}

std::array<uint8_t, 64> EncodeSwitchInfoFdbTop(const uint8_t* current, unsigned top) {
  std::array<uint8_t, 64> out;
  std::memcpy(out.data(), current, out.size());
  mad_set_field(out.data(), 0, IB_SW_LINEAR_FDB_TOP_F, top);
  return out;
}

}  // namespace fabricctl::mad
