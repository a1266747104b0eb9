#pragma once
// RouteInstaller for a fabric no subnet manager routes: the manager writes the changed
// 64-entry LFT blocks of each step's switches itself with SMPs (routing/deploy.h,
// targeted mode) and checks each one, by the Set's reply or read back, before the next
// step starts.
#include <cstdint>
#include <vector>

#include "fabric/discovery.h"
#include "fabric/mad/rpc.h"
#include "fabric/mad/transport.h"
#include "routing/manage/route_installer.h"

namespace fabricctl {

struct SmpInstallerOptions {
  mad::RpcOptions rpc;
  // Pause after a step's blocks are read back, so packets routed by the tables the step
  // replaced leave the fabric before the next step (the switches' packet lifetime).
  double drain_seconds = 0.001;
  // Check each written block by a fresh Get as well, instead of by the Set's reply alone
  // (DeployOptions::read_back): twice the SMPs.
  bool read_back = false;
};

// The blocks (LID / 64) in which switch `index` of two tables of one subnet differ.
std::vector<uint32_t> DifferingBlocks(const SubnetRoutes& before, const SubnetRoutes& after, size_t index);

class SmpInstaller : public RouteInstaller {
 public:
  // `view` is the fabric the routes are for with directed routes that work now (the
  // discovered fabric and PortWatch::paths()); `reachable` says which nodes have one: a
  // switch without one is skipped and named in the step's problems. Both must outlive
  // every Install call and may change between calls.
  SmpInstaller(mad::Transport& transport, const DiscoveryResult& view, const std::vector<uint8_t>& reachable,
               SmpInstallerOptions options = {})
      : transport_(transport), view_(view), reachable_(reachable), options_(options) {}

  Result<InstallReport> Install(const RouteSet& before, const RouteSet& after, const std::vector<TransitionPlan>& plans,
                                const InstallStepCallback& after_step) override;

 private:
  InstallStepReport InstallStep(const RouteSet& before, const RouteSet& after, size_t subnet,
                                const std::vector<size_t>& step, std::optional<Error>& stopped);

  mad::Transport& transport_;
  const DiscoveryResult& view_;
  const std::vector<uint8_t>& reachable_;
  SmpInstallerOptions options_;
};

}  // namespace fabricctl
