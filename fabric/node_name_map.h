#pragma once
// Node name maps in infiniband-diags' format (`--node-name-map`): one `0xGUID "name"` line
// per node, `#` comments and blank lines. Operators keep one file for ibnetdiscover,
// iblinkinfo and friends; fabricctl reads the same file and shows the same names.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "fabric/error.h"
#include "fabric/fabric.h"

namespace fabricctl {

class NodeNameMap {
 public:
  // The name given to the node with this node GUID, or nullptr.
  const std::string* Find(uint64_t guid) const;
  // The name given to the node with this node GUID, or `reported` (its NodeDescription).
  std::string_view NameOr(uint64_t guid, std::string_view reported) const;
  size_t size() const { return names_.size(); }

 private:
  friend Result<NodeNameMap> ParseNodeNameMap(std::string_view text, const std::string& where);
  std::unordered_map<uint64_t, std::string> names_;
};

// Strict: a line is blank, a comment, or `GUID NAME [# comment]`, GUID `0x` and 1-16 hex
// digits, NAME in double quotes (or one word without them). Anything else, and a GUID named
// twice, is an error at `where:line`.
Result<NodeNameMap> ParseNodeNameMap(std::string_view text, const std::string& where);
Result<NodeNameMap> ReadNodeNameMap(const std::string& path);

// The fabric with every node the map names described by its mapped name; other nodes keep
// their NodeDescription. Ids, ports and cabling are unchanged.
Result<Fabric> RenameNodes(const Fabric& fabric, const NodeNameMap& names);

}  // namespace fabricctl
