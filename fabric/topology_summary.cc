#include "fabric/topology_summary.h"

#include <algorithm>
#include <map>

namespace fabricctl {
namespace {

// Speeds are declared in ascending signalling rate, so the enum order compares them.
bool Slower(LinkSpeed a, LinkSpeed b) { return static_cast<int>(a) < static_cast<int>(b); }

}  // namespace

WidthSpeed BestCommonRate(const Port& a, const Port& b) {
  WidthMask widths = 0xff;
  bool any_width = false;
  for (WidthMask m : {a.width_enabled, a.width_supported, b.width_enabled, b.width_supported}) {
    if (m == 0) continue;
    widths &= m;
    any_width = true;
  }
  SpeedMask speeds = 0xffff;
  bool any_speed = false;
  for (SpeedMask m : {a.speed_enabled, a.speed_supported, b.speed_enabled, b.speed_supported}) {
    if (m == 0) continue;
    speeds &= m;
    any_speed = true;
  }
  return WidthSpeed{.width = any_width ? WidestWidth(widths) : LinkWidth::kNone,
                    .speed = any_speed ? FastestSpeed(speeds) : LinkSpeed::kNone};
}

WidthSpeed ActiveRate(const Port& a, const Port& b) {
  return WidthSpeed{.width = LaneCount(a.width_active) <= LaneCount(b.width_active) ? a.width_active : b.width_active,
                    .speed = Slower(a.speed_active, b.speed_active) ? a.speed_active : b.speed_active};
}

TopologySummary Summarize(const Fabric& fabric) {
  TopologySummary s;
  s.nodes = fabric.num_nodes();
  s.links = fabric.num_links();
  std::map<int32_t, TierSummary> tiers;
  for (NodeId n = 0; n < fabric.num_nodes(); ++n) {
    const Node& node = fabric.node(n);
    bool is_switch = node.type == NodeType::kSwitch;
    s.switches += is_switch;
    s.endpoints += node.type == NodeType::kCa;
    s.routers += node.type == NodeType::kRouter;
    s.physical_ports += node.num_ports;
    s.connected_ports += fabric.neighbors(n).size();
    if (node.labels.tier < 0) {
      ++s.unlabelled_tier_nodes;
      continue;
    }
    TierSummary& t = tiers[node.labels.tier];
    t.tier = node.labels.tier;
    (is_switch ? t.switches : t.endpoints)++;
  }
  for (auto& [tier, t] : tiers) s.tiers.push_back(t);

  for (const Subnet& sub : fabric.subnets())
    s.subnets.push_back(SubnetSummary{.name = sub.name,
                                      .level = sub.level,
                                      .switches = sub.switches.size(),
                                      .endpoint_ports = sub.endpoint_ports.size()});

  // Histogram keyed by the raw enum pair; sorted by data rate afterwards.
  std::map<std::pair<LinkWidth, LinkSpeed>, size_t> rates;
  for (LinkId l = 0; l < fabric.num_links(); ++l) {
    const Port& a = fabric.port(fabric.link(l).a);
    const Port& b = fabric.port(fabric.link(l).b);
    WidthSpeed active = ActiveRate(a, b);
    ++rates[{active.width, active.speed}];
    WidthSpeed best = BestCommonRate(a, b);
    bool narrow = best.width != LinkWidth::kNone && LaneCount(active.width) < LaneCount(best.width);
    bool slow = best.speed != LinkSpeed::kNone && Slower(active.speed, best.speed);
    if (narrow || slow)
      s.degraded_links.push_back(DegradedLink{
          .link = l, .width = active.width, .speed = active.speed, .best_width = best.width, .best_speed = best.speed});
  }
  for (auto& [key, count] : rates)
    s.rates.push_back(RateCount{.width = key.first, .speed = key.second, .links = count});
  std::stable_sort(s.rates.begin(), s.rates.end(), [](const RateCount& x, const RateCount& y) {
    double gx = LinkDataGbps(x.width, x.speed), gy = LinkDataGbps(y.width, y.speed);
    if (gx != gy) return gx > gy;
    return LaneCount(x.width) > LaneCount(y.width);
  });
  return s;
}

std::string RateName(LinkWidth w, LinkSpeed s) {
  if (w == LinkWidth::kNone && s == LinkSpeed::kNone) return "unknown";
  return std::string(w == LinkWidth::kNone ? "?x" : ToString(w)) +
         std::string(s == LinkSpeed::kNone ? "?" : ToString(s));
}

nlohmann::json DataGbpsJson(LinkWidth w, LinkSpeed s) {
  const double gbps = LinkDataGbps(w, s);
  return gbps > 0 ? nlohmann::json(gbps) : nlohmann::json(nullptr);
}

nlohmann::json SummaryToJson(const TopologySummary& s, const Fabric& fabric) {
  using nlohmann::json;
  json subnets = json::array();
  for (const SubnetSummary& sub : s.subnets)
    subnets.push_back({{"name", sub.name},
                       {"level", ToString(sub.level)},
                       {"switches", sub.switches},
                       {"endpoint_ports", sub.endpoint_ports}});
  json tiers = json::array();
  for (const TierSummary& t : s.tiers)
    tiers.push_back({{"tier", t.tier}, {"switches", t.switches}, {"endpoints", t.endpoints}});
  json rates = json::array();
  for (const RateCount& r : s.rates)
    rates.push_back({{"rate", RateName(r.width, r.speed)},
                     {"width", ToString(r.width)},
                     {"speed", ToString(r.speed)},
                     {"gbps", DataGbpsJson(r.width, r.speed)},
                     {"links", r.links}});
  json degraded = json::array();
  for (const DegradedLink& d : s.degraded_links)
    degraded.push_back({{"link", fabric.LinkName(d.link)},
                        {"a", fabric.PortName(fabric.link(d.link).a)},
                        {"b", fabric.PortName(fabric.link(d.link).b)},
                        {"active", RateName(d.width, d.speed)},
                        {"best", RateName(d.best_width, d.best_speed)}});
  return json{{"nodes", s.nodes},
              {"switches", s.switches},
              {"endpoints", s.endpoints},
              {"routers", s.routers},
              {"physical_ports", s.physical_ports},
              {"connected_ports", s.connected_ports},
              {"links", s.links},
              {"subnets", std::move(subnets)},
              {"tiers", std::move(tiers)},
              {"unlabelled_tier_nodes", s.unlabelled_tier_nodes},
              {"rates", std::move(rates)},
              {"degraded_links", std::move(degraded)}};
}

}  // namespace fabricctl
