#pragma once
// The RDMA verbs probe transport: one RC queue pair per session.
//   latency:   ping-pong, either SEND/RECV (with immediate data carrying the sequence
//              number) or RDMA WRITE with the receiver polling the last byte of its buffer
//              (as perftest's ib_send_lat / ib_write_lat);
//   bandwidth: a stream of RDMA WRITEs, at most `window` outstanding, timed by the sender
//              from the first post to the last completion (as ib_write_bw). The receiver
//              sees no completions for plain writes, so it checks the data at the end.
// Every message carries its sequence number and a pattern; the receiver and the client
// check both, so a run that completes has moved the right bytes. Queue-pair details
// (QpInfo) go over the OobChannel as a fixed, versioned little-endian record. Waits poll
// the completion queue against a clock_gettime(CLOCK_MONOTONIC) deadline.
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "probes/transport.h"
#include "probes/verbs_device.h"

namespace fabricctl::probes {

enum class VerbsLatencyMethod : std::uint8_t { kSendRecv = 0, kWritePoll = 1 };

struct VerbsOptions {
  std::string device;  // empty: the first device
  int port = 1;
  int gid_index = -1;  // -1: RoCE v2 IPv4-mapped GID (see SelectGidIndex)
  VerbsLatencyMethod latency_method = VerbsLatencyMethod::kSendRecv;  // client's choice; the agent follows
  std::uint32_t window = 64;  // outstanding RDMA WRITEs in bandwidth tests (perftest's --tx-depth)
};

Result<std::unique_ptr<ClientTransport>> MakeVerbsClientTransport(const VerbsOptions& options);
Result<std::unique_ptr<ServerTransport>> MakeVerbsServerTransport(const VerbsOptions& options);

// What each side tells the other about its queue pair and buffer.
struct QpInfo {
  std::uint32_t qpn = 0;  // 24 bits
  std::uint32_t psn = 0;  // 24 bits
  Gid gid{};
  std::uint16_t lid = 0;
  std::uint8_t mtu = 0;         // ibv_mtu value, 1 (256) .. 5 (4096)
  std::uint8_t link_layer = 0;  // LinkLayer
  std::uint32_t rkey = 0;
  std::uint64_t addr = 0;       // start of the receive region
  std::uint32_t slot_size = 0;  // bytes per slot (the session's max message size)
  std::uint32_t slots = 0;      // slots in the receive region
  VerbsLatencyMethod latency_method = VerbsLatencyMethod::kSendRecv;
  std::uint32_t window = 0;
};

inline constexpr std::size_t kQpInfoBytes = 64;
Bytes SerializeQpInfo(const QpInfo& info);
// Strict: exact length, magic and version, and every field in range; `what` names the
// sender in messages ("agent", "client").
Result<QpInfo> ParseQpInfo(std::span<const std::uint8_t> data, std::string_view what);

// The agent may only exchange traffic with the host that connected to it, and the client
// only with the agent it dialled. For RoCE the peer's GID carries its IP address: it must
// be the control connection's remote address or one of this host's own addresses (traffic
// to oneself harms no third party). InfiniBand GIDs carry no IP address: an RC queue pair
// only talks to a peer that connected its own queue pair to it, so nothing is checked.
Result<void> CheckPeerGid(const Gid& gid, LinkLayer link_layer, const sockaddr_storage& remote,
                          std::span<const Gid> local_addresses);
// This host's IP addresses as GIDs (IPv4 mapped), from getifaddrs.
std::vector<Gid> LocalAddressGids();

}  // namespace fabricctl::probes
