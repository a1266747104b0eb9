#include "probes/sweep/sweep_plan_io.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "fabric/display_text.h"
#include "fabric/json_reader.h"
#include "probes/sweep/port_names.h"
#include "probes/sweep/probe_path.h"

namespace fabricctl::sweep {
namespace {

using nlohmann::json;

constexpr std::string_view kPlanFormat = "fabricctl-sweep-plan";
constexpr uint32_t kMaxCoverage = 16;
// Node descriptions are 64 bytes on InfiniBand; a name much longer is not a port name.
constexpr size_t kMaxPortName = 256;

// One schedule entry as the file states it.
struct Entry {
  PortId src = kNone, dst = kNone;
  uint64_t round = 0;  // as written; renumbered densely once all are read
  const json* value = nullptr;
};

// Reads a parsed plan. The figures a plan file states (rounds, coverage, bounds) are only
// type-checked: they are recomputed from the probes against this fabric and these routes,
// so a plan cannot claim coverage it does not have. Rounds are labels: they are renumbered
// 0, 1, 2, ... in their order, so no allocation follows a number from the file.
class PlanReader {
 public:
  PlanReader(const Fabric& fabric, const RouteSet& routes, const JsonDocument& doc, std::string_view filename)
      : fabric_(fabric), routes_(routes), doc_(doc), fields_(filename, &doc.lines), names_(fabric) {}

  Result<SweepPlan> Read() {
    SweepPlan plan;
    auto coverage = ReadHeader();
    if (!coverage) return std::unexpected(coverage.error());
    plan.coverage = *coverage;
    auto schedule = fields_.Required(doc_.root, root_, "schedule");
    if (!schedule) return std::unexpected(schedule.error());
    JsonPath schedule_at = root_.Key("schedule");
    if (auto a = fields_.Array(**schedule, schedule_at); !a) return std::unexpected(a.error());
    std::vector<Entry> entries;
    entries.reserve((*schedule)->size());
    for (size_t i = 0; i < (*schedule)->size(); ++i) {
      auto entry = ReadEntry((**schedule)[i], schedule_at.Index(i));
      if (!entry) return std::unexpected(entry.error());
      entries.push_back(*entry);
    }
    std::vector<uint32_t> rounds = DenseRounds(entries);
    if (auto r = BuildProbes(entries, rounds, schedule_at, plan); !r) return std::unexpected(r.error());
    SummarisePlan(fabric_, routes_, plan);
    return plan;
  }

 private:
  // The header fields; returns the coverage target.
  Result<uint32_t> ReadHeader() const {
    auto top =
        fields_.Object(doc_.root, root_,
                       {"format", "version", "coverage", "probes", "rounds", "lower_bound", "max_probes_per_endpoint",
                        "channels", "channels_covered", "channels_at_target", "channels_limited", "schedule"});
    if (!top) return std::unexpected(top.error());
    auto format = fields_.Required(doc_.root, root_, "format");
    if (!format) return std::unexpected(format.error());
    JsonPath format_at = root_.Key("format");
    if (!(*format)->is_string() || (*format)->get_ref<const std::string&>() != kPlanFormat)
      return fields_.Fail(format_at, fmt::format("expected \"{}\", got {}", kPlanFormat, ShownJson(**format)), *format);
    auto version = fields_.Required(doc_.root, root_, "version");
    if (!version) return std::unexpected(version.error());
    JsonPath version_at = root_.Key("version");
    if (auto v = fields_.Unsigned(**version, version_at, 1, 1); !v) return std::unexpected(v.error());
    for (std::string_view figure : {"probes", "rounds", "lower_bound", "max_probes_per_endpoint", "channels",
                                    "channels_covered", "channels_at_target", "channels_limited"})
      if (const json* value = JsonFields::Find(doc_.root, figure)) {
        JsonPath at = root_.Key(figure);
        if (auto v = fields_.Unsigned(*value, at, std::numeric_limits<uint64_t>::max()); !v)
          return std::unexpected(v.error());
      }
    const json* coverage = JsonFields::Find(doc_.root, "coverage");
    if (!coverage) return PlanOptions{}.coverage;
    JsonPath coverage_at = root_.Key("coverage");
    auto v = fields_.Unsigned(*coverage, coverage_at, 1, kMaxCoverage);
    if (!v) return std::unexpected(v.error());
    return static_cast<uint32_t>(*v);
  }

  Result<PortId> Port(const json& j, const JsonPath& at) const {
    auto name = fields_.String(j, at);
    if (!name) return std::unexpected(name.error());
    if ((*name)->size() > kMaxPortName)
      return fields_.Fail(at, fmt::format("expected a port as desc[port], got {} bytes", (*name)->size()), &j);
    auto port = names_.FindPort(**name);
    if (!port) return fields_.Fail(at, port.error().message, &j);
    return *port;
  }

  Result<Entry> ReadEntry(const json& e, const JsonPath& at) const {
    if (auto a = fields_.Array(e, at, 3, 3); !a)
      return fields_.Fail(at, "expected [\"src[port]\", \"dst[port]\", round]", &e);
    JsonPath src_at = at.Index(0), dst_at = at.Index(1), round_at = at.Index(2);
    auto src = Port(e[0], src_at);
    if (!src) return std::unexpected(src.error());
    auto dst = Port(e[1], dst_at);
    if (!dst) return std::unexpected(dst.error());
    if (*src == *dst) return fields_.Fail(dst_at, "a probe needs two different ports", &e[1]);
    auto round = fields_.Unsigned(e[2], round_at, std::numeric_limits<uint32_t>::max());
    if (!round) return std::unexpected(round.error());
    return Entry{.src = *src, .dst = *dst, .round = *round, .value = &e};
  }

  // Round labels to 0, 1, 2, ... in their order.
  static std::vector<uint32_t> DenseRounds(const std::vector<Entry>& entries) {
    std::vector<uint64_t> labels;
    labels.reserve(entries.size());
    for (const Entry& e : entries) labels.push_back(e.round);
    std::sort(labels.begin(), labels.end());
    labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
    std::vector<uint32_t> dense;
    dense.reserve(entries.size());
    for (const Entry& e : entries)
      dense.push_back(static_cast<uint32_t>(std::lower_bound(labels.begin(), labels.end(), e.round) - labels.begin()));
    return dense;
  }

  // Probes with their paths; within a round no endpoint port and no channel may serve two
  // probes (the plan's promise that every probe measures an uncontended path). The error
  // is that of the first faulty entry in file order, as if the entries were checked one by
  // one; the checks themselves go round by round over flat arrays, since a plan names
  // millions of (round, channel) pairs.
  Result<void> BuildProbes(const std::vector<Entry>& entries, const std::vector<uint32_t>& rounds,
                           const JsonPath& schedule_at, SweepPlan& plan) const {
    RouteIndex index(fabric_, routes_);
    size_t path_failed = entries.size();  // the first entry without a path
    std::optional<Error> path_error;
    plan.probes.reserve(entries.size());
    for (size_t i = 0; i < entries.size() && !path_error; ++i) {
      const Entry& e = entries[i];
      PlannedProbe p{.src = e.src,
                     .dst = e.dst,
                     .round = rounds[i],
                     .path_begin = static_cast<uint32_t>(plan.path_channels.size())};
      if (auto r = AppendProbePath(fabric_, routes_, index, e.src, e.dst, plan.path_channels); !r) {
        path_failed = i;
        path_error = fields_.Fail(schedule_at.Index(i), r.error().message, e.value).error();
        break;
      }
      p.path_end = static_cast<uint32_t>(plan.path_channels.size());
      plan.probes.push_back(p);
    }
    if (std::optional<Clash> clash = FirstClash(entries, rounds, plan, std::min(path_failed + 1, entries.size())))
      if (clash->entry <= path_failed) {
        const Entry& e = entries[clash->entry];
        return Conflict(schedule_at.Index(clash->entry), e, entries[clash->earlier], clash->earlier,
                        clash->channel ? "channel " + fabric_.PortName(clash->port) : fabric_.PortName(clash->port));
      }
    if (path_error) return std::unexpected(*path_error);
    return {};
  }

  // Entry `entry` uses `port` (an endpoint port, or a channel) that `earlier` uses in the
  // same round.
  struct Clash {
    size_t entry = 0, earlier = 0;
    PortId port = kNone;
    bool channel = false;
  };

  // The first entry among the first `count` that shares an endpoint port or a channel with
  // an earlier entry of its round. Entries from probes.size() on have no path: only their
  // endpoint ports are checked.
  std::optional<Clash> FirstClash(const std::vector<Entry>& entries, const std::vector<uint32_t>& rounds,
                                  const SweepPlan& plan, size_t count) const {
    // Entries by round, in file order within each.
    std::vector<size_t> order(count);
    for (size_t i = 0; i < count; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rounds[a] < rounds[b]; });
    std::optional<Clash> first;
    // By port: the last round that used it (+1, 0 = none) and the entry that used it first then.
    std::vector<uint32_t> endpoint_round(fabric_.num_port_slots(), 0), channel_round(fabric_.num_port_slots(), 0);
    std::vector<size_t> endpoint_user(fabric_.num_port_slots()), channel_user(fabric_.num_port_slots());
    auto use = [&](std::vector<uint32_t>& round_of, std::vector<size_t>& user, PortId port, size_t i,
                   bool channel) -> bool {
      const uint32_t stamp = rounds[i] + 1;
      if (round_of[port] != stamp) {
        round_of[port] = stamp;
        user[port] = i;
        return true;
      }
      if (!first || i < first->entry)
        first = Clash{.entry = i, .earlier = user[port], .port = port, .channel = channel};
      return false;
    };
    for (size_t i : order) {
      const Entry& e = entries[i];
      if (!use(endpoint_round, endpoint_user, e.src, i, false) || !use(endpoint_round, endpoint_user, e.dst, i, false))
        continue;
      if (i >= plan.probes.size()) continue;
      for (PortId c : plan.path(plan.probes[i]))
        if (!use(channel_round, channel_user, c, i, true)) break;
    }
    return first;
  }

  std::unexpected<Error> Conflict(const JsonPath& at, const Entry& e, const Entry& earlier, size_t earlier_index,
                                  const std::string& what) const {
    if (e.src == earlier.src && e.dst == earlier.dst)
      return fields_.Fail(at, fmt::format("duplicate of /schedule/{}", earlier_index), e.value);
    return fields_.Fail(
        at, fmt::format("{} is already in probe /schedule/{} of round {}", ShownValue(what), earlier_index, e.round),
        e.value);
  }

  const Fabric& fabric_;
  const RouteSet& routes_;
  const JsonDocument& doc_;
  JsonFields fields_;
  JsonPath root_;
  PortNames names_;
};

}  // namespace

nlohmann::json PlanToJson(const Fabric& fabric, const SweepPlan& plan, PlanDetail detail) {
  nlohmann::json j;
  j["format"] = kPlanFormat;
  j["version"] = 1;
  j["coverage"] = plan.coverage;
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
  if (routes.port_lid.size() != fabric.num_port_slots())
    return MakeError("routes do not match the topology (port count differs)");
  auto doc = ReadJsonDocument(text, filename);
  if (!doc) return std::unexpected(doc.error());
  return PlanReader(fabric, routes, **doc, filename).Read();
}

}  // namespace fabricctl::sweep
