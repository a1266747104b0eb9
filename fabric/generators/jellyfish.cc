// jellyfish: switches joined by a random regular graph (every switch has `degree`
// switch-to-switch cables), the irregular fabric of Singla et al. (NSDI 2012). Built by the
// configuration model (switch ports paired at random), self loops and parallel cables
// repaired by random double-edge swaps, and parts joined by swaps across them; every step
// keeps each switch's degree. Seeded: the same parameters give the same fabric.
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <unordered_map>
#include <vector>

#include "fabric/generators/generators.h"
#include "fabric/generators/random.h"
#include "fabric/generators/union_find.h"

namespace fabricctl::gen {
namespace {

constexpr GeneratorParam kParams[] = {
    {"switches", "50", "switches"},
    {"degree", "8", "switch-to-switch cables per switch (one switch has one fewer when switches x degree is odd)"},
    {"hosts", "4", "hosts per switch"},
    {"parallel", "false", "allow several cables between the same two switches"},
    {"seed", "1", "seed of the random graph (and of fail_links and the other common choices)"},
    {"rate", "4xNDR", "link width and speed"},
};

// Streams of SeededStream used here; fabric/generators/degrade.cc uses small numbers.
constexpr uint64_t kGraphStream = 100;
constexpr uint64_t kAttempts = 20;

using Edge = std::pair<uint32_t, uint32_t>;

uint64_t Key(uint32_t a, uint32_t b) { return a < b ? (uint64_t{a} << 32 | b) : (uint64_t{b} << 32 | a); }

class RandomRegularGraph {
 public:
  RandomRegularGraph(uint32_t switches, uint32_t degree, bool parallel, uint64_t seed, uint64_t attempt)
      : n_(switches), parallel_(parallel), rng_(SeededStream(seed, kGraphStream + attempt)) {
    // The complete graph is the only simple one of degree switches - 1, and swaps cannot
    // reach it from a pairing with parallel cables.
    if (!parallel && degree + 1 == switches) {
      for (uint32_t a = 0; a < switches; ++a)
        for (uint32_t b = a + 1; b < switches; ++b) Add({a, b});
      return;
    }
    std::vector<uint32_t> stubs;
    stubs.reserve(size_t{switches} * degree);
    for (uint32_t s = 0; s < switches; ++s) stubs.insert(stubs.end(), degree, s);
    if (stubs.size() % 2 == 1) stubs.pop_back();  // the last switch keeps one port free
    Shuffle(std::span(stubs), rng_);
    for (size_t i = 0; i + 1 < stubs.size(); i += 2) Add({stubs[i], stubs[i + 1]});
  }

  // False when the swaps ran out before every cable was a valid one.
  bool Repair() {
    const size_t budget = 200 * edges_.size() + 1000;
    for (size_t tries = 0; tries < budget; ++tries) {
      auto bad = std::find_if(edges_.begin(), edges_.end(), [&](const Edge& e) { return !Valid(e); });
      if (bad == edges_.end()) return true;
      const size_t i = static_cast<size_t>(bad - edges_.begin());
      // Swap with random partners until this one is valid, then look for the next.
      for (size_t inner = 0; inner < 1000 && tries < budget && !Valid(edges_[i]); ++inner, ++tries)
        TrySwap(i, Below(rng_, edges_.size()), /*must_join=*/false);
    }
    return false;
  }

  // Joins the parts of the graph by swaps across them (a cable of one part and one of
  // another become two cables between them); false when the swaps ran out.
  bool Connect() {
    for (size_t round = 0; round < 10 * size_t{n_} + 100; ++round) {
      const std::vector<uint32_t> part = Parts();
      if (Connected(part)) return true;
      const size_t i = Below(rng_, edges_.size());
      const size_t start = Below(rng_, edges_.size());
      for (size_t k = 0; k < edges_.size(); ++k) {
        const size_t j = (start + k) % edges_.size();
        if (part[edges_[j].first] == part[edges_[i].first]) continue;
        TrySwap(i, j, /*must_join=*/true);
        break;
      }
    }
    return Connected(Parts());
  }

  // Cables as (lower, higher) switch index, sorted, so port numbers follow switch order.
  std::vector<Edge> Sorted() const {
    std::vector<Edge> out;
    for (auto [a, b] : edges_) out.push_back({std::min(a, b), std::max(a, b)});
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  bool Valid(const Edge& e) const {
    return e.first != e.second && (parallel_ || count_.at(Key(e.first, e.second)) == 1);
  }
  void Add(Edge e) {
    edges_.push_back(e);
    ++count_[Key(e.first, e.second)];
  }
  void Remove(const Edge& e) {
    if (--count_[Key(e.first, e.second)] == 0) count_.erase(Key(e.first, e.second));
  }
  bool Fits(uint32_t a, uint32_t b) const { return a != b && (parallel_ || !count_.contains(Key(a, b))); }

  // Replaces edges i (a,b) and j (c,d) by (a,c),(b,d) or (a,d),(b,c) when both are valid.
  void TrySwap(size_t i, size_t j, bool must_join) {
    if (i == j) return;
    auto [a, b] = edges_[i];
    auto [c, d] = edges_[j];
    if (!must_join && Below(rng_, 2) == 1) std::swap(c, d);
    Remove(edges_[i]);
    Remove(edges_[j]);
    const bool ok = Fits(a, c) && Fits(b, d) && (parallel_ || Key(a, c) != Key(b, d));
    const Edge first = ok ? Edge{a, c} : edges_[i];
    const Edge second = ok ? Edge{b, d} : edges_[j];
    ++count_[Key(first.first, first.second)];
    ++count_[Key(second.first, second.second)];
    edges_[i] = first;
    edges_[j] = second;
  }

  // The part (representative switch) of every switch.
  std::vector<uint32_t> Parts() {
    UnionFind uf(n_);
    for (auto [a, b] : edges_) uf.Join(a, b);
    std::vector<uint32_t> part(n_);
    for (uint32_t s = 0; s < n_; ++s) part[s] = uf.Find(s);
    return part;
  }
  static bool Connected(const std::vector<uint32_t>& part) {
    return std::all_of(part.begin(), part.end(), [&](uint32_t p) { return p == part.front(); });
  }

  uint32_t n_;
  bool parallel_;
  std::mt19937_64 rng_;
  std::vector<Edge> edges_;
  std::unordered_map<uint64_t, uint32_t> count_;
};

Result<Fabric> Generate(ParamReader& r) {
  const uint32_t switches = static_cast<uint32_t>(r.Int("switches", 2, 100'000));
  const uint32_t degree = static_cast<uint32_t>(r.Int("degree", 1, 254));
  const uint32_t hosts = static_cast<uint32_t>(r.Int("hosts", 0, 254));
  const bool parallel = r.Bool("parallel");
  const uint64_t seed = static_cast<uint64_t>(r.Int("seed", 0, std::numeric_limits<int64_t>::max()));
  const LinkRate rate = r.Rate("rate");
  if (r.error()) return std::unexpected(*r.error());
  if (degree + hosts > kMaxSwitchPorts)
    r.Fail(fmt::format("a switch would need degree + hosts = {} ports, more than {}", degree + hosts, kMaxSwitchPorts));
  else if (!parallel && degree > switches - 1)
    r.Fail(fmt::format("degree {} needs at least {} switches without parallel cables", degree, degree + 1));
  else if (degree == 1 && switches > 2)
    r.Fail("degree 1 joins switches in pairs only: the fabric cannot be connected with more than 2 switches");
  if (r.error()) return std::unexpected(*r.error());

  // A dense graph can leave the swaps stuck; a fresh pairing usually is not.
  std::optional<RandomRegularGraph> graph;
  for (uint64_t attempt = 0; attempt < kAttempts && !graph; ++attempt) {
    graph.emplace(switches, degree, parallel, seed, attempt);
    if (!graph->Repair() || !graph->Connect()) graph.reset();
  }
  if (!graph)
    return MakeError(
        fmt::format("no connected random regular graph of degree {} on {} switches found with seed {}; "
                    "try another seed or a lower degree",
                    degree, switches, seed));
  GenBuilder b;
  b.Reserve(size_t{switches} * (1 + hosts), size_t{switches} * (degree + hosts + 1) + size_t{switches} * hosts * 2);
  if (!b.ok()) return b.Finish();
  std::vector<NodeId> sw(switches);
  for (uint32_t s = 0; s < switches; ++s) {
    const std::string name = fmt::format("jf-s{}", Padded(s, switches));
    const int32_t rack = static_cast<int32_t>(s);
    sw[s] = b.AddSwitch(name, hosts + degree, Labels{.tier = 1, .rack = rack, .level = FabricLevel::kScaleOut});
    for (uint32_t h = 0; h < hosts; ++h) {
      NodeId host = b.AddCa(fmt::format("{}-h{}", name, Padded(h, hosts)), 1, Labels{.tier = 0, .rack = rack});
      if (b.ok()) b.Connect(host, 1, sw[s], h + 1, rate);
    }
  }
  if (!b.ok()) return b.Finish();
  std::vector<unsigned> next_port(switches, hosts + 1);
  for (auto [x, y] : graph->Sorted()) b.Connect(sw[x], next_port[x]++, sw[y], next_port[y]++, rate);
  return b.Finish();
}

}  // namespace

const GeneratorDef kJellyfish{
    .info = {.name = "jellyfish",
             .help = "jellyfish: switches joined by a seeded random regular graph, connected, no self loops",
             .params = kParams},
    .generate = Generate,
};

}  // namespace fabricctl::gen
