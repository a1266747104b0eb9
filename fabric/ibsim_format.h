#pragma once
// The topology file ibsim loads (`ibsim -s FILE`), so any fabric can run in the simulator,
// and the rules ibsim (Debian ibsim-utils 0.10) applies to such files: how it enables and
// trains link widths and speeds, and which GUIDs the simulated nodes get. The
// ibnetdiscover reader uses the same rules for ibsim's simpler records. docs/formats.md,
// "ibsim topology", describes the file and every difference from the model.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "fabric/fabric_builder.h"

namespace fabricctl {

// What ibsim enables on one port, in the model's mask encoding.
struct IbsimPortRate {
  WidthMask widths = WidthBit(LinkWidth::k4x);   // ibsim's default: 4x only
  SpeedMask speeds = SpeedBit(LinkSpeed::kSDR);  // ibsim's default: SDR only
  bool operator==(const IbsimPortRate&) const = default;
};

// The masks ibsim enables for a port line whose comment ends in `lid N 4xHDR`: a 4x port
// also enables 1x, 12x enables 1x and 4x; a speed enables every slower one (FDR10 is
// enabled with FDR and faster, as ibsim does). kNone leaves ibsim's default.
IbsimPortRate IbsimRateFromComment(LinkWidth width, LinkSpeed speed);
// ibsim's port options: w= is the PortInfo width mask, s= the speed mask (SDR 1, DDR 2,
// QDR 4; 0 means QDR), e= the extended speed mask (FDR 1, EDR 2, HDR 4; ibsim 0.10 accepts
// 0..7, newer ones NDR 8). Each returns nullopt for a value ibsim rejects.
std::optional<WidthMask> IbsimWidthOption(uint64_t w);
std::optional<SpeedMask> IbsimSpeedOption(uint64_t s);
std::optional<SpeedMask> IbsimExtSpeedOption(uint64_t e);
// What two cabled ports train to in ibsim: the widest common width and the fastest common
// speed. nullopt when they share none (ibsim refuses to start).
std::optional<LinkRate> IbsimNegotiate(const IbsimPortRate& a, const IbsimPortRate& b);

// The fastest speed ibsim 0.10 simulates is HDR: NDR and XDR are written as HDR; an
// unknown speed is written as SDR and an unknown width as 4x (ibsim's defaults).
LinkSpeed IbsimSpeed(LinkSpeed speed);
LinkWidth IbsimWidth(LinkWidth width);

// Node GUIDs in the written file, by NodeId: the model's GUID, or for a GUID-less node a
// synthetic one (switches from 0x200000, CAs from 0x100000, routers from 0x300000 upward,
// skipping GUIDs in use), so every node has a distinct GUID in ibsim.
std::vector<uint64_t> IbsimNodeGuids(const Fabric& fabric);

// The file: ibnetdiscover's layout with explicit vendid/devid/sysimgguid and GUID lines
// before every record, LIDs and width+speed in the port comments, ibsim port options on
// router ports. Nodes in NodeId order.
std::string WriteIbsimTopology(const Fabric& fabric);

// Command-line arguments that make ibsim's tables big enough for this fabric: `-N nodes
// -S switches -P ports` when the defaults (2,048 / 256 / 13,312) are too small, and
// `-L` when a LID exceeds the default linear forwarding table (30,720 LIDs). Empty for
// fabrics that fit the defaults.
std::vector<std::string> IbsimSizeArgs(const Fabric& fabric);

// What ibnetdiscover reports once ibsim runs WriteIbsimTopology(fabric): GUIDs as
// IbsimNodeGuids (CA and router port p: node GUID + p), speeds through IbsimSpeed and
// IbsimWidth and then trained as ibsim does, system GUID = node GUID where the model has
// none, descriptions cut to 63 bytes with '"' turned into '\'', router LIDs and LMCs 0,
// no labels, enabled/supported = active. Node order is the model's.
Result<Fabric> IbsimExpectedFabric(const Fabric& fabric);

}  // namespace fabricctl
