#pragma once
// The route manager's counters, and their Prometheus text exposition (a file the node
// exporter's textfile collector picks up, written atomically) and status JSON (the state
// directory's status.json, which `fabricctl manage status` prints).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "fabric/error.h"

namespace fabricctl {

struct ManageCounters {
  uint64_t sweeps = 0;
  uint64_t changes = 0;  // changes handled (repairs installed)
  uint64_t full_reroutes = 0;
  uint64_t blocks_written = 0;      // LFT blocks, since start
  uint64_t last_repair_blocks = 0;  // LFT blocks the last change wrote
  uint64_t unreachable_lids = 0;    // after the last change
  double started_unix = 0;
  double last_sweep_unix = 0;      // wall clock, seconds
  double last_repair_seconds = 0;  // detection to the last step read back
  double last_detect_seconds = 0;
  double repair_seconds_sum = 0;  // over every change
  uint64_t links_down = 0;
  uint64_t links_held_down = 0;
  uint64_t switches_down = 0;
};

// Prometheus text format 0.0.4, metric names fabricctl_manage_*.
std::string ManageMetricsText(const ManageCounters& counters);
Result<void> WriteManageMetrics(const std::string& path, const ManageCounters& counters);

nlohmann::json ManageStatusJson(const ManageCounters& counters);

}  // namespace fabricctl
