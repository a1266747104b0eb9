#pragma once
// OpenSM's LFT dump (opensm-lfts.dump): what `opensm -R file -U FILE` loads and what
// deploy reads. Lines: "Unicast lids [0-N] of switch Lid L guid 0x... ('desc'):", then
// "0xLID PORT # <type> portguid 0x...: 'desc'", then "K lids dumped".
// (route_io's WriteRoutes/ReadRoutes cover the full route directory; this is the one file
// OpenSM exchanges, kept here so deployment works from a dump alone.)
#include <string>
#include <string_view>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "routing/routes.h"

namespace fabricctl {

std::string FormatOpenSmLftDump(const Fabric& fabric, const RouteSet& routes);

// Resolves switches and LID owners by GUID in `fabric` (switch GUID, or CA port GUID or
// node GUID); unknown GUIDs, malformed lines and LIDs claimed twice are errors at file:line.
Result<RouteSet> ParseOpenSmLftDump(const Fabric& fabric, std::string_view text, std::string_view filename);

}  // namespace fabricctl
