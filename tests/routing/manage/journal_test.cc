#include "routing/manage/journal.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "tests/routing/test_fabrics.h"
#include "tests/scratch_dir.h"

namespace fabricctl {
TEST_CASE("journal: a record and the fabric survive a round trip through the state directory") {
  const Fabric f = testing::TwoTierFatTree({.leaves = 3, .spines = 2, .hosts = 2});
  const testing::ScratchDir scratch("journal");
  const std::string dir = scratch / "state";
  auto journal = Journal::Open(dir);
  REQUIRE(journal);
  auto none = journal->Read();
  REQUIRE(none);
  CHECK(!none->has_value());

  FabricHealth health = FabricHealth::AllUp(f);
  health.link_down[2] = 1;
  health.node_down[f.subnets()[0].switches.back()] = 1;
  JournalRecord record{.engine = "updn",
                       .target_health = ToJournalHealth(f, health),
                       .phase = JournalPhase::kInstalling,
                       .change = 4,
                       .steps_done = 1,
                       .steps_total = 3};
  REQUIRE(journal->Write(record));
  REQUIRE(journal->WriteFabric(f));
  auto read = journal->Read();
  REQUIRE(read);
  REQUIRE(read->has_value());
  CHECK((*read)->engine == "updn");
  CHECK((*read)->phase == JournalPhase::kInstalling);
  CHECK((*read)->change == 4);
  CHECK((*read)->steps_done == 1);
  CHECK((*read)->steps_total == 3);
  CHECK((*read)->target_health == record.target_health);
  CHECK((*read)->base_health.links_down.empty());

  auto fabric = journal->ReadFabric();
  REQUIRE(fabric);
  REQUIRE(fabric->has_value());
  auto back = FromJournalHealth(**fabric, (*read)->target_health);
  REQUIRE(back);
  CHECK(back->link_down == health.link_down);
  CHECK(back->node_down == health.node_down);
}

TEST_CASE("journal: a malformed journal is an error naming the file; a health of another fabric too") {
  auto bad = ParseJournalRecord("{\"version\": 1, \"engine\": \"updn\"}", "/s/journal.json");
  REQUIRE(!bad);
  CHECK(bad.error().message.find("/s/journal.json: not a route manager journal") == 0);
  auto version = ParseJournalRecord("{\"version\": 7}", "j");
  REQUIRE(!version);
  CHECK(version.error().message == "j: journal version 7 is not supported");
  auto garbage = ParseJournalRecord("\x01\x02", "j");
  CHECK(!garbage);

  const Fabric f = testing::TwoTierFatTree({.leaves = 2, .spines = 1, .hosts = 1});
  JournalHealth other{.links_down = {{0xdeadbeef, 1}}};
  auto health = FromJournalHealth(f, other);
  REQUIRE(!health);
  CHECK(health.error().message == "journal names port 0x00000000deadbeef[1], which the fabric does not have");
}

}  // namespace fabricctl
