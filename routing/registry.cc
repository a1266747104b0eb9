#include "routing/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <vector>

#include "fabric/edit_distance.h"
#include "fabric/text_lines.h"
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
    {"auto",
     "picks per subnet by topology class: fat tree -> ftree, torus/mesh -> torus, else nue (updn/escape when huge); "
     "records why",
     "any", true, MakeAutoEngine},
    {"minhop", "balanced shortest paths; the baseline (not deadlock-free in general)", "any", false, MakeMinhopEngine},
    {"updn", "Up*/Down* from root switches (tiers, --root-guid-file, or heuristic); balanced; 1 VL", "any", true,
     MakeUpdnEngine},
    {"ftree", "fat trees: destination-mod-k up/down routes, balanced for shift and all-to-all; 1 VL",
     "fat trees (k-ary n-trees, XGFT, PGFT), also with some links missing", true, MakeFtreeEngine},
    {"dfsssp", "balanced shortest paths, then VL layers that break every credit loop; fails past --vls", "any", true,
     MakeDfssspEngine},
    {"escape", "nue-style: dfsssp's layers, Up*/Down* on the last VL where they do not fit; never exceeds --vls", "any",
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
  std::vector<std::string_view> candidates;
  for (const EngineInfo& e : kEngines) candidates.push_back(e.name);
  std::string msg = fmt::format("unknown routing engine '{}'", name);
  // Engine names are short: two edits away is already a different name.
  if (auto suggestion = ClosestMatch(name, candidates, 2)) msg += fmt::format("; did you mean '{}'?", *suggestion);
  msg += fmt::format(" (engines: {})", fmt::join(candidates, ", "));
  return Error{.message = msg};
}

std::string EnginesHelp() {
  std::string out;
  for (const EngineInfo& e : kEngines) out += fmt::format("  {:<8} {}\n", e.name, e.description);
  return out;
}

Result<std::vector<const EngineInfo*>> ParseEngineChain(std::string_view chain) {
  std::vector<const EngineInfo*> engines;
  for (std::string_view name : SplitList(chain)) {
    if (name.empty()) return MakeError(fmt::format("empty engine name in '{}'", chain));
    const EngineInfo* e = FindEngine(name);
    if (!e) return std::unexpected(UnknownEngineError(name));
    engines.push_back(e);
  }
  return engines;
}

}  // namespace fabricctl
