#include "routing/lid_assign.h"

#include <fmt/format.h>

#include <algorithm>

namespace fabricctl {

namespace {

// A port with LMC m answers to the 2^m LIDs of the aligned block that holds its LID (a
// port ignores the low m bits of a destination LID). Routes are computed for one LID per
// port (LMC 0), which the notes say; a LID of another port inside such a block is a fault
// of the fabric's configuration and an error. Returns the LIDs the blocks hold, which no
// other port may be given.
Result<std::vector<bool>> CheckLmcRanges(const Fabric& fabric, const Subnet& subnet, const std::vector<PortId>& order,
                                         const std::vector<PortId>& owner, std::vector<std::string>& notes) {
  std::vector<bool> in_range;
  size_t with_lmc = 0;
  PortId first = kNone;
  for (PortId p : order) {
    const Port& port = fabric.port(p);
    if (port.lmc == 0 || port.lid == 0) continue;
    if (with_lmc++ == 0) first = p;
    const uint64_t size = uint64_t{1} << port.lmc;
    const uint64_t begin = port.lid & ~(size - 1), end = begin + size;
    if (in_range.size() < end) in_range.resize(end, false);
    for (uint64_t lid = begin; lid < end; ++lid) {
      if (lid != port.lid) in_range[lid] = true;
      if (lid < owner.size() && owner[lid] != kNone && owner[lid] != p)
        return MakeError(fmt::format("subnet {}: LID {} of {} lies in the LMC range {}..{} of {}", subnet.name, lid,
                                     fabric.PortName(owner[lid]), begin, end - 1, fabric.PortName(p)));
    }
  }
  if (with_lmc > 0)
    notes.push_back(
        fmt::format("subnet {}: {} port{} with an LMC above 0 (first {}, LMC {}): routes are computed "
                    "for one LID per port, so the other LIDs of each LMC block get no LFT entries",
                    subnet.name, with_lmc, with_lmc == 1 ? "" : "s", fabric.PortName(first), fabric.port(first).lmc));
  return in_range;
}

}  // namespace

Result<LidAssignment> AssignLids(const Fabric& fabric) {
  LidAssignment out;
  out.port_lid.assign(fabric.num_port_slots(), 0);
  out.lid_owner.resize(fabric.subnets().size());
  for (const Subnet& subnet : fabric.subnets()) {
    // Ports addressed in this subnet, in assignment order.
    std::vector<PortId> order;
    order.reserve(subnet.switches.size() + subnet.endpoint_ports.size());
    for (NodeId sw : subnet.switches) {
      order.push_back(fabric.port_id(sw, 0));
      for (const Adjacency& a : fabric.neighbors(sw))
        if (!fabric.is_switch(a.peer_node)) order.push_back(a.peer_port);
    }
    for (PortId p : subnet.endpoint_ports) {
      PortId peer = fabric.port(p).peer;
      if (peer == kNone || !fabric.is_switch(fabric.port(peer).node)) order.push_back(p);
    }

    std::vector<PortId>& owner = out.lid_owner[subnet.id];
    owner.reserve(order.size() + 1);
    owner.assign(1, kNone);
    // Every switch holds one LFT entry per LID up to the highest, so a LID beyond both
    // InfiniBand's 16-bit field and any number this subnet could use (twice its ports)
    // would cost gigabytes for nothing: it is refused.
    const uint64_t highest = std::max<uint64_t>(0xFFFF, 2 * uint64_t{order.size()});
    auto claim = [&](Lid lid, PortId p) -> Result<void> {
      if (lid >= owner.size()) owner.resize(size_t{lid} + 1, kNone);
      if (owner[lid] != kNone && owner[lid] != p)
        return MakeError(fmt::format("subnet {}: LID {} is carried by both {} and {}", subnet.name, lid,
                                     fabric.PortName(owner[lid]), fabric.PortName(p)));
      owner[lid] = p;
      out.port_lid[p] = lid;
      return {};
    };
    for (PortId p : order) {
      const Lid lid = fabric.port(p).lid;
      if (lid > highest)
        return MakeError(
            fmt::format("subnet {}: {} has LID {}, beyond InfiniBand's 16-bit LIDs and twice the {} ports "
                        "this subnet addresses; set it to 0 to have one assigned",
                        subnet.name, fabric.PortName(p), lid, order.size()));
      if (lid != 0)
        if (auto ok = claim(lid, p); !ok) return std::unexpected(ok.error());
    }
    auto in_lmc_range = CheckLmcRanges(fabric, subnet, order, owner, out.notes);
    if (!in_lmc_range) return std::unexpected(in_lmc_range.error());
    auto taken = [&](Lid lid) {
      return (lid < owner.size() && owner[lid] != kNone) || (lid < in_lmc_range->size() && (*in_lmc_range)[lid]);
    };
    Lid next = 1;
    for (PortId p : order) {
      if (out.port_lid[p] != 0) continue;
      while (taken(next)) ++next;
      if (auto ok = claim(next, p); !ok) return std::unexpected(ok.error());
    }
    Lid max_lid = static_cast<Lid>(owner.size() - 1);
    if (max_lid > kMaxUnicastLid)
      out.notes.push_back(
          fmt::format("subnet {} uses LIDs up to {} (> 0xBFFF): routable here, but not deployable "
                      "to InfiniBand hardware as one subnet",
                      subnet.name, max_lid));
  }
  return out;
}

}  // namespace fabricctl
