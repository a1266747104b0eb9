#include "fabric/topology_diff.h"

#include <string>
#include <unordered_map>

namespace fabricctl {

std::string_view ToString(DiffKind k) {
  switch (k) {
    case DiffKind::kMissingNode:
      return "missing_node";
    case DiffKind::kExtraNode:
      return "extra_node";
    case DiffKind::kTypeMismatch:
      return "type_mismatch";
    case DiffKind::kMissingLink:
      return "missing_link";
    case DiffKind::kMiswired:
      return "miswired";
    case DiffKind::kExtraLink:
      return "extra_link";
    case DiffKind::kBelowPlan:
      return "below_plan";
  }
  return "unknown";
}

namespace {

class Differ {
 public:
  Differ(const Fabric& expected, const Fabric& actual)
      : e_(expected), a_(actual), e2a_(expected.num_nodes(), kNone), a2e_(actual.num_nodes(), kNone) {}

  TopologyDiff Run() {
    MatchNodes();
    TopologyDiff diff;
    diff.matched_nodes = matched_;
    diff.matched_by_description = matched_by_description_;
    auto& out = diff.differences;
    for (NodeId n = 0; n < e_.num_nodes(); ++n)
      if (e2a_[n] == kNone)
        out.push_back({.kind = DiffKind::kMissingNode, .expected_node = n, .node_links = e_.neighbors(n).size()});
    for (NodeId n = 0; n < a_.num_nodes(); ++n)
      if (a2e_[n] == kNone)
        out.push_back({.kind = DiffKind::kExtraNode, .actual_node = n, .node_links = a_.neighbors(n).size()});
    for (NodeId n = 0; n < e_.num_nodes(); ++n)
      if (e2a_[n] != kNone && e_.node(n).type != a_.node(e2a_[n]).type)
        out.push_back({.kind = DiffKind::kTypeMismatch, .expected_node = n, .actual_node = e2a_[n]});
    CompareLinks(out);
    return diff;
  }

 private:
  void Match(NodeId e, NodeId a) {
    e2a_[e] = a;
    a2e_[a] = e;
    ++matched_;
  }

  void MatchNodes() {
    for (NodeId n = 0; n < e_.num_nodes(); ++n) {
      uint64_t guid = e_.node(n).guid;
      if (guid == 0) continue;
      if (auto a = a_.FindByGuid(guid)) Match(n, *a);
    }
    // By description, where the description is unique among the unmatched nodes on both
    // sides: repeated ones ("MT4123 ConnectX6 Mellanox Technologies") identify nothing.
    struct Candidates {
      size_t expected = 0, actual = 0;
      NodeId e = kNone, a = kNone;
    };
    std::unordered_map<std::string_view, Candidates> by_description;
    for (NodeId n = 0; n < e_.num_nodes(); ++n) {
      if (e2a_[n] != kNone) continue;
      Candidates& c = by_description[e_.description(n)];
      ++c.expected;
      c.e = n;
    }
    for (NodeId n = 0; n < a_.num_nodes(); ++n) {
      if (a2e_[n] != kNone) continue;
      auto it = by_description.find(a_.description(n));
      if (it == by_description.end()) continue;
      ++it->second.actual;
      it->second.a = n;
    }
    for (NodeId n = 0; n < e_.num_nodes(); ++n) {
      if (e2a_[n] != kNone) continue;
      const Candidates& c = by_description[e_.description(n)];
      if (c.expected != 1 || c.actual != 1) continue;
      // Two different GUIDs are two different nodes, whatever their descriptions say.
      if (e_.node(n).guid != 0 && a_.node(c.a).guid != 0) continue;
      Match(n, c.a);
      ++matched_by_description_;
    }
  }

  // The ACTUAL port standing for an EXPECTED port, kNone when the node is unmatched or
  // lacks that port number.
  PortId ActualPort(PortId expected_port) const {
    const Port& p = e_.port(expected_port);
    NodeId a = e2a_[p.node];
    if (a == kNone || p.number > a_.node(a).num_ports) return kNone;
    return a_.port_id(a, p.number);
  }

  static bool Below(WidthSpeed actual, WidthSpeed planned) {
    bool narrow = planned.width != LinkWidth::kNone && LaneCount(actual.width) < LaneCount(planned.width);
    bool slow = planned.speed != LinkSpeed::kNone && static_cast<int>(actual.speed) < static_cast<int>(planned.speed);
    return narrow || slow;
  }

  void CompareLinks(std::vector<TopologyDifference>& out) {
    std::vector<bool> explained(a_.num_links(), false);      // actual links accounted for
    std::vector<bool> involved(a_.num_port_slots(), false);  // actual ports of miswired links
    std::vector<TopologyDifference> missing, miswired, below;
    for (LinkId l = 0; l < e_.num_links(); ++l) {
      const Link& link = e_.link(l);
      if (e2a_[e_.port(link.a).node] == kNone || e2a_[e_.port(link.b).node] == kNone) continue;
      PortId pa = ActualPort(link.a), pb = ActualPort(link.b);
      if (pa != kNone && pb != kNone && a_.port(pa).peer == pb) {
        LinkId al = a_.port(pa).link;
        explained[al] = true;
        WidthSpeed planned = ActiveRate(e_.port(link.a), e_.port(link.b));
        WidthSpeed got = ActiveRate(a_.port(pa), a_.port(pb));
        if (Below(got, planned))
          below.push_back(
              {.kind = DiffKind::kBelowPlan, .expected_link = l, .actual_link = al, .planned = planned, .actual = got});
        continue;
      }
      PortId peer_a = pa == kNone ? kNone : a_.port(pa).peer;
      PortId peer_b = pb == kNone ? kNone : a_.port(pb).peer;
      if (peer_a == kNone && peer_b == kNone) {
        missing.push_back({.kind = DiffKind::kMissingLink, .expected_link = l, .actual_a = pa, .actual_b = pb});
        continue;
      }
      if (pa != kNone) involved[pa] = true;
      if (pb != kNone) involved[pb] = true;
      miswired.push_back({.kind = DiffKind::kMiswired,
                          .expected_link = l,
                          .actual_a = pa,
                          .actual_a_peer = peer_a,
                          .actual_b = pb,
                          .actual_b_peer = peer_b});
    }
    std::vector<TopologyDifference> extra;
    for (LinkId l = 0; l < a_.num_links(); ++l) {
      if (explained[l]) continue;
      const Link& link = a_.link(l);
      if (a2e_[a_.port(link.a).node] == kNone || a2e_[a_.port(link.b).node] == kNone) continue;
      if (involved[link.a] || involved[link.b]) continue;
      extra.push_back({.kind = DiffKind::kExtraLink, .actual_link = l});
    }
    for (auto* group : {&missing, &miswired, &extra, &below}) out.insert(out.end(), group->begin(), group->end());
  }

  const Fabric& e_;
  const Fabric& a_;
  std::vector<NodeId> e2a_;
  std::vector<NodeId> a2e_;
  size_t matched_ = 0;
  size_t matched_by_description_ = 0;
};

}  // namespace

TopologyDiff DiffTopologies(const Fabric& expected, const Fabric& actual) { return Differ(expected, actual).Run(); }

}  // namespace fabricctl
