// minhop and updn on fabrics with one slow cable: fewer routes on it, a lower worst load per
// capacity than the rate-blind tables, and the independent verifier finds them sound.
#include <doctest/doctest.h>

#include <tuple>

#include "routing/route_summary.h"
#include "routing/verifier.h"
#include "tests/routing/rate_fabrics.h"

namespace fabricctl {
namespace {

using testing::kDdr;
using testing::kDdrShare;
using testing::kEdr;

// Routes `f` with `engine`, and `blind_fabric` (the same cabling at one rate) for the
// rate-blind tables; both summarised on `f`.
struct Compared {
  FabricRoutes aware;
  RouteSummary before, after;
};
Compared RouteBoth(const Fabric& blind_fabric, const Fabric& f, const char* engine) {
  auto blind = testing::RouteWith(blind_fabric, engine);
  auto aware = testing::RouteWith(f, engine);
  REQUIRE(blind);
  REQUIRE(aware);
  Compared c{.aware = std::move(*aware)};
  c.before = SummarizeRoutes(f, f.subnets()[0], blind->routes.subnets[0], 2);
  c.after = SummarizeRoutes(f, f.subnets()[0], c.aware.routes.subnets[0], 2);
  MESSAGE(engine << ": max load per capacity " << c.before.max_load_per_capacity << " -> "
                 << c.after.max_load_per_capacity);
  auto verdict = Verify(f, c.aware.routes, VerifyOptions{.threads = 2});
  REQUIRE(verdict);
  CHECK(verdict->sound());
  CHECK(verdict->deadlock_free());
  return c;
}

TEST_CASE("rates: minhop and updn on a fat tree with a slow cable") {
  const Fabric blind_fabric = testing::Tree(8, 4, 8, kEdr);
  const Fabric f = testing::Tree(8, 4, 8, kDdr);
  for (const char* engine : {"minhop", "updn"}) {
    CAPTURE(engine);
    Compared c = RouteBoth(blind_fabric, f, engine);
    CHECK(c.before.max_load_per_capacity == doctest::Approx(112 / kDdrShare));
    CHECK(c.after.max_load_per_capacity < c.before.max_load_per_capacity / 3);
    const testing::Walk w = testing::WalkAllPairs(f, c.aware.routes.subnets[0]);
    // In proportion: 448 routes each way over 3 fast cables and one at 0.16 -> 22.7 on it.
    CHECK(testing::RoutesOver(w, f, "leaf0", 9) <= 448 / (3 + kDdrShare) * kDdrShare + 8);
    CHECK(testing::RoutesOver(w, f, "spine0", 1) <= 448 / (3 + kDdrShare) * kDdrShare + 8);
  }
}

TEST_CASE("rates: updn on a ring of double cables with a slow one") {
  const Fabric blind_fabric = testing::DoubleRing(6, 4, kEdr);
  const Fabric f = testing::DoubleRing(6, 4, kDdr);
  Compared c = RouteBoth(blind_fabric, f, "updn");
  CHECK(c.after.max_load_per_capacity < c.before.max_load_per_capacity / 2);
  const testing::Walk w = testing::WalkAllPairs(f, c.aware.routes.subnets[0]);
  for (auto [from, slow_port, twin] : {std::tuple{"r0", 5u, 6u}, std::tuple{"r1", 7u, 8u}}) {
    CAPTURE(from);
    const uint64_t slow = testing::RoutesOver(w, f, from, slow_port), fast = testing::RoutesOver(w, f, from, twin);
    CHECK(fast > 0);
    CHECK(double(slow) <= kDdrShare * double(fast) + 12);
  }
}

}  // namespace
}  // namespace fabricctl
