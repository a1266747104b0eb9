#include "fabric/link_rate.h"

#include <fmt/format.h>

#include <array>
#include <cctype>

namespace fabricctl {
namespace {

struct WidthInfo {
  LinkWidth width;
  std::string_view name;
  int lanes;
};
constexpr std::array<WidthInfo, 5> kWidths{{
    {LinkWidth::k1x, "1x", 1},
    {LinkWidth::k2x, "2x", 2},
    {LinkWidth::k4x, "4x", 4},
    {LinkWidth::k8x, "8x", 8},
    {LinkWidth::k12x, "12x", 12},
}};

struct SpeedInfo {
  LinkSpeed speed;
  std::string_view name;
  double lane_gbps;  // data rate after line encoding (8b/10b, 64b/66b, PAM4 FEC)
};
constexpr std::array<SpeedInfo, 9> kSpeeds{{
    {LinkSpeed::kSDR, "SDR", 2.0},
    {LinkSpeed::kDDR, "DDR", 4.0},
    {LinkSpeed::kQDR, "QDR", 8.0},
    {LinkSpeed::kFDR10, "FDR10", 10.0},
    {LinkSpeed::kFDR, "FDR", 13.64},
    {LinkSpeed::kEDR, "EDR", 25.0},
    {LinkSpeed::kHDR, "HDR", 50.0},
    {LinkSpeed::kNDR, "NDR", 100.0},
    {LinkSpeed::kXDR, "XDR", 200.0},
}};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

int LaneCount(LinkWidth w) {
  for (const auto& i : kWidths)
    if (i.width == w) return i.lanes;
  return 0;
}

double LaneDataGbps(LinkSpeed s) {
  for (const auto& i : kSpeeds)
    if (i.speed == s) return i.lane_gbps;
  return 0.0;
}

double LinkDataGbps(LinkWidth w, LinkSpeed s) { return LaneCount(w) * LaneDataGbps(s); }

std::string FormatDataGbps(LinkWidth w, LinkSpeed s) {
  const double gbps = LinkDataGbps(w, s);
  return gbps > 0 ? fmt::format("{:g}", gbps) : "?";
}

std::string_view ToString(LinkWidth w) {
  for (const auto& i : kWidths)
    if (i.width == w) return i.name;
  return "none";
}

std::string_view ToString(LinkSpeed s) {
  for (const auto& i : kSpeeds)
    if (i.speed == s) return i.name;
  return "none";
}

std::optional<LinkWidth> ParseLinkWidth(std::string_view s) {
  for (const auto& i : kWidths)
    if (EqualsIgnoreCase(i.name, s)) return i.width;
  return std::nullopt;
}

std::optional<LinkSpeed> ParseLinkSpeed(std::string_view s) {
  for (const auto& i : kSpeeds)
    if (EqualsIgnoreCase(i.name, s)) return i.speed;
  return std::nullopt;
}

std::optional<std::pair<LinkWidth, LinkSpeed>> ParseWidthSpeed(std::string_view s) {
  size_t x = s.find_first_of("xX");
  if (x == std::string_view::npos || x == 0) return std::nullopt;
  auto w = ParseLinkWidth(s.substr(0, x + 1));
  auto sp = ParseLinkSpeed(s.substr(x + 1));
  if (!w || !sp) return std::nullopt;
  return std::pair{*w, *sp};
}

std::string FormatWidthSpeed(LinkWidth w, LinkSpeed s) { return std::string(ToString(w)) + std::string(ToString(s)); }

LinkWidth WidestWidth(WidthMask mask) {
  LinkWidth best = LinkWidth::kNone;
  for (const auto& i : kWidths)
    if ((mask & WidthBit(i.width)) && i.lanes > LaneCount(best)) best = i.width;
  return best;
}

LinkSpeed FastestSpeed(SpeedMask mask) {
  LinkSpeed best = LinkSpeed::kNone;
  for (const auto& i : kSpeeds)
    if (mask & SpeedBit(i.speed)) best = i.speed;  // table is in ascending order
  return best;
}

}  // namespace fabricctl
