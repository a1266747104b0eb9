#include "routing/manage/smp_installer.h"

#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "routing/deploy.h"

namespace fabricctl {

std::vector<uint32_t> DifferingBlocks(const SubnetRoutes& before, const SubnetRoutes& after, size_t index) {
  std::vector<uint32_t> blocks;
  const size_t lids = after.num_lids();
  const uint8_t* a = after.lft.data() + index * lids;
  const uint8_t* b = before.lft.data() + index * lids;
  for (size_t start = 0; start < lids; start += kLftBlockSize) {
    const size_t end = std::min(lids, start + kLftBlockSize);
    if (!std::equal(a + start, a + end, b + start)) blocks.push_back(static_cast<uint32_t>(start / kLftBlockSize));
  }
  return blocks;
}

namespace {

Result<void> CheckShapes(const RouteSet& before, const RouteSet& after, const std::vector<TransitionPlan>& plans) {
  if (before.subnets.size() != after.subnets.size() || plans.size() != after.subnets.size())
    return MakeError(fmt::format("install: {} subnets before, {} after, {} plans", before.subnets.size(),
                                 after.subnets.size(), plans.size()));
  for (size_t s = 0; s < after.subnets.size(); ++s) {
    const SubnetRoutes& b = before.subnets[s];
    const SubnetRoutes& a = after.subnets[s];
    if (b.switches != a.switches || b.num_lids() != a.num_lids())
      return MakeError(fmt::format("install: subnet {} has other switches or LIDs before and after", s));
    for (const std::vector<size_t>& step : plans[s].steps)
      for (size_t i : step)
        if (i >= a.switches.size()) return MakeError(fmt::format("install: plan names switch index {}", i));
  }
  return {};
}

}  // namespace

InstallStepReport SmpInstaller::InstallStep(const RouteSet& before, const RouteSet& after, size_t subnet,
                                            const std::vector<size_t>& step, std::optional<Error>& stopped) {
  const auto start = std::chrono::steady_clock::now();
  InstallStepReport out{.subnet = subnet};
  // Blocks per switch of the whole route set (Deploy's order); only this step's are listed.
  std::vector<std::vector<uint32_t>> only;
  size_t offset = 0;
  for (size_t s = 0; s < subnet; ++s) offset += after.subnets[s].switches.size();
  for (const SubnetRoutes& sr : after.subnets) only.resize(only.size() + sr.switches.size());
  bool any = false;
  for (size_t i : step) {
    const NodeId n = after.subnets[subnet].switches[i];
    std::vector<uint32_t> blocks = DifferingBlocks(before.subnets[subnet], after.subnets[subnet], i);
    if (blocks.empty()) continue;
    if (n >= reachable_.size() || !reachable_[n]) {
      out.problems.push_back(fmt::format("{} (0x{:016x}): no working route to it; {} blocks not written",
                                         view_.fabric.description(n), view_.fabric.node(n).guid, blocks.size()));
      continue;
    }
    only[offset + i] = std::move(blocks);
    any = true;
  }
  if (any) {
    auto report = Deploy(transport_, view_, view_.fabric, after,
                         DeployOptions{.rpc = options_.rpc, .only_blocks = only, .read_back = options_.read_back});
    if (!report) {
      stopped = report.error();
    } else {
      out.blocks_written = report->blocks_written();
      for (const SwitchDeployment& s : report->switches) out.blocks_verified += s.verified;
      for (const DeployProblem& p : report->problems) out.problems.push_back(p.where + ": " + p.message);
      if (report->stopped) stopped = report->stopped;
    }
    if (options_.drain_seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(options_.drain_seconds));
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

Result<InstallReport> SmpInstaller::Install(const RouteSet& before, const RouteSet& after,
                                            const std::vector<TransitionPlan>& plans,
                                            const InstallStepCallback& after_step) {
  if (auto ok = CheckShapes(before, after, plans); !ok) return std::unexpected(ok.error());
  InstallReport report;
  for (size_t s = 0; s < plans.size(); ++s)
    for (size_t k = 0; k < plans[s].steps.size(); ++k) {
      InstallStepReport step = InstallStep(before, after, s, plans[s].steps[k], report.stopped);
      step.step = k;
      report.steps.push_back(step);
      if (report.stopped) return report;
      if (after_step) after_step(report.steps.back());
    }
  report.complete = true;
  for (const InstallStepReport& step : report.steps) report.complete = report.complete && step.problems.empty();
  return report;
}

}  // namespace fabricctl
