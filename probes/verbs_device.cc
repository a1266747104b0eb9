#include "probes/verbs_device.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace fabricctl::probes {

std::string_view GidTypeName(GidType t) {
  switch (t) {
    case GidType::kIb:
      return "IB";
    case GidType::kRoceV1:
      return "RoCE v1";
    case GidType::kRoceV2:
      return "RoCE v2";
  }
  return "?";
}

std::string_view LinkLayerName(LinkLayer l) {
  switch (l) {
    case LinkLayer::kInfiniBand:
      return "InfiniBand";
    case LinkLayer::kEthernet:
      return "Ethernet";
    case LinkLayer::kUnknown:
      break;
  }
  return "unknown";
}

std::string FormatGid(const Gid& gid) {
  std::string out;
  out.reserve(39);
  for (int i = 0; i < 16; i += 2) {
    if (i) out += ':';
    out += fmt::format("{:02x}{:02x}", gid[i], gid[i + 1]);
  }
  return out;
}

Result<Gid> ParseGid(std::string_view text) {
  // inet_pton accepts both the full colon form and "::ffff:1.2.3.4"; it needs a C string.
  std::string copy(text);
  Gid gid{};
  if (copy.empty() || copy.size() > 45 || ::inet_pton(AF_INET6, copy.c_str(), gid.data()) != 1)
    return MakeError(fmt::format("'{}' is not a GID (expected 8 groups of 4 hex digits, e.g. fe80::1)", text));
  return gid;
}

bool IsZeroGid(const Gid& gid) {
  for (auto b : gid)
    if (b) return false;
  return true;
}

bool IsIpv4MappedGid(const Gid& gid) {
  for (int i = 0; i < 10; ++i)
    if (gid[i]) return false;
  return gid[10] == 0xff && gid[11] == 0xff;
}

bool IsLinkLocalGid(const Gid& gid) {
  if (gid[0] != 0xfe || gid[1] != 0x80) return false;
  for (int i = 2; i < 8; ++i)
    if (gid[i]) return false;
  return true;
}

namespace {

std::string ListGids(std::span<const GidEntry> gids) {
  if (gids.empty()) return "the GID table is empty";
  std::string out = "GIDs present:";
  for (const GidEntry& g : gids) out += fmt::format(" [{}] {} {};", g.index, FormatGid(g.gid), GidTypeName(g.type));
  out.pop_back();
  return out;
}

}  // namespace

Result<int> SelectGidIndex(std::span<const GidEntry> gids, LinkLayer link_layer, int requested,
                           std::string_view where) {
  auto fail = [&](std::string message) {
    return std::unexpected(Error{.message = std::move(message), .where = std::string(where)});
  };
  if (requested >= 0) {
    for (const GidEntry& g : gids)
      if (g.index == requested && !IsZeroGid(g.gid)) return requested;
    return fail(fmt::format("GID index {} is not set ({})", requested, ListGids(gids)));
  }
  if (link_layer != LinkLayer::kEthernet) {
    for (const GidEntry& g : gids)
      if (g.index == 0 && !IsZeroGid(g.gid)) return 0;
    return fail(fmt::format("port has no GID at index 0 ({})", ListGids(gids)));
  }
  // RoCE: rank every usable entry and keep the best; ties go to the lowest index.
  auto rank = [](const GidEntry& g) {
    if (IsZeroGid(g.gid) || g.type == GidType::kIb) return 0;
    const bool v2 = g.type == GidType::kRoceV2;
    if (v2 && IsIpv4MappedGid(g.gid)) return 6;
    if (v2 && !IsLinkLocalGid(g.gid)) return 5;
    if (v2) return 4;
    if (IsIpv4MappedGid(g.gid)) return 3;
    if (!IsLinkLocalGid(g.gid)) return 2;
    return 1;
  };
  int best = -1, best_rank = 0;
  for (const GidEntry& g : gids) {
    const int r = rank(g);
    if (r > best_rank || (r == best_rank && r > 0 && g.index < best)) {
      best = g.index;
      best_rank = r;
    }
  }
  if (best < 0)
    return fail(fmt::format("no RoCE GID on this port; give the netdev an IP address or pass --gid-index ({})",
                            ListGids(gids)));
  return best;
}

Result<std::vector<GidEntry>> QueryGids(ibv_context* context, int port, std::string_view where) {
  ibv_port_attr attr{};
  if (int rc = ibv_query_port(context, static_cast<uint8_t>(port), &attr); rc != 0)
    return std::unexpected(
        Error{.message = fmt::format("ibv_query_port: {}", std::strerror(rc)), .where = std::string(where)});
  std::vector<GidEntry> out;
  // Entry by entry rather than ibv_query_gid_table: the table call wants one buffer for all
  // ports, and a single port's table is what the caller asked for.
  for (int i = 0; i < attr.gid_tbl_len; ++i) {
    ibv_gid_entry e{};
    if (ibv_query_gid_ex(context, static_cast<uint32_t>(port), static_cast<uint32_t>(i), &e, 0) != 0) continue;
    GidEntry g;
    g.index = i;
    std::memcpy(g.gid.data(), e.gid.raw, 16);
    g.type = e.gid_type == IBV_GID_TYPE_ROCE_V2   ? GidType::kRoceV2
             : e.gid_type == IBV_GID_TYPE_ROCE_V1 ? GidType::kRoceV1
                                                  : GidType::kIb;
    g.netdev_ifindex = e.ndev_ifindex;
    if (!IsZeroGid(g.gid)) out.push_back(g);
  }
  return out;
}

Result<std::unique_ptr<VerbsDevice>> VerbsDevice::Open(const VerbsDeviceOptions& options) {
  int count = 0;
  errno = 0;
  ibv_device** list = ibv_get_device_list(&count);
  if (list == nullptr)
    return MakeError(fmt::format("no RDMA devices: ibv_get_device_list: {}", std::strerror(errno ? errno : ENODEV)));
  struct ListGuard {
    ibv_device** l;
    ~ListGuard() { ibv_free_device_list(l); }
  } guard{list};
  if (count == 0) return MakeError("no RDMA devices (is an RDMA driver loaded? try `rdma link` or `ibv_devices`)");

  ibv_device* chosen = nullptr;
  std::string names;
  for (int i = 0; i < count; ++i) {
    const char* n = ibv_get_device_name(list[i]);
    names += (names.empty() ? "" : ", ") + std::string(n);
    if (options.device.empty() ? i == 0 : options.device == n) chosen = list[i];
  }
  if (chosen == nullptr)
    return MakeError(fmt::format("RDMA device '{}' not found (devices: {})", options.device, names));

  std::unique_ptr<VerbsDevice> dev(new VerbsDevice());
  dev->name_ = ibv_get_device_name(chosen);
  dev->port_ = options.port;
  dev->context_ = ibv_open_device(chosen);
  if (dev->context_ == nullptr)
    return std::unexpected(
        Error{.message = fmt::format("ibv_open_device: {}", std::strerror(errno)), .where = dev->name_});

  ibv_device_attr dattr{};
  if (int rc = ibv_query_device(dev->context_, &dattr); rc != 0)
    return std::unexpected(
        Error{.message = fmt::format("ibv_query_device: {}", std::strerror(rc)), .where = dev->name_});
  if (options.port < 1 || options.port > dattr.phys_port_cnt)
    return std::unexpected(Error{.message = fmt::format("port {} does not exist (the device has ports 1..{})",
                                                        options.port, dattr.phys_port_cnt),
                                 .where = dev->name_});
  ibv_port_attr pattr{};
  if (int rc = ibv_query_port(dev->context_, static_cast<uint8_t>(options.port), &pattr); rc != 0)
    return std::unexpected(
        Error{.message = fmt::format("ibv_query_port: {}", std::strerror(rc)), .where = dev->where()});
  if (pattr.state != IBV_PORT_ACTIVE)
    return std::unexpected(Error{.message = fmt::format("port is {}, not ACTIVE", ibv_port_state_str(pattr.state)),
                                 .where = dev->where()});
  dev->link_layer_ = pattr.link_layer == IBV_LINK_LAYER_ETHERNET     ? LinkLayer::kEthernet
                     : pattr.link_layer == IBV_LINK_LAYER_INFINIBAND ? LinkLayer::kInfiniBand
                                                                     : LinkLayer::kUnknown;
  // Before link_layer was reported, ports were InfiniBand.
  if (pattr.link_layer == IBV_LINK_LAYER_UNSPECIFIED) dev->link_layer_ = LinkLayer::kInfiniBand;
  dev->lid_ = pattr.lid;
  dev->active_mtu_ = pattr.active_mtu;

  auto gids = QueryGids(dev->context_, options.port, dev->where());
  if (!gids) return std::unexpected(gids.error());
  auto index = SelectGidIndex(*gids, dev->link_layer_, options.gid_index, dev->where());
  if (!index) return std::unexpected(index.error());
  dev->gid_index_ = *index;
  for (const GidEntry& g : *gids)
    if (g.index == *index) {
      dev->gid_ = g.gid;
      dev->gid_type_ = g.type;
    }

  dev->pd_ = ibv_alloc_pd(dev->context_);
  if (dev->pd_ == nullptr)
    return std::unexpected(
        Error{.message = fmt::format("ibv_alloc_pd: {}", std::strerror(errno)), .where = dev->name_});
  return dev;
}

VerbsDevice::~VerbsDevice() {
  if (pd_) ibv_dealloc_pd(pd_);
  if (context_) ibv_close_device(context_);
}

std::string VerbsDevice::where() const { return fmt::format("{}:{}", name_, port_); }

}  // namespace fabricctl::probes
