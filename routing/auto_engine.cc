#include "routing/auto_engine.h"

#include <fmt/format.h>

#include <algorithm>

#include "routing/registry.h"
#include "routing/route_fabric.h"

namespace fabricctl {
namespace {

class AutoEngine final : public RoutingEngine {
 public:
  std::string_view name() const override { return "auto"; }

  Outcome Route(const RouteRequest& request, SubnetRoutes& out) const override {
    std::string declined;
    for (std::string_view candidate : {"ftree", "torus", "updn"}) {
      const EngineInfo* info = FindEngine(candidate);
      if (!info) continue;  // the torus engine may not be built in
      std::unique_ptr<RoutingEngine> engine = info->make();
      ResetSubnetRoutes(request.fabric, out);
      Outcome o = engine->Route(request, out);
      if (o.status == EngineStatus::kOk) {
        std::string detail = out.reason;
        out.engine = std::string(candidate);
        out.reason = fmt::format("auto chose {}{}{}{}", candidate, declined.empty() ? "" : " (", declined,
                                 declined.empty() ? "" : ")");
        if (!detail.empty()) out.reason += ": " + detail;
        return o;
      }
      declined += fmt::format("{}{} declined: {}", declined.empty() ? "" : "; ", candidate, o.reason);
    }
    return Outcome::Failed(declined);
  }
};

}  // namespace

std::unique_ptr<RoutingEngine> MakeAutoEngine() { return std::make_unique<AutoEngine>(); }

}  // namespace fabricctl
