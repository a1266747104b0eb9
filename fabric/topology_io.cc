#include "fabric/topology_io.h"

#include "fabric/file_io.h"
#include "fabric/ibnetdiscover_format.h"
#include "fabric/ibsim_format.h"
#include "fabric/json_topology.h"

namespace fabricctl {

std::optional<TopoFormat> ParseTopoFormat(std::string_view name) {
  if (name == "ibnetdiscover" || name == "ibnd") return TopoFormat::kIbnetdiscover;
  if (name == "json") return TopoFormat::kJson;
  if (name == "ibsim") return TopoFormat::kIbsim;
  if (name == "auto") return TopoFormat::kAuto;
  return std::nullopt;
}

TopoFormat FormatFromPath(std::string_view path) {
  if (path.ends_with(".json")) return TopoFormat::kJson;
  if (path.ends_with(".ibsim")) return TopoFormat::kIbsim;
  return TopoFormat::kIbnetdiscover;
}

Result<Fabric> ReadTopologyFile(const std::string& path, TopoFormat format) {
  auto text = ReadTextFile(path);
  if (!text) return std::unexpected(text.error());
  // A byte-order mark from a Windows editor is encoding noise, like CRLF line ends.
  if (text->starts_with("\xEF\xBB\xBF")) text->erase(0, 3);
  const size_t first = text->find_first_not_of(" \t\r\n");
  // An empty topology is never what a user means (a failed dump, the wrong file); the
  // parsers accept it, a command reading a file does not.
  if (first == std::string::npos)
    return MakeInputError(path, 0, "empty file, expected an ibnetdiscover, ibsim or JSON topology");
  if (format == TopoFormat::kAuto) format = (*text)[first] == '{' ? TopoFormat::kJson : TopoFormat::kIbnetdiscover;
  auto fabric = format == TopoFormat::kJson ? ParseJsonTopology(*text, path)
                                            // The ibnetdiscover reader also takes ibsim's simpler records.
                                            : ParseIbnetdiscover(*text, path);
  if (fabric && fabric->num_nodes() == 0)
    return MakeInputError(path, 0,
                          format == TopoFormat::kJson ? "no nodes in this topology"
                                                      : "no Switch, Ca or Rt record: not an ibnetdiscover topology");
  return fabric;
}

Result<void> WriteTopologyFile(const Fabric& fabric, const std::string& path, TopoFormat format) {
  if (format == TopoFormat::kAuto) format = FormatFromPath(path);
  std::string text;
  switch (format) {
    case TopoFormat::kJson:
      text = WriteJsonTopology(fabric);
      break;
    case TopoFormat::kIbsim:
      text = WriteIbsimTopology(fabric);
      break;
    case TopoFormat::kIbnetdiscover:
    case TopoFormat::kAuto:
      text = WriteIbnetdiscover(fabric);
      break;
  }
  return WriteFileAtomic(path, text);
}

}  // namespace fabricctl
