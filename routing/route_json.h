#pragma once
// The JSON route table (routes.json), the machine twin of the LFT dump plus what the dump
// cannot say: engine, reason, LID owners by node GUID and port, SL data. Versioned:
//   {"format": "fabricctl-routes", "version": 1, "subnets": [{"name", "engine", "reason",
//    "num_lids", "vls", "lids": [[lid, "0xNODEGUID", port], ...],
//    "switches": [{"guid", "description", "lid", "lft": "<2 hex digits per LID from 0>"}],
//    "sl": {...}  (only with vls > 1)}]}
// docs/formats.md.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "routing/opensm_dump.h"
#include "routing/routes.h"
#include "routing/sl_table.h"

namespace fabricctl {

inline constexpr int kRouteJsonVersion = 1;

struct ParsedRouteSubnet {
  RawLfts lfts;
  std::string engine, reason;
  std::optional<RawSlTable> sl;
};

std::string WriteRouteJson(const Fabric& fabric, const RouteSet& routes);
// Errors name the JSON path ("/subnets/0/switches/3/lft") or, for syntax, the line.
Result<std::vector<ParsedRouteSubnet>> ParseRouteJson(std::string_view text, std::string_view filename);

}  // namespace fabricctl
