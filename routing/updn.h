#pragma once
// updn: Up*/Down* routing. Switches are ranked by distance from root switches; a move to
// a switch of lower (rank, GUID) is "up", the reverse "down", and no route goes down and
// then up, so the channel dependency graph is acyclic with one VL on any topology.
// Roots, in order of preference: EngineOptions::root_guids found in the subnet; the
// switches of the highest tier label; the switches farthest from the endpoint-attached
// switches (the top of a tree); the centre of the switch graph.
// Among legal next hops the least-loaded port wins, as in minhop.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "routing/engine.h"

namespace fabricctl {

std::unique_ptr<RoutingEngine> MakeUpdnEngine();

// A root GUID file as OpenSM's root_guid_file: one GUID per line ("0x0002c9030000abcd"),
// blank lines and `#` comments allowed. Strict: anything else, and a GUID listed twice, is
// an error at file:line.
struct ListedGuid {
  uint64_t guid = 0;
  int line = 0;
};
Result<std::vector<ListedGuid>> ParseGuidList(std::string_view text, std::string_view filename);
// `route compute --root-guid-file`: the file parsed, and every GUID a switch of `fabric`
// (an error naming the line and the GUID otherwise).
Result<std::vector<uint64_t>> ParseRootGuids(const Fabric& fabric, std::string_view text, std::string_view filename);
Result<std::vector<uint64_t>> ReadRootGuidFile(const Fabric& fabric, const std::string& path);

}  // namespace fabricctl
