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
    const uint32_t num_switches = g.num_switches();
    if (num_switches == 0) return Outcome::Ok();
    const unsigned threads = request.options.threads;
    // Symmetric, so row d is also the hop count of every switch to d.
    const std::vector<uint8_t> dist = AllPairsSwitchHops(g, threads);
    auto accept = [](const uint8_t* row, uint32_t s, uint32_t t) { return row[t] + 1 == row[s]; };
    const ChannelCapacity capacity(request.fabric, request.subnet);
    FillBalanced(g, {request.fabric, capacity}, HopTable{.hop = dist}, accept, threads, request.options.one_pass, out);
    return Outcome::Ok();
  }
};

}  // namespace

std::unique_ptr<RoutingEngine> MakeMinhopEngine() { return std::make_unique<MinhopEngine>(); }

}  // namespace fabricctl
