#include "fabric/mad/rpc.h"

#include <algorithm>
#include <chrono>
#include <vector>

namespace fabricctl::mad {
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
  if (auto r = transport_.Send(p.request, tid); !r) return r;
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
  while (!queue_.empty() || !outstanding_.empty()) {
    while (!queue_.empty() && outstanding_.size() < options_.inflight) {
      Pending p = std::move(queue_.front());
      queue_.pop_front();
      if (auto r = Transmit(p); !r) return r;
    }
    int64_t now = NowMs();
    int64_t earliest = now + options_.timeout_ms;
    for (const auto& [tid, p] : outstanding_) earliest = std::min(earliest, p.deadline_ms);
    int wait = static_cast<int>(std::max<int64_t>(0, earliest - now));
    // Take every reply that has arrived before declaring anything lost: a slow consumer
    // must not turn answered requests into retransmissions.
    for (int w = wait;; w = 0) {
      auto reply = transport_.Receive(w);
      if (!reply) return std::unexpected(reply.error());
      if (!*reply) break;
      const Reply& r = **reply;
      auto it = r.is_response ? outstanding_.find(r.tid) : outstanding_.end();
      if (it == outstanding_.end()) {
        ++stats_.stray;
        continue;
      }
      Pending p = std::move(it->second);
      outstanding_.erase(it);
      ++stats_.answered;
      // The callback may post more work; it goes out on the next round.
      p.done(Completion{.outcome = r.status == 0 ? Outcome::kOk : Outcome::kStatus, .status = r.status, .reply = &r});
    }
    if (auto e = Expire(NowMs()); !e) return e;
  }
  return {};
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
