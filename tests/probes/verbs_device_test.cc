#include "probes/verbs_device.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <vector>

namespace fabricctl::probes {
namespace {

Gid G(const char* text) {
  auto g = ParseGid(text);
  REQUIRE(g.has_value());
  return *g;
}

// The GID table rdma_rxe builds for a netdev with an IPv6 link-local and an IPv4 address.
std::vector<GidEntry> RxeTable() {
  return {
      {.index = 0, .gid = G("fe80::200:c6ff:fe12:1"), .type = GidType::kRoceV1, .netdev_ifindex = 3},
      {.index = 1, .gid = G("fe80::200:c6ff:fe12:1"), .type = GidType::kRoceV2, .netdev_ifindex = 3},
      {.index = 2, .gid = G("::ffff:198.18.0.1"), .type = GidType::kRoceV1, .netdev_ifindex = 3},
      {.index = 3, .gid = G("::ffff:198.18.0.1"), .type = GidType::kRoceV2, .netdev_ifindex = 3},
  };
}

TEST_CASE("GIDs format like sysfs and parse back") {
  const Gid g = G("::ffff:198.18.0.1");
  CHECK(FormatGid(g) == "0000:0000:0000:0000:0000:ffff:c612:0001");
  CHECK(G(FormatGid(g).c_str()) == g);
  CHECK(IsIpv4MappedGid(g));
  CHECK_FALSE(IsLinkLocalGid(g));
  CHECK(IsLinkLocalGid(G("fe80::1")));
  CHECK_FALSE(IsIpv4MappedGid(G("fe80::1")));
  CHECK(IsZeroGid(Gid{}));
  auto bad = ParseGid("fe80::zz");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message == "'fe80::zz' is not a GID (expected 8 groups of 4 hex digits, e.g. fe80::1)");
}

TEST_CASE("RoCE default GID is the RoCE v2 IPv4-mapped one") {
  auto table = RxeTable();
  auto idx = SelectGidIndex(table, LinkLayer::kEthernet, -1, "rxe0:1");
  REQUIRE(idx.has_value());
  CHECK(*idx == 3);

  // Without an IPv4 address: a global v2 GID beats a link-local v2 one.
  std::vector<GidEntry> v6 = {
      {.index = 0, .gid = G("fe80::1"), .type = GidType::kRoceV1},
      {.index = 1, .gid = G("fe80::1"), .type = GidType::kRoceV2},
      {.index = 4, .gid = G("2001:db8::1"), .type = GidType::kRoceV2},
  };
  CHECK(SelectGidIndex(v6, LinkLayer::kEthernet, -1, "x").value() == 4);
  // Only RoCE v1: the IPv4-mapped v1 entry.
  std::vector<GidEntry> v1 = {table[0], table[2]};
  CHECK(SelectGidIndex(v1, LinkLayer::kEthernet, -1, "x").value() == 2);
}

TEST_CASE("an explicit GID index must exist") {
  auto table = RxeTable();
  CHECK(SelectGidIndex(table, LinkLayer::kEthernet, 2, "rxe0:1").value() == 2);
  auto missing = SelectGidIndex(table, LinkLayer::kEthernet, 7, "rxe0:1");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().where == "rxe0:1");
  CHECK(missing.error().message.starts_with("GID index 7 is not set (GIDs present: [0] fe80:0000"));
}

TEST_CASE("InfiniBand uses GID index 0; a port without usable GIDs is an error") {
  std::vector<GidEntry> ib = {{.index = 0, .gid = G("fe80::2:c903:a1:b2c3"), .type = GidType::kIb}};
  CHECK(SelectGidIndex(ib, LinkLayer::kInfiniBand, -1, "mlx5_0:1").value() == 0);
  auto none = SelectGidIndex({}, LinkLayer::kEthernet, -1, "rxe0:1");
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().message ==
        "no RoCE GID on this port; give the netdev an IP address or pass --gid-index (the GID table is empty)");
}

bool HostHasRdmaDevices() {
  std::error_code ec;
  auto it = std::filesystem::directory_iterator("/sys/class/infiniband", ec);
  return !ec && it != std::filesystem::directory_iterator();
}

TEST_CASE("opening a device on a host without RDMA says so") {
  if (HostHasRdmaDevices()) return;  // covered by the vm suite instead
  auto dev = VerbsDevice::Open({});
  REQUIRE_FALSE(dev.has_value());
  CHECK(dev.error().message.starts_with("no RDMA devices"));
}

}  // namespace
}  // namespace fabricctl::probes
