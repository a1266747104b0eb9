#pragma once
// The ibnetdiscover topology text (what `ibnetdiscover` prints) and the simpler topology
// files ibsim reads (Hca/Switch records without GUIDs). Documented in docs/formats.md.
#include <string>
#include <string_view>

#include "fabric/error.h"
#include "fabric/fabric.h"

namespace fabricctl {

// Strict: a malformed line is an Error with where = filename, the line number, the line.
// Records become nodes in file order. Every link must be listed from both ends, and the
// two ends must agree (peer port, port GUID, description, LID, width and speed). Records
// without a GUID (ibsim's `Switch 8 "Switch1"`) get the GUIDs ibsim would give them.
Result<Fabric> ParseIbnetdiscover(std::string_view text, std::string_view filename);
// Text that ibnetdiscover would print for this fabric, one record per node in NodeId
// order (so Parse(Write(f)) keeps node ids), connected ports in port order. Labels are
// not written; a GUID-less node is written as an ibsim record named by its description.
std::string WriteIbnetdiscover(const Fabric& fabric);

// The two lines that open a node's record ("switchguid=..." and "Switch N name # ..." for a
// switch, "caguid=..."/"rtguid=..." and "Ca"/"Rt" otherwise), shared with the ibsim writer.
// `name` is written as given (quoted by the caller); `port_guid` is a switch's port 0 GUID.
std::string NodeRecordHeader(const Node& node, std::string_view name, uint64_t guid, uint64_t port_guid,
                             std::string_view description, const Port& port0);

}  // namespace fabricctl
