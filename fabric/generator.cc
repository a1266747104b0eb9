#include "fabric/generator.h"

#include <fmt/format.h>

#include <vector>

#include "fabric/display_text.h"
#include "fabric/generators/generators.h"
#include "fabric/generators/params.h"

namespace fabricctl {
namespace {

// The one table of generators: `topo gen --list`, --help and Generate() all read it.
const gen::GeneratorDef* const kGenerators[] = {
    &gen::kFatTree, &gen::kRail,      &gen::kSupernode,     &gen::kDragonfly,
    &gen::kTorus,   &gen::kScalex640, &gen::kScalexCluster,
};

}  // namespace

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
    auto reader = gen::ParamReader::Make(name, g->info.params, params);
    if (!reader) return std::unexpected(reader.error());
    auto fabric = g->generate(*reader);
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
  return MakeError(fmt::format("unknown topology generator '{}'{}; generators: {}", ShownValue(name),
                               gen::DidYouMean(name, names), all));
}

}  // namespace fabricctl
