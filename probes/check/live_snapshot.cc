#include "probes/check/live_snapshot.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <span>
#include <thread>
#include <unordered_map>

#include "fabric/elapsed.h"
#include "fabric/mad/attributes.h"

namespace fabricctl::check {
namespace {

using Clock = std::chrono::steady_clock;
using mad::Completion;
using mad::Outcome;

void Stage(const LiveOptions& options, std::string_view stage) {
  if (options.stage) options.stage(stage);
}

std::string Failure(std::string_view what, const Completion& c) {
  if (c.outcome == Outcome::kTimeout) return fmt::format("{}: no answer", what);
  return fmt::format("{}: MAD status 0x{:04x}", what, c.status);
}

bool SamePath(const mad::DrPath& a, const mad::DrPath& b) {
  return a.hops == b.hops && std::equal(a.port.begin() + 1, a.port.begin() + 1 + a.hops, b.port.begin() + 1);
}

std::unordered_map<std::string, NodeId> NodesByPath(const DiscoveryResult& d) {
  std::unordered_map<std::string, NodeId> by_path;
  for (NodeId n = 0; n < d.paths.size(); ++n) by_path.emplace(d.paths[n].ToString(), n);
  return by_path;
}

// A switch's port 0 counts as active when any of its cabled ports is: its LID is in use.
bool IsActive(const DiscoveryResult& d, PortId p) {
  const Fabric& f = d.fabric;
  const Port& port = f.port(p);
  if (f.is_switch(port.node) && port.number == 0)
    return std::ranges::any_of(f.physical_ports(port.node),
                               [](const Port& q) { return q.state == PortState::kActive; });
  return d.port_info[p] && d.port_info[p]->state == PortState::kActive;
}

// Whether the kept node `n` can be the node that answered `s`: the same kind, and the
// entry port cabled (in the kept node) to the port the sighting left its parent by.
bool Matches(const DiscoveryResult& d, const std::unordered_map<std::string, NodeId>& by_path, NodeId n,
             const NodeSighting& s) {
  const Fabric& f = d.fabric;
  const Node& node = f.node(n);
  if (node.type != s.info.type || node.num_ports != s.info.num_ports) return false;
  if (s.info.local_port < 1 || s.info.local_port > node.num_ports) return false;
  mad::DrPath parent_path = s.path;
  parent_path.hops = static_cast<uint8_t>(s.path.hops - 1);
  auto parent = by_path.find(parent_path.ToString());
  if (parent == by_path.end()) return false;
  PortId exit = f.port_id(parent->second, s.path.port[s.path.hops]);
  return f.port(f.port_id(n, s.info.local_port)).peer == exit;
}

// The port GUID every kept node answered with: a switch's (port 0) and a CA's entry port.
std::unordered_map<NodeId, uint64_t> SwitchPortGuids(const DiscoveryResult& d) {
  std::unordered_map<NodeId, uint64_t> guid;
  for (NodeId n = 0; n < d.paths.size(); ++n)
    if (d.fabric.is_switch(n)) guid[n] = d.fabric.node(n).guid;
  for (const NodeSighting& s : d.sightings)
    if (auto n = d.fabric.FindByGuid(s.info.node_guid); n && d.fabric.is_switch(*n) && SamePath(d.paths[*n], s.path))
      guid[*n] = s.info.port_guid;
  return guid;
}

IdentityReading ReadingOf(const DiscoveryResult& d, PortId p, uint64_t port_guid) {
  const Fabric& f = d.fabric;
  const Port& port = f.port(p);
  return IdentityReading{.path = d.paths[port.node].ToString(),
                         .description = f.description(port.node),
                         .node_guid = f.node(port.node).guid,
                         .port_guid = port_guid,
                         .port_number = port.number,
                         .lid = d.port_info[p] ? d.port_info[p]->lid : 0,
                         .active = IsActive(d, p)};
}

// Reads the LID and description of stray sightings along their own paths.
class StrayReader {
 public:
  StrayReader(mad::Transport& transport, const mad::RpcOptions& rpc) : rpc_(transport, rpc) {}

  Result<void> Read(const std::vector<const NodeSighting*>& strays, std::span<IdentityReading> readings,
                    std::vector<std::string>& problems) {
    for (size_t i = 0; i < strays.size(); ++i) {
      const NodeSighting& s = *strays[i];
      IdentityReading& r = readings[i];
      unsigned port = s.info.type == NodeType::kSwitch ? 0 : s.info.local_port;
      rpc_.Post(mad::Request{.attr_id = mad::attr::kPortInfo, .attr_mod = port, .path = s.path},
                [&r, &problems](const Completion& c) {
                  if (c.outcome != Outcome::kOk)
                    return problems.push_back(fmt::format("route {}: {}", r.path, Failure("PortInfo", c)));
                  mad::PortInfo pi = mad::DecodePortInfo(c.reply->data());
                  r.lid = pi.lid;
                  r.active = pi.state == PortState::kActive;
                });
      rpc_.Post(mad::Request{.attr_id = mad::attr::kNodeDescription, .path = s.path},
                [&r, &problems](const Completion& c) {
                  if (c.outcome != Outcome::kOk)
                    return problems.push_back(fmt::format("route {}: {}", r.path, Failure("NodeDescription", c)));
                  r.description = mad::DecodeNodeDescription(c.reply->data());
                });
    }
    return rpc_.Run();
  }

  const mad::RpcStats& stats() const { return rpc_.stats(); }

 private:
  mad::MadRpc rpc_;
};

// Ports behind which a subnet manager runs: CapabilityMask.IsSM, and the owner of every
// SM LID that ports report (an SM that lost its flag is still named by its LID).
std::vector<PortId> SmPorts(const DiscoveryResult& d) {
  const Fabric& f = d.fabric;
  std::unordered_map<uint32_t, PortId> by_lid;
  for (PortId p = 0; p < f.num_port_slots(); ++p)
    if (f.port(p).lid != 0 && (f.is_switch(f.port(p).node) ? f.port(p).number == 0 : f.port(p).number != 0))
      by_lid.emplace(f.port(p).lid, p);
  std::vector<PortId> ports;
  for (PortId p = 0; p < f.num_port_slots(); ++p) {
    if (!d.port_info[p]) continue;
    if (d.port_info[p]->capability_mask & mad::kCapIsSm) ports.push_back(p);
    if (auto it = by_lid.find(d.port_info[p]->sm_lid); d.port_info[p]->sm_lid != 0 && it != by_lid.end())
      ports.push_back(it->second);
  }
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  return ports;
}

Result<std::vector<SmReading>> ReadSubnetManagers(mad::Transport& transport, const DiscoveryResult& d,
                                                  const mad::RpcOptions& rpc_options,
                                                  std::vector<std::string>& problems, uint64_t& mads) {
  const Fabric& f = d.fabric;
  std::vector<PortId> ports = SmPorts(d);
  std::vector<std::optional<SmReading>> read(ports.size());
  mad::MadRpc rpc(transport, rpc_options);
  for (size_t i = 0; i < ports.size(); ++i) {
    PortId p = ports[i];
    rpc.Post(mad::Request{.attr_id = mad::attr::kSmInfo, .path = d.paths[f.port(p).node]},
             [&, i, p](const Completion& c) {
               if (c.outcome != Outcome::kOk)
                 return problems.push_back(fmt::format("{}: {}", f.PortName(p), Failure("SMInfo", c)));
               mad::SmInfo sm = mad::DecodeSmInfo(c.reply->data());
               read[i] = SmReading{.where = f.PortName(p),
                                   .guid = sm.guid,
                                   .lid = f.port(p).lid,
                                   .priority = sm.priority,
                                   .state = sm.state,
                                   .activity_count = sm.activity_count};
             });
  }
  auto run = rpc.Run();
  mads += rpc.stats().sent;
  if (!run) return std::unexpected(run.error());
  std::vector<SmReading> sms;
  for (auto& r : read)
    if (r) sms.push_back(std::move(*r));
  return sms;
}

Result<CounterReport> ReadCountersOnce(mad::Transport& transport, const DiscoveryResult& d, const LiveOptions& options,
                                       LiveTimings& timings, std::string_view stage,
                                       const PmaCapabilities* known = nullptr) {
  Stage(options, stage);
  auto start = Clock::now();
  auto report =
      ReadCounters(transport, d.fabric,
                   CounterOptions{.rpc = options.discovery.rpc, .thresholds = options.thresholds, .known = known});
  timings.counters += SecondsSince(start);
  if (report) timings.mads += report->stats.sent;
  return report;
}

void AddDiscoveryProblems(const DiscoveryResult& d, std::vector<std::string>& problems) {
  for (const DiscoveryProblem& p : d.problems)
    problems.push_back(fmt::format("{} (route {}): {}", p.where, p.path, p.message));
}

// Identity readings, stray sightings read along their own paths.
Result<void> CollectIdentities(mad::Transport& transport, const LiveOptions& options, LiveSnapshot& live) {
  const DiscoveryResult& d = *live.discovery;
  Snapshot& s = live.snapshot;
  s.identities = IdentityReadings(d);
  std::vector<const NodeSighting*> strays = StraySightings(d);
  if (strays.empty()) return {};
  StrayReader reader(transport, options.discovery.rpc);
  auto r = reader.Read(strays, std::span(s.identities).last(strays.size()), s.collection_problems);
  live.timings.mads += reader.stats().sent;
  return r;
}

// SMInfo and installed routes: the work done while the counter interval runs.
Result<void> CollectDuringInterval(mad::Transport& transport, const LiveOptions& options, LiveSnapshot& live) {
  const DiscoveryResult& d = *live.discovery;
  Snapshot& s = live.snapshot;
  if (auto r = CollectIdentities(transport, options, live); !r) return r;
  if (options.node_names) {
    auto named = RenameNodes(live.discovery->fabric, *options.node_names);
    if (!named) return std::unexpected(named.error());
    live.discovery->fabric = std::move(*named);
  }
  Stage(options, "subnet managers");
  auto start = Clock::now();
  auto sms = ReadSubnetManagers(transport, d, options.discovery.rpc, s.collection_problems, live.timings.mads);
  if (!sms) return std::unexpected(sms.error());
  s.sms = std::move(*sms);
  live.timings.subnet_managers = SecondsSince(start);
  if (options.routes == LiveRoutes::kSkip) return {};
  Stage(options, "routes");
  start = Clock::now();
  auto installed =
      ReadInstalledRoutes(transport, d, InstalledRoutesOptions{.rpc = options.discovery.rpc, .sl2vl = options.sl2vl});
  if (!installed) return std::unexpected(installed.error());
  live.installed = std::make_unique<InstalledRoutes>(std::move(*installed));
  live.timings.routes = SecondsSince(start);
  live.timings.mads += live.installed->stats.sent;
  s.installed_routes = &live.installed->routes;
  for (std::string& p : live.installed->problems) s.collection_problems.push_back("routes: " + p);
  return {};
}

void Wait(const LiveOptions& options, double seconds, LiveTimings& timings) {
  if (seconds > 0) Stage(options, "waiting");
  auto start = Clock::now();
  if (options.wait)
    options.wait(std::max(seconds, 0.0));
  else if (seconds > 0)
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  timings.waited = SecondsSince(start);
}

}  // namespace

std::vector<const NodeSighting*> StraySightings(const DiscoveryResult& d) {
  auto by_path = NodesByPath(d);
  std::vector<const NodeSighting*> strays;
  for (const NodeSighting& s : d.sightings) {
    auto n = d.fabric.FindByGuid(s.info.node_guid);
    if (s.path.hops == 0 || !n || SamePath(d.paths[*n], s.path)) continue;
    if (!Matches(d, by_path, *n, s)) strays.push_back(&s);
  }
  return strays;
}

std::vector<IdentityReading> IdentityReadings(const DiscoveryResult& d) {
  const Fabric& f = d.fabric;
  auto switch_guids = SwitchPortGuids(d);
  std::vector<IdentityReading> readings;
  for (NodeId n = 0; n < f.num_nodes(); ++n) {
    if (f.is_switch(n)) {
      readings.push_back(ReadingOf(d, f.port_id(n, 0), switch_guids[n]));
      continue;
    }
    for (unsigned p = 1; p <= f.node(n).num_ports; ++p)
      if (d.port_info[f.port_id(n, p)]) readings.push_back(ReadingOf(d, f.port_id(n, p), f.port(f.port_id(n, p)).guid));
  }
  for (const NodeSighting* s : StraySightings(d))
    readings.push_back(IdentityReading{
        .path = s->path.ToString(),
        .node_guid = s->info.node_guid,
        .port_guid = s->info.port_guid,
        .port_number = static_cast<uint8_t>(s->info.type == NodeType::kSwitch ? 0 : s->info.local_port)});
  return readings;
}

Result<LiveSnapshot> CollectLive(mad::Transport& transport, const LiveOptions& options) {
  auto start = Clock::now();
  LiveSnapshot live;
  auto discovered = Discover(transport, options.discovery);
  if (!discovered) return std::unexpected(discovered.error());
  live.discovery = std::make_unique<DiscoveryResult>(std::move(*discovered));
  live.timings.discovery = SecondsSince(start);
  live.timings.mads = live.discovery->stats.sent;
  const DiscoveryResult& d = *live.discovery;
  Snapshot& s = live.snapshot;
  s.fabric = &d.fabric;
  const mad::LocalPort& local = transport.local();
  s.source = fmt::format("live: {}:{}", local.ca, local.port);
  AddDiscoveryProblems(d, s.collection_problems);

  std::optional<CounterReport> before;
  auto interval_start = Clock::now();
  if (options.counters == LiveCounters::kInterval) {
    auto first = ReadCountersOnce(transport, d, options, live.timings, "counters");
    if (!first) return std::unexpected(first.error());
    before = std::move(*first);
  }
  if (auto r = CollectDuringInterval(transport, options, live); !r) return std::unexpected(r.error());
  if (before) {
    Wait(options, options.interval_seconds - SecondsSince(interval_start), live.timings);
    double interval = SecondsSince(interval_start);
    auto after = ReadCountersOnce(transport, d, options, live.timings, "counters again", &before->capabilities);
    if (!after) return std::unexpected(after.error());
    for (const CounterProblem& p : after->problems)
      s.collection_problems.push_back(p.port == kNone
                                          ? "counters: " + p.message
                                          : fmt::format("counters: {}: {}", d.fabric.PortName(p.port), p.message));
    s.counters =
        CounterInterval{.before = std::move(*before), .after = std::move(*after), .interval_seconds = interval};
  }
  live.timings.total = SecondsSince(start);
  return live;
}

}  // namespace fabricctl::check
