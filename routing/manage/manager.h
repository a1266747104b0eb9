#pragma once
// The route manager service: discovers the subnet, routes it with the engine chain (as
// `route compute`), installs the routes, then watches the fabric (PortWatch, a light sweep
// each period) and handles every change: damping -> FabricHealth -> incremental repair
// (RouteRepairer) -> verify on the fabric without the dead parts -> a deadlock-free
// installation order (PlanTransition) -> install step by step (RouteInstaller) -> one
// event. A full reroute the repair advises is computed in a thread, off the repair's
// critical path, and installed as a planned transition too. Events go to the caller as
// JSON objects (routing/manage/event_log.h); nothing is printed.
#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "fabric/discovery.h"
#include "fabric/error.h"
#include "fabric/mad/transport.h"
#include "routing/fabric_health.h"
#include "routing/manage/damping.h"
#include "routing/manage/journal.h"
#include "routing/manage/manage_metrics.h"
#include "routing/manage/port_watch.h"
#include "routing/manage/smp_installer.h"
#include "routing/repair.h"
#include "routing/route_fabric.h"

namespace fabricctl {

struct ManageOptions {
  std::string engine = "auto";  // ParseEngineSelection
  RouteFabricOptions route;
  double period_seconds = 0.5;
  PortWatchOptions watch;
  DampingOptions damping;
  mad::RpcOptions rpc;  // discovery and installation
  SmpInstallerOptions install;
  double max_load_growth = 1.25;  // RepairOptions::max_load_growth
  // After every installation step read every switch's LFT back and verify what the fabric
  // holds (a test hook: costs a full read per step).
  bool verify_steps = false;
  std::string state_dir;     // journal and status.json (routing/manage/journal.h); empty: none
  std::string metrics_file;  // Prometheus text file; empty: none
  uint64_t max_changes = 0;  // stop after handling this many changes (0: no limit)
  double max_seconds = 0;    // stop after running this long (0: no limit)
  // Run() fails when sweeps keep failing (the transport breaks) for this long.
  double give_up_seconds = 10;
  // How changes reach the switches; empty: this service writes them over SMPs
  // (SmpInstaller). Called for each installation with the fabric and the directed routes
  // that work at that moment. With an installer of its own the start does not deploy
  // either: it reads what the switches hold and installs the difference through it.
  std::function<std::unique_ptr<RouteInstaller>(mad::Transport& transport, const DiscoveryResult& view,
                                                const std::vector<uint8_t>& reachable)>
      make_installer;
  // Checked between sweeps; returning true ends Run().
  std::function<bool()> stop_requested;
  // Every event, as the event log writes it.
  std::function<void(const nlohmann::json&)> on_event;
};

class RouteManager {
 public:
  // Discovers, routes, verifies and installs. Fails when any of that fails.
  static Result<std::unique_ptr<RouteManager>> Start(mad::Transport& transport, ManageOptions options);
  ~RouteManager();

  // The watch loop, until stop_requested, max_changes or max_seconds. Fails only when the
  // fabric cannot be read at all.
  Result<void> Run();
  // One sweep and, when something changed, its handling (what Run does each period).
  Result<void> Tick();
  Result<SweepResult> SweepNow();

  const ManageCounters& counters() const { return counters_; }
  const Fabric& fabric() const { return view_.fabric; }
  const RouteSet& installed() const { return installed_; }
  const FabricHealth& health() const { return health_; }

 private:
  RouteManager(mad::Transport& transport, ManageOptions options);
  Result<void> Initialise();
  Result<std::optional<JournalRecord>> AdoptFabric(DiscoveryResult live, nlohmann::json& event);
  Result<void> RouteBase(const std::optional<JournalRecord>& record);
  Result<void> InstallInitial(const std::optional<JournalRecord>& record, nlohmann::json& event);
  void KeepUnreachableRows(RouteSet& routes, const FabricHealth& health) const;
  void RewriteReturned(nlohmann::json& event);
  void JournalStep(JournalPhase phase, const FabricHealth& target, size_t done, size_t total);
  void Publish();
  Result<void> Prepare();
  FabricHealth HealthNow(double now) const;
  Result<void> HandleChange(const FabricHealth& next, const SweepResult& sweep, double detect_seconds);
  Result<InstallReport> InstallPlanned(const RouteSet& after, const Fabric& alive, const FabricHealth& health,
                                       nlohmann::json& event);
  nlohmann::json VerifyInstalled(const Fabric& alive, const FabricHealth& health);
  Result<void> Rebalance(const FabricHealth& next);
  void StartFullReroute();
  Result<void> FinishFullReroute();
  nlohmann::json ChangeJson(const FabricHealth& next, const SweepResult& sweep) const;
  void Emit(nlohmann::json event);
  double Now() const;

  mad::Transport& transport_;
  ManageOptions options_;
  EngineSelection selection_;
  DiscoveryResult view_;                 // the fabric found at start, paths as the watch last found them
  std::optional<DiscoveryResult> live_;  // when resuming: what discovery found (view_ is the journal's fabric)
  std::optional<Journal> journal_;
  RouteSet target_;  // what Start installs
  std::unique_ptr<PortWatch> watch_;
  LinkDamping damping_;
  RouteSet base_;             // the tables the repairer repairs from
  FabricHealth base_health_;  // the health base_ was computed for
  std::optional<RouteRepairer> repairer_;
  RepairResult repair_;
  RouteSet installed_;            // what the switches hold
  FabricHealth health_;           // what installed_ was made for
  std::vector<uint8_t> reached_;  // per node: a working route reached it at the last installation
  std::vector<uint8_t> seen_up_;  // per link, as the watch last saw it (before damping)
  std::future<Result<FabricRoutes>> reroute_;
  FabricHealth reroute_health_;
  bool reroute_advised_ = false;
  std::shared_ptr<Fabric> reroute_fabric_;
  ManageCounters counters_;
  double started_ = 0;
  double started_unix_ = 0;
  std::vector<uint16_t> trap_lids_;  // issuers of the traps that started the current sweep
  bool sweep_again_ = false;         // a sweep of the trapping switches found a change: sweep all next
  double failing_since_ = 0;         // first of the sweeps failing in a row; 0: the last one worked
};

}  // namespace fabricctl
