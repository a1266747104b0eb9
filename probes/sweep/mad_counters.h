#pragma once
// Port error counters of a real fabric for sweeps, read through the Performance
// Management agents over umad. The sweep's fabric comes from a topology file, which need
// not carry LIDs: the first read discovers the live fabric over the same umad port and
// matches its nodes by GUID (by description when the topology has no GUIDs), then every
// read asks each matched port's PMA.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fabric/counters.h"
#include "fabric/fabric.h"
#include "fabric/mad/rpc.h"
#include "fabric/mad/transport.h"
#include "probes/sweep/probe_executor.h"

namespace fabricctl::sweep {

// The counters that say a link itself is faulty (bit errors, retraining, lost integrity,
// overrun input buffers, malformed packets). Left out: PortXmitWait and PortXmitDiscards
// (congestion and timeouts elsewhere, not this cable), VL15Dropped (management traffic),
// switch relay and partition constraint errors (routing and configuration, not the link).
std::vector<Counter> LinkErrorCounters();

struct MadCounterOptions {
  mad::RpcOptions rpc;  // as `fabricctl counters` bounds its MADs
  std::vector<Counter> summed = LinkErrorCounters();
};

// A port of the sweep's fabric whose errors the sweep cannot see, and why.
struct UnreadPort {
  PortId port = kNone;  // in the sweep's fabric
  std::string message;
};

class MadCounterSource final : public CounterSource {
 public:
  // `fabric` and `transport` must outlive the source.
  MadCounterSource(const Fabric& fabric, mad::Transport& transport, MadCounterOptions options)
      : fabric_(fabric), transport_(transport), options_(std::move(options)) {}

  // The summed error counters of every connected port of the sweep's fabric. A port that
  // cannot be read at some read keeps the value of its last good read from then on, so it
  // adds no errors to the sweep; it is listed by unread() instead. An error only when the
  // live fabric cannot be discovered or shares no node with the topology.
  Result<std::vector<uint64_t>> Read() override;

  // Ports whose counters some read could not see (absent from the live fabric, no LID, no
  // answer, a counter saturated), one entry per port, by port.
  std::vector<UnreadPort> unread() const;
  // Connected ports of the sweep's fabric that every read so far has seen.
  size_t ports_read() const;

 private:
  Result<void> MatchLiveFabric();
  void MarkUnread(PortId port, std::string message);

  const Fabric& fabric_;
  mad::Transport& transport_;
  MadCounterOptions options_;
  std::optional<Fabric> live_;
  std::vector<PortId> live_port_;         // sweep PortId -> live PortId (kNone: unmatched)
  std::vector<uint64_t> last_;            // last value handed out, by sweep PortId
  std::map<PortId, std::string> unread_;  // first reason per sweep port
  size_t connected_ = 0;
};

}  // namespace fabricctl::sweep
