#include "routing/manage/manage_metrics.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "tests/scratch_dir.h"

namespace fabricctl {

TEST_CASE("manage metrics: every counter is exposed with HELP and TYPE, and promtool accepts the file") {
  ManageCounters c{
      .sweeps = 12, .changes = 2, .blocks_written = 9, .last_repair_seconds = 0.0125, .links_held_down = 1};
  const std::string text = ManageMetricsText(c);
  CHECK(text.find("# TYPE fabricctl_manage_events_total counter\nfabricctl_manage_events_total 2\n") !=
        std::string::npos);
  CHECK(text.find("fabricctl_manage_last_repair_seconds 0.0125\n") != std::string::npos);
  CHECK(text.find("fabricctl_manage_links_held_down 1\n") != std::string::npos);
  CHECK(text.find("fabricctl_manage_lft_blocks_written_total 9\n") != std::string::npos);

  const testing::ScratchDir scratch("metrics");
  const std::string path = scratch / "manage.prom";
  REQUIRE(WriteManageMetrics(path, c));
  if (std::system("command -v promtool >/dev/null 2>&1") == 0) {
    CHECK(std::system(("promtool check metrics < " + path + " >/dev/null 2>&1").c_str()) == 0);
  } else {
    MESSAGE("promtool not installed: the exposition format was not checked by it");
  }
}

TEST_CASE("manage status: the counters as JSON") {
  ManageCounters c{.changes = 3, .unreachable_lids = 5};
  auto j = ManageStatusJson(c);
  CHECK(j["changes"] == 3);
  CHECK(j["unreachable_lids"] == 5);
}

}  // namespace fabricctl
