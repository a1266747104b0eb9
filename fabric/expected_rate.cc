#include "fabric/expected_rate.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_map>

namespace fabricctl {
namespace {

// A kind needs this many links at its rate, and at most one in this many below it, before
// its rate is taken as what the rest should run at: a larger slow share is a design (older
// HCAs, split ports), not a fault.
constexpr uint32_t kMinAgreeingKind = 3;
constexpr uint32_t kMaxSlowShareInverse = 8;
// Parallel links tell when at least this many others agree on one rate.
constexpr uint32_t kMinOtherParallel = 2;

bool Known(const WidthSpeed& r) { return r.width != LinkWidth::kNone && r.speed != LinkSpeed::kNone; }
double Gbps(const WidthSpeed& r) { return LinkDataGbps(r.width, r.speed); }
uint16_t RateKey(const WidthSpeed& r) {
  return static_cast<uint16_t>((static_cast<unsigned>(r.width) << 8) | static_cast<unsigned>(r.speed));
}
WidthSpeed FromKey(uint16_t k) {
  return WidthSpeed{.width = static_cast<LinkWidth>(k >> 8), .speed = static_cast<LinkSpeed>(k & 0xff)};
}

// Tier of every node: its label, else endpoints 0 and switches 1 + their switch-hop
// distance from the nearest switch with an endpoint attached (-1 when none is reachable).
std::vector<int32_t> NodeTiers(const Fabric& f) {
  std::vector<int32_t> tier(f.num_nodes(), -1);
  std::vector<NodeId> queue;
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    if (!f.is_switch(n)) {
      tier[n] = 0;
      continue;
    }
    for (const Adjacency& a : f.neighbors(n))
      if (!f.is_switch(a.peer_node)) {
        tier[n] = 1;
        queue.push_back(n);
        break;
      }
  }
  for (size_t i = 0; i < queue.size(); ++i)
    for (const Adjacency& a : f.neighbors(queue[i]))
      if (f.is_switch(a.peer_node) && tier[a.peer_node] < 0) {
        tier[a.peer_node] = tier[queue[i]] + 1;
        queue.push_back(a.peer_node);
      }
  for (NodeId n = 0; n < f.num_nodes(); ++n)
    if (f.node(n).labels.tier >= 0) tier[n] = f.node(n).labels.tier;
  return tier;
}

std::string EndName(const Fabric& f, NodeId n, int32_t tier) {
  if (f.node(n).type == NodeType::kRouter) return "router";
  if (!f.is_switch(n)) return "endpoint";
  switch (tier) {
    case 1:
      return "leaf";
    case 2:
      return "spine";
    case 3:
      return "core";
    default:
      return "switch";
  }
}

// What makes two links the same kind: both ends' node type, device id, tier and level.
using EndKey = std::tuple<int32_t, uint8_t, uint32_t, uint8_t>;  // tier first so names sort low-high
using KindKey = std::pair<EndKey, EndKey>;

struct Group {
  std::map<uint16_t, uint32_t> by_rate;  // links per known rate
  uint32_t links = 0;
  std::string name;
};

// The rate a group's links should run at, if one rate is held by enough of them.
std::optional<std::pair<WidthSpeed, uint32_t>> KindRate(const Group& g) {
  uint16_t best = 0;
  uint32_t count = 0;
  bool tie = false;
  for (auto [key, n] : g.by_rate) {
    if (n > count) {
      best = key;
      count = n;
      tie = false;
    } else if (n == count) {
      tie = true;
    }
  }
  if (tie || count < kMinAgreeingKind) return std::nullopt;
  WidthSpeed rate = FromKey(best);
  uint32_t slower = 0;
  for (auto [key, n] : g.by_rate)
    if (Gbps(FromKey(key)) < Gbps(rate)) slower += n;
  if (slower * kMaxSlowShareInverse > g.links) return std::nullopt;
  return std::pair{rate, count};
}

class Inference {
 public:
  Inference(const Fabric& f, const Fabric* plan) : f_(f), plan_(plan), tiers_(NodeTiers(f)) {
    active_.reserve(f.num_links());
    for (LinkId l = 0; l < f.num_links(); ++l) active_.push_back(LinkActiveRate(f, l));
    GroupLinks();
    if (plan_) IndexPlan();
  }

  ExpectedRate For(LinkId l) const {
    if (auto r = FromPlan(l)) return *r;
    if (auto r = FromParallel(l)) return *r;
    if (auto r = FromKind(l)) return *r;
    if (auto r = FromEnabled(l)) return *r;
    return {};
  }

 private:
  NodeId NodeOf(PortId p) const { return f_.port(p).node; }

  EndKey EndOf(NodeId n) const {
    const Node& node = f_.node(n);
    return {tiers_[n], static_cast<uint8_t>(node.type), node.device_id, static_cast<uint8_t>(node.labels.level)};
  }

  void GroupLinks() {
    std::map<KindKey, uint32_t> kinds;
    std::unordered_map<uint64_t, uint32_t> pairs;
    kind_of_.resize(f_.num_links());
    pair_of_.resize(f_.num_links());
    for (LinkId l = 0; l < f_.num_links(); ++l) {
      NodeId a = NodeOf(f_.link(l).a), b = NodeOf(f_.link(l).b);
      EndKey ka = EndOf(a), kb = EndOf(b);
      if (kb < ka) {
        std::swap(a, b);
        std::swap(ka, kb);
      }
      auto [kind, fresh] = kinds.emplace(KindKey{ka, kb}, static_cast<uint32_t>(groups_.size()));
      if (fresh) {
        groups_.emplace_back();
        groups_.back().name = EndName(f_, a, tiers_[a]) + "-" + EndName(f_, b, tiers_[b]);
      }
      kind_of_[l] = kind->second;
      uint64_t pair_key = (uint64_t{std::min(a, b)} << 32) | std::max(a, b);
      auto [pair, new_pair] = pairs.emplace(pair_key, static_cast<uint32_t>(parallel_.size()));
      if (new_pair) parallel_.emplace_back();
      pair_of_[l] = pair->second;
      parallel_[pair->second].push_back(l);
      if (!Known(active_[l])) continue;
      Group& g = groups_[kind->second];
      ++g.by_rate[RateKey(active_[l])];
      ++g.links;
    }
    kind_rate_.reserve(groups_.size());
    for (const Group& g : groups_) kind_rate_.push_back(KindRate(g));
  }

  void IndexPlan() {
    for (NodeId n = 0; n < plan_->num_nodes(); ++n) {
      auto [it, fresh] = plan_by_description_.emplace(plan_->description(n), n);
      if (!fresh) it->second = kNone;  // ambiguous: match such nodes by GUID only
    }
  }

  std::optional<NodeId> PlanNode(NodeId n) const {
    if (uint64_t guid = f_.node(n).guid; guid != 0)
      if (auto p = plan_->FindByGuid(guid)) return p;
    auto it = plan_by_description_.find(f_.description(n));
    if (it == plan_by_description_.end() || it->second == kNone) return std::nullopt;
    return it->second;
  }

  std::optional<PortId> PlanPort(PortId p) const {
    auto n = PlanNode(NodeOf(p));
    if (!n || f_.port(p).number > plan_->node(*n).num_ports) return std::nullopt;
    return plan_->port_id(*n, f_.port(p).number);
  }

  std::optional<ExpectedRate> FromPlan(LinkId l) const {
    if (!plan_) return std::nullopt;
    auto a = PlanPort(f_.link(l).a), b = PlanPort(f_.link(l).b);
    if (!a || !b || plan_->port(*a).peer != *b) return std::nullopt;
    WidthSpeed planned = ActiveRate(plan_->port(*a), plan_->port(*b));
    if (!Known(planned)) return std::nullopt;
    return ExpectedRate{.rate = planned, .basis = RateBasis::kPlan};
  }

  std::optional<ExpectedRate> FromParallel(LinkId l) const {
    std::optional<uint16_t> rate;
    uint32_t others = 0;
    for (LinkId o : parallel_[pair_of_[l]]) {
      if (o == l) continue;
      if (!Known(active_[o])) return std::nullopt;
      uint16_t k = RateKey(active_[o]);
      if (rate && *rate != k) return std::nullopt;
      rate = k;
      ++others;
    }
    if (others < kMinOtherParallel) return std::nullopt;
    return ExpectedRate{.rate = FromKey(*rate), .basis = RateBasis::kParallel, .agreeing = others};
  }

  std::optional<ExpectedRate> FromKind(LinkId l) const {
    const auto& r = kind_rate_[kind_of_[l]];
    if (!r) return std::nullopt;
    const Group& g = groups_[kind_of_[l]];
    return ExpectedRate{
        .rate = r->first, .basis = RateBasis::kKind, .agreeing = r->second, .group = g.links, .kind = g.name};
  }

  std::optional<ExpectedRate> FromEnabled(LinkId l) const {
    const Port& a = f_.port(f_.link(l).a);
    const Port& b = f_.port(f_.link(l).b);
    if (!a.width_enabled || !b.width_enabled || !a.speed_enabled || !b.speed_enabled) return std::nullopt;
    WidthSpeed r{.width = WidestWidth(a.width_enabled & b.width_enabled),
                 .speed = FastestSpeed(a.speed_enabled & b.speed_enabled)};
    if (!Known(r)) return std::nullopt;
    return ExpectedRate{.rate = r, .basis = RateBasis::kEnabled};
  }

  const Fabric& f_;
  const Fabric* plan_;
  std::vector<int32_t> tiers_;
  std::vector<WidthSpeed> active_;
  std::vector<Group> groups_;
  std::vector<std::optional<std::pair<WidthSpeed, uint32_t>>> kind_rate_;
  std::vector<uint32_t> kind_of_;
  std::vector<uint32_t> pair_of_;
  std::vector<std::vector<LinkId>> parallel_;
  std::unordered_map<std::string_view, NodeId> plan_by_description_;
};

}  // namespace

std::string_view ToString(RateBasis b) {
  switch (b) {
    case RateBasis::kUnset:
      return "none";
    case RateBasis::kPlan:
      return "plan";
    case RateBasis::kParallel:
      return "parallel";
    case RateBasis::kKind:
      return "kind";
    case RateBasis::kEnabled:
      return "enabled";
  }
  return "none";
}

WidthSpeed LinkActiveRate(const Fabric& fabric, LinkId link) {
  const Port& a = fabric.port(fabric.link(link).a);
  const Port& b = fabric.port(fabric.link(link).b);
  if (a.state < PortState::kInit || b.state < PortState::kInit) return {};
  return ActiveRate(a, b);
}

std::vector<ExpectedRate> ExpectedRates(const Fabric& fabric, const Fabric* plan) {
  Inference inference(fabric, plan);
  std::vector<ExpectedRate> out;
  out.reserve(fabric.num_links());
  for (LinkId l = 0; l < fabric.num_links(); ++l) out.push_back(inference.For(l));
  return out;
}

std::string DescribeBasis(const ExpectedRate& e) {
  std::string rate = RateName(e.rate.width, e.rate.speed);
  switch (e.basis) {
    case RateBasis::kUnset:
      return "nothing to compare with";
    case RateBasis::kPlan:
      return "plan";
    case RateBasis::kParallel:
      return fmt::format("{} parallel links run at {}", e.agreeing, rate);
    case RateBasis::kKind:
      return fmt::format("{} of {} {} links run at {}", e.agreeing, e.group, e.kind, rate);
    case RateBasis::kEnabled:
      return fmt::format("enabled {}", rate);
  }
  return "";
}

std::vector<SlowLink> FindSlowLinks(const Fabric& fabric, const Fabric* plan) {
  std::vector<SlowLink> out;
  std::vector<ExpectedRate> expected = ExpectedRates(fabric, plan);
  for (LinkId l = 0; l < fabric.num_links(); ++l) {
    WidthSpeed active = LinkActiveRate(fabric, l);
    if (!Known(active) || !Known(expected[l].rate)) continue;
    if (Gbps(active) < Gbps(expected[l].rate))
      out.push_back(SlowLink{.link = l, .active = active, .expected = std::move(expected[l])});
  }
  return out;
}

}  // namespace fabricctl
