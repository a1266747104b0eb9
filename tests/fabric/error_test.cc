#include "fabric/error.h"

#include <doctest/doctest.h>

#include <string>

namespace fabricctl {
namespace {

TEST_CASE("error text: control bytes of a binary file are shown as '?', tabs kept") {
  Error e{.message = "m",
          .where = "bin",
          .line = 1,
          .column = 2,
          .text = std::string("\x7f"
                              "E\x1b[2J\0\x01",
                              8)};
  CHECK(e.Format() == "bin:1: m\n  ?E?[2J??\n   ^");
  Error tab{.message = "m", .where = "f", .line = 2, .column = 2, .text = "\t\r"};
  CHECK(tab.Format() == "f:2: m\n  \t?\n  \t^");
}

TEST_CASE("error text: a very long line shows a window around the caret") {
  std::string line(1000, 'a');
  line[500] = 'X';
  Error e{.message = "m", .where = "big", .line = 1, .column = 501, .text = line};
  std::string out = e.Format();
  // Two lines under the message: "...<160 bytes>..." and the caret under the X.
  size_t text_at = out.find("\n  ") + 3;
  size_t caret_at = out.find("\n  ", text_at) + 3;
  std::string shown = out.substr(text_at, caret_at - 3 - text_at);
  std::string caret = out.substr(caret_at);
  CHECK(shown.size() == 3 + 160 + 3);
  CHECK(shown.starts_with("..."));
  CHECK(shown.ends_with("..."));
  REQUIRE(caret.size() >= 1);
  CHECK(caret.back() == '^');
  CHECK(shown[caret.size() - 1] == 'X');

  // Near the start: no leading "...".
  Error head{.message = "m", .where = "big", .line = 1, .column = 1, .text = line};
  CHECK(head.Format().starts_with("big:1: m\n  aaaa"));
  CHECK(head.Format().ends_with("...\n  ^"));
  // Near the end: the window is the last 160 bytes.
  Error tail{.message = "m", .where = "big", .line = 1, .column = 1000, .text = line};
  std::string t = tail.Format();
  CHECK(t.find("\n  ..." + std::string(160, 'a') + "\n") != std::string::npos);
  CHECK(t.ends_with(std::string(3 + 159, ' ') + "^"));
}

TEST_CASE("error text: short lines are shown whole") {
  Error e{.message = "m", .where = "f", .line = 3, .column = 0, .text = std::string(160, 'b')};
  CHECK(e.Format() == "f:3: m\n  " + std::string(160, 'b'));
}

TEST_CASE("error text: a message quoting a terminal escape or a huge value cannot flood or steer the terminal") {
  Error e{.message = "node \x1b]0;owned\x07 unknown\nsecond line", .where = "f\x1b[2J"};
  CHECK(e.Format() == "f?[2J: node ?]0;owned? unknown\nsecond line");
  Error big{.message = std::string(100000, 'x')};
  CHECK(big.Format().size() < 66 * 1024);
  CHECK(big.Format().ends_with("... (100000 bytes)"));
}

}  // namespace
}  // namespace fabricctl
