#include "probes/devices.h"

#include <doctest/doctest.h>

#include <filesystem>

namespace fabricctl::probes {
namespace {

DevicesReport Synthetic() {
  DevicesReport r;
  r.outcome = DevicesOutcome::kFound;
  DeviceReport d;
  d.name = "rxe0";
  d.node_type = "CA";
  d.node_guid = 0x0200c6fffe120001;
  PortReport p;
  p.port = 1;
  p.state = "ACTIVE";
  p.phys_state = "LINK_UP";
  p.link_layer = LinkLayer::kEthernet;
  p.width = "1x";
  p.speed = "EDR";
  p.rate_gbps = 25;
  p.active_mtu = 1024;
  p.gids.push_back({.entry = {.index = 1, .gid = ParseGid("::ffff:198.18.0.1").value(), .type = GidType::kRoceV2},
                    .netdev = "vethA"});
  d.ports.push_back(p);
  r.devices.push_back(d);
  r.netlink_ok = true;
  r.netlink_ports.push_back({.dev_index = 1,
                             .dev_name = "rxe0",
                             .port = 1,
                             .state = "ACTIVE",
                             .phys_state = "LINK_UP",
                             .netdev_index = 3,
                             .netdev = "vethA",
                             .netdev_state = "up"});
  r.netlink_ports.push_back({.dev_index = 2, .dev_name = "rxe1", .port = 1, .netdev = "vethB"});
  return r;
}

TEST_CASE("netlink netdevs are merged into the verbs ports of the same device and port") {
  DevicesReport r = Synthetic();
  MergeNetlink(r);
  CHECK(r.devices[0].ports[0].netdev == "vethA");
  CHECK(r.devices[0].ports[0].netdev_state == "up");
}

TEST_CASE("devices JSON is stable") {
  DevicesReport r = Synthetic();
  MergeNetlink(r);
  auto j = ToJson(r);
  CHECK(j["schema"] == "fabricctl.devices.v1");
  CHECK(j["outcome"] == "found");
  CHECK_FALSE(j.contains("reason"));
  const auto& dev = j["devices"][0];
  CHECK(dev["name"] == "rxe0");
  CHECK(dev["node_guid"] == "0x0200c6fffe120001");
  const auto& port = dev["ports"][0];
  CHECK(port["link_layer"] == "Ethernet");
  CHECK(port["netdev"] == "vethA");
  CHECK(port["netdev_state"] == "up");
  CHECK(port["gids"][0]["gid"] == "0000:0000:0000:0000:0000:ffff:c612:0001");
  CHECK(port["gids"][0]["type"] == "RoCE v2");
  CHECK(j["netlink"]["links"].size() == 2);
  CHECK(j["netlink"]["links"][1]["netdev"] == "vethB");
}

TEST_CASE("no RDMA devices is a typed outcome with a reason") {
  std::error_code ec;
  auto it = std::filesystem::directory_iterator("/sys/class/infiniband", ec);
  if (!ec && it != std::filesystem::directory_iterator()) return;  // this host has devices
  auto r = ListDevices();
  REQUIRE(r.has_value());
  CHECK(r->outcome == DevicesOutcome::kNoDevices);
  CHECK(r->devices.empty());
  CHECK(r->reason.starts_with("no RDMA devices"));
  auto j = ToJson(*r);
  CHECK(j["outcome"] == "no_devices");
  CHECK(j["reason"] == r->reason);
}

// Soft-RoCE in the VM (tools/vm/): rxe0 on vethA, rxe1 on vethB.
TEST_SUITE("vm_devices") {
  TEST_CASE("rxe devices are listed through verbs and netlink") {
    auto r = ListDevices();
    REQUIRE_MESSAGE(r.has_value(), r.error().Format());
    REQUIRE(r->outcome == DevicesOutcome::kFound);
    CHECK(r->netlink_ok);
    int seen = 0;
    for (const DeviceReport& d : r->devices) {
      if (d.name != "rxe0" && d.name != "rxe1") continue;
      ++seen;
      REQUIRE(d.ports.size() == 1);
      const PortReport& p = d.ports[0];
      CHECK(p.state == "ACTIVE");
      CHECK(p.link_layer == LinkLayer::kEthernet);
      CHECK(p.netdev == (d.name == "rxe0" ? "vethA" : "vethB"));
      CHECK(p.netdev_state == "up");
      std::vector<GidEntry> gids;
      for (const PortGid& g : p.gids) gids.push_back(g.entry);
      auto index = SelectGidIndex(gids, p.link_layer, -1, d.name);
      REQUIRE(index.has_value());
      for (const PortGid& g : p.gids)
        if (g.entry.index == *index) {
          CHECK(FormatGid(g.entry.gid) == (d.name == "rxe0" ? "0000:0000:0000:0000:0000:ffff:c612:0001"
                                                            : "0000:0000:0000:0000:0000:ffff:c612:0002"));
          CHECK(g.entry.type == GidType::kRoceV2);
        }
    }
    CHECK(seen == 2);
  }
}

}  // namespace
}  // namespace fabricctl::probes
