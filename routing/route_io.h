#pragma once
// Reading and writing route sets: the OpenSM LFT dump (opensm-lfts.dump), the JSON
// route table and the per-pair SL table; see docs/formats.md.
#include <string>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "routing/routes.h"

namespace fabricctl {

// Writes every route file for `routes` into directory `dir` (created if missing), atomically.
Result<void> WriteRoutes(const Fabric& fabric, const RouteSet& routes, const std::string& dir);
// Reads a route set written by WriteRoutes (a directory) or a single opensm-lfts.dump,
// matching switches and LIDs to `fabric` by GUID; mismatches are errors naming the line.
Result<RouteSet> ReadRoutes(const Fabric& fabric, const std::string& path);

}  // namespace fabricctl
