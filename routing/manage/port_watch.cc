#include "routing/manage/port_watch.h"

#include <infiniband/mad.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "fabric/mad/attributes.h"

namespace fabricctl {

PortWatch::PortWatch(const Fabric& fabric, NodeId local_node, unsigned local_port, PortWatchOptions options)
    : fabric_(fabric),
      local_node_(local_node),
      local_port_(local_port),
      options_(options),
      link_up_(fabric.num_links(), 1),
      node_up_(fabric.num_nodes(), 1) {
  for (NodeId n = 0; n < fabric.num_nodes(); ++n)
    if (fabric.is_switch(n) && fabric.port(fabric.port_id(n, 0)).lid != 0)
      switch_by_lid_.emplace(fabric.port(fabric.port_id(n, 0)).lid, n);
  ComputePaths();
}

void PortWatch::Assume(const std::vector<uint8_t>& link_down, const std::vector<uint8_t>& node_down) {
  for (LinkId l = 0; l < link_up_.size(); ++l) link_up_[l] = !(l < link_down.size() && link_down[l]);
  for (NodeId n = 0; n < node_up_.size(); ++n) node_up_[n] = !(n < node_down.size() && node_down[n]);
  ComputePaths();
}

// Breadth first from the local port, through switches only, over cables seen up.
void PortWatch::ComputePaths() {
  // A node out of reach keeps its last path: reading through it fails (the cable is down)
  // rather than reaching some other node by a path shortened to nothing.
  paths_.resize(fabric_.num_nodes());
  reachable_.assign(fabric_.num_nodes(), 0);
  if (local_node_ >= fabric_.num_nodes()) return;
  reachable_[local_node_] = 1;
  paths_[local_node_] = mad::DrPath{};
  std::vector<NodeId> queue{local_node_};
  for (size_t i = 0; i < queue.size(); ++i) {
    const NodeId n = queue[i];
    if (n != local_node_ && !fabric_.is_switch(n)) continue;
    if (paths_[n].hops >= mad::kMaxHops) continue;
    for (const Adjacency& a : fabric_.neighbors(n)) {
      const unsigned number = fabric_.port(a.local).number;
      if (!fabric_.is_switch(n) && number != local_port_) continue;
      if (reachable_[a.peer_node] || !link_up_[fabric_.port(a.local).link]) continue;
      reachable_[a.peer_node] = 1;
      paths_[a.peer_node] = paths_[n].Extend(static_cast<uint8_t>(number));
      queue.push_back(a.peer_node);
    }
  }
}

void PortWatch::PostSwitch(mad::MadRpc& rpc, NodeId n, bool full, std::vector<int8_t>& port_seen, SweepResult& result) {
  mad::Request get{.method = mad::Method::kGet, .attr_id = mad::attr::kSwitchInfo, .path = paths_[n]};
  rpc.Post(get, [this, &rpc, n, full, &port_seen, &result, get](const mad::Completion& c) {
    if (c.outcome != mad::Outcome::kOk) return;
    port_seen[fabric_.port_id(n, 0)] = 1;  // port 0 answering: the switch is alive
    const bool flagged = mad_get_field(const_cast<uint8_t*>(c.reply->data()), 0, IB_SW_STATE_CHANGE_F) != 0;
    result.switches_flagged += flagged;
    if (flagged && options_.bit == PortStateChangeBit::kClear) {
      // Writing the bit back as 1 clears it; everything else is echoed unchanged.
      mad::Request set = get;
      set.method = mad::Method::kSet;
      std::memcpy(set.data.data(), c.reply->data(), 64);
      rpc.Post(set, [](const mad::Completion&) {});
    }
    if (!flagged && !full) return;
    for (unsigned p = 1; p <= fabric_.node(n).num_ports; ++p) {
      const PortId port = fabric_.port_id(n, p);
      if (fabric_.port(port).peer == kNone) continue;
      mad::Request info{.method = mad::Method::kGet, .attr_id = mad::attr::kPortInfo, .attr_mod = p, .path = paths_[n]};
      rpc.Post(info, [this, &port_seen, port](const mad::Completion& pc) {
        if (pc.outcome != mad::Outcome::kOk) return;
        const PortState state = mad::DecodePortInfo(pc.reply->data()).state;
        if (state == PortState::kInit && options_.activate_ports) {
          init_ports_.push_back(port);  // left unread: Activate decides whether it is up
          return;
        }
        port_seen[port] = state == PortState::kDown ? 0 : 1;
      });
    }
  });
}

namespace {

bool SamePath(const mad::DrPath& a, const mad::DrPath& b) {
  return a.hops == b.hops && std::equal(a.port.begin(), a.port.begin() + a.hops + 1, b.port.begin());
}

void AddStats(mad::RpcStats& sum, const mad::RpcStats& s) {
  sum.sent += s.sent;
  sum.answered += s.answered;
  sum.retransmits += s.retransmits;
  sum.unanswered += s.unanswered;
  sum.stray += s.stray;
}

}  // namespace

// Round one asks every reachable switch. A switch that did not answer may sit behind a
// cable this very sweep found down: once the paths avoid what was found, later rounds ask
// again those whose path changed, so a dead cable is not taken for a dead switch.
Result<SweepResult> PortWatch::Sweep(mad::Transport& transport) {
  constexpr int kRounds = 4;
  const auto start = std::chrono::steady_clock::now();
  SweepResult result;
  // The first sweep reads everything: the state assumed at start may be stale.
  result.full_pass = sweeps_ == 0 || (options_.full_pass_every != 0 && sweeps_ % options_.full_pass_every == 0);
  ++sweeps_;
  ComputePaths();
  init_ports_.clear();
  std::vector<int8_t> port_seen(fabric_.num_port_slots(), -1);  // -1 unread, 0 down, 1 up
  std::vector<mad::DrPath> asked_by(fabric_.num_nodes());
  std::vector<uint8_t> asked(fabric_.num_nodes(), 0);
  auto answered = [&](NodeId n) { return port_seen[fabric_.port_id(n, 0)] == 1; };
  for (int round = 0; round < kRounds; ++round) {
    mad::MadRpc rpc(transport, options_.rpc);
    bool any = false;
    for (NodeId n = 0; n < fabric_.num_nodes(); ++n) {
      if (!fabric_.is_switch(n) || !reachable_[n] || answered(n)) continue;
      if (asked[n] && SamePath(asked_by[n], paths_[n])) continue;
      asked[n] = 1;
      asked_by[n] = paths_[n];
      PostSwitch(rpc, n, result.full_pass, port_seen, result);
      any = true;
    }
    if (!any) break;
    auto run = rpc.Run();
    AddStats(result.stats, rpc.stats());
    if (!run) return std::unexpected(run.error());
    EvaluateLinks(port_seen, result);
    ComputePaths();
  }
  // A switch is declared dead only after one more, longer wait: a busy fabric (or
  // simulator) that answers late must not look like a row of dead switches.
  mad::RpcOptions patient = options_.rpc;
  patient.timeout_ms = std::max(100, 5 * options_.rpc.timeout_ms);
  patient.retries = 0;
  mad::MadRpc confirm(transport, patient);
  for (NodeId n = 0; n < fabric_.num_nodes(); ++n)
    if (fabric_.is_switch(n) && reachable_[n] && !answered(n))
      PostSwitch(confirm, n, result.full_pass, port_seen, result);
  auto run = confirm.Run();
  AddStats(result.stats, confirm.stats());
  if (!run) return std::unexpected(run.error());
  if (!init_ports_.empty())
    if (auto r = Activate(transport, port_seen, result); !r) return std::unexpected(r.error());
  EvaluateLinks(port_seen, result);
  ComputePaths();
  EvaluateNodes(answered, result);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::vector<NodeId> PortWatch::SwitchesWithLids(const std::vector<uint16_t>& lids) const {
  std::vector<NodeId> out;
  for (uint16_t lid : lids)
    if (const auto it = switch_by_lid_.find(lid); it != switch_by_lid_.end()) out.push_back(it->second);
  return out;
}

Result<std::optional<SweepResult>> PortWatch::SweepTrapped(mad::Transport& transport,
                                                           const std::vector<uint16_t>& lids) {
  // Rounds, each over the switches whose traps arrived since the last: a switch that lost
  // every cable sends none itself, each of its neighbours does, within moments.
  constexpr int kRounds = 8;
  const auto start = std::chrono::steady_clock::now();
  SweepResult result;
  ComputePaths();
  init_ports_.clear();
  std::vector<int8_t> port_seen(fabric_.num_port_slots(), -1);
  std::vector<uint8_t> asked(fabric_.num_nodes(), 0);
  std::vector<NodeId> next = SwitchesWithLids(lids);
  // No retry: a trapping switch that does not answer at once has its neighbours read
  // instead, and the full sweep that follows is the backstop.
  mad::RpcOptions once = options_.rpc;
  once.retries = 0;
  for (int round = 0; round < kRounds && !next.empty(); ++round) {
    mad::MadRpc rpc(transport, once);
    std::vector<NodeId> posted;
    for (NodeId n : next) {
      if (asked[n] || !reachable_[n]) continue;
      asked[n] = 1;
      posted.push_back(n);
      PostSwitch(rpc, n, true, port_seen, result);
    }
    auto run = rpc.Run();
    AddStats(result.stats, rpc.stats());
    if (!run) return std::unexpected(run.error());
    EvaluateLinks(port_seen, result);
    ComputePaths();  // the next round's paths avoid what this one found down
    next = SwitchesWithLids(transport.TakeTraps());
    // A switch that sent a trap and does not answer died, or sits behind what failed: the
    // ports of its neighbours facing it tell which.
    for (NodeId n : posted)
      if (port_seen[fabric_.port_id(n, 0)] != 1)
        for (const Adjacency& a : fabric_.neighbors(n))
          if (fabric_.is_switch(a.peer_node)) next.push_back(a.peer_node);
  }
  if (!init_ports_.empty())
    if (auto r = Activate(transport, port_seen, result); !r) return std::unexpected(r.error());
  EvaluateLinks(port_seen, result);
  ComputePaths();
  // Nothing seen: a full sweep decides (its switches are left in their states here).
  if (!result.changed()) return std::optional<SweepResult>{};
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return std::optional<SweepResult>{std::move(result)};
}

// A link in Init passes only SMPs until a subnet manager arms and then activates both ends
// (IBA 7.2): PortInfo Get of each end, Set Armed, Set Active, every other field as read.
// The far end is reached through the link itself, which carries SMPs in Init.
Result<void> PortWatch::Activate(mad::Transport& transport, std::vector<int8_t>& port_seen, SweepResult& result) {
  struct End {
    PortId port;
    mad::DrPath path;
    std::array<uint8_t, mad::kSmpDataSize> info{};
    PortState state = PortState::kDown;
  };
  std::vector<End> ends;
  std::vector<uint8_t> taken(fabric_.num_links(), 0);
  for (PortId port : init_ports_) {
    const Port& near = fabric_.port(port);
    if (near.peer == kNone || !reachable_[near.node] || std::exchange(taken[near.link], 1)) continue;
    ends.push_back(End{.port = port, .path = paths_[near.node]});
    ends.push_back(End{.port = near.peer, .path = paths_[near.node].Extend(near.number)});
  }
  mad::MadRpc rpc(transport, options_.rpc);
  auto post_all = [&](mad::Method method, PortState to) {
    for (End& end : ends) {
      if (method == mad::Method::kSet && end.state != PortState::kInit && end.state != PortState::kArmed) continue;
      if (method == mad::Method::kSet && to == PortState::kArmed && end.state != PortState::kInit) continue;
      mad::Request request{.method = method,
                           .attr_id = mad::attr::kPortInfo,
                           .attr_mod = fabric_.port(end.port).number,
                           .path = end.path};
      if (method == mad::Method::kSet) {
        auto data = mad::EncodePortInfoState(end.info.data(), to);
        std::copy(data.begin(), data.end(), request.data.begin());
      }
      rpc.Post(request, [&end](const mad::Completion& c) {
        if (c.outcome != mad::Outcome::kOk) return;
        std::copy_n(c.reply->data(), end.info.size(), end.info.begin());
        end.state = mad::DecodePortInfo(c.reply->data()).state;
      });
    }
    return rpc.Run();
  };
  for (auto [method, to] :
       {std::pair{mad::Method::kGet, PortState::kNoChange}, std::pair{mad::Method::kSet, PortState::kArmed},
        std::pair{mad::Method::kSet, PortState::kActive}})
    if (auto r = post_all(method, to); !r) return r;
  AddStats(result.stats, rpc.stats());
  for (size_t i = 0; i + 1 < ends.size(); i += 2) {
    const bool active = ends[i].state == PortState::kActive && ends[i + 1].state == PortState::kActive;
    port_seen[ends[i].port] = active ? 1 : 0;  // a link that stays in Init carries no data
    port_seen[ends[i + 1].port] = active ? 1 : 0;
    result.ports_activated += active ? 2 : 0;
  }
  return {};
}

// A cable is down when either end read Down, up when an end read up and none read Down;
// unread ends leave it as it was.
void PortWatch::EvaluateLinks(const std::vector<int8_t>& port_seen, SweepResult& result) {
  for (LinkId l = 0; l < fabric_.num_links(); ++l) {
    const int8_t a = port_seen[fabric_.link(l).a], b = port_seen[fabric_.link(l).b];
    if (a < 0 && b < 0) continue;
    const uint8_t now = (a == 0 || b == 0) ? 0 : 1;
    if (now == link_up_[l]) continue;
    link_up_[l] = now;
    (now ? result.came_up : result.went_down).push_back(l);
  }
}

// A switch that a working route reaches and that does not answer is down. One cut off by
// cables seen down keeps its state: from here a dead switch and a live one whose cables all
// failed look the same, and the endpoints behind either are unreachable, not gone.
void PortWatch::EvaluateNodes(const std::function<bool(NodeId)>& answered, SweepResult& result) {
  for (NodeId n = 0; n < fabric_.num_nodes(); ++n) {
    if (!fabric_.is_switch(n) || !reachable_[n]) continue;
    const uint8_t now = answered(n) ? 1 : 0;
    if (now == node_up_[n]) continue;
    node_up_[n] = now;
    (now ? result.nodes_up : result.nodes_down).push_back(n);
  }
}

}  // namespace fabricctl
