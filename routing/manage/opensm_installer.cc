#include "routing/manage/opensm_installer.h"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>

#include "fabric/file_io.h"
#include "fabric/mad/attributes.h"
#include "routing/deploy.h"
#include "routing/manage/smp_installer.h"
#include "routing/opensm_dump.h"

namespace fabricctl {
namespace {

using Clock = std::chrono::steady_clock;

Result<pid_t> ReadPidFile(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text) return std::unexpected(text.error());
  char* end = nullptr;
  const long pid = std::strtol(text->c_str(), &end, 10);
  if (pid <= 1 || (*end != '\0' && *end != '\n'))
    return MakeInputError(path, 1, "expected OpenSM's process id", text->substr(0, text->find('\n')));
  return static_cast<pid_t>(pid);
}

std::string SwitchName(const Fabric& f, NodeId n) {
  return fmt::format("{} (0x{:016x})", f.description(n), f.node(n).guid);
}

}  // namespace

Result<void> OpensmInstaller::WriteDump(const RouteSet& routes) const {
  std::string text;
  for (const SubnetRoutes& r : routes.subnets)
    WriteOpensmDump(view_.fabric, r, view_.fabric.subnets()[r.subnet].name, [&text](std::string_view piece) {
      text.append(piece);
      return true;
    });
  return WriteFileAtomic(options_.lfts_file, text);
}

Result<std::map<NodeId, unsigned>> OpensmInstaller::ReadFdbTops(const std::vector<PendingBlock>& pending) {
  std::map<NodeId, unsigned> tops;
  mad::MadRpc rpc(transport_, options_.rpc);
  for (const PendingBlock& p : pending) {
    if (!tops.emplace(p.node, 0).second) continue;
    rpc.Post(mad::Request{.attr_id = mad::attr::kSwitchInfo, .path = view_.paths[p.node]},
             [&tops, node = p.node](const mad::Completion& c) {
               if (c.outcome == mad::Outcome::kOk) tops[node] = mad::DecodeSwitchInfo(c.reply->data()).linear_fdb_top;
             });
  }
  if (auto run = rpc.Run(); !run) return std::unexpected(run.error());
  return tops;
}

Result<void> OpensmInstaller::ReadBack(const RouteSet& after, std::vector<PendingBlock>& pending,
                                       double deadline_seconds) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(deadline_seconds);
  while (!pending.empty()) {
    // A switch forwards no LID above its LinearFDBTop, and OpenSM writes no block above the
    // subnet's highest LID: an entry there (the LID of a switch that died) cannot be taken
    // and does not matter. 0: not read, every entry counts.
    auto tops = ReadFdbTops(pending);
    if (!tops) return std::unexpected(tops.error());
    mad::MadRpc rpc(transport_, options_.rpc);
    std::vector<PendingBlock> still;
    for (const PendingBlock& p : pending) {
      const mad::Request get{
          .attr_id = mad::attr::kLinearForwardingTable, .attr_mod = p.block, .path = view_.paths[p.node]};
      rpc.Post(get, [&after, &still, p, top = (*tops)[p.node]](const mad::Completion& c) {
        const SubnetRoutes& r = after.subnets[p.subnet];
        bool same = c.outcome == mad::Outcome::kOk;
        for (unsigned e = 0; same && e < kLftBlockSize; ++e) {
          const size_t lid = size_t{p.block} * kLftBlockSize + e;
          same = lid == 0 || lid >= r.num_lids() || (top != 0 && lid > top) ||
                 c.reply->data()[e] == r.lft[p.switch_index * r.num_lids() + lid];
        }
        if (!same) still.push_back(p);
      });
    }
    if (auto run = rpc.Run(); !run) return run;
    pending = std::move(still);
    if (pending.empty() || Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::duration<double>(options_.poll_seconds));
  }
  return {};
}

InstallStepReport OpensmInstaller::InstallStep(RouteSet& current, const RouteSet& after, size_t subnet,
                                               size_t step_index, const std::vector<size_t>& step,
                                               const std::function<Result<void>()>& reload,
                                               std::optional<Error>& stopped) {
  const auto start = Clock::now();
  InstallStepReport report{.subnet = subnet, .step = step_index};
  SubnetRoutes& now = current.subnets[subnet];
  const SubnetRoutes& target = after.subnets[subnet];
  const size_t lids = target.num_lids();
  std::vector<PendingBlock> pending;
  for (size_t i : step) {
    const NodeId node = target.switches[i];
    const std::vector<uint32_t> blocks = DifferingBlocks(now, target, i);
    std::copy_n(target.lft.begin() + i * lids, lids, now.lft.begin() + i * lids);
    report.blocks_written += blocks.size();
    if (node >= reachable_.size() || !reachable_[node]) {
      if (!blocks.empty())
        report.problems.push_back(SwitchName(view_.fabric, node) + ": no directed route, not read back");
      continue;
    }
    for (uint32_t b : blocks) pending.push_back({.node = node, .subnet = subnet, .switch_index = i, .block = b});
  }
  const size_t to_verify = pending.size();
  if (auto wrote = WriteDump(current); !wrote) {
    stopped = wrote.error();
  } else if (auto reloaded = reload(); !reloaded) {
    stopped = reloaded.error();
  } else if (auto read = ReadBack(after, pending, options_.step_timeout_seconds); !read) {
    stopped = read.error();
  } else if (!pending.empty()) {
    for (const PendingBlock& p : pending)
      report.problems.push_back(fmt::format("{}: LFT block {} not taken", SwitchName(view_.fabric, p.node), p.block));
    stopped = Error{.message = fmt::format("step {} of subnet {}: {} LFT blocks not taken after {} s (does OpenSM run "
                                           "with -R file -U {}?)",
                                           step_index, subnet, pending.size(), options_.step_timeout_seconds,
                                           options_.lfts_file)};
  }
  report.blocks_verified = to_verify - pending.size();
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return report;
}

Result<InstallReport> OpensmInstaller::Install(const RouteSet& before, const RouteSet& after,
                                               const std::vector<TransitionPlan>& plans,
                                               const InstallStepCallback& after_step) {
  if (auto ok = CheckInstallInputs(before, after, plans); !ok) return std::unexpected(ok.error());
  if (auto ok = CheckOpensmHandOff(view_.fabric, after); !ok) return std::unexpected(ok.error());
  std::function<Result<void>()> reload = options_.reload;
  if (!reload) {
    auto opensm = ReadPidFile(options_.pid_file);
    if (!opensm) return std::unexpected(opensm.error());
    reload = [pid = *opensm, where = options_.pid_file]() -> Result<void> {
      if (kill(pid, SIGHUP) == 0) return {};
      return std::unexpected(Error{
          .message = fmt::format("cannot signal OpenSM (pid {}): {}", pid, std::strerror(errno)), .where = where});
    };
  }
  InstallReport report;
  // Nothing to change still leaves a dump, so OpenSM's next heavy sweep (a trap, its timer)
  // programs what the switches hold now rather than what its fallback engine would route.
  bool any_step = false;
  for (const TransitionPlan& plan : plans) any_step = any_step || !plan.steps.empty();
  if (!any_step) {
    if (auto wrote = WriteDump(after); !wrote) report.stopped = wrote.error();
    report.complete = !report.stopped;
    return report;
  }
  RouteSet current = before;
  for (size_t s = 0; s < plans.size(); ++s)
    for (size_t k = 0; k < plans[s].steps.size(); ++k) {
      report.steps.push_back(InstallStep(current, after, s, k, plans[s].steps[k], reload, report.stopped));
      if (after_step) after_step(report.steps.back());
      if (report.stopped) return report;
    }
  report.complete = true;
  return report;
}

}  // namespace fabricctl
