#include "probes/sweep/mad_counters.h"

#include <fmt/format.h>

#include <algorithm>

#include "fabric/discovery.h"

namespace fabricctl::sweep {
namespace {

// Widths of the PortCounters error fields (IBA 16.1.3.5), in Counter order: a counter at
// its largest value has stopped counting, so a sweep cannot see new errors on it.
constexpr std::array<unsigned, kNumErrorCounters> kErrorCounterBits = {16, 8, 8, 16, 16, 16, 16, 8, 8, 4, 4, 16, 32};

bool Saturated(Counter c, uint64_t value) {
  size_t i = static_cast<size_t>(c);
  return i < kNumErrorCounters && value == (uint64_t{1} << kErrorCounterBits[i]) - 1;
}

// The live node that stands for topology node `n`: same GUID, or when the topology has no
// GUIDs, the one live node with the same description.
std::optional<NodeId> MatchNode(const Fabric& topology, NodeId n, const Fabric& live, std::string& why) {
  const Node& node = topology.node(n);
  if (node.guid != 0) {
    auto found = live.FindByGuid(node.guid);
    if (!found)
      why = fmt::format("node '{}' (GUID 0x{:x}) is not in the live fabric", topology.description(n), node.guid);
    return found;
  }
  std::optional<NodeId> found;
  for (NodeId l = 0; l < live.num_nodes(); ++l) {
    if (live.description(l) != topology.description(n)) continue;
    if (found) {
      why = fmt::format("node '{}' has no GUID and its description is not unique in the live fabric",
                        topology.description(n));
      return std::nullopt;
    }
    found = l;
  }
  if (!found) why = fmt::format("node '{}' (no GUID) is not in the live fabric", topology.description(n));
  return found;
}

}  // namespace

std::vector<Counter> LinkErrorCounters() {
  return {Counter::kSymbolErrorCounter,          Counter::kLinkErrorRecoveryCounter,
          Counter::kLinkDownedCounter,           Counter::kPortRcvErrors,
          Counter::kPortRcvRemotePhysicalErrors, Counter::kLocalLinkIntegrityErrors,
          Counter::kExcessiveBufferOverrunErrors};
}

void MadCounterSource::MarkUnread(PortId port, std::string message) { unread_.emplace(port, std::move(message)); }

// Discovers the live fabric once and maps every connected port of the sweep's fabric to
// its live twin; ports without one are unread for the whole sweep.
Result<void> MadCounterSource::MatchLiveFabric() {
  auto found = Discover(transport_, DiscoveryOptions{.rpc = options_.rpc});
  if (!found) return std::unexpected(found.error());
  live_ = std::move(found->fabric);
  const Fabric& live = *live_;
  live_port_.assign(fabric_.num_port_slots(), kNone);
  last_.assign(fabric_.num_port_slots(), 0);
  size_t matched = 0;
  for (NodeId n = 0; n < fabric_.num_nodes(); ++n) {
    std::string why;
    std::optional<NodeId> twin = MatchNode(fabric_, n, live, why);
    for (unsigned p = 1; p <= fabric_.node(n).num_ports; ++p) {
      PortId pid = fabric_.port_id(n, p);
      if (fabric_.port(pid).peer == kNone) continue;
      ++connected_;
      if (!twin) {
        MarkUnread(pid, why);
      } else if (p > live.node(*twin).num_ports) {
        MarkUnread(pid, fmt::format("the live node has only {} ports", live.node(*twin).num_ports));
      } else if (live.port(live.port_id(*twin, p)).peer == kNone) {
        MarkUnread(pid, "not connected in the live fabric");
      } else {
        live_port_[pid] = live.port_id(*twin, p);
        ++matched;
      }
    }
  }
  if (connected_ > 0 && matched == 0)
    return MakeError(fmt::format(
        "none of the topology's {} connected ports is in the live fabric ({} nodes discovered): another subnet, "
        "or a topology of another fabric?",
        connected_, live.num_nodes()));
  return {};
}

Result<std::vector<uint64_t>> MadCounterSource::Read() {
  if (!live_)
    if (auto m = MatchLiveFabric(); !m) return std::unexpected(m.error());
  const Fabric& live = *live_;
  auto report = ReadCounters(transport_, live, CounterOptions{.rpc = options_.rpc});
  if (!report) return std::unexpected(report.error());
  std::vector<const PortCounterReading*> reading(live.num_port_slots(), nullptr);
  for (const PortCounterReading& r : report->ports) reading[r.port] = &r;
  std::vector<std::string> problem(live.num_port_slots());
  for (const CounterProblem& p : report->problems) problem[p.port] = p.message;

  for (PortId pid = 0; pid < live_port_.size(); ++pid) {
    PortId twin = live_port_[pid];
    if (twin == kNone || unread_.contains(pid)) continue;  // keeps its last good value
    const PortCounterReading* r = reading[twin];
    if (r == nullptr) {
      MarkUnread(pid, problem[twin].empty() ? "the PMA gave no counters" : problem[twin]);
      continue;
    }
    uint64_t sum = 0;
    for (Counter c : options_.summed) {
      uint64_t v = r->value[static_cast<size_t>(c)];
      if (Saturated(c, v))
        MarkUnread(pid, fmt::format("{} is saturated at {}: new errors cannot show (reset it: fabricctl counters "
                                    "--reset)",
                                    CounterName(c), v));
      sum += v;
    }
    if (!unread_.contains(pid)) last_[pid] = sum;
  }
  return last_;
}

std::vector<UnreadPort> MadCounterSource::unread() const {
  std::vector<UnreadPort> out;
  for (const auto& [port, message] : unread_) out.push_back({.port = port, .message = message});
  return out;
}

size_t MadCounterSource::ports_read() const { return connected_ - unread_.size(); }

}  // namespace fabricctl::sweep
