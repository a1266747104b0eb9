#include "routing/manage/damping.h"

#include <doctest/doctest.h>

namespace fabricctl {

TEST_CASE("damping: a link that changes less than N times in T is never held") {
  LinkDamping d({.flaps = 3, .window_seconds = 10, .hold_down_seconds = 60});
  CHECK(!d.Observe(7, false, 0));
  CHECK(!d.Observe(7, true, 5));
  CHECK(d.Usable(7, true, 5));
  // The third change comes after the first has left the window.
  CHECK(!d.Observe(7, false, 10.5));
  CHECK(!d.HeldDown(7, 10.5));
  CHECK(d.HeldLinks(10.5).empty());
  CHECK(d.NextRelease(10.5) == 0);
}

TEST_CASE("damping: N changes in T hold the link down for H after its last change") {
  LinkDamping d({.flaps = 3, .window_seconds = 10, .hold_down_seconds = 60});
  d.Observe(4, false, 100);
  d.Observe(4, true, 101);
  CHECK(d.Observe(4, false, 102));
  CHECK(d.Observe(4, true, 103));  // still flapping: the hold restarts
  CHECK(!d.Usable(4, true, 150));
  CHECK(d.HeldLinks(150) == std::vector<LinkId>{4});
  CHECK(d.NextRelease(150) == doctest::Approx(163));
  CHECK(d.HeldDown(4, 162.9));
  CHECK(!d.HeldDown(4, 163));
  CHECK(d.Usable(4, true, 163));
  // Other links are not affected.
  CHECK(d.Usable(5, true, 150));
  CHECK(!d.Usable(5, false, 150));
}
}  // namespace fabricctl
