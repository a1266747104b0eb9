#pragma once
// The agents file of a real sweep (version 2, docs/formats.md): for every endpoint port,
// the probe agent that serves it, the address its probes leave from and arrive at, and
// where the coordinator reaches that agent. One line per port or per endpoint:
//
//     DESC[PORT] DATA_ADDR[:PORT] [control=ADDR[:PORT]] [dev=IFNAME] [rdma=DEVICE:PORT]
//     DESC       DATA_ADDR[:PORT] [...]            # every port of DESC
//
// Read strictly: unknown keys, repeated ports, switches, unknown nodes or ports and bad
// address forms are `file:line: message` errors with the line shown.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"

namespace fabricctl::sweep {

// What one line says; every port it names shares it. Addresses carry their port (the
// default agent port filled in), so equal agents compare equal as text.
struct PortAgent {
  std::string data;     // HOST:PORT the agent listens on for probes to this port
  std::string host;     // HOST of data, without brackets: probes from this port bind to it
  std::string control;  // HOST:PORT where the coordinator gives that agent its orders
  std::string device;   // dev=: interface TCP probes from this port are bound to; "" none
  std::string rdma;     // rdma=: DEVICE:PORT of verbs probes; "" the agent's default
  int line = 0;         // where the file says so
};

class AgentsFile {
 public:
  // The agent of an endpoint port; nullptr when the file names none.
  const PortAgent* Find(PortId port) const {
    return port < entry_of_port_.size() && entry_of_port_[port] != kNoEntry ? &entries_[entry_of_port_[port]] : nullptr;
  }
  std::span<const PortAgent> entries() const { return entries_; }

 private:
  friend class AgentsFileReader;
  static constexpr uint32_t kNoEntry = UINT32_MAX;
  std::vector<PortAgent> entries_;       // one per line
  std::vector<uint32_t> entry_of_port_;  // by PortId
};

Result<AgentsFile> ParseAgentsFile(const Fabric& fabric, std::string_view text, std::string_view filename);

}  // namespace fabricctl::sweep
