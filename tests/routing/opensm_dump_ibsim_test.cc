// OpenSM's `file` routing engine against our LFT dump, under ibsim (label ibsim).
#include <doctest/doctest.h>

#include <string>

#include "tests/ibsim_harness.h"
#include "tests/scratch_dir.h"

namespace fabricctl {
namespace {

using namespace testing;

TEST_SUITE("ibsim_opensm_dump") {
  TEST_CASE("OpenSM's file engine loads our dump_fts-layout dump and installs exactly our tables") {
    if (!IbsimAvailable()) {
      MESSAGE("ibsim or libumad2sim not installed: skipped");
      return;
    }
    const fabricctl::testing::ScratchDir scratch("osm-dump");
    const std::string& d = scratch.dir;
    const std::string fabricctl = FABRICCTL_BINARY;
    REQUIRE(RunShell(fabricctl + " topo gen fat-tree --set k=4 tiers=2 -o " + d + "/ft.ibsim", d, 30).exit_code == 0);
    Ibsim sim(d + "/ft.ibsim");
    REQUIRE_MESSAGE(sim.ok(), sim.error());
    // A first OpenSM pass assigns the LIDs (kept in its cache); ibnetdiscover then sees them.
    auto osm = sim.Run("OSM_CACHE_DIR=" + d + " opensm -o -f " + d + "/osm1.log", 120);
    REQUIRE_MESSAGE(osm.exit_code == 0, osm.err);
    REQUIRE(sim.Run("ibnetdiscover > " + d + "/live.topo").exit_code == 0);
    auto routed = sim.Fabricctl("route compute " + d + "/live.topo --engine updn --files dump -o " + d + "/r");
    INFO("route compute: ", routed.out, routed.err);
    REQUIRE(routed.exit_code == 0);
    osm =
        sim.Run("OSM_CACHE_DIR=" + d + " opensm -o -R file -U " + d + "/r/opensm-lfts.dump -f " + d + "/osm2.log", 120);
    REQUIRE_MESSAGE(osm.exit_code == 0, osm.err);
    REQUIRE(sim.Run("dump_fts > " + d + "/fts.dump").exit_code == 0);
    auto diff = sim.Fabricctl("route diff " + d + "/r/opensm-lfts.dump " + d + "/fts.dump");
    INFO("route diff: ", diff.out, diff.err);
    CHECK(diff.exit_code == 0);
    CHECK(diff.out.find("same: 6 switches, identical LFTs") != std::string::npos);
  }
}

}  // namespace
}  // namespace fabricctl
