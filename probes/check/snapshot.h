#pragma once
// Everything `fabricctl check` judges, gathered first and judged after: from files (a
// topology, an LFT dump, counter readings) or live from a subnet through MADs
// (probes/check/live_*.h). The checks read a snapshot and never touch the fabric, so every
// check runs the same way on files and on a live subnet.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fabric/counters.h"
#include "fabric/fabric.h"
#include "fabric/node_name_map.h"
#include "routing/routes.h"

namespace fabricctl::check {

// One port's identity as the fabric reported it, before GUID deduplication merged anything:
// duplicates of node GUIDs, port GUIDs and LIDs are found among these.
struct IdentityReading {
  std::string path;  // how the port was reached: directed route "0,1,3", or "file:line"
  std::string description;
  uint64_t node_guid = 0;
  uint64_t port_guid = 0;
  uint8_t port_number = 0;
  uint32_t lid = 0;     // 0 when none
  bool active = false;  // port state Active
};

// SMInfo of a port that runs a subnet manager.
struct SmReading {
  std::string where;  // port name
  uint64_t guid = 0;
  uint32_t lid = 0;
  uint8_t priority = 0;
  uint8_t state = 0;  // SMInfo SMState: 0 not active, 1 discovering, 2 standby, 3 master
  uint32_t activity_count = 0;
};

// Two counter readings of the same ports, `interval_seconds` apart.
struct CounterInterval {
  CounterReport before;
  CounterReport after;
  double interval_seconds = 0;
};

struct Snapshot {
  const Fabric* fabric = nullptr;                // what is cabled (discovered or from a file)
  std::string source;                            // "live: mlx5_0:1", or the topology file name
  const Fabric* plan = nullptr;                  // what should be cabled, when given
  std::vector<IdentityReading> identities;       // empty when the source cannot tell
  std::optional<std::vector<SmReading>> sms;     // nullopt: not asked (files)
  std::optional<CounterInterval> counters;       // nullopt: no counters
  const RouteSet* installed_routes = nullptr;    // LFTs read back or from a dump
  const RouteSet* intended_routes = nullptr;     // routes.json to compare against
  std::vector<std::string> collection_problems;  // ports that did not answer, and why
  // --node-name-map, when given: `fabric` is already renamed, but identity readings keep
  // the NodeDescription each node reported (telling nodes with one GUID apart), so their
  // names are mapped where a finding prints them.
  const NodeNameMap* node_names = nullptr;
};

}  // namespace fabricctl::check
