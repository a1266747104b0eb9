#include "probes/check/counter_file.h"

#include <doctest/doctest.h>

#include "tests/routing/route_check_fixtures.h"

namespace fabricctl::check {
namespace {

TEST_CASE("counter file: the ports of `counters --json`, matched by GUID or description, in port order") {
  Fabric f = fabricctl::testing::Ring(3);
  auto r = ParseCounterFile(f, R"({"ports": [
      {"node": "h2_0", "guid": "0x0000000000002080", "port": 1, "lid": 9, "extended": true,
       "counters": {"SymbolErrorCounter": 4, "PortXmitData": 123456789012}, "over_threshold": ["SymbolErrorCounter"]},
      {"node": "h0_0", "port": 1, "counters": {"LinkDownedCounter": 1}}],
    "problems": [], "ports_over_threshold": 1, "reset": false, "stats": {"mads": 12}})",
                            "c.json");
  REQUIRE_MESSAGE(r, (r ? "" : r.error().Format()));
  REQUIRE(r->ports.size() == 2);
  CHECK(f.PortName(r->ports[0].port) == "h0_0[1]");
  CHECK(r->ports[0].value[size_t(Counter::kLinkDownedCounter)] == 1);
  CHECK(f.PortName(r->ports[1].port) == "h2_0[1]");
  CHECK(r->ports[1].lid == 9);
  CHECK(r->ports[1].extended);
  CHECK(r->ports[1].value[size_t(Counter::kPortXmitData)] == 123456789012);
}

TEST_CASE("counter file: errors name the line and the JSON pointer") {
  Fabric f = fabricctl::testing::Ring(3);
  auto error = [&](std::string_view text) {
    auto r = ParseCounterFile(f, text, "c.json");
    REQUIRE(!r);
    return r.error().Format();
  };
  CHECK(error(R"({"ports": [{"node": "nope", "port": 1, "counters": {}}]})") ==
        "c.json:1: /ports/0/node: no node of the topology has this description");
  CHECK(error("{\"ports\": [\n{\"node\": \"h0_0\", \"port\": 1, \"counters\": {\"Bogus\": 1}}]}")
            .starts_with("c.json:2: /ports/0/counters/Bogus: unknown counter name"));
  CHECK(error(R"({"ports": [{"node": "h0_0", "port": 7, "counters": {}}]})").starts_with("c.json:1: /ports/0/port:"));
  CHECK(
      error(R"({"ports": [{"node": "h0_0", "port": 1, "counters": {}}, {"node": "h0_0", "port": 1, "counters": {}}]})")
          .find("port h0_0[1] is listed twice") != std::string::npos);
  CHECK(error(R"({"port": []})").find("port") != std::string::npos);
}

}  // namespace
}  // namespace fabricctl::check
