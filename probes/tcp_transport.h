#pragma once
// The TCP probe transport: latency by ping-pong of one message (TCP_NODELAY, blocking or
// busy-poll receive, CLOCK_MONOTONIC), bandwidth by streaming messages one write each,
// counted and verified by the receiver (the agent). The agent opens a data listener on the control
// connection's local address and accepts only the host that holds the control
// connection, proven by a random cookie sent over the authenticated channel.
#include <chrono>
#include <memory>
#include <string>

#include "probes/transport.h"

namespace fabricctl::probes {

struct TcpOptions {
  // Spin on a non-blocking recv() this long before blocking. Pays off only on dedicated
  // cores: on a shared or oversubscribed host the spinner starves its peer (measured here:
  // p50 5.9 us blocking, 18-28 us with a 10-20 us spin; docs/performance.md).
  std::chrono::microseconds busy_poll{0};
  // Client: bind the data connection to the control connection's local address, and to
  // this interface (SO_BINDTODEVICE), so both leave by the NIC a probe was ordered from.
  bool bind_source = false;
  std::string device;
};

std::unique_ptr<ClientTransport> MakeTcpClientTransport(TcpOptions options = {});
std::unique_ptr<ServerTransport> MakeTcpServerTransport(TcpOptions options = {});

}  // namespace fabricctl::probes
