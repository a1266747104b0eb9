#pragma once
// What `fabricctl topo show` reports: counts, subnets, tiers, link-rate histogram and the
// links that trained below what both of their ends can do.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fabric/fabric.h"

namespace fabricctl {

struct SubnetSummary {
  std::string name;
  FabricLevel level = FabricLevel::kUnknown;
  size_t switches = 0;
  size_t endpoint_ports = 0;
};

// Nodes labelled with one tier (0 endpoints, 1 leaves, 2 spines, 3 cores).
struct TierSummary {
  int32_t tier = -1;
  size_t switches = 0;
  size_t endpoints = 0;  // CAs and routers
};

// Links at one active width and speed; kNone in either when a port did not report it.
struct RateCount {
  LinkWidth width = LinkWidth::kNone;
  LinkSpeed speed = LinkSpeed::kNone;
  size_t links = 0;
};

// A link whose active width or speed is below the best both ends enable and support.
struct DegradedLink {
  LinkId link = kNone;
  LinkWidth width = LinkWidth::kNone;  // active (the narrower end)
  LinkSpeed speed = LinkSpeed::kNone;  // active (the slower end)
  LinkWidth best_width = LinkWidth::kNone;
  LinkSpeed best_speed = LinkSpeed::kNone;
};

struct TopologySummary {
  size_t nodes = 0;
  size_t switches = 0;
  size_t endpoints = 0;  // channel adapters
  size_t routers = 0;
  size_t physical_ports = 0;
  size_t connected_ports = 0;
  size_t links = 0;
  std::vector<SubnetSummary> subnets;  // in SubnetId order
  std::vector<TierSummary> tiers;      // ascending tier, labelled tiers only
  size_t unlabelled_tier_nodes = 0;
  std::vector<RateCount> rates;              // descending data rate
  std::vector<DegradedLink> degraded_links;  // in LinkId order
};

// The best width and speed a link can train at: the widest width and fastest speed common
// to what each end enables and supports. A mask of 0 means "not reported" and is skipped;
// kNone when nothing is reported at all.
struct WidthSpeed {
  LinkWidth width = LinkWidth::kNone;
  LinkSpeed speed = LinkSpeed::kNone;
};
WidthSpeed BestCommonRate(const Port& a, const Port& b);
// The narrower active width and slower active speed of the two ends.
WidthSpeed ActiveRate(const Port& a, const Port& b);

// "4xNDR"; "?" for a part not reported, "unknown" when neither is.
std::string RateName(LinkWidth w, LinkSpeed s);
// LinkDataGbps for JSON: null when the width or the speed is not known ("??HDR"), not 0.
nlohmann::json DataGbpsJson(LinkWidth w, LinkSpeed s);

TopologySummary Summarize(const Fabric& fabric);
// Keys: nodes, switches, endpoints, routers, physical_ports, connected_ports, links,
// subnets[{name, level, switches, endpoint_ports}], tiers[{tier, switches, endpoints}],
// rates[{rate, width, speed, links}], degraded_links[{link, active, best}].
nlohmann::json SummaryToJson(const TopologySummary& summary, const Fabric& fabric);

}  // namespace fabricctl
