#include "routing/registry.h"

#include <fmt/format.h>

#include <algorithm>

#include "fabric/edit_distance.h"
#include "routing/auto_engine.h"
#include "routing/dfsssp.h"
#include "routing/ftree.h"
#include "routing/minhop.h"
#include "routing/nue.h"
#include "routing/torus.h"
#include "routing/updn.h"

namespace fabricctl {
namespace {

// Engines other branches add (dfsssp, torus) get one line each here.
constexpr EngineInfo kEngines[] = {
    {"auto", "picks per subnet by topology class: fat tree -> ftree, torus/mesh -> torus, else updn; records why",
     "any", true, MakeAutoEngine},
    {"minhop", "balanced shortest paths; the baseline (not deadlock-free in general)", "any", false, MakeMinhopEngine},
    {"updn", "Up*/Down* from root switches (tiers, --root-guid-file, or heuristic); balanced; 1 VL", "any", true,
     MakeUpdnEngine},
    {"ftree", "fat trees: destination-mod-k up/down routes, balanced for shift and all-to-all; 1 VL",
     "fat trees (k-ary n-trees, XGFT, PGFT), also with some links missing", true, MakeFtreeEngine},
    {"dfsssp", "balanced shortest paths, then VL layers that break every credit loop; fails past --vls", "any", true,
     MakeDfssspEngine},
    {"escape", "nue-style: dfsssp layers within --vls minus one, Up*/Down* on the last VL; never exceeds --vls", "any",
     true, MakeEscapeEngine},
    {"torus", "dimension-order routing with datelines; 2 VLs (1 on meshes)",
     "complete 1D/2D/3D tori and meshes of switches (declines one with a failed cable)", true, MakeTorusEngine},
    {"nue", "Nue: 1 to --vls VLs, each VL's dependency graph kept acyclic while routes balance", "any", true,
     MakeNueEngine},
};

}  // namespace

std::span<const EngineInfo> Engines() { return kEngines; }

const EngineInfo* FindEngine(std::string_view name) {
  for (const EngineInfo& e : kEngines)
    if (e.name == name) return &e;
  return nullptr;
}

Error UnknownEngineError(std::string_view name) {
  std::string names, suggestion;
  size_t best = 3;  // suggest only close names
  for (const EngineInfo& e : kEngines) {
    names += names.empty() ? "" : ", ";
    names += e.name;
    size_t d = EditDistance(name, e.name);
    if (d < best || (d <= 2 && e.name.starts_with(name) && !name.empty())) best = d, suggestion = e.name;
  }
  std::string msg = fmt::format("unknown routing engine '{}'", name);
  if (!suggestion.empty()) msg += fmt::format("; did you mean '{}'?", suggestion);
  msg += fmt::format(" (engines: {})", names);
  return Error{.message = msg};
}

std::string EnginesHelp() {
  std::string out;
  for (const EngineInfo& e : kEngines) out += fmt::format("  {:<8} {}\n", e.name, e.description);
  return out;
}

Result<std::vector<const EngineInfo*>> ParseEngineChain(std::string_view chain) {
  std::vector<const EngineInfo*> engines;
  size_t start = 0;
  while (start <= chain.size()) {
    size_t comma = chain.find(',', start);
    std::string_view name =
        chain.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (name.empty()) return MakeError(fmt::format("empty engine name in '{}'", chain));
    const EngineInfo* e = FindEngine(name);
    if (!e) return std::unexpected(UnknownEngineError(name));
    engines.push_back(e);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return engines;
}

}  // namespace fabricctl
