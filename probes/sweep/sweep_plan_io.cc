#include "probes/sweep/sweep_plan_io.h"

#include <fmt/format.h>

#include <algorithm>

#include "probes/sweep/faults.h"
#include "probes/sweep/probe_path.h"

namespace fabricctl::sweep {

nlohmann::json PlanToJson(const Fabric& fabric, const SweepPlan& plan, PlanDetail detail) {
  nlohmann::json j;
  j["format"] = "fabricctl-sweep-plan";
  j["version"] = 1;
  j["probes"] = plan.probes.size();
  j["rounds"] = plan.num_rounds;
  j["lower_bound"] = plan.lower_bound;
  j["max_probes_per_endpoint"] = plan.max_probes_per_endpoint;
  j["channels"] = plan.channels;
  j["channels_covered"] = plan.channels_covered;
  j["channels_at_target"] = plan.channels_at_target;
  j["channels_limited"] = plan.channels_limited;
  if (detail == PlanDetail::kSchedule) {
    nlohmann::json list = nlohmann::json::array();
    for (const PlannedProbe& p : plan.probes) list.push_back({fabric.PortName(p.src), fabric.PortName(p.dst), p.round});
    j["schedule"] = std::move(list);
  }
  return j;
}

Result<SweepPlan> ParsePlanJson(const Fabric& fabric, const RouteSet& routes, std::string_view text,
                                std::string_view filename) {
  const std::string where(filename);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return std::unexpected(Error{.message = fmt::format("not JSON: {}", e.what()), .where = where});
  }
  if (!j.is_object() || j.value("format", "") != "fabricctl-sweep-plan")
    return std::unexpected(Error{.message = "expected a fabricctl-sweep-plan file", .where = where});
  if (j.value("version", 0) != 1)
    return std::unexpected(Error{.message = "unsupported plan version (expected 1)", .where = where});
  if (!j.contains("schedule") || !j["schedule"].is_array())
    return std::unexpected(Error{.message = "missing /schedule array", .where = where});
  SweepPlan plan;
  RouteIndex index(fabric, routes);
  const auto& schedule = j["schedule"];
  for (size_t i = 0; i < schedule.size(); ++i) {
    const auto& e = schedule[i];
    auto bad = [&](std::string what) {
      return std::unexpected(Error{.message = fmt::format("/schedule/{}: {}", i, what), .where = where});
    };
    if (!e.is_array() || e.size() != 3 || !e[0].is_string() || !e[1].is_string() || !e[2].is_number_unsigned())
      return bad("expected [\"src[port]\", \"dst[port]\", round]");
    auto src = FindPortByName(fabric, e[0].get<std::string>());
    if (!src) return bad(src.error().message);
    auto dst = FindPortByName(fabric, e[1].get<std::string>());
    if (!dst) return bad(dst.error().message);
    PlannedProbe p{.src = *src,
                   .dst = *dst,
                   .round = e[2].get<uint32_t>(),
                   .path_begin = static_cast<uint32_t>(plan.path_channels.size())};
    if (auto r = AppendProbePath(fabric, routes, index, *src, *dst, plan.path_channels); !r)
      return bad(r.error().message);
    p.path_end = static_cast<uint32_t>(plan.path_channels.size());
    plan.num_rounds = std::max(plan.num_rounds, p.round + 1);
    plan.probes.push_back(p);
  }
  plan.lower_bound = j.value("lower_bound", 0u);
  plan.max_probes_per_endpoint = j.value("max_probes_per_endpoint", 0u);
  plan.channels = j.value("channels", size_t{0});
  plan.channels_covered = j.value("channels_covered", size_t{0});
  plan.channels_at_target = j.value("channels_at_target", size_t{0});
  plan.channels_limited = j.value("channels_limited", size_t{0});
  return plan;
}

}  // namespace fabricctl::sweep
