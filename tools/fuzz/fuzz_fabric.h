#pragma once
// A small routed fabric for the fuzz targets whose input names nodes and ports (sweep
// plans, agents files): a 2-tier fat tree of radix 4 (8 hosts, "host 0" ...), routed by
// ftree. Built once per process.
#include <cstdlib>

#include "fabric/generator.h"
#include "routing/route_fabric.h"

namespace fabricctl::fuzz {

struct RoutedFabric {
  Fabric fabric;
  RouteSet routes;
};

inline const RoutedFabric& SmallFatTree() {
  static const RoutedFabric routed = [] {
    auto fabric = Generate("fat-tree", {{"k", "4"}, {"tiers", "2"}});
    if (!fabric) std::abort();
    auto selection = ParseEngineSelection("ftree");
    if (!selection) std::abort();
    auto routes = RouteFabric(*fabric, *selection, RouteFabricOptions{.threads = 1});
    if (!routes) std::abort();
    return RoutedFabric{.fabric = std::move(*fabric), .routes = std::move(routes->routes)};
  }();
  return routed;
}

}  // namespace fabricctl::fuzz
