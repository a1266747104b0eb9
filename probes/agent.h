#pragma once
// The probe agent behind `fabricctl probe serve`. It listens only on the address it is
// given, authenticates every control frame (probes/control_protocol.h), bounds every wait,
// and measures only against the host that connected to it: transports get the control
// connection's own addresses and nothing a client could choose.
//
// Connections pass two stages. Until a client has authenticated (its hello's MAC covers the
// challenge the agent sent on this connection), one event-loop thread holds the connection
// at the cost of a descriptor and a hello-sized buffer, for at most handshake_timeout; at
// most max_unauthenticated such connections in all and max_unauthenticated_per_source from
// one address (IPv4 address or IPv6 /64). When all are taken, the oldest connection of the
// address holding the most makes room, so a flood from a few addresses cannot keep anyone
// else out. Only an authenticated client gets a session slot (a thread), at most
// max_sessions. A bad frame closes that connection with a log line; lines about
// unauthenticated peers are rate limited. The agent keeps serving.
//
// A session whose hello names the transport "order" comes from a coordinator
// (probes/order_client.h): it sends orders, one at a time, and the agent runs each order's
// probes from this host, side by side, to other agents. Only targets in `peers` (the
// DATA_ADDR of --peers) are probed, only from this host's own addresses; an agent without
// peers refuses every order. A probe is never passed on as an order.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fabric/error.h"
#include "probes/handshake.h"
#include "probes/order_client.h"
#include "probes/peer_list.h"
#include "probes/rate_limited_log.h"
#include "probes/socket_util.h"
#include "probes/transport.h"

namespace fabricctl::probes {

inline constexpr std::uint16_t kDefaultAgentPort = 18520;

// Makes the client transport for one ordered probe: `transport` is the order's ("tcp",
// "verbs"), `item` says which device and port to use.
using OrderTransportFactory =
    std::function<Result<std::unique_ptr<ClientTransport>>(std::string_view transport, const OrderItem& item)>;

// TCP only: binds the data connection to the item's source and device.
Result<std::unique_ptr<ClientTransport>> MakeDefaultOrderTransport(std::string_view transport, const OrderItem& item);

struct AgentOptions {
  SocketAddress listen;
  std::vector<SocketAddress> also_listen;  // more addresses (one per NIC), served alike
  Bytes token;
  std::optional<PeerList> peers;  // targets orders may name; none: orders are refused
  OrderTransportFactory order_transport = MakeDefaultOrderTransport;
  int max_sessions = 4;
  // Limited further by the descriptors the process may open (RLIMIT_NOFILE).
  int max_unauthenticated = 4096;
  int max_unauthenticated_per_source = 8;
  int max_connections_per_source = 16;                // unauthenticated and sessions together
  std::chrono::milliseconds handshake_timeout{2000};  // from accept to an authenticated hello
  std::chrono::milliseconds idle_timeout{60000};      // longest pause between a client's tests
  int log_lines_per_second = 20;                      // about unauthenticated peers
};

struct AgentCounters {
  std::atomic<std::uint64_t> sessions_ok{0};
  std::atomic<std::uint64_t> sessions_failed{0};   // authenticated, then an error
  std::atomic<std::uint64_t> sessions_refused{0};  // authenticated, over --max-sessions
  std::atomic<std::uint64_t> tests_ok{0};
  std::atomic<std::uint64_t> handshakes_failed{0};    // closed before authenticating
  std::atomic<std::uint64_t> connections_refused{0};  // over a per-source limit
  std::atomic<std::uint64_t> connections_dropped{0};  // unauthenticated, made room for a newer one
  std::atomic<std::uint64_t> unauthenticated_open{0};
  std::atomic<std::uint64_t> log_lines_suppressed{0};
  std::atomic<std::uint64_t> orders_ok{0};       // answered (items may have failed)
  std::atomic<std::uint64_t> orders_refused{0};  // a target outside --peers, or no --peers
  std::atomic<std::uint64_t> order_items_ok{0};
  std::atomic<std::uint64_t> order_items_failed{0};
};

class Agent {
 public:
  Agent(AgentOptions options, std::vector<std::unique_ptr<ServerTransport>> transports, LogSink log);
  ~Agent();  // waits for running sessions (each is bounded by its timeouts)
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  Result<void> Listen();
  SocketAddress bound_address() const { return bound_.empty() ? SocketAddress{} : bound_.front(); }
  const std::vector<SocketAddress>& bound_addresses() const { return bound_; }
  // How many unauthenticated connections are held at most (after Listen()).
  int unauthenticated_capacity() const { return unauthenticated_capacity_; }
  // Accepts and serves until `stop` is set (checked at least every 200 ms).
  Result<void> Run(const std::atomic<bool>& stop);
  const AgentCounters& counters() const { return counters_; }

 private:
  struct Pending {
    Fd fd;
    std::string who;
    std::string source;  // SourceBlock of the peer
    Deadline deadline;
    AgentHandshake handshake;
  };
  struct SourceCount {
    int unauthenticated = 0;
    int sessions = 0;
  };
  struct Session {
    std::thread thread;
    std::string source;
    std::atomic<bool> done{false};
  };

  void LogUnauthenticated(std::string_view line);
  void AcceptNew(int listener);
  std::string OverSourceLimit(const std::string& source) const;  // why a new connection is refused
  void Admit(Fd fd, const SocketAddress& peer);
  void MakeRoom();
  void OnReadable(std::uint64_t id);
  void Close(std::map<std::uint64_t, Pending>::iterator it, std::string_view reason,
             std::atomic<std::uint64_t>& counter);
  void ExpireOverdue();
  void Promote(std::map<std::uint64_t, Pending>::iterator it, const Hello& hello);
  // Both return the session's last log line.
  std::string ServeSession(ControlChannel& ch, const Hello& hello, const std::string& who);
  std::string RunTests(ControlChannel& ch, ServerSession& session, const Hello& hello, const std::string& who);
  std::string ServeOrders(ControlChannel& ch, const Hello& hello, const std::string& who);
  // Why the order must be refused as a whole; empty when it may run.
  std::string OrderRefusal(const OrderRequest& order) const;
  // Runs the items side by side; fails when the coordinator sends anything meanwhile.
  Result<OrderReply> RunOrder(ControlChannel& ch, const OrderRequest& order, const std::string& who);
  OrderResult RunOrderItem(const OrderItem& item, const OrderSettings& settings);
  void LogRefusal(std::string_view line);
  void PauseListeners(bool paused);
  void ReleaseSource(const std::string& source, int SourceCount::*field);
  void Reap(bool wait_all);
  void Shutdown();
  int NextWaitMs() const;
  ServerTransport* FindTransport(std::string_view name) const;

  AgentOptions options_;
  std::vector<std::unique_ptr<ServerTransport>> transports_;
  LogSink log_;
  RateLimitedLog unauthenticated_log_;
  std::mutex refusal_mu_;  // session threads share the refusal log
  RateLimitedLog refusal_log_;
  std::vector<Fd> listeners_;
  Fd epoll_;
  Fd wake_;  // eventfd: a session ended
  Deadline listener_paused_until_{};
  std::vector<SocketAddress> bound_;
  int unauthenticated_capacity_ = 0;
  AgentCounters counters_;
  // Owned by the thread in Run(); keys grow with accept order, so the first entry is the
  // oldest and has the earliest deadline.
  std::map<std::uint64_t, Pending> pending_;
  std::uint64_t next_id_ = 2;  // 0 and 1 tag the listener and the eventfd
  std::map<std::string, SourceCount> sources_;
  std::vector<std::unique_ptr<Session>> sessions_;  // joined by the loop once done
  std::atomic<int> active_sessions_{0};             // slots taken; a session frees its own
  // Control connections of running sessions, so stopping can shut them down under a
  // running test.
  std::mutex fds_mu_;
  std::vector<int> control_fds_;
};

}  // namespace fabricctl::probes
