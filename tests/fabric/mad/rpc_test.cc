#include "fabric/mad/rpc.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

namespace fabricctl::mad {
namespace {

// A peer that answers every Receive at once with a reply that matches nothing: late
// duplicates, another manager's traffic, or garbage. It never runs dry.
class StrayFlood final : public Transport {
 public:
  Result<void> Send(const Request&, uint32_t tid, int) override {
    last_tid = tid;
    ++sends;
    return {};
  }
  Result<std::optional<Reply>> Receive(int) override {
    Reply r;
    r.is_response = true;
    r.tid = last_tid + 1000;  // never one we sent
    return std::optional<Reply>{r};
  }
  const LocalPort& local() const override { return local_; }
  uint32_t last_tid = 0;
  int sends = 0;

 private:
  LocalPort local_{.ca = "flood0", .port = 1};
};

// Answers with the right transaction id but another management class.
class WrongClass final : public Transport {
 public:
  Result<void> Send(const Request&, uint32_t tid, int) override {
    pending = tid;
    return {};
  }
  Result<std::optional<Reply>> Receive(int) override {
    if (!pending) return std::optional<Reply>{};
    Reply r;
    r.is_response = true;
    r.tid = *pending;
    r.mgmt_class = MgmtClass::kPerformance;
    pending.reset();
    return std::optional<Reply>{r};
  }
  const LocalPort& local() const override { return local_; }
  std::optional<uint32_t> pending;

 private:
  LocalPort local_{.ca = "wrong0", .port = 1};
};

}  // namespace

// One NodeInfo Get, waited for: how it ended, and the run's statistics.
std::pair<Outcome, RpcStats> CallNodeInfo(Transport& peer, int retries) {
  MadRpc rpc(peer, RpcOptions{.inflight = 1, .timeout_ms = 2, .retries = retries});
  Reply storage;
  auto c = rpc.Call(Request{.attr_id = attr::kNodeInfo}, storage);
  REQUIRE(c);
  return {c->outcome, rpc.stats()};
}

TEST_CASE("a peer that never stops sending strays cannot hold a request past its retries") {
  StrayFlood flood;
  auto [outcome, stats] = CallNodeInfo(flood, 2);
  CHECK(outcome == Outcome::kTimeout);
  CHECK(flood.sends == 3);
  CHECK(stats.stray > 0);
}

TEST_CASE("a reply of another management class answers nothing") {
  WrongClass peer;
  auto [outcome, stats] = CallNodeInfo(peer, 0);
  CHECK(outcome == Outcome::kTimeout);
  CHECK(stats.stray == 1);
}

TEST_CASE("a send the fabric does not take stops the run with the request named") {
  class Frozen final : public Transport {
   public:
    Result<void> Send(const Request&, uint32_t, int timeout_ms) override {
      return std::unexpected(Error{.message = fmt::format("timed out after {} ms", timeout_ms), .where = "f0:1"});
    }
    Result<std::optional<Reply>> Receive(int) override { return std::optional<Reply>{}; }
    const LocalPort& local() const override { return local_; }
    LocalPort local_;
  } frozen;
  MadRpc rpc(frozen, RpcOptions{.timeout_ms = 7});
  DrPath path = DrPath{}.Extend(1).Extend(3);
  bool called = false;
  rpc.Post(Request{.attr_id = attr::kPortInfo, .attr_mod = 2, .path = path}, [&](const Completion&) { called = true; });
  auto r = rpc.Run();
  REQUIRE(!r);
  CHECK(r.error().Format() == "f0:1: PortInfo Get (modifier 0x2) via route 0,1,3: timed out after 7 ms");
  CHECK(!called);
  // What was left is dropped: a later run sends nothing.
  CHECK(rpc.Run());
}

}  // namespace fabricctl::mad
