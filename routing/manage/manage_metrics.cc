#include "routing/manage/manage_metrics.h"

#include <fmt/format.h>

#include "fabric/file_io.h"

namespace fabricctl {
namespace {

void Metric(std::string& out, std::string_view name, std::string_view type, std::string_view help, double value) {
  out += fmt::format("# HELP fabricctl_manage_{} {}\n# TYPE fabricctl_manage_{} {}\nfabricctl_manage_{} {}\n", name,
                     help, name, type, name, value);
}

}  // namespace

std::string ManageMetricsText(const ManageCounters& c) {
  std::string out;
  Metric(out, "sweeps_total", "counter", "Sweeps of the switches' port states.", double(c.sweeps));
  Metric(out, "events_total", "counter", "Fabric changes handled (repaired, verified and installed).",
         double(c.changes));
  Metric(out, "full_reroutes_total", "counter", "Full reroutes installed after a repair advised one.",
         double(c.full_reroutes));
  Metric(out, "lft_blocks_written_total", "counter", "64-entry LFT blocks written to switches.",
         double(c.blocks_written));
  Metric(out, "repair_seconds_total", "counter", "Time to repair summed over every change, seconds.",
         c.repair_seconds_sum);
  Metric(out, "last_repair_seconds", "gauge",
         "Time to repair of the last change: the sweep that saw it to the last step read back, seconds.",
         c.last_repair_seconds);
  Metric(out, "last_detect_seconds", "gauge", "Duration of the sweep that saw the last change, seconds.",
         c.last_detect_seconds);
  Metric(out, "last_repair_blocks", "gauge", "LFT blocks the last change wrote.", double(c.last_repair_blocks));
  Metric(out, "links_down", "gauge", "Cables routed around (down or held down).", double(c.links_down));
  Metric(out, "links_held_down", "gauge", "Cables held down by flap damping.", double(c.links_held_down));
  Metric(out, "switches_down", "gauge", "Switches that do not answer.", double(c.switches_down));
  Metric(out, "unreachable_lids", "gauge", "Endpoint LFT entries left without a route by the last change.",
         double(c.unreachable_lids));
  Metric(out, "last_sweep_timestamp_seconds", "gauge", "Unix time of the last sweep.", c.last_sweep_unix);
  Metric(out, "start_timestamp_seconds", "gauge", "Unix time the service started.", c.started_unix);
  return out;
}

Result<void> WriteManageMetrics(const std::string& path, const ManageCounters& counters) {
  return WriteFileAtomic(path, ManageMetricsText(counters));
}

nlohmann::json ManageStatusJson(const ManageCounters& c) {
  return {{"started_unix", c.started_unix},
          {"last_sweep_unix", c.last_sweep_unix},
          {"sweeps", c.sweeps},
          {"changes", c.changes},
          {"full_reroutes", c.full_reroutes},
          {"blocks_written", c.blocks_written},
          {"last_repair_blocks", c.last_repair_blocks},
          {"last_repair_seconds", c.last_repair_seconds},
          {"last_detect_seconds", c.last_detect_seconds},
          {"links_down", c.links_down},
          {"links_held_down", c.links_held_down},
          {"switches_down", c.switches_down},
          {"unreachable_lids", c.unreachable_lids}};
}

}  // namespace fabricctl
