#include "probes/sweep/sweep_plan_io.h"

#include <doctest/doctest.h>

#include "tests/probes/sweep/sweep_fixture.h"

namespace fabricctl::sweep {
namespace {

TEST_CASE("plan file: round trip keeps every probe and its round") {
  auto r = testing::FatTree(2, 4, 4);
  auto plan = PlanSweep(r.fabric, r.routes, {});
  REQUIRE(plan);
  std::string text = PlanToJson(r.fabric, *plan, PlanDetail::kSchedule).dump();
  auto back = ParsePlanJson(r.fabric, r.routes, text, "p.json");
  REQUIRE(back);
  REQUIRE(back->probes.size() == plan->probes.size());
  for (size_t i = 0; i < plan->probes.size(); ++i) {
    CHECK(back->probes[i].src == plan->probes[i].src);
    CHECK(back->probes[i].dst == plan->probes[i].dst);
    CHECK(back->probes[i].round == plan->probes[i].round);
  }
  CHECK(back->path_channels == plan->path_channels);
  CHECK(back->num_rounds == plan->num_rounds);
  CHECK(back->lower_bound == plan->lower_bound);
}

TEST_CASE("plan file: bad input names the file and the entry") {
  auto r = testing::FatTree(2, 2, 2);
  auto error = [&](std::string_view text) {
    auto p = ParsePlanJson(r.fabric, r.routes, text, "p.json");
    REQUIRE(!p);
    return p.error().Format();
  };
  CHECK(error("{").starts_with("p.json: not JSON: "));
  CHECK(error("{\"format\": \"x\"}") == "p.json: expected a fabricctl-sweep-plan file");
  CHECK(error("{\"format\": \"fabricctl-sweep-plan\", \"version\": 2}") ==
        "p.json: unsupported plan version (expected 1)");
  CHECK(error("{\"format\": \"fabricctl-sweep-plan\", \"version\": 1}") == "p.json: missing /schedule array");
  const std::string head = "{\"format\": \"fabricctl-sweep-plan\", \"version\": 1, \"schedule\": ";
  CHECK(error(head + "[[\"host0[1]\", 3, 0]]}") ==
        "p.json: /schedule/0: expected [\"src[port]\", \"dst[port]\", round]");
  CHECK(error(head + "[[\"host0[1]\", \"host9[1]\", 0]]}") ==
        "p.json: /schedule/0: 'host9[1]': no node has the description 'host9'");
  CHECK(error(head + "[[\"host0[1]\", \"leaf0[1]\", 0]]}").starts_with("p.json: /schedule/0: "));
}

}  // namespace
}  // namespace fabricctl::sweep
