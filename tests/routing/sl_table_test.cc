#include "routing/sl_table.h"

#include <doctest/doctest.h>

namespace fabricctl {
namespace {

std::string Failure(std::string_view text) {
  auto tables = ParseSlTable(text, "sl.txt");
  REQUIRE_FALSE(tables);
  return tables.error().Format();
}

TEST_CASE("SL table: repeats, empty LID ranges and overflowing numbers are errors with the line") {
  const std::string head = "# fabricctl sl-table v1\n";
  CHECK(ParseSlTable(head + "subnet s vls 2 lids 0x3\nsrc 0x1 -0-\nend\n", "sl.txt"));
  CHECK(Failure(head + "subnet s vls 2 lids 0x3\nsrc 0x1 -0-\nsrc 0x1 -1-\nend\n")
            .starts_with("sl.txt:4: source LID 0x0001 already listed on line 3"));
  CHECK(Failure(head + "subnet s vls 2 lids 0x3\nend\nsubnet s vls 2 lids 0x3\nend\n")
            .starts_with("sl.txt:4: subnet 's' already has a table on line 2"));
  CHECK(Failure(head + "subnet s vls 2 lids 0x0\nend\n")
            .starts_with("sl.txt:2: expected 'subnet NAME vls N lids 0xN' with 1..15 VLs and at least 1 LID"));
  CHECK(Failure(head + "subnet s vls 2 lids 0x10000000000000000\nend\n")
            .starts_with("sl.txt:2: expected 'subnet NAME vls N lids 0xN'"));
  CHECK(Failure(head + "subnet s vls 2 lids 0x3\nsrc 0x100000000 -0-\nend\n")
            .starts_with("sl.txt:3: expected 'src 0xLID SL-DIGITS'"));
  CHECK(Failure(head + "subnet s vls 2 lids 0x3\nsl2vl 0x1 1 256 0000000000000000\nend\n")
            .starts_with("sl.txt:3: expected 'sl2vl 0xSWITCHGUID IN OUT 16-HEX-DIGITS'"));
}

TEST_CASE("SL table: a quoted subnet name is shown without control bytes") {
  const std::string message = Failure(
      "# fabricctl sl-table v1\nsubnet a\x1b]0;x\x07 vls 2 lids 0x3\nend\nsubnet a\x1b]0;x\x07 vls 2 lids 0x3\n");
  CHECK(message.find('\x1b') == std::string::npos);
  CHECK(message.starts_with("sl.txt:4: subnet 'a?]0;x?' already has a table on line 2"));
}

}  // namespace
}  // namespace fabricctl
