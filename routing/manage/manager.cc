#include "routing/manage/manager.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <unordered_map>
#include <utility>

#include "routing/deploy.h"
#include "routing/installed_routes.h"
#include "routing/transition.h"
#include "routing/verifier.h"

namespace fabricctl {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

double UnixNow() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

// The subnet of `alive` (WithoutDown of the fabric the tables are for, whose subnets are
// recomputed) that holds the live part of a routed subnet: the one of its first live switch.
// What left it (a dead switch, the hosts behind a dead leaf) is gone, not unreachable.
SubnetId LivePart(const Fabric& alive, const SubnetRoutes& sr, const FabricHealth& health) {
  for (NodeId n : sr.switches)
    if (health.node_usable(n)) return alive.subnet_of(alive.port_id(n, 0));
  return kNone;
}

std::vector<Lid> GoneLids(const Fabric& alive, const SubnetRoutes& sr, SubnetId part) {
  std::vector<Lid> gone;
  for (Lid lid = 1; lid < sr.num_lids(); ++lid)
    if (sr.lid_owner[lid] != kNone && alive.subnet_of(sr.lid_owner[lid]) != part) gone.push_back(lid);
  return gone;
}

// Entries towards gone LIDs that name a dead port become kNoRoute: nothing can reach those
// LIDs, and such an entry would send packets into a dead cable. Entries elsewhere stay (a
// packet for a gone LID is dropped at the dead switch's neighbour either way), so a dead
// switch costs blocks only at its neighbours.
void DropGoneLids(const Fabric& fabric, const Fabric& alive, const FabricHealth& health, RouteSet& routes) {
  for (SubnetRoutes& sr : routes.subnets) {
    const SubnetId part = LivePart(alive, sr, health);
    if (part == kNone) continue;
    const std::vector<Lid> gone = GoneLids(alive, sr, part);
    for (size_t i = 0; i < sr.switches.size() && !gone.empty(); ++i)
      for (Lid lid : gone) {
        uint8_t& entry = sr.lft[i * sr.num_lids() + lid];
        if (entry == 0 || entry == kNoRoute || entry > fabric.node(sr.switches[i]).num_ports) continue;
        const LinkId link = fabric.port(fabric.port_id(sr.switches[i], entry)).link;
        if (link == kNone || !health.link_usable(fabric, link)) entry = kNoRoute;
      }
  }
}

// `routes` (for the fabric found at start) as tables of `alive`: each routed subnet keeps
// the switches and LIDs of its live part.
RouteSet ProjectRoutes(const Fabric& alive, const RouteSet& routes, const FabricHealth& health) {
  RouteSet out;
  out.port_lid = routes.port_lid;
  for (const SubnetRoutes& sr : routes.subnets) {
    const SubnetId target = LivePart(alive, sr, health);
    if (target == kNone) continue;
    SubnetRoutes p;
    p.subnet = target;
    p.engine = sr.engine;
    p.lid_owner = sr.lid_owner;
    for (Lid lid : GoneLids(alive, sr, target)) p.lid_owner[lid] = kNone;
    p.switches = alive.subnets()[target].switches;
    p.lft.reserve(p.switches.size() * p.num_lids());
    size_t at = 0;
    for (NodeId n : p.switches) {
      while (at < sr.switches.size() && sr.switches[at] != n) ++at;
      if (at == sr.switches.size()) return {};  // a switch the tables do not know: nothing to compare
      p.lft.insert(p.lft.end(), sr.lft.begin() + at * sr.num_lids(), sr.lft.begin() + (at + 1) * sr.num_lids());
    }
    out.subnets.push_back(std::move(p));
  }
  return out;
}

// The verifier's verdict on `routes` over the live part of the fabric: what makes a table
// unsafe (loops, credit loops, routes into dead ports) and what it leaves unreachable.
nlohmann::json VerdictJson(const Fabric& alive, const RouteSet& routes, const FabricHealth& health) {
  RouteSet projected = ProjectRoutes(alive, routes, health);
  auto v = Verify(alive, projected);
  if (!v) return {{"error", v.error().message}};
  const bool safe = v->loop_pairs == 0 && v->cdg_cycles == 0 && v->dead_port_entries == 0 &&
                    v->through_endpoint_pairs == 0 && v->bad_vl_pairs == 0;
  nlohmann::json j = {{"safe", safe},
                      {"pairs", v->pairs},
                      {"unreachable_pairs", v->unreachable_pairs},
                      {"loop_pairs", v->loop_pairs},
                      {"credit_loops", v->cdg_cycles},
                      {"dead_port_entries", v->dead_port_entries}};
  if (!v->violations.empty() && !safe) j["first_violation"] = v->violations.front().text;
  return j;
}

// Endpoint ports whose every cable leads to a switch that is down or cut off.
uint64_t EndpointsCutOff(const Fabric& f, const FabricHealth& health) {
  uint64_t n = 0;
  for (NodeId node = 0; node < f.num_nodes(); ++node) {
    if (f.is_switch(node)) continue;
    bool cabled = false, reached = false;
    for (const Adjacency& a : f.neighbors(node)) {
      cabled = true;
      reached = reached || (health.node_usable(a.peer_node) && health.link_usable(f, f.port(a.local).link));
    }
    n += cabled && !reached;
  }
  return n;
}

// Routes of the same shape (subnets, switches, LIDs) as `like`: a full reroute of the live
// fabric can replace the repaired tables only then.
bool SameShape(const RouteSet& a, const RouteSet& like) {
  if (a.subnets.size() != like.subnets.size()) return false;
  for (size_t s = 0; s < a.subnets.size(); ++s)
    if (a.subnets[s].switches != like.subnets[s].switches || a.subnets[s].lid_owner != like.subnets[s].lid_owner)
      return false;
  return true;
}

uint64_t BlocksBetween(const RouteSet& before, const RouteSet& after) {
  uint64_t n = 0;
  for (size_t s = 0; s < after.subnets.size(); ++s)
    for (size_t i = 0; i < after.subnets[s].switches.size(); ++i)
      n += DifferingBlocks(before.subnets[s], after.subnets[s], i).size();
  return n;
}

// Why the journal's fabric cannot stand for the live one: a node it does not have, or a
// LID that differs (a restarted simulator or subnet manager); nullopt when it can.
std::optional<std::string> WhyNotResumable(const Fabric& saved, const Fabric& live) {
  for (NodeId n = 0; n < live.num_nodes(); ++n) {
    auto s = saved.FindByGuid(live.node(n).guid);
    if (!s)
      return fmt::format("discovery found {} (0x{:016x}), which the journal's fabric does not have",
                         live.description(n), live.node(n).guid);
    for (unsigned p = 0; p <= live.node(n).num_ports && p <= saved.node(*s).num_ports; ++p) {
      const Lid now = live.port(live.port_id(n, p)).lid, then = saved.port(saved.port_id(*s, p)).lid;
      if (now != then && (now != 0 || then != 0) && (p == 0 || !live.is_switch(n)))
        return fmt::format("{}[{}] has LID {}, the journal's fabric {} (a restarted simulator or subnet manager)",
                           live.description(n), p, now, then);
    }
  }
  return std::nullopt;
}

// The journal's fabric with what discovery read about each node now (matched by GUID).
DiscoveryResult ViewOf(Fabric saved, const DiscoveryResult& live) {
  DiscoveryResult view;
  view.paths.resize(saved.num_nodes());
  view.switch_info.resize(saved.num_nodes());
  view.port_info.resize(saved.num_port_slots());
  for (NodeId n = 0; n < live.fabric.num_nodes(); ++n) {
    auto s = saved.FindByGuid(live.fabric.node(n).guid);
    if (!s) continue;
    if (n < live.switch_info.size()) view.switch_info[*s] = live.switch_info[n];
    if (n == live.local_node) view.local_node = *s;
  }
  view.local_port = live.local_port;
  view.fabric = std::move(saved);
  return view;
}

// `read` (tables read over `live`) as rows of `into`'s switches, matched by GUID; switches
// that were not read keep what `into` holds.
void MapInstalled(const RouteSet& read, const Fabric& live, const Fabric& fabric, RouteSet& into) {
  std::unordered_map<NodeId, std::pair<size_t, size_t>> row;  // live switch -> (subnet, index)
  for (size_t s = 0; s < read.subnets.size(); ++s)
    for (size_t i = 0; i < read.subnets[s].switches.size(); ++i) row[read.subnets[s].switches[i]] = {s, i};
  for (SubnetRoutes& sr : into.subnets)
    for (size_t i = 0; i < sr.switches.size(); ++i) {
      auto l = live.FindByGuid(fabric.node(sr.switches[i]).guid);
      if (!l || !row.count(*l)) continue;
      const auto [s, j] = row.at(*l);
      const SubnetRoutes& from = read.subnets[s];
      const size_t lids = std::min(sr.num_lids(), from.num_lids());
      for (Lid lid = 1; lid < lids; ++lid) sr.lft[i * sr.num_lids() + lid] = from.out_port(j, lid);
    }
}

}  // namespace

RouteManager::RouteManager(mad::Transport& transport, ManageOptions options)
    : transport_(transport), options_(std::move(options)), damping_(options_.damping) {}

RouteManager::~RouteManager() {
  if (reroute_.valid()) reroute_.wait();
}

double RouteManager::Now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void RouteManager::Emit(nlohmann::json event) {
  if (options_.on_event) options_.on_event(event);
}

Result<std::unique_ptr<RouteManager>> RouteManager::Start(mad::Transport& transport, ManageOptions options) {
  std::unique_ptr<RouteManager> m(new RouteManager(transport, std::move(options)));
  if (auto r = m->Initialise(); !r) return std::unexpected(r.error());
  return m;
}

Result<void> RouteManager::Initialise() {
  started_ = Now();
  started_unix_ = UnixNow();
  auto selection = ParseEngineSelection(options_.engine);
  if (!selection) return std::unexpected(selection.error());
  selection_ = std::move(*selection);
  auto start = std::chrono::steady_clock::now();
  auto live = Discover(transport_, DiscoveryOptions{.rpc = options_.rpc});
  if (!live) return std::unexpected(live.error());
  nlohmann::json event = {{"event", "start"}};
  event["seconds"]["discover"] = Seconds(start);
  auto record = AdoptFabric(std::move(*live), event);
  if (!record) return std::unexpected(record.error());
  start = std::chrono::steady_clock::now();
  if (auto r = RouteBase(*record); !r) return r;
  event["seconds"]["route"] = Seconds(start);
  start = std::chrono::steady_clock::now();
  if (auto r = InstallInitial(*record, event); !r) return r;
  event["seconds"]["install"] = Seconds(start);
  nlohmann::json engines = nlohmann::json::array();
  for (const SubnetRoutes& sr : base_.subnets) engines.push_back(sr.engine);
  auto alive = WithoutDown(view_.fabric, health_);
  if (!alive) return std::unexpected(alive.error());
  event.update({{"nodes", view_.fabric.num_nodes()},
                {"links", view_.fabric.num_links()},
                {"subnets", base_.subnets.size()},
                {"engines", engines},
                {"verify", VerdictJson(*alive, installed_, health_)}});
  Emit(std::move(event));
  Publish();
  return {};
}

// The fabric every id refers to: the one the journal kept when the state directory holds a
// change of this fabric (every node discovery finds now is in it), else the one just found.
Result<std::optional<JournalRecord>> RouteManager::AdoptFabric(DiscoveryResult live, nlohmann::json& event) {
  std::optional<JournalRecord> record;
  std::optional<Fabric> saved;
  if (!options_.state_dir.empty()) {
    auto journal = Journal::Open(options_.state_dir);
    if (!journal) return std::unexpected(journal.error());
    journal_.emplace(std::move(*journal));
    auto read = journal_->Read();
    auto fabric = journal_->ReadFabric();
    // An unreadable journal is reported and replaced: the switches' own tables are the truth.
    if (!read || !fabric) event["journal_unreadable"] = (!read ? read.error() : fabric.error()).Format();
    if (read && fabric && *read && *fabric && (*read)->engine == options_.engine) {
      record = std::move(*read);
      saved = std::move(*fabric);
    }
  }
  if (saved) {
    if (auto why = WhyNotResumable(*saved, live.fabric)) {
      event["journal_discarded"] = *why;
      saved.reset();
      record.reset();
    }
  }
  if (!saved) {
    view_ = std::move(live);
    if (journal_)
      if (auto w = journal_->WriteFabric(view_.fabric); !w) return std::unexpected(w.error());
    return record;
  }
  view_ = ViewOf(std::move(*saved), live);
  live_ = std::move(live);
  event["resumed"] = true;
  return record;
}

Result<void> RouteManager::Prepare() {
  repairer_.reset();
  // A repair into repair_ reuses it only when it came from the same tables: base_ may have
  // new contents at the same address (a full reroute), so start from an empty result.
  repair_ = RepairResult{};
  auto repairer = RouteRepairer::Prepare(
      view_.fabric, base_, RepairOptions{.max_load_growth = options_.max_load_growth, .routed_for = &base_health_});
  if (!repairer) return std::unexpected(repairer.error());
  repairer_.emplace(std::move(*repairer));
  return {};
}

FabricHealth RouteManager::HealthNow(double now) const {
  FabricHealth h = FabricHealth::AllUp(view_.fabric);
  for (LinkId l = 0; l < h.link_down.size(); ++l) h.link_down[l] = !seen_up_[l] || damping_.HeldDown(l, now);
  // A switch cut off by dead cables is routed as gone, like a dead one: the repair then
  // moves only what crossed it, and its endpoints are reported as cut off.
  for (NodeId n = 0; n < h.node_down.size(); ++n)
    h.node_down[n] = view_.fabric.is_switch(n) && (!watch_->node_up(n) || !watch_->reachable()[n]);
  return h;
}

Result<void> RouteManager::Run() {
  const double start = Now();
  auto next = std::chrono::steady_clock::now();
  while (!(options_.stop_requested && options_.stop_requested())) {
    if (options_.max_changes != 0 && counters_.changes >= options_.max_changes) break;
    if (options_.max_seconds > 0 && Now() - start >= options_.max_seconds) break;
    next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(options_.period_seconds));
    if (auto r = Tick(); !r) return r;
    const auto now = std::chrono::steady_clock::now();
    if (std::exchange(sweep_again_, false) || next <= now) {
      next = now;  // a long change: the next sweep starts at once, and the period restarts from it
      continue;
    }
    // As the subnet manager the transport takes the switches' link-state traps: one ends
    // the wait and sweeps at once (the period stays the backstop for lost traps).
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now);
    auto trapped = transport_.WaitForTrap(static_cast<int>(wait.count()) + 1);
    if (!trapped) return std::unexpected(trapped.error());
    if (*trapped) {
      trap_lids_ = transport_.TakeTraps();
      next = std::chrono::steady_clock::now();
    }
  }
  if (reroute_.valid()) reroute_.wait();
  return {};
}

// After traps, first only the switches that sent them; when that finds the change it is
// repaired at once and a full sweep follows right after (sweep_again_), off the critical
// path, for whatever the traps did not report.
Result<SweepResult> RouteManager::SweepNow() {
  if (!trap_lids_.empty()) {
    auto trapped = watch_->SweepTrapped(transport_, trap_lids_);
    if (!trapped) return std::unexpected(trapped.error());
    if (*trapped && (*trapped)->changed()) {
      sweep_again_ = true;
      return std::move(**trapped);
    }
  }
  return watch_->Sweep(transport_);
}

Result<void> RouteManager::Tick() {
  auto sweep = SweepNow();
  if (!sweep) {
    // A fabric that stalls is waited for; one that stays away (a simulator or port
    // restarting) ends the service, whose restart discovers it again.
    const double now = Now();
    if (failing_since_ == 0) failing_since_ = now;
    Emit({{"event", "sweep_failed"}, {"message", sweep.error().Format()}, {"failing_seconds", now - failing_since_}});
    if (now - failing_since_ > options_.give_up_seconds) return std::unexpected(sweep.error());
    return {};
  }
  failing_since_ = 0;
  ++counters_.sweeps;
  counters_.last_sweep_unix = UnixNow();
  view_.paths = watch_->paths();
  const double now = Now();
  for (LinkId l : sweep->went_down) {
    seen_up_[l] = 0;
    damping_.Observe(l, false, now);
  }
  for (LinkId l : sweep->came_up) {
    seen_up_[l] = 1;
    damping_.Observe(l, true, now);
  }
  FabricHealth next = HealthNow(now);
  const bool unchanged = next.link_down == health_.link_down && next.node_down == health_.node_down;
  // A finished full reroute is installed only when this sweep found nothing new: a change
  // is repaired first (installing a whole new table takes far longer), and the reroute,
  // now outdated, is computed again after it.
  if (unchanged && reroute_.valid() && reroute_.wait_for(std::chrono::seconds(0)) == std::future_status::ready)
    if (auto r = FinishFullReroute(); !r) return r;
  counters_.links_held_down = damping_.HeldLinks(now).size();
  // Status and metrics about once a second between changes.
  if (counters_.sweeps % std::max<uint64_t>(1, uint64_t(1 / options_.period_seconds)) == 0) Publish();
  if (unchanged) {
    if (sweep->changed()) Emit({{"event", "held_down"}, {"change", ChangeJson(next, *sweep)}});
    trap_lids_.clear();  // the trap was for nothing the routes see
    return {};
  }
  return HandleChange(next, *sweep, sweep->seconds);
}

nlohmann::json RouteManager::ChangeJson(const FabricHealth& next, const SweepResult& sweep) const {
  const Fabric& f = view_.fabric;
  auto links = [&](const std::vector<LinkId>& ids) {
    nlohmann::json a = nlohmann::json::array();
    for (LinkId l : ids) a.push_back(f.LinkName(l));
    return a;
  };
  auto nodes = [&](const std::vector<NodeId>& ids) {
    nlohmann::json a = nlohmann::json::array();
    for (NodeId n : ids) a.push_back(fmt::format("{} (0x{:016x})", f.description(n), f.node(n).guid));
    return a;
  };
  std::vector<LinkId> held;
  for (LinkId l = 0; l < next.link_down.size(); ++l)
    if (next.link_down[l] && seen_up_[l]) held.push_back(l);
  return {{"links_down", links(sweep.went_down)},
          {"links_up", links(sweep.came_up)},
          {"switches_down", nodes(sweep.nodes_down)},
          {"switches_up", nodes(sweep.nodes_up)},
          {"held_down", links(held)}};
}

Result<void> RouteManager::HandleChange(const FabricHealth& next, const SweepResult& sweep, double detect_seconds) {
  const auto start = std::chrono::steady_clock::now();
  nlohmann::json event = {{"event", "change"}, {"change", ChangeJson(next, sweep)}};
  // The switches whose trap started this sweep (none: the period's sweep found it).
  event["trap_lids"] = std::exchange(trap_lids_, {});
  if (auto r = repairer_->Repair(next, repair_); !r) return std::unexpected(r.error());
  // The repairer puts back only what it changed last time into repair_.routes, so the
  // edits below go to a copy (target_ keeps its memory from change to change).
  target_ = repair_.routes;
  const double compute_s = Seconds(start);
  auto alive = WithoutDown(view_.fabric, next);
  if (!alive) return std::unexpected(alive.error());
  DropGoneLids(view_.fabric, *alive, next, target_);
  KeepUnreachableRows(target_, next);
  auto verify_start = std::chrono::steady_clock::now();
  event["verify"] = VerdictJson(*alive, target_, next);
  const double verify_s = Seconds(verify_start);
  event["repair"] = {{"entries_changed", repair_.entries_changed},
                     {"blocks_changed", BlocksBetween(installed_, target_)},
                     {"blocks_from_base", repair_.blocks_changed},
                     {"blocks_minimum", repair_.blocks_minimum},
                     {"load_before", repair_.load_before},
                     {"load_after", repair_.load_after},
                     {"full_reroute_advised", repair_.full_reroute_advised},
                     {"why", repair_.why}};
  // Loud: endpoints that lost every route are what an operator must hear about first.
  event["unreachable_lids"] = repair_.unreachable_lids;
  const uint64_t cut_off = EndpointsCutOff(view_.fabric, next);
  event["endpoints_cut_off"] = cut_off;
  if (repair_.unreachable_lids > 0 || cut_off > 0) event["level"] = "error";
  auto install_start = std::chrono::steady_clock::now();
  auto installed = InstallPlanned(target_, *alive, next, event);
  if (!installed) return std::unexpected(installed.error());
  RewriteReturned(event);
  const double install_s = Seconds(install_start) - event.value("verify_steps_seconds", 0.0);
  health_ = next;
  ++counters_.changes;
  counters_.last_repair_blocks = event["blocks_written"].get<uint64_t>();
  counters_.unreachable_lids = repair_.unreachable_lids;
  counters_.endpoints_cut_off = EndpointsCutOff(view_.fabric, next);
  counters_.last_detect_seconds = detect_seconds;
  counters_.last_repair_seconds = detect_seconds + Seconds(start);
  counters_.repair_seconds_sum += counters_.last_repair_seconds;
  counters_.links_down = std::count(next.link_down.begin(), next.link_down.end(), 1);
  counters_.switches_down = std::count(next.node_down.begin(), next.node_down.end(), 1);
  event["seconds"] = {{"detect", detect_seconds},
                      {"compute", compute_s},
                      {"verify", verify_s},
                      {"install", install_s},
                      {"total", counters_.last_repair_seconds}};
  Emit(std::move(event));
  Publish();
  if (auto r = Rebalance(next); !r) return r;
  StartFullReroute();
  return {};
}

// The repair that writes the fewest blocks may funnel a destination's traffic through one
// switch by a turn. When that is what grew the busiest channel past the bound, the
// Up*/Down* repair of the same failure usually keeps it within the bound with some more
// entries moved: installed right after, off the critical path (connectivity is already
// back), in place of a full reroute that would rewrite most tables.
Result<void> RouteManager::Rebalance(const FabricHealth& next) {
  if (!repair_.full_reroute_advised || repair_.turn_lids == 0 || repair_.unreachable_lids > 0 ||
      repair_.returned_links > 0)
    return {};
  const auto start = std::chrono::steady_clock::now();
  RepairResult balanced;
  if (auto r = repairer_->RepairWithoutTurns(next, balanced); !r) return std::unexpected(r.error());
  nlohmann::json event = {
      {"event", "rebalance"}, {"load_with_turns", repair_.load_after}, {"load_without_turns", balanced.load_after}};
  auto alive = WithoutDown(view_.fabric, next);
  if (!alive) return std::unexpected(alive.error());
  target_ = std::move(balanced.routes);
  DropGoneLids(view_.fabric, *alive, next, target_);
  KeepUnreachableRows(target_, next);
  event["verify"] = VerdictJson(*alive, target_, next);
  if (balanced.full_reroute_advised || !event["verify"].value("safe", false)) {
    event["installed"] = false;
    event["why"] = balanced.full_reroute_advised ? balanced.why : std::string("not sound");
    Emit(std::move(event));
    return {};
  }
  event["blocks_changed"] = BlocksBetween(installed_, target_);
  auto installed = InstallPlanned(target_, *alive, next, event);
  if (!installed) return std::unexpected(installed.error());
  event["installed"] = installed->complete;
  event["seconds"] = Seconds(start);
  // Balanced within the bound: the full reroute computed next is for comparison only.
  repair_.full_reroute_advised = !installed->complete;
  Emit(std::move(event));
  Publish();
  return {};
}

Result<InstallReport> RouteManager::InstallPlanned(const RouteSet& after, const Fabric& alive,
                                                   const FabricHealth& health, nlohmann::json& event) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<TransitionPlan> plans;
  bool union_free = true;
  size_t steps = 0;
  for (size_t s = 0; s < after.subnets.size(); ++s) {
    auto plan = PlanTransition(alive, installed_.subnets[s], after.subnets[s]);
    if (!plan) return std::unexpected(plan.error());
    union_free = union_free && plan->union_deadlock_free;
    steps += plan->steps.size();
    plans.push_back(std::move(*plan));
  }
  event["plan"] = {{"steps", steps}, {"union_deadlock_free", union_free}, {"seconds", Seconds(start)}};
  std::unique_ptr<RouteInstaller> installer =
      options_.make_installer
          ? options_.make_installer(transport_, view_, watch_->reachable())
          : std::make_unique<SmpInstaller>(transport_, view_, watch_->reachable(), options_.install);
  nlohmann::json steps_json = nlohmann::json::array();
  JournalStep(JournalPhase::kInstalling, health, 0, steps);
  size_t done = 0;
  double verify_seconds = 0;  // the --verify-steps reads, not part of the installation's time
  // Written before the first block and after the last only: a restart reads what the
  // switches hold whatever step was reached, so progress between steps needs no fsync on
  // the repair's critical path.
  auto report = installer->Install(installed_, after, plans, [&](const InstallStepReport& step) {
    ++done;
    nlohmann::json j = {{"subnet", step.subnet},
                        {"step", step.step},
                        {"blocks_written", step.blocks_written},
                        {"blocks_verified", step.blocks_verified},
                        {"seconds", step.seconds}};
    if (!step.problems.empty()) j["problems"] = step.problems;
    if (options_.verify_steps) {
      const auto verify_start = std::chrono::steady_clock::now();
      j["verify_installed"] = VerifyInstalled(alive, health);
      verify_seconds += Seconds(verify_start);
    }
    steps_json.push_back(std::move(j));
  });
  if (!report) return report;
  uint64_t written = 0;
  for (const InstallStepReport& step : report->steps) written += step.blocks_written;
  counters_.blocks_written += written;
  event["blocks_written"] = written;
  event["steps"] = std::move(steps_json);
  if (options_.verify_steps) event["verify_steps_seconds"] = verify_seconds;
  event["install_complete"] = report->complete;
  if (report->stopped) event["install_stopped"] = report->stopped->message;
  installed_ = after;
  // Done only when every block was read back; otherwise a restart reads and finishes it.
  if (report->complete) JournalStep(JournalPhase::kDone, health, done, steps);
  return report;
}

nlohmann::json RouteManager::VerifyInstalled(const Fabric& alive, const FabricHealth& health) {
  auto read = ReadInstalledRoutes(
      transport_, view_,
      InstalledRoutesOptions{.rpc = {.inflight = 32, .timeout_ms = 50, .retries = 1}, .sl2vl = Sl2VlReading::kSkip});
  if (!read) return {{"error", read.error().message}};
  nlohmann::json j = VerdictJson(alive, read->routes, health);
  j["switches_unread"] = read->incomplete_nodes.size();
  return j;
}

// A full reroute of the live fabric, in a thread: the repair is already installed, so this
// is off the critical path. Computed after every change: its block count is what a full
// recompute would have written, the figure the repair is judged against; installed only
// when the repair advised it.
void RouteManager::StartFullReroute() {
  if (reroute_.valid()) return;  // one at a time; the next change starts the next one
  auto alive = WithoutDown(view_.fabric, health_);
  if (!alive) return;
  reroute_health_ = health_;
  reroute_advised_ = repair_.full_reroute_advised;
  reroute_fabric_ = std::make_shared<Fabric>(std::move(*alive));
  reroute_ = std::async(std::launch::async, [fabric = reroute_fabric_, selection = selection_, route = options_.route] {
    return RouteFabric(*fabric, selection, route);
  });
}

Result<void> RouteManager::FinishFullReroute() {
  Result<FabricRoutes> routed = reroute_.get();
  std::shared_ptr<Fabric> alive = std::move(reroute_fabric_);
  nlohmann::json event = {{"event", "full_reroute"}, {"advised", reroute_advised_}};
  const bool current = reroute_health_.link_down == health_.link_down && reroute_health_.node_down == health_.node_down;
  if (!routed || !current || !SameShape(routed->routes, installed_)) {
    event["installed"] = false;
    event["why"] = !routed    ? routed.error().message
                   : !current ? std::string("the fabric changed while it was computed")
                              : std::string("the live fabric's subnets differ from the installed tables'");
    Emit(std::move(event));
    // Outdated: the change since has its own advice; compute for the fabric as it is now.
    if (routed && !current) StartFullReroute();
    return {};
  }
  event["blocks_full_recompute"] = BlocksBetween(installed_, routed->routes);
  event["blocks_last_repair"] = counters_.last_repair_blocks;
  if (!reroute_advised_) {
    event["installed"] = false;
    Emit(std::move(event));
    return {};
  }
  KeepUnreachableRows(routed->routes, health_);
  event["verify"] = VerdictJson(*alive, routed->routes, health_);
  auto report = InstallPlanned(routed->routes, *alive, health_, event);
  if (!report) return std::unexpected(report.error());
  event["installed"] = report->complete;
  base_ = installed_;
  base_health_ = health_;
  if (report->complete) JournalStep(JournalPhase::kDone, health_, 0, 0);
  ++counters_.full_reroutes;
  Emit(std::move(event));
  return Prepare();
}

Result<void> RouteManager::RouteBase(const std::optional<JournalRecord>& record) {
  base_health_ = health_ = FabricHealth::AllUp(view_.fabric);
  if (record) {
    auto base = FromJournalHealth(view_.fabric, record->base_health);
    auto target = FromJournalHealth(view_.fabric, record->target_health);
    if (!base) return std::unexpected(base.error());
    if (!target) return std::unexpected(target.error());
    base_health_ = std::move(*base);
    health_ = std::move(*target);
  }
  auto alive = WithoutDown(view_.fabric, base_health_);
  if (!alive) return std::unexpected(alive.error());
  auto routed = RouteFabric(*alive, selection_, options_.route);
  if (!routed) return std::unexpected(routed.error());
  base_ = std::move(routed->routes);
  watch_ = std::make_unique<PortWatch>(view_.fabric, view_.local_node, view_.local_port, options_.watch);
  watch_->Assume(health_.link_down, health_.node_down);
  view_.paths = watch_->paths();
  reached_ = watch_->reachable();
  seen_up_.assign(view_.fabric.num_links(), 1);
  for (LinkId l = 0; l < seen_up_.size(); ++l) seen_up_[l] = !health_.link_down[l];
  if (auto r = Prepare(); !r) return r;
  target_ = base_;
  if (health_.link_down != base_health_.link_down || health_.node_down != base_health_.node_down) {
    if (auto r = repairer_->Repair(health_, repair_); !r) return std::unexpected(r.error());
    target_ = repair_.routes;
    auto now_alive = WithoutDown(view_.fabric, health_);
    if (!now_alive) return std::unexpected(now_alive.error());
    DropGoneLids(view_.fabric, *now_alive, health_, target_);
  }
  return {};
}

Result<void> RouteManager::InstallInitial(const std::optional<JournalRecord>& record, nlohmann::json& event) {
  if (!record && !options_.make_installer) {
    auto deployed = Deploy(transport_, view_, view_.fabric, target_, DeployOptions{.rpc = options_.rpc});
    if (!deployed) return std::unexpected(deployed.error());
    if (deployed->stopped) return std::unexpected(*deployed->stopped);
    installed_ = target_;
    counters_.blocks_written += deployed->blocks_written();
    event["blocks_written"] = deployed->blocks_written();
    event["deploy_problems"] = deployed->problems.size();
  } else {
    // Whatever the journal says was done, the switches say what they hold: read it, and
    // install what differs from the journal's target in a planned order.
    auto read = ReadInstalledRoutes(transport_, live_ ? *live_ : view_,
                                    InstalledRoutesOptions{.rpc = options_.rpc, .sl2vl = Sl2VlReading::kSkip});
    if (!read) return std::unexpected(read.error());
    installed_ = target_;
    MapInstalled(read->routes, live_ ? live_->fabric : view_.fabric, view_.fabric, installed_);
    if (record) event["journal"] = JournalRecordJson(*record);
    event["blocks_differing"] = BlocksBetween(installed_, target_);
    auto alive = WithoutDown(view_.fabric, health_);
    if (!alive) return std::unexpected(alive.error());
    auto report = InstallPlanned(target_, *alive, health_, event);
    if (!report) return std::unexpected(report.error());
    if (record) counters_.changes = record->change;
  }
  // The switches now hold tables up to the last LID: later reads cover all of them.
  for (const SubnetRoutes& sr : installed_.subnets)
    for (NodeId n : sr.switches)
      view_.switch_info[n].linear_fdb_top =
          std::max<unsigned>(view_.switch_info[n].linear_fdb_top, static_cast<unsigned>(sr.num_lids() - 1));
  JournalStep(JournalPhase::kDone, health_, 0, 0);
  return {};
}

// A switch no working route reaches cannot be written and nothing forwards to it: its
// table stays what it holds, to be brought up to date when it is reached again.
// Switches that no working route reaches, or that are down, keep the rows they hold:
// nothing can be written to them, and a down switch forwards nothing.
void RouteManager::KeepUnreachableRows(RouteSet& routes, const FabricHealth& health) const {
  const std::vector<uint8_t>& reachable = watch_->reachable();
  for (size_t s = 0; s < routes.subnets.size(); ++s) {
    SubnetRoutes& sr = routes.subnets[s];
    const SubnetRoutes& held = installed_.subnets[s];
    for (size_t i = 0; i < sr.switches.size(); ++i)
      if (!reachable[sr.switches[i]] || !health.node_usable(sr.switches[i]))
        std::copy_n(held.lft.begin() + i * held.num_lids(), held.num_lids(), sr.lft.begin() + i * sr.num_lids());
  }
}

// A switch reached again after being cut off may have lost its tables (a power cycle): all
// its blocks are written, after the planned steps (a lost table only drops packets, which
// adds no channel dependency, so the steps' checks held).
void RouteManager::RewriteReturned(nlohmann::json& event) {
  const std::vector<uint8_t>& reachable = watch_->reachable();
  std::vector<std::vector<uint32_t>> only;
  bool any = false;
  for (const SubnetRoutes& sr : installed_.subnets)
    for (NodeId n : sr.switches) {
      only.emplace_back();
      if (!reachable[n] || reached_[n]) continue;
      for (uint32_t b = 0; b * kLftBlockSize < sr.num_lids(); ++b) only.back().push_back(b);
      any = true;
    }
  reached_ = reachable;
  if (!any) return;
  auto report =
      Deploy(transport_, view_, view_.fabric, installed_, DeployOptions{.rpc = options_.rpc, .only_blocks = only});
  if (!report) {
    event["returned_switches_error"] = report.error().message;
    return;
  }
  event["returned_switch_blocks"] = report->blocks_written();
  counters_.blocks_written += report->blocks_written();
}

void RouteManager::JournalStep(JournalPhase phase, const FabricHealth& target, size_t done, size_t total) {
  if (!journal_) return;
  JournalRecord r{.engine = options_.engine,
                  .base_health = ToJournalHealth(view_.fabric, base_health_),
                  .target_health = ToJournalHealth(view_.fabric, target),
                  .phase = phase,
                  .change = counters_.changes + (phase == JournalPhase::kInstalling ? 1 : 0),
                  .steps_done = done,
                  .steps_total = total};
  if (auto w = journal_->Write(r); !w) Emit({{"event", "journal_error"}, {"message", w.error().Format()}});
}

void RouteManager::Publish() {
  counters_.started_unix = started_unix_;
  if (journal_) {
    nlohmann::json status = ManageStatusJson(counters_);
    status["pid"] = getpid();
    status["period_seconds"] = options_.period_seconds;
    status["nodes"] = view_.fabric.num_nodes();
    status["links"] = view_.fabric.num_links();
    if (auto w = journal_->WriteStatus(status); !w) Emit({{"event", "status_error"}, {"message", w.error().Format()}});
  }
  if (!options_.metrics_file.empty())
    if (auto w = WriteManageMetrics(options_.metrics_file, counters_); !w)
      Emit({{"event", "metrics_error"}, {"message", w.error().Format()}});
}

}  // namespace fabricctl
