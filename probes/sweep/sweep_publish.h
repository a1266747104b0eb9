#pragma once
// What a finished sweep leaves behind, as one call: the JSON report, the HTML page and the
// Prometheus textfile when asked for (each written atomically), and a row in the SQLite
// history with the trends it shows. `sweep run` calls it after the probes; it prints nothing.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fabric/error.h"
#include "probes/sweep/history.h"
#include "probes/sweep/sweep_report.h"

namespace fabricctl::sweep {

struct PublishOptions {
  std::string output;   // JSON report; required
  std::string html;     // empty: none
  std::string prom;     // empty: none
  std::string history;  // SQLite database, created if missing; empty: none
  // Added to the report as "counters" (where the counters came from and what they said).
  nlohmann::json counters;
};

struct Published {
  nlohmann::json report;          // as written to `output`
  std::vector<LinkTrend> trends;  // from the history; empty without one
};

Result<Published> PublishSweep(const ReportInputs& in, const PublishOptions& options);

}  // namespace fabricctl::sweep
