#pragma once
// The management-datagram transport: the one seam between fabricctl and the hardware.
// Discovery, counters and deployment speak to it; the libibumad implementation talks to
// a real HCA (or to ibsim through libumad2sim), tests may plug in a simulated fabric.
//
// A transport only sends and receives single MADs. Timeouts, retries and how many
// requests are in flight belong to MadRpc (fabric/mad/rpc.h); a transport only promises
// that neither call waits longer than it is told, whatever the peer does.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fabric/error.h"

namespace fabricctl::mad {

inline constexpr size_t kMadSize = 256;
inline constexpr size_t kSmpDataOffset = 64;  // SMP attribute data: 64 bytes
inline constexpr size_t kSmpDataSize = 64;
inline constexpr size_t kGmpDataOffset = 64;  // PMA attribute data: 192 bytes
inline constexpr size_t kGmpDataSize = 192;
inline constexpr unsigned kMaxHops = 63;

enum class MgmtClass : uint8_t { kSmpLid = 0x01, kSmpDirected = 0x81, kPerformance = 0x04 };
enum class Method : uint8_t { kGet = 0x01, kSet = 0x02 };

// Attribute ids used here (IBA 14.2.5, 16.1.3).
namespace attr {
inline constexpr uint16_t kNodeDescription = 0x10;
inline constexpr uint16_t kNodeInfo = 0x11;
inline constexpr uint16_t kSwitchInfo = 0x12;
inline constexpr uint16_t kPortInfo = 0x15;
inline constexpr uint16_t kSlToVlTable = 0x17;
inline constexpr uint16_t kSmInfo = 0x20;
inline constexpr uint16_t kLinearForwardingTable = 0x19;
inline constexpr uint16_t kClassPortInfo = 0x01;
inline constexpr uint16_t kPortCounters = 0x12;
inline constexpr uint16_t kPortCountersExtended = 0x1D;
}  // namespace attr

// A directed route: the output port at each hop, from the local port outwards.
struct DrPath {
  std::array<uint8_t, kMaxHops + 1> port{};  // port[1..hops]; port[0] unused as in IBA
  uint8_t hops = 0;

  DrPath Extend(uint8_t out_port) const {
    DrPath p = *this;
    p.port[++p.hops] = out_port;
    return p;
  }
  std::string ToString() const;  // "0,1,3" as ibnetdiscover and smpquery -D print it
};

// Attribute name (NodeInfo, PortCounters, ...) or its id in hex.
std::string AttributeName(MgmtClass mgmt_class, uint16_t attr_id);

struct Request {
  MgmtClass mgmt_class = MgmtClass::kSmpDirected;
  Method method = Method::kGet;
  uint16_t attr_id = 0;
  uint32_t attr_mod = 0;
  DrPath path;                               // kSmpDirected
  uint16_t lid = 0;                          // kSmpLid and kPerformance
  std::array<uint8_t, kGmpDataSize> data{};  // attribute data sent (SMPs use the first 64 bytes)
};

// "NodeInfo Get via route 0,1,3", "PortCounters Get to LID 5": what a request was, for errors.
std::string Describe(const Request& request);

struct Reply {
  uint32_t tid = 0;     // the low 32 bits; the kernel owns the high ones
  uint16_t status = 0;  // MAD status (0 = success)
  bool is_response = false;
  MgmtClass mgmt_class = MgmtClass::kSmpDirected;
  std::array<uint8_t, kMadSize> mad{};
  // Attribute data of the reply.
  const uint8_t* data() const {
    return mad.data() + (mgmt_class == MgmtClass::kPerformance ? kGmpDataOffset : kSmpDataOffset);
  }
};

// Facts about the local port, as the umad layer reports them.
struct LocalPort {
  std::string ca;
  int port = 0;
  uint32_t lid = 0;
  uint32_t sm_lid = 0;
  uint64_t port_guid = 0;
  int state = 0;  // PortState value
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Waits at most timeout_ms for the fabric to take the MAD (a frozen peer that stops
  // reading must not hold the caller); an error when it does not.
  virtual Result<void> Send(const Request& request, uint32_t tid, int timeout_ms) = 0;
  // Waits at most timeout_ms; nullopt when nothing arrived.
  virtual Result<std::optional<Reply>> Receive(int timeout_ms) = 0;
  virtual const LocalPort& local() const = 0;
  // Link-state traps (Trap MADs, Notice attribute) taken since the last call, by the
  // issuing switch's LID. Only a transport opened as the subnet manager gets any; each
  // was answered with TrapRepress as it arrived, and never reaches Receive's caller.
  virtual std::vector<uint16_t> TakeTraps() { return {}; }
  // Waits at most timeout_ms for a trap (taking and answering any that arrive); true when
  // traps are pending. A transport without the SM role just waits.
  virtual Result<bool> WaitForTrap(int timeout_ms);
};

// Opens `ca` (empty: the first CA with an InfiniBand port) port `port` (0: first active)
// through libibumad. Errors name the device and say what to check. With ibsim's
// libumad2sim preloaded, a simulator that does not answer within a few `timeout_ms` (the
// MAD timeout; at least 2 s) is an error before libibumad would wait for it forever.
// With as_sm the port also takes the subnet manager role (its PortInfo CapabilityMask.IsSM,
// through the issm device, as OpenSM does; libumad2sim intercepts the same open) and
// receives the Trap MADs the switches send to the SM LID.
Result<std::unique_ptr<Transport>> OpenUmadTransport(const std::string& ca, int port, int timeout_ms,
                                                     bool as_sm = false);

}  // namespace fabricctl::mad
