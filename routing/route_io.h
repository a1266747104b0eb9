#pragma once
// Reading and writing route sets: the OpenSM LFT dump (opensm-lfts.dump), the JSON
// route table and the per-pair SL table; see docs/formats.md.
#include <string>
#include <vector>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "routing/routes.h"

namespace fabricctl {

// Writes every route file for `routes` into directory `dir` (created if missing) as one set
// (routing/route_set.h): each file atomically, route files of an earlier run that this one
// does not write removed, the manifest last.
Result<void> WriteRoutes(const Fabric& fabric, const RouteSet& routes, const std::string& dir);

// Which files WriteRoutes writes: routes.json; opensm-lfts.dump (one subnet) or
// opensm-lfts.<subnet name, '/' as '_'>.dump per subnet; sl-table.txt when a subnet uses
// several VLs.
struct RouteWriteOptions {
  bool json = true;
  bool dump = true;
};
Result<void> WriteRoutes(const Fabric& fabric, const RouteSet& routes, const std::string& dir,
                         const RouteWriteOptions& options);
std::string DumpFileName(const Fabric& fabric, SubnetId subnet);
// Reads a route set written by WriteRoutes (a directory), a routes.json or a single
// opensm-lfts.dump, matching switches and LIDs to `fabric` by GUID; mismatches are errors
// naming the line. A directory without a complete, unmixed set (no manifest, a listed file
// missing or changed, a route file the manifest does not list) is refused, naming the file.
Result<RouteSet> ReadRoutes(const Fabric& fabric, const std::string& path);

// The LFTs of route files as written, without a topology (for `route diff`): a
// directory (its set's routes.json, else its dumps), a .json file or a dump.
struct RawLfts;
Result<std::vector<RawLfts>> ReadRawLfts(const std::string& path);

}  // namespace fabricctl
