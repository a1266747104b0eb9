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

const std::string kHead = "{\"format\": \"fabricctl-sweep-plan\", \"version\": 1, \"schedule\": ";

std::string PlanError(const testing::Routed& r, std::string_view text) {
  auto p = ParsePlanJson(r.fabric, r.routes, text, "p.json");
  REQUIRE(!p);
  return p.error().Format();
}

TEST_CASE("plan file: bad input names the file, the line and the JSON path") {
  auto r = testing::FatTree(2, 2, 2);
  CHECK(PlanError(r, "{").starts_with("p.json:1: JSON syntax error at byte "));
  CHECK(PlanError(r, "{\"format\": \"x\"}") == "p.json:1: /format: expected \"fabricctl-sweep-plan\", got \"x\"");
  CHECK(PlanError(r, "{\"format\": \"fabricctl-sweep-plan\", \"version\": 2}") ==
        "p.json:1: /version: expected 1, got 2");
  CHECK(PlanError(r, "{\"format\": \"fabricctl-sweep-plan\", \"version\": 1}") ==
        "p.json:1: /: missing field \"schedule\"");
  CHECK(PlanError(r, kHead + "[[\"host0[1]\", 3, 0]]}") == "p.json:1: /schedule/0/1: expected a string, got 3");
  CHECK(PlanError(r, kHead + "[[\"host0[1]\", \"host9[1]\", 0]]}") ==
        "p.json:1: /schedule/0/1: 'host9[1]': no node has the description 'host9'");
  CHECK(PlanError(r, kHead + "[[\"host0[1]\", \"leaf0[1]\", 0]]}").starts_with("p.json:1: /schedule/0: "));
  CHECK(PlanError(r, kHead + "[\n[\"host0[1]\", \"host1[1]\"]]}") ==
        "p.json:2: /schedule/0: expected [\"src[port]\", \"dst[port]\", round]");
}

TEST_CASE("plan file: wrong types and overflowing numbers are path errors, never exceptions") {
  auto r = testing::FatTree(2, 2, 2);
  // Each of these threw a json.exception (or was truncated) before.
  CHECK(PlanError(r, "{\"format\": \"fabricctl-sweep-plan\", \"version\": \"1\", \"schedule\": []}") ==
        "p.json:1: /version: expected an unsigned integer 1, got \"1\"");
  CHECK(PlanError(r, "{\"format\": \"fabricctl-sweep-plan\", \"version\": 1, \"channels\": \"x\", \"schedule\": []}") ==
        "p.json:1: /channels: expected an unsigned integer 0..18446744073709551615, got \"x\"");
  CHECK(PlanError(r, "{\"format\": \"fabricctl-sweep-plan\", \"version\": 1, \"lower_bound\": -1, \"schedule\": []}") ==
        "p.json:1: /lower_bound: expected 0..18446744073709551615, got -1");
  CHECK(PlanError(r, kHead + "[[\"host0[1]\", \"host1[1]\", 4294967296]]}") ==
        "p.json:1: /schedule/0/2: expected 0..4294967295, got 4294967296");
  CHECK(PlanError(r, kHead + "[[\"host0[1]\", \"host1[1]\", 1e300]]}") ==
        "p.json:1: /schedule/0/2: expected an unsigned integer 0..4294967295, got 1e+300");
  std::string long_name(1'000'000, 'h');
  CHECK(PlanError(r, kHead + "[[\"" + long_name + "\", \"host1[1]\", 0]]}") ==
        "p.json:1: /schedule/0/0: expected a port as desc[port], got 1000000 bytes");
  CHECK(PlanError(r, "{\"schedule\": " + std::string(100'000, '[') + std::string(100'000, ']') + "}")
            .starts_with("p.json:1: JSON nested deeper than 64 levels"));
}

TEST_CASE("plan file: rounds are labels, renumbered in order; none allocates by its value") {
  auto r = testing::FatTree(2, 2, 2);
  // 4294967295 made the round count wrap to 0 (a crash in `sweep run --fabric tcp`);
  // 100000000 allocated 2.3 GB of empty rounds.
  auto plan = ParsePlanJson(
      r.fabric, r.routes,
      kHead + "[[\"host0[1]\", \"host1[1]\", 4294967295], [\"host2[1]\", \"host3[1]\", 100000000]]}", "p.json");
  REQUIRE(plan);
  CHECK(plan->num_rounds == 2);
  CHECK(plan->probes[0].round == 1);
  CHECK(plan->probes[1].round == 0);
}

TEST_CASE("plan file: duplicate entries and ports busy twice in a round are refused with their path") {
  auto r = testing::FatTree(2, 2, 2);
  CHECK(PlanError(r, kHead + "[[\"host0[1]\", \"host1[1]\", 0],\n [\"host0[1]\", \"host1[1]\", 0]]}") ==
        "p.json:2: /schedule/1: duplicate of /schedule/0");
  CHECK(PlanError(r, kHead + "[[\"host0[1]\", \"host1[1]\", 3], [\"host2[1]\", \"host0[1]\", 3]]}") ==
        "p.json:1: /schedule/1: host0[1] is already in probe /schedule/0 of round 3");
  CHECK(PlanError(r, kHead + "[[\"host0[1]\", \"host0[1]\", 0]]}") ==
        "p.json:1: /schedule/0/1: a probe needs two different ports");
  // The same pair in another round is a second measurement, not a duplicate.
  CHECK(ParsePlanJson(r.fabric, r.routes, kHead + "[[\"host0[1]\", \"host1[1]\", 0], [\"host0[1]\", \"host1[1]\", 1]]}",
                      "p.json"));
}

TEST_CASE("plan file: coverage is recomputed from the probes, whatever the file claims") {
  auto r = testing::FatTree(2, 4, 4);
  auto full = PlanSweep(r.fabric, r.routes, {});
  REQUIRE(full);
  REQUIRE(full->channels_covered == full->channels);
  // One probe, with the figures of the full plan copied in.
  nlohmann::json j = PlanToJson(r.fabric, *full, PlanDetail::kSchedule);
  j["schedule"] = nlohmann::json::array({j["schedule"][0]});
  auto one = ParsePlanJson(r.fabric, r.routes, j.dump(), "one.json");
  REQUIRE(one);
  CHECK(one->channels == full->channels);
  CHECK(one->channels_covered < 10);
  CHECK(one->channels_covered == one->path_channels.size());
  CHECK(one->channels_at_target == 0);
  CHECK(one->max_probes_per_endpoint == 1);
  CHECK(one->num_rounds == 1);
  // The full plan reads back with the planner's own figures.
  auto back = ParsePlanJson(r.fabric, r.routes, PlanToJson(r.fabric, *full, PlanDetail::kSchedule).dump(), "p.json");
  REQUIRE(back);
  CHECK(back->channels_covered == full->channels_covered);
  CHECK(back->channels_at_target == full->channels_at_target);
  CHECK(back->max_probes_per_endpoint == full->max_probes_per_endpoint);
  CHECK(back->coverage == full->coverage);
}

}  // namespace
}  // namespace fabricctl::sweep
