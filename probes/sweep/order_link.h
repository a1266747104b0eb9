#pragma once
// Agent links over authenticated order sessions (probes/order_client.h): what a real sweep
// gives the remote executor. Apart from it so that executors with in-process agents (tests,
// benches) do not pull in the network client.
#include <chrono>

#include "probes/sweep/remote_executor.h"
#include "probes/transport.h"

namespace fabricctl::sweep {

// Each link opens one session (connect and handshake bounded by `timeout`); an order waits
// at most probes::OrderDeadline of its settings.
AgentLinkFactory OrderSessionLinks(probes::Bytes token, std::chrono::milliseconds timeout);

}  // namespace fabricctl::sweep
