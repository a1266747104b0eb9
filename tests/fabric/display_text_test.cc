#include "fabric/display_text.h"

#include <doctest/doctest.h>

#include <string>

namespace fabricctl {
namespace {

TEST_CASE("display text: control bytes become '?', tabs stay, line feeds only when kept") {
  CHECK(PrintableText("a\x1b[31mb\tc\n") == "a?[31mb\tc?");
  CHECK(PrintableText("a\nb", LineFeeds::kKeep) == "a\nb");
  CHECK(PrintableText(std::string("\0\x7f", 2)) == "??");
}

TEST_CASE("display text: a long value is cut and says how long it was") {
  CHECK(ShownValue("short") == "short");
  CHECK(ShownValue(std::string(1 << 20, 'v'), 8) == "vvvvvvvv... (1048576 bytes)");
  CHECK(ShownValue("\x1b\x1b\x1b", 2) == "??... (3 bytes)");
}

}  // namespace
}  // namespace fabricctl
