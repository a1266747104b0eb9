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
    if (column > 0) {
      // Keep the tabs of the offending line so the caret lands under the right character.
      std::string pad;
      for (size_t i = 0; i + 1 < static_cast<size_t>(column) && i < text.size(); ++i) pad += text[i] == '\t' ? '\t' : ' ';
      out += "\n  " + pad + "^";
    }
  }
  return out;
}

}  // namespace fabricctl
