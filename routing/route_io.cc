#include "routing/route_io.h"

namespace fabricctl {

Result<void> WriteRoutes(const Fabric&, const RouteSet&, const std::string&) { return MakeError("not yet"); }
Result<RouteSet> ReadRoutes(const Fabric&, const std::string&) { return MakeError("not yet"); }

}  // namespace fabricctl
