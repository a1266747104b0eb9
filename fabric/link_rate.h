#pragma once
// Link width and speed as InfiniBand encodes them, and the data rate they give.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fabricctl {

// Bit values of PortInfo LinkWidthActive/Enabled/Supported.
enum class LinkWidth : uint8_t { kNone = 0, k1x = 1, k4x = 2, k8x = 4, k12x = 8, k2x = 16 };
using WidthMask = uint8_t;  // OR of LinkWidth bits

// One enumerator per signalling rate; masks use bit (1 << value).
enum class LinkSpeed : uint8_t {
  kNone = 0,
  kSDR,
  kDDR,
  kQDR,
  kFDR10,
  kFDR,
  kEDR,
  kHDR,
  kNDR,
  kXDR,
};
using SpeedMask = uint16_t;  // OR of (1 << LinkSpeed)

constexpr SpeedMask SpeedBit(LinkSpeed s) { return static_cast<SpeedMask>(1u << static_cast<unsigned>(s)); }
constexpr WidthMask WidthBit(LinkWidth w) { return static_cast<WidthMask>(w); }

int LaneCount(LinkWidth w);                     // 1x -> 1, 4x -> 4, none -> 0
double LaneDataGbps(LinkSpeed s);               // data rate of one lane after encoding
double LinkDataGbps(LinkWidth w, LinkSpeed s);  // LaneCount * LaneDataGbps
// LinkDataGbps as text ("200", "54.56"); "?" when the width or the speed is not known.
std::string FormatDataGbps(LinkWidth w, LinkSpeed s);

std::string_view ToString(LinkWidth w);                       // "4x"
std::string_view ToString(LinkSpeed s);                       // "HDR"
std::optional<LinkWidth> ParseLinkWidth(std::string_view s);  // "4x", "4X"
std::optional<LinkSpeed> ParseLinkSpeed(std::string_view s);  // "HDR", "hdr"
// "4xHDR" as ibnetdiscover prints it; both parts required.
std::optional<std::pair<LinkWidth, LinkSpeed>> ParseWidthSpeed(std::string_view s);
std::string FormatWidthSpeed(LinkWidth w, LinkSpeed s);

// Widest width / fastest speed present in a mask; kNone for an empty mask.
LinkWidth WidestWidth(WidthMask mask);
LinkSpeed FastestSpeed(SpeedMask mask);

}  // namespace fabricctl
