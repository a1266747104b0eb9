#include "routing/installed_routes.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>

#include "fabric/elapsed.h"
#include "fabric/mad/attributes.h"
#include "routing/route_fabric.h"

namespace fabricctl {
namespace {

using mad::Completion;
using mad::Outcome;

constexpr unsigned kBlock = 64;  // LFT entries per LinearForwardingTable block

std::string Failure(std::string_view what, const Completion& c) {
  if (c.outcome == Outcome::kTimeout) return fmt::format("{}: no answer", what);
  return fmt::format("{}: MAD status 0x{:04x}", what, c.status);
}

// The live LIDs of one subnet: switches' port 0 and endpoint ports. A LID two ports claim
// goes to the first; the identity check reports the duplicate.
std::vector<PortId> LidOwners(const Fabric& f, const Subnet& subnet) {
  std::vector<PortId> owner(1, kNone);
  auto add = [&](PortId p) {
    Lid lid = f.port(p).lid;
    if (lid == 0 || lid > kMaxUnicastLid) return;
    if (lid >= owner.size()) owner.resize(size_t{lid} + 1, kNone);
    if (owner[lid] == kNone) owner[lid] = p;
  };
  for (NodeId sw : subnet.switches) add(f.port_id(sw, 0));
  for (PortId p : subnet.endpoint_ports) add(p);
  return owner;
}

// Reads one subnet at a time into `out`; the working state of one ReadInstalledRoutes call.
class Reader {
 public:
  Reader(mad::Transport& transport, const DiscoveryResult& live, const InstalledRoutesOptions& options,
         InstalledRoutes& out)
      : live_(live), f_(live.fabric), options_(options), out_(out), rpc_(transport, options.rpc) {}

  Result<void> Run() {
    out_.routes.port_lid.assign(f_.num_port_slots(), 0);
    for (const Subnet& subnet : f_.subnets()) {
      if (subnet.switches.empty()) continue;
      SubnetRoutes r = PrepareSubnetRoutes(f_, subnet, LidOwners(f_, subnet));
      r.engine = "installed";
      r.reason = "read back from the switches";
      for (Lid lid = 1; lid < r.num_lids(); ++lid)
        if (r.lid_owner[lid] != kNone) out_.routes.port_lid[r.lid_owner[lid]] = lid;
      out_.routes.subnets.push_back(std::move(r));
    }
    incomplete_.assign(f_.num_nodes(), 0);
    // Posting every subnet first keeps the pipe full across subnets.
    for (SubnetRoutes& r : out_.routes.subnets)
      for (size_t i = 0; i < r.switches.size(); ++i) PostLft(r, i);
    for (SubnetRoutes& r : out_.routes.subnets) PostSl2Vl(r);
    auto run = rpc_.Run();
    for (NodeId n = 0; n < f_.num_nodes(); ++n)
      if (incomplete_[n]) out_.incomplete_nodes.push_back(n);
    out_.stats = rpc_.stats();
    return run;
  }

 private:
  std::string NodeWhere(NodeId n) const { return fmt::format("{} (0x{:016x})", f_.description(n), f_.node(n).guid); }
  // One problem per node: a switch that stopped answering would otherwise fill pages.
  void Problem(NodeId n, std::string message) {
    if (incomplete_[n]) return;
    incomplete_[n] = 1;
    out_.problems.push_back(fmt::format("{}: {}", NodeWhere(n), message));
  }
  mad::Request Smp(NodeId n, uint16_t attr, uint32_t mod) const {
    return mad::Request{.attr_id = attr, .attr_mod = mod, .path = live_.paths[n]};
  }

  // Blocks up to LinearFDBTop (what the switch says it holds), never past the live LIDs.
  void PostLft(SubnetRoutes& r, size_t i) {
    NodeId n = r.switches[i];
    size_t lids = r.num_lids();
    const mad::SwitchInfo& si = live_.switch_info[n];
    if (si.linear_fdb_cap != 0) lids = std::min<size_t>(lids, size_t{si.linear_fdb_top} + 1);
    const unsigned blocks = static_cast<unsigned>((lids + kBlock - 1) / kBlock);
    for (unsigned b = 0; b < blocks; ++b)
      rpc_.Post(Smp(n, mad::attr::kLinearForwardingTable, b), [this, &r, i, n, b, lids](const Completion& c) {
        if (c.outcome != Outcome::kOk) return Problem(n, Failure(fmt::format("LFT block {}", b), c));
        ++out_.blocks_read;
        StoreBlock(r, i, b, lids, c.reply->data());
      });
  }

  void StoreBlock(SubnetRoutes& r, size_t i, unsigned block, size_t lids, const uint8_t* data) {
    NodeId n = r.switches[i];
    const unsigned ports = f_.node(n).num_ports;
    for (unsigned e = 0; e < kBlock; ++e) {
      size_t lid = size_t{block} * kBlock + e;
      if (lid == 0 || lid >= lids) continue;
      uint8_t port = data[e];
      if (port != kNoRoute && port > ports) {
        Problem(n, fmt::format("LFT entry for LID {} names port {} of a {}-port switch", lid, port, ports));
        port = kNoRoute;
      }
      r.lft[i * r.num_lids() + lid] = port;
    }
  }

  // SL->VL tables of every (input, output) pair of cabled ports, when a switch port of
  // the subnet runs several VLs; endpoints' tables give the VL they inject on.
  void PostSl2Vl(SubnetRoutes& r) {
    if (options_.sl2vl == Sl2VlReading::kSkip) return;
    unsigned vls = 1, max_port = 0;
    for (NodeId sw : r.switches) {
      max_port = std::max<unsigned>(max_port, f_.node(sw).num_ports);
      for (unsigned p = 1; p <= f_.node(sw).num_ports; ++p)
        if (const auto& pi = live_.port_info[f_.port_id(sw, p)]; pi && f_.port(f_.port_id(sw, p)).peer != kNone)
          vls = std::max(vls, pi->operational_vls);
    }
    if (vls <= 1) return;
    r.num_vls = static_cast<uint8_t>(std::min(vls, 15u));
    r.sl2vl_stride = max_port + 1;
    r.sl2vl.assign(r.switches.size() * r.sl2vl_stride * r.sl2vl_stride * 16, 0);
    r.pair_sl.assign(f_.subnets()[r.subnet].endpoint_ports.size() * r.num_lids(), 0);
    for (size_t i = 0; i < r.switches.size(); ++i) {
      NodeId n = r.switches[i];
      for (unsigned in = 0; in <= f_.node(n).num_ports; ++in) {
        if (in != 0 && f_.port(f_.port_id(n, in)).peer == kNone) continue;
        for (unsigned out = 1; out <= f_.node(n).num_ports; ++out)
          if (out != in && f_.port(f_.port_id(n, out)).peer != kNone) PostSwitchTable(r, i, in, out);
      }
    }
    PostEndpointTable(r);
  }

  void PostSwitchTable(SubnetRoutes& r, size_t i, unsigned in, unsigned out) {
    NodeId n = r.switches[i];
    uint32_t mod = (in << 8) | out;
    rpc_.Post(Smp(n, mad::attr::kSlToVlTable, mod), [this, &r, i, n, in, out, mod](const Completion& c) {
      if (c.outcome != Outcome::kOk) return Problem(n, Failure(fmt::format("SL2VL table 0x{:04x}", mod), c));
      ++out_.sl2vl_tables_read;
      for (unsigned sl = 0; sl < 16; ++sl)
        r.sl2vl[((i * r.sl2vl_stride + in) * r.sl2vl_stride + out) * 16 + sl] = VlOf(c.reply->data(), sl);
    });
  }

  // The subnet keeps one injection table; the first endpoint that answers gives it, and an
  // endpoint whose table differs is a problem worth naming.
  void PostEndpointTable(SubnetRoutes& r) {
    for (PortId p : f_.subnets()[r.subnet].endpoint_ports) {
      NodeId n = f_.port(p).node;
      rpc_.Post(Smp(n, mad::attr::kSlToVlTable, 0), [this, &r, n](const Completion& c) {
        if (c.outcome != Outcome::kOk) return Problem(n, Failure("SL2VL table", c));
        ++out_.sl2vl_tables_read;
        std::array<uint8_t, 16> table;
        for (unsigned sl = 0; sl < 16; ++sl) table[sl] = VlOf(c.reply->data(), sl);
        if (!endpoint_table_read_) {
          r.endpoint_sl2vl = table;
          endpoint_table_read_ = true;
        } else if (table != r.endpoint_sl2vl) {
          Problem(n, "SL2VL table differs from other endpoints'; routes are judged with the first one read");
        }
      });
    }
  }

  static uint8_t VlOf(const uint8_t* data, unsigned sl) {
    uint8_t byte = data[sl / 2];
    return sl % 2 == 0 ? byte >> 4 : byte & 0xF;
  }

  const DiscoveryResult& live_;
  const Fabric& f_;
  const InstalledRoutesOptions& options_;
  InstalledRoutes& out_;
  mad::MadRpc rpc_;
  std::vector<uint8_t> incomplete_;  // by NodeId
  bool endpoint_table_read_ = false;
};

}  // namespace

Result<InstalledRoutes> ReadInstalledRoutes(mad::Transport& transport, const DiscoveryResult& live,
                                            const InstalledRoutesOptions& options) {
  auto start = std::chrono::steady_clock::now();
  InstalledRoutes out;
  Reader reader(transport, live, options, out);
  if (auto r = reader.Run(); !r) return std::unexpected(r.error());
  out.seconds = SecondsSince(start);
  return out;
}

}  // namespace fabricctl
