#include "fabric/error.h"

namespace fabricctl {

std::string Error::Format() const {
  std::string out;
  if (!where.empty()) {
    out += where;
    if (line > 0) out += ":" + std::to_string(line);
    out += ": ";
  }
  out += message;
  if (!text.empty()) {
    out += "\n  " + text;
    if (column > 0) out += "\n  " + std::string(static_cast<size_t>(column - 1), ' ') + "^";
  }
  return out;
}

}  // namespace fabricctl
