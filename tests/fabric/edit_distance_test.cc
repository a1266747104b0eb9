#include "fabric/edit_distance.h"

#include <doctest/doctest.h>

namespace fabricctl {
namespace {

TEST_CASE("edit distance counts insertions, deletions and substitutions, ignoring case") {
  CHECK(EditDistance("", "") == 0);
  CHECK(EditDistance("updn", "updn") == 0);
  CHECK(EditDistance("upd", "updn") == 1);  // one insertion
  CHECK(EditDistance("ftre", "ftree") == 1);
  CHECK(EditDistance("minhop", "mnhop") == 1);   // one deletion
  CHECK(EditDistance("dfsssp", "dfssxp") == 1);  // one substitution
  CHECK(EditDistance("kitten", "sitting") == 3);
  CHECK(EditDistance("SymbolErrorCounter", "symbolerrorcounter") == 0);
  CHECK(EditDistance("abc", "") == 3);
  CHECK(EditDistance("\xff", "\xdf") == 1);  // bytes past ASCII compare as they are
}

}  // namespace
}  // namespace fabricctl
