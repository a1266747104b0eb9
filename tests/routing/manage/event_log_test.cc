#include "routing/manage/event_log.h"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/scratch_dir.h"

namespace fabricctl {

TEST_CASE("event log: each event is one JSON line with a UTC time, appended") {
  const testing::ScratchDir scratch("events");
  const std::string path = scratch / "events.jsonl";
  {
    auto log = EventLog::Open(path);
    REQUIRE(log);
    REQUIRE(log->Write({{"event", "start"}, {"text", "a\nb"}}));
  }
  {
    auto log = EventLog::Open(path);  // a restart appends
    REQUIRE(log);
    REQUIRE(log->Write({{"event", "change"}, {"time", "given"}}));
  }
  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["event"] == "start");
  CHECK(lines[0]["text"] == "a\nb");
  const std::string time = lines[0]["time"];
  CHECK(time.size() == 24);
  CHECK(time.back() == 'Z');
  CHECK(lines[1]["time"] == "given");

  auto none = EventLog::Open("");
  REQUIRE(none);
  CHECK(none->Write({{"event", "x"}}));
  auto bad = EventLog::Open(scratch / "no/such/dir/log");
  CHECK(!bad);
}

}  // namespace fabricctl
