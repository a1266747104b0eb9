#pragma once
// One ordered probe, as both a `probe serve` agent (remote agent mode) and a rank of an MPI
// job run it: a latency test, then a bandwidth test (or the one of them the settings name),
// from this host to the item's target,
// each in its own session (as `probe run` does), bound to the item's source address and
// device so it leaves by the NIC of the port it measures.
#include "fabric/error.h"
#include "probes/order_client.h"
#include "probes/transport.h"

namespace fabricctl::probes {

// `transport` is made for this item (its source, device or RDMA port); `token` is what the
// target agent accepts. An error says why the item went unmeasured.
Result<OrderResult> RunOrderItem(const OrderItem& item, const OrderSettings& settings, const Bytes& token,
                                 ClientTransport& transport);

}  // namespace fabricctl::probes
