#include "fabric/ibnetdiscover_format.h"

namespace fabricctl {

Result<Fabric> ParseIbnetdiscover(std::string_view, std::string_view filename) {
  return std::unexpected(Error{.message = "ibnetdiscover reader not built yet", .where = std::string(filename)});
}
std::string WriteIbnetdiscover(const Fabric&) { return {}; }

}  // namespace fabricctl
