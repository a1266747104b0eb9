#include "routing/updn.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <numeric>
#include <ranges>
#include <string>
#include <unordered_map>

#include "fabric/display_text.h"
#include "fabric/file_io.h"
#include "fabric/text_lines.h"
#include "routing/balanced_lft.h"
#include "routing/parallel.h"
#include "routing/switch_graph.h"

namespace fabricctl {
namespace {

constexpr uint8_t kDownOnly = 0x80;  // flag in a hop-table entry: the route from here only goes down
constexpr uint8_t kMaxLegalHops = 0x7F;

// Multi-source BFS distances over the switch graph.
std::vector<uint32_t> Bfs(const SwitchGraph& g, const std::vector<uint32_t>& sources) {
  std::vector<uint32_t> dist(g.num_switches(), kNone);
  std::vector<uint8_t> seen(g.num_switches(), 0);
  std::vector<uint32_t> queue;
  for (uint32_t s : sources) {
    if (seen[s]) continue;
    seen[s] = 1;
    dist[s] = 0;
    queue.push_back(s);
  }
  BreadthFirst(
      g, queue, seen, [&](uint32_t x) { return AllGroups(g, x); },
      [&](uint32_t y, uint32_t x) { dist[y] = dist[x] + 1; });
  return dist;
}

// The middle switch of a long shortest path (double sweep): a good single root.
uint32_t CentreSwitch(const SwitchGraph& g) {
  auto farthest = [&](const std::vector<uint32_t>& d) {
    return static_cast<uint32_t>(std::max_element(d.begin(), d.end()) - d.begin());
  };
  uint32_t a = farthest(Bfs(g, {0}));
  std::vector<uint32_t> da = Bfs(g, {a});
  uint32_t b = farthest(da);
  std::vector<uint32_t> db = Bfs(g, {b});
  uint32_t half = (da[b] + 1) / 2, best = a;
  for (uint32_t s = 0; s < g.num_switches(); ++s)
    if (da[s] + db[s] == da[b] && da[s] == half) return s;
  return best;
}

// Legal Up*/Down* hops from every switch to switch d into `row` (hop[d * num_switches + s]:
// kDownOnly when the route only goes down, kUnreachable when there is none); returns the
// pairs of endpoint switches without a legal path. down, legal: kNone; seen: 0; queue: {d}.
uint64_t LegalHops(const SwitchGraph& g, const std::vector<uint32_t>& pos, const std::vector<uint32_t>& order,
                   uint32_t d, std::vector<uint32_t>& down, std::vector<uint32_t>& legal, std::vector<uint32_t>& queue,
                   std::vector<uint8_t>& seen, uint8_t* row) {
  const uint32_t num_switches = g.num_switches();
  down[d] = 0;
  seen[d] = 1;
  // Hops from d going up only, i.e. from each switch towards d going down only.
  auto lower_groups = [&](uint32_t x) {
    return AllGroups(g, x) | std::views::filter([&, x](uint32_t e) { return pos[g.nbr(e)] < pos[x]; });
  };
  BreadthFirst(g, queue, seen, lower_groups, [&](uint32_t y, uint32_t x) { down[y] = down[x] + 1; });
  // A switch that can reach d going down only must do so: a packet may have arrived
  // there going down. The others go up towards the best such switch.
  for (uint32_t s : order) {
    if (down[s] != kNone) {
      legal[s] = down[s];
      continue;
    }
    for (uint32_t e = g.begin(s); e < g.end(s); ++e)
      if (uint32_t t = g.nbr(e); pos[t] < pos[s] && legal[t] != kNone) legal[s] = std::min(legal[s], legal[t] + 1);
  }
  uint64_t missing = 0;
  const bool d_has_endpoints = !g.endpoint_lids(d).empty();
  for (uint32_t s = 0; s < num_switches; ++s) {
    uint8_t v = kUnreachable;
    if (legal[s] != kNone && legal[s] <= kMaxLegalHops)
      v = static_cast<uint8_t>(legal[s] | (down[s] != kNone ? kDownOnly : 0));
    row[s] = v;
    if (v == kUnreachable && d_has_endpoints && !g.endpoint_lids(s).empty()) ++missing;
  }
  return missing;
}

class UpdnEngine final : public RoutingEngine {
 public:
  std::string_view name() const override { return "updn"; }

  Outcome Route(const RouteRequest& request, SubnetRoutes& out) const override {
    SwitchGraph g(request.fabric, request.subnet, out);
    const uint32_t num_switches = g.num_switches();
    if (num_switches == 0) return Outcome::Ok();

    const std::vector<UpDownRoots> attempts = UpDownRootChoices(request.fabric, g, request.options.root_guids);

    std::string failures;
    const ChannelCapacity capacity(request.fabric, request.subnet);
    for (const UpDownRoots& roots : attempts) {
      auto unreachable = TryRoots(request, g, {request.fabric, capacity}, roots.switches, out);
      if (unreachable == 0) {
        out.reason = roots.why;
        return Outcome::Ok();
      }
      failures += fmt::format("{}{}: {} endpoint switch pairs have no legal Up*/Down* path",
                              failures.empty() ? "" : "; ", roots.why, unreachable);
    }
    return Outcome::Failed(failures);
  }

 private:
  // Routes with the given roots; returns the number of (source switch, destination switch)
  // pairs with endpoints on both sides that have no legal path (0 on success).
  static uint64_t TryRoots(const RouteRequest& request, const SwitchGraph& g, const ChannelRates& rates,
                           const std::vector<uint32_t>& roots, SubnetRoutes& out) {
    const uint32_t num_switches = g.num_switches();
    const unsigned threads = request.options.threads;
    const std::vector<uint32_t> pos = UpDownOrder(request.fabric, g, roots);
    std::vector<uint32_t> order(num_switches);
    for (uint32_t s = 0; s < num_switches; ++s) order[pos[s]] = s;

    // hop[d * num_switches + s]: legal hops from s to d, with kDownOnly when that route only goes down.
    std::vector<uint8_t> hop(size_t{num_switches} * num_switches, kUnreachable);
    std::atomic<uint64_t> unreachable{0};
    // Destinations in blocks, one set of work arrays per block.
    constexpr size_t kBlock = 64;
    ParallelFor((num_switches + kBlock - 1) / kBlock,
                ThreadsFor(size_t{num_switches} * g.end(num_switches - 1), threads), [&](size_t block) {
                  std::vector<uint32_t> down(num_switches), legal(num_switches), queue;
                  std::vector<uint8_t> seen(num_switches);
                  queue.reserve(num_switches);
                  uint64_t missing = 0;
                  const uint32_t last = static_cast<uint32_t>(std::min<size_t>(num_switches, (block + 1) * kBlock));
                  for (uint32_t d = static_cast<uint32_t>(block * kBlock); d < last; ++d) {
                    std::fill(down.begin(), down.end(), kNone);
                    std::fill(legal.begin(), legal.end(), kNone);
                    std::fill(seen.begin(), seen.end(), 0);
                    queue.assign(1, d);
                    missing += LegalHops(g, pos, order, d, down, legal, queue, seen, &hop[size_t{d} * num_switches]);
                  }
                  if (missing) unreachable += missing;
                });
    if (unreachable > 0) return unreachable;

    std::fill(out.lft.begin(), out.lft.end(), kNoRoute);
    // t is a next hop of s: one legal hop nearer; from a switch that must go down, down to
    // one that must too, else up. Bitwise, without branches: the planning asks it of every
    // channel for every destination, and the answers follow no pattern.
    auto accept = [&](const uint8_t* row, uint32_t s, uint32_t t) -> bool {
      const uint8_t vs = row[s], vt = row[t];
      const bool reachable = (vs != kUnreachable) & (vt != kUnreachable);
      const bool nearer = (vt & kMaxLegalHops) + 1 == (vs & kMaxLegalHops);
      const bool up = pos[t] < pos[s];  // neighbours are other switches: never equal
      const bool must_go_down = (vs & kDownOnly) != 0;
      const bool down_to_down = !up & ((vt & kDownOnly) != 0);
      return reachable & nearer & ((must_go_down & down_to_down) | (!must_go_down & up));
    };
    FillBalanced(g, rates, HopTable{.hop = hop, .mask = kMaxLegalHops}, accept, threads, request.options.one_pass, out);
    // Switch LIDs no legal path reaches (a root seen from outside its subtree) get shortest
    // paths: they carry management traffic only.
    std::vector<uint32_t> scratch;
    const size_t num_lids = out.num_lids();
    for (uint32_t s = 0; s < num_switches; ++s) {
      Lid lid = g.switch_lid(s);
      if (lid == 0) continue;
      bool missing = false;
      for (uint32_t t = 0; t < num_switches && !missing; ++t) missing = out.lft[size_t{t} * num_lids + lid] == kNoRoute;
      if (missing) RouteSwitchLidShortest(g, lid, out, scratch);
    }
    return 0;
  }
};

}  // namespace

std::vector<UpDownRoots> UpDownRootChoices(const Fabric& fabric, const SwitchGraph& g,
                                           const std::vector<uint64_t>& root_guids) {
  const uint32_t num_switches = g.num_switches();
  std::vector<UpDownRoots> attempts;
  if (num_switches == 0) return attempts;
  if (!root_guids.empty()) {
    UpDownRoots r{.why = "roots from the root GUID list"};
    for (uint64_t guid : root_guids)
      if (auto n = fabric.FindByGuid(guid))
        if (uint32_t s = g.local(*n); s != kNone) r.switches.push_back(s);
    if (!r.switches.empty()) {
      attempts.push_back(std::move(r));
      return attempts;
    }
  }
  int32_t top = -1;
  bool all_labelled = true;
  for (uint32_t s = 0; s < num_switches; ++s) {
    int32_t tier = fabric.node(g.node(s)).labels.tier;
    all_labelled = all_labelled && tier >= 1;
    top = std::max(top, tier);
  }
  if (all_labelled) {
    UpDownRoots r{.why = fmt::format("roots: the tier-{} switches", top)};
    for (uint32_t s = 0; s < num_switches; ++s)
      if (fabric.node(g.node(s)).labels.tier == top) r.switches.push_back(s);
    if (r.switches.size() < num_switches) attempts.push_back(std::move(r));
  }
  std::vector<uint32_t> leaves;
  for (uint32_t s = 0; s < num_switches; ++s)
    if (!g.endpoint_lids(s).empty()) leaves.push_back(s);
  if (!leaves.empty()) {
    std::vector<uint32_t> h = Bfs(g, leaves);
    uint32_t height = *std::max_element(h.begin(), h.end());
    if (height >= 1) {
      UpDownRoots r{.why = fmt::format("roots: the switches {} hops above the endpoint switches", height)};
      for (uint32_t s = 0; s < num_switches; ++s)
        if (h[s] == height) r.switches.push_back(s);
      attempts.push_back(std::move(r));
    }
  }
  attempts.push_back(UpDownRoots{.switches = {CentreSwitch(g)}, .why = "root: the centre switch"});
  return attempts;
}

std::vector<uint32_t> UpDownOrder(const Fabric& fabric, const SwitchGraph& g, const std::vector<uint32_t>& roots) {
  const uint32_t num_switches = g.num_switches();
  std::vector<uint32_t> rank = Bfs(g, roots);
  std::vector<uint32_t> order(num_switches);
  std::iota(order.begin(), order.end(), 0u);
  auto guid = [&](uint32_t s) { return fabric.node(g.node(s)).guid; };
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return std::tuple(rank[a], guid(a), a) < std::tuple(rank[b], guid(b), b); });
  std::vector<uint32_t> pos(num_switches);
  for (uint32_t i = 0; i < num_switches; ++i) pos[order[i]] = i;
  return pos;
}

std::unique_ptr<RoutingEngine> MakeUpdnEngine() { return std::make_unique<UpdnEngine>(); }

Result<std::vector<ListedGuid>> ParseGuidList(std::string_view text, std::string_view filename) {
  std::vector<ListedGuid> guids;
  std::unordered_map<uint64_t, int> seen;
  for (TextLines lines(text); lines.Next();) {
    const std::string_view line = lines.line();
    const std::string_view t = TrimBlanks(line.substr(0, line.find('#')));
    if (t.empty()) continue;
    auto error = [&](std::string message) {
      return MakeInputError(std::string(filename), lines.number(), std::move(message), std::string(line));
    };
    uint64_t guid = 0;
    std::string_view digits = t.starts_with("0x") || t.starts_with("0X") ? t.substr(2) : t;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), guid, 16);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || guid == 0)
      return error("expected one GUID per line, like 0x0002c9030000abcd");
    if (auto [it, fresh] = seen.emplace(guid, lines.number()); !fresh)
      return error(fmt::format("GUID 0x{:016x} is already listed on line {}", guid, it->second));
    guids.push_back({guid, lines.number()});
  }
  return guids;
}

Result<std::vector<uint64_t>> ReadRootGuidFile(const Fabric& fabric, const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text) return std::unexpected(text.error());
  return ParseRootGuids(fabric, *text, path);
}

Result<std::vector<uint64_t>> ParseRootGuids(const Fabric& fabric, std::string_view text, std::string_view filename) {
  const std::string path(filename);
  auto listed = ParseGuidList(text, filename);
  if (!listed) return std::unexpected(listed.error());
  // Given a file, the user asked for these roots: an empty one is a mistake (a file not yet
  // written, the wrong file), not a request for the heuristic.
  if (listed->empty()) return MakeInputError(path, 0, "lists no root GUID; expected one switch GUID per line");
  std::vector<uint64_t> guids;
  for (const ListedGuid& g : *listed) {
    auto node = fabric.FindByGuid(g.guid);
    if (!node)
      return MakeInputError(path, g.line, fmt::format("root GUID 0x{:016x} is not a node of the topology", g.guid));
    if (!fabric.is_switch(*node))
      return MakeInputError(
          path, g.line,
          fmt::format("root GUID 0x{:016x} is '{}', not a switch", g.guid, ShownValue(fabric.description(*node))));
    guids.push_back(g.guid);
  }
  return guids;
}

}  // namespace fabricctl
