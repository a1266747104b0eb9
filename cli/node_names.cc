#include "cli/node_names.h"

#include "fabric/node_name_map.h"

namespace fabricctl::cli {

CLI::Option* AddNodeNameMapOption(CLI::App& cmd, std::string& path) {
  return cmd.add_option("--node-name-map", path,
                        "Node names by GUID, infiniband-diags' format: '0xGUID \"name\"' lines, '#' comments");
}

Result<Fabric> ApplyNodeNameMap(Fabric fabric, const std::string& path) {
  if (path.empty()) return fabric;
  auto names = ReadNodeNameMap(path);
  if (!names) return std::unexpected(names.error());
  return RenameNodes(fabric, *names);
}

Result<Fabric> ReadNamedTopology(const std::string& path, TopoFormat format, const std::string& node_name_map) {
  auto fabric = ReadTopologyFile(path, format);
  if (!fabric) return fabric;
  return ApplyNodeNameMap(std::move(*fabric), node_name_map);
}

}  // namespace fabricctl::cli
