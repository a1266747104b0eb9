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
#include <string_view>
#include <vector>

#include "fabric/error.h"
#include "routing/engine.h"

namespace fabricctl {

std::unique_ptr<RoutingEngine> MakeUpdnEngine();

// A root GUID file as OpenSM's root_guid_file: one GUID per line ("0x0002c9030000abcd"),
// blank lines and `#` comments allowed. Strict: anything else is an error at file:line.
Result<std::vector<uint64_t>> ParseGuidList(std::string_view text, std::string_view filename);

}  // namespace fabricctl
