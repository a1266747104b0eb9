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

class SwitchGraph;

// The Up*/Down* orientation updn routes with, shared with route repair (routing/repair.h),
// which must stay inside the same orientation. Root choices in updn's order of preference;
// each holds switch indices of `g`.
struct UpDownRoots {
  std::vector<uint32_t> switches;
  std::string why;  // "roots: the tier-3 switches"
};
std::vector<UpDownRoots> UpDownRootChoices(const Fabric& fabric, const SwitchGraph& g,
                                           const std::vector<uint64_t>& root_guids);
// pos[s]: the strict order that defines "up" (a move to a lower pos is up): lower
// (BFS distance from the roots, GUID, index) is higher up.
std::vector<uint32_t> UpDownOrder(const Fabric& fabric, const SwitchGraph& g, const std::vector<uint32_t>& roots);

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
