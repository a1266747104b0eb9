#include "probes/rate_limited_log.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace fabricctl::probes {
namespace {

using namespace std::chrono_literals;

TEST_CASE("a flood of log lines is cut to the limit and summed up once a second") {
  std::vector<std::string> lines;
  RateLimitedLog log([&](std::string_view line) { lines.emplace_back(line); }, 3);
  Clock::time_point start{};  // explicit times: the test does not depend on the clock
  log.Flush(start + 5s);      // opens the first window
  for (int i = 0; i < 1000; ++i) log.Log("refused " + std::to_string(i), start + 5s + std::chrono::microseconds(i));
  CHECK(lines == std::vector<std::string>{"refused 0", "refused 1", "refused 2"});
  CHECK(log.suppressed_total() == 997);
  log.Flush(start + 5s + 999ms);  // the window has not ended
  CHECK(lines.size() == 3);
  log.Flush(start + 6s);
  REQUIRE(lines.size() == 4);
  CHECK(lines[3] == "suppressed 997 similar lines about unauthenticated connections (at most 3 a second)");
  log.Log("later", start + 6s + 1ms);
  CHECK(lines.back() == "later");
  log.Flush(start + 10s);  // nothing was left out: no summary
  CHECK(lines.size() == 5);
}

}  // namespace
}  // namespace fabricctl::probes
