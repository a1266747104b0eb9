#pragma once
// One opened RDMA device port as a probe uses it: device chosen by name (or the first
// one), a port, and a GID index. RoCE addresses by GID, so the index matters: by default
// the RoCE v2 GID whose address is an IPv4-mapped one (what perftest users pass with -x),
// on InfiniBand index 0. The selection logic is a pure function so tests run it on
// synthetic GID tables without hardware.
#include <infiniband/verbs.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/error.h"

namespace fabricctl::probes {

using Gid = std::array<std::uint8_t, 16>;

enum class GidType : std::uint8_t { kIb, kRoceV1, kRoceV2 };
std::string_view GidTypeName(GidType t);  // "IB", "RoCE v1", "RoCE v2"

enum class LinkLayer : std::uint8_t { kUnknown, kInfiniBand, kEthernet };
std::string_view LinkLayerName(LinkLayer l);  // "InfiniBand", "Ethernet", "unknown"

struct GidEntry {
  int index = 0;
  Gid gid{};
  GidType type = GidType::kIb;
  std::uint32_t netdev_ifindex = 0;  // 0 when the GID has no netdev (InfiniBand)
};

// "fe80:0000:0000:0000:0202:c9ff:fe00:0001", as sysfs and `rdma` print GIDs.
std::string FormatGid(const Gid& gid);
Result<Gid> ParseGid(std::string_view text);  // the same form; also accepts "::ffff:1.2.3.4"
bool IsZeroGid(const Gid& gid);
bool IsIpv4MappedGid(const Gid& gid);  // ::ffff:a.b.c.d
bool IsLinkLocalGid(const Gid& gid);   // fe80::/64

// The GID index a probe uses. `requested` >= 0 must name a present, non-zero entry.
// Otherwise: InfiniBand -> index 0 (the port GID); Ethernet -> RoCE v2 IPv4-mapped, then
// RoCE v2 other (global before link-local), then RoCE v1 IPv4-mapped, then any RoCE v1.
// `where` ("rxe0:1") locates the error, which lists the GIDs that exist.
Result<int> SelectGidIndex(std::span<const GidEntry> gids, LinkLayer link_layer, int requested, std::string_view where);

struct VerbsDeviceOptions {
  std::string device;  // empty: the first device the verbs library lists
  int port = 1;
  int gid_index = -1;  // -1: SelectGidIndex's default
};

// An open device context, a protection domain and the chosen port and GID. Owns them;
// closed in the destructor. Not copyable, not movable (queue pairs point into it).
class VerbsDevice {
 public:
  static Result<std::unique_ptr<VerbsDevice>> Open(const VerbsDeviceOptions& options);
  ~VerbsDevice();
  VerbsDevice(const VerbsDevice&) = delete;
  VerbsDevice& operator=(const VerbsDevice&) = delete;

  ibv_context* context() const { return context_; }
  ibv_pd* pd() const { return pd_; }
  const std::string& name() const { return name_; }
  int port() const { return port_; }
  std::string where() const;  // "rxe0:1"
  LinkLayer link_layer() const { return link_layer_; }
  std::uint16_t lid() const { return lid_; }
  ibv_mtu active_mtu() const { return active_mtu_; }
  int gid_index() const { return gid_index_; }
  const Gid& gid() const { return gid_; }
  GidType gid_type() const { return gid_type_; }

 private:
  VerbsDevice() = default;
  ibv_context* context_ = nullptr;
  ibv_pd* pd_ = nullptr;
  std::string name_;
  int port_ = 1;
  LinkLayer link_layer_ = LinkLayer::kUnknown;
  std::uint16_t lid_ = 0;
  ibv_mtu active_mtu_ = IBV_MTU_1024;
  int gid_index_ = 0;
  Gid gid_{};
  GidType gid_type_ = GidType::kIb;
};

// The GID table of one port through ibv_query_gid_table (only valid entries).
Result<std::vector<GidEntry>> QueryGids(ibv_context* context, int port, std::string_view where);

}  // namespace fabricctl::probes
