#pragma once
// Counter readings from a file: what `fabricctl counters --json` prints
// ({"ports": [{"node", "guid", "port", "lid", "extended", "counters": {Name: value}}], ...}),
// matched to the topology by node GUID (else node description) and port number. Two such
// files taken some seconds apart make a counter interval.
#include <string>
#include <string_view>

#include "fabric/counters.h"
#include "fabric/error.h"
#include "fabric/fabric.h"

namespace fabricctl::check {

// Strict: unknown counter names, ports not in the topology and malformed values are errors
// naming the file, line and JSON pointer. Counters left out of a port read as 0.
Result<CounterReport> ParseCounterFile(const Fabric& fabric, std::string_view text, std::string_view filename);
Result<CounterReport> ReadCounterFile(const Fabric& fabric, const std::string& path);

}  // namespace fabricctl::check
