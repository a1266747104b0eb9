#include "probes/sweep/order_link.h"

namespace fabricctl::sweep {
namespace {

class SessionLink final : public AgentLink {
 public:
  explicit SessionLink(probes::OrderSession session) : session_(std::move(session)) {}
  Result<std::vector<probes::OrderResult>> Run(const std::vector<probes::OrderItem>& items,
                                               const probes::OrderSettings& settings) override {
    return session_.Run(items, settings);
  }

 private:
  probes::OrderSession session_;
};

}  // namespace

AgentLinkFactory OrderSessionLinks(probes::Bytes token, std::chrono::milliseconds timeout) {
  return [token = std::move(token), timeout](const std::string& control) -> Result<std::unique_ptr<AgentLink>> {
    auto session = probes::OrderSession::Open(control, token, timeout);
    if (!session) return std::unexpected(session.error());
    return std::make_unique<SessionLink>(std::move(*session));
  };
}

}  // namespace fabricctl::sweep
