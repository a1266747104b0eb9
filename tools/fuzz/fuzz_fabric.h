#pragma once
// Shared by the fuzz targets whose input names nodes, ports or LIDs:
// - Parsed(): the check that a parse error names the file "fuzz" and a line;
// - RingFabric()/RingRoutes(): a ring of three switches (GUIDs 0x3000..0x3002, ports 1 and
//   2 to the ring) with one endpoint each (GUIDs 0x30000, 0x30010, 0x30020 on switch port
//   3), and its updn routes (route files: dumps, SL tables, root GUIDs);
// - SmallFatTree(): a 2-tier fat tree of radix 4 (8 hosts, "host 0" ...), routed by ftree
//   (sweep plans, agents files).
// Each is built once per process.
#include <cstdio>
#include <cstdlib>

#include "fabric/fabric_builder.h"
#include "fabric/generator.h"
#include "routing/route_fabric.h"

namespace fabricctl::fuzz {

// Where an error must point: a line of the file, or (for a fault of the file as a whole,
// such as a list with nothing in it) at least the file.
enum class ErrorPlace { kLine, kFileOrLine };

// Whether `result` holds a value; an error must name the file "fuzz" (and a line, unless
// `place` allows the whole file) and must format; abort otherwise.
template <typename T>
bool Parsed(const Result<T>& result, ErrorPlace place = ErrorPlace::kLine) {
  if (result) return true;
  const bool located = place == ErrorPlace::kFileOrLine || result.error().line > 0;
  if (result.error().where != "fuzz" || !located) {
    std::fprintf(stderr, "error without file:line: %s\n", result.error().Format().c_str());
    std::abort();
  }
  (void)result.error().Format();
  return false;
}

inline const Fabric& RingFabric() {
  static const Fabric fabric = [] {
    FabricBuilder b;
    NodeId sw[3];
    for (unsigned i = 0; i < 3; ++i)
      sw[i] = *b.AddNode({.type = NodeType::kSwitch, .num_ports = 3, .guid = 0x3000 + i, .description = "ring"});
    for (unsigned i = 0; i < 3; ++i) {
      (void)b.Connect(sw[i], 2, sw[(i + 1) % 3], 1, LinkRate{});
      NodeId ca = *b.AddNode({.type = NodeType::kCa, .num_ports = 1, .guid = 0x30000 + i * 16, .description = "h"});
      (void)b.Connect(ca, 1, sw[i], 3, LinkRate{});
    }
    auto built = b.Build();
    if (!built) std::abort();
    return std::move(*built);
  }();
  return fabric;
}

inline const RouteSet& RingRoutes() {
  static const RouteSet routes = [] {
    auto selection = ParseEngineSelection("updn");
    if (!selection) std::abort();
    auto routed = RouteFabric(RingFabric(), *selection, {.threads = 1});
    if (!routed) std::abort();
    return std::move(routed->routes);
  }();
  return routes;
}

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
