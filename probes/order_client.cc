#include "probes/order_client.h"

#include <fmt/format.h>

#include <algorithm>

#include "probes/agent.h"
#include "probes/control_protocol.h"
#include "probes/handshake.h"
#include "probes/socket_util.h"

namespace fabricctl::probes {
namespace {

std::unexpected<Error> AgentError(const std::string& address, std::string message) {
  return std::unexpected(Error{.message = std::move(message), .where = address});
}

}  // namespace

std::chrono::milliseconds OrderDeadline(const OrderSettings& s) {
  auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(
      kOrderLatencyAllowancePerIteration *
      static_cast<std::int64_t>(std::min<std::uint64_t>(s.latency_iterations, kMaxIterations)));
  return 3 * s.timeout + (latency + s.timeout) + (s.bandwidth_duration + 2 * s.timeout) + s.timeout;
}

OrderSession::OrderSession(std::string address, std::unique_ptr<ControlChannel> channel,
                           std::chrono::milliseconds timeout)
    : address_(std::move(address)), channel_(std::move(channel)), timeout_(timeout) {}
OrderSession::OrderSession(OrderSession&&) noexcept = default;
OrderSession& OrderSession::operator=(OrderSession&& o) noexcept {
  if (this != &o) {
    Close();
    address_ = std::move(o.address_);
    channel_ = std::move(o.channel_);
    timeout_ = o.timeout_;
  }
  return *this;
}
OrderSession::~OrderSession() { Close(); }

Result<OrderSession> OrderSession::Open(const std::string& control_address, const Bytes& token,
                                        std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0 || static_cast<std::uint64_t>(timeout.count()) > kMaxTimeoutMs)
    return AgentError(control_address, fmt::format("timeout must be in 1..{} ms", kMaxTimeoutMs));
  auto addr = ParseHostPort(control_address, kDefaultAgentPort);
  if (!addr) return AgentError(control_address, addr.error().message);
  if (AddressPort(addr->addr) == 0) return AgentError(control_address, "port 0 is not a valid agent port");
  auto fd = ConnectTcp(*addr, DeadlineAfter(timeout));
  if (!fd) return AgentError(control_address, fd.error().message);
  auto channel = std::make_unique<ControlChannel>(std::move(*fd), Role::kClient, token);
  channel->send_timeout = timeout;
  Hello hello{.version = kProtocolVersion,
              .client_nonce = RandomNonce(),
              .transport = std::string(kOrderSessionName),
              .max_message_size = 1,  // an order session moves no probe data itself
              .timeout_ms = static_cast<std::uint32_t>(timeout.count())};
  if (auto r = RunClientHandshake(*channel, hello, DeadlineAfter(timeout)); !r)
    return AgentError(control_address, r.error().message);
  return OrderSession(control_address, std::move(channel), timeout);
}

Result<std::vector<OrderResult>> OrderSession::Run(const std::vector<OrderItem>& items, const OrderSettings& settings) {
  std::vector<OrderResult> all;
  for (std::size_t start = 0; start < items.size(); start += kMaxOrderItems) {
    std::vector<OrderItem> part(
        items.begin() + static_cast<std::ptrdiff_t>(start),
        items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), start + kMaxOrderItems)));
    auto results = RunOne(part, settings);
    if (!results) return results;
    all.insert(all.end(), results->begin(), results->end());
  }
  return all;
}

Result<std::vector<OrderResult>> OrderSession::RunOne(const std::vector<OrderItem>& items,
                                                      const OrderSettings& settings) {
  if (!channel_) return AgentError(address_, "order session is closed");
  OrderRequest order{.settings = settings, .items = items};
  // Checked by the decoder the agent runs, so an order the agent would refuse as malformed
  // fails here with the same message and the session stays usable.
  if (auto check = DecodeMessage(EncodeMessage(order)); !check)
    return AgentError(address_, "invalid order: " + check.error().message);
  // From here on a failure leaves the session in an unknown state: it is closed.
  auto broken = [&](std::string message) {
    channel_.reset();
    return AgentError(address_, std::move(message));
  };
  if (auto r = channel_->SendMessage(order, DeadlineAfter(timeout_)); !r) return broken(r.error().message);
  auto answer = channel_->ReceiveMessage(DeadlineAfter(OrderDeadline(settings)));
  if (!answer) return broken("waiting for the order's results: " + answer.error().message);
  if (auto* e = std::get_if<ErrorMessage>(&*answer)) return broken("agent: " + e->text);
  auto* reply = std::get_if<OrderReply>(&*answer);
  if (!reply) return broken(fmt::format("unexpected {} message instead of the order's results", MessageName(*answer)));
  if (reply->results.size() != items.size())
    return broken(fmt::format("agent answered {} results for {} probes", reply->results.size(), items.size()));
  return std::move(reply->results);
}

void OrderSession::Close() {
  if (!channel_) return;
  (void)channel_->SendMessage(Bye{}, DeadlineAfter(timeout_));
  channel_.reset();
}

}  // namespace fabricctl::probes
