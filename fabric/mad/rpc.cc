#include "fabric/mad/rpc.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace fabricctl::mad {

Result<bool> Transport::WaitForTrap(int timeout_ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(std::max(0, timeout_ms)));
  return false;
}

std::string AttributeName(MgmtClass mgmt_class, uint16_t attr_id) {
  if (mgmt_class == MgmtClass::kPerformance) {
    switch (attr_id) {
      case attr::kClassPortInfo:
        return "ClassPortInfo";
      case attr::kPortCounters:
        return "PortCounters";
      case attr::kPortCountersExtended:
        return "PortCountersExtended";
      default:
        return fmt::format("PMA attribute 0x{:04x}", attr_id);
    }
  }
  switch (attr_id) {
    case attr::kNodeDescription:
      return "NodeDescription";
    case attr::kNodeInfo:
      return "NodeInfo";
    case attr::kSwitchInfo:
      return "SwitchInfo";
    case attr::kPortInfo:
      return "PortInfo";
    case attr::kSlToVlTable:
      return "SL2VL table";
    case attr::kLinearForwardingTable:
      return "LFT block";
    case attr::kSmInfo:
      return "SMInfo";
    default:
      return fmt::format("SMP attribute 0x{:04x}", attr_id);
  }
}

std::string Describe(const Request& request) {
  std::string what = fmt::format("{} {}{}", AttributeName(request.mgmt_class, request.attr_id),
                                 request.method == Method::kSet ? "Set" : "Get",
                                 request.attr_mod ? fmt::format(" (modifier 0x{:x})", request.attr_mod) : "");
  if (request.mgmt_class == MgmtClass::kSmpDirected)
    return fmt::format("{} via route {}", what, request.path.ToString());
  return fmt::format("{} to LID {}", what, request.lid);
}

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

MadRpc::MadRpc(Transport& transport, RpcOptions options)
    : transport_(transport),
      options_(options),
      // Different runs start at different ids so a late reply to an earlier run is stray.
      next_tid_(static_cast<uint32_t>(NowMs() * 7919) | 1u) {
  options_.inflight = std::max(1u, options_.inflight);
  options_.timeout_ms = std::max(1, options_.timeout_ms);
  options_.retries = std::max(0, options_.retries);
}

void MadRpc::Post(const Request& request, Callback done) {
  queue_.push_back(Pending{.request = request, .done = std::move(done)});
}

Result<void> MadRpc::Transmit(Pending& p) {
  uint32_t tid = next_tid_++;
  if (next_tid_ == 0) next_tid_ = 1;
  if (auto r = transport_.Send(p.request, tid, options_.timeout_ms); !r) {
    Error e = r.error();
    e.message = fmt::format("{}: {}", Describe(p.request), e.message);
    return std::unexpected(std::move(e));
  }
  ++stats_.sent;
  if (p.attempts > 0) ++stats_.retransmits;
  ++p.attempts;
  p.deadline_ms = NowMs() + options_.timeout_ms;
  outstanding_.emplace(tid, std::move(p));
  return {};
}

Result<void> MadRpc::Expire(int64_t now) {
  std::vector<uint32_t> expired;
  for (auto& [tid, p] : outstanding_)
    if (p.deadline_ms <= now) expired.push_back(tid);
  std::sort(expired.begin(), expired.end());  // deterministic order of retries
  for (uint32_t tid : expired) {
    auto node = outstanding_.extract(tid);
    Pending p = std::move(node.mapped());
    if (p.attempts <= options_.retries) {
      if (auto r = Transmit(p); !r) return r;
    } else {
      ++stats_.unanswered;
      p.done(Completion{.outcome = Outcome::kTimeout});
    }
  }
  return {};
}

Result<void> MadRpc::Run() {
  auto r = RunRounds();
  if (!r) {
    // The run is over: nothing queued or outstanding may go out on a later Run.
    queue_.clear();
    outstanding_.clear();
  }
  return r;
}

Result<void> MadRpc::RunRounds() {
  while (!queue_.empty() || !outstanding_.empty()) {
    while (!queue_.empty() && outstanding_.size() < options_.inflight) {
      Pending p = std::move(queue_.front());
      queue_.pop_front();
      if (auto r = Transmit(p); !r) return r;
    }
    if (auto r = TakeReplies(); !r) return r;
    if (auto e = Expire(NowMs()); !e) return e;
  }
  return {};
}

Result<void> MadRpc::TakeReplies() {
  int64_t now = NowMs();
  int64_t earliest = now + options_.timeout_ms;
  for (const auto& [tid, p] : outstanding_) earliest = std::min(earliest, p.deadline_ms);
  int wait = static_cast<int>(std::max<int64_t>(0, earliest - now));
  // Take every reply that has arrived before declaring anything lost: a slow consumer
  // must not turn answered requests into retransmissions. A peer that never stops sending
  // (strays, duplicates) gets no more than until the earliest deadline.
  for (int w = wait;; w = 0) {
    auto reply = transport_.Receive(w);
    if (!reply) return std::unexpected(reply.error());
    if (!*reply) break;
    Deliver(**reply);
    if (NowMs() >= earliest) break;
  }
  return {};
}

void MadRpc::Deliver(const Reply& r) {
  auto it = r.is_response ? outstanding_.find(r.tid) : outstanding_.end();
  // A reply of another class than its request answers nothing we asked.
  if (it == outstanding_.end() || it->second.request.mgmt_class != r.mgmt_class) {
    ++stats_.stray;
    return;
  }
  Pending p = std::move(it->second);
  outstanding_.erase(it);
  ++stats_.answered;
  // The callback may post more work; it goes out on the next round.
  p.done(Completion{.outcome = r.status == 0 ? Outcome::kOk : Outcome::kStatus, .status = r.status, .reply = &r});
}

Result<Completion> MadRpc::Call(const Request& request, Reply& storage) {
  Completion result;
  Post(request, [&](const Completion& c) {
    result = c;
    if (c.reply) {
      storage = *c.reply;
      result.reply = &storage;
    }
  });
  if (auto r = Run(); !r) return std::unexpected(r.error());
  return result;
}

}  // namespace fabricctl::mad
