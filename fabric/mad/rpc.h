#pragma once
// Pipelined MAD requests: keeps up to `inflight` requests outstanding, matches replies by
// transaction id, retransmits after a timeout and gives up after `retries`. Callers post
// requests with a completion callback; completions may post more (a BFS drives itself).
#include <cstdint>
#include <deque>
#include <functional>
#include <unordered_map>

#include "fabric/error.h"
#include "fabric/mad/transport.h"

namespace fabricctl::mad {

struct RpcOptions {
  unsigned inflight = 16;  // outstanding requests; 1 = strictly one at a time
  int timeout_ms = 200;    // per attempt
  int retries = 3;         // extra attempts after the first
};

struct RpcStats {
  uint64_t sent = 0;      // MADs put on the wire, retransmissions included
  uint64_t answered = 0;  // requests that got a reply
  uint64_t retransmits = 0;
  uint64_t unanswered = 0;  // requests that ran out of retries
  uint64_t stray = 0;       // replies that matched nothing outstanding (late duplicates)
};

enum class Outcome : uint8_t { kOk, kTimeout, kStatus };

struct Completion {
  Outcome outcome = Outcome::kOk;
  uint16_t status = 0;           // MAD status when outcome == kStatus
  const Reply* reply = nullptr;  // set for kOk and kStatus
};

class MadRpc {
 public:
  using Callback = std::function<void(const Completion&)>;

  MadRpc(Transport& transport, RpcOptions options);

  // Queues a request; it goes out when a slot is free.
  void Post(const Request& request, Callback done);
  // Runs until nothing is queued or outstanding. A transport error (a MAD the fabric did
  // not take in time) stops the run, names the request, and drops what was left.
  Result<void> Run();
  // Convenience: one request, waited for.
  Result<Completion> Call(const Request& request, Reply& storage);

  const RpcStats& stats() const { return stats_; }
  const RpcOptions& options() const { return options_; }

 private:
  struct Pending {
    Request request;
    Callback done;
    int attempts = 0;
    int64_t deadline_ms = 0;
  };
  Result<void> RunRounds();
  Result<void> TakeReplies();
  void Deliver(const Reply& reply);
  Result<void> Transmit(Pending& p);
  Result<void> Expire(int64_t now);

  Transport& transport_;
  RpcOptions options_;
  RpcStats stats_;
  uint32_t next_tid_;
  std::deque<Pending> queue_;
  std::unordered_map<uint32_t, Pending> outstanding_;
};

}  // namespace fabricctl::mad
