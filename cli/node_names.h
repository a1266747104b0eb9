#pragma once
// `--node-name-map FILE` (infiniband-diags' format, fabric/node_name_map.h) for every
// command that prints node names: the map is applied to the fabric right after it is read
// or discovered, so every line, report and file names nodes the way the operator does.
#include <CLI/CLI.hpp>
#include <string>

#include "fabric/error.h"
#include "fabric/fabric.h"
#include "fabric/topology_io.h"

namespace fabricctl::cli {

CLI::Option* AddNodeNameMapOption(CLI::App& cmd, std::string& path);

// `fabric` with the names of the map at `path`; unchanged when `path` is empty.
Result<Fabric> ApplyNodeNameMap(Fabric fabric, const std::string& path);
// ReadTopologyFile, then ApplyNodeNameMap.
Result<Fabric> ReadNamedTopology(const std::string& path, TopoFormat format, const std::string& node_name_map);

}  // namespace fabricctl::cli
