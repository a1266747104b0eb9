#pragma once
// What `fabricctl check` reports: one finding per fault, with a kind, a severity, the place
// (a link, port or node, named as the sweep report names them, with GUIDs) and the evidence
// that shows it. Every check (link rates, counters, identity, subnet manager, installed
// routes) produces findings; the reports (text, JSON, HTML, Prometheus) only format them.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace fabricctl::check {

// Ordered worst first when reports sort.
enum class Severity : uint8_t { kError = 0, kWarning = 1, kInfo = 2 };

// The JSON key that holds the place: "link", "port", "node", or "fabric" (the whole subnet).
enum class Scope : uint8_t { kLink, kPort, kNode, kFabric };

struct Finding {
  std::string kind;  // "link-rate", "counters", "duplicate-guid", "duplicate-lid", "sm", "routes", ...
  Severity severity = Severity::kWarning;
  Scope scope = Scope::kFabric;
  std::string where;        // Fabric::LinkName / PortName / description, GUIDs added where names repeat
  std::string summary;      // one line for people: "trained at 4xDDR (16 Gb/s), expected 4xEDR (100 Gb/s)"
  nlohmann::json evidence;  // machine twin: {"active": "4xDDR", "expected": "4xEDR", "basis": "..."}
};

struct CheckReport {
  std::vector<Finding> findings;
  std::vector<std::string> checks_run;      // "link-rate", "counters", ... in the order run
  std::vector<std::string> checks_skipped;  // "routes: no LFT dump given"
};

std::string_view ToString(Severity s);  // "error", "warning", "info"
std::string_view ToString(Scope s);     // "link", "port", "node", "fabric"

}  // namespace fabricctl::check
