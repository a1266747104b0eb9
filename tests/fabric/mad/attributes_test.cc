#include "fabric/mad/attributes.h"

#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <nlohmann/json.hpp>

namespace fabricctl::mad {

TEST_CASE("a node description keeps UTF-8 and shows control bytes and broken UTF-8 as '?'") {
  std::array<uint8_t, 64> data{};
  const char text[] = "sw\x1b[2J caf\xc3\xa9 \xff\xc3 \xe2\x82";
  std::memcpy(data.data(), text, sizeof text - 1);
  std::string shown = DecodeNodeDescription(data.data());
  CHECK(shown == "sw?[2J caf\xc3\xa9 ?? ??");
  // What discovery keeps can go into JSON (whose writer refuses broken UTF-8).
  CHECK_NOTHROW((void)nlohmann::json(shown).dump());
}

TEST_CASE("a node description fills all 64 bytes without a NUL") {
  std::array<uint8_t, 64> data;
  data.fill('x');
  CHECK(DecodeNodeDescription(data.data()) == std::string(64, 'x'));
}

}  // namespace fabricctl::mad
