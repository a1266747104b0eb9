#include "routing/minhop.h"

#include "routing/balanced_lft.h"
#include "routing/switch_graph.h"

namespace fabricctl {
namespace {

class MinhopEngine final : public RoutingEngine {
 public:
  std::string_view name() const override { return "minhop"; }

  Outcome Route(const RouteRequest& request, SubnetRoutes& out) const override {
    SwitchGraph g(request.fabric, request.subnet, out);
    const uint32_t S = g.num_switches();
    if (S == 0) return Outcome::Ok();
    const unsigned threads = request.options.threads;
    const std::vector<uint8_t> dist = AllPairsSwitchHops(g, threads);
    auto accept = [&](uint32_t s, uint32_t t, uint32_t d) {
      uint8_t ds = dist[size_t{s} * S + d];
      return ds != kUnreachable && dist[size_t{t} * S + d] + 1 == ds;
    };
    FillBalanced(g, accept, threads, out);
    return Outcome::Ok();
  }
};

}  // namespace

std::unique_ptr<RoutingEngine> MakeMinhopEngine() { return std::make_unique<MinhopEngine>(); }

}  // namespace fabricctl
