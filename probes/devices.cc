#include "probes/devices.h"

#include <endian.h>
#include <fmt/format.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>
#include <rdma/rdma_netlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "fabric/link_rate.h"

namespace fabricctl::probes {

std::string FormatGuid(std::uint64_t guid) { return fmt::format("0x{:016x}", guid); }

namespace {

// ib_port_state and ib_port_phys_state as the kernel numbers them (netlink and verbs agree).
std::string PortStateName(unsigned s) {
  switch (s) {
    case 0:
      return "NOP";
    case 1:
      return "DOWN";
    case 2:
      return "INIT";
    case 3:
      return "ARMED";
    case 4:
      return "ACTIVE";
    case 5:
      return "ACTIVE_DEFER";
  }
  return fmt::format("state{}", s);
}

std::string PhysStateName(unsigned s) {
  switch (s) {
    case 1:
      return "SLEEP";
    case 2:
      return "POLLING";
    case 3:
      return "DISABLED";
    case 4:
      return "PORT_CONFIGURATION_TRAINING";
    case 5:
      return "LINK_UP";
    case 6:
      return "LINK_ERROR_RECOVERY";
    case 7:
      return "PHY_TEST";
  }
  return s == 0 ? "" : fmt::format("phys{}", s);
}

// ibv_port_attr.active_speed bits -> the model's speeds (rdma-core 44 has no _ex field).
LinkSpeed SpeedFromVerbs(unsigned v) {
  switch (v) {
    case 1:
      return LinkSpeed::kSDR;
    case 2:
      return LinkSpeed::kDDR;
    case 4:
      return LinkSpeed::kQDR;
    case 8:
      return LinkSpeed::kFDR10;
    case 16:
      return LinkSpeed::kFDR;
    case 32:
      return LinkSpeed::kEDR;
    case 64:
      return LinkSpeed::kHDR;
    case 128:
      return LinkSpeed::kNDR;
  }
  return LinkSpeed::kNone;
}

LinkWidth WidthFromVerbs(unsigned v) {
  switch (v) {
    case 1:
      return LinkWidth::k1x;
    case 2:
      return LinkWidth::k4x;
    case 4:
      return LinkWidth::k8x;
    case 8:
      return LinkWidth::k12x;
    case 16:
      return LinkWidth::k2x;
  }
  return LinkWidth::kNone;
}

struct NlSockDeleter {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
using NlSock = std::unique_ptr<nl_sock, NlSockDeleter>;

Result<NlSock> ConnectNetlink(int protocol, std::string_view what) {
  NlSock sock(nl_socket_alloc());
  if (!sock) return MakeError(fmt::format("{}: cannot allocate a netlink socket", what));
  if (int rc = nl_connect(sock.get(), protocol); rc < 0) {
    if (rc == -NLE_PROTO_MISMATCH) return MakeError(fmt::format("{}: not in this kernel (ib_core not loaded)", what));
    return MakeError(fmt::format("{}: {}", what, nl_geterror(rc)));
  }
  // The kernel answers at once; the bound only guards against a wedged kernel module.
  timeval tv{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(nl_socket_get_fd(sock.get()), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return sock;
}

struct DumpState {
  std::vector<NetlinkPort>* ports = nullptr;
  std::vector<std::pair<std::uint32_t, std::string>>* devices = nullptr;
};

int ParseNldev(nl_msg* msg, void* arg) {
  auto* st = static_cast<DumpState*>(arg);
  nlattr* tb[RDMA_NLDEV_ATTR_MAX] = {};
  if (nlmsg_parse(nlmsg_hdr(msg), 0, tb, RDMA_NLDEV_ATTR_MAX - 1, nullptr) < 0) return NL_SKIP;
  if (!tb[RDMA_NLDEV_ATTR_DEV_INDEX] || !tb[RDMA_NLDEV_ATTR_DEV_NAME]) return NL_SKIP;
  const std::uint32_t dev_index = nla_get_u32(tb[RDMA_NLDEV_ATTR_DEV_INDEX]);
  std::string dev_name = nla_get_string(tb[RDMA_NLDEV_ATTR_DEV_NAME]);
  if (st->devices) {
    st->devices->emplace_back(dev_index, std::move(dev_name));
    return NL_OK;
  }
  NetlinkPort p;
  p.dev_index = dev_index;
  p.dev_name = std::move(dev_name);
  if (tb[RDMA_NLDEV_ATTR_PORT_INDEX]) p.port = nla_get_u32(tb[RDMA_NLDEV_ATTR_PORT_INDEX]);
  if (tb[RDMA_NLDEV_ATTR_PORT_STATE]) p.state = PortStateName(nla_get_u8(tb[RDMA_NLDEV_ATTR_PORT_STATE]));
  if (tb[RDMA_NLDEV_ATTR_PORT_PHYS_STATE])
    p.phys_state = PhysStateName(nla_get_u8(tb[RDMA_NLDEV_ATTR_PORT_PHYS_STATE]));
  if (tb[RDMA_NLDEV_ATTR_NDEV_INDEX]) p.netdev_index = nla_get_u32(tb[RDMA_NLDEV_ATTR_NDEV_INDEX]);
  if (tb[RDMA_NLDEV_ATTR_NDEV_NAME]) p.netdev = nla_get_string(tb[RDMA_NLDEV_ATTR_NDEV_NAME]);
  st->ports->push_back(std::move(p));
  return NL_OK;
}

Result<void> Dump(nl_sock* sock, int cmd, const std::uint32_t* dev_index, DumpState& st) {
  nl_msg* msg = nlmsg_alloc_simple(RDMA_NL_GET_TYPE(RDMA_NL_NLDEV, cmd), NLM_F_DUMP);
  if (!msg) return MakeError("RDMA netlink: out of memory");
  if (dev_index) nla_put_u32(msg, RDMA_NLDEV_ATTR_DEV_INDEX, *dev_index);
  int rc = nl_send_auto(sock, msg);
  nlmsg_free(msg);
  if (rc < 0) return MakeError(fmt::format("RDMA netlink: send: {}", nl_geterror(rc)));
  nl_socket_modify_cb(sock, NL_CB_VALID, NL_CB_CUSTOM, ParseNldev, &st);
  rc = nl_recvmsgs_default(sock);
  if (rc < 0) return MakeError(fmt::format("RDMA netlink: {}", nl_geterror(rc)));
  return {};
}

std::string NetdevOperState(nl_sock* route, std::uint32_t ifindex) {
  rtnl_link* link = nullptr;
  if (rtnl_link_get_kernel(route, static_cast<int>(ifindex), nullptr, &link) < 0 || !link) return "";
  char buf[32];
  std::string s = rtnl_link_operstate2str(rtnl_link_get_operstate(link), buf, sizeof(buf));
  rtnl_link_put(link);
  return s;
}

}  // namespace

Result<std::vector<NetlinkPort>> QueryRdmaNetlink() {
  auto sock = ConnectNetlink(NETLINK_RDMA, "RDMA netlink");
  if (!sock) return std::unexpected(sock.error());
  std::vector<std::pair<std::uint32_t, std::string>> devices;
  DumpState dev_state{.devices = &devices};
  if (auto r = Dump(sock->get(), RDMA_NLDEV_CMD_GET, nullptr, dev_state); !r) return std::unexpected(r.error());
  std::vector<NetlinkPort> ports;
  // The kernel dumps ports one device at a time: PORT_GET needs the device index.
  for (const auto& [index, name] : devices) {
    DumpState port_state{.ports = &ports};
    if (auto r = Dump(sock->get(), RDMA_NLDEV_CMD_PORT_GET, &index, port_state); !r)
      return std::unexpected(Error{.message = r.error().message, .where = name});
  }
  if (auto route = ConnectNetlink(NETLINK_ROUTE, "rtnetlink")) {
    for (NetlinkPort& p : ports)
      if (p.netdev_index) p.netdev_state = NetdevOperState(route->get(), p.netdev_index);
  }
  return ports;
}

void MergeNetlink(DevicesReport& report) {
  for (DeviceReport& d : report.devices)
    for (PortReport& p : d.ports)
      for (const NetlinkPort& n : report.netlink_ports)
        if (n.dev_name == d.name && static_cast<int>(n.port) == p.port) {
          p.netdev = n.netdev;
          p.netdev_state = n.netdev_state;
        }
}

namespace {

Result<DeviceReport> DescribeDevice(ibv_device* device) {
  DeviceReport d;
  d.name = ibv_get_device_name(device);
  switch (device->node_type) {
    case IBV_NODE_CA:
      d.node_type = "CA";
      break;
    case IBV_NODE_SWITCH:
      d.node_type = "Switch";
      break;
    case IBV_NODE_ROUTER:
      d.node_type = "Router";
      break;
    case IBV_NODE_RNIC:
      d.node_type = "RNIC";
      break;
    default:
      d.node_type = ibv_node_type_str(device->node_type);
      break;
  }
  d.node_guid = be64toh(ibv_get_device_guid(device));
  ibv_context* ctx = ibv_open_device(device);
  if (!ctx)
    return std::unexpected(Error{.message = fmt::format("ibv_open_device: {}", std::strerror(errno)), .where = d.name});
  std::unique_ptr<ibv_context, int (*)(ibv_context*)> guard(ctx, ibv_close_device);
  ibv_device_attr attr{};
  if (int rc = ibv_query_device(ctx, &attr); rc != 0)
    return std::unexpected(Error{.message = fmt::format("ibv_query_device: {}", std::strerror(rc)), .where = d.name});
  d.sys_image_guid = be64toh(attr.sys_image_guid);
  d.fw_ver = attr.fw_ver;
  for (int port = 1; port <= attr.phys_port_cnt; ++port) {
    const std::string where = fmt::format("{}:{}", d.name, port);
    ibv_port_attr pa{};
    if (int rc = ibv_query_port(ctx, static_cast<uint8_t>(port), &pa); rc != 0)
      return std::unexpected(Error{.message = fmt::format("ibv_query_port: {}", std::strerror(rc)), .where = where});
    PortReport p;
    p.port = port;
    p.state = PortStateName(pa.state);  // upper case, as netlink and ibstat print it
    p.phys_state = PhysStateName(pa.phys_state);
    p.link_layer = pa.link_layer == IBV_LINK_LAYER_ETHERNET ? LinkLayer::kEthernet : LinkLayer::kInfiniBand;
    p.lid = pa.lid;
    p.sm_lid = pa.sm_lid;
    p.lmc = pa.lmc;
    const LinkWidth w = WidthFromVerbs(pa.active_width);
    const LinkSpeed s = SpeedFromVerbs(pa.active_speed);
    if (w != LinkWidth::kNone) p.width = ToString(w);
    if (s != LinkSpeed::kNone) p.speed = ToString(s);
    if (w != LinkWidth::kNone && s != LinkSpeed::kNone) p.rate_gbps = LinkDataGbps(w, s);
    p.active_mtu = 128 << static_cast<int>(pa.active_mtu);
    auto gids = QueryGids(ctx, port, where);
    if (!gids) return std::unexpected(gids.error());
    for (const GidEntry& g : *gids) {
      char name[IF_NAMESIZE] = {};
      PortGid pg{.entry = g};
      if (g.netdev_ifindex && ::if_indextoname(g.netdev_ifindex, name)) pg.netdev = name;
      p.gids.push_back(std::move(pg));
    }
    d.ports.push_back(std::move(p));
  }
  return d;
}

}  // namespace

Result<DevicesReport> ListDevices() {
  DevicesReport report;
  if (auto nl = QueryRdmaNetlink()) {
    report.netlink_ok = true;
    report.netlink_ports = std::move(*nl);
  } else {
    report.netlink_error = nl.error().where.empty() ? nl.error().message : nl.error().Format();
  }

  int count = 0;
  errno = 0;
  ibv_device** list = ibv_get_device_list(&count);
  if (list == nullptr) {
    report.outcome = DevicesOutcome::kNoDevices;
    report.reason = errno == ENOSYS
                        ? std::string("no RDMA devices (the kernel has no RDMA verbs support loaded)")
                        : fmt::format("no RDMA devices (libibverbs: {})", std::strerror(errno ? errno : ENODEV));
    return report;
  }
  std::unique_ptr<ibv_device*, void (*)(ibv_device**)> guard(list, ibv_free_device_list);
  for (int i = 0; i < count; ++i) {
    auto d = DescribeDevice(list[i]);
    if (!d) return std::unexpected(d.error());
    report.devices.push_back(std::move(*d));
  }
  if (report.devices.empty()) {
    report.outcome = DevicesOutcome::kNoDevices;
    report.reason = report.netlink_ok && !report.netlink_ports.empty()
                        ? "no RDMA devices usable through libibverbs (netlink lists links: is ib_uverbs loaded "
                          "and the provider library installed?)"
                        : "no RDMA devices (no RDMA driver is loaded; for Soft-RoCE: rdma link add rxe0 type rxe "
                          "netdev <netdev>)";
    return report;
  }
  report.outcome = DevicesOutcome::kFound;
  MergeNetlink(report);
  return report;
}

nlohmann::json ToJson(const DevicesReport& report) {
  using nlohmann::json;
  json devices = json::array();
  for (const DeviceReport& d : report.devices) {
    json ports = json::array();
    for (const PortReport& p : d.ports) {
      json gids = json::array();
      for (const PortGid& g : p.gids)
        gids.push_back({{"index", g.entry.index},
                        {"gid", FormatGid(g.entry.gid)},
                        {"type", GidTypeName(g.entry.type)},
                        {"netdev", g.netdev}});
      ports.push_back({{"port", p.port},
                       {"state", p.state},
                       {"phys_state", p.phys_state},
                       {"link_layer", LinkLayerName(p.link_layer)},
                       {"lid", p.lid},
                       {"sm_lid", p.sm_lid},
                       {"lmc", p.lmc},
                       {"width", p.width},
                       {"speed", p.speed},
                       {"rate_gbps", p.rate_gbps},
                       {"active_mtu", p.active_mtu},
                       {"netdev", p.netdev},
                       {"netdev_state", p.netdev_state},
                       {"gids", std::move(gids)}});
    }
    devices.push_back({{"name", d.name},
                       {"node_type", d.node_type},
                       {"node_guid", FormatGuid(d.node_guid)},
                       {"sys_image_guid", FormatGuid(d.sys_image_guid)},
                       {"fw_ver", d.fw_ver},
                       {"ports", std::move(ports)}});
  }
  json links = json::array();
  for (const NetlinkPort& n : report.netlink_ports)
    links.push_back({{"device", n.dev_name},
                     {"dev_index", n.dev_index},
                     {"port", n.port},
                     {"state", n.state},
                     {"phys_state", n.phys_state},
                     {"netdev", n.netdev},
                     {"netdev_index", n.netdev_index},
                     {"netdev_state", n.netdev_state}});
  json out = {{"schema", "fabricctl.devices.v1"},
              {"outcome", report.outcome == DevicesOutcome::kFound ? "found" : "no_devices"},
              {"devices", std::move(devices)},
              {"netlink", {{"ok", report.netlink_ok}, {"error", report.netlink_error}, {"links", std::move(links)}}}};
  if (report.outcome == DevicesOutcome::kNoDevices) out["reason"] = report.reason;
  return out;
}

}  // namespace fabricctl::probes
