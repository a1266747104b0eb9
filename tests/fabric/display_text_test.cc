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

TEST_CASE("display text: C1 controls and bytes that are not UTF-8 become '?', one per byte; UTF-8 text stays") {
  CHECK(PrintableText("a\xc2\x9b"
                      "2Jb") == "a??2Jb");  // U+009B: CSI in one character
  CHECK(PrintableText("\x9b"
                      "31m") == "?31m");  // a bare 8-bit CSI byte
  CHECK(PrintableText("\xff\xfe\xc3\x28!") ==
        "???"
        "(!");                                                // invalid lead bytes, a broken pair
  CHECK(PrintableText("\xc0\xaf \xed\xa0\x80") == "?? ???");  // overlong '/', a surrogate
  CHECK(PrintableText("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0") ==
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0");
  CHECK(PrintableText("cut \xe2\x82") == "cut ??");  // a sequence cut at the end
}

TEST_CASE("display text: a long value is cut and says how long it was") {
  CHECK(ShownValue("short") == "short");
  CHECK(ShownValue(std::string(1 << 20, 'v'), 8) == "vvvvvvvv... (1048576 bytes)");
  CHECK(ShownValue("\x1b\x1b\x1b", 2) == "??... (3 bytes)");
}

}  // namespace
}  // namespace fabricctl
