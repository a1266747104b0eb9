#pragma once
// Prometheus metrics of the always-on monitor (continuous.h): per link its windowed health,
// bandwidth ratio, current finding and last probe time, labelled with the link's name, its
// subnet and its tier pair; plus the coordinator's own gauges. Text exposition format
// 0.0.4, served over HTTP (metrics_server.h) or written as a node-exporter textfile.
#include <cstdint>
#include <string>
#include <vector>

#include "fabric/fabric.h"
#include "probes/sweep/continuous.h"
#include "routing/routes.h"

namespace fabricctl::sweep {

struct MonitoredLink {
  LinkId link = kNone;
  std::string labels;  // link="...",subnet="...",tier="1-2", escaped
};

// Every link of the routed subnets, with its labels. The tier pair is of the two nodes'
// tiers, lower first ("0-1" host-leaf, "1-2" leaf-spine): the tier label where the
// topology gives one, else the node's hop distance from the nearest endpoint.
std::vector<MonitoredLink> MonitoredLinks(const Fabric& fabric, const RouteSet& routes);

// Tier per node: its tier label, or its hop distance from the nearest endpoint when
// unlabelled (endpoints 0); -1 when no endpoint reaches it.
std::vector<int32_t> NodeTiers(const Fabric& fabric);

std::string MonitorMetrics(const Fabric& fabric, const std::vector<MonitoredLink>& links,
                           const MonitorSnapshot& snapshot, const MonitorOptions& options);

}  // namespace fabricctl::sweep
