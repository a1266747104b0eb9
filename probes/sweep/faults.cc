#include "probes/sweep/faults.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>
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

constexpr std::string_view kEffectHelp = "bw=F (0..1), latency=US, loss=F (0..1), down, flaky=P (0..1], tx or rx";

// The effect words after a fault's subject, ':'-separated: one of bw=, latency=, loss=,
// down; flaky=P; tx or rx (a direction; `random` takes `oneway`). `direction` gets the
// direction word, if any.
Result<Fault> ParseEffects(std::string_view words, std::string_view spec, std::string_view& direction) {
  Fault f{.kind = FaultKind::kBandwidth, .value = kFlakyBandwidthFactor};
  bool effect = false, flaky = false;
  while (!words.empty()) {
    size_t colon = words.find(':');
    std::string_view word = words.substr(0, colon);
    words = colon == std::string_view::npos ? std::string_view() : words.substr(colon + 1);
    size_t eq = word.find('=');
    std::string_view key = word.substr(0, eq);
    // -1 marks a missing or malformed number: every check below then fails.
    double v = eq == std::string_view::npos ? -1 : ParseDouble(word.substr(eq + 1)).value_or(-1);
    bool repeated = false;
    if (word == "down" || (key == "bw" && v >= 0 && v <= 1) || (key == "latency" && v >= 0) ||
        (key == "loss" && v >= 0 && v <= 1)) {
      repeated = effect;
      effect = true;
      f.kind = word == "down"     ? FaultKind::kDown
               : key == "bw"      ? FaultKind::kBandwidth
               : key == "latency" ? FaultKind::kLatency
                                  : FaultKind::kLoss;
      f.value = word == "down" ? 0 : v;
    } else if (key == "flaky" && v > 0 && v <= 1) {
      repeated = flaky;
      flaky = true;
      f.probability = v;
    } else if (word == "tx" || word == "rx" || word == "oneway") {
      repeated = !direction.empty();
      direction = word;
    } else {
      return MakeError(fmt::format("fault '{}': expected {} after ':', got '{}'", spec, kEffectHelp, word));
    }
    if (repeated) return MakeError(fmt::format("fault '{}': '{}' says again what an earlier word said", spec, word));
  }
  if (!effect && !flaky)
    return MakeError(fmt::format("fault '{}': expected bw=F, latency=US, loss=F, down or flaky=P", spec));
  return f;
}

Result<std::vector<Fault>> ParseRandomFaults(const Fabric& fabric, std::string_view spec, uint64_t seed) {
  std::string_view rest = spec.substr(7);
  size_t colon = rest.find(':');
  std::string_view count = rest.substr(0, colon);
  unsigned k = 0;
  auto [p, ec] = std::from_chars(count.data(), count.data() + count.size(), k);
  if (ec != std::errc() || p != count.data() + count.size() || k == 0)
    return MakeError(fmt::format("fault '{}': expected random:K with K >= 1", spec));
  std::optional<Fault> fixed;
  std::string_view direction;
  if (colon != std::string_view::npos) {
    auto e = ParseEffects(rest.substr(colon + 1), spec, direction);
    if (!e) return std::unexpected(e.error());
    fixed = *e;
  }
  if (!direction.empty() && direction != "oneway")
    return MakeError(fmt::format("fault '{}': random links take 'oneway', not '{}'", spec, direction));
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
    if (direction == "oneway") f.channel = rng() % 2 ? fabric.link(l).a : fabric.link(l).b;
    out.push_back(f);
  }
  return out;
}

Result<std::vector<Fault>> ParseEndpointFault(const Fabric& fabric, std::string_view spec) {
  std::string_view rest = spec.substr(9);
  // A description may hold ':' itself: the shortest prefix naming an endpoint is the subject.
  size_t colon = rest.find(':');
  std::optional<NodeId> node;
  for (; colon != std::string_view::npos; colon = rest.find(':', colon + 1))
    if ((node = fabric.FindByDescription(rest.substr(0, colon))) && !fabric.is_switch(*node)) break;
  if (colon == std::string_view::npos) {
    if (rest.find(':') == std::string_view::npos)
      return MakeError(fmt::format("fault '{}': expected endpoint:DESC:EFFECT", spec));
    return MakeError(
        fmt::format("fault '{}': no endpoint has the description '{}'", spec, rest.substr(0, rest.rfind(':'))));
  }
  std::string_view direction;
  auto e = ParseEffects(rest.substr(colon + 1), spec, direction);
  if (!e) return std::unexpected(e.error());
  if ((e->kind != FaultKind::kBandwidth && e->kind != FaultKind::kLatency) || e->probability < 1 || !direction.empty())
    return MakeError(fmt::format("fault '{}': endpoints take bw= or latency=", spec));
  e->endpoint = *node;
  return std::vector<Fault>{*e};
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
  if (spec.starts_with("random:")) return ParseRandomFaults(fabric, spec, seed);
  if (spec.starts_with("endpoint:")) return ParseEndpointFault(fabric, spec);
  // Effect words hold no ']', so the port ends at the last "]:".
  size_t end = spec.rfind("]:");
  if (end == std::string_view::npos)
    return MakeError(fmt::format("fault '{}': expected desc[port]:EFFECT, endpoint:DESC:EFFECT or random:K", spec));
  auto port = FindPortByName(fabric, spec.substr(0, end + 1));
  if (!port) return std::unexpected(Error{.message = "fault " + port.error().message});
  if (fabric.port(*port).link == kNone)
    return MakeError(fmt::format("fault '{}': {} is not cabled", spec, fabric.PortName(*port)));
  std::string_view direction;
  auto e = ParseEffects(spec.substr(end + 2), spec, direction);
  if (!e) return std::unexpected(e.error());
  if (direction == "oneway")
    return MakeError(fmt::format("fault '{}': a port's fault takes tx or rx for one direction", spec));
  e->link = fabric.port(*port).link;
  if (direction == "tx") e->channel = *port;
  if (direction == "rx") e->channel = fabric.port(*port).peer;
  return std::vector<Fault>{*e};
}

void FaultSet::Apply(const Fabric& fabric) {
  const size_t channels = fabric.num_port_slots();
  channel_bw_factor.assign(channels, 1.0);
  channel_latency_us.assign(channels, 0.0);
  channel_loss.assign(channels, 0.0);
  channel_down.assign(channels, 0);
  node_bw_factor.assign(fabric.num_nodes(), 1.0);
  node_latency_us.assign(fabric.num_nodes(), 0.0);
  intermittent_start.assign(channels + 1, 0);
  auto channels_of = [&](const Fault& f) {
    if (f.channel != kNone) return std::vector<PortId>{f.channel};
    return std::vector<PortId>{fabric.link(f.link).a, fabric.link(f.link).b};
  };
  for (const Fault& f : faults) {
    if (f.link == kNone || f.probability >= 1) continue;
    for (PortId c : channels_of(f)) ++intermittent_start[c + 1];
  }
  for (size_t c = 0; c < channels; ++c) intermittent_start[c + 1] += intermittent_start[c];
  intermittent.assign(intermittent_start.back(), 0);
  std::vector<uint32_t> fill(intermittent_start.begin(), intermittent_start.end() - 1);
  for (uint32_t k = 0; k < faults.size(); ++k) {
    const Fault& f = faults[k];
    if (f.link != kNone && f.probability < 1) {
      for (PortId c : channels_of(f)) intermittent[fill[c]++] = k;
    } else if (f.link != kNone) {
      for (PortId c : channels_of(f)) switch (f.kind) {
          case FaultKind::kBandwidth:
            channel_bw_factor[c] = std::min(channel_bw_factor[c], f.value);
            break;
          case FaultKind::kLatency:
            channel_latency_us[c] += f.value;
            break;
          case FaultKind::kLoss:
            channel_loss[c] = 1 - (1 - channel_loss[c]) * (1 - f.value);
            break;
          case FaultKind::kDown:
            channel_down[c] = 1;
            break;
        }
    } else if (f.endpoint != kNone) {
      if (f.kind == FaultKind::kBandwidth) node_bw_factor[f.endpoint] = std::min(node_bw_factor[f.endpoint], f.value);
      if (f.kind == FaultKind::kLatency) node_latency_us[f.endpoint] += f.value;
    }
  }
}

}  // namespace fabricctl::sweep
