// scalex640 (one super node) and scalex-cluster (super nodes plus one scale-out fabric).
// scaleX640's internal design is not public; docs/topologies.md states the assumptions:
// by default each accelerator has 4 scale-up ports at 400 Gb/s into a single-plane,
// non-blocking two-tier Clos of 80-port chips (64 L1 with 40 down / 40 up, 40 L2 with one
// link from every L1), and one 400 Gb/s scale-out port.
#include <fmt/format.h>

#include <optional>
#include <vector>

#include "fabric/generators/fat_tree.h"
#include "fabric/generators/generators.h"
#include "fabric/generators/scale_up.h"

namespace fabricctl::gen {
namespace {

constexpr GeneratorParam kSuperNodeParams[] = {
    {"accelerators", "640", "accelerators per super node"},
    {"ports", "4", "scale-up ports per accelerator"},
    {"planes", "1", "independent scale-up planes (each its own subnet); must divide ports"},
    {"tiers", "2", "scale-up tiers: 1 (single switch layer) or 2 (L1/L2 Clos)"},
    {"radix", "80", "ports per switch chip (scale-up and scale-out)"},
    {"rate", "4xNDR", "link width and speed (4xNDR = 400 Gb/s)"},
};

constexpr GeneratorParam kClusterParams[] = {
    {"super_nodes", "16", "super nodes in the cluster"},
    {"accelerators", "640", "accelerators per super node"},
    {"ports", "4", "scale-up ports per accelerator"},
    {"planes", "1", "independent scale-up planes per super node; must divide ports"},
    {"tiers", "2", "scale-up tiers: 1 or 2"},
    {"radix", "80", "ports per switch chip (scale-up and scale-out)"},
    {"rate", "4xNDR", "link width and speed (4xNDR = 400 Gb/s)"},
};

struct SuperNodeDesign {
  unsigned accelerators = 0;
  unsigned ports = 0;
  ScaleUpPlan plan;
  LinkRate rate;
};

std::optional<SuperNodeDesign> ReadSuperNode(ParamReader& r) {
  SuperNodeDesign d;
  ScaleUpOptions o;
  o.accelerators = d.accelerators = static_cast<unsigned>(r.Int("accelerators", 1, 100'000));
  o.ports = d.ports = static_cast<unsigned>(r.Int("ports", 1, 253));
  o.planes = static_cast<unsigned>(r.Int("planes", 1, 253));
  o.tiers = static_cast<unsigned>(r.Int("tiers", 1, 2));
  o.radix = static_cast<unsigned>(r.Int("radix", 4, 254));
  d.rate = r.Rate("rate");
  if (r.error()) return std::nullopt;
  auto plan = PlanScaleUp(o);
  if (!plan) {
    r.Fail(plan.error().message);
    return std::nullopt;
  }
  d.plan = *plan;
  return d;
}

std::vector<NodeId> AddAccelerators(GenBuilder& b, unsigned sn, size_t super_nodes, unsigned count, unsigned ports) {
  std::vector<NodeId> acc(count);
  for (unsigned a = 0; a < count; ++a)
    acc[a] = b.AddCa(AcceleratorName(sn, super_nodes, a), ports,
                     Labels{.super_node = static_cast<int32_t>(sn), .tier = 0, .rack = static_cast<int32_t>(sn)});
  return acc;
}

Result<Fabric> GenerateSuperNode(ParamReader& r) {
  auto d = ReadSuperNode(r);
  if (!d) return std::unexpected(*r.error());
  GenBuilder b;
  b.Reserve(d->accelerators + d->plan.switches(),
            size_t{d->accelerators} * (d->ports + 1) + d->plan.switches() * (d->plan.o.radix + 1));
  if (!b.ok()) return b.Finish();
  auto acc = AddAccelerators(b, 0, 1, d->accelerators, d->ports);
  BuildScaleUp(b, d->plan, acc, Labels{.super_node = 0, .rack = 0}, "sn00-up", d->rate);
  return b.Finish();
}

// The scale-out fabric: a non-blocking fat tree of the same chips over every accelerator's
// last port. Two tiers when they fit (radix^2/2 endpoints), else three tiers with pods
// made of whole super nodes where possible, so a pod is a unit of cabling and failure, and
// the classic radix/2-leaf pods when those hold more.
Result<FatTreePlan> PlanScaleOut(unsigned radix, size_t super_nodes, unsigned accelerators) {
  FatTreeOptions o;
  o.k = radix;
  o.endpoints = super_nodes * accelerators;
  o.tiers = o.endpoints <= size_t{radix} * (radix / 2) ? 2 : 3;
  const unsigned half = radix / 2;
  const size_t leaves_per_super_node = (accelerators + half - 1) / half;
  o.leaves_per_pod = leaves_per_super_node <= half
                         ? static_cast<unsigned>(half / leaves_per_super_node * leaves_per_super_node)
                         : half;
  auto plan = PlanFatTree(o);
  // Pods of whole super nodes may hold fewer endpoints than the classic k/2-leaf pods.
  if (!plan && o.tiers == 3 && o.leaves_per_pod != half) {
    o.leaves_per_pod = half;
    plan = PlanFatTree(o);
  }
  return plan;
}

Result<Fabric> GenerateCluster(ParamReader& r) {
  const size_t super_nodes = static_cast<size_t>(r.Int("super_nodes", 1, 1000));
  auto d = ReadSuperNode(r);
  if (!d) return std::unexpected(*r.error());
  if (d->plan.o.radix % 2 != 0) {
    r.FailValue("radix", "an even number (scale-out leaves split their ports half down, half up)");
    return std::unexpected(*r.error());
  }
  auto so = PlanScaleOut(d->plan.o.radix, super_nodes, d->accelerators);
  if (!so) {
    r.Fail("scale-out: " + so.error().message);
    return std::unexpected(*r.error());
  }
  const unsigned scale_out_port = d->ports + 1;
  const size_t radix_slots = d->plan.o.radix + 1;
  GenBuilder b;
  b.Reserve(super_nodes * (d->accelerators + d->plan.switches()) + so->switches(),
            super_nodes * (size_t{d->accelerators} * (d->ports + 2) + d->plan.switches() * radix_slots) +
                so->switches() * radix_slots);
  if (!b.ok()) return b.Finish();
  std::vector<PortRef> endpoints;
  endpoints.reserve(super_nodes * d->accelerators);
  for (unsigned sn = 0; sn < super_nodes; ++sn) {
    auto acc = AddAccelerators(b, sn, super_nodes, d->accelerators, d->ports + 1);
    const int32_t cabinet = static_cast<int32_t>(sn);  // a scaleX640 super node is one cabinet
    BuildScaleUp(b, d->plan, acc, Labels{.super_node = cabinet, .rack = cabinet},
                 fmt::format("sn{}-up", Padded(sn, super_nodes)), d->rate);
    for (NodeId a : acc) endpoints.push_back(PortRef{a, scale_out_port});
  }
  BuildFatTree(b, *so, endpoints, "so", d->rate);
  return b.Finish();
}

}  // namespace

const GeneratorDef kScalex640{
    .info = {.name = "scalex640",
             .help = "one scaleX640-like super node: 640 accelerators in a 2-tier scale-up Clos of 80-port chips "
                     "(assumed design, see docs/topologies.md)",
             .params = kSuperNodeParams},
    .generate = GenerateSuperNode,
};

const GeneratorDef kScalexCluster{
    .info = {.name = "scalex-cluster",
             .help = "16 scalex640 super nodes (10,240 accelerators), each with its scale-up fabric, plus one "
                     "non-blocking 3-tier scale-out fat tree of 80-port 400G switches",
             .params = kClusterParams},
    .generate = GenerateCluster,
};

}  // namespace fabricctl::gen
