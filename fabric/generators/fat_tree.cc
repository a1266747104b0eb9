#include "fabric/generators/fat_tree.h"

#include <fmt/format.h>

#include <charconv>
#include <string_view>
#include <vector>

#include "fabric/generators/generators.h"
#include "fabric/generators/params.h"

namespace fabricctl::gen {

Result<FatTreePlan> PlanFatTree(const FatTreeOptions& o) {
  FatTreePlan p;
  p.k = o.k;
  p.tiers = o.tiers;
  if (o.tiers != 2 && o.tiers != 3) return MakeError(fmt::format("tiers must be 2 or 3, not {}", o.tiers));
  if (o.k % (o.oversubscription + 1) != 0)
    return MakeError(fmt::format("k={} cannot be split {}:1 between down and up ports; k must be a multiple of {}", o.k,
                                 o.oversubscription, o.oversubscription + 1));
  p.up = o.k / (o.oversubscription + 1);
  p.down = o.k - p.up;
  if (o.tiers == 2) {
    // Each spine has one port per leaf, so at most k leaves.
    size_t capacity = size_t{o.k} * p.down;
    p.endpoints = o.endpoints ? o.endpoints : capacity;
    if (p.endpoints > capacity)
      return MakeError(fmt::format("a 2-tier tree of radix {} holds at most {} endpoints, not {}; use tiers=3", o.k,
                                   capacity, p.endpoints));
    p.leaves = (p.endpoints + p.down - 1) / p.down;
    // A partial tree bundles parallel links so it needs fewer spines.
    for (unsigned m = 1; m <= p.up; ++m)
      if (p.up % m == 0 && p.leaves * m <= o.k) p.parallel = m;
    p.spines = p.up / p.parallel;
    return p;
  }
  p.leaves_per_pod = o.leaves_per_pod ? o.leaves_per_pod : o.k / 2;
  if (p.leaves_per_pod > o.k / 2)
    return MakeError(
        fmt::format("leaves_per_pod={} leaves a spine blocking: a spine of radix {} takes at most {} leaves",
                    p.leaves_per_pod, o.k, o.k / 2));
  // A core has one port per pod, so at most k pods.
  size_t capacity = size_t{o.k} * p.leaves_per_pod * p.down;
  p.endpoints = o.endpoints ? o.endpoints : capacity;
  if (p.endpoints > capacity)
    return MakeError(fmt::format("a 3-tier tree of radix {} with {} leaves per pod holds at most {} endpoints, not {}",
                                 o.k, p.leaves_per_pod, capacity, p.endpoints));
  p.leaves = (p.endpoints + p.down - 1) / p.down;
  p.pods = (p.leaves + p.leaves_per_pod - 1) / p.leaves_per_pod;
  p.spines = p.pods * p.up;
  // Each spine has leaves_per_pod up links; spread them over as few cores as fit.
  const unsigned L = p.leaves_per_pod;
  for (unsigned c = 1; c <= L; ++c) {
    if (L % c != 0 || p.pods * (L / c) > o.k) continue;
    p.cores_per_group = c;
    p.parallel = L / c;
    break;
  }
  return p;
}

void BuildFatTree(GenBuilder& b, const FatTreePlan& p, std::span<const PortRef> endpoints, std::string_view prefix,
                  LinkRate rate) {
  const auto scale_out = [](int32_t tier, int32_t rack) {
    return Labels{.tier = tier, .rack = rack, .level = FabricLevel::kScaleOut};
  };
  std::vector<NodeId> leaves(p.leaves), spines(p.spines), cores(p.cores());
  for (size_t i = 0; i < p.leaves; ++i)
    leaves[i] =
        b.AddSwitch(fmt::format("{}-l1-{}", prefix, Padded(i, p.leaves)), p.k, scale_out(1, static_cast<int32_t>(i)));
  for (size_t i = 0; i < p.spines; ++i)
    spines[i] = b.AddSwitch(fmt::format("{}-l2-{}", prefix, Padded(i, p.spines)), p.k, scale_out(2, -1));
  for (size_t i = 0; i < cores.size(); ++i)
    cores[i] = b.AddSwitch(fmt::format("{}-l3-{}", prefix, Padded(i, cores.size())), p.k, scale_out(3, -1));
  if (!b.ok()) return;

  for (size_t e = 0; e < endpoints.size(); ++e)
    b.Connect(endpoints[e], PortRef{leaves[e / p.down], static_cast<unsigned>(e % p.down) + 1}, rate);

  if (p.tiers == 2) {
    for (size_t i = 0; i < p.leaves; ++i)
      for (unsigned j = 0; j < p.up; ++j)
        b.Connect(leaves[i], p.down + j + 1, spines[j / p.parallel],
                  static_cast<unsigned>(i * p.parallel + j % p.parallel) + 1, rate);
    return;
  }
  const unsigned L = p.leaves_per_pod;
  for (size_t i = 0; i < p.leaves; ++i) {
    size_t pod = i / L;
    unsigned pos = static_cast<unsigned>(i % L);
    for (unsigned j = 0; j < p.up; ++j) b.Connect(leaves[i], p.down + j + 1, spines[pod * p.up + j], pos + 1, rate);
  }
  for (size_t pod = 0; pod < p.pods; ++pod)
    for (unsigned j = 0; j < p.up; ++j)
      for (unsigned t = 0; t < L; ++t) {
        NodeId core = cores[j * p.cores_per_group + t / p.parallel];
        b.Connect(spines[pod * p.up + j], L + t + 1, core, static_cast<unsigned>(pod * p.parallel + t % p.parallel) + 1,
                  rate);
      }
}

namespace {

constexpr GeneratorParam kParams[] = {
    {"k", "8", "switch radix (ports per switch), 4..254"},
    {"tiers", "3", "2 (leaf-spine) or 3 (leaf-spine-core)"},
    {"oversubscription", "1", "leaf down:up port ratio, such as 1 (non-blocking) or 3:1"},
    {"endpoints", "0", "endpoints of a partial tree; 0: as many as the full tree holds"},
    {"leaves_per_pod", "0", "leaves per pod (3 tiers), at most k/2; 0: k/2"},
    {"rate", "4xNDR", "link width and speed"},
};

// "3" or "3:1".
unsigned ReadOversubscription(ParamReader& r) {
  const std::string v = r.Raw("oversubscription");
  const auto whole = [](std::string_view t, long& out) {
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    return !t.empty() && ec == std::errc() && end == t.data() + t.size();
  };
  const size_t colon = v.find(':');
  long down = 0, up = 1;
  bool ok = whole(std::string_view(v).substr(0, colon), down) &&
            (colon == std::string::npos || whole(std::string_view(v).substr(colon + 1), up));
  if (!ok || down < 1 || up < 1 || down % up != 0 || down / up > 64) {
    r.FailValue("oversubscription", "a whole down:up ratio such as 1, 2:1 or 3:1");
    return 1;
  }
  return static_cast<unsigned>(down / up);
}

Result<Fabric> Generate(ParamReader& r) {
  FatTreeOptions o;
  o.k = static_cast<unsigned>(r.Int("k", 4, 254));
  o.tiers = static_cast<unsigned>(r.Int("tiers", 2, 3));
  o.oversubscription = ReadOversubscription(r);
  o.endpoints = static_cast<size_t>(r.Int("endpoints", 0, 10'000'000));
  o.leaves_per_pod = static_cast<unsigned>(r.Int("leaves_per_pod", 0, 127));
  LinkRate rate = r.Rate("rate");
  if (r.error()) return std::unexpected(*r.error());
  auto plan = PlanFatTree(o);
  if (!plan) {
    r.Fail(plan.error().message);
    return std::unexpected(*r.error());
  }
  GenBuilder b;
  b.Reserve(plan->endpoints + plan->switches(), plan->endpoints * 2 + plan->switches() * (plan->k + 1));
  if (!b.ok()) return b.Finish();
  std::vector<PortRef> hosts(plan->endpoints);
  for (size_t e = 0; e < plan->endpoints; ++e)
    hosts[e] = PortRef{
        b.AddCa(fmt::format("ft-h{}", Padded(e, plan->endpoints)), 1,
                Labels{.tier = 0, .rack = static_cast<int32_t>(e / plan->down), .level = FabricLevel::kUnknown}),
        1};
  BuildFatTree(b, *plan, hosts, "ft", rate);
  return b.Finish();
}

}  // namespace

const GeneratorDef kFatTree{
    .info = {.name = "fat-tree",
             .help = "k-ary fat tree (folded Clos) of 2 or 3 tiers; k=8 tiers=3: 128 endpoints, 80 switches",
             .params = kParams},
    .generate = Generate,
};

}  // namespace fabricctl::gen
