#include "fabric/generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "fabric/display_text.h"
#include "fabric/edit_distance.h"
#include "fabric/generators/degrade.h"
#include "fabric/generators/generators.h"
#include "fabric/generators/params.h"

namespace fabricctl {
namespace {

// The one table of generators: `topo gen --list`, --help and Generate() all read it.
const gen::GeneratorDef* const kGenerators[] = {
    &gen::kFatTree, &gen::kLeafSpine, &gen::kRail,      &gen::kSupernode,     &gen::kDragonfly,
    &gen::kTorus,   &gen::kJellyfish, &gen::kScalex640, &gen::kScalexCluster,
};

// A generator's own parameters, then those every generator takes (fabric/generators/
// degrade.h) unless it declares the same key itself (a random generator's seed).
std::vector<GeneratorParam> AllParams(const GeneratorInfo& g) {
  std::vector<GeneratorParam> all(g.params.begin(), g.params.end());
  for (const GeneratorParam& p : gen::DegradeParams())
    if (std::none_of(all.begin(), all.end(), [&](const GeneratorParam& q) { return q.key == p.key; })) all.push_back(p);
  return all;
}

}  // namespace

std::span<const GeneratorParam> CommonGeneratorParams() { return gen::DegradeParams(); }

std::span<const GeneratorInfo> Generators() {
  static const std::vector<GeneratorInfo> infos = [] {
    std::vector<GeneratorInfo> v;
    for (const gen::GeneratorDef* g : kGenerators) v.push_back(g->info);
    return v;
  }();
  return infos;
}

Result<Fabric> Generate(std::string_view name, const GeneratorParams& params) {
  for (const gen::GeneratorDef* g : kGenerators) {
    if (g->info.name != name) continue;
    const std::vector<GeneratorParam> declared = AllParams(g->info);
    auto reader = gen::ParamReader::Make(name, declared, params);
    if (!reader) return std::unexpected(reader.error());
    // Read before generating, so a bad value fails before a large fabric is built.
    const gen::DegradeOptions degrade = gen::ReadDegradeOptions(*reader);
    auto fabric = g->generate(*reader);
    if (fabric && !degrade.none()) fabric = gen::Degrade(*fabric, degrade);
    // Parameter errors already name the generator; the builder's (size, wiring) do not.
    if (!fabric && !fabric.error().message.starts_with(std::string(name) + ": "))
      fabric.error().message = fmt::format("{}: {}", name, fabric.error().message);
    return fabric;
  }
  std::vector<std::string_view> names;
  std::string all;
  for (const gen::GeneratorDef* g : kGenerators) {
    names.push_back(g->info.name);
    all += (all.empty() ? "" : ", ") + std::string(g->info.name);
  }
  return MakeError(
      fmt::format("unknown topology generator '{}'{}; generators: {}", ShownValue(name), DidYouMean(name, names), all));
}

}  // namespace fabricctl
