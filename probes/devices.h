#pragma once
// Local RDMA devices and ports, as `fabricctl devices` shows them: what libibverbs reports
// (node GUID, port state, LID, link layer, active width/speed, GIDs) merged with what RDMA
// netlink reports (each port's netdev for RoCE, that netdev's operational state). A host
// without RDMA devices is a typed outcome, not an error: the caller decides how to say it.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "probes/verbs_device.h"

namespace fabricctl::probes {

struct PortGid {
  GidEntry entry;
  std::string netdev;  // name of entry.netdev_ifindex, empty when none
};

struct PortReport {
  int port = 0;
  std::string state;       // "ACTIVE", "DOWN", ...
  std::string phys_state;  // "LINK_UP", "POLLING", ...
  LinkLayer link_layer = LinkLayer::kUnknown;
  std::uint16_t lid = 0;
  std::uint16_t sm_lid = 0;
  std::uint8_t lmc = 0;
  std::string width;     // "4x"; empty when the device reports none
  std::string speed;     // "HDR"; empty when unknown
  double rate_gbps = 0;  // data rate of width x speed
  int active_mtu = 0;    // bytes
  std::vector<PortGid> gids;
  // From RDMA netlink (empty when netlink did not answer or the port has no netdev).
  std::string netdev;
  std::string netdev_state;  // "up", "down", ... (IF_OPER_*)
};

struct DeviceReport {
  std::string name;
  std::string node_type;  // "CA", "RNIC", ...
  std::uint64_t node_guid = 0;
  std::uint64_t sys_image_guid = 0;
  std::string fw_ver;
  std::vector<PortReport> ports;
};

// One port as RDMA netlink (RDMA_NLDEV_CMD_PORT_GET) describes it.
struct NetlinkPort {
  std::uint32_t dev_index = 0;
  std::string dev_name;
  std::uint32_t port = 0;
  std::string state;               // "ACTIVE", ...
  std::string phys_state;          // "LINK_UP", ...
  std::uint32_t netdev_index = 0;  // 0: none
  std::string netdev;
  std::string netdev_state;
};

enum class DevicesOutcome : std::uint8_t { kFound, kNoDevices };

struct DevicesReport {
  DevicesOutcome outcome = DevicesOutcome::kNoDevices;
  std::string reason;  // for kNoDevices: why, in one line
  std::vector<DeviceReport> devices;
  bool netlink_ok = false;
  std::string netlink_error;  // why netlink gave nothing, when !netlink_ok
  std::vector<NetlinkPort> netlink_ports;
};

// All links RDMA netlink knows, with their netdev and its state (rtnetlink).
Result<std::vector<NetlinkPort>> QueryRdmaNetlink();

// Lists devices through libibverbs and RDMA netlink. Errors only for failures of a
// device that exists; no devices at all gives outcome kNoDevices with a reason.
Result<DevicesReport> ListDevices();

// Fills each verbs port's netdev fields from netlink ports of the same device and port.
void MergeNetlink(DevicesReport& report);

// Stable JSON ("schema": "fabricctl.devices.v1"), documented in docs/probes-verbs.md.
nlohmann::json ToJson(const DevicesReport& report);

std::string FormatGuid(std::uint64_t guid);  // "0x0002c90300a1b2c3"

}  // namespace fabricctl::probes
