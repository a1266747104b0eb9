// supernode: one scale-up domain, switched (1 or 2 tiers, planes) or direct (torus/mesh of
// accelerator-attached switches). Presets give the public reference designs; any key set
// with --set overrides the preset.
#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "fabric/generators/generators.h"
#include "fabric/generators/scale_up.h"
#include "fabric/generators/torus.h"

namespace fabricctl::gen {
namespace {

constexpr GeneratorParam kParams[] = {
    {"preset", "nvl72", "nvl72 (72 x 18 links, 18 switch chips), cm384 (384 x 14, 7-plane 2-tier Clos), torus (4x4x4)"},
    {"mode", "switched", "switched (through switch chips) or direct (torus/mesh of accelerator-attached switches)"},
    {"accelerators", "72", "accelerators in the super node (direct: product of dims)"},
    {"ports", "18", "scale-up ports per accelerator (direct: links to its own switch)"},
    {"tiers", "1", "switched: 1 (single tier) or 2 (L1/L2 Clos per plane)"},
    {"planes", "0", "switched: independent planes; 0: one per port (1 tier) or 1 (2 tiers)"},
    {"radix", "72", "switched: ports per switch chip"},
    {"l1_down", "0", "2 tiers: L1 ports to accelerators; 0: radix/2"},
    {"l1_up", "0", "2 tiers: L1 ports to L2; 0: l1_down"},
    {"spines", "0", "2 tiers: L2 switches per plane; 0: l1_up"},
    {"links_per_l1", "1", "2 tiers: links from an accelerator to each of its L1 switches"},
    {"dims", "4x4x4", "direct: switches per dimension, 2D or 3D"},
    {"wrap", "true", "direct: true torus, false mesh"},
    {"links", "1", "direct: parallel links between neighbouring switches"},
    {"rate", "2xXDR", "link width and speed (nvl72: 2xXDR = 400 Gb/s; others 4xNDR)"},
};

constexpr std::string_view kPresets[] = {"nvl72", "cm384", "torus"};
constexpr std::string_view kModes[] = {"switched", "direct"};

void ApplyPreset(ParamReader& r, std::string_view preset) {
  if (preset == "cm384") {
    for (auto [k, v] : {std::pair{"accelerators", "384"},
                        {"ports", "14"},
                        {"tiers", "2"},
                        {"planes", "7"},
                        {"radix", "48"},
                        {"l1_down", "16"},
                        {"l1_up", "16"},
                        {"spines", "16"},
                        {"links_per_l1", "2"},
                        {"rate", "4xNDR"}})
      r.SetDefault(k, v);
  } else if (preset == "torus") {
    for (auto [k, v] : {std::pair{"mode", "direct"}, {"ports", "1"}, {"rate", "4xNDR"}}) r.SetDefault(k, v);
  }
}

Result<Fabric> GenerateDirect(ParamReader& r) {
  // The switched presets' port count and rate mean nothing here.
  r.SetDefault("ports", "1");
  r.SetDefault("rate", "4xNDR");
  TorusShape shape;
  shape.dims = r.Dims("dims", 64);
  shape.wrap = r.Bool("wrap");
  shape.links = static_cast<unsigned>(r.Int("links", 1, 8));
  shape.host_ports = static_cast<unsigned>(r.Int("ports", 1, 64));
  LinkRate rate = r.Rate("rate");
  if (r.error()) return std::unexpected(*r.error());
  const size_t n = shape.switches();
  if (r.IsSet("accelerators") && static_cast<size_t>(r.Int("accelerators", 1, 1'000'000)) != n)
    r.Fail(fmt::format("mode=direct attaches one accelerator to each switch: accelerators={} but dims={} has {}",
                       r.Raw("accelerators"), r.Raw("dims"), n));
  if (!r.error() && shape.radix() > kMaxSwitchPorts)
    r.Fail(fmt::format("an accelerator-attached switch would need {} ports, more than {}", shape.radix(),
                       kMaxSwitchPorts));
  if (r.error()) return std::unexpected(*r.error());
  GenBuilder b;
  b.Reserve(2 * n, n * (shape.radix() + 2 + shape.host_ports));
  if (!b.ok()) return b.Finish();
  std::vector<NodeId> acc(n);
  for (size_t a = 0; a < n; ++a)
    acc[a] = b.AddCa(AcceleratorName(0, 1, a), shape.host_ports, Labels{.super_node = 0, .tier = 0});
  BuildTorus(b, shape, acc, "sn00-up", Labels{.super_node = 0, .tier = 1, .level = FabricLevel::kScaleUp}, rate);
  return b.Finish();
}

Result<Fabric> Generate(ParamReader& r) {
  std::string preset = r.Choice("preset", kPresets);
  if (r.error()) return std::unexpected(*r.error());
  ApplyPreset(r, preset);
  if (r.Choice("mode", kModes) == "direct") return GenerateDirect(r);
  ScaleUpOptions o;
  o.accelerators = static_cast<unsigned>(r.Int("accelerators", 1, 100'000));
  o.ports = static_cast<unsigned>(r.Int("ports", 1, 254));
  o.tiers = static_cast<unsigned>(r.Int("tiers", 1, 2));
  o.planes = static_cast<unsigned>(r.Int("planes", 0, 254));
  o.radix = static_cast<unsigned>(r.Int("radix", 2, kMaxSwitchPorts));
  o.l1_down = static_cast<unsigned>(r.Int("l1_down", 0, 254));
  o.l1_up = static_cast<unsigned>(r.Int("l1_up", 0, 254));
  o.spines = static_cast<unsigned>(r.Int("spines", 0, 254));
  o.links_per_l1 = static_cast<unsigned>(r.Int("links_per_l1", 1, 254));
  LinkRate rate = r.Rate("rate");
  if (r.error()) return std::unexpected(*r.error());
  auto plan = PlanScaleUp(o);
  if (!plan) {
    r.Fail(plan.error().message);
    return std::unexpected(*r.error());
  }
  GenBuilder b;
  b.Reserve(o.accelerators + plan->switches(),
            size_t{o.accelerators} * (o.ports + 1) + plan->switches() * (o.radix + 1));
  if (!b.ok()) return b.Finish();
  std::vector<NodeId> acc(o.accelerators);
  for (unsigned a = 0; a < o.accelerators; ++a)
    acc[a] = b.AddCa(AcceleratorName(0, 1, a), o.ports, Labels{.super_node = 0, .tier = 0});
  BuildScaleUp(b, *plan, acc, Labels{.super_node = 0}, "sn00-up", rate);
  return b.Finish();
}

}  // namespace

const GeneratorDef kSupernode{
    .info = {.name = "supernode",
             .help = "one scale-up domain: switched (1 tier like NVL72, 2-tier Clos in planes like CloudMatrix384) "
                     "or direct (torus/mesh, needs VLs)",
             .params = kParams},
    .generate = Generate,
};

}  // namespace fabricctl::gen
