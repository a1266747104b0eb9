#include "probes/check/finding.h"

namespace fabricctl::check {

std::string_view ToString(Severity s) {
  switch (s) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kInfo:
      return "info";
  }
  return "warning";
}

std::string_view ToString(Scope s) {
  switch (s) {
    case Scope::kLink:
      return "link";
    case Scope::kPort:
      return "port";
    case Scope::kNode:
      return "node";
    case Scope::kFabric:
      return "fabric";
  }
  return "fabric";
}

}  // namespace fabricctl::check
