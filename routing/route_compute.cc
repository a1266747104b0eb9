#include "routing/route_compute.h"

#include <fmt/format.h>

#include <chrono>

#include "fabric/elapsed.h"
#include "routing/parallel.h"
#include "routing/route_summary.h"
#include "routing/updn.h"

namespace fabricctl {
namespace {

using Clock = std::chrono::steady_clock;

// Like RouteFabric: big subnets one after another with every thread inside, the small ones
// side by side on one thread each.
std::vector<SubnetFigures> Summarize(const Fabric& fabric, const RouteSet& routes, unsigned threads,
                                     SummaryCreditLoops credit_loops) {
  threads = threads ? threads : DefaultThreads();
  std::vector<SubnetFigures> figures(routes.subnets.size());
  auto one = [&](size_t i, unsigned inner_threads) {
    const SubnetRoutes& r = routes.subnets[i];
    RouteSummary s = SummarizeRoutes(fabric, fabric.subnets()[r.subnet], r, inner_threads, credit_loops);
    figures[i] = {s.max_hops, s.avg_hops, s.max_channel_load, s.pairs, s.unreachable_pairs, s.deadlock_free};
    figures[i].max_load_per_capacity = s.max_load_per_capacity;
  };
  std::vector<size_t> big, small;
  for (size_t i = 0; i < figures.size(); ++i)
    (ThreadsFor(routes.subnets[i].lft.size(), threads) > 1 ? big : small).push_back(i);
  for (size_t i : big) one(i, threads);
  ParallelFor(small.size(), threads, [&](size_t k) { one(small[k], 1); });
  return figures;
}

// Without the verifier the summary's own checks stand in: unreachable pairs and loops, and
// the 1-VL channel dependency graph.
void VerdictFromSummary(ComputeOutcome& out) {
  VerifyReport& verdict = out.verdict;
  verdict.subnets.resize(out.fabric.subnets().size());
  for (size_t i = 0; i < out.figures.size(); ++i) {
    const SubnetRoutes& r = out.routed.routes.subnets[i];
    const SubnetFigures& fig = out.figures[i];
    SubnetVerdict& v = verdict.subnets[r.subnet];
    v.subnet = r.subnet;
    v.pairs = fig.pairs;
    v.unreachable_pairs = fig.unreachable_pairs;
    v.cdg_cycles = fig.deadlock_free.value_or(true) ? 0 : 1;
    if (!fig.deadlock_free) {
      out.loops_unchecked = true;
      out.routed.notes.push_back(fmt::format("subnet {}: {} VLs, credit loops not checked without the verifier",
                                             out.fabric.subnets()[r.subnet].name, r.num_vls));
    }
    verdict.pairs += v.pairs;
    verdict.unreachable_pairs += v.unreachable_pairs;
    verdict.cdg_cycles += v.cdg_cycles;
  }
  verdict.violation_count = verdict.unreachable_pairs + verdict.cdg_cycles;
}

Result<void> Check(const ComputeRequest& request, ComputeOutcome& out) {
  const auto start = Clock::now();
  if (request.verify) {
    auto verdict =
        Verify(out.fabric, out.routed.routes, VerifyOptions{.max_violations = 5, .threads = request.threads});
    if (!verdict) return std::unexpected(verdict.error());
    out.verdict = std::move(*verdict);
  }
  // The verifier has checked credit loops; the summary's own check stands in without it.
  out.figures = Summarize(out.fabric, out.routed.routes, request.threads,
                          request.verify ? SummaryCreditLoops::kSkip : SummaryCreditLoops::kCheck);
  if (!request.verify) VerdictFromSummary(out);
  out.check_seconds = SecondsSince(start);
  return {};
}

}  // namespace

Result<ComputeOutcome> ComputeRoutes(const ComputeRequest& request) {
  auto start = Clock::now();
  auto fabric = ReadTopologyFile(request.topology, request.format);
  if (fabric && request.node_names) fabric = RenameNodes(*fabric, *request.node_names);
  if (!fabric) return std::unexpected(fabric.error());
  ComputeOutcome out{.fabric = std::move(*fabric), .read_seconds = SecondsSince(start)};
  auto selection = ParseEngineSelection(request.engine);
  if (!selection) return std::unexpected(selection.error());
  RouteFabricOptions options{.engine = request.engine_options, .threads = request.threads};
  if (!request.root_guid_file.empty()) {
    auto guids = ReadRootGuidFile(out.fabric, request.root_guid_file);
    if (!guids) return std::unexpected(guids.error());
    options.engine.root_guids = std::move(*guids);
  }
  start = Clock::now();
  auto routed = RouteFabric(out.fabric, *selection, options);
  if (!routed) return std::unexpected(routed.error());
  out.routed = std::move(*routed);
  out.route_seconds = SecondsSince(start);
  if (auto ok = Check(request, out); !ok) return std::unexpected(ok.error());
  if (!request.output.empty() && (request.files.json || request.files.dump)) {
    start = Clock::now();
    if (auto ok = WriteRoutes(out.fabric, out.routed.routes, request.output, request.files); !ok)
      return std::unexpected(ok.error());
    out.wrote = true;
    out.write_seconds = SecondsSince(start);
  }
  return out;
}

}  // namespace fabricctl
