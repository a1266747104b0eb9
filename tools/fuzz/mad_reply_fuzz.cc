// libFuzzer target for MAD replies: a transport answers every request with what the input
// says — attribute bytes, an error status, another transaction id or class, a duplicate,
// nothing, or a send the fabric does not take — and discovery, counter reading and
// deployment run on it. None may crash or hang, and every error and problem they report
// must say where (device:port, directed route, node or port).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <optional>

#include "fabric/counters.h"
#include "fabric/discovery.h"
#include "fabric/ibnetdiscover_format.h"
#include "routing/deploy.h"
#include "routing/route_fabric.h"
#include "tests/fabric/fake_transport.h"

namespace fabricctl {
namespace {

// Replies cut from the input, one record per request: a control byte, then (for answers)
// a length byte and that many bytes of the MAD from its attribute data on. An input that
// runs out answers with an error status, so nothing waits for a timeout it did not ask for.
class FuzzTransport final : public mad::Transport {
 public:
  FuzzTransport(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  Result<void> Send(const mad::Request& request, uint32_t tid, int timeout_ms) override {
    mad::Reply reply{.tid = tid, .is_response = true, .mgmt_class = request.mgmt_class};
    if (at_ >= size_) return Answer(reply, 0x0c);
    switch (Byte() % 8) {
      case 0:  // lost; a few only, each costs a real timeout
        if (++drops_ <= kMaxDrops) return {};
        return Answer(reply, 0x0c);
      case 1:
        return Answer(reply, 0);
      case 2:
        return Answer(reply, static_cast<uint16_t>(Byte() << 8 | Byte()));
      case 3:
        reply.tid = tid ^ (Byte() | 1u);
        return Answer(reply, 0);
      case 4:
        reply.is_response = false;
        return Answer(reply, 0);
      case 5:
        reply.mgmt_class = Byte() & 1 ? mad::MgmtClass::kPerformance : mad::MgmtClass::kSmpLid;
        return Answer(reply, 0);
      case 6:
        return std::unexpected(
            Error{.message = fmt::format("the fabric did not take the MAD within {} ms (timed out)", timeout_ms),
                  .where = "fuzz0:1"});
      default:
        Answer(reply, 0);
        queue_.push_back(queue_.back());  // a duplicate
        return {};
    }
  }

  Result<std::optional<mad::Reply>> Receive(int) override {
    if (queue_.empty()) return std::optional<mad::Reply>{};
    mad::Reply r = queue_.front();
    queue_.pop_front();
    return std::optional<mad::Reply>{r};
  }

  const mad::LocalPort& local() const override { return local_; }

 private:
  static constexpr int kMaxDrops = 8;

  uint8_t Byte() { return at_ < size_ ? data_[at_++] : 0; }

  Result<void> Answer(mad::Reply& reply, uint16_t status) {
    reply.status = status;
    // Attribute data first (what decoders read), then the rest of the MAD.
    size_t length = at_ < size_ ? Byte() : 0;
    for (size_t i = mad::kSmpDataOffset; i < mad::kMadSize && i < mad::kSmpDataOffset + length; ++i)
      reply.mad[i] = Byte();
    queue_.push_back(reply);
    return {};
  }

  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
  int drops_ = 0;
  std::deque<mad::Reply> queue_;
  mad::LocalPort local_{.ca = "fuzz0", .port = 1};
};

void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "mad_reply_fuzz: %s\n", what);
  std::abort();
}

void CheckError(const Error& e) { Require(!e.where.empty() && !e.message.empty(), "an error without a place"); }

// A small fabric that answers truthfully, discovered once, and minhop routes for it.
struct Plan {
  Fabric fabric = testing::FakeFatTree(2, 2, 2, 1);
  DiscoveryResult live;
  RouteSet routes;
  Plan() {
    testing::FakeTransport truthful(fabric, 0, 0);
    live = Discover(truthful, DiscoveryOptions{.rpc = {.timeout_ms = 5}}).value();
    auto selection = ParseEngineSelection("minhop").value();
    routes = RouteFabric(live.fabric, selection, RouteFabricOptions{}).value().routes;
  }
};

const mad::RpcOptions kRpc{.inflight = 4, .timeout_ms = 1, .retries = 0};

void FuzzDiscovery(mad::Transport& transport) {
  auto found = Discover(transport, DiscoveryOptions{.max_hops = 8, .rpc = kRpc});
  if (!found) return CheckError(found.error());
  for (const DiscoveryProblem& p : found->problems)
    Require(!p.path.empty() && !p.where.empty(), "a discovery problem without a place");
  (void)FindDegradedLinks(found->fabric);
  (void)WriteIbnetdiscover(found->fabric);
}

void FuzzCounters(mad::Transport& transport, const Plan& plan) {
  auto report = ReadCounters(transport, plan.live.fabric, CounterOptions{.rpc = kRpc});
  if (!report) return CheckError(report.error());
  for (const CounterProblem& p : report->problems) Require(p.port != kNone, "a counter problem without a port");
}

void FuzzDeploy(mad::Transport& transport, const Plan& plan) {
  auto report = Deploy(transport, plan.live, plan.live.fabric, plan.routes, DeployOptions{.rpc = kRpc});
  if (!report) return CheckError(report.error());
  if (report->stopped) CheckError(*report->stopped);
  for (const DeployProblem& p : report->problems) Require(!p.where.empty(), "a deploy problem without a node");
  for (const SwitchDeployment& s : report->switches)
    for (uint32_t b : s.remaining) Require(b < s.blocks, "a remaining block outside the table");
}

}  // namespace
}  // namespace fabricctl

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fabricctl;
  static const Plan plan;
  // Header: the byte counts of the discovery and counter parts (16 bits each, cut to what
  // is there); deployment gets the rest.
  if (size < 4) return 0;
  size_t discovery = std::min<size_t>(size - 4, data[0] | data[1] << 8);
  size_t counters = std::min<size_t>(size - 4 - discovery, data[2] | data[3] << 8);
  const uint8_t* at = data + 4;
  FuzzTransport for_discovery(at, discovery);
  FuzzDiscovery(for_discovery);
  FuzzTransport for_counters(at + discovery, counters);
  FuzzCounters(for_counters, plan);
  FuzzTransport for_deploy(at + discovery + counters, size - 4 - discovery - counters);
  FuzzDeploy(for_deploy, plan);
  return 0;
}
