#pragma once
// The TCP probe transport: latency by ping-pong of one message (TCP_NODELAY, a busy-poll
// loop, CLOCK_MONOTONIC), bandwidth by streaming messages one write each, counted and
// verified by the receiver (the agent). The agent opens a data listener on the control
// connection's local address and accepts only the host that holds the control
// connection, proven by a random cookie sent over the authenticated channel.
#include <memory>

#include "probes/transport.h"

namespace fabricctl::probes {

std::unique_ptr<ClientTransport> MakeTcpClientTransport();
std::unique_ptr<ServerTransport> MakeTcpServerTransport();

}  // namespace fabricctl::probes
