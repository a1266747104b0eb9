// fabricctl devices: local RDMA devices and ports through libibverbs and RDMA netlink.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "probes/devices.h"

namespace fabricctl::cli {

namespace {

struct DevicesOptions {
  bool json = false;
};

void PrintText(const probes::DevicesReport& r) {
  for (const probes::DeviceReport& d : r.devices) {
    std::cout << fmt::format("{}  {}  node_guid {}  sys_image_guid {}  fw {}\n", d.name, d.node_type,
                             probes::FormatGuid(d.node_guid), probes::FormatGuid(d.sys_image_guid),
                             d.fw_ver.empty() ? "-" : d.fw_ver);
    for (const probes::PortReport& p : d.ports) {
      std::string rate =
          p.width.empty() && p.speed.empty() ? "-" : fmt::format("{}{} ({:g} Gb/s)", p.width, p.speed, p.rate_gbps);
      std::cout << fmt::format("  port {}: {} {}  link_layer {}  lid {}  sm_lid {}  rate {}  mtu {}\n", p.port, p.state,
                               p.phys_state, probes::LinkLayerName(p.link_layer), p.lid, p.sm_lid, rate, p.active_mtu);
      if (!p.netdev.empty())
        std::cout << fmt::format("    netdev {} ({})\n", p.netdev, p.netdev_state.empty() ? "?" : p.netdev_state);
      for (const probes::PortGid& g : p.gids)
        std::cout << fmt::format("    gid[{}] {}  {}{}\n", g.entry.index, probes::FormatGid(g.entry.gid),
                                 probes::GidTypeName(g.entry.type), g.netdev.empty() ? "" : "  " + g.netdev);
    }
  }
  if (!r.netlink_ok) std::cout << fmt::format("netlink: {}\n", r.netlink_error);
}

int Run(const DevicesOptions& o) {
  auto report = probes::ListDevices();
  if (!report) return ReportError(report.error());
  if (o.json) PrintJson(probes::ToJson(*report));
  if (report->outcome == probes::DevicesOutcome::kNoDevices) {
    std::cerr << "fabricctl: " << report->reason << "\n";
    return kExitFindings;
  }
  if (!o.json) PrintText(*report);
  return kExitOk;
}

}  // namespace

void AddDevices(CLI::App& app, Runner& run) {
  auto opts = std::make_shared<DevicesOptions>();
  CLI::App* cmd =
      app.add_subcommand("devices",
                         "List local RDMA devices and ports: libibverbs (node GUID, port state, LID, link layer,\n"
                         "active width/speed, GIDs) and RDMA netlink (netdev of RoCE ports and its state).\n"
                         "Exits 1 with a plain message when the host has no RDMA device.");
  cmd->add_flag("--json", opts->json, "Machine output (schema fabricctl.devices.v1)");
  cmd->callback([&run, opts] { run = [opts] { return Run(*opts); }; });
}

}  // namespace fabricctl::cli
