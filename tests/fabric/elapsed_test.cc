#include "fabric/elapsed.h"

#include <doctest/doctest.h>

namespace fabricctl {
namespace {

TEST_CASE("SecondsSince counts from the given start on the steady clock") {
  const auto start = std::chrono::steady_clock::now() - std::chrono::milliseconds(2500);
  const double seconds = SecondsSince(start);
  // At least the 2.5 s put before now; the steady clock never goes back.
  CHECK(seconds >= 2.5);
  CHECK(SecondsSince(std::chrono::steady_clock::now() + std::chrono::hours(1)) < 0);
}

}  // namespace
}  // namespace fabricctl
