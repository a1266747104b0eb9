#include "fabric/generators/degrade.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "fabric/fabric_subset.h"
#include "fabric/generators/random.h"
#include "fabric/generators/union_find.h"

namespace fabricctl::gen {
namespace {

constexpr GeneratorParam kParams[] = {
    {"fail_switches", "0", "switches removed with their cables: a count (2) or a share (0.01, 1%)"},
    {"fail_links", "0", "switch-to-switch cables removed: a count (12) or a share (0.03, 3%)"},
    {"slow_links", "0", "switch-to-switch cables trained at slow_rate: a count or a share"},
    {"slow_rate", "4xDDR", "width and speed of the slow_links"},
    {"seed", "1", "seed of the random choices: the same seed gives the same fabric"},
};

// Streams of SeededStream, one per choice.
enum Purpose : uint64_t { kSwitchChoice = 1, kLinkChoice = 2, kSlowChoice = 3 };

bool ParseAmount(std::string_view text, Amount& out) {
  out.text = std::string(text);
  std::string_view t = text;
  const bool percent = t.ends_with('%');
  if (percent) t.remove_suffix(1);
  if (t.empty()) return false;
  const char* end = t.data() + t.size();
  if (!percent && t.find_first_of(".eE") == std::string_view::npos) {
    out.is_share = false;
    auto [ptr, ec] = std::from_chars(t.data(), end, out.count);
    return ec == std::errc() && ptr == end;
  }
  double v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v)) return false;
  out.is_share = true;
  out.share = percent ? v / 100 : v;
  return out.share >= 0 && out.share <= 1;
}

// What is taken out or slowed, by node and link id of the original fabric.
struct Damage {
  explicit Damage(const Fabric& fabric)
      : f(fabric), node_gone(f.num_nodes(), 0), link_gone(f.num_links(), 0), link_slow(f.num_links(), 0) {}
  const Fabric& f;
  std::vector<uint8_t> node_gone;
  std::vector<uint8_t> link_gone;
  std::vector<uint8_t> link_slow;

  NodeId end_a(LinkId l) const { return f.port(f.link(l).a).node; }
  NodeId end_b(LinkId l) const { return f.port(f.link(l).b).node; }
  bool live(LinkId l) const { return !link_gone[l] && !node_gone[end_a(l)] && !node_gone[end_b(l)]; }
  bool live_switch_link(LinkId l) const { return live(l) && f.is_switch(end_a(l)) && f.is_switch(end_b(l)); }
  std::vector<LinkId> LiveSwitchLinks() const {
    std::vector<LinkId> out;
    for (LinkId l = 0; l < f.num_links(); ++l)
      if (live_switch_link(l)) out.push_back(l);
    return out;
  }
};

Error TooMany(const Amount& a, std::string_view key, std::string_view why) {
  return Error{.message = fmt::format("bad value '{}' for {}: {}", a.text, key, why)};
}

// True when switch s can go without splitting its part of the fabric: its remaining switch
// neighbours still reach each other without it. A switch with no such neighbour is the last
// of its part and stays.
bool CanRemove(const Damage& d, NodeId s) {
  std::vector<NodeId> neighbours;
  for (const Adjacency& a : d.f.neighbors(s))
    if (d.live_switch_link(a.link)) neighbours.push_back(a.peer_node);
  if (neighbours.empty()) return false;
  std::vector<uint8_t> seen(d.f.num_nodes(), 0);
  seen[s] = 1;
  std::vector<NodeId> queue{neighbours.front()};
  seen[neighbours.front()] = 1;
  size_t unreached = 0;  // neighbours marked 2 until the search reaches them
  for (NodeId n : neighbours) {
    if (seen[n]) continue;
    seen[n] = 2;
    ++unreached;
  }
  for (size_t head = 0; head < queue.size() && unreached > 0; ++head)
    for (const Adjacency& a : d.f.neighbors(queue[head])) {
      if (!d.live_switch_link(a.link) || seen[a.peer_node] == 1) continue;
      unreached -= seen[a.peer_node] == 2;
      seen[a.peer_node] = 1;
      queue.push_back(a.peer_node);
    }
  return unreached == 0;
}

std::optional<Error> FailSwitches(Damage& d, const DegradeOptions& o) {
  std::vector<NodeId> switches;
  for (NodeId n = 0; n < d.f.num_nodes(); ++n)
    if (d.f.is_switch(n)) switches.push_back(n);
  const uint64_t want = o.fail_switches.Of(switches.size());
  if (want == 0) return std::nullopt;
  if (want >= switches.size())
    return TooMany(o.fail_switches, "fail_switches",
                   fmt::format("{} of the {} switches; at least one must remain", want, switches.size()));
  auto rng = SeededStream(o.seed, kSwitchChoice);
  Shuffle(std::span(switches), rng);
  uint64_t taken = 0;
  for (size_t i = 0; i < switches.size() && taken < want; ++i)
    if (CanRemove(d, switches[i])) {
      d.node_gone[switches[i]] = 1;
      ++taken;
    }
  if (taken < want)
    return TooMany(
        o.fail_switches, "fail_switches",
        fmt::format("only {} of the {} switches can fail without splitting the fabric", taken, switches.size()));
  return std::nullopt;
}

// A random spanning forest of the live switch cables is kept (built from the end of the
// shuffled order, so it takes the cables the failures reach last); failures are the first
// `want` cables outside it. So no part of the fabric splits.
std::optional<Error> FailLinks(Damage& d, const DegradeOptions& o) {
  std::vector<LinkId> links = d.LiveSwitchLinks();
  const uint64_t want = o.fail_links.Of(links.size());
  if (want == 0) return std::nullopt;
  auto rng = SeededStream(o.seed, kLinkChoice);
  Shuffle(std::span(links), rng);
  UnionFind parts(d.f.num_nodes());
  std::vector<uint8_t> in_forest(links.size(), 0);
  for (size_t i = links.size(); i-- > 0;) in_forest[i] = parts.Join(d.end_a(links[i]), d.end_b(links[i]));
  const uint64_t spare = links.size() - std::accumulate(in_forest.begin(), in_forest.end(), uint64_t{0});
  if (want > spare)
    return TooMany(o.fail_links, "fail_links",
                   fmt::format("at most {} of the {} switch-to-switch cables can fail without splitting the fabric",
                               spare, links.size()));
  uint64_t taken = 0;
  for (size_t i = 0; i < links.size() && taken < want; ++i)
    if (!in_forest[i]) {
      d.link_gone[links[i]] = 1;
      ++taken;
    }
  return std::nullopt;
}

std::optional<Error> SlowLinks(Damage& d, const DegradeOptions& o) {
  std::vector<LinkId> links = d.LiveSwitchLinks();
  const uint64_t want = o.slow_links.Of(links.size());
  if (want > links.size())
    return TooMany(o.slow_links, "slow_links",
                   fmt::format("the fabric has {} switch-to-switch cables left", links.size()));
  auto rng = SeededStream(o.seed, kSlowChoice);
  Shuffle(std::span(links), rng);
  for (size_t i = 0; i < want; ++i) d.link_slow[links[i]] = 1;
  return std::nullopt;
}

// Endpoints whose every cable is gone are dropped; one that never had a cable stays.
std::vector<uint8_t> NodesKept(const Damage& d) {
  std::vector<uint8_t> keep(d.f.num_nodes(), 0);
  for (NodeId n = 0; n < d.f.num_nodes(); ++n) {
    if (d.node_gone[n]) continue;
    bool still_cabled = d.f.neighbors(n).empty();
    for (const Adjacency& a : d.f.neighbors(n)) still_cabled |= d.live(a.link);
    keep[n] = d.f.is_switch(n) || still_cabled;
  }
  return keep;
}

// The fabric without its failed parts, the slow cables trained at slow_rate.
Result<Fabric> Rebuild(const Damage& d, LinkRate slow_rate) {
  const std::vector<uint8_t> keep = NodesKept(d);
  return SubsetOf(d.f, {.keep_node = [&](NodeId n) { return keep[n] != 0; },
                        .keep_link = [&](LinkId l) { return d.live(l); },
                        .adjust =
                            [&](LinkId l, Port& port) {
                              if (!d.link_slow[l]) return;
                              // Trained below what both ends support and enable.
                              port.width_active = slow_rate.width;
                              port.speed_active = slow_rate.speed;
                              port.width_enabled |= WidthBit(slow_rate.width);
                              port.width_supported |= WidthBit(slow_rate.width);
                              port.speed_enabled |= SpeedBit(slow_rate.speed);
                              port.speed_supported |= SpeedBit(slow_rate.speed);
                            }});
}

}  // namespace

uint64_t Amount::Of(uint64_t candidates) const {
  if (!is_share) return count;
  return static_cast<uint64_t>(std::llround(share * static_cast<double>(candidates)));
}

std::span<const GeneratorParam> DegradeParams() { return kParams; }

DegradeOptions ReadDegradeOptions(ParamReader& r) {
  DegradeOptions o;
  const std::pair<std::string_view, Amount*> amounts[] = {
      {"fail_switches", &o.fail_switches}, {"fail_links", &o.fail_links}, {"slow_links", &o.slow_links}};
  for (const auto& [key, amount] : amounts)
    if (!ParseAmount(r.Raw(key), *amount))
      r.FailValue(key, "a count such as 12, or a share such as 0.03 or 3%, of at most 1");
  o.slow_rate = r.Rate("slow_rate");
  o.seed = static_cast<uint64_t>(r.Int("seed", 0, std::numeric_limits<int64_t>::max()));
  return o;
}

Result<Fabric> Degrade(const Fabric& f, const DegradeOptions& o) {
  Damage d(f);
  // Switches first (their cables go with them), then cables among what remains, then the
  // slow cables among the cables left.
  for (auto step : {FailSwitches, FailLinks, SlowLinks})
    if (auto e = step(d, o)) return std::unexpected(*e);
  return Rebuild(d, o.slow_rate);
}

}  // namespace fabricctl::gen
