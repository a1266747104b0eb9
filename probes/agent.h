#pragma once
// The probe agent behind `fabricctl probe serve`. It listens only on the address it is
// given, authenticates every control frame (probes/control_protocol.h), serves a bounded
// number of sessions at once, bounds every wait, and measures only against the host that
// connected to it: transports get the control connection's own addresses and nothing a
// client could choose. A bad frame closes that connection with one log line; the agent
// keeps serving.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "fabric/error.h"
#include "probes/socket_util.h"
#include "probes/transport.h"

namespace fabricctl::probes {

inline constexpr std::uint16_t kDefaultAgentPort = 18520;

struct AgentOptions {
  SocketAddress listen;
  Bytes token;
  int max_sessions = 4;
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};  // longest pause between a client's tests
};

struct AgentCounters {
  std::atomic<std::uint64_t> sessions_ok{0};
  std::atomic<std::uint64_t> sessions_failed{0};   // any error, including authentication
  std::atomic<std::uint64_t> sessions_refused{0};  // over --max-sessions
  std::atomic<std::uint64_t> tests_ok{0};
};

// Log lines are handed to the caller (cli/ prints them); called from session threads.
using LogSink = std::function<void(std::string_view)>;

class Agent {
 public:
  Agent(AgentOptions options, std::vector<std::unique_ptr<ServerTransport>> transports, LogSink log);
  ~Agent();  // waits for running sessions (each is bounded by its timeouts)
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  Result<void> Listen();
  SocketAddress bound_address() const { return bound_; }
  // Accepts and serves until `stop` is set (checked at least every 200 ms).
  Result<void> Run(const std::atomic<bool>& stop);
  const AgentCounters& counters() const { return counters_; }

 private:
  struct Session {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void ServeConnection(Fd fd, std::string who);
  void Reap(bool wait_all);
  ServerTransport* FindTransport(std::string_view name) const;

  AgentOptions options_;
  std::vector<std::unique_ptr<ServerTransport>> transports_;
  LogSink log_;
  Fd listener_;
  SocketAddress bound_;
  AgentCounters counters_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Session>> sessions_;
  // Control connections of running sessions. Its own mutex: Reap() holds mu_ while it
  // joins session threads, and those unregister on their way out.
  std::mutex fds_mu_;
  std::vector<int> control_fds_;
};

}  // namespace fabricctl::probes
