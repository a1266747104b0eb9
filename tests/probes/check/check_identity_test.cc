#include "probes/check/check_identity.h"

#include <doctest/doctest.h>

#include "fabric/node_name_map.h"

namespace fabricctl::check {
namespace {

// As a live subnet reports them: two HCAs answering with one port GUID, and two nodes
// answering with one node GUID; the descriptions are the nodes' own.
std::vector<IdentityReading> DuplicateReadings() {
  return {
      {.path = "0,1", .description = "h1 HCA-1", .node_guid = 0x10, .port_guid = 0x21, .port_number = 1},
      {.path = "0,2", .description = "h2 HCA-1", .node_guid = 0x20, .port_guid = 0x21, .port_number = 1},
      {.path = "0,3", .description = "h3 HCA-1", .node_guid = 0x30, .port_guid = 0x31, .port_number = 1},
      {.path = "0,4", .description = "h4 HCA-1", .node_guid = 0x30, .port_guid = 0x41, .port_number = 1},
  };
}

const Finding& Only(const CheckReport& r, std::string_view kind, Scope scope) {
  const Finding* found = nullptr;
  for (const Finding& f : r.findings)
    if (f.kind == kind && f.scope == scope) {
      REQUIRE(found == nullptr);
      found = &f;
    }
  REQUIRE(found != nullptr);
  return *found;
}

TEST_CASE("identity: duplicate GUIDs are printed with the names of the node name map") {
  auto names = ParseNodeNameMap("0x10 \"rack1-node07\"\n0x20 \"rack2-node03\"\n0x30 \"rack3-node01\"\n", "map");
  REQUIRE(names);
  CheckReport r;
  CheckIdentity(Snapshot{.identities = DuplicateReadings(), .node_names = &*names}, r);

  const Finding& port = Only(r, "duplicate-guid", Scope::kPort);
  CHECK(port.where == "rack1-node07[1] (0,1)");
  CHECK(port.summary ==
        "port GUID 0x0000000000000021 is used by ports of 2 nodes: rack1-node07[1] (0,1), rack2-node03[1] (0,2)");
  CHECK(port.evidence["readings"][1]["node"] == "rack2-node03");
  CHECK(port.evidence["readings"][1]["description"] == "h2 HCA-1");

  // One GUID, one mapped name: the nodes sharing it are told apart by what they reported.
  const Finding& node = Only(r, "duplicate-guid", Scope::kNode);
  CHECK(node.summary ==
        "node GUID 0x0000000000000030 (named rack3-node01 by the node name map) is used by 2 different nodes: "
        "h3 HCA-1, h4 HCA-1");
}

TEST_CASE("identity: without a node name map the reported descriptions are printed") {
  CheckReport r;
  CheckIdentity(Snapshot{.identities = DuplicateReadings()}, r);
  const Finding& port = Only(r, "duplicate-guid", Scope::kPort);
  CHECK(port.where == "h1 HCA-1[1] (0,1)");
  CHECK_FALSE(port.evidence["readings"][0].contains("description"));
  CHECK(Only(r, "duplicate-guid", Scope::kNode).summary ==
        "node GUID 0x0000000000000030 is used by 2 different nodes: h3 HCA-1, h4 HCA-1");
}

}  // namespace
}  // namespace fabricctl::check
