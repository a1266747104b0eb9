#pragma once
// RouteInstaller for a subnet OpenSM keeps (fabricctl manage --sm opensm-file): OpenSM runs
// its `file` routing engine on the LFT dump this installer writes (-R file -U FILE) and
// programs the switches itself. Per transition step the dump names the new tables for the
// step's switches (and earlier steps'), the current ones for every other switch: OpenSM
// clears the table of a switch a dump leaves out, and may heavy-sweep at any moment (a
// trap, its sweep timer), so every dump is complete and replaces the old one atomically.
// Then OpenSM gets SIGHUP (a heavy sweep that parses the dump again) and the installer
// reads the step's changed blocks back over SMPs until the switches hold them. See
// docs/manage-opensm.md.
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fabric/discovery.h"
#include "fabric/mad/rpc.h"
#include "fabric/mad/transport.h"
#include "routing/manage/route_installer.h"

namespace fabricctl {

struct OpensmInstallerOptions {
  std::string lfts_file;  // the dump OpenSM's file engine reads (its -U)
  std::string pid_file;   // OpenSM's pid file (`opensm -B --pidfile FILE`, or the service's)
  // Per step: OpenSM's heavy sweep (a full rediscovery: seconds on a large subnet) and the
  // read-back. A step not done by then stops the installation.
  double step_timeout_seconds = 120;
  double poll_seconds = 0.05;  // between read-backs of the blocks not yet taken
  mad::RpcOptions rpc;
  // How OpenSM is made to read the dump again; empty: SIGHUP to the process in pid_file
  // (OpenSM answers with a heavy sweep). Tests stand in for OpenSM here.
  std::function<Result<void>()> reload;
};

class OpensmInstaller : public RouteInstaller {
 public:
  // `view` is the fabric the routes are for with directed routes that work now; `reachable`
  // (by NodeId) says which nodes have one: a switch without one is not read back and is
  // named in the step's problems. Both must outlive every Install call and may change
  // between calls.
  OpensmInstaller(mad::Transport& transport, const DiscoveryResult& view, const std::vector<uint8_t>& reachable,
                  OpensmInstallerOptions options)
      : transport_(transport), view_(view), reachable_(reachable), options_(std::move(options)) {}

  // Fails without writing anything when the inputs do not fit each other or the fabric,
  // when the routes need several VLs (OpenSM's dump holds LFTs only) or OpenSM's pid file
  // cannot be read (without a reload hook); stops with `stopped` set when OpenSM cannot be signalled, the dump
  // cannot be written or a step times out. With no step to take it still writes the dump
  // (without signalling OpenSM), so OpenSM's file engine holds what the switches hold.
  Result<InstallReport> Install(const RouteSet& before, const RouteSet& after, const std::vector<TransitionPlan>& plans,
                                const InstallStepCallback& after_step) override;

 private:
  struct PendingBlock {
    NodeId node = kNone;
    size_t subnet = 0;
    size_t switch_index = 0;
    uint32_t block = 0;
  };
  Result<void> WriteDump(const RouteSet& routes) const;
  InstallStepReport InstallStep(RouteSet& current, const RouteSet& after, size_t subnet, size_t step_index,
                                const std::vector<size_t>& step, const std::function<Result<void>()>& reload,
                                std::optional<Error>& stopped);
  // LinearFDBTop of the switches `pending` names (0 for one that did not answer).
  Result<std::map<NodeId, unsigned>> ReadFdbTops(const std::vector<PendingBlock>& pending);
  // Reads `pending` until each block equals `after` (up to the switch's LinearFDBTop) or the
  // deadline passes; leaves the blocks not (yet) taken in `pending`.
  Result<void> ReadBack(const RouteSet& after, std::vector<PendingBlock>& pending, double deadline_seconds);

  mad::Transport& transport_;
  const DiscoveryResult& view_;
  const std::vector<uint8_t>& reachable_;
  OpensmInstallerOptions options_;
};

}  // namespace fabricctl
