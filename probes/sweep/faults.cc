#include "probes/sweep/faults.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <random>
#include <unordered_set>

namespace fabricctl::sweep {
namespace {

std::optional<double> ParseDouble(std::string_view s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

Result<Fault> ParseEffect(std::string_view effect, std::string_view spec) {
  Fault f;
  if (effect == "down") {
    f.kind = FaultKind::kDown;
    return f;
  }
  size_t eq = effect.find('=');
  std::string_view key = effect.substr(0, eq);
  // -1 marks a missing or malformed number: every check below then fails.
  double v = eq == std::string_view::npos ? -1 : ParseDouble(effect.substr(eq + 1)).value_or(-1);
  if (key == "bw" && v >= 0 && v <= 1)
    f.kind = FaultKind::kBandwidth;
  else if (key == "latency" && v >= 0)
    f.kind = FaultKind::kLatency;
  else if (key == "loss" && v >= 0 && v <= 1)
    f.kind = FaultKind::kLoss;
  else
    return MakeError(fmt::format(
        "fault '{}': expected bw=F (0..1), latency=US, loss=F (0..1) or down after ':', got '{}'", spec, effect));
  f.value = v;
  return f;
}

}  // namespace

std::string_view ToString(FaultKind k) {
  switch (k) {
    case FaultKind::kBandwidth:
      return "bandwidth";
    case FaultKind::kLatency:
      return "latency";
    case FaultKind::kLoss:
      return "loss";
    case FaultKind::kDown:
      return "down";
  }
  return "unknown";
}

Result<PortId> FindPortByName(const Fabric& fabric, std::string_view name) {
  size_t open = name.rfind('[');
  if (open == std::string_view::npos || name.back() != ']')
    return MakeError(fmt::format("'{}': expected a port as desc[port]", name));
  std::string_view desc = name.substr(0, open);
  std::string_view num = name.substr(open + 1, name.size() - open - 2);
  unsigned port = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), port);
  if (ec != std::errc() || p != num.data() + num.size())
    return MakeError(fmt::format("'{}': expected a port number inside [ ]", name));
  auto node = fabric.FindByDescription(desc);
  if (!node) return MakeError(fmt::format("'{}': no node has the description '{}'", name, desc));
  if (port < 1 || port > fabric.node(*node).num_ports)
    return MakeError(fmt::format("'{}': '{}' has ports 1..{}", name, desc, fabric.node(*node).num_ports));
  return fabric.port_id(*node, port);
}

Result<std::vector<Fault>> ParseFaultSpec(const Fabric& fabric, std::string_view spec, uint64_t seed) {
  if (spec.starts_with("random:")) {
    std::string_view rest = spec.substr(7);
    size_t colon = rest.find(':');
    std::string_view count = rest.substr(0, colon);
    unsigned k = 0;
    auto [p, ec] = std::from_chars(count.data(), count.data() + count.size(), k);
    if (ec != std::errc() || p != count.data() + count.size() || k == 0)
      return MakeError(fmt::format("fault '{}': expected random:K with K >= 1", spec));
    std::optional<Fault> fixed;
    if (colon != std::string_view::npos) {
      auto e = ParseEffect(rest.substr(colon + 1), spec);
      if (!e) return std::unexpected(e.error());
      fixed = *e;
    }
    // Only links that carry routed traffic: both ends in a subnet.
    std::vector<LinkId> candidates;
    for (LinkId l = 0; l < fabric.num_links(); ++l)
      if (fabric.subnet_of(fabric.link(l).a) != kNone) candidates.push_back(l);
    if (k > candidates.size())
      return MakeError(fmt::format("fault '{}': only {} links to choose from", spec, candidates.size()));
    std::mt19937_64 rng(seed);
    std::unordered_set<LinkId> chosen;
    std::vector<Fault> out;
    while (out.size() < k) {
      LinkId l = candidates[rng() % candidates.size()];
      if (!chosen.insert(l).second) continue;
      Fault f = fixed.value_or(
          Fault{.kind = FaultKind::kBandwidth, .value = 0.1 + 0.5 * std::uniform_real_distribution<double>(0, 1)(rng)});
      f.link = l;
      out.push_back(f);
    }
    return out;
  }
  if (spec.starts_with("endpoint:")) {
    std::string_view rest = spec.substr(9);
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos)
      return MakeError(fmt::format("fault '{}': expected endpoint:DESC:EFFECT", spec));
    auto node = fabric.FindByDescription(rest.substr(0, colon));
    if (!node || fabric.is_switch(*node))
      return MakeError(fmt::format("fault '{}': no endpoint has the description '{}'", spec, rest.substr(0, colon)));
    auto e = ParseEffect(rest.substr(colon + 1), spec);
    if (!e) return std::unexpected(e.error());
    if (e->kind != FaultKind::kBandwidth && e->kind != FaultKind::kLatency)
      return MakeError(fmt::format("fault '{}': endpoints take bw= or latency=", spec));
    e->endpoint = *node;
    return std::vector<Fault>{*e};
  }
  size_t colon = spec.rfind(':');
  if (colon == std::string_view::npos)
    return MakeError(fmt::format("fault '{}': expected desc[port]:EFFECT, endpoint:DESC:EFFECT or random:K", spec));
  auto port = FindPortByName(fabric, spec.substr(0, colon));
  if (!port) return std::unexpected(Error{.message = "fault " + port.error().message});
  if (fabric.port(*port).link == kNone)
    return MakeError(fmt::format("fault '{}': {} is not cabled", spec, fabric.PortName(*port)));
  auto e = ParseEffect(spec.substr(colon + 1), spec);
  if (!e) return std::unexpected(e.error());
  e->link = fabric.port(*port).link;
  return std::vector<Fault>{*e};
}

void FaultSet::Apply(const Fabric& fabric) {
  link_bw_factor.assign(fabric.num_links(), 1.0);
  link_latency_us.assign(fabric.num_links(), 0.0);
  link_loss.assign(fabric.num_links(), 0.0);
  link_down.assign(fabric.num_links(), 0);
  node_bw_factor.assign(fabric.num_nodes(), 1.0);
  node_latency_us.assign(fabric.num_nodes(), 0.0);
  for (const Fault& f : faults) {
    if (f.link != kNone) {
      switch (f.kind) {
        case FaultKind::kBandwidth:
          link_bw_factor[f.link] = std::min(link_bw_factor[f.link], f.value);
          break;
        case FaultKind::kLatency:
          link_latency_us[f.link] += f.value;
          break;
        case FaultKind::kLoss:
          link_loss[f.link] = 1 - (1 - link_loss[f.link]) * (1 - f.value);
          break;
        case FaultKind::kDown:
          link_down[f.link] = 1;
          break;
      }
    } else if (f.endpoint != kNone) {
      if (f.kind == FaultKind::kBandwidth) node_bw_factor[f.endpoint] = std::min(node_bw_factor[f.endpoint], f.value);
      if (f.kind == FaultKind::kLatency) node_latency_us[f.endpoint] += f.value;
    }
  }
}

}  // namespace fabricctl::sweep
