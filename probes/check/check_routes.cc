#include "probes/check/check_routes.h"

#include <fmt/format.h>

#include <array>
#include <set>
#include <unordered_map>

#include "routing/verifier.h"

namespace fabricctl::check {
namespace {

constexpr std::array kJudged = {
    ViolationKind::kUnreachable, ViolationKind::kLoop,  ViolationKind::kThroughEndpoint, ViolationKind::kDeadPort,
    ViolationKind::kCreditLoop,  ViolationKind::kBadVl, ViolationKind::kSubnetNotRouted};

uint64_t CountOf(const SubnetVerdict& v, ViolationKind k) {
  switch (k) {
    case ViolationKind::kUnreachable:
      return v.unreachable_pairs;
    case ViolationKind::kLoop:
      return v.loop_pairs;
    case ViolationKind::kThroughEndpoint:
      return v.through_endpoint_pairs;
    case ViolationKind::kDeadPort:
      return v.dead_port_entries;
    case ViolationKind::kCreditLoop:
      return v.cdg_cycles;
    case ViolationKind::kBadVl:
      return v.bad_vl_pairs;
    case ViolationKind::kSubnetNotRouted:
      return v.routed ? 0 : 1;
  }
  return 0;
}

std::string_view CountUnit(ViolationKind k) {
  switch (k) {
    case ViolationKind::kDeadPort:
      return "LFT entries";
    case ViolationKind::kCreditLoop:
      return "channel dependency cycles";
    case ViolationKind::kSubnetNotRouted:
      return "subnet without tables";
    default:
      return "endpoint pairs";
  }
}

void VerifyInstalled(const Snapshot& s, const CheckOptions& o, CheckReport& report) {
  const Fabric& f = *s.fabric;
  size_t keep = o.max_route_examples * kJudged.size() * std::max<size_t>(1, f.subnets().size());
  auto rep = Verify(f, *s.installed_routes, {.max_violations = keep, .threads = o.threads});
  if (!rep) {
    report.findings.push_back(Finding{.kind = "routes",
                                      .severity = Severity::kError,
                                      .scope = Scope::kFabric,
                                      .where = "installed tables",
                                      .summary = "the installed tables do not fit the fabric: " + rep.error().message,
                                      .evidence = {{"error", rep.error().message}}});
    return;
  }
  for (const SubnetVerdict& v : rep->subnets) {
    const std::string& subnet = f.subnets()[v.subnet].name;
    for (ViolationKind k : kJudged) {
      uint64_t count = CountOf(v, k);
      if (count == 0) continue;
      nlohmann::json examples = nlohmann::json::array();
      for (const Violation& x : rep->violations) {
        if (x.subnet != v.subnet || x.kind != k || examples.size() >= o.max_route_examples) continue;
        nlohmann::json e = {{"text", x.text}};
        if (!x.cycle.empty()) e["cycle"] = FormatCycle(f, x.cycle);
        examples.push_back(std::move(e));
      }
      std::string first = examples.empty() ? "" : ": " + examples[0]["text"].get<std::string>();
      report.findings.push_back(Finding{
          .kind = "routes",
          .severity = k == ViolationKind::kSubnetNotRouted ? Severity::kWarning : Severity::kError,
          .scope = Scope::kFabric,
          .where = subnet,
          .summary = fmt::format("{}: {} {}{}", ToString(k), count, CountUnit(k), first),
          .evidence = {{"subnet", subnet},
                       {"violation", ToString(k)},
                       {"count", count},
                       {"pairs", v.pairs},
                       {"examples", std::move(examples)}},
      });
    }
  }
}

// The lowest LID of every port that owns one, so tables with different LID assignments
// compare destination by destination.
std::unordered_map<PortId, Lid> BaseLids(const SubnetRoutes& r) {
  std::unordered_map<PortId, Lid> base;
  for (Lid lid = 1; lid < r.num_lids(); ++lid)
    if (r.lid_owner[lid] != kNone) base.emplace(r.lid_owner[lid], lid);
  return base;
}

void CompareSubnet(const Fabric& f, const Places& places, const SubnetRoutes& installed, const SubnetRoutes& intended,
                   CheckReport& report) {
  auto base_installed = BaseLids(installed), base_intended = BaseLids(intended);
  std::unordered_map<NodeId, size_t> intended_index;
  for (size_t i = 0; i < intended.switches.size(); ++i) intended_index.emplace(intended.switches[i], i);
  for (size_t i = 0; i < installed.switches.size(); ++i) {
    NodeId sw = installed.switches[i];
    auto j = intended_index.find(sw);
    if (j == intended_index.end()) continue;
    size_t compared = 0, differing = 0;
    std::set<Lid> blocks;
    nlohmann::json examples = nlohmann::json::array();
    for (Lid lid = 1; lid < installed.num_lids(); ++lid) {
      PortId owner = installed.lid_owner[lid];
      if (owner == kNone) continue;
      auto b = base_intended.find(owner);
      if (b == base_intended.end()) continue;
      Lid other = b->second + (lid - base_installed.at(owner));
      if (other >= intended.num_lids() || intended.lid_owner[other] != owner) continue;
      ++compared;
      uint8_t have = installed.out_port(i, lid), want = intended.out_port(j->second, other);
      if (have == want) continue;
      ++differing;
      blocks.insert(lid / 64);
      if (examples.size() < 5)
        examples.push_back(
            {{"destination", places.Port(owner)}, {"lid", lid}, {"installed", have}, {"intended", want}});
    }
    if (differing == 0) continue;
    report.findings.push_back(Finding{
        .kind = "routes",
        .severity = Severity::kWarning,
        .scope = Scope::kNode,
        .where = places.Node(sw),
        .summary = fmt::format("installed table differs from the intended one in {} of {} destinations ({} LFT blocks)",
                               differing, compared, blocks.size()),
        .evidence = {{"switch", places.Node(sw)},
                     {"guid", GuidText(f.node(sw).guid)},
                     {"differing", differing},
                     {"compared", compared},
                     {"blocks", blocks.size()},
                     {"examples", std::move(examples)}},
    });
  }
}

}  // namespace

void CheckRoutes(const Snapshot& s, const CheckOptions& o, const Places& places, CheckReport& report) {
  if (!s.installed_routes) {
    report.checks_skipped.push_back("routes: no installed forwarding tables (give --routes)");
    return;
  }
  report.checks_run.push_back("routes");
  VerifyInstalled(s, o, report);
  if (!s.intended_routes) return;
  report.checks_run.push_back("routes-intended");
  for (const SubnetRoutes& installed : s.installed_routes->subnets)
    for (const SubnetRoutes& intended : s.intended_routes->subnets)
      if (intended.subnet == installed.subnet) CompareSubnet(*s.fabric, places, installed, intended, report);
}

}  // namespace fabricctl::check
